/*
 * storeutil.c - see storeutil.h.
 */
#include "tests/unit/storeutil.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fileio.h"
#include "lib/props.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "tests/unit/testutil.h"

struct store *tu_store_open(const char *dir, int64_t flush_ms)
{
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    c.flush_interval_ms = flush_ms;
    c.cleaner_enable = false; /* tests run the cleaner themselves */
    struct store *s = NULL;
    int rc = store_open(&c, &s);
    if (rc)
        fail_msg("store_open(%s): %s", dir, store_strerror(rc));
    return s;
}

void tu_topic_create(struct store *s, const char *name, int parts, ...)
{
    struct props *p = props_new();
    va_list ap;
    va_start(ap, parts);
    for (const char *kv; (kv = va_arg(ap, const char *));)
        assert_int_equal(props_set_pair(p, kv), 0);
    va_end(ap);
    const char *bad = NULL;
    int rc = store_topic_create(s, name, parts, p, &bad);
    if (rc)
        fail_msg("create %s: %s (%s)", name, store_strerror(rc), bad ? bad : "-");
    props_free(p);
}

int tu_read_all(struct store_partition *p, int64_t from, struct tu_rec *out, int max)
{
    int n = 0;
    int64_t hw = store_partition_high_watermark(p);
    while (from < hw) {
        struct store_slice sl;
        assert_int_equal(store_partition_read(p, from, 4096, &sl), 0);
        if (sl.len == 0)
            break;
        uint8_t *buf = malloc((size_t)sl.len);
        assert_non_null(buf);
        assert_int_equal(file_pread_all(sl.fd, buf, (size_t)sl.len, sl.pos), 0);
        for (size_t off = 0; off < (size_t)sl.len;) {
            size_t size;
            assert_int_equal(batch_frame(buf + off, (size_t)sl.len - off, 1u << 30, &size), 0);
            assert_int_equal(
                batch_validate(buf + off, size, &batch_limits_default, true, NULL, NULL), 0);
            struct batch_iter it;
            struct record r;
            assert_int_equal(batch_iter_init(&it, buf + off, size, &batch_limits_default, true), 0);
            int rc;
            while ((rc = batch_iter_next(&it, &r)) == 1) {
                if (r.offset < from)
                    continue;
                assert_true(n < max);
                struct tu_rec *o = &out[n++];
                memset(o, 0, sizeof *o);
                o->offset = r.offset;
                o->ts = r.timestamp;
                o->klen = r.key_len;
                o->vlen = r.value_len;
                if (r.key_len > 0)
                    memcpy(o->key, r.key, (size_t)r.key_len < 63 ? (size_t)r.key_len : 63);
                if (r.value_len > 0)
                    memcpy(o->value, r.value,
                           (size_t)r.value_len < 255 ? (size_t)r.value_len : 255);
            }
            assert_int_equal(rc, 0);
            batch_iter_release(&it);
            off += size;
        }
        free(buf);
        assert_true(sl.next_offset > from);
        from = sl.next_offset;
        store_slice_release(&sl);
    }
    return n;
}

int64_t tu_append(struct store_partition *p, int n, const char *keys, const char *vals, int first,
                  int64_t ts)
{
    struct writer w;
    writer_init(&w, 64u << 20);
    tu_batch(&w, n, keys, vals, first, ts);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    if (rc)
        fail_msg("append: %s", store_strerror(rc));
    writer_release(&w);
    return res.base_offset;
}

int64_t tu_append_kv(struct store_partition *p, const char *key, const char *value, int64_t ts)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    writer_init(&w, 1 << 20);
    assert_int_equal(batch_builder_add(&b, ts, key, (int32_t)strlen(key), value,
                                       value ? (int32_t)strlen(value) : -1, NULL, 0),
                     0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    if (rc)
        fail_msg("append_kv: %s", store_strerror(rc));
    batch_builder_release(&b);
    writer_release(&w);
    return res.base_offset;
}

void tu_path(char *buf, size_t size, const char *dir, const char *rest)
{
    snprintf(buf, size, "%s/%s", dir, rest);
}

void tu_forget_clean_shutdown(const char *dir)
{
    char path[4096];
    tu_path(path, sizeof path, dir, ".brook_cleanshutdown");
    unlink(path);
    tu_path(path, sizeof path, dir, "recovery-point-offset-checkpoint");
    unlink(path);
}

void tu_write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

bool tu_fd_is(int fd, const char *suffix)
{
    char link[64], target[4096];
    size_t len = strlen(suffix);
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < (ssize_t)len)
        return false;
    target[n] = 0;
    return !strcmp(target + n - len, suffix);
}
