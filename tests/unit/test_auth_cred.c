/*
 * test_auth_cred.c - auth/cred.c: credentials survive a reopen, passwords check
 * against the derived keys only, a damaged file is refused (never read as fewer
 * users), and the user bound holds; auth/sasl.c: PLAIN and a whole SCRAM exchange
 * played from the client's side, and an unknown user that looks like a known one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/auth.h"
#include "auth/sasl.h"
#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "tests/unit/testutil.h"

struct seen {
    char names[8][64];
    int mechs[8];
    int n;
};

static int collect(const char *user, enum scram_mech mech, int32_t iterations, void *arg)
{
    struct seen *s = arg;
    if (s->n < 8) {
        snprintf(s->names[s->n], 64, "%s", user);
        s->mechs[s->n++] = (int)mech;
    }
    return 0;
}

static void test_cred_roundtrip(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_creds *cs;
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_int_equal(auth_creds_set_password(cs, "bob", SCRAM_SHA_512, "pw-b", 4, 4096), 0);
    assert_int_equal(auth_creds_set_password(cs, "al,i=ce", SCRAM_SHA_256, "secret", 6, 8192), 0);
    assert_int_equal(auth_creds_set_password(cs, "al,i=ce", SCRAM_SHA_512, "secret", 6, 8192), 0);
    assert_true(auth_creds_check_password(cs, "al,i=ce", "secret", 6));
    assert_false(auth_creds_check_password(cs, "al,i=ce", "secreT", 6));
    assert_false(auth_creds_check_password(cs, "nobody", "secret", 6));
    auth_creds_close(cs);

    /* the file holds no password */
    char path[512], *raw;
    size_t len;
    snprintf(path, sizeof path, "%s/.scram-credentials", dir);
    assert_int_equal(file_read_all(path, 1 << 20, &raw, &len), 0);
    assert_null(strstr(raw, "secret"));
    free(raw);

    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_true(auth_creds_check_password(cs, "bob", "pw-b", 4));
    struct auth_scram_cred c;
    assert_int_equal(auth_creds_get(cs, "al,i=ce", SCRAM_SHA_256, &c), 0);
    assert_int_equal(c.iterations, 8192);
    assert_int_equal(auth_creds_get(cs, "bob", SCRAM_SHA_256, &c), -ENOENT);
    struct seen s = {0};
    assert_int_equal(auth_creds_each(cs, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.names[0], "al,i=ce");
    assert_int_equal(s.mechs[0], SCRAM_SHA_256);
    assert_string_equal(s.names[2], "bob");

    /* delete is durable too */
    assert_int_equal(auth_creds_delete(cs, "bob", SCRAM_SHA_512), 0);
    assert_int_equal(auth_creds_delete(cs, "bob", SCRAM_SHA_512), -ENOENT);
    auth_creds_close(cs);
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_false(auth_creds_check_password(cs, "bob", "pw-b", 4));
    auth_creds_close(cs);
    tu_rmrf(dir);
    free(dir);
}

