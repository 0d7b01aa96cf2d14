/*
 * test_fs.c - fs/ without a mount: the line assembler at every split point, the
 * JSON and base64 rendering, the size arithmetic behind EFBIG, the errno table,
 * and the stream renderer over a real store - every byte position of topic and
 * partition streams (compressed batches, null values, interleaved partitions),
 * after retention deletes segments and the journal drops entries, after
 * compaction - and the records file.
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

#include "fs/store_private.h"
#include "lib/clock.h"
#include "lib/props.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

/* ---- helpers ---- */

static uint64_t rng = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static struct store *open_store(const char *dir)
{
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    c.cleaner_enable = false;
    struct store *s = NULL;
    assert_int_equal(store_open(&c, &s), 0);
    return s;
}

static struct store_topic *create_topic(struct store *s, const char *name, int parts, ...)
{
    struct props *p = props_new();
    va_list ap;
    va_start(ap, parts);
    for (const char *kv; (kv = va_arg(ap, const char *));)
        assert_int_equal(props_set_pair(p, kv), 0);
    va_end(ap);
    assert_int_equal(store_topic_create(s, name, parts, p, NULL), 0);
    props_free(p);
    return store_topic_get(s, name);
}

/* What the streams must show: every appended batch's rendering, in order. */
struct model {
    struct writer topic;   /* the topic stream */
    struct writer part[4]; /* each partition's stream */
    int64_t base[4096];    /* per batch: partition offset ... */
    int32_t bpart[4096];   /* ... partition ... */
    int64_t bpos[4096];    /* ... and position in its partition stream */
    int64_t tpos[4096];    /* ... and in the topic stream */
    int n;
};

static void model_init(struct model *m)
{
    memset(m, 0, sizeof *m);
    writer_init(&m->topic, 1u << 30);
    for (int i = 0; i < 4; i++)
        writer_init(&m->part[i], 1u << 30);
}

static void model_release(struct model *m)
{
    writer_release(&m->topic);
    for (int i = 0; i < 4; i++)
        writer_release(&m->part[i]);
}

/* Append a batch of n records to partition q: values "<tag>-<i>" padded to a
 * random length, some null; keys "k<i % 5>" when keyed. */
static void append_batch(struct model *m, struct store_topic *t, int q, int n, enum codec codec,
                         bool keyed, const char *tag)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, codec, 64u << 20);
    writer_init(&w, 64u << 20);
    m->bpart[m->n] = q;
    m->bpos[m->n] = (int64_t)m->part[q].len;
    m->tpos[m->n] = (int64_t)m->topic.len;
    for (int i = 0; i < n; i++) {
        char v[600], k[16];
        int len = snprintf(v, sizeof v, "%s-%d-", tag, i);
        int pad = (int)rnd(3) == 0 ? (int)rnd(500) : (int)rnd(20);
        memset(v + len, 'a' + (char)rnd(26), (size_t)pad);
        len += pad;
        bool null = rnd(17) == 0;
        snprintf(k, sizeof k, "k%d", i % 5);
        assert_int_equal(batch_builder_add(&b, clock_wall_ms(), keyed ? k : NULL, keyed ? 2 : -1,
                                           null ? NULL : v, null ? -1 : len, NULL, 0),
                         0);
        if (!null) {
            writer_bytes(&m->topic, v, (size_t)len);
            writer_bytes(&m->part[q], v, (size_t)len);
        }
        writer_u8(&m->topic, '\n');
        writer_u8(&m->part[q], '\n');
    }
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    struct store_append res;
    assert_int_equal(store_partition_append(store_topic_partition(t, q), w.buf, w.len, &res), 0);
    m->base[m->n++] = res.base_offset;
    batch_builder_release(&b);
    writer_release(&w);
}

