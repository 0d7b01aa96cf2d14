/*
 * test_config.c - the configuration tables (lib/conftab.h): every key is described
 * once, parses its own default, and a value outside its range is refused with
 * the key named, whichever module's table holds it.
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

#include "broker/config.h"
#include "console/console.h"
#include "lib/conftab.h"
#include "lib/props.h"
#include "store/store.h"

/* brookd's command line with one -o key=value. */
static int parse_one(struct broker_config *c, const char *key, const char *value, const char **err)
{
    char pair[256];
    snprintf(pair, sizeof pair, "%s=%s", key, value);
    char prog[] = "brookd", opt[] = "-o";
    char *argv[] = {prog, opt, pair, NULL};
    return broker_config_from_args(c, 3, argv, err);
}

static bool numeric(const struct conf_key *k)
{
    return k->type == CONF_INT || k->type == CONF_LONG;
}

static void test_keys_described_once(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t t = 0; broker_config_tables[t]; t++)
        for (const struct conf_key *k = broker_config_tables[t]; k->name; k++, n++) {
            assert_non_null(k->doc);
            assert_true(strlen(k->doc) > 0);
            assert_ptr_equal(broker_config_key(k->name), k); /* no second entry shadows it */
            for (size_t u = t + 1; broker_config_tables[u]; u++)
                assert_null(conf_find(broker_config_tables[u], k->name));
        }
    assert_true(n > 40);
    for (const struct conf_key *k = topic_config_table; k->name; k++) {
        assert_non_null(k->doc);
        /* topic keys are not broker keys, but for the two Kafka names alike at both
         * levels (compression.type, min.insync.replicas): there the broker key is
         * the topic key's one synonym */
        if (broker_config_key(k->name))
            assert_string_equal(k->synonyms[0], k->name);
        for (int i = 0; i < 3 && k->synonyms[i]; i++) {
            const struct conf_key *b = broker_config_key(k->synonyms[i]);
            assert_non_null(b); /* a synonym is a key the broker reads */
            assert_true(b->dynamic);
        }
        assert_true(k->synonyms[0] || k->def); /* every topic key has a default */
    }
}

static void test_every_default_parses(void **state)
{
    (void)state;
    for (size_t t = 0; broker_config_tables[t]; t++)
        for (const struct conf_key *k = broker_config_tables[t]; k->name; k++) {
            int64_t v;
            bool b;
            if (numeric(k) && k->def) {
                assert_int_equal(conf_get_i64(broker_config_tables[t], NULL, k->name, &v), 0);
                assert_true(v >= k->min && v <= k->max);
            } else if (k->type == CONF_BOOLEAN) {
                assert_int_equal(conf_get_bool(broker_config_tables[t], NULL, k->name, &b), 0);
            }
            if (!k->def)
                continue;
            /* and given explicitly, the default is accepted by brookd's own parser */
            struct broker_config c;
            const char *err = NULL;
            int rc = parse_one(&c, k->name, k->def, &err);
            if (rc)
                print_error("%s=%s: %s\n", k->name, k->def, err);
            assert_int_equal(rc, 0);
            broker_config_release(&c);
        }
    /* a topic key accepts its default, its own or its first broker synonym's */
    for (const struct conf_key *k = topic_config_table; k->name; k++) {
        const struct conf_key *b = k->synonyms[0] ? broker_config_key(k->synonyms[0]) : k;
        if (!b->def)
            b = broker_config_key(k->synonyms[2] ? k->synonyms[2] : k->synonyms[1]);
        const char *def = b->def;
        char ms[32];
        if (strstr(b->name, ".hours")) { /* retention.ms, segment.ms: hours as ms */
            snprintf(ms, sizeof ms, "%lld", strtoll(def, NULL, 10) * 3600000LL);
            def = ms;
        }
        struct props *p = props_new();
        struct store_config sc;
        const char *bad = NULL;
        store_config_defaults(&sc);
        assert_int_equal(props_set(p, k->name, def), 0);
        assert_int_equal(topic_config_apply(&sc.topic, p, &bad), 0);
        props_free(p);
    }
}

