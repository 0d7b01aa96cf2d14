/*
 * test_client.c - libbrook's pure parts: the group assignors and their wire
 * encoding, kcat-style formats and JSON, offset specifications, configuration
 * and errors, and the producer's bookkeeping before any broker answers. The
 * partitioner's hash is proto's (test_kafka.c).
 *
 * The assignor cases are the examples in the javadoc of Kafka's RangeAssignor
 * and RoundRobinAssignor; the JSON strings are what kcat 1.7.1 prints for the
 * same records on this machine.
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

#include "client/private.h"
#include "proto/kafka_errors.h"

/* ---- assignors ---- */

static bool has_tp(const struct assign_member *m, const char *topic, int32_t p)
{
    for (size_t i = 0; i < m->n_tps; i++)
        if (m->tps[i].partition == p && !strcmp(m->tps[i].topic, topic))
            return true;
    return false;
}

static void test_range_javadoc_example(void **state)
{
    const char *both[] = {"t0", "t1"};
    struct assign_member m[] = {{.id = "C1", .topics = both, .n_topics = 2},
                                {.id = "C0", .topics = both, .n_topics = 2}};
    struct assign_topic t[] = {{"t1", 3}, {"t0", 3}};
    assert_int_equal(assign_run("range", m, 2, t, 2), 0);
    struct assign_member *c0 = &m[1], *c1 = &m[0];
    assert_int_equal(c0->n_tps, 4);
    assert_true(has_tp(c0, "t0", 0) && has_tp(c0, "t0", 1));
    assert_true(has_tp(c0, "t1", 0) && has_tp(c0, "t1", 1));
    assert_int_equal(c1->n_tps, 2);
    assert_true(has_tp(c1, "t0", 2) && has_tp(c1, "t1", 2));
    assign_members_release(m, 2);
}

static void test_range_runs(void **state)
{
    const char *sub[] = {"t"};
    struct assign_member m[3] = {{.id = "b", .topics = sub, .n_topics = 1},
                                 {.id = "c", .topics = sub, .n_topics = 1},
                                 {.id = "a", .topics = sub, .n_topics = 1}};
    struct assign_topic t[] = {{"t", 7}};
    assert_int_equal(assign_run("range", m, 3, t, 1), 0);
    /* a: 0,1,2  b: 3,4  c: 5,6 */
    assert_int_equal(m[2].n_tps, 3);
    assert_int_equal(m[2].tps[0].partition, 0);
    assert_int_equal(m[2].tps[2].partition, 2);
    assert_int_equal(m[0].n_tps, 2);
    assert_int_equal(m[0].tps[0].partition, 3);
    assert_int_equal(m[1].n_tps, 2);
    assert_int_equal(m[1].tps[1].partition, 6);
    assign_members_release(m, 3);
}

static void test_roundrobin_javadoc_examples(void **state)
{
    const char *both[] = {"t0", "t1"};
    struct assign_member m[] = {{.id = "C0", .topics = both, .n_topics = 2},
                                {.id = "C1", .topics = both, .n_topics = 2}};
    struct assign_topic t[] = {{"t0", 3}, {"t1", 3}};
    assert_int_equal(assign_run("roundrobin", m, 2, t, 2), 0);
    assert_int_equal(m[0].n_tps, 3);
    assert_true(has_tp(&m[0], "t0", 0) && has_tp(&m[0], "t0", 2) && has_tp(&m[0], "t1", 1));
    assert_true(has_tp(&m[1], "t0", 1) && has_tp(&m[1], "t1", 0) && has_tp(&m[1], "t1", 2));
    assign_members_release(m, 2);

    /* unequal subscriptions: C0 {t0}, C1 {t0,t1}, C2 {t0,t1,t2} */
    const char *s0[] = {"t0"}, *s1[] = {"t0", "t1"}, *s2[] = {"t0", "t1", "t2"};
    struct assign_member u[] = {{.id = "C2", .topics = s2, .n_topics = 3},
                                {.id = "C0", .topics = s0, .n_topics = 1},
                                {.id = "C1", .topics = s1, .n_topics = 2}};
    struct assign_topic ut[] = {{"t2", 3}, {"t0", 1}, {"t1", 2}};
    assert_int_equal(assign_run("roundrobin", u, 3, ut, 3), 0);
    assert_int_equal(u[1].n_tps, 1);
    assert_true(has_tp(&u[1], "t0", 0));
    assert_int_equal(u[2].n_tps, 1);
    assert_true(has_tp(&u[2], "t1", 0));
    assert_int_equal(u[0].n_tps, 4);
    assert_true(has_tp(&u[0], "t1", 1) && has_tp(&u[0], "t2", 0) && has_tp(&u[0], "t2", 2));
    assign_members_release(u, 3);
}