/* Read a whole stream sequentially in reads of `step` bytes. */
static uint8_t *read_all(struct store_topic *t, int32_t part, struct fs_jindex *jx, size_t step,
                         size_t *len)
{
    struct fs_stream *st = malloc(sizeof *st);
    fs_stream_init(st, t, part, jx);
    size_t cap = 1 << 16, n = 0;
    uint8_t *out = malloc(cap);
    for (;;) {
        if (n + step > cap)
            out = realloc(out, cap = (n + step) * 2);
        ssize_t k = fs_stream_read(st, (int64_t)n, out + n, step);
        assert_true(k >= 0);
        if (k == 0)
            break;
        n += (size_t)k;
    }
    fs_stream_release(st);
    free(st);
    *len = n;
    return out;
}

static void assert_stream(struct store_topic *t, int32_t part, struct fs_jindex *jx,
                          const struct writer *want)
{
    static const size_t steps[] = {1, 7, 100, 4096, 1 << 20};
    assert_int_equal(fs_stream_size(t, part), (int64_t)want->len);
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        if (steps[i] == 1 && want->len > 200000)
            continue;
        size_t n;
        uint8_t *got = read_all(t, part, jx, steps[i], &n);
        assert_int_equal(n, want->len);
        assert_memory_equal(got, want->buf, n);
        free(got);
    }
}

/* Reads at random offsets, each with a fresh reader and with one reused. */
static void assert_random_reads(struct store_topic *t, int32_t part, struct fs_jindex *jx,
                                const struct writer *want, int count)
{
    struct fs_stream *st = malloc(sizeof *st);
    fs_stream_init(st, t, part, jx);
    uint8_t buf[700];
    for (int i = 0; i < count && want->len; i++) {
        int64_t off = rnd((uint32_t)want->len);
        size_t size = 1 + rnd(sizeof buf - 1);
        size_t expect = want->len - (size_t)off < size ? want->len - (size_t)off : size;
        ssize_t k = fs_stream_read(st, off, buf, size);
        assert_int_equal(k, (ssize_t)expect);
        assert_memory_equal(buf, want->buf + off, expect);
    }
    fs_stream_release(st);
    free(st);
}

/* ---- the line assembler ---- */

struct collected {
    char lines[64][64];
    int n;
};

/* One write through the assembler with every line stored. */
static int feed(struct fs_lines *l, const char *in, struct collected *c)
{
    size_t n = strlen(in), pos = 0, len;
    const uint8_t *line;
    int rc = fs_lines_check(l, (const uint8_t *)in, n);
    if (rc)
        return rc;
    while (fs_lines_next(l, (const uint8_t *)in, n, &pos, &line, &len) == 1) {
        memcpy(c->lines[c->n], line, len);
        c->lines[c->n++][len] = '\0';
    }
    return (int)fs_lines_done(l, (const uint8_t *)in, n, pos, true);
}

static void test_lines_every_split(void **state)
{
    (void)state;
    const char *text = "a\nbb\n\nccc\ndddd";
    size_t n = strlen(text);
    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            char p1[32] = {0}, p2[32] = {0}, p3[32] = {0};
            memcpy(p1, text, i);
            memcpy(p2, text + i, j - i);
            memcpy(p3, text + j, n - j);
            struct fs_lines l;
            struct collected c = {.n = 0};
            fs_lines_init(&l, 100, NULL);
            assert_int_equal(feed(&l, p1, &c), (int)i);
            assert_int_equal(feed(&l, p2, &c), (int)(j - i));
            assert_int_equal(feed(&l, p3, &c), (int)(n - j));
            assert_int_equal(c.n, 4);
            assert_string_equal(c.lines[0], "a");
            assert_string_equal(c.lines[1], "bb");
            assert_string_equal(c.lines[2], "");
            assert_string_equal(c.lines[3], "ccc");
            const uint8_t *rest;
            size_t len;
            assert_true(fs_lines_take(&l, &rest, &len));
            assert_int_equal(len, 4);
            assert_memory_equal(rest, "dddd", 4);
            assert_false(fs_lines_take(&l, &rest, &len));
            fs_lines_release(&l);
        }
}

