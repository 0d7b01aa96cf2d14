/*
 * records.c - reading a partition's records for the console, the text
 * filter, and records as JSON.
 *
 * Reading goes through the store's cursor, which hands out whole batches, walked
 * here with batch_iter (which decompresses). The first batch is the one that holds
 * the wanted offset, so records before `from` are skipped (and before the log
 * start, when retention passes the scan).
 *
 * Transactions: by default a scan is read_committed - the store's cursor
 * (STORE_CURSOR_COMMITTED) ends at the last stable offset and steps over markers
 * and aborted transactions - so the console shows what a read_committed consumer
 * sees. Asked for read_uncommitted, it shows every batch up to the high watermark,
 * markers included, and marks each transactional record: aborted (Kafka's consumer
 * rule: a producer's transactional batches from an aborted transaction's first
 * offset up to its ABORT marker, the transactions listed by the .txnindex), open
 * (at or after the first offset of its producer's open transaction), committed
 * otherwise.
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

#include "console/private.h"
#include "lib/xalloc.h"
#include "proto/record.h"

/* ---- scanning ---- */

/* What a read_uncommitted scan knows of transactions: the aborted ones in its
 * range (by first offset), those the walk is inside of, and the open ones. */
struct txn_marks {
    struct store_aborted_txn *ab;
    size_t n, next;
    int64_t *running; /* producers inside an aborted transaction */
    size_t n_running, cap;
    struct store_producer_info *open; /* producers with an open transaction */
    size_t n_open;
};

struct scan_state {
    int64_t end;
    int32_t partition;
    scan_fn fn;
    void *arg;
    int64_t next;
    bool stop;
    struct txn_marks *tx; /* NULL: read_committed */
};

static void marks_release(struct txn_marks *tx)
{
    free(tx->ab);
    free(tx->running);
    free(tx->open);
}

/* Load the aborted transactions of [from, *end) (cutting *end when there are too
 * many) and the producers' open transactions. 0 or a store error. */
static int marks_load(struct txn_marks *tx, struct store_partition *p, int64_t from, int64_t *end)
{
    memset(tx, 0, sizeof *tx);
    size_t cap = 64; /* most ranges have few: grow only when the answer fills it */
    int rc;
    for (;;) {
        tx->ab = xrealloc(tx->ab, cap * sizeof *tx->ab);
        if ((rc = store_partition_aborted_txns(p, from, *end, tx->ab, cap, &tx->n)))
            return rc;
        if (tx->n < cap || cap == CONSOLE_MAX_ABORTED)
            break;
        cap = cap * 4 < CONSOLE_MAX_ABORTED ? cap * 4 : CONSOLE_MAX_ABORTED;
    }
    if (tx->n == CONSOLE_MAX_ABORTED) { /* maybe more: stop before the last one's data */
        int64_t cut = tx->ab[--tx->n].first_offset;
        *end = cut > from ? cut : from + 1;
    }
    size_t want = store_partition_producers(p, NULL, 0);
    tx->open = xmalloc((want + 1) * sizeof *tx->open);
    size_t got = store_partition_producers(p, tx->open, want);
    tx->n_open = got < want ? got : want;
    return 0;
}

static bool running_has(const struct txn_marks *tx, int64_t pid, size_t *at)
{
    for (size_t i = 0; i < tx->n_running; i++)
        if (tx->running[i] == pid) {
            *at = i;
            return true;
        }
    return false;
}

/* The mark of batch h (the next one in offset order). */
static struct console_mark marks_of(struct txn_marks *tx, const struct batch_header *h,
                                    const struct record *control)
{
    struct console_mark m = {TXN_NONE, h->producer_id};
    size_t at;
    int64_t last = h->base_offset + h->last_offset_delta;
    for (; tx->next < tx->n && tx->ab[tx->next].first_offset <= last; tx->next++)
        if (!running_has(tx, tx->ab[tx->next].producer_id, &at)) {
            XARRAY_GROW(tx->running, tx->cap, tx->n_running + 1);
            tx->running[tx->n_running++] = tx->ab[tx->next].producer_id;
        }
    bool aborted = running_has(tx, h->producer_id, &at);
    if (h->attributes & BATCH_ATTR_CONTROL) {
        bool abort =
            control && control->key_len >= 4 && control->key[3] == 0 && control->key[2] == 0;
        if (abort && aborted)
            tx->running[at] = tx->running[--tx->n_running];
        m.txn = abort ? TXN_MARKER_ABORT : TXN_MARKER_COMMIT;
        return m;
    }
    if (!(h->attributes & BATCH_ATTR_TRANSACTIONAL))
        return m;
    m.txn = aborted ? TXN_ABORTED : TXN_COMMITTED;
    for (size_t i = 0; !aborted && i < tx->n_open; i++)
        if (tx->open[i].producer_id == h->producer_id && tx->open[i].txn_first_offset >= 0 &&
            h->base_offset >= tx->open[i].txn_first_offset)
            m.txn = TXN_OPEN;
    return m;
}

