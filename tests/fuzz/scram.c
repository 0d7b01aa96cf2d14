/*
 * scram.c - fuzz lib/scram.c's four parsers with the same bytes, each against what
 * RFC 5802 says a message it accepts must look like:
 *
 *   client-first   the bare part ends the message and begins "n=" + the user with
 *                  ',' and '=' escaped again + ",r=" + the nonce; the nonce is
 *                  printable without ','
 *   server-first   the iteration count is within Kafka's bounds, the salt 1-64
 *                  bytes, and its canonical base64 is what the message carries
 *   client-final   the proof follows ",p=" right after the part without the proof,
 *                  and encodes back to the rest of the message
 *   server-final   a signature of at most 64 bytes, or an error (-EACCES)
 *
 * Input: the message, as a peer would send it.
 */
#include "tests/fuzz/fuzz.h"

#include <openssl/evp.h>

#include "lib/scram.h"

/* user with ',' and '=' escaped as RFC 5802's saslname has them, into out. */
static size_t escape_user(const char *user, char *out)
{
    size_t o = 0;
    for (const char *p = user; *p; p++) {
        if (*p == ',' || *p == '=') {
            memcpy(out + o, *p == ',' ? "=2C" : "=3D", 3);
            o += 3;
        } else {
            out[o++] = *p;
        }
    }
    return o;
}

static void check_client_first(const uint8_t *data, size_t size, char *buf)
{
    struct scram_client_first cf;
    if (scram_parse_client_first(data, size, buf, &cf) != 0)
        return;
    FUZZ_CHECK((const uint8_t *)cf.bare > data &&
               cf.bare + cf.bare_len == (const char *)data + size);
    size_t un = strlen(cf.user), nn = strlen(cf.nonce);
    FUZZ_CHECK(un > 0 && nn > 0 && nn <= SCRAM_NONCE_MAX);
    for (size_t i = 0; i < nn; i++)
        FUZZ_CHECK(cf.nonce[i] > 0x20 && cf.nonce[i] < 0x7f && cf.nonce[i] != ',');
    char *want = fuzz_alloc(3 * un + nn + 8);
    size_t n = 2;
    memcpy(want, "n=", 2);
    n += escape_user(cf.user, want + n);
    memcpy(want + n, ",r=", 3);
    memcpy(want + n + 3, cf.nonce, nn);
    n += 3 + nn;
    FUZZ_CHECK(n <= cf.bare_len && memcmp(cf.bare, want, n) == 0);
    free(want);
}

static void check_server_first(const uint8_t *data, size_t size, char *buf)
{
    struct scram_server_first sf;
    if (scram_parse_server_first(data, size, buf, &sf) != 0)
        return;
    FUZZ_CHECK(sf.iterations >= SCRAM_ITER_MIN && sf.iterations <= SCRAM_ITER_MAX);
    FUZZ_CHECK(sf.salt_len >= 1 && sf.salt_len <= SCRAM_SALT_MAX);
    char b64[4 * SCRAM_SALT_MAX / 3 + 8] = ",s=";
    int n = EVP_EncodeBlock((unsigned char *)b64 + 3, sf.salt, (int)sf.salt_len);
    b64[3 + n] = ',';
    FUZZ_CHECK(memmem(data, size, b64, (size_t)n + 4) != NULL);
}

static void check_client_final(const uint8_t *data, size_t size, char *buf)
{
    struct scram_client_final f;
    if (scram_parse_client_final(data, size, buf, &f) != 0)
        return;
    FUZZ_CHECK(f.without_proof == (const char *)data && f.without_proof_len + 3 < size);
    FUZZ_CHECK(!memcmp(data + f.without_proof_len, ",p=", 3));
    FUZZ_CHECK(f.proof_len >= 1 && f.proof_len <= SCRAM_KEY_MAX);
    char b64[4 * SCRAM_KEY_MAX / 3 + 8];
    int n = EVP_EncodeBlock((unsigned char *)b64, f.proof, (int)f.proof_len);
    FUZZ_CHECK((size_t)n == size - f.without_proof_len - 3);
    FUZZ_CHECK(!memcmp(data + f.without_proof_len + 3, b64, (size_t)n));
}

static void check_server_final(const uint8_t *data, size_t size, char *buf)
{
    uint8_t sig[SCRAM_KEY_MAX];
    size_t sig_len = 99;
    int rc = scram_parse_server_final(data, size, buf, sig, &sig_len);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EACCES);
    if (rc == 0)
        FUZZ_CHECK(sig_len >= 1 && sig_len <= SCRAM_KEY_MAX);
    if (rc == -EACCES)
        FUZZ_CHECK(strlen(buf) <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the parsers' contract: a buffer of len + 1 bytes, no more */
    char *buf = fuzz_alloc(size + 1);
    check_client_first(data, size, buf);
    check_server_first(data, size, buf);
    check_client_final(data, size, buf);
    check_server_final(data, size, buf);
    free(buf);
    return 0;
}
