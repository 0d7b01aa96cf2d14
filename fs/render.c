/*
 * render.c - the pure parts of the view: how records become bytes, and how
 * store errors become errnos.
 *
 * The records file shows keys, header values and values as JSON strings when they
 * are valid UTF-8, and otherwise as {"base64":"..."}: an object can never be
 * mistaken for a string, so `jq 'select(.value | type == "string")'` separates
 * text from binary without guessing. Strings escape '"', '\\' and every control
 * character; everything else (including non-ASCII) is copied as is, since it was
 * checked to be UTF-8.
 *
 * A line written through the view becomes one record with a null key, no headers
 * and offset/timestamp deltas of 0 when alone in a batch; fs_line_batch_size() is
 * that batch's exact size, so "does this line fit max.message.bytes" is answered
 * before anything is appended.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/private.h"
#include "store/store.h" /* the STORE_E* codes fs_errno maps (constants only) */

bool fs_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false; /* continuation byte, overlong lead, or past U+10FFFF */
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

void fs_base64(struct writer *w, const uint8_t *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[0] = abc[(v >> 18) & 63];
        out[1] = abc[(v >> 12) & 63];
        out[2] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? abc[v & 63] : '=';
        writer_bytes(w, out, 4);
    }
}

/* A JSON string of n bytes already known to be UTF-8. */
static void json_string(struct writer *w, const uint8_t *p, size_t n)
{
    writer_u8(w, '"');
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        writer_bytes(w, p + i - run, run);
        run = 0;
        char esc[8];
        switch (c) {
        case '"': writer_bytes(w, "\\\"", 2); break;
        case '\\': writer_bytes(w, "\\\\", 2); break;
        case '\n': writer_bytes(w, "\\n", 2); break;
        case '\t': writer_bytes(w, "\\t", 2); break;
        case '\r': writer_bytes(w, "\\r", 2); break;
        default: snprintf(esc, sizeof esc, "\\u%04x", c); writer_bytes(w, esc, 6);
        }
    }
    writer_bytes(w, p + n - run, run);
    writer_u8(w, '"');
}

void fs_json_bytes(struct writer *w, const uint8_t *p, int32_t len)
{
    if (len < 0 || (!p && len > 0)) {
        writer_bytes(w, "null", 4);
    } else if (fs_utf8_valid(p, (size_t)len)) {
        json_string(w, p, (size_t)len);
    } else {
        writer_bytes(w, "{\"" FS_BASE64_KEY "\":\"", sizeof FS_BASE64_KEY + 4);
        fs_base64(w, p, (size_t)len);
        writer_bytes(w, "\"}", 2);
    }
}

int fs_json_record(struct writer *w, const struct record *r)
{
    char num[64];
    int k = snprintf(num, sizeof num,
                     "{\"offset\":%lld,\"timestamp\":%lld,\"key\":", (long long)r->offset,
                     (long long)r->timestamp);
    writer_bytes(w, num, (size_t)k);
    fs_json_bytes(w, r->key, r->key_len);
    writer_bytes(w, ",\"headers\":[", 12);
    struct reader hr = r->headers;
    struct record_header h;
    int rc;
    bool first = true;
    while ((rc = record_header_next(&hr, &h)) == 1) {
        if (!first)
            writer_u8(w, ',');
        first = false;
        writer_bytes(w, "{\"key\":", 7);
        fs_json_bytes(w, h.key, h.key_len);
        writer_bytes(w, ",\"value\":", 9);
        fs_json_bytes(w, h.value, h.value_len);
        writer_u8(w, '}');
    }
    if (rc < 0)
        return rc;
    writer_bytes(w, "],\"value\":", 10);
    fs_json_bytes(w, r->value, r->value_len);
    writer_bytes(w, "}\n", 2);
    return w->err;
}

size_t fs_line_batch_size(size_t len)
{
    /* attributes, timestamp delta 0, offset delta 0, key length -1, headers 0:
     * one byte each; then the value's length and bytes */
    size_t body = 5 + varint_size((int32_t)(len > INT32_MAX ? INT32_MAX : len)) + len;
    return BATCH_HEADER_SIZE + varint_size((int32_t)(body > INT32_MAX ? INT32_MAX : body)) + body;
}

size_t fs_line_max(int64_t max_message_bytes)
{
    if (max_message_bytes <= (int64_t)fs_line_batch_size(0))
        return 0;
    size_t len = (size_t)max_message_bytes - BATCH_HEADER_SIZE;
    while (len > 0 && fs_line_batch_size(len) > (size_t)max_message_bytes)
        len--;
    return len;
}

int fs_errno(int rc)
{
    switch (rc) {
    case STORE_EINVALID_TOPIC:
    case STORE_EINVALID_PARTITIONS:
    case STORE_EINVALID_CONFIG:
    case STORE_EINVALID_RECORD: return EINVAL;
    case STORE_EDELETE_DISABLED: return EPERM;
    case -EMSGSIZE: return EFBIG;
    case -EBADMSG:
    case -ENOTSUP:
    case STORE_EFAILED: return EIO;
    default: break;
    }
    if (rc < 0 && rc > -1000) /* an errno; store codes sit below -2000 */
        return -rc;
    return EIO; /* other STORE_E* codes: the idempotence ones never reach fs */
}