/* The defaults the store runs with are the table's. */
static void test_store_defaults_from_table(void **state)
{
    (void)state;
    struct store_config c;
    store_config_defaults(&c);
    assert_string_equal(c.dir, "./brook-data");
    assert_int_equal(c.num_partitions, 1);
    assert_int_equal(c.flush_interval_ms, -1);
    assert_int_equal(c.retention_check_ms, 300000);
    assert_int_equal(c.topic.segment_bytes, 1LL << 30);
    assert_int_equal(c.topic.retention_ms, 7 * 24 * 3600000LL);
    assert_int_equal(c.topic.segment_ms, 7 * 24 * 3600000LL);
    assert_int_equal(c.topic.retention_bytes, -1);
    assert_int_equal(c.topic.max_message_bytes, 1048588);
    assert_int_equal(c.topic.delete_retention_ms, 24 * 3600000LL);
    assert_int_equal(c.topic.cleanup_policy, CLEANUP_DELETE);
    assert_true(c.topic.min_cleanable_ratio == 0.5);
    assert_true(c.delete_topic_enable && c.cleaner_enable);
}

/* One past each end of every numeric key's range stops brookd, naming the key. */
static void test_ranges_refused_with_key(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t t = 0; broker_config_tables[t]; t++)
        for (const struct conf_key *k = broker_config_tables[t]; k->name; k++) {
            if (!numeric(k))
                continue;
            int64_t outside[2] = {k->min - 1, k->max + (k->max < INT64_MAX ? 1 : 0)};
            for (int i = 0; i < 2; i++) {
                if (i == 1 && k->max == INT64_MAX)
                    continue;
                char v[32];
                snprintf(v, sizeof v, "%lld", (long long)outside[i]);
                if (t == 2) { /* the console reads its own keys when it starts */
                    struct props *p = props_new();
                    int64_t x;
                    assert_int_equal(props_set(p, k->name, v), 0);
                    assert_int_equal(conf_get_i64(console_config_table, p, k->name, &x), -EINVAL);
                    props_free(p);
                    checked++;
                    continue;
                }
                struct broker_config c;
                const char *err = NULL;
                assert_int_equal(parse_one(&c, k->name, v, &err), -1);
                assert_non_null(strstr(err, k->name));
                broker_config_release(&c);
                checked++;
            }
        }
    assert_true(checked > 60);
    /* topic keys: the same ranges when a topic is created */
    for (const struct conf_key *k = topic_config_table; k->name; k++) {
        if (!numeric(k))
            continue;
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)k->min - 1);
        struct props *p = props_new();
        struct store_config sc;
        const char *bad = NULL;
        store_config_defaults(&sc);
        assert_int_equal(props_set(p, k->name, v), 0);
        assert_int_equal(topic_config_apply(&sc.topic, p, &bad), STORE_EINVALID_CONFIG);
        assert_string_equal(bad, k->name);
        props_free(p);
    }
}

/* A misspelling finds the key meant (two edits at most); anything further finds
 * nothing rather than a guess. */
static void test_closest_key(void **state)
{
    (void)state;
    size_t d = SIZE_MAX;
    const struct conf_key *k = NULL;
    for (size_t i = 0; broker_config_tables[i]; i++) {
        const struct conf_key *f = conf_closest(broker_config_tables[i], "num.partition", &d);
        k = f ? f : k;
    }
    assert_non_null(k);
    assert_string_equal(k->name, "num.partitions");
    assert_int_equal(d, 1);
    assert_string_equal(broker_config_suggest("log.retention.hour")->name, "log.retention.hours");
    assert_string_equal(broker_config_suggest("log.dirz")->name, "log.dirs");
    assert_null(broker_config_suggest("zookeeper.connect"));
    assert_null(broker_config_suggest(""));
}

/* Keys no table describes are named once, and cut rather than overrun. */
static void test_unknown_keys_listed(void **state)
{
    (void)state;
    struct broker_config c;
    const char *err = NULL;
    char a[] = "brookd", o[] = "-o", k1[] = "log.segmnt.bytes=5", k2[] = "num.partitions=2",
         k3[] = "zookeeper.connect=x";
    char *argv[] = {a, o, k1, o, k2, o, k3, NULL};
    assert_int_equal(broker_config_from_args(&c, 7, argv, &err), 0);
    char buf[128], tiny[60];
    assert_int_equal(broker_config_unknown(&c, buf, sizeof buf), 2);
    assert_string_equal(buf,
                        "log.segmnt.bytes (did you mean log.segment.bytes?), zookeeper.connect");
    assert_int_equal(broker_config_unknown(&c, tiny, sizeof tiny), 2);
    assert_string_equal(tiny, "log.segmnt.bytes (did you mean log.segment.bytes?), ...");
    broker_config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_described_once),
        cmocka_unit_test(test_every_default_parses),
        cmocka_unit_test(test_store_defaults_from_table),
        cmocka_unit_test(test_ranges_refused_with_key),
        cmocka_unit_test(test_unknown_keys_listed),
        cmocka_unit_test(test_closest_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
