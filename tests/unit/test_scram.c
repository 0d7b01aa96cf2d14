/*
 * test_scram.c - lib/scram.c: the RFC 7677 exchange computed from its parts, the same
 * exchange with SHA-512 (figures from Python's hashlib, an independent
 * implementation), RFC 5802's messages through the grammar, and what the parsers
 * must refuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/scram.h"

/* RFC 7677 section 3 (SCRAM-SHA-256): user "user", password "pencil". */
static const char rfc_cfirst[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
static const char rfc_sfirst[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char rfc_cfinal[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char rfc_sfinal[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

/* The same exchange with SHA-512 (hashlib.pbkdf2_hmac and hmac). */
static const char sha512_proof[] = "gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PP"
                                   "C6wdp6dybEmDYXYTxwnYPJQ==";
static const char sha512_sig[] = "ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4"
                                 "+5ZxXnJq199RVG2rR7N7Zw==";

static char *b64(const uint8_t *p, size_t n)
{
    static char out[2][256];
    static int k;
    k ^= 1;
    EVP_EncodeBlock((unsigned char *)out[k], p, (int)n);
    return out[k];
}

/* Play the client and the server of RFC 7677's exchange with mech m; the proof and the
 * server's signature, base64. */
static void exchange(enum scram_mech m, char *proof_b64, char *sig_b64)
{
    char buf1[SCRAM_MSG_MAX + 1], buf2[SCRAM_MSG_MAX + 1];
    struct scram_client_first cf;
    struct scram_server_first sf;
    size_t kl = scram_key_len(m);
    uint8_t ck[SCRAM_KEY_MAX], sk[SCRAM_KEY_MAX], svk[SCRAM_KEY_MAX];
    uint8_t csig[SCRAM_KEY_MAX], proof[SCRAM_KEY_MAX], ssig[SCRAM_KEY_MAX];

    assert_int_equal(scram_parse_client_first(rfc_cfirst, strlen(rfc_cfirst), buf1, &cf), 0);
    assert_string_equal(cf.user, "user");
    assert_string_equal(cf.nonce, "rOprNGfwEbeRWgbNEkqO");
    assert_int_equal(scram_parse_server_first(rfc_sfirst, strlen(rfc_sfirst), buf2, &sf), 0);
    assert_int_equal(sf.iterations, 4096);
    assert_int_equal(sf.salt_len, 16);
    assert_int_equal(scram_derive(m, "pencil", 6, sf.salt, sf.salt_len, sf.iterations, ck, sk, svk),
                     0);

    char am[1024];
    int n = snprintf(am, sizeof am, "%.*s,%s,c=biws,r=%s", (int)cf.bare_len, cf.bare, rfc_sfirst,
                     sf.nonce);
    assert_int_equal(scram_hmac(m, sk, kl, am, (size_t)n, csig), 0);
    for (size_t i = 0; i < kl; i++)
        proof[i] = ck[i] ^ csig[i];
    assert_int_equal(scram_hmac(m, svk, kl, am, (size_t)n, ssig), 0);
    strcpy(proof_b64, b64(proof, kl));
    strcpy(sig_b64, b64(ssig, kl));

    /* the server's check: H(proof XOR ClientSignature) is the stored key */
    uint8_t back[SCRAM_KEY_MAX], h[SCRAM_KEY_MAX];
    for (size_t i = 0; i < kl; i++)
        back[i] = proof[i] ^ csig[i];
    assert_int_equal(scram_hash(m, back, kl, h), 0);
    assert_memory_equal(h, sk, kl);
}

static void test_scram_rfc7677_vector(void **state)
{
    char proof[256], sig[256];
    exchange(SCRAM_SHA_256, proof, sig);
    assert_string_equal(proof, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    assert_string_equal(sig, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");

    /* and the RFC's client-final and server-final parse to the same bytes */
    char buf[SCRAM_MSG_MAX + 1];
    struct scram_client_final fin;
    assert_int_equal(scram_parse_client_final(rfc_cfinal, strlen(rfc_cfinal), buf, &fin), 0);
    assert_int_equal(fin.proof_len, 32);
    assert_string_equal(b64(fin.proof, fin.proof_len), proof);
    assert_string_equal(fin.nonce, "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    assert_int_equal(fin.without_proof_len, strlen(rfc_cfinal) - strlen(",p=") - 44);
    assert_memory_equal(fin.without_proof, "c=biws,r=", 9);
    uint8_t s[SCRAM_KEY_MAX];
    size_t sl = 0;
    assert_int_equal(scram_parse_server_final(rfc_sfinal, strlen(rfc_sfinal), buf, s, &sl), 0);
    assert_string_equal(b64(s, sl), sig);
}

static void test_scram_sha512_vector(void **state)
{
    char proof[256], sig[256];
    exchange(SCRAM_SHA_512, proof, sig);
    assert_string_equal(proof, sha512_proof);
    assert_string_equal(sig, sha512_sig);
}

/* RFC 5802 section 5's example is SCRAM-SHA-1: its messages still follow the grammar. */
static void test_scram_rfc5802_messages(void **state)
{
    static const char cf[] = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    static const char sf[] =
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    static const char cl[] =
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    char buf[SCRAM_MSG_MAX + 1];
    struct scram_client_first a;
    struct scram_server_first b;
    struct scram_client_final c;
    assert_int_equal(scram_parse_client_first(cf, strlen(cf), buf, &a), 0);
    assert_int_equal(a.bare_len, strlen(cf) - 3);
    assert_int_equal(scram_parse_server_first(sf, strlen(sf), buf, &b), 0);
    assert_int_equal(b.salt_len, 12);
    assert_int_equal(scram_parse_client_final(cl, strlen(cl), buf, &c), 0);
    assert_int_equal(c.proof_len, 20);
}

static void test_scram_client_first_forms(void **state)
{
    char buf[SCRAM_MSG_MAX + 1];
    struct scram_client_first cf;
    static const char esc[] = "y,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=xyz,tokenauth=true";
    assert_int_equal(scram_parse_client_first(esc, strlen(esc), buf, &cf), 0);
    assert_string_equal(cf.user, "a,b=c");
    assert_string_equal(cf.nonce, "xyz");
    assert_int_equal(cf.token_auth, 1);

    static const char *const bad[] = {
        "",
        "n,,",
        "p=tls-unique,,n=user,r=abc", /* channel binding brook cannot honour */
        "n,,m=ext,n=user,r=abc",      /* a mandatory extension */
        "n,,n=us=er,r=abc",           /* a bare '=' in a saslname */
        "n,,n=user=2,r=abc",          /* a cut escape */
        "n,,n=,r=abc",                /* an empty name */
        "n,,n=user,r=",               /* an empty nonce */
        "n,,n=user",                  /* no nonce */
        "n,a=admin,n=user,r=abc",     /* acting as another user */
        "n,,n=user,r=abc,",           /* an empty extension */
        "n,,n=user,r=abc,1=x",        /* an extension not named by letters */
        "x,,n=user,r=abc",            /* an unknown flag */
        "n,,r=abc,n=user",            /* out of order */
        "n,,n=user,r=a\177b",         /* not printable */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(scram_parse_client_first(bad[i], strlen(bad[i]), buf, &cf), -EINVAL);

    /* a NUL inside the name is not a name */
    static const char nul[] = "n,,n=us\0er,r=abc";
    assert_int_equal(scram_parse_client_first(nul, sizeof nul - 1, buf, &cf), -EINVAL);
}

static void test_scram_server_first_bounds(void **state)
{
    char buf[SCRAM_MSG_MAX + 1];
    struct scram_server_first sf;
    static const char *const bad[] = {
        "r=abc,s=QSXCR+Q6sek8bf92,i=4095",  /* below Kafka's minimum */
        "r=abc,s=QSXCR+Q6sek8bf92,i=16385", /* above its maximum */
        "r=abc,s=QSXCR+Q6sek8bf92,i=04096", /* a leading zero */
        "r=abc,s=QSXCR+Q6sek8bf92,i=-4096", /* a sign */
        "r=abc,s=QSXCR+Q6sek8bf9,i=4096",   /* base64 cut */
        "r=abc,s=QSXCR+Q6sek8bf9=,i=4096",  /* unused bits set */
        "r=abc,s=QS=CR+Q6sek8bf92,i=4096",  /* padding inside */
        "r=abc,s=,i=4096",                  /* no salt */
        "m=x,r=abc,s=QSXCR+Q6sek8bf92,i=4096",
        "r=abc,i=4096,s=QSXCR+Q6sek8bf92",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(scram_parse_server_first(bad[i], strlen(bad[i]), buf, &sf), -EINVAL);
    /* a salt longer than SCRAM_SALT_MAX */
    char big[512] = "r=abc,s=";
    for (int i = 0; i < 92; i++)
        strcat(big, "AAAA");
    strcat(big, ",i=4096");
    assert_int_equal(scram_parse_server_first(big, strlen(big), buf, &sf), -EINVAL);
}

static void test_scram_client_final_forms(void **state)
{
    char buf[SCRAM_MSG_MAX + 1];
    struct scram_client_final cf;
    /* "n,a=user," as the channel binding, and an extension before the proof */
    static const char ok[] =
        "c=bixhPXVzZXIs,r=abc,x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    assert_int_equal(scram_parse_client_final(ok, strlen(ok), buf, &cf), 0);
    assert_int_equal(cf.without_proof_len, strlen("c=bixhPXVzZXIs,r=abc,x=1"));
    static const char *const bad[] = {
        "c=biws,r=abc",                        /* no proof */
        "c=biws,r=abc,p=dHzb,x=1",             /* proof not last */
        "c=cD10bHMtdW5pcXVlLCw=,r=abc,p=dHzb", /* "p=tls-unique,," */
        "c=Yml3cw==,r=abc,p=dHzb",             /* "biws" is not a gs2 header */
        "r=abc,c=biws,p=dHzb",
        "c=biws,r=abc,p=dHz",
        "c=biws,r=abc,p=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(scram_parse_client_final(bad[i], strlen(bad[i]), buf, &cf), -EINVAL);
}

static void test_scram_server_final_error(void **state)
{
    char buf[SCRAM_MSG_MAX + 1];
    uint8_t sig[SCRAM_KEY_MAX];
    size_t sl;
    static const char e[] = "e=invalid-proof";
    assert_int_equal(scram_parse_server_final(e, strlen(e), buf, sig, &sl), -EACCES);
    assert_string_equal(buf, "invalid-proof");
    static const char v[] = "v=abc";
    assert_int_equal(scram_parse_server_final(v, strlen(v), buf, sig, &sl), -EINVAL);
}

static void test_scram_too_long_refused(void **state)
{
    size_t n = SCRAM_MSG_MAX + 1;
    char *m = malloc(n), *buf = malloc(n + 1);
    memcpy(m, "n,,n=user,r=", 12);
    memset(m + 12, 'a', n - 12);
    struct scram_client_first cf;
    assert_int_equal(scram_parse_client_first(m, n, buf, &cf), -EINVAL);
    free(m);
    free(buf);
}

static void test_scram_derive_bounds_and_nonce(void **state)
{
    uint8_t k[SCRAM_KEY_MAX];
    assert_int_equal(scram_derive(SCRAM_SHA_256, "p", 1, (const uint8_t *)"s", 1, 0, k, k, k),
                     -EINVAL);
    assert_int_equal(
        scram_derive(SCRAM_SHA_256, "p", 1, (const uint8_t *)"s", 1, SCRAM_ITER_MAX + 1, k, k, k),
        -EINVAL);
    enum scram_mech m;
    assert_int_equal(scram_mech_parse("SCRAM-SHA-512", &m), 0);
    assert_int_equal(m, SCRAM_SHA_512);
    assert_int_equal(scram_mech_parse("SCRAM-SHA-1", &m), -EINVAL);
    assert_string_equal(scram_mech_name(SCRAM_SHA_256), "SCRAM-SHA-256");

    char a[33], b[33];
    assert_int_equal(scram_nonce(a, 32), 0);
    assert_int_equal(scram_nonce(b, 32), 0);
    assert_int_equal(strlen(a), 32);
    assert_null(strchr(a, ','));
    assert_string_not_equal(a, b);
    assert_int_equal(scram_nonce(a, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scram_rfc7677_vector),
        cmocka_unit_test(test_scram_sha512_vector),
        cmocka_unit_test(test_scram_rfc5802_messages),
        cmocka_unit_test(test_scram_client_first_forms),
        cmocka_unit_test(test_scram_server_first_bounds),
        cmocka_unit_test(test_scram_client_final_forms),
        cmocka_unit_test(test_scram_server_final_error),
        cmocka_unit_test(test_scram_too_long_refused),
        cmocka_unit_test(test_scram_derive_bounds_and_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
