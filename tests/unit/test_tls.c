/*
 * test_tls.c - the parts of TLS that need no socket: Kafka's principal mapping
 * rules (lib/tls.c) and the listeners' configuration in Kafka's form (broker/
 * listener.c): names, the security protocol map, advertised addresses by name,
 * listener-prefixed keys and the keys refused at start.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broker/config.h"
#include "lib/tls.h"

static const char *DN = "CN=alice,OU=eng,O=example";

static void expect_map(const char *rules, const char *dn, int rc, const char *want)
{
    char out[128] = "";
    assert_int_equal(tls_principal_map(rules, dn, out, sizeof out), rc);
    if (!rc)
        assert_string_equal(out, want);
}

static void test_default_rule(void **state)
{
    (void)state;
    expect_map(NULL, DN, 0, DN);
    expect_map("DEFAULT", DN, 0, DN);
}

static void test_rules_in_order(void **state)
{
    (void)state;
    expect_map("RULE:^CN=([^,]*),OU=eng,.*$/$1/,DEFAULT", DN, 0, "alice");
    expect_map("RULE:^CN=([^,]*),OU=ops,.*$/$1/,DEFAULT", DN, 0, DN);
    expect_map("RULE:^CN=(.*),OU=(.*),O=(.*)$/$1@$2/U", DN, 0, "ALICE@ENG");
    expect_map("RULE:^CN=(.*?),OU=.*$/$1/L", "CN=Bob,OU=x", 0, "bob");
    /* the pattern must match all of the DN, as Java's matches() */
    expect_map("RULE:CN=alice/x/", DN, -ENOENT, NULL);
    expect_map("RULE:^O=(.*)$/$1/", DN, -ENOENT, NULL);
    /* an escaped slash in the pattern and in the replacement */
    expect_map("RULE:^CN=a\\/b$/a\\/b/", "CN=a/b", 0, "a/b");
}

static void test_bad_rules(void **state)
{
    (void)state;
    expect_map("RULE:^CN=(.*$/$1/", DN, -EINVAL, NULL); /* no closing parenthesis */
    expect_map("RULE:^CN=.*$", DN, -EINVAL, NULL);      /* no replacement */
    expect_map("NOPE", DN, -EINVAL, NULL);
    char out[4];
    assert_int_equal(tls_principal_map("DEFAULT", DN, out, sizeof out), -ENAMETOOLONG);
}

/* brookd's command line with -o for each pair. */
static int parse(struct broker_config *c, const char **err, int n, ...)
{
    static char prog[] = "brookd", opt[] = "-o", pairs[8][512];
    char *argv[2 + 2 * 8] = {prog};
    int argc = 1;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < 8; i++) {
        snprintf(pairs[i], sizeof pairs[i], "%s", va_arg(ap, const char *));
        argv[argc++] = opt;
        argv[argc++] = pairs[i];
    }
    va_end(ap);
    return broker_config_from_args(c, argc, argv, err);
}

static void test_listener_names(void **state)
{
    (void)state;
    struct broker_config c;
    const char *err = NULL;
    assert_int_equal(parse(&c, &err, 2, "listeners=PLAINTEXT://127.0.0.1:0,CLIENT://[::1]:9093",
                           "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENT:SASL_SSL"),
                     0);
    assert_int_equal(c.n_listeners, 2);
    assert_string_equal(c.listeners[1].name, "CLIENT");
    assert_int_equal(c.listeners[1].security, SEC_SASL_SSL);
    assert_string_equal(c.listeners[1].host, "::1");
    assert_int_equal(c.listeners[1].port, 9093);
    broker_config_release(&c);
    /* -l gives one PLAINTEXT listener, as before */
    char prog[] = "brookd", l[] = "-l", addr[] = "127.0.0.1:0";
    char *argv[] = {prog, l, addr, NULL};
    assert_int_equal(broker_config_from_args(&c, 3, argv, &err), 0);
    assert_string_equal(c.listeners[0].name, "PLAINTEXT");
    assert_int_equal(c.listeners[0].security, SEC_PLAINTEXT);
    broker_config_release(&c);
}

