/*
 * sasl.h - the server's side of one SASL exchange (PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512) over the credential store, free of any transport.
 *
 * The broker feeds it the client's messages as SaslAuthenticate (or the raw frames
 * after a v0 SaslHandshake) carries them and sends back what it answers; the same
 * engine could serve any other front end. Keeping it apart from the connection code
 * lets the fuzz targets drive it with arbitrary bytes.
 */
#ifndef BROOK_AUTH_SASL_H
#define BROOK_AUTH_SASL_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

/* Mechanisms, as bits so that a set of enabled ones is one unsigned. */
enum auth_sasl_mech {
    AUTH_SASL_PLAIN = 1,
    AUTH_SASL_SCRAM_SHA_256 = 2,
    AUTH_SASL_SCRAM_SHA_512 = 4,
};
#define AUTH_SASL_ALL (AUTH_SASL_PLAIN | AUTH_SASL_SCRAM_SHA_256 | AUTH_SASL_SCRAM_SHA_512)

/* The mechanism named name[0, len) (as SaslHandshake spells it): 0, -ENOTSUP for a
 * mechanism Kafka knows and brook does not offer (GSSAPI, OAUTHBEARER), -EINVAL for
 * anything else. */
int auth_sasl_mech_parse(const char *name, size_t len, enum auth_sasl_mech *out);
const char *auth_sasl_mech_name(enum auth_sasl_mech m);

struct auth_sasl;

/* A new exchange for mechanism m against cs (which must outlive it); NULL when out
 * of memory. */
struct auth_sasl *auth_sasl_new(struct auth_creds *cs, enum auth_sasl_mech m);
void auth_sasl_free(struct auth_sasl *s);

/* The client's next message in[0, len). The answer to send back is (*out, *out_len),
 * owned by s until the next call. Returns 1 when the exchange goes on, 0 when the
 * client has authenticated (auth_sasl_user names whom), or -EACCES when it has not:
 * wrong credentials, a malformed or out-of-order message, or one past the
 * exchange's end; *why (static text) says which in a line a client may see. */
int auth_sasl_step(struct auth_sasl *s, const void *in, size_t len, const uint8_t **out,
                   size_t *out_len, const char **why);

/* The authenticated user's name (valid after auth_sasl_step returned 0). */
const char *auth_sasl_user(const struct auth_sasl *s);

#endif
