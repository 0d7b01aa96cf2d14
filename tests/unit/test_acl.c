/*
 * test_acl.c - auth/acl.c and auth/authorize.c: bindings are validated as Kafka
 * validates them, kept across a reopen, selected and deleted by Kafka's filter
 * rules, and the decision follows Kafka's order (super users, DENY over ALLOW,
 * implied DESCRIBE, literal / wildcard / prefixed patterns, hosts, the no-ACL rule).
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

#include "auth/auth.h"
#include "lib/fileio.h"
#include "tests/unit/testutil.h"

static struct auth_acl bind(enum auth_resource type, const char *name, enum auth_pattern pat,
                            const char *principal, enum auth_op op, enum auth_perm perm)
{
    return (struct auth_acl){type, name, pat, principal, "*", op, perm};
}

static const struct auth_acl match_all = {AUTH_RES_ANY, NULL,        AUTH_PAT_ANY, NULL,
                                          NULL,         AUTH_OP_ANY, AUTH_PERM_ANY};

static void add(struct auth_acls *as, struct auth_acl a)
{
    const char *why = NULL;
    assert_int_equal(auth_acls_create(as, &a, &why), 0);
    assert_null(why);
}

static int count_fn(const struct auth_acl *a, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static int count_matching(struct auth_acls *as, const struct auth_acl *f)
{
    int n = 0;
    auth_acls_each(as, f, count_fn, &n);
    return n;
}

static void count_gone(const struct auth_acl *a, void *arg)
{
    (*(int *)arg)++;
}

static void test_create_refuses_what_kafka_refuses(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    const struct auth_acl bad[] = {
        bind(AUTH_RES_ANY, "t", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW),
        bind(AUTH_RES_TOPIC, "t", AUTH_PAT_MATCH, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW),
        bind(AUTH_RES_TOPIC, "t", AUTH_PAT_LITERAL, "User:a", AUTH_OP_ANY, AUTH_PERM_ALLOW),
        bind(AUTH_RES_TOPIC, "t", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ANY),
        bind(AUTH_RES_TOPIC, "", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW),
        bind(AUTH_RES_TOPIC, "t", AUTH_PAT_LITERAL, "alice", AUTH_OP_READ, AUTH_PERM_ALLOW),
        bind(AUTH_RES_CLUSTER, "c", AUTH_PAT_LITERAL, "User:a", AUTH_OP_ALTER, AUTH_PERM_ALLOW),
        bind(AUTH_RES_TOPIC, "*", AUTH_PAT_PREFIXED, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = NULL;
        assert_int_equal(auth_acls_create(as, &bad[i], &why), -EINVAL);
        assert_non_null(why);
    }
    assert_int_equal(auth_acls_count(as), 0);
    /* the same binding twice is one binding */
    add(as, bind(AUTH_RES_TOPIC, "t", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW));
    add(as, bind(AUTH_RES_TOPIC, "t", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW));
    assert_int_equal(auth_acls_count(as), 1);
    auth_acls_close(as);
    tu_rmrf(dir);
    free(dir);
}

static void test_bindings_survive_reopen(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    /* names with spaces, newlines and percent signs go through the file intact */
    add(as, bind(AUTH_RES_GROUP, "g 1\n%x", AUTH_PAT_LITERAL, "User:b b", AUTH_OP_READ,
                 AUTH_PERM_ALLOW));
    add(as,
        bind(AUTH_RES_TOPIC, "ord", AUTH_PAT_PREFIXED, "User:a", AUTH_OP_WRITE, AUTH_PERM_DENY));
    struct auth_acl hosted = bind(AUTH_RES_CLUSTER, AUTH_CLUSTER_NAME, AUTH_PAT_LITERAL, "User:a",
                                  AUTH_OP_ALTER, AUTH_PERM_ALLOW);
    hosted.host = "10.0.0.1";
    add(as, hosted);
    auth_acls_close(as);
    /* a temporary file left by a crash mid-write is not the set */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/.acls.tmp", dir);
    assert_int_equal(file_write_atomic(tmp, "garbage", 7), 0);
    assert_int_equal(auth_acls_open(dir, &as), 0);
    assert_int_equal(auth_acls_count(as), 3);
    struct auth_acl f = match_all;
    f.resource_name = "g 1\n%x";
    f.principal = "User:b b";
    assert_int_equal(count_matching(as, &f), 1);
    f = match_all;
    f.host = "10.0.0.1";
    assert_int_equal(count_matching(as, &f), 1);
    auth_acls_close(as);
    tu_rmrf(dir);
    free(dir);
}

