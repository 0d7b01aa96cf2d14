/*
 * test_lib.c - lib/: reader, writer, varints, CRC-32C, properties, file helpers, log.
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

#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/hmap.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "lib/xalloc.h"

static void test_crc32c_check_value(void **state)
{
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_portable(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
}

static void test_crc32c_hw_matches_portable(void **state)
{
    uint8_t buf[4099];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    /* every length and alignment up to a few words, then chained pieces */
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n < 70; n++)
            assert_int_equal(crc32c(0, buf + off, n), crc32c_portable(0, buf + off, n));
    uint32_t whole = crc32c(0, buf, sizeof buf);
    uint32_t chained = crc32c(crc32c(0, buf, 1000), buf + 1000, sizeof buf - 1000);
    assert_int_equal(whole, chained);
    assert_int_equal(whole, crc32c_portable(0, buf, sizeof buf));
    /* long inputs take the three-stream paths: around and across their part sizes */
    size_t big = 200000;
    uint8_t *b = malloc(big);
    assert_non_null(b);
    uint32_t x = 12345;
    for (size_t i = 0; i < big; i++) {
        x = x * 1103515245 + 12345;
        b[i] = (uint8_t)(x >> 16);
    }
    const size_t lens[] = {767, 768, 769, 24575, 24576, 24577, 24576 + 768 + 13, 100000, big};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (size_t off = 0; off < 3; off++) {
            size_t n = lens[i] - off;
            assert_int_equal(crc32c(0, b + off, n), crc32c_portable(0, b + off, n));
            assert_int_equal(crc32c(0x1234, b + off, n), crc32c_portable(0x1234, b + off, n));
        }
    free(b);
}

static void test_reader_ints(void **state)
{
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                         0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    struct reader r;
    reader_init(&r, b, sizeof b);
    assert_int_equal(reader_u8(&r), 0x01);
    assert_int_equal(reader_be16(&r), 0x0203);
    assert_int_equal(reader_be32(&r), 0x04050607);
    assert_true(reader_be64(&r) == 0x08090a0b0c0d0e0fULL);
    assert_true(reader_ok(&r));
    assert_int_equal(reader_left(&r), 0);
    assert_int_equal(reader_u8(&r), 0);
    assert_int_equal(r.err, -EBADMSG);
    /* sticky: later reads return zero even if they would fit in a fresh reader */
    assert_int_equal(reader_be16(&r), 0);
}

static void test_reader_short_at_every_split(void **state)
{
    struct writer w;
    writer_init(&w, 1024);
    writer_be32(&w, 7);
    writer_varint(&w, -300);
    writer_varlong(&w, INT64_MIN);
    writer_bytes(&w, "abc", 3);
    assert_true(writer_ok(&w));
    for (size_t cut = 0; cut < w.len; cut++) {
        struct reader r;
        reader_init(&r, w.buf, cut);
        (void)reader_be32(&r);
        (void)reader_varint(&r);
        (void)reader_varlong(&r);
        (void)reader_bytes(&r, 3);
        assert_false(reader_ok(&r));
    }
    struct reader r;
    reader_init(&r, w.buf, w.len);
    assert_int_equal(reader_be32(&r), 7);
    assert_int_equal(reader_varint(&r), -300);
    assert_true(reader_varlong(&r) == INT64_MIN);
    assert_memory_equal(reader_bytes(&r, 3), "abc", 3);
    assert_true(reader_ok(&r));
    writer_release(&w);
}

static void test_varint_boundaries(void **state)
{
    const int32_t v32[] = {0, 1, -1, 63, -64, 64, -65, 8191, -8192, INT32_MAX, INT32_MIN};
    const int64_t v64[] = {0, -1, 1, INT64_MAX, INT64_MIN, (int64_t)1 << 35, -((int64_t)1 << 35)};
    struct writer w;
    writer_init(&w, 4096);
    for (size_t i = 0; i < sizeof v32 / sizeof *v32; i++) {
        size_t before = w.len;
        writer_varint(&w, v32[i]);
        assert_int_equal(w.len - before, varint_size(v32[i]));
    }
    for (size_t i = 0; i < sizeof v64 / sizeof *v64; i++) {
        size_t before = w.len;
        writer_varlong(&w, v64[i]);
        assert_int_equal(w.len - before, varlong_size(v64[i]));
    }
    struct reader r;
    reader_init(&r, w.buf, w.len);
    for (size_t i = 0; i < sizeof v32 / sizeof *v32; i++)
        assert_int_equal(reader_varint(&r), v32[i]);
    for (size_t i = 0; i < sizeof v64 / sizeof *v64; i++)
        assert_true(reader_varlong(&r) == v64[i]);
    assert_true(reader_ok(&r));
    /* Kafka's zigzag: 0->0, -1->1, 1->2, -2->3 */
    uint8_t one;
    writer_reset(&w);
    writer_varint(&w, -2);
    one = w.buf[0];
    assert_int_equal(one, 3);
    writer_release(&w);
}