static void test_cred_refuses_bad_input(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_creds *cs;
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_int_equal(auth_creds_set_password(cs, "u", SCRAM_SHA_256, "p", 1, 4095), -EINVAL);
    assert_int_equal(auth_creds_set_password(cs, "u", SCRAM_SHA_256, "p", 1, 16385), -EINVAL);
    assert_int_equal(auth_creds_set_password(cs, "", SCRAM_SHA_256, "p", 1, 4096), -EINVAL);
    assert_int_equal(auth_creds_set_password(cs, "a\nb", SCRAM_SHA_256, "p", 1, 4096), -EINVAL);
    char big[AUTH_USER_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(auth_creds_set_password(cs, big, SCRAM_SHA_256, "p", 1, 4096), -EINVAL);
    struct auth_scram_cred c = {.mech = 3, .iterations = 4096, .salt_len = 1};
    assert_int_equal(auth_creds_set(cs, "u", &c), -EINVAL);
    auth_creds_close(cs);
    tu_rmrf(dir);
    free(dir);
}

/* A flipped byte anywhere, or a cut file, is refused: the store never opens with
 * some of its users silently gone. */
static void test_cred_damaged_file_refused(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_creds *cs;
    char path[512], *raw;
    size_t len;
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_int_equal(auth_creds_set_password(cs, "a", SCRAM_SHA_256, "p", 1, 4096), 0);
    assert_int_equal(auth_creds_set_password(cs, "b", SCRAM_SHA_256, "p", 1, 4096), 0);
    auth_creds_close(cs);
    snprintf(path, sizeof path, "%s/.scram-credentials", dir);
    assert_int_equal(file_read_all(path, 1 << 20, &raw, &len), 0);
    for (size_t i = 0; i < len; i += 7) {
        raw[i] ^= 1;
        assert_int_equal(file_write_atomic(path, raw, len), 0);
        assert_int_equal(auth_creds_open(dir, &cs), -EBADMSG);
        raw[i] ^= 1;
    }
    for (size_t cut = 0; cut + 1 < len; cut += 13) {
        assert_int_equal(file_write_atomic(path, raw, cut), 0);
        assert_int_equal(auth_creds_open(dir, &cs), -EBADMSG);
    }
    assert_int_equal(file_write_atomic(path, raw, len), 0);
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_true(auth_creds_check_password(cs, "b", "p", 1));
    auth_creds_close(cs);
    free(raw);
    tu_rmrf(dir);
    free(dir);
}

/* A store at AUTH_CREDS_MAX_USERS (written directly: the format is documented)
 * takes no new user, but a known user's other mechanism. */
static void test_cred_user_bound(void **state)
{
    char *dir = tu_mkdtemp(), path[512];
    size_t cap = (size_t)AUTH_CREDS_MAX_USERS * 300 + 64, o = 0;
    char *buf = tu_xmalloc(cap);
    char key[65];
    memset(key, 'a', 64);
    key[64] = 0;
    o += (size_t)sprintf(buf, "brook-scram-credentials 1\n");
    for (int i = 0; i < AUTH_CREDS_MAX_USERS; i++) {
        char name[16], hex[33] = "";
        int n = snprintf(name, sizeof name, "u%05d", i);
        for (int k = 0; k < n; k++)
            sprintf(hex + 2 * k, "%02x", (unsigned char)name[k]);
        o += (size_t)sprintf(buf + o, "SCRAM-SHA-256 4096 0011 %s %s %s\n", key, key, hex);
    }
    o += (size_t)sprintf(buf + o, "crc32c %08x\n", (unsigned)crc32c(0, buf, o));
    snprintf(path, sizeof path, "%s/.scram-credentials", dir);
    assert_int_equal(file_write_atomic(path, buf, o), 0);
    free(buf);

    struct auth_creds *cs;
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_int_equal(auth_creds_set_password(cs, "new", SCRAM_SHA_256, "p", 1, 4096), -ENOSPC);
    assert_int_equal(auth_creds_set_password(cs, "u00007", SCRAM_SHA_512, "p", 1, 4096), 0);
    assert_true(auth_creds_check_password(cs, "u00007", "p", 1));
    auth_creds_close(cs);
    tu_rmrf(dir);
    free(dir);
}

static void test_sasl_plain(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_creds *cs;
    const uint8_t *out;
    size_t n;
    const char *why;
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_int_equal(auth_creds_set_password(cs, "bob", SCRAM_SHA_256, "pw", 2, 4096), 0);
    struct auth_sasl *s = auth_sasl_new(cs, AUTH_SASL_PLAIN);
    assert_int_equal(auth_sasl_step(s, "bob\0bob\0pw", 10, &out, &n, &why), 0);
    assert_string_equal(auth_sasl_user(s), "bob");
    assert_int_equal(auth_sasl_step(s, "\0bob\0pw", 7, &out, &n, &why), -EACCES);
    auth_sasl_free(s);
    static const struct {
        const char *m;
        size_t n;
    } bad[] = {{"\0bob\0pX", 7}, {"eve\0bob\0pw", 10}, {"\0bob", 4}, {"\0bob\0pw\0", 8}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = auth_sasl_new(cs, AUTH_SASL_PLAIN);
        assert_int_equal(auth_sasl_step(s, bad[i].m, bad[i].n, &out, &n, &why), -EACCES);
        assert_non_null(why);
        auth_sasl_free(s);
    }
    enum auth_sasl_mech m;
    assert_int_equal(auth_sasl_mech_parse("GSSAPI", 6, &m), -ENOTSUP);
    assert_int_equal(auth_sasl_mech_parse("SCRAM-SHA-1", 11, &m), -EINVAL);
    auth_creds_close(cs);
    tu_rmrf(dir);
    free(dir);
}

/* The client's half of SCRAM with lib/scram.c; returns the server's last answer. */
static int scram_client(struct auth_sasl *s, enum scram_mech m, const char *user,
                        const char *password, struct scram_server_first *sf)
{
    const uint8_t *out;
    size_t n, kl = scram_key_len(m);
    const char *why;
    char first[256], buf[SCRAM_MSG_MAX + 1], final[1024], am[2048];
    snprintf(first, sizeof first, "n,,n=%s,r=clientnonce", user);
    assert_int_equal(auth_sasl_step(s, first, strlen(first), &out, &n, &why), 1);
    char sfirst[512];
    memcpy(sfirst, out, n);
    sfirst[n] = 0;
    assert_int_equal(scram_parse_server_first(sfirst, n, buf, sf), 0);
    uint8_t ck[SCRAM_KEY_MAX], sk[SCRAM_KEY_MAX], sig[SCRAM_KEY_MAX], proof[SCRAM_KEY_MAX];
    assert_int_equal(scram_derive(m, password, strlen(password), sf->salt, sf->salt_len,
                                  sf->iterations, ck, sk, NULL),
                     0);
    int w = snprintf(final, sizeof final, "c=biws,r=%s", sf->nonce);
    snprintf(am, sizeof am, "%s,%s,%s", first + 3, sfirst, final);
    scram_hmac(m, sk, kl, am, strlen(am), sig);
    for (size_t i = 0; i < kl; i++)
        proof[i] = ck[i] ^ sig[i];
    memcpy(final + w, ",p=", 3);
    EVP_EncodeBlock((unsigned char *) final + w + 3, proof, (int)kl);
    return auth_sasl_step(s, final, strlen(final), &out, &n, &why);
}

static void test_sasl_scram_exchange(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_creds *cs;
    struct scram_server_first a, b;
    assert_int_equal(auth_creds_open(dir, &cs), 0);
    assert_int_equal(auth_creds_set_password(cs, "bob", SCRAM_SHA_512, "pw", 2, 4096), 0);
    struct auth_sasl *s = auth_sasl_new(cs, AUTH_SASL_SCRAM_SHA_512);
    assert_int_equal(scram_client(s, SCRAM_SHA_512, "bob", "pw", &a), 0);
    assert_string_equal(auth_sasl_user(s), "bob");
    auth_sasl_free(s);
    s = auth_sasl_new(cs, AUTH_SASL_SCRAM_SHA_512);
    assert_int_equal(scram_client(s, SCRAM_SHA_512, "bob", "pX", &a), -EACCES);
    auth_sasl_free(s);
    /* no SHA-256 credential: that mechanism fails for bob */
    s = auth_sasl_new(cs, AUTH_SASL_SCRAM_SHA_256);
    assert_int_equal(scram_client(s, SCRAM_SHA_256, "bob", "pw", &a), -EACCES);
    auth_sasl_free(s);
    /* an unknown user gets the same salt each time, as long as a real one's, and the
     * default count: nothing tells it from a user with another password */
    s = auth_sasl_new(cs, AUTH_SASL_SCRAM_SHA_512);
    assert_int_equal(scram_client(s, SCRAM_SHA_512, "nobody", "pw", &a), -EACCES);
    auth_sasl_free(s);
    s = auth_sasl_new(cs, AUTH_SASL_SCRAM_SHA_512);
    assert_int_equal(scram_client(s, SCRAM_SHA_512, "nobody", "pw", &b), -EACCES);
    auth_sasl_free(s);
    assert_int_equal(a.salt_len, 32);
    assert_int_equal(a.salt_len, b.salt_len);
    assert_memory_equal(a.salt, b.salt, a.salt_len);
    assert_int_equal(a.iterations, SCRAM_ITER_DEF);
    auth_creds_close(cs);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cred_roundtrip),
        cmocka_unit_test(test_cred_refuses_bad_input),
        cmocka_unit_test(test_cred_damaged_file_refused),
        cmocka_unit_test(test_cred_user_bound),
        cmocka_unit_test(test_sasl_plain),
        cmocka_unit_test(test_sasl_scram_exchange),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