static void test_damaged_file_refused(void **state)
{
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/.acls", dir);
    const char *bad[] = {
        "not acls\n",
        "brook-acls 1\n2 3 3 3 User:a * orders",        /* torn: no newline */
        "brook-acls 1\n2 3 3 9 User:a * orders\n",      /* bad permission */
        "brook-acls 1\n2 3 3 3 User:a * or ders\n",     /* a space in a field */
        "brook-acls 1\n2 3 3 3 User:a * %0\n",          /* bad escape */
        "brook-acls 1\n2 3 3 3 User:a * orders\nxyz\n", /* a line that is not one */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct auth_acls *as = NULL;
        assert_int_equal(file_write_atomic(path, bad[i], strlen(bad[i])), 0);
        assert_int_equal(auth_acls_open(dir, &as), -EBADMSG);
        assert_null(as);
    }
    const char *good = "brook-acls 1\n2 3 3 3 User:a * orders\n";
    struct auth_acls *as;
    assert_int_equal(file_write_atomic(path, good, strlen(good)), 0);
    assert_int_equal(auth_acls_open(dir, &as), 0);
    assert_int_equal(auth_acls_count(as), 1);
    auth_acls_close(as);
    tu_rmrf(dir);
    free(dir);
}

static void test_filters_and_delete(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    add(as,
        bind(AUTH_RES_TOPIC, "orders", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW));
    add(as,
        bind(AUTH_RES_TOPIC, "ord", AUTH_PAT_PREFIXED, "User:b", AUTH_OP_READ, AUTH_PERM_ALLOW));
    add(as, bind(AUTH_RES_TOPIC, "*", AUTH_PAT_LITERAL, "User:c", AUTH_OP_READ, AUTH_PERM_ALLOW));
    add(as,
        bind(AUTH_RES_GROUP, "orders", AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW));
    struct auth_acl f = match_all;
    assert_int_equal(count_matching(as, &f), 4);
    f.resource_type = AUTH_RES_TOPIC;
    assert_int_equal(count_matching(as, &f), 3);
    f.resource_name = "orders"; /* ANY pattern with a name: that exact name */
    assert_int_equal(count_matching(as, &f), 1);
    f.pattern_type = AUTH_PAT_MATCH; /* what applies to topic "orders" */
    assert_int_equal(count_matching(as, &f), 3);
    f.resource_name = "other";
    assert_int_equal(count_matching(as, &f), 1);
    f.pattern_type = AUTH_PAT_PREFIXED;
    f.resource_name = "ord";
    assert_int_equal(count_matching(as, &f), 1);

    /* delete: an UNKNOWN part is refused, a filter removes all it matches */
    const char *why = NULL;
    struct auth_acl badf = match_all;
    badf.operation = AUTH_OP_UNKNOWN;
    assert_int_equal(auth_acls_delete(as, &badf, NULL, NULL, &why), -EINVAL);
    assert_non_null(why);
    f = match_all;
    f.resource_type = AUTH_RES_TOPIC;
    int gone = 0;
    assert_int_equal(auth_acls_delete(as, &f, count_gone, &gone, &why), 0);
    assert_int_equal(gone, 3);
    assert_int_equal(auth_acls_count(as), 1);
    auth_acls_close(as);
    assert_int_equal(auth_acls_open(dir, &as), 0);
    assert_int_equal(auth_acls_count(as), 1);
    auth_acls_close(as);
    tu_rmrf(dir);
    free(dir);
}

static bool may(struct auth_acls *as, const struct auth_policy *p, const char *who, enum auth_op op,
                enum auth_resource type, const char *name)
{
    return auth_authorize(as, p, who, "127.0.0.1", op, type, name);
}