static void test_lines_overlong(void **state)
{
    (void)state;
    struct fs_lines l;
    struct collected c = {.n = 0};
    const uint8_t *rest;
    size_t len;
    fs_lines_init(&l, 5, NULL);
    assert_int_equal(feed(&l, "12345\n", &c), 6); /* exactly max: fine */
    assert_int_equal(feed(&l, "123456\n", &c), -EFBIG);
    assert_int_equal(feed(&l, "ok\n", &c), 3); /* ended with the newline: clean */
    assert_int_equal(feed(&l, "1234", &c), 4);
    assert_int_equal(feed(&l, "56", &c), -EFBIG);      /* held + new > max */
    assert_int_equal(feed(&l, "7\nab\n", &c), -EFBIG); /* the rest of that line */
    assert_int_equal(feed(&l, "cd\n", &c), 3);
    assert_int_equal(feed(&l, "x\n123456", &c), -EFBIG); /* a trailing overlong piece */
    assert_int_equal(feed(&l, "\n", &c), -EFBIG);
    assert_int_equal(feed(&l, "y", &c), 1);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "12345");
    assert_string_equal(c.lines[1], "ok");
    assert_string_equal(c.lines[2], "cd");
    assert_true(fs_lines_take(&l, &rest, &len));
    assert_int_equal(len, 1);
    /* an overlong partial line is never handed out at release */
    assert_int_equal(feed(&l, "1234567", &c), -EFBIG);
    assert_false(fs_lines_take(&l, &rest, &len));
    fs_lines_release(&l);
}

/* Hold n bytes of 'a' without a newline: the assembler's answer. */
static int hold(struct fs_lines *l, size_t n)
{
    uint8_t *in = malloc(n);
    assert_non_null(in);
    memset(in, 'a', n);
    int rc = fs_lines_check(l, in, n);
    if (!rc)
        rc = (int)fs_lines_done(l, in, n, 0, true);
    free(in);
    return rc;
}

static void test_lines_budget(void **state)
{
    (void)state;
    struct fs_budget b = {.max = 1 << 20};
    struct fs_lines x, y;
    struct collected c = {.n = 0};
    const uint8_t *line;
    size_t len;
    fs_lines_init(&x, 1 << 20, &b);
    fs_lines_init(&y, 1 << 20, &b);
    assert_int_equal(hold(&x, 600 << 10), 600 << 10);
    assert_int_equal(feed(&y, "abc", &c), 3);
    /* together past the budget: refused, y keeps what it held */
    assert_int_equal(hold(&y, 600 << 10), -ENOBUFS);
    assert_int_equal(y.len, 3);
    assert_true(atomic_load(&b.used) <= b.max);
    /* x's line is stored: its buffer goes back, and y's retry fits */
    size_t pos = 0;
    assert_int_equal(fs_lines_check(&x, (const uint8_t *)"\nab", 3), 0);
    assert_int_equal(fs_lines_next(&x, (const uint8_t *)"\nab", 3, &pos, &line, &len), 1);
    assert_int_equal(len, 600 << 10);
    assert_int_equal(fs_lines_done(&x, (const uint8_t *)"\nab", 3, pos, true), 3);
    assert_int_equal(x.cap, FS_LINES_KEEP); /* "ab" is held in a small buffer again */
    assert_memory_equal(x.buf, "ab", 2);
    assert_int_equal(hold(&y, 600 << 10), 600 << 10);
    assert_true(fs_lines_take(&y, &line, &len));
    assert_int_equal(len, (600 << 10) + 3);
    fs_lines_release(&y); /* closed */
    assert_int_equal(atomic_load(&b.used), FS_LINES_KEEP);
    /* a writer that gives up after a refusal stores nothing cut short */
    assert_int_equal(hold(&x, 600 << 10), 600 << 10);
    assert_int_equal(hold(&y, 600 << 10), -ENOBUFS);
    assert_false(fs_lines_take(&y, &line, &len));
    fs_lines_release(&x);
    fs_lines_release(&y);
    assert_int_equal(atomic_load(&b.used), 0);
}