static void test_varint_too_long(void **state)
{
    /* six bytes for a 32-bit varint is an error, as is a fifth byte with bits past 32 */
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t big5[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    const uint8_t max5[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    struct reader r;
    reader_init(&r, six, sizeof six);
    (void)reader_varint(&r);
    assert_int_equal(r.err, -EBADMSG);
    reader_init(&r, big5, sizeof big5);
    (void)reader_uvarint(&r);
    assert_int_equal(r.err, -EBADMSG);
    reader_init(&r, max5, sizeof max5);
    assert_int_equal(reader_uvarint(&r), UINT32_MAX);
    assert_true(reader_ok(&r));
    reader_init(&r, eleven, sizeof eleven);
    (void)reader_varlong(&r);
    assert_int_equal(r.err, -EBADMSG);
}

static void test_reader_sub(void **state)
{
    const uint8_t b[] = {0, 0, 0, 2, 'h', 'i', 9};
    struct reader r;
    reader_init(&r, b, sizeof b);
    uint32_t n = reader_be32(&r);
    struct reader s = reader_sub(&r, n);
    assert_int_equal(reader_left(&s), 2);
    assert_int_equal(reader_u8(&s), 'h');
    assert_int_equal(reader_u8(&r), 9);
    struct reader bad = reader_sub(&r, 5);
    assert_false(reader_ok(&bad));
    assert_false(reader_ok(&r));
    assert_int_equal(reader_left(&bad), 0);
}

static void test_writer_max_and_backpatch(void **state)
{
    struct writer w;
    writer_init(&w, 10);
    size_t pos = writer_reserve(&w, 4);
    writer_bytes(&w, "abcd", 4);
    writer_set_be32(&w, pos, (uint32_t)(w.len - pos - 4));
    assert_true(writer_ok(&w));
    assert_memory_equal(w.buf, "\0\0\0\4abcd", 8);
    writer_bytes(&w, "xyz", 3); /* 11 > 10 */
    assert_int_equal(w.err, -EMSGSIZE);
    assert_int_equal(w.len, 8);
    size_t len;
    assert_null(writer_detach(&w, &len));
    writer_release(&w);

    uint8_t fixed[4];
    writer_init_fixed(&w, fixed, sizeof fixed);
    writer_be32(&w, 0x01020304);
    assert_true(writer_ok(&w));
    writer_u8(&w, 1);
    assert_int_equal(w.err, -EMSGSIZE);
    assert_memory_equal(fixed, "\1\2\3\4", 4);
}

static void test_writer_grows(void **state)
{
    struct writer w;
    writer_init(&w, 1 << 20);
    for (int i = 0; i < 100000; i++)
        writer_be32(&w, (uint32_t)i);
    assert_true(writer_ok(&w));
    assert_int_equal(w.len, 400000);
    struct reader r;
    reader_init(&r, w.buf, w.len);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(reader_be32(&r), (uint32_t)i);
    size_t len;
    uint8_t *buf = writer_detach(&w, &len);
    assert_non_null(buf);
    assert_int_equal(len, 400000);
    free(buf);
    writer_release(&w);
}

static void test_props_parse(void **state)
{
    const char *text = "# a comment\n"
                       "! another\n"
                       "listeners=PLAINTEXT://127.0.0.1:9092\n"
                       "  log.dirs : /tmp/a\\\n"
                       "     b\n"
                       "num.partitions 3\n"
                       "empty=\n"
                       "esc=a\\tb\\u00e9\\\\\n"
                       "num.partitions=4\r\n";
    struct props *p = props_new();
    int line = 0;
    assert_int_equal(props_parse(p, text, strlen(text), &line), 0);
    assert_string_equal(props_get(p, "listeners"), "PLAINTEXT://127.0.0.1:9092");
    assert_string_equal(props_get(p, "log.dirs"), "/tmp/ab");
    assert_string_equal(props_get(p, "num.partitions"), "4");
    assert_string_equal(props_get(p, "empty"), "");
    assert_string_equal(props_get(p, "esc"), "a\tb\xc3\xa9\\");
    assert_null(props_get(p, "nope"));
    int64_t v;
    assert_int_equal(props_get_i64(p, "num.partitions", 1, 1, 100, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(props_get_i64(p, "num.partitions", 1, 5, 100, &v), -EINVAL);
    assert_int_equal(props_get_i64(p, "listeners", 1, 0, 100, &v), -EINVAL);
    assert_int_equal(props_get_i64(p, "absent", 42, 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(props_set_pair(p, "num.partitions=9"), 0);
    assert_string_equal(props_get(p, "num.partitions"), "9");
    assert_int_equal(props_set_pair(p, "=x"), -EINVAL);
    assert_int_equal(props_set_pair(p, "novalue"), -EINVAL);
    bool b;
    assert_int_equal(props_set(p, "flag", "TRUE"), 0);
    assert_int_equal(props_get_bool(p, "flag", false, &b), 0);
    assert_true(b);
    assert_int_equal(props_set(p, "flag", "yes"), 0);
    assert_int_equal(props_get_bool(p, "flag", false, &b), -EINVAL);
    props_free(p);

    p = props_new();
    assert_int_equal(props_parse(p, "ok=1\nbad=\\u12\n", 15, &line), -EINVAL);
    assert_int_equal(line, 2);
    props_free(p);
}

static void test_props_save_roundtrip(void **state)
{
    char dir[] = "/tmp/brook-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/t.properties", dir);
    struct props *p = props_new();
    props_set(p, "a key", "v=1: x");
    props_set(p, "nl", "line1\nline2");
    props_set(p, "lead", "  spaced");
    assert_int_equal(props_save(p, path), 0);
    struct props *q = props_new();
    assert_int_equal(props_load(q, path, NULL), 0);
    assert_int_equal(props_count(q), 3);
    assert_string_equal(props_get(q, "a key"), "v=1: x");
    assert_string_equal(props_get(q, "nl"), "line1\nline2");
    assert_string_equal(props_get(q, "lead"), "  spaced");
    props_free(p);
    props_free(q);
    assert_int_equal(props_load(q = props_new(), "/nonexistent/x", NULL), -ENOENT);
    props_free(q);
    unlink(path);
    rmdir(dir);
}

static void test_hmap(void **state)
{
    struct hmap m;
    hmap_init(&m);
    static int vals[5000];
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_int_equal(hmap_put(&m, key, strlen(key), &vals[i]), 0);
    }
    assert_int_equal(m.n, 5000);
    for (int i = 0; i < 5000; i += 2) { /* delete half, then look everything up */
        snprintf(key, sizeof key, "key-%d", i);
        assert_ptr_equal(hmap_del(&m, key, strlen(key)), &vals[i]);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_ptr_equal(hmap_get(&m, key, strlen(key)), i % 2 ? &vals[i] : NULL);
    }
    assert_int_equal(hmap_put(&m, "key-1", 5, &vals[0]), 0); /* replace */
    assert_ptr_equal(hmap_get(&m, "key-1", 5), &vals[0]);
    assert_int_equal(m.n, 2500);
    size_t pos = 0, n = 0, len;
    const void *k;
    void *v;
    while (hmap_next(&m, &pos, &k, &len, &v))
        n++;
    assert_int_equal(n, 2500);
    for (int round = 0; round < 20000; round++) { /* churn never fills it with tombstones */
        snprintf(key, sizeof key, "churn-%d", round);
        assert_int_equal(hmap_put(&m, key, strlen(key), &vals[1]), 0);
        assert_ptr_equal(hmap_del(&m, key, strlen(key)), &vals[1]);
    }
    assert_int_equal(m.n, 2500);
    hmap_release(&m);
}

/* A line logged with a peer's name in it: whatever the name holds, it stays one line
 * with its control characters escaped. */
/* stderr goes to a temporary file between capture_begin() and capture_end(), which
 * puts it back and leaves what was written, NUL-terminated, in buf. */
struct capture {
    char path[32];
    int fd, saved;
};

static void capture_begin(struct capture *c)
{
    strcpy(c->path, "/tmp/brook-log-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

static ssize_t capture_end(struct capture *c, char *buf, size_t size)
{
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    ssize_t n = pread(c->fd, buf, size - 1, 0);
    close(c->fd);
    unlink(c->path);
    assert_true(n > 0);
    buf[n] = 0;
    return n;
}

static void test_log_escapes_control_characters(void **state)
{
    struct capture cap;
    capture_begin(&cap);
    log_info("brook.test", "group %s joined",
             "g\n[2026-01-01 00:00:00,000] ERROR forged (brook.broker)\r\x1b[2J\x7f\tend");
    char buf[1024];
    ssize_t n = capture_end(&cap, buf, sizeof buf);
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    assert_int_equal(nl - buf, n - 1); /* one line */
    assert_non_null(strstr(buf, " INFO group g\\x0a[2026-01-01 00:00:00,000] ERROR forged "
                                "(brook.broker)\\x0d\\x1b[2J\\x7f\\x09end joined (brook.test)\n"));
    for (ssize_t i = 0; i < n - 1; i++)
        assert_true((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
}

/* A warning a peer can repeat at will: one call site writes LOG_EVERY_BURST lines per
 * window, and the first line of the next window says how many were left out. */
static void test_log_write_limited(void **state)
{
    struct capture cap;
    capture_begin(&cap);
    struct log_limit lim = {0};
    for (int i = 0; i < 1000; i++)
        log_write_limited(&lim, LOG_WARN, "brook.test", "refused %d", i);
    lim.window_ms -= LOG_EVERY_MS; /* as if the window had passed */
    log_write_limited(&lim, LOG_WARN, "brook.test", "refused again");
    char buf[4096];
    ssize_t n = capture_end(&cap, buf, sizeof buf);
    int lines = 0;
    for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    assert_int_equal(lines, LOG_EVERY_BURST + 1);
    assert_non_null(strstr(buf, " WARN refused 4 (brook.test)\n"));
    assert_null(strstr(buf, "refused 5 "));
    assert_non_null(strstr(buf, " WARN (995 more like this in the last "));
    assert_non_null(strstr(buf, "refused again (brook.test)\n"));
}

/* array_grow: nothing to do below the capacity, 16 items first, then doublings that
 * reach the need in one call, the contents kept. */
static void test_array_grow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(ARRAY_GROW(v, cap, 0), 0);
    assert_null(v);
    assert_int_equal(ARRAY_GROW(v, cap, 1), 0);
    assert_int_equal(cap, 16);
    for (int i = 0; i < 16; i++)
        v[i] = i;
    int *before = v;
    assert_int_equal(ARRAY_GROW(v, cap, 16), 0);
    assert_ptr_equal(v, before);
    assert_int_equal(ARRAY_GROW(v, cap, 17), 0);
    assert_int_equal(cap, 32);
    assert_int_equal(ARRAY_GROW(v, cap, 100), 0);
    assert_int_equal(cap, 128);
    for (int i = 0; i < 16; i++)
        assert_int_equal(v[i], i);
    free(v);
}

static void *realloc_refused(void *p, size_t n)
{
    (void)p, (void)n;
    return NULL;
}

/* Sizes that overflow and a reallocator that fails are -ENOMEM with the array as it
 * was: the caller still owns (and frees) the old one. */
static void test_array_grow_fails_cleanly(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(ARRAY_GROW(v, cap, 4), 0);
    v[3] = 42;
    uint64_t *before = v;
    assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX / 4), -ENOMEM);
    assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX), -ENOMEM);
    assert_int_equal(array_grow_using(realloc_refused, (void **)&v, &cap, 17, sizeof *v), -ENOMEM);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 16);
    assert_int_equal(v[3], 42);
    char *b = NULL;
    size_t bcap = SIZE_MAX / 2 + 2; /* a capacity that cannot double */
    assert_int_equal(array_grow((void **)&b, &bcap, SIZE_MAX, 1), -ENOMEM);
    assert_null(b);
    free(v);
}

/* The daemon's copies: NULL reads as "", a counted copy stops at its count and is
 * terminated, bytes are copied as they are. */
static void test_xalloc_copies(void **state)
{
    (void)state;
    char *a = xstrdup(NULL), *b = xstrndup(NULL, 5), *c = xstrndup("abcdef", 3);
    assert_string_equal(a, "");
    assert_string_equal(b, "");
    assert_string_equal(c, "abc");
    uint8_t raw[4] = {1, 0, 2, 0};
    uint8_t *d = xmemdup(raw, sizeof raw);
    assert_memory_equal(d, raw, sizeof raw);
    int *v = NULL;
    size_t cap = 0;
    XARRAY_GROW(v, cap, 40);
    assert_int_equal(cap, 64);
    free(a), free(b), free(c), free(d), free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_crc32c_hw_matches_portable),
        cmocka_unit_test(test_reader_ints),
        cmocka_unit_test(test_reader_short_at_every_split),
        cmocka_unit_test(test_varint_boundaries),
        cmocka_unit_test(test_varint_too_long),
        cmocka_unit_test(test_reader_sub),
        cmocka_unit_test(test_writer_max_and_backpatch),
        cmocka_unit_test(test_writer_grows),
        cmocka_unit_test(test_props_parse),
        cmocka_unit_test(test_props_save_roundtrip),
        cmocka_unit_test(test_hmap),
        cmocka_unit_test(test_log_escapes_control_characters),
        cmocka_unit_test(test_log_write_limited),
        cmocka_unit_test(test_array_grow),
        cmocka_unit_test(test_array_grow_fails_cleanly),
        cmocka_unit_test(test_xalloc_copies),
    };
    return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