static void test_listener_errors(void **state)
{
    (void)state;
    struct broker_config c;
    const char *err = NULL;
    assert_int_equal(parse(&c, &err, 1, "listeners=CLIENT://h:1"), -1);
    assert_non_null(strstr(err, "listener CLIENT has no security protocol"));
    broker_config_release(&c);
    assert_int_equal(parse(&c, &err, 1, "listeners=SSL://h:1,ssl://h:2"), -1);
    assert_non_null(strstr(err, "given twice"));
    broker_config_release(&c);
    assert_int_equal(
        parse(&c, &err, 2, "listeners=A://h:1", "listener.security.protocol.map=A:TLS"), -1);
    assert_non_null(strstr(err, "invalid listener.security.protocol.map"));
    broker_config_release(&c);
}

static void test_advertised_by_name(void **state)
{
    (void)state;
    struct broker_config c;
    const char *err = NULL;
    assert_int_equal(parse(&c, &err, 2, "listeners=PLAINTEXT://0.0.0.0:9092,SSL://0.0.0.0:9093",
                           "advertised.listeners=SSL://b.example:443"),
                     0);
    assert_false(c.advertised_set[0]);
    assert_true(c.advertised_set[1]);
    assert_string_equal(c.advertised[1].host, "b.example");
    assert_int_equal(c.advertised[1].port, 443);
    broker_config_release(&c);
    /* an unnamed address is the first listener's */
    assert_int_equal(parse(&c, &err, 1, "advertised.listeners=a.example:1"), 0);
    assert_true(c.advertised_set[0]);
    assert_string_equal(c.advertised[0].host, "a.example");
    broker_config_release(&c);
}

static void test_prefixed_keys(void **state)
{
    (void)state;
    struct broker_config c;
    const char *err = NULL;
    assert_int_equal(parse(&c, &err, 3, "listeners=PLAINTEXT://h:1,INTERNAL://h:2",
                           "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SSL",
                           "listener.name.internal.ssl.client.auth=required"),
                     0);
    assert_string_equal(listener_get(&c, &c.listeners[1], "ssl.client.auth"), "required");
    assert_null(listener_get(&c, &c.listeners[0], "ssl.client.auth"));
    char unknown[256];
    assert_int_equal(broker_config_unknown(&c, unknown, sizeof unknown), 0);
    broker_config_release(&c);
}

static void test_refused_keys(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "ssl.keystore.type=JKS",
        "ssl.truststore.type=PKCS12",
        "ssl.keystore.password=x",
        "ssl.client.auth=sometimes",
        "ssl.enabled.protocols=TLSv1",
        "ssl.enabled.protocols=TLSv1.3,SSLv3",
        "ssl.provider=SUN",
        "listener.name.x.ssl.keystore.type=JKS",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct broker_config c;
        const char *err = NULL;
        assert_int_equal(parse(&c, &err, 1, refused[i]), -1);
        assert_non_null(strstr(err, "is not supported"));
        broker_config_release(&c);
    }
    struct broker_config c;
    const char *err = NULL;
    assert_int_equal(parse(&c, &err, 3, "ssl.keystore.type=pem", "ssl.client.auth=requested",
                           "ssl.enabled.protocols=TLSv1.2, TLSv1.3"),
                     0);
    broker_config_release(&c);
}

static void test_exposure_warnings(void **state)
{
    (void)state;
    struct listen_addr l = {.security = SEC_PLAINTEXT};
    assert_null(listener_exposure(&l, "127.0.0.1"));
    assert_null(listener_exposure(&l, "::1"));
    assert_non_null(strstr(listener_exposure(&l, "0.0.0.0"), "read every record"));
    assert_non_null(strstr(listener_exposure(&l, "::"), "not encrypted"));
    l.security = SEC_SSL;
    assert_non_null(strstr(listener_exposure(&l, "10.0.0.5"), "User:ANONYMOUS"));
    l.security = SEC_SASL_PLAINTEXT;
    assert_non_null(strstr(listener_exposure(&l, "10.0.0.5"), "PLAIN passwords"));
    l.security = SEC_SASL_SSL;
    assert_null(listener_exposure(&l, "0.0.0.0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_rule),      cmocka_unit_test(test_rules_in_order),
        cmocka_unit_test(test_bad_rules),         cmocka_unit_test(test_listener_names),
        cmocka_unit_test(test_listener_errors),   cmocka_unit_test(test_advertised_by_name),
        cmocka_unit_test(test_prefixed_keys),     cmocka_unit_test(test_refused_keys),
        cmocka_unit_test(test_exposure_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
