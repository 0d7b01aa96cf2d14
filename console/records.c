/*
 * records.c - reading a partition's records for the console, the text
 * filter, and records as JSON.
 *
 * Reading goes through store_partition_read(): it hands out whole batches of one
 * segment as a file descriptor and a range, which are read into memory here and
 * walked with batch_iter (which decompresses). A slice starts at the batch that
 * holds the wanted offset, so records before `from` are skipped; control batches
 * (transaction markers) are not records anyone produced and are skipped too.
 *
 * Keys, values and header values are shown as text when they are valid UTF-8
 * without control characters other than tab, CR and LF; anything else is base64
 * (encoding "base64"), which the page shows as hex. Keys and values longer than
 * CONSOLE_SHOW_BYTES are cut, with "truncated": true and the full size given.
 *
 * The filter compares ASCII letters case-insensitively and every other byte as
 * is, over the raw bytes (compressed records are matched after decompression).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/private.h"
#include "lib/xalloc.h"
#include "proto/record.h"

#define READ_CHUNK (1 << 20) /* bytes asked of the store per read */

/* ---- scanning ---- */

struct scan_state {
    int64_t from, end;
    int32_t partition;
    scan_fn fn;
    void *arg;
    int64_t next;
    bool stop;
};

/* Walk the batches in buf (whole batches, as the store returns them). */
static int scan_batches(struct scan_state *st, const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len && !st->stop) {
        size_t size;
        int rc = batch_frame(buf + pos, len - pos, len - pos, &size);
        if (rc)
            return rc == -EAGAIN ? -EBADMSG : rc;
        struct batch_iter it;
        struct record r;
        rc = batch_iter_init(&it, buf + pos, size, NULL, false);
        bool control = !rc && (it.h.attributes & BATCH_ATTR_CONTROL);
        while (!rc && !control && !st->stop && (rc = batch_iter_next(&it, &r)) == 1) {
            rc = 0;
            if (r.offset < st->from)
                continue;
            if (r.offset >= st->end) {
                st->stop = true;
                break;
            }
            st->next = r.offset + 1;
            st->stop = st->fn(st->arg, st->partition, &r);
        }
        if (!rc && !st->stop) { /* the whole batch is behind us */
            int64_t after = batch_get_base_offset(buf + pos) + it.h.last_offset_delta + 1;
            if (after > st->next)
                st->next = after;
        }
        batch_iter_release(&it);
        if (rc < 0)
            return rc;
        pos += size;
    }
    return 0;
}

static int read_slice(const struct store_slice *sl, uint8_t **buf)
{
    *buf = malloc((size_t)sl->len);
    if (!*buf)
        abort();
    size_t got = 0;
    while (got < (size_t)sl->len) {
        ssize_t n = pread(sl->fd, *buf + got, (size_t)sl->len - got, sl->pos + (off_t)got);
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        got += (size_t)n;
    }
    return 0;
}

int console_scan(struct store_partition *p, int64_t from, int64_t end, int64_t max_bytes,
                 scan_fn fn, void *arg, int64_t *next)
{
    int64_t start = store_partition_log_start(p);
    int64_t first = from < start ? start : from;
    struct scan_state st = {first, end, store_partition_index(p), fn, arg, first, false};
    int rc = 0;
    int64_t read = 0;
    while (!rc && !st.stop && st.next < end && read < max_bytes) {
        struct store_slice sl;
        rc = store_partition_read(p, st.next, READ_CHUNK, &sl);
        if (rc == -ERANGE && st.next < store_partition_log_start(p)) { /* retention ran */
            st.next = st.from = store_partition_log_start(p);
            rc = 0;
            continue;
        }
        if (rc || sl.len == 0) {
            store_slice_release(&sl);
            break;
        }
        uint8_t *buf;
        int64_t before = st.next;
        rc = read_slice(&sl, &buf);
        if (!rc)
            rc = scan_batches(&st, buf, (size_t)sl.len);
        read += sl.len;
        free(buf);
        if (!rc && !st.stop && st.next <= before) /* no progress: jump past the slice */
            st.next = sl.next_offset > before ? sl.next_offset : before + 1;
        store_slice_release(&sl);
    }
    *next = st.next < end ? st.next : end;
    return rc;
}

