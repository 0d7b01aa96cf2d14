/*
 * scram.h - SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) for both ends
 * of a connection: the key derivation, and the four messages parsed and written.
 *
 * The broker (SaslAuthenticate) and the client library (its SASL handshake) use
 * the same parsers, so the two ends cannot disagree about the grammar. OpenSSL
 * does the hashing (PBKDF2, HMAC, SHA-2); this file only frames it.
 *
 * Parsers take a peer's bytes as they came (not NUL-terminated), bounded by
 * SCRAM_MSG_MAX, and fill structs whose strings point into the caller's copy;
 * every one returns 0 or -EINVAL for anything RFC 5802 does not allow (unknown
 * mandatory attributes, a channel-binding flag brook cannot honour, a bad
 * base64, an iteration count out of range).
 */
#ifndef BROOK_LIB_SCRAM_H
#define BROOK_LIB_SCRAM_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's ScramMechanism codes (DescribeUserScramCredentials and its Alter). */
enum scram_mech {
    SCRAM_SHA_256 = 1,
    SCRAM_SHA_512 = 2,
};

#define SCRAM_KEY_MAX   64 /* SHA-512's output */
#define SCRAM_SALT_MAX  64
#define SCRAM_NONCE_MAX 128  /* bytes of either side's nonce */
#define SCRAM_MSG_MAX   4096 /* longest message either side accepts */
#define SCRAM_ITER_MIN  4096 /* Kafka's bounds for SCRAM-SHA-* */
#define SCRAM_ITER_MAX  16384
#define SCRAM_ITER_DEF  8192

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" <-> the enum: 0 or -EINVAL. */
int scram_mech_parse(const char *name, enum scram_mech *out);
const char *scram_mech_name(enum scram_mech m);
/* The hash's output size: 32 or 64. */
size_t scram_key_len(enum scram_mech m);

/* SaltedPassword = Hi(password, salt, i), then ClientKey, StoredKey and
 * ServerKey; any output may be NULL. 0, or -EINVAL. */
int scram_derive(enum scram_mech m, const char *password, size_t password_len, const uint8_t *salt,
                 size_t salt_len, int32_t iterations, uint8_t *client_key, uint8_t *stored_key,
                 uint8_t *server_key);
/* HMAC(key, msg) and H(msg) with m's hash; out holds scram_key_len(m) bytes. */
int scram_hmac(enum scram_mech m, const uint8_t *key, size_t key_len, const void *msg,
               size_t msg_len, uint8_t *out);
int scram_hash(enum scram_mech m, const void *msg, size_t msg_len, uint8_t *out);
/* A printable random nonce of len bytes (no ','), NUL-terminated: 0 or -errno. */
int scram_nonce(char *out, size_t len);

/* client-first-message: "n,[a=authzid],n=user,r=nonce[,ext...]" */
struct scram_client_first {
    const char *user; /* saslname decoded ("=2C" ",", "=3D" "="), NUL-terminated */
    const char *nonce;
    const char *bare; /* the message without its gs2 header (for AuthMessage) */
    size_t bare_len;
    int token_auth; /* the "tokenauth=true" extension (delegation tokens) */
};
/* server-first-message: "r=nonce,s=salt,i=iterations" */
struct scram_server_first {
    const char *nonce;
    uint8_t salt[SCRAM_SALT_MAX];
    size_t salt_len;
    int32_t iterations;
};
/* client-final-message: "c=biws,r=nonce,p=proof" */
struct scram_client_final {
    const char *nonce;
    uint8_t proof[SCRAM_KEY_MAX];
    size_t proof_len;
    const char *without_proof; /* up to ",p=" (for AuthMessage) */
    size_t without_proof_len;
};

/* Parse msg[0..len) into *out; strings are copied into buf (size at least len+1,
 * owned by the caller) and point there, but bare and without_proof, which the
 * AuthMessage needs whole, point into msg itself. */
int scram_parse_client_first(const void *msg, size_t len, char *buf,
                             struct scram_client_first *out);
int scram_parse_server_first(const void *msg, size_t len, char *buf,
                             struct scram_server_first *out);
int scram_parse_client_final(const void *msg, size_t len, char *buf,
                             struct scram_client_final *out);
/* server-final-message: "v=signature" into sig (0), or "e=reason" (-EACCES with
 * the reason copied into buf). */
int scram_parse_server_final(const void *msg, size_t len, char *buf, uint8_t *sig, size_t *sig_len);

#endif
