/*
 * format.c - messages as text, the way kcat prints them, and offset specifications.
 *
 * A format string is parsed once into a list of items (literal text with its
 * escapes already applied, or a field token) and rendered per message by walking
 * the list, appending to a growable buffer; nothing is printed here, the caller
 * writes the buffer. Literal text may hold any byte, NUL included.
 *
 * The JSON envelope reproduces kcat -J byte for byte: the fields topic,
 * partition, offset, tstype, ts, broker, then headers (a flat array of name,
 * value, name, value, ..., present only when the record has headers), key and
 * payload, with null for a null key, payload or header value. Strings are
 * escaped as kcat's JSON generator does: \" and \\, the short forms \b \f \n \r
 * \t, any other byte below 0x20 as \u00XX with upper-case hex digits, and every
 * other byte (0x7f and bytes that are not valid UTF-8 included) as it is.
 *
 * Offset specifications are the brook CLI's -o syntax; see brook.h.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/private.h"
#include "lib/grow.h"
#include "lib/when.h"

/* ---- the output buffer ---- */

static int buf_reserve(struct brook_buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return -ENOMEM;
    return ARRAY_GROW(b->p, b->cap, b->len + n);
}

static int buf_put(struct brook_buf *b, const void *p, size_t n)
{
    if (!n)
        return 0;
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int buf_str(struct brook_buf *b, const char *s)
{
    return buf_put(b, s, strlen(s));
}

static int buf_i64(struct brook_buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    return buf_put(b, tmp, (size_t)n);
}

/* ---- format strings ---- */

enum item_type {
    IT_TEXT,
    IT_TOPIC,
    IT_PARTITION,
    IT_OFFSET,
    IT_KEY,
    IT_KEY_LEN,
    IT_VALUE,
    IT_VALUE_LEN,
    IT_TIMESTAMP,
    IT_HEADERS,
};

struct item {
    enum item_type type;
    char *text; /* IT_TEXT */
    size_t len;
};

struct brook_format {
    struct item *items;
    size_t n;
};

void brook_format_free(struct brook_format *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->items[i].text);
    free(f->items);
    free(f);
}

static int token_type(char ch, enum item_type *t)
{
    static const char tokens[] = "tpokKsSTh";
    static const enum item_type types[] = {IT_TOPIC,     IT_PARTITION, IT_OFFSET,
                                           IT_KEY,       IT_KEY_LEN,   IT_VALUE,
                                           IT_VALUE_LEN, IT_TIMESTAMP, IT_HEADERS};
    const char *p = ch ? strchr(tokens, ch) : NULL;
    if (!p)
        return BROOK_ERR_FORMAT;
    *t = types[p - tokens];
    return 0;
}

/* Decode one backslash escape at s (just after the backslash) into *out; returns
 * the characters consumed. */
static size_t unescape(const char *s, char *out)
{
    char *end;
    switch (*s) {
    case 't': *out = '\t'; return 1;
    case 'n': *out = '\n'; return 1;
    case 'r': *out = '\r'; return 1;
    case 'x':
        if (!isxdigit((unsigned char)s[1])) {
            *out = 'x';
            return 1;
        }
        *out = (char)strtoul(s + 1, &end, 16);
        return (size_t)(end - s);
    default:
        if (isdigit((unsigned char)*s)) {
            *out = (char)strtoul(s, &end, 0);
            return (size_t)(end - s);
        }
        *out = *s;
        return 1;
    }
}

static int add_item(struct brook_format *f, size_t *cap, enum item_type t, const char *s, size_t n)
{
    if (array_grow((void **)&f->items, cap, f->n + 1, sizeof *f->items))
        return -ENOMEM;
    struct item *it = &f->items[f->n];
    *it = (struct item){t, NULL, 0};
    if (t == IT_TEXT) {
        if (!(it->text = malloc(n + 1)))
            return -ENOMEM;
        for (size_t i = 0; i < n;) {
            if (s[i] == '\\' && i + 1 < n)
                i += 1 + unescape(s + i + 1, &it->text[it->len++]);
            else
                it->text[it->len++] = s[i++];
        }
    }
    f->n++;
    return 0;
}