/* Hand the records of batch b from `from` on to the callback, until it says stop. */
static int scan_batch(struct scan_state *st, const struct store_batch *b, int64_t from)
{
    struct batch_iter it;
    struct record r;
    int rc = batch_iter_init(&it, b->data, b->len, NULL, false);
    bool control = !rc && (it.h.attributes & BATCH_ATTR_CONTROL);
    bool marked = false;
    struct console_mark m = {TXN_NONE, -1};
    while (!rc && (!control || st->tx) && !st->stop && (rc = batch_iter_next(&it, &r)) == 1) {
        rc = 0;
        if (st->tx && !marked) { /* every batch is looked at, in order, once */
            m = marks_of(st->tx, &it.h, control ? &r : NULL);
            marked = true;
        }
        if (r.offset < from)
            continue;
        if (r.offset >= st->end) {
            st->stop = true;
            break;
        }
        st->next = r.offset + 1;
        st->stop = st->fn(st->arg, st->partition, &r, &m);
    }
    if (!rc && !st->stop && b->last_offset + 1 > st->next) /* the whole batch is behind us */
        st->next = b->last_offset + 1;
    batch_iter_release(&it);
    return rc < 0 ? rc : 0;
}

int64_t console_end(struct store_partition *p, bool committed)
{
    if (!p) /* one the store could not open: nothing to read */
        return -1;
    return committed ? store_partition_last_stable(p) : store_partition_high_watermark(p);
}

int console_scan(struct store_partition *p, int64_t from, int64_t end, int64_t max_bytes,
                 bool committed, scan_fn fn, void *arg, int64_t *next)
{
    int64_t start = store_partition_log_start(p);
    int64_t first = from < start ? start : from;
    struct txn_marks tx;
    int rc = 0;
    if (committed) {
        int64_t lso = store_partition_last_stable(p);
        end = end < lso ? end : lso;
    } else if ((rc = marks_load(&tx, p, first, &end))) {
        marks_release(&tx);
        return rc;
    }
    struct store_cursor cur;
    store_cursor_open(&cur, p, first, committed ? STORE_CURSOR_COMMITTED : 0);
    store_cursor_limit(&cur, end, 0);
    struct scan_state st = {end,   store_partition_index(p), fn, arg, first,
                            false, committed ? NULL : &tx};
    struct store_batch b;
    int64_t read = 0;
    while (!st.stop && (rc = store_cursor_next(&cur, &b)) == 1) {
        /* the fetch-size rule (KIP-74): only the first batch may pass max_bytes, so a
         * batch larger than the limit is still read, and the limit holds otherwise */
        if (read > 0 && read + (int64_t)b.len > max_bytes)
            break;
        if (st.next < cur.from) /* retention ran: the walk goes on at the log start */
            st.next = cur.from;
        rc = scan_batch(&st, &b, cur.from);
        if (rc)
            break;
        read += (int64_t)b.len;
    }
    store_cursor_close(&cur);
    if (!committed)
        marks_release(&tx);
    *next = st.next < end ? st.next : end;
    return rc < 0 ? rc : 0;
}

int console_isolation(struct creq *cr, bool *committed)
{
    const char *s = console_param(cr, "isolation");
    *committed = !s || !strcmp(s, "read_committed");
    if (!s || *committed || !strcmp(s, "read_uncommitted"))
        return 0;
    console_reply_error(cr->req, 400, "isolation must be read_committed or read_uncommitted");
    return -EINVAL;
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

static const char *const txn_names[] = {
    [TXN_COMMITTED] = "committed",
    [TXN_ABORTED] = "aborted",
    [TXN_OPEN] = "open",
};

/* A marker: which kind, whose, and no key or value (its bytes are the marker's
 * version and type, not data). */
static json_t *marker_json(json_t *o, const struct console_mark *m)
{
    json_object_set_new(o, "control",
                        json_string(m->txn == TXN_MARKER_COMMIT ? "commit" : "abort"));
    json_object_set_new(o, "producer_id", json_integer(m->producer_id));
    json_object_set_new(o, "key", json_null());
    json_object_set_new(o, "value", json_null());
    json_object_set_new(o, "key_size", json_integer(0));
    json_object_set_new(o, "value_size", json_integer(0));
    json_object_set_new(o, "headers", json_array());
    return o;
}

json_t *console_record_json(int32_t partition, const struct record *r, const struct console_mark *m)
{
    json_t *o = json_object();
    if (!o)
        xalloc_fail("json", 0);
    json_object_set_new(o, "partition", json_integer(partition));
    json_object_set_new(o, "offset", json_integer(r->offset));
    json_object_set_new(o, "timestamp", json_integer(r->timestamp));
    if (m && (m->txn == TXN_MARKER_COMMIT || m->txn == TXN_MARKER_ABORT))
        return marker_json(o, m);
    if (m && m->txn != TXN_NONE) {
        json_object_set_new(o, "txn", json_string(txn_names[m->txn]));
        json_object_set_new(o, "producer_id", json_integer(m->producer_id));
    }
    put_bytes(o, "key", r->key, r->key_len, true);
    put_bytes(o, "value", r->value, r->value_len, true);
    json_object_set_new(o, "key_size", json_integer(r->key_len < 0 ? 0 : r->key_len));
    json_object_set_new(o, "value_size", json_integer(r->value_len < 0 ? 0 : r->value_len));
    if (r->key_len > CONSOLE_SHOW_BYTES || r->value_len > CONSOLE_SHOW_BYTES)
        json_object_set_new(o, "truncated", json_true());
    json_object_set_new(o, "headers", headers_json(r));
    return o;
}