/* ---- the filter ---- */

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool contains(const uint8_t *hay, int32_t hlen, const char *needle, size_t n)
{
    if (!hay || hlen < 0 || (size_t)hlen < n)
        return false;
    for (size_t i = 0; i + n <= (size_t)hlen; i++) {
        size_t k = 0;
        while (k < n && lower(hay[i + k]) == lower((unsigned char)needle[k]))
            k++;
        if (k == n)
            return true;
    }
    return false;
}

bool console_record_matches(const struct record *r, const char *needle, size_t len)
{
    if (!len || contains(r->key, r->key_len, needle, len) ||
        contains(r->value, r->value_len, needle, len))
        return true;
    struct reader hr = r->headers;
    struct record_header h;
    while (record_header_next(&hr, &h) == 1)
        if (contains(h.key, h.key_len, needle, len) || contains(h.value, h.value_len, needle, len))
            return true;
    return false;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *p, size_t n, size_t *out_len)
{
    char *out = xmalloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

static int b64_value(char c)
{
    const char *x = c ? strchr(b64, c) : NULL;
    return x ? (int)(x - b64) : -1;
}

uint8_t *console_base64_decode(const char *s, size_t len, size_t *out_len)
{
    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return NULL;
    uint8_t *out = xmalloc(len / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
        }
    }
    if (len % 4 == 2) {
        out[o++] = (uint8_t)(acc >> 4);
    } else if (len % 4 == 3) {
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *out_len = o;
    return out;
}

/* ---- records as JSON ---- */

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 32 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 127)
            return false;
    return true;
}

/* Set obj[name] to the bytes (text or base64) and obj[name_encoding]. A cut in
 * the middle of a UTF-8 sequence makes text base64, which is still correct. */
static void put_bytes(json_t *obj, const char *name, const uint8_t *p, int32_t len, bool cut)
{
    char enc_key[64];
    snprintf(enc_key, sizeof enc_key, "%s_encoding", name);
    if (len < 0) {
        json_object_set_new(obj, name, json_null());
        return;
    }
    size_t n = cut && len > CONSOLE_SHOW_BYTES ? CONSOLE_SHOW_BYTES : (size_t)len;
    json_t *s = printable(p, n) ? json_stringn((const char *)p, n) : NULL;
    if (s) {
        json_object_set_new(obj, enc_key, json_string("text"));
    } else {
        size_t elen;
        char *e = base64_encode(p, n, &elen);
        s = json_stringn(e, elen);
        free(e);
        json_object_set_new(obj, enc_key, json_string("base64"));
    }
    json_object_set_new(obj, name, s);
}

static json_t *headers_json(const struct record *r)
{
    json_t *arr = json_array();
    struct reader hr = r->headers;
    struct record_header h;
    while (record_header_next(&hr, &h) == 1) {
        json_t *o = json_object();
        put_bytes(o, "key", h.key, h.key_len, true);
        put_bytes(o, "value", h.value, h.value_len, true);
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *console_record_json(int32_t partition, const struct record *r)
{
    json_t *o = json_object();
    if (!o)
        xalloc_fail("json", 0);
    json_object_set_new(o, "partition", json_integer(partition));
    json_object_set_new(o, "offset", json_integer(r->offset));
    json_object_set_new(o, "timestamp", json_integer(r->timestamp));
    put_bytes(o, "key", r->key, r->key_len, true);
    put_bytes(o, "value", r->value, r->value_len, true);
    json_object_set_new(o, "key_size", json_integer(r->key_len < 0 ? 0 : r->key_len));
    json_object_set_new(o, "value_size", json_integer(r->value_len < 0 ? 0 : r->value_len));
    if (r->key_len > CONSOLE_SHOW_BYTES || r->value_len > CONSOLE_SHOW_BYTES)
        json_object_set_new(o, "truncated", json_true());
    json_object_set_new(o, "headers", headers_json(r));
    return o;
}