int brook_format_new(const char *spec, struct brook_format **out, size_t *bad_at)
{
    *out = NULL;
    struct brook_format *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    size_t cap = 0;
    int rc = 0;
    const char *s = spec;
    while (*s && !rc) {
        const char *pct = strchr(s, '%');
        size_t n = pct ? (size_t)(pct - s) : strlen(s);
        if (n)
            rc = add_item(f, &cap, IT_TEXT, s, n);
        if (rc || !pct)
            break;
        enum item_type t;
        if (pct[1] == '%') {
            rc = add_item(f, &cap, IT_TEXT, "%", 1);
        } else if ((rc = token_type(pct[1], &t)) == 0) {
            rc = add_item(f, &cap, t, NULL, 0);
        } else if (bad_at) {
            *bad_at = (size_t)(pct - spec);
        }
        s = pct + (pct[1] ? 2 : 1);
    }
    if (rc) {
        brook_format_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int render_headers(const struct brook_message *m, struct brook_buf *b)
{
    int rc = 0;
    for (size_t i = 0; i < m->n_headers && !rc; i++) {
        const struct brook_header *h = &m->headers[i];
        if (i)
            rc = buf_put(b, ",", 1);
        if (!rc)
            rc = buf_put(b, h->key, h->key_len);
        if (!rc)
            rc = buf_put(b, "=", 1);
        if (!rc)
            rc = h->value ? buf_put(b, h->value, h->value_len) : buf_str(b, "NULL");
    }
    return rc;
}

static int render_item(const struct item *it, const struct brook_message *m, struct brook_buf *b)
{
    switch (it->type) {
    case IT_TEXT: return buf_put(b, it->text, it->len);
    case IT_TOPIC: return buf_str(b, m->topic);
    case IT_PARTITION: return buf_i64(b, m->partition);
    case IT_OFFSET: return buf_i64(b, m->offset);
    case IT_KEY: return m->key ? buf_put(b, m->key, m->key_len) : 0;
    case IT_KEY_LEN: return buf_i64(b, m->key ? (int64_t)m->key_len : -1);
    case IT_VALUE: return m->value ? buf_put(b, m->value, m->value_len) : 0;
    case IT_VALUE_LEN: return buf_i64(b, m->value ? (int64_t)m->value_len : -1);
    case IT_TIMESTAMP: return buf_i64(b, m->timestamp);
    case IT_HEADERS: return render_headers(m, b);
    }
    return 0;
}

int brook_format_render(const struct brook_format *f, const struct brook_message *m,
                        struct brook_buf *buf)
{
    for (size_t i = 0; i < f->n; i++) {
        int rc = render_item(&f->items[i], m, buf);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- JSON ---- */

static int json_string(struct brook_buf *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = p;
    int rc = buf_reserve(b, n + 2);
    if (rc)
        return rc;
    b->p[b->len++] = '"';
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            run++;
            continue;
        }
        if ((rc = buf_put(b, s + i - run, run)))
            return rc;
        run = 0;
        char esc[7] = {'\\', 0};
        size_t len = 2;
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            len = 6;
        }
        if ((rc = buf_put(b, esc, len)))
            return rc;
    }
    if ((rc = buf_put(b, s + n - run, run)))
        return rc;
    return buf_put(b, "\"", 1);
}

static int json_nullable(struct brook_buf *b, const void *p, size_t n)
{
    return p ? json_string(b, p, n) : buf_str(b, "null");
}

static int json_headers(struct brook_buf *b, const struct brook_message *m)
{
    int rc = buf_str(b, ",\"headers\":[");
    for (size_t i = 0; i < m->n_headers && !rc; i++) {
        const struct brook_header *h = &m->headers[i];
        if (i)
            rc = buf_put(b, ",", 1);
        if (!rc)
            rc = json_string(b, h->key, h->key_len);
        if (!rc)
            rc = buf_put(b, ",", 1);
        if (!rc)
            rc = json_nullable(b, h->value, h->value_len);
    }
    return rc ? rc : buf_put(b, "]", 1);
}

int brook_json_render(const struct brook_message *m, struct brook_buf *b)
{
    int rc = buf_str(b, "{\"topic\":");
    if (!rc)
        rc = json_string(b, m->topic, strlen(m->topic));
    if (!rc)
        rc = buf_str(b, ",\"partition\":");
    if (!rc)
        rc = buf_i64(b, m->partition);
    if (!rc)
        rc = buf_str(b, ",\"offset\":");
    if (!rc)
        rc = buf_i64(b, m->offset);
    if (!rc)
        rc = buf_str(b, m->log_append_time ? ",\"tstype\":\"logappend\",\"ts\":"
                                           : ",\"tstype\":\"create\",\"ts\":");
    if (!rc)
        rc = buf_i64(b, m->timestamp);
    if (!rc)
        rc = buf_str(b, ",\"broker\":");
    if (!rc)
        rc = buf_i64(b, m->broker);
    if (!rc && m->n_headers)
        rc = json_headers(b, m);
    if (!rc)
        rc = buf_str(b, ",\"key\":");
    if (!rc)
        rc = json_nullable(b, m->key, m->key_len);
    if (!rc)
        rc = buf_str(b, ",\"payload\":");
    if (!rc)
        rc = json_nullable(b, m->value, m->value_len);
    return rc ? rc : buf_str(b, "}\n");
}

/* ---- offset specifications ---- */

/* A non-negative decimal that fills s exactly. */
static int parse_count(const char *s, int64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return BROOK_ERR_FORMAT;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return BROOK_ERR_FORMAT;
    *out = v;
    return 0;
}

static int parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    return when_parse(s, now_ms, out) ? BROOK_ERR_FORMAT : 0;
}

int brook_offset_parse(const char *s, int64_t now_ms, struct brook_offset *out)
{
    if (!s || !*s || !out)
        return BROOK_ERR_FORMAT;
    int64_t v = 0;
    int rc = 0;
    struct brook_offset o = {0, 0};
    if (!strcmp(s, "beginning") || !strcmp(s, "earliest") || !strcmp(s, "start")) {
        o.kind = BROOK_OFFSET_BEGINNING;
    } else if (!strcmp(s, "end") || !strcmp(s, "latest")) {
        o.kind = BROOK_OFFSET_END;
    } else if (*s == '@') {
        o.kind = BROOK_OFFSET_TIME;
        rc = parse_time(s + 1, now_ms, &v);
    } else if (*s == '-' || *s == '+') {
        o.kind = *s == '-' ? BROOK_OFFSET_FROM_END : BROOK_OFFSET_FROM_START;
        rc = parse_count(s + 1, &v);
    } else {
        o.kind = BROOK_OFFSET_AT;
        rc = parse_count(s, &v);
    }
    if (rc)
        return rc;
    if (o.kind == BROOK_OFFSET_TIME && v < 0)
        return BROOK_ERR_FORMAT;
    o.value = v;
    *out = o;
    return 0;
}
