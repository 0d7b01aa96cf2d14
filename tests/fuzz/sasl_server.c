/*
 * sasl_server.c - fuzz the server's side of a SASL exchange (auth/sasl.c) with up to
 * three client messages, against a credential store holding "admin" / "secret":
 *
 *   - every step answers 1 (go on), 0 (authenticated) or -EACCES, with a reason
 *     whenever it refuses, and never more than SCRAM_MSG_MAX bytes back;
 *   - after an answer other than 1, every further message is refused;
 *   - PLAIN authenticates exactly when the message is [admin] NUL admin NUL secret;
 *   - SCRAM never authenticates: no input can hold a proof for the nonce the server
 *     only now drew (the fuzzer cannot know it), so a 0 would be a forged login.
 *
 * Input: a mechanism byte (0 PLAIN, 1 SCRAM-SHA-256, 2 SCRAM-SHA-512), then each
 * message as a big-endian 16-bit length and its bytes.
 */
#include "tests/fuzz/fuzz.h"

#include <unistd.h>

#include "auth/auth.h"
#include "auth/sasl.h"

static struct auth_creds *creds;

static void fuzz_creds_open(void)
{
    char dir[] = "/tmp/brook-fuzz-sasl-XXXXXX";
    if (!mkdtemp(dir) || auth_creds_open(dir, &creds) ||
        auth_creds_set_password(creds, "admin", SCRAM_SHA_256, "secret", 6, SCRAM_ITER_MIN) ||
        auth_creds_set_password(creds, "admin", SCRAM_SHA_512, "secret", 6, SCRAM_ITER_MIN))
        abort();
    /* the store is in memory now: the file is not needed again */
    char path[sizeof dir + 32];
    snprintf(path, sizeof path, "%s/.scram-credentials", dir);
    unlink(path);
    rmdir(dir);
}

static bool plain_is_admin(const uint8_t *p, size_t n)
{
    static const char with_id[] = "admin\0admin\0secret", without[] = "\0admin\0secret";
    return (n == sizeof with_id - 1 && !memcmp(p, with_id, n)) ||
           (n == sizeof without - 1 && !memcmp(p, without, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum auth_sasl_mech mechs[] = {AUTH_SASL_PLAIN, AUTH_SASL_SCRAM_SHA_256,
                                                AUTH_SASL_SCRAM_SHA_512};
    if (!creds)
        fuzz_creds_open();
    struct reader r;
    reader_init(&r, data, size);
    enum auth_sasl_mech mech = mechs[reader_u8(&r) % 3];
    struct auth_sasl *s = auth_sasl_new(creds, mech);
    FUZZ_CHECK(s != NULL);
    bool ended = false;
    for (int step = 0; step < 3 && reader_left(&r) > 0; step++) {
        size_t n = reader_be16(&r);
        const uint8_t *msg = fuzz_take(&r, &n);
        const uint8_t *out = NULL;
        size_t out_len = 0;
        const char *why = NULL;
        int rc = auth_sasl_step(s, msg, n, &out, &out_len, &why);
        FUZZ_CHECK(rc == 1 || rc == 0 || rc == -EACCES);
        FUZZ_CHECK(out != NULL && out_len <= SCRAM_MSG_MAX);
        if (ended)
            FUZZ_CHECK(rc == -EACCES);
        if (rc == -EACCES)
            FUZZ_CHECK(why != NULL && *why);
        if (mech == AUTH_SASL_PLAIN)
            FUZZ_CHECK((rc == 0) == (step == 0 && plain_is_admin(msg, n)));
        else
            FUZZ_CHECK(rc != 0);
        if (rc == 0)
            FUZZ_CHECK(!strcmp(auth_sasl_user(s), "admin"));
        if (rc != 1)
            ended = true;
    }
    auth_sasl_free(s);
    return 0;
}