static void test_authorize_rules(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    const char *supers[] = {"User:admin", NULL};
    struct auth_policy off = {false, false, NULL};
    struct auth_policy pol = {true, false, supers};
    struct auth_policy open_pol = {true, true, NULL};
    /* nothing bound: off allows, the no-ACL rule decides, super users pass */
    assert_true(may(as, &off, "User:x", AUTH_OP_WRITE, AUTH_RES_TOPIC, "orders"));
    assert_false(may(as, &pol, "User:x", AUTH_OP_WRITE, AUTH_RES_TOPIC, "orders"));
    assert_true(may(as, &open_pol, "User:x", AUTH_OP_WRITE, AUTH_RES_TOPIC, "orders"));
    assert_true(may(as, &pol, "User:admin", AUTH_OP_WRITE, AUTH_RES_TOPIC, "orders"));

    add(as,
        bind(AUTH_RES_TOPIC, "orders", AUTH_PAT_LITERAL, "User:r", AUTH_OP_READ, AUTH_PERM_ALLOW));
    assert_true(may(as, &pol, "User:r", AUTH_OP_READ, AUTH_RES_TOPIC, "orders"));
    assert_true(may(as, &pol, "User:r", AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, "orders")); /* implied */
    assert_false(may(as, &pol, "User:r", AUTH_OP_WRITE, AUTH_RES_TOPIC, "orders"));
    assert_false(may(as, &pol, "User:r", AUTH_OP_READ, AUTH_RES_TOPIC, "orders2"));
    assert_false(may(as, &pol, "User:r", AUTH_OP_READ, AUTH_RES_GROUP, "orders"));
    /* a binding on the resource ends the no-ACL rule for everyone else */
    assert_false(may(as, &open_pol, "User:x", AUTH_OP_READ, AUTH_RES_TOPIC, "orders"));
    assert_true(may(as, &open_pol, "User:x", AUTH_OP_READ, AUTH_RES_TOPIC, "other"));
    /* DESCRIBE does not imply READ; ALTER_CONFIGS implies DESCRIBE_CONFIGS */
    add(as,
        bind(AUTH_RES_TOPIC, "d", AUTH_PAT_LITERAL, "User:r", AUTH_OP_DESCRIBE, AUTH_PERM_ALLOW));
    assert_false(may(as, &pol, "User:r", AUTH_OP_READ, AUTH_RES_TOPIC, "d"));
    add(as, bind(AUTH_RES_TOPIC, "d", AUTH_PAT_LITERAL, "User:r", AUTH_OP_ALTER_CONFIGS,
                 AUTH_PERM_ALLOW));
    assert_true(may(as, &pol, "User:r", AUTH_OP_DESCRIBE_CONFIGS, AUTH_RES_TOPIC, "d"));

    /* prefixed patterns match names that start with them */
    add(as,
        bind(AUTH_RES_TOPIC, "logs-", AUTH_PAT_PREFIXED, "User:p", AUTH_OP_ALL, AUTH_PERM_ALLOW));
    assert_true(may(as, &pol, "User:p", AUTH_OP_WRITE, AUTH_RES_TOPIC, "logs-a"));
    assert_true(may(as, &pol, "User:p", AUTH_OP_DELETE, AUTH_RES_TOPIC, "logs-"));
    assert_false(may(as, &pol, "User:p", AUTH_OP_WRITE, AUTH_RES_TOPIC, "logs"));
    assert_false(may(as, &pol, "User:p", AUTH_OP_WRITE, AUTH_RES_TOPIC, "xlogs-a"));
    /* deny beats allow, whichever pattern carries it */
    add(as, bind(AUTH_RES_TOPIC, "logs-secret", AUTH_PAT_PREFIXED, "User:p", AUTH_OP_READ,
                 AUTH_PERM_DENY));
    assert_false(may(as, &pol, "User:p", AUTH_OP_READ, AUTH_RES_TOPIC, "logs-secret-1"));
    assert_true(may(as, &pol, "User:p", AUTH_OP_WRITE, AUTH_RES_TOPIC, "logs-secret-1"));
    add(as, bind(AUTH_RES_TOPIC, "*", AUTH_PAT_LITERAL, "User:*", AUTH_OP_ALL, AUTH_PERM_DENY));
    assert_false(may(as, &pol, "User:p", AUTH_OP_WRITE, AUTH_RES_TOPIC, "logs-a"));
    assert_false(may(as, &pol, "User:r", AUTH_OP_READ, AUTH_RES_TOPIC, "orders"));
    assert_true(may(as, &pol, "User:admin", AUTH_OP_READ, AUTH_RES_TOPIC, "orders"));
    auth_acls_close(as);
    tu_rmrf(dir);
    free(dir);
}

static void test_authorize_hosts_and_wildcards(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    struct auth_policy pol = {true, false, NULL};
    struct auth_acl a =
        bind(AUTH_RES_GROUP, "*", AUTH_PAT_LITERAL, "User:*", AUTH_OP_READ, AUTH_PERM_ALLOW);
    a.host = "10.1.1.1";
    add(as, a);
    assert_true(auth_authorize(as, &pol, "User:z", "10.1.1.1", AUTH_OP_READ, AUTH_RES_GROUP, "g"));
    assert_false(auth_authorize(as, &pol, "User:z", "10.1.1.2", AUTH_OP_READ, AUTH_RES_GROUP, "g"));
    /* the wildcard principal is any User:, not another principal type */
    assert_false(
        auth_authorize(as, &pol, "Group:z", "10.1.1.1", AUTH_OP_READ, AUTH_RES_GROUP, "g"));

    /* authorize_any: an ALLOW somewhere not overridden by a DENY */
    assert_false(auth_authorize_any(as, &pol, "User:w", "h", AUTH_OP_WRITE, AUTH_RES_TOPIC));
    add(as, bind(AUTH_RES_TOPIC, "t1", AUTH_PAT_LITERAL, "User:w", AUTH_OP_WRITE, AUTH_PERM_ALLOW));
    assert_true(auth_authorize_any(as, &pol, "User:w", "h", AUTH_OP_WRITE, AUTH_RES_TOPIC));
    add(as, bind(AUTH_RES_TOPIC, "t", AUTH_PAT_PREFIXED, "User:w", AUTH_OP_WRITE, AUTH_PERM_DENY));
    assert_false(auth_authorize_any(as, &pol, "User:w", "h", AUTH_OP_WRITE, AUTH_RES_TOPIC));
    auth_acls_close(as);
    tu_rmrf(dir);
    free(dir);
}

