/*
 * kafka_fixture_notation.c - the writer and checker of kafka_fixtures.h's notation.
 *
 * Deliberately naive: it knows big-endian integers, varints and length prefixes,
 * nothing of any message, so a fixture's bytes owe nothing to proto/kafka.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/kafka_fixtures.h"

#define TOKEN_MAX   512
#define VERSION_TOP 1000 /* "N+" reaches every version */

struct out {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

/* The next blank-separated token of *p into tok; false at the end. */
static bool next_token(const char **p, char *tok)
{
    while (isspace((unsigned char)**p))
        (*p)++;
    if (!**p)
        return false;
    size_t n = 0;
    while (**p && !isspace((unsigned char)**p)) {
        if (n + 1 < TOKEN_MAX)
            tok[n++] = **p;
        (*p)++;
    }
    tok[n] = 0;
    return true;
}

/* Strip a leading version guard from tok; *in tells whether v is within it. */
static char *strip_guard(char *tok, int16_t v, bool *in)
{
    *in = true;
    if (!isdigit((unsigned char)tok[0]))
        return tok;
    char *e;
    long lo = strtol(tok, &e, 10), hi = lo;
    if (*e == '+') {
        hi = VERSION_TOP;
        e++;
    } else if (*e == '-') {
        hi = strtol(e + 1, &e, 10);
    }
    if (*e != ':')
        return NULL;
    *in = v >= lo && v <= hi;
    return e + 1;
}

static void put(struct out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void put_be(struct out *o, uint64_t x, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(x >> (8 * (bytes - 1 - i)));
    put(o, b, (size_t)bytes);
}

static void put_uvarint(struct out *o, uint64_t x)
{
    do {
        uint8_t b = x & 0x7f;
        x >>= 7;
        if (x)
            b |= 0x80;
        put(o, &b, 1);
    } while (x);
}

static int hex_value(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Hex digits of s into b; the number of bytes, or -1. */
static int unhex(const char *s, uint8_t *b, size_t cap)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return -1;
    for (size_t i = 0; i < n / 2; i++)
        b[i] = (uint8_t)(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
    return (int)(n / 2);
}

static int uuid_parse(const char *s, uint8_t id[16])
{
    uint8_t b[16];
    int n = unhex(s, b, sizeof b);
    if (n == 1)
        memset(id, b[0], 16);
    else if (n == 16)
        memcpy(id, b, 16);
    else
        return -1;
    return 0;
}

static int write_tokens(const char **p, int16_t v, struct out *o, bool in_block, char *tok);

/* A length-prefixed value: strings and bytes (int16 / int32 / compact prefixes). */
static int write_sized(struct out *o, const char *op, const char *arg)
{
    bool null = strcmp(arg, "null") == 0;
    uint8_t b[TOKEN_MAX];
    int n = (int)strlen(arg);
    const uint8_t *data = (const uint8_t *)arg;
    if (!strcmp(op, "by") || !strcmp(op, "cby")) {
        if (!null && (n = unhex(arg, b, sizeof b)) < 0)
            return -EINVAL;
        data = b;
    }
    if (!strcmp(op, "s"))
        put_be(o, null ? (uint64_t)-1 : (uint64_t)n, 2);
    else if (!strcmp(op, "by"))
        put_be(o, null ? (uint64_t)-1 : (uint64_t)n, 4);
    else
        put_uvarint(o, null ? 0 : (uint64_t)n + 1);
    if (!null)
        put(o, data, (size_t)n);
    return 0;
}

/* One token, op:arg, without its guard. */
static int write_one(const char **p, int16_t v, struct out *o, char *op, char *tok)
{
    char *arg = strchr(op, ':');
    if (!arg)
        return -EINVAL;
    *arg++ = 0;
    bool null = strcmp(arg, "null") == 0;
    size_t alen = strlen(arg);
    if (!strcmp(op, "tag") && alen && arg[alen - 1] == '{') {
        uint8_t scratch[1 << 14];
        struct out block = {scratch, sizeof scratch, 0, false};
        put_uvarint(o, strtoull(arg, NULL, 10));
        int rc = write_tokens(p, v, &block, true, tok);
        if (rc)
            return rc;
        put_uvarint(o, block.len);
        put(o, scratch, block.len);
        return block.overflow ? -ENOSPC : 0;
    }
    if (!strcmp(op, "i8"))
        put_be(o, (uint64_t)strtoll(arg, NULL, 10), 1);
    else if (!strcmp(op, "i16"))
        put_be(o, (uint64_t)strtoll(arg, NULL, 10), 2);
    else if (!strcmp(op, "i32") || (!strcmp(op, "a") && !null))
        put_be(o, (uint64_t)strtoll(arg, NULL, 10), 4);
    else if (!strcmp(op, "a"))
        put_be(o, (uint64_t)-1, 4);
    else if (!strcmp(op, "i64"))
        put_be(o, (uint64_t)strtoll(arg, NULL, 10), 8);
    else if (!strcmp(op, "f64")) {
        double d = strtod(arg, NULL);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        put_be(o, bits, 8);
    } else if (!strcmp(op, "uv") || !strcmp(op, "tags"))
        put_uvarint(o, strtoull(arg, NULL, 10));
    else if (!strcmp(op, "ca"))
        put_uvarint(o, null ? 0 : strtoull(arg, NULL, 10) + 1);
    else if (!strcmp(op, "s") || !strcmp(op, "cs") || !strcmp(op, "by") || !strcmp(op, "cby"))
        return write_sized(o, op, arg);
    else if (!strcmp(op, "uuid")) {
        uint8_t id[16];
        if (uuid_parse(arg, id))
            return -EINVAL;
        put(o, id, 16);
    } else if (!strcmp(op, "raw")) {
        uint8_t b[TOKEN_MAX];
        int n = unhex(arg, b, sizeof b);
        if (n < 0)
            return -EINVAL;
        put(o, b, (size_t)n);
    } else {
        return -EINVAL;
    }
    return 0;
}

/* Skip the tokens of a block up to its closing brace (a guarded-out tag block). */
static void skip_block(const char **p, char *tok)
{
    int depth = 1;
    while (depth > 0 && next_token(p, tok)) {
        size_t n = strlen(tok);
        if (!strcmp(tok, "}"))
            depth--;
        else if (n && tok[n - 1] == '{')
            depth++;
    }
}

/* Tokens up to the end, or up to the closing brace of the block we are in. */
static int write_tokens(const char **p, int16_t v, struct out *o, bool in_block, char *tok)
{
    while (next_token(p, tok)) {
        if (!strcmp(tok, "}"))
            return in_block ? 0 : -EINVAL;
        bool in;
        char *op = strip_guard(tok, v, &in);
        if (!op)
            return -EINVAL;
        size_t n = strlen(op);
        if (!in) {
            if (n && op[n - 1] == '{')
                skip_block(p, tok);
            continue;
        }
        int rc = write_one(p, v, o, op, tok);
        if (rc)
            return rc;
    }
    return in_block ? -EINVAL : 0;
}

int kafka_fixture_write(const char *wire, int16_t v, uint8_t *buf, size_t cap, size_t *len,
                        const char **bad)
{
    static char tok[TOKEN_MAX]; /* outlives the call: *bad points into it */
    struct out o = {buf, cap, 0, false};
    const char *p = wire;
    int rc = write_tokens(&p, v, &o, false, tok);
    *bad = tok;
    *len = o.len;
    if (rc)
        return rc;
    return o.overflow ? -ENOSPC : 0;
}

/* --- checks ---------------------------------------------------------------------------- */

static const struct kafka_field *field_named(const struct kafka_struct_desc *d, const char *name,
                                             size_t n)
{
    for (uint16_t i = 0; i < d->n_fields; i++)
        if (strlen(d->fields[i].name) == n && !strncmp(d->fields[i].name, name, n))
            return &d->fields[i];
    return NULL;
}

/* The size of one array element of scalar type t, as the generated structs lay it out. */
static size_t scalar_size(uint8_t t)
{
    switch (t) {
    case KAFKA_T_BOOL:
    case KAFKA_T_INT8: return 1;
    case KAFKA_T_INT16: return 2;
    case KAFKA_T_INT32: return 4;
    case KAFKA_T_UUID: return 16;
    case KAFKA_T_STRING: return sizeof(struct kstr);
    case KAFKA_T_BYTES: return sizeof(struct kbytes);
    default: return 8;
    }
}

/* Compare the scalar of type t at m with the text want. */
static bool value_is(uint8_t t, const void *m, const char *want)
{
    long long x = strtoll(want, NULL, 0);
    switch (t) {
    case KAFKA_T_BOOL: return *(const bool *)m == (strcmp(want, "true") == 0);
    case KAFKA_T_INT8: return *(const int8_t *)m == x;
    case KAFKA_T_INT16: return *(const int16_t *)m == x;
    case KAFKA_T_INT32: return *(const int32_t *)m == x;
    case KAFKA_T_INT64: return *(const int64_t *)m == x;
    case KAFKA_T_FLOAT64: return *(const double *)m == strtod(want, NULL);
    case KAFKA_T_UUID: {
        uint8_t id[16];
        return !strncmp(want, "uuid:", 5) && !uuid_parse(want + 5, id) && !memcmp(m, id, 16);
    }
    case KAFKA_T_STRING: {
        const struct kstr *s = m;
        if (!strcmp(want, "null"))
            return s->len < 0;
        return s->len == (int32_t)strlen(want) && (!s->len || !memcmp(s->p, want, (size_t)s->len));
    }
    case KAFKA_T_BYTES: {
        const struct kbytes *b = m;
        uint8_t h[TOKEN_MAX];
        int n = strcmp(want, "null") ? unhex(want, h, sizeof h) : -1;
        return b->len == n && (n <= 0 || !memcmp(b->p, h, (size_t)n));
    }
    default: return false;
    }
}

/* Follow path from struct s of d and compare what it names with want. */
static bool path_is(const struct kafka_struct_desc *d, const void *s, const char *path,
                    const char *want)
{
    size_t n = strcspn(path, ".[");
    if (!strncmp(path, "has_", 4) && !path[n]) {
        const struct kafka_field *f = field_named(d, path + 4, n - 4);
        return f && f->type == KAFKA_T_STRUCT &&
               *(const bool *)((const char *)s + f->count) == (strcmp(want, "true") == 0);
    }
    const struct kafka_field *f = field_named(d, path, n);
    if (!f)
        return false;
    const char *m = (const char *)s + f->offset;
    path += n;
    if (f->type == KAFKA_T_STRUCT)
        return *path == '.' && path_is(f->child, m, path + 1, want);
    if (f->type != KAFKA_T_ARRAY)
        return !*path && value_is(f->type, m, want);
    int32_t count = *(const int32_t *)((const char *)s + f->count);
    const char *items = *(const char *const *)m;
    if (!*path) /* the array itself: null, or its length as "#N" */
        return !strcmp(want, "null") ? items == NULL && count <= 0
                                     : want[0] == '#' && count == atoi(want + 1);
    char *e;
    long i = strtol(path + 1, &e, 10);
    if (*path != '[' || *e != ']' || i < 0 || i >= count)
        return false;
    size_t size = f->elem == KAFKA_T_STRUCT ? f->child->size : scalar_size(f->elem);
    const char *item = items + (size_t)i * size;
    if (f->elem == KAFKA_T_STRUCT)
        return e[1] == '.' && path_is(f->child, item, e + 2, want);
    return !e[1] && value_is(f->elem, item, want);
}

int kafka_fixture_check(const char *checks, int16_t v, const struct kafka_struct_desc *d,
                        const void *s, char *why, size_t size)
{
    char tok[TOKEN_MAX];
    const char *p = checks ? checks : "";
    while (next_token(&p, tok)) {
        bool in;
        char *c = strip_guard(tok, v, &in);
        char *eq = c ? strchr(c, '=') : NULL;
        if (c && !in)
            continue;
        if (eq)
            *eq = 0;
        if (!eq || !path_is(d, s, c, eq + 1)) {
            snprintf(why, size, "%s%s%s", c ? c : tok, eq ? " is not " : "", eq ? eq + 1 : "");
            return -EINVAL;
        }
    }
    return 0;
}