static void test_lines_short_store(void **state)
{
    (void)state;
    struct fs_lines l;
    struct collected c = {.n = 0};
    const uint8_t *line;
    size_t pos = 0, len;
    fs_lines_init(&l, 100, NULL);
    assert_int_equal(feed(&l, "he", &c), 2);
    const char *in = "ld\nb\nc\ntail";
    size_t n = strlen(in);
    /* the store failed before anything: the held bytes stay, nothing is taken */
    assert_int_equal(fs_lines_check(&l, (const uint8_t *)in, n), 0);
    assert_int_equal(fs_lines_next(&l, (const uint8_t *)in, n, &pos, &line, &len), 1);
    assert_int_equal(len, 4);
    assert_memory_equal(line, "held", 4);
    assert_int_equal(fs_lines_done(&l, (const uint8_t *)in, n, 0, false), 0);
    /* retried: the first two lines stored, then a failure: a short write of 5 */
    pos = 0;
    assert_int_equal(fs_lines_check(&l, (const uint8_t *)in, n), 0);
    assert_int_equal(fs_lines_next(&l, (const uint8_t *)in, n, &pos, &line, &len), 1);
    assert_memory_equal(line, "held", 4);
    assert_int_equal(fs_lines_next(&l, (const uint8_t *)in, n, &pos, &line, &len), 1);
    assert_int_equal(fs_lines_done(&l, (const uint8_t *)in, n, pos, false), 5);
    /* the writer retries the rest */
    assert_int_equal(feed(&l, in + 5, &c), (int)(n - 5));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.lines[0], "c");
    assert_true(fs_lines_take(&l, &line, &len));
    assert_memory_equal(line, "tail", 4);
    fs_lines_release(&l);
}

/* ---- rendering ---- */

static void test_line_batch_size(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 63, 64, 127, 128, 8191, 8192, 1 << 20};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint8_t *v = calloc(1, lens[i] + 1);
        struct batch_builder b;
        struct writer w;
        batch_builder_init(&b, CODEC_NONE, 64u << 20);
        writer_init(&w, 64u << 20);
        assert_int_equal(
            batch_builder_add(&b, 1700000000000, NULL, -1, v, (int32_t)lens[i], NULL, 0), 0);
        assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
        assert_int_equal(fs_line_batch_size(lens[i]), w.len);
        batch_builder_release(&b);
        writer_release(&w);
        free(v);
    }
    static const int64_t maxes[] = {100, 1000, 1048588, 200000};
    for (size_t i = 0; i < sizeof maxes / sizeof *maxes; i++) {
        size_t m = fs_line_max(maxes[i]);
        assert_true(fs_line_batch_size(m) <= (size_t)maxes[i]);
        assert_true(fs_line_batch_size(m + 1) > (size_t)maxes[i]);
    }
    assert_int_equal(fs_line_max(1000), 930);
    assert_int_equal(fs_line_max(10), 0);
}

/* ---- names ---- */

static void test_names(void **state)
{
    (void)state;
    size_t tlen;
    int32_t part;
    assert_true(fs_pdir_parse("orders-12", &tlen, &part));
    assert_int_equal(tlen, 6);
    assert_int_equal(part, 12);
    assert_true(fs_pdir_parse("a-b-0", &tlen, &part)); /* the last dash splits */
    assert_int_equal(tlen, 3);
    assert_int_equal(part, 0);
    assert_true(fs_pdir_parse("x-999999999", &tlen, &part));
    assert_int_equal(part, 999999999);
    static const char *const not_pdirs[] = {"orders", "-3",   "x-",           "x-01",
                                            "x-+1",   "x- 1", "x-1000000000", "x-1a"};
    for (size_t i = 0; i < sizeof not_pdirs / sizeof *not_pdirs; i++)
        assert_false(fs_pdir_parse(not_pdirs[i], &tlen, &part));

    int64_t base;
    enum fs_kind kind;
    assert_true(fs_segment_name_parse("00000000000000004711.index", &base, &kind));
    assert_int_equal(base, 4711);
    assert_int_equal(kind, FS_SEG_INDEX);
    /* every base offset an int64 holds, INT64_MAX included, and none past it */
    assert_true(fs_segment_name_parse("09223372036854775807.timeindex", &base, &kind));
    assert_true(base == INT64_MAX && kind == FS_SEG_TIMEINDEX);
    assert_true(fs_segment_name_parse("09223372036854775799.log", &base, &kind));
    assert_true(base == INT64_MAX - 8 && kind == FS_SEG_LOG);
    static const char *const not_segments[] = {
        "09223372036854775808.log",     "99999999999999999999.log", "0000000000000000001.log",
        "000000000000000000001.log",    "+0000000000000000001.log", "00000000000000000001.lo",
        "00000000000000000001.log.swap"};
    for (size_t i = 0; i < sizeof not_segments / sizeof *not_segments; i++)
        assert_false(fs_segment_name_parse(not_segments[i], &base, &kind));
}