static void test_assign_edges(void **state)
{
    const char *sub[] = {"t"};
    struct assign_member m[] = {{.id = "a", .topics = sub, .n_topics = 1},
                                {.id = "b", .topics = sub, .n_topics = 1}};
    struct assign_topic t[] = {{"t", 1}, {"other", 4}};
    assert_int_equal(assign_run("sticky", m, 2, t, 2), -EINVAL);
    assert_int_equal(assign_run("range", m, 2, t, 2), 0);
    assert_int_equal(m[0].n_tps + m[1].n_tps, 1); /* nobody subscribes to "other" */
    assign_members_release(m, 2);
    assert_int_equal(assign_run("roundrobin", m, 0, t, 2), 0);
}

static void test_consumer_protocol_roundtrip(void **state)
{
    struct writer w;
    struct arena a;
    writer_init(&w, 1 << 20);
    arena_init(&a, 1 << 20);
    const char *topics[] = {"orders", "payments"};
    assert_int_equal(assign_encode_subscription(topics, 2, &w), 0);
    struct kstr *got;
    size_t n;
    assert_int_equal(assign_decode_subscription(w.buf, w.len, &a, &got, &n), 0);
    assert_int_equal(n, 2);
    assert_true(kstr_eq(got[0], "orders") && kstr_eq(got[1], "payments"));
    /* every truncation is refused */
    for (size_t cut = 0; cut < w.len - 4; cut++)
        assert_int_equal(assign_decode_subscription(w.buf, cut, &a, &got, &n), -EBADMSG);

    writer_reset(&w);
    struct brook_tp tps[] = {{"a", 0, -1}, {"a", 3, -1}, {"b", 1, -1}};
    assert_int_equal(assign_encode_assignment(tps, 3, &w), 0);
    struct brook_tp *out;
    assert_int_equal(assign_decode_assignment(w.buf, w.len, &a, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out[1].topic, "a");
    assert_int_equal(out[1].partition, 3);
    assert_string_equal(out[2].topic, "b");
    assert_int_equal(assign_decode_assignment(w.buf, 0, &a, &out, &n), 0); /* empty */
    assert_int_equal(n, 0);
    writer_release(&w);
    arena_release(&a);
}

static void test_subscription_later_versions(void **state)
{
    /* version 1 adds owned partitions after the user data: ignored */
    static const uint8_t v1[] = {
        0, 1,                         /* version */
        0, 0, 0, 1, 0,   1,   't',    /* topics ["t"] */
        0, 0, 0, 2, 'u', 'd',         /* user data */
        0, 0, 0, 1, 0,   1,   't',    /* owned: t */
        0, 0, 0, 1, 0,   0,   0,   5, /* [5] */
    };
    struct arena a;
    arena_init(&a, 1 << 20);
    struct kstr *topics;
    size_t n;
    assert_int_equal(assign_decode_subscription(v1, sizeof v1, &a, &topics, &n), 0);
    assert_int_equal(n, 1);
    assert_true(kstr_eq(topics[0], "t"));
    static const uint8_t lying[] = {0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't'};
    assert_int_equal(assign_decode_subscription(lying, sizeof lying, &a, &topics, &n), -EBADMSG);
    arena_release(&a);
}

/* ---- JSON ---- */

static struct brook_message msg(const char *key, const char *value)
{
    struct brook_message m = {0};
    m.topic = "j1";
    m.offset = 4;
    m.timestamp = 1795366576158;
    m.key = key;
    m.key_len = key ? strlen(key) : 0;
    m.value = value;
    m.value_len = value ? strlen(value) : 0;
    return m;
}

static void assert_json(const struct brook_message *m, const char *want)
{
    struct brook_buf b = {0};
    assert_int_equal(brook_json_render(m, &b), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    free(b.p);
}

static void test_json_envelope(void **state)
{
    struct brook_message m = msg("k\x01\xc3\xa9\xff", "\x02v");
    assert_json(&m, "{\"topic\":\"j1\",\"partition\":0,\"offset\":4,\"tstype\":\"create\","
                    "\"ts\":1795366576158,\"broker\":0,\"key\":\"k\\u0001\xc3\xa9\xff\","
                    "\"payload\":\"\\u0002v\"}\n");
    m = msg(NULL, "nokey");
    m.log_append_time = true;
    m.broker = 3;
    assert_json(&m, "{\"topic\":\"j1\",\"partition\":0,\"offset\":4,\"tstype\":\"logappend\","
                    "\"ts\":1795366576158,\"broker\":3,\"key\":null,\"payload\":\"nokey\"}\n");
    m = msg("", NULL);
    assert_json(&m, "{\"topic\":\"j1\",\"partition\":0,\"offset\":4,\"tstype\":\"create\","
                    "\"ts\":1795366576158,\"broker\":0,\"key\":\"\",\"payload\":null}\n");
}

static void test_json_escapes_and_headers(void **state)
{
    static const char raw[] = "\x7f\x1f\b\f\n\r\t/\xe2\x80\xa8<>&\0z\"\\";
    struct brook_message m = msg(NULL, NULL);
    m.value = raw;
    m.value_len = sizeof raw - 1;
    struct brook_header h[] = {{"a", 1, "b", 1}, {"q", 1, "\"x\\\\y", 5}, {"n", 1, NULL, 0}};
    m.headers = h;
    m.n_headers = 3;
    assert_json(&m,
                "{\"topic\":\"j1\",\"partition\":0,\"offset\":4,\"tstype\":\"create\","
                "\"ts\":1795366576158,\"broker\":0,"
                "\"headers\":[\"a\",\"b\",\"q\",\"\\\"x\\\\\\\\y\",\"n\",null],\"key\":null,"
                "\"payload\":\"\x7f\\u001F\\b\\f\\n\\r\\t/\xe2\x80\xa8<>&\\u0000z\\\"\\\\\"}\n");
}

/* ---- formats ---- */

static void assert_render(const char *spec, const struct brook_message *m, const char *want,
                          size_t want_len)
{
    struct brook_format *f;
    assert_int_equal(brook_format_new(spec, &f, NULL), 0);
    struct brook_buf b = {0};
    assert_int_equal(brook_format_render(f, m, &b), 0);
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.p, want, want_len);
    free(b.p);
    brook_format_free(f);
}

static void test_format_tokens(void **state)
{
    struct brook_message m = msg("key", "value");
    m.partition = 2;
    struct brook_header h[] = {{"a", 1, "b", 1}, {"n", 1, NULL, 0}, {"e", 1, "", 0}};
    m.headers = h;
    m.n_headers = 3;
    const char want[] = "j1|2|4|key|3|value|5|1795366576158|a=b,n=NULL,e=|%\n";
    assert_render("%t|%p|%o|%k|%K|%s|%S|%T|%h|%%\\n", &m, want, sizeof want - 1);
    struct brook_message n = msg(NULL, NULL);
    const char wn[] = "[]-1[]-1";
    assert_render("[%k]%K[%s]%S", &n, wn, sizeof wn - 1);
    struct brook_message e = msg("", "");
    assert_render("[%k]%K[%s]%S", &e, "[]0[]0", 6);
}

static void test_format_escapes(void **state)
{
    struct brook_message m = msg("k", "v");
    assert_render("\\t\\r\\n\\x41\\65\\0102\\q\\\\", &m,
                  "\t\r\nAAB"
                  "q\\",
                  8);
    assert_render("a\\x00-b", &m, "a\0-b", 4); /* hex digits run as long as they go */
    assert_render("", &m, "", 0);
}

static void test_format_errors(void **state)
{
    struct brook_format *f;
    size_t at = 99;
    assert_int_equal(brook_format_new("ab%Zc", &f, &at), BROOK_ERR_FORMAT);
    assert_int_equal(at, 2);
    assert_null(f);
    assert_int_equal(brook_format_new("x%", &f, &at), BROOK_ERR_FORMAT);
    assert_int_equal(at, 1);
    assert_int_equal(brook_format_new("%s%%%", &f, NULL), BROOK_ERR_FORMAT);
}

/* ---- offsets ---- */

static void assert_offset(const char *s, int kind, int64_t value)
{
    struct brook_offset o;
    assert_int_equal(brook_offset_parse(s, 1700000000000, &o), 0);
    assert_int_equal(o.kind, kind);
    assert_int_equal(o.value, value);
}

static void test_offset_specs(void **state)
{
    assert_offset("beginning", BROOK_OFFSET_BEGINNING, 0);
    assert_offset("end", BROOK_OFFSET_END, 0);
    assert_offset("0", BROOK_OFFSET_AT, 0);
    assert_offset("12345", BROOK_OFFSET_AT, 12345);
    assert_offset("-10", BROOK_OFFSET_FROM_END, 10);
    assert_offset("+7", BROOK_OFFSET_FROM_START, 7);
    assert_offset("@1700000000123", BROOK_OFFSET_TIME, 1700000000123);
    assert_offset("@2023-11-14", BROOK_OFFSET_TIME, 1699920000000);
    assert_offset("@2023-11-14T22:13:20Z", BROOK_OFFSET_TIME, 1700000000000);
    assert_offset("@2023-11-14T22:13:20.5", BROOK_OFFSET_TIME, 1700000000500);
    assert_offset("@2023-11-14T22:13:20.500", BROOK_OFFSET_TIME, 1700000000500);
    assert_offset("@2023-11-14T22:13", BROOK_OFFSET_TIME, 1699999980000);
    /* a zone east or west of UTC: the same instant written as local time */
    assert_offset("@2023-11-14T23:13:20.000+01:00", BROOK_OFFSET_TIME, 1700000000000);
    assert_offset("@2023-11-14T16:43:20-05:30", BROOK_OFFSET_TIME, 1700000000000);
    assert_offset("@-1h", BROOK_OFFSET_TIME, 1700000000000 - 3600000);
    assert_offset("@-30m", BROOK_OFFSET_TIME, 1700000000000 - 1800000);
    assert_offset("@+10s", BROOK_OFFSET_TIME, 1700000010000);
    assert_offset("@-2d", BROOK_OFFSET_TIME, 1700000000000 - 2 * 86400000);
    assert_offset("@-250ms", BROOK_OFFSET_TIME, 1700000000000 - 250);
}

static void test_offset_spec_errors(void **state)
{
    static const char *bad[] = {"",
                                "abc",
                                "-",
                                "+",
                                "+x",
                                "1x",
                                " 1",
                                "@",
                                "@-1",
                                "@-5x",
                                "@abc",
                                "@2020-13-01",
                                "@2020-1-01",
                                "-1h",
                                "99999999999999999999",
                                "--1",
                                "@2023-11-14T25:00",
                                "@2023-11-14T22:13+1",
                                "@2023-11-14T22:13+01:60",
                                "@2023-11-14T22:13+01:00x",
                                "beginning!",
                                "@-h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct brook_offset o;
        if (brook_offset_parse(bad[i], 0, &o) != BROOK_ERR_FORMAT)
            fail_msg("accepted bad offset \"%s\"", bad[i]);
    }
}

/* ---- configuration, errors ---- */

static void test_conf(void **state)
{
    struct brook_conf *c = brook_conf_new();
    assert_non_null(c);
    assert_int_equal(brook_conf_set(c, "acks", "all"), 0);
    assert_int_equal(c->v.acks, -1);
    assert_int_equal(brook_conf_set(c, "acks", "1"), 0);
    assert_int_equal(c->v.acks, 1);
    assert_int_equal(brook_conf_set(c, "acks", "2"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "no.such.key", "1"), -ENOENT);
    assert_int_equal(brook_conf_set(c, "linger.ms", "-1"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "linger.ms", "10x"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "linger.ms", "10"), 0);
    assert_int_equal(c->v.linger_ms, 10);
    assert_int_equal(brook_conf_set(c, "compression.type", "zstd"), 0);
    assert_int_equal(c->v.codec, CODEC_ZSTD);
    assert_int_equal(brook_conf_set(c, "compression.type", "brotli"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "enable.auto.commit", "maybe"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "auto.offset.reset", "earliest"), 0);
    assert_int_equal(c->v.auto_reset, BROOK_OFFSET_BEGINNING);
    assert_int_equal(brook_conf_set(c, "queued.max.messages.kbytes", "2"), 0);
    assert_int_equal(c->v.queued_max_bytes, 2048);
    assert_int_equal(brook_conf_set(c, "group.id", "g"), 0);
    assert_string_equal(c->v.group_id, "g");
    brook_conf_free(c);
}

/* librdkafka's security keys: its words for the protocol (either case), the
 * mechanisms libbrook has, and the refusal of the ones it has not. */
static void test_conf_security(void **state)
{
    struct brook_conf *c = brook_conf_new();
    assert_non_null(c);
    assert_int_equal(c->v.security, SEC_PLAINTEXT);
    assert_true(c->v.ssl_verify);
    assert_int_equal(c->v.ssl_endpoint_check, 1); /* https, as librdkafka 2 */
    assert_int_equal(brook_conf_set(c, "security.protocol", "SASL_SSL"), 0);
    assert_int_equal(c->v.security, SEC_SASL_SSL);
    assert_int_equal(brook_conf_set(c, "security.protocol", "sasl_plaintext"), 0);
    assert_int_equal(c->v.security, SEC_SASL_PLAINTEXT);
    assert_int_equal(brook_conf_set(c, "security.protocol", "tls"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "sasl.mechanisms", "SCRAM-SHA-512"), 0);
    assert_int_equal(c->v.sasl_mech, SASL_SCRAM_SHA_512);
    assert_int_equal(brook_conf_set(c, "sasl.mechanism", "SCRAM-SHA-256"), 0);
    assert_int_equal(c->v.sasl_mech, SASL_SCRAM_SHA_256);
    assert_int_equal(brook_conf_set(c, "sasl.mechanism", "GSSAPI"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "sasl.mechanism", "OAUTHBEARER"), BROOK_ERR_CONFIG);
    assert_int_equal(brook_conf_set(c, "ssl.endpoint.identification.algorithm", "none"), 0);
    assert_int_equal(c->v.ssl_endpoint_check, 0);
    assert_int_equal(brook_conf_set(c, "enable.ssl.certificate.verification", "false"), 0);
    assert_false(c->v.ssl_verify);
    assert_int_equal(brook_conf_set(c, "sasl.password", "old"), 0);
    assert_int_equal(brook_conf_set(c, "sasl.password", "new"), 0);
    assert_string_equal(c->v.sasl_password, "new");
    /* sasl_* without a user name or password cannot authenticate: refused at once */
    assert_int_equal(brook_conf_set(c, "security.protocol", "sasl_plaintext"), 0);
    assert_int_equal(brook_conf_set(c, "bootstrap.servers", "127.0.0.1:1"), 0);
    struct brook_client *cl = NULL;
    assert_int_equal(brook_client_new(c, &cl), BROOK_ERR_CONFIG);
    assert_null(cl);
    assert_int_equal(brook_conf_set(c, "sasl.username", "alice"), 0);
    assert_int_equal(brook_client_new(c, &cl), 0);
    brook_client_free(cl);
    /* TLS material that cannot be loaded is refused when the client is made */
    assert_int_equal(brook_conf_set(c, "security.protocol", "ssl"), 0);
    assert_int_equal(brook_conf_set(c, "ssl.ca.location", "/nonexistent/ca.pem"), 0);
    assert_int_equal(brook_client_new(c, &cl), BROOK_ERR_TLS_CONFIG);
    assert_null(cl);
    brook_conf_free(c);
}

static void test_strerror(void **state)
{
    assert_string_equal(brook_strerror(0), "success");
    assert_string_equal(brook_strerror(-ECONNREFUSED), "connection refused");
    assert_string_equal(brook_strerror(BROOK_ERR_NO_BROKERS), "no broker could be reached");
    assert_string_equal(brook_strerror(brook_err_kafka(KAFKA_UNKNOWN_TOPIC_OR_PARTITION)),
                        "unknown topic or partition");
    assert_string_equal(brook_strerror(brook_err_kafka(KAFKA_FENCED_INSTANCE_ID)),
                        "FENCED_INSTANCE_ID");
    assert_string_equal(brook_strerror(brook_err_kafka(-1)), "unknown server error");
    assert_int_equal(brook_err_kafka_code(brook_err_kafka(36)), 36);
    assert_int_equal(brook_err_kafka_code(brook_err_kafka(-1)), -1);
    assert_int_equal(brook_err_kafka_code(-ENOMEM), 0);
    assert_int_equal(brook_err_kafka_code(BROOK_ERR_CONFIG), 0);
    assert_int_equal(brook_err_kafka_code(INT32_MIN), 0);
    assert_int_equal(brook_err_kafka_code(1), 0);
    assert_string_equal(brook_strerror(-123456), "unknown error");
    assert_string_equal(brook_strerror(brook_err_kafka(KAFKA_SASL_AUTHENTICATION_FAILED)),
                        "SASL authentication failed");
}

/* Every version limit lies inside what proto/ can encode, and every api the client
 * sends has one: a limit past the schema (Metadata once said 12 where the schema
 * ends at 9) would promise versions the codec cannot speak. */
static void test_request_versions(void **state)
{
    static const int16_t sent[] = {
        KAFKA_API_PRODUCE,
        KAFKA_API_FETCH,
        KAFKA_API_LIST_OFFSETS,
        KAFKA_API_METADATA,
        KAFKA_API_OFFSET_COMMIT,
        KAFKA_API_OFFSET_FETCH,
        KAFKA_API_FIND_COORDINATOR,
        KAFKA_API_JOIN_GROUP,
        KAFKA_API_HEARTBEAT,
        KAFKA_API_LEAVE_GROUP,
        KAFKA_API_SYNC_GROUP,
        KAFKA_API_DESCRIBE_GROUPS,
        KAFKA_API_LIST_GROUPS,
        KAFKA_API_API_VERSIONS,
        KAFKA_API_CREATE_TOPICS,
        KAFKA_API_DELETE_TOPICS,
        KAFKA_API_INIT_PRODUCER_ID,
        KAFKA_API_DELETE_GROUPS,
        KAFKA_API_ADD_PARTITIONS_TO_TXN,
        KAFKA_API_ADD_OFFSETS_TO_TXN,
        KAFKA_API_END_TXN,
        KAFKA_API_TXN_OFFSET_COMMIT,
        KAFKA_API_SASL_HANDSHAKE,
        KAFKA_API_SASL_AUTHENTICATE,
        KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS,
        KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS,
        KAFKA_API_DESCRIBE_ACLS,
        KAFKA_API_CREATE_ACLS,
        KAFKA_API_DELETE_ACLS,
    };
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
        assert_non_null(req_range(sent[i]));
    size_t n = 0;
    for (int16_t key = 0; key < API_SLOTS; key++) {
        const struct req_range *r = req_range(key);
        if (!r)
            continue;
        n++;
        const struct kafka_api *api = kafka_api_find(key);
        assert_non_null(api);
        assert_int_equal(r->key, key);
        assert_true(r->vmin <= r->vmax);
        assert_true(r->vmin >= api->min_version);
        assert_true(r->vmax <= api->max_version);
        struct req *rq = req_new(key, NULL, NULL);
        assert_non_null(rq);
        assert_int_equal(rq->vmin, r->vmin);
        assert_int_equal(rq->vmax, r->vmax);
        req_free(rq);
    }
    assert_int_equal(n, sizeof sent / sizeof sent[0]);
    assert_null(req_new(KAFKA_API_ELECT_LEADERS, NULL, NULL)); /* never sent */
    /* SaslHandshake v0 would mean raw SASL frames after it, which libbrook never sends */
    assert_int_equal(req_range(KAFKA_API_SASL_HANDSHAKE)->vmin, 1);
}

static void test_bootstrap_lists(void **state)
{
    static const char *good[] = {"localhost:9092", "a:1,b:2", " [::1]:9092 , host", "h"};
    static const char *bad[] = {"", ",", "host:", "host:99999", "host:0", "[::1", ":9092", "h:12x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0] + sizeof bad / sizeof bad[0]; i++) {
        bool ok = i < sizeof good / sizeof good[0];
        const char *list = ok ? good[i] : bad[i - sizeof good / sizeof good[0]];
        struct brook_conf *conf = brook_conf_new();
        assert_int_equal(brook_conf_set(conf, "bootstrap.servers", list), 0);
        struct brook_client *c;
        int rc = brook_client_new(conf, &c);
        if (ok != (rc == 0))
            fail_msg("bootstrap list \"%s\": %d", list, rc);
        brook_client_free(ok ? c : NULL);
        brook_conf_free(conf);
    }
}

/* ---- the producer before any broker answers ---- */

struct reports {
    int n;
    int err;
};

static void count_report(void *arg, const struct brook_delivery *d)
{
    struct reports *r = arg;
    r->n++;
    r->err = d->err;
    assert_string_equal(d->topic, "t");
}

static void test_producer_buffer_limits(void **state)
{
    struct brook_conf *conf = brook_conf_new();
    struct reports rep = {0};
    assert_int_equal(brook_conf_set(conf, "bootstrap.servers", "127.0.0.1:1"), 0);
    assert_int_equal(brook_conf_set(conf, "buffer.memory", "4096"), 0);
    assert_int_equal(brook_conf_set(conf, "max.request.size", "2048"), 0);
    brook_conf_set_delivery_cb(conf, count_report, &rep);
    struct brook_client *c;
    assert_int_equal(brook_client_new(conf, &c), 0);
    brook_conf_free(conf);

    struct brook_record r = BROOK_RECORD_INIT;
    assert_int_equal(brook_produce(c, &r, NULL), -EINVAL); /* no topic */
    r.topic = "t";
    char big[4096] = {0};
    r.value = big;
    r.value_len = sizeof big;
    assert_int_equal(brook_produce(c, &r, NULL), -EMSGSIZE);
    r.value_len = 1000;
    int queued = 0, rc;
    while ((rc = brook_produce(c, &r, NULL)) == 0)
        queued++;
    assert_int_equal(rc, -ENOBUFS);
    assert_true(queued >= 3 && queued <= 4);
    assert_int_equal(brook_outstanding(c), (size_t)queued);
    brook_client_free(c); /* every record gets its report */
    assert_int_equal(rep.n, queued);
    assert_int_equal(rep.err, -ECANCELED);
}

static void test_unreachable_broker(void **state)
{
    struct brook_conf *conf = brook_conf_new();
    assert_int_equal(brook_conf_set(conf, "bootstrap.servers", "127.0.0.1:1,127.0.0.1:2"), 0);
    struct brook_client *c;
    assert_int_equal(brook_client_new(conf, &c), 0);
    brook_conf_free(conf);
    int why = 0;
    assert_int_equal(brook_client_connect(c, 5000, &why), BROOK_ERR_NO_BROKERS);
    assert_int_equal(why, -ECONNREFUSED);
    struct brook_metadata *md;
    assert_int_equal(brook_metadata_get(c, NULL, 0, false, 5000, &md), BROOK_ERR_NO_BROKERS);
    brook_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_javadoc_example),
        cmocka_unit_test(test_range_runs),
        cmocka_unit_test(test_roundrobin_javadoc_examples),
        cmocka_unit_test(test_assign_edges),
        cmocka_unit_test(test_consumer_protocol_roundtrip),
        cmocka_unit_test(test_subscription_later_versions),
        cmocka_unit_test(test_json_envelope),
        cmocka_unit_test(test_json_escapes_and_headers),
        cmocka_unit_test(test_format_tokens),
        cmocka_unit_test(test_format_escapes),
        cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_offset_specs),
        cmocka_unit_test(test_offset_spec_errors),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_conf_security),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_request_versions),
        cmocka_unit_test(test_bootstrap_lists),
        cmocka_unit_test(test_producer_buffer_limits),
        cmocka_unit_test(test_unreachable_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