static void test_batch_create_and_bound(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    size_t n = AUTH_ACLS_MAX + 2;
    struct auth_acl *v = calloc(n, sizeof *v);
    char(*names)[16] = calloc(n, 16);
    int *rcs = calloc(n, sizeof *rcs);
    const char **whys = calloc(n, sizeof *whys);
    assert_true(v && names && rcs && whys);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], 16, "t%zu", i);
        v[i] = bind(AUTH_RES_TOPIC, names[i], AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ,
                    AUTH_PERM_ALLOW);
    }
    v[1].operation = AUTH_OP_ANY; /* one bad binding does not stop the others */
    assert_int_equal(auth_acls_create_many(as, v, n, rcs, whys), 0);
    assert_int_equal(rcs[1], -EINVAL);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(rcs[n - 1], -ENOSPC);
    assert_int_equal(auth_acls_count(as), AUTH_ACLS_MAX);
    auth_acls_close(as);
    assert_int_equal(auth_acls_open(dir, &as), 0);
    assert_int_equal(auth_acls_count(as), AUTH_ACLS_MAX);
    struct auth_policy pol = {true, false, NULL};
    assert_true(auth_authorize(as, &pol, "User:a", "h", AUTH_OP_READ, AUTH_RES_TOPIC, "t77777"));
    assert_false(auth_authorize(as, &pol, "User:a", "h", AUTH_OP_READ, AUTH_RES_TOPIC, "t1"));
    auth_acls_close(as);
    free(v);
    free(names);
    free(rcs);
    free(whys);
    tu_rmrf(dir);
    free(dir);
}

/* Bindings are bounded in bytes too, not only in number: 3 000 bindings of
 * 4 096-byte names that each take three bytes in the file would make a file of
 * 36 MiB; those past 32 MiB are refused, and what was accepted opens again. */
static void test_bytes_bound(void **state)
{
    char *dir = tu_mkdtemp();
    struct auth_acls *as;
    assert_int_equal(auth_acls_open(dir, &as), 0);
    size_t n = 3000, len = 4096;
    char *names = malloc(n * (len + 1));
    struct auth_acl *v = calloc(n, sizeof *v);
    int *rcs = calloc(n, sizeof *rcs);
    const char **whys = calloc(n, sizeof *whys);
    assert_true(names && v && rcs && whys);
    for (size_t i = 0; i < n; i++) {
        char *name = names + i * (len + 1);
        memset(name, ' ', len); /* a space is written as %20 */
        snprintf(name, len + 1, "%zu", i);
        name[strlen(name)] = ' ';
        name[len] = 0;
        v[i] =
            bind(AUTH_RES_GROUP, name, AUTH_PAT_LITERAL, "User:a", AUTH_OP_READ, AUTH_PERM_ALLOW);
    }
    assert_int_equal(auth_acls_create_many(as, v, n, rcs, whys), 0);
    size_t kept = auth_acls_count(as);
    assert_true(kept > 2500 && kept < n);
    assert_int_equal(rcs[n - 1], -ENOSPC);
    assert_non_null(whys[n - 1]);
    auth_acls_close(as);
    assert_int_equal(auth_acls_open(dir, &as), 0);
    assert_int_equal(auth_acls_count(as), kept);
    /* room made by deleting is room to create again */
    struct auth_acl f = match_all;
    f.resource_name = v[0].resource_name;
    const char *why;
    assert_int_equal(auth_acls_delete(as, &f, NULL, NULL, &why), 0);
    assert_int_equal(auth_acls_create_many(as, &v[n - 1], 1, rcs, whys), 0);
    assert_int_equal(rcs[0], 0);
    auth_acls_close(as);
    free(names);
    free(v);
    free(rcs);
    free(whys);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_refuses_what_kafka_refuses),
        cmocka_unit_test(test_bindings_survive_reopen),
        cmocka_unit_test(test_damaged_file_refused),
        cmocka_unit_test(test_filters_and_delete),
        cmocka_unit_test(test_authorize_rules),
        cmocka_unit_test(test_authorize_hosts_and_wildcards),
        cmocka_unit_test(test_batch_create_and_bound),
        cmocka_unit_test(test_bytes_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