static void test_utf8_and_base64(void **state)
{
    (void)state;
    static const char *const good[] = {
        "", "plain", "h\xc3\xa9llo", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xef\xbf\xbf", "a\0b"};
    static const char *const bad[] = {
        "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",     "\xe2\x82",
        "\x80",     "\xff",         "\xf8\x88\x80\x80\x80", "ok\xc3"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(fs_utf8_valid((const uint8_t *)good[i], i == 6 ? 3 : strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(fs_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])));
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof *vec; i++) {
        struct writer w;
        writer_init(&w, 1024);
        fs_base64(&w, (const uint8_t *)vec[i][0], strlen(vec[i][0]));
        writer_u8(&w, 0);
        assert_string_equal((const char *)w.buf, vec[i][1]);
        writer_release(&w);
    }
}

static void test_json_record(void **state)
{
    (void)state;
    struct batch_builder b;
    struct writer w, out;
    struct batch_iter it;
    struct record r;
    const struct record_header h[] = {{(const uint8_t *)"h", 1, (const uint8_t *)"v", 1},
                                      {(const uint8_t *)"bin", 3, (const uint8_t *)"\xff", 1},
                                      {(const uint8_t *)"nul", 3, NULL, -1}};
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    writer_init(&w, 1 << 20);
    writer_init(&out, 1 << 20);
    assert_int_equal(batch_builder_add(&b, 123, "k\"1\\", 4, "x\ny\t\x01/\xc3\xa9", 8, h, 3), 0);
    assert_int_equal(batch_builder_add(&b, 124, NULL, -1, NULL, -1, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(batch_iter_init(&it, w.buf, w.len, NULL, true), 0);
    while (batch_iter_next(&it, &r) == 1)
        assert_int_equal(fs_json_record(&out, &r), 0);
    writer_u8(&out, 0);
    assert_string_equal(
        (const char *)out.buf,
        "{\"offset\":0,\"timestamp\":123,\"key\":\"k\\\"1\\\\\",\"headers\":["
        "{\"key\":\"h\",\"value\":\"v\"},{\"key\":\"bin\",\"value\":{\"base64\":"
        "\"/w==\"}},{\"key\":\"nul\",\"value\":null}],\"value\":\"x\\ny\\t\\u0001/"
        "\xc3\xa9\"}\n"
        "{\"offset\":1,\"timestamp\":124,\"key\":null,\"headers\":[],\"value\":null}"
        "\n");
    batch_iter_release(&it);
    batch_builder_release(&b);
    writer_release(&w);
    writer_release(&out);
}

static void test_errno_table(void **state)
{
    (void)state;
    assert_int_equal(fs_errno(STORE_EINVALID_TOPIC), EINVAL);
    assert_int_equal(fs_errno(STORE_EINVALID_RECORD), EINVAL);
    assert_int_equal(fs_errno(STORE_EDELETE_DISABLED), EPERM);
    assert_int_equal(fs_errno(STORE_EFAILED), EIO);
    assert_int_equal(fs_errno(-EEXIST), EEXIST);
    assert_int_equal(fs_errno(-ENOSPC), ENOSPC);
    assert_int_equal(fs_errno(-EIO), EIO);
    assert_int_equal(fs_errno(-EMSGSIZE), EFBIG);
    assert_int_equal(fs_errno(-EBADMSG), EIO);
    assert_int_equal(fs_errno(STORE_EDUPLICATE_SEQ), EIO);
}

/* ---- streams over a store ---- */

static void test_streams_every_position(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir);
    struct store_topic *t = create_topic(s, "mix", 3, NULL);
    static struct model m;
    static const enum codec codecs[] = {CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4,
                                        CODEC_ZSTD};
    struct fs_jindex jx;
    fs_jindex_init(&jx);
    model_init(&m);
    /* partition 2 rarely written, so its entries sit far apart in the journal */
    for (int i = 0; i < 3000; i++) {
        int q = rnd(50) == 0 ? 2 : (int)rnd(2);
        int n = rnd(10) == 0 ? 1 + (int)rnd(40) : 1;
        append_batch(&m, t, q, n, codecs[rnd(5)], false, "v");
        if (i == 1500) { /* readers made half-way must see the rest too */
            assert_stream(t, -1, &jx, &m.topic);
            assert_stream(t, 1, &jx, &m.part[1]);
        }
    }
    assert_stream(t, -1, &jx, &m.topic);
    for (int q = 0; q < 3; q++) {
        assert_stream(t, q, &jx, &m.part[q]);
        assert_random_reads(t, q, &jx, &m.part[q], 300);
    }
    assert_random_reads(t, -1, &jx, &m.topic, 500);
    /* an empty topic and a read past the end */
    struct store_topic *e = create_topic(s, "empty", 1, NULL);
    struct fs_stream st;
    uint8_t buf[16];
    fs_stream_init(&st, e, -1, &jx);
    assert_int_equal(fs_stream_read(&st, 0, buf, sizeof buf), 0);
    assert_true(fs_stream_at_end(&st, 0));
    fs_stream_release(&st);
    fs_stream_init(&st, t, -1, &jx);
    assert_int_equal(fs_stream_read(&st, (int64_t)m.topic.len + 5, buf, sizeof buf), 0);
    assert_false(fs_stream_at_end(&st, 0));
    fs_stream_release(&st);
    store_topic_put(e);
    fs_jindex_release(&jx);
    model_release(&m);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_streams_survive_restart(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir);
    struct store_topic *t = create_topic(s, "r", 2, NULL);
    static struct model m;
    struct fs_jindex jx;
    model_init(&m);
    for (int i = 0; i < 200; i++)
        append_batch(&m, t, (int)rnd(2), 1 + (int)rnd(3), CODEC_NONE, false, "r");
    store_topic_put(t);
    store_close(s);
    s = open_store(dir);
    t = store_topic_get(s, "r");
    fs_jindex_init(&jx);
    assert_stream(t, -1, &jx, &m.topic);
    assert_stream(t, 0, &jx, &m.part[0]);
    assert_stream(t, 1, &jx, &m.part[1]);
    fs_jindex_release(&jx);
    model_release(&m);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The model's stream from the first batch of partition q at or after offset. */
static int64_t live_from(const struct model *m, int q, int64_t offset, bool topic)
{
    for (int i = 0; i < m->n; i++)
        if (m->bpart[i] == q && m->base[i] >= offset)
            return topic ? m->tpos[i] : m->bpos[i];
    return topic ? (int64_t)m->topic.len : (int64_t)m->part[q].len;
}

static void test_streams_after_retention(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir);
    struct store_topic *t =
        create_topic(s, "ret", 1, "internal.segment.bytes=2048", "retention.bytes=4096", NULL);
    struct store_partition *p = store_topic_partition(t, 0);
    static struct model m;
    struct fs_jindex jx;
    struct fs_stream *early = malloc(sizeof *early), *part = malloc(sizeof *part);
    uint8_t buf[64];
    model_init(&m);
    fs_jindex_init(&jx);
    for (int i = 0; i < 5; i++)
        append_batch(&m, t, 0, 1, CODEC_NONE, false, "early");
    /* readers stopped inside the first record, of the topic and of partition 0 */
    fs_stream_init(early, t, -1, &jx);
    fs_stream_init(part, t, 0, &jx);
    assert_int_equal(fs_stream_read(early, 0, buf, 3), 3);
    assert_int_equal(fs_stream_read(part, 0, buf, 3), 3);
    for (int i = 0; i < 3000; i++)
        append_batch(&m, t, 0, 1, CODEC_NONE, false, "later");
    assert_true(store_run_retention(s) > 0);
    int64_t total, first;
    store_journal_read(t, 0, NULL, 0, &total, &first);
    assert_true(first > 0); /* the journal dropped entries of deleted batches too */
    assert_int_equal(fs_stream_size(t, -1), (int64_t)m.topic.len);

    /* a fresh reader starts at the first live byte */
    int64_t live = live_from(&m, 0, store_partition_log_start(p), true);
    struct writer want;
    writer_init(&want, 1u << 30);
    writer_bytes(&want, m.topic.buf + live, m.topic.len - (size_t)live);
    size_t n;
    uint8_t *got = read_all(t, -1, &jx, 1000, &n);
    assert_int_equal(n, want.len);
    assert_memory_equal(got, want.buf, n);
    free(got);
    got = read_all(t, 0, &jx, 333, &n);
    assert_int_equal(n, want.len);
    assert_memory_equal(got, want.buf, n);
    free(got);
    /* reads at live positions give the bytes at those positions */
    for (int i = 0; i < 200; i++) {
        int64_t off = live + rnd((uint32_t)((int64_t)m.topic.len - live));
        struct fs_stream st;
        fs_stream_init(&st, t, i % 2 ? -1 : 0, &jx);
        ssize_t k = fs_stream_read(&st, off, buf, sizeof buf);
        assert_true(k > 0);
        assert_memory_equal(buf, m.topic.buf + off, (size_t)k);
        fs_stream_release(&st);
    }
    /* the positioned readers finish their record, then continue at the first live
     * byte: no repeats, no gaps */
    const char *nl = memchr(m.topic.buf + 3, '\n', m.topic.len);
    size_t rest = (size_t)(nl - (const char *)m.topic.buf) + 1 - 3;
    for (struct fs_stream *st = early; st; st = st == early ? part : NULL) {
        struct writer seen;
        writer_init(&seen, 1u << 30);
        for (int64_t off = 3;;) {
            uint8_t big[4096];
            ssize_t k = fs_stream_read(st, off, big, sizeof big);
            assert_true(k >= 0);
            if (k == 0)
                break;
            writer_bytes(&seen, big, (size_t)k);
            off += k;
        }
        assert_int_equal(seen.len, rest + want.len);
        assert_memory_equal(seen.buf, m.topic.buf + 3, rest);
        assert_memory_equal(seen.buf + rest, want.buf, want.len);
        writer_release(&seen);
        fs_stream_release(st);
    }
    free(early);
    free(part);
    writer_release(&want);
    fs_jindex_release(&jx);
    model_release(&m);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The values of every record of p now, each with "\n". */
static void partition_values(struct store_partition *p, struct writer *out)
{
    int64_t off = store_partition_log_start(p);
    for (;;) {
        struct store_slice sl;
        assert_int_equal(store_partition_read(p, off, 1 << 20, &sl), 0);
        if (sl.len == 0)
            break;
        uint8_t *b = malloc((size_t)sl.len);
        assert_int_equal(pread(sl.fd, b, (size_t)sl.len, sl.pos), sl.len);
        for (size_t at = 0; at < (size_t)sl.len;) {
            struct batch_header h;
            assert_int_equal(batch_header_parse(b + at, (size_t)sl.len - at, &h), 0);
            size_t size = BATCH_LOG_OVERHEAD + (size_t)h.length;
            struct batch_iter it;
            struct record rec;
            assert_int_equal(batch_iter_init(&it, b + at, size, NULL, false), 0);
            while (batch_iter_next(&it, &rec) == 1) {
                if (rec.value_len > 0)
                    writer_bytes(out, rec.value, (size_t)rec.value_len);
                writer_u8(out, '\n');
            }
            batch_iter_release(&it);
            at += size;
        }
        off = sl.next_offset;
        store_slice_release(&sl);
        free(b);
    }
}

static void test_streams_after_compaction(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir);
    struct store_topic *t =
        create_topic(s, "cmp", 1, "cleanup.policy=compact", "internal.segment.bytes=4096", NULL);
    struct store_partition *p = store_topic_partition(t, 0);
    static struct model m;
    struct fs_jindex jx;
    model_init(&m);
    fs_jindex_init(&jx);
    for (int i = 0; i < 300; i++)
        append_batch(&m, t, 0, 1 + (int)rnd(6), i % 3 ? CODEC_NONE : CODEC_LZ4, true, "c");
    assert_stream(t, -1, &jx, &m.topic);
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    assert_true(store_partition_compact(p) >= 0);
    struct writer want;
    writer_init(&want, 1u << 30);
    partition_values(p, &want);
    assert_true(want.len < m.topic.len);
    /* positions stay (the size counts what was appended); reading shows what is left */
    assert_int_equal(fs_stream_size(t, -1), (int64_t)m.topic.len);
    size_t n;
    for (int32_t q = -1; q <= 0; q++) {
        uint8_t *got = read_all(t, q, &jx, 777, &n);
        assert_int_equal(n, want.len);
        assert_memory_equal(got, want.buf, n);
        free(got);
    }
    writer_release(&want);
    fs_jindex_release(&jx);
    model_release(&m);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_records_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir);
    struct store_topic *t = create_topic(s, "rec", 1, NULL);
    struct store_partition *p = store_topic_partition(t, 0);
    static struct model m;
    model_init(&m);
    for (int i = 0; i < 50; i++)
        append_batch(&m, t, 0, 1 + (int)rnd(20), i % 2 ? CODEC_ZSTD : CODEC_NONE, true, "j");
    struct fs_records r;
    fs_records_init(&r, p);
    struct writer all;
    writer_init(&all, 1u << 30);
    uint8_t buf[1000];
    for (ssize_t k; (k = fs_records_read(&r, (int64_t)all.len, buf, 1 + rnd(sizeof buf))) > 0;)
        writer_bytes(&all, buf, (size_t)k);
    /* one line per record, offsets 0.. in order */
    int64_t next = 0;
    for (const uint8_t *at = all.buf; at < all.buf + all.len; next++) {
        char want[64];
        int k = snprintf(want, sizeof want, "{\"offset\":%lld,", (long long)next);
        assert_memory_equal(at, want, (size_t)k);
        at = (const uint8_t *)memchr(at, '\n', (size_t)(all.buf + all.len - at)) + 1;
    }
    assert_int_equal(next, store_partition_high_watermark(p));
    /* a read elsewhere renders again from the start */
    for (int i = 0; i < 20; i++) {
        int64_t off = rnd((uint32_t)all.len);
        ssize_t k = fs_records_read(&r, off, buf, sizeof buf);
        assert_true(k > 0);
        assert_memory_equal(buf, all.buf + off, (size_t)k);
    }
    assert_int_equal(fs_records_read(&r, (int64_t)all.len, buf, sizeof buf), 0);
    writer_release(&all);
    fs_records_release(&r);
    model_release(&m);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_every_split),
        cmocka_unit_test(test_lines_overlong),
        cmocka_unit_test(test_lines_short_store),
        cmocka_unit_test(test_lines_budget),
        cmocka_unit_test(test_line_batch_size),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_utf8_and_base64),
        cmocka_unit_test(test_json_record),
        cmocka_unit_test(test_errno_table),
        cmocka_unit_test(test_streams_every_position),
        cmocka_unit_test(test_streams_survive_restart),
        cmocka_unit_test(test_streams_after_retention),
        cmocka_unit_test(test_streams_after_compaction),
        cmocka_unit_test(test_records_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
