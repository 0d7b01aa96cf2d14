/*
 * props.c - a small .properties parser and writer.
 *
 * Pairs live in a flat array; lookups are linear, which is right for the few dozen
 * keys a broker or topic configuration has.
 */
#include "lib/props.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/grow.h"

struct pair {
    char *key;
    char *value;
};

struct props {
    struct pair *pairs; /* insertion order */
    size_t n;
    size_t cap;
};

struct props *props_new(void)
{
    return calloc(1, sizeof(struct props));
}

void props_free(struct props *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->pairs[i].key);
        free(p->pairs[i].value);
    }
    free(p->pairs);
    free(p);
}

int props_set(struct props *p, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->pairs[i].key, key)) {
            free(p->pairs[i].value);
            p->pairs[i].value = v;
            return 0;
        }
    if (ARRAY_GROW(p->pairs, p->cap, p->n + 1))
        goto err_value;
    char *k = strdup(key);
    if (!k)
        goto err_value;
    p->pairs[p->n++] = (struct pair){k, v};
    return 0;
err_value:
    free(v);
    return -ENOMEM;
}

const char *props_get(const struct props *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->pairs[i].key, key))
            return p->pairs[i].value;
    return NULL;
}

size_t props_count(const struct props *p)
{
    return p->n;
}

bool props_at(const struct props *p, size_t i, const char **key, const char **value)
{
    if (i >= p->n)
        return false;
    *key = p->pairs[i].key;
    *value = p->pairs[i].value;
    return true;
}

/* Growable string used while unescaping a logical line. */
struct sbuf {
    char *s;
    size_t n, cap;
};

static int sbuf_put(struct sbuf *b, char c)
{
    if (ARRAY_GROW(b->s, b->cap, b->n + 2)) /* c and the NUL after it */
        return -ENOMEM;
    b->s[b->n++] = c;
    b->s[b->n] = 0;
    return 0;
}

/* Append code point cp as UTF-8. */
static int sbuf_put_utf8(struct sbuf *b, unsigned cp)
{
    int rc = 0;
    if (cp < 0x80)
        return sbuf_put(b, (char)cp);
    if (cp < 0x800) {
        rc |= sbuf_put(b, (char)(0xc0 | cp >> 6));
    } else {
        rc |= sbuf_put(b, (char)(0xe0 | cp >> 12));
        rc |= sbuf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
    }
    rc |= sbuf_put(b, (char)(0x80 | (cp & 0x3f)));
    return rc ? -ENOMEM : 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

/*
 * Split one logical line (continuations already joined, escapes still present)
 * into key and value, unescaping both. Returns 0, -EINVAL or -ENOMEM.
 */
static int parse_pair(struct props *p, const char *s, size_t n)
{
    struct sbuf key = {0}, val = {0};
    struct sbuf *cur = &key;
    size_t i = 0;
    int rc = 0;
    bool sep_seen = false;

    while (i < n && is_blank(s[i]))
        i++;
    for (; i < n && !rc; i++) {
        char c = s[i];
        if (cur == &key && !sep_seen && (c == '=' || c == ':' || is_blank(c))) {
            /* the separator: blanks, then at most one '=' or ':', then blanks */
            while (i < n && is_blank(s[i]))
                i++;
            if (i < n && (s[i] == '=' || s[i] == ':'))
                i++;
            while (i < n && is_blank(s[i]))
                i++;
            sep_seen = true;
            cur = &val;
            i--;
            continue;
        }
        if (c != '\\') {
            rc = sbuf_put(cur, c);
            continue;
        }
        if (++i >= n)
            break; /* a lone trailing backslash is dropped */
        switch (s[i]) {
        case 't': rc = sbuf_put(cur, '\t'); break;
        case 'n': rc = sbuf_put(cur, '\n'); break;
        case 'r': rc = sbuf_put(cur, '\r'); break;
        case 'f': rc = sbuf_put(cur, '\f'); break;
        case 'u': {
            unsigned cp = 0;
            if (n - i < 5) {
                rc = -EINVAL;
                break;
            }
            for (int k = 1; k <= 4 && !rc; k++) {
                int h = hexval(s[i + k]);
                if (h < 0)
                    rc = -EINVAL;
                cp = cp << 4 | (unsigned)h;
            }
            if (!rc)
                rc = sbuf_put_utf8(cur, cp);
            i += 4;
            break;
        }
        default: rc = sbuf_put(cur, s[i]); break;
        }
    }
    if (!rc && key.n == 0)
        rc = -EINVAL;
    if (!rc)
        rc = props_set(p, key.s, val.s ? val.s : "");
    free(key.s);
    free(val.s);
    return rc;
}

int props_parse(struct props *p, const char *text, size_t len, int *line)
{
    struct sbuf logical = {0};
    int lineno = 0, start_line = 0, rc = 0;
    size_t i = 0;

    while (i < len && !rc) {
        size_t e = i;
        while (e < len && text[e] != '\n' && text[e] != '\r')
            e++;
        lineno++;
        const char *s = text + i;
        size_t n = e - i;
        /* next physical line starts after \n, \r or \r\n */
        i = e < len && text[e] == '\r' && e + 1 < len && text[e + 1] == '\n' ? e + 2 : e + 1;

        size_t b = 0;
        if (logical.n) { /* continuation: leading blanks are dropped */
            while (b < n && is_blank(s[b]))
                b++;
        } else {
            while (b < n && is_blank(s[b]))
                b++;
            if (b == n || s[b] == '#' || s[b] == '!')
                continue;
            start_line = lineno;
        }
        /* an odd number of trailing backslashes continues the line */
        size_t bs = 0;
        while (bs < n - b && s[n - 1 - bs] == '\\')
            bs++;
        bool cont = bs % 2 == 1;
        for (size_t k = b; k < n - (cont ? 1 : 0) && !rc; k++)
            rc = sbuf_put(&logical, s[k]);
        if (cont && i < len)
            continue;
        if (!rc && logical.n) {
            rc = parse_pair(p, logical.s, logical.n);
            if (rc == -EINVAL && line)
                *line = start_line;
        }
        logical.n = 0;
    }
    free(logical.s);
    return rc;
}

int props_load(struct props *p, const char *path, int *line)
{
    char *text;
    size_t len;
    int rc = file_read_all(path, 16u << 20, &text, &len);
    if (rc)
        return rc;
    rc = props_parse(p, text, len, line);
    free(text);
    return rc;
}

int props_set_pair(struct props *p, const char *pair)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair)
        return -EINVAL;
    char *key = strndup(pair, (size_t)(eq - pair));
    if (!key)
        return -ENOMEM;
    int rc = props_set(p, key, eq + 1);
    free(key);
    return rc;
}

int props_get_i64(const struct props *p, const char *key, int64_t def, int64_t min, int64_t max,
                  int64_t *out)
{
    const char *v = props_get(p, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || end == v || *end || x < min || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

int props_get_bool(const struct props *p, const char *key, bool def, bool *out)
{
    const char *v = props_get(p, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!strcasecmp(v, "true")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false")) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

/* Escape a key or value for writing: backslash, newlines, and (in keys) the
 * separators, so parse(save(p)) == p. */
static void put_escaped(FILE *f, const char *s, bool is_key)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\f': fputs("\\f", f); break;
        case '=':
        case ':':
        case ' ':
            if (is_key)
                fputc('\\', f);
            fputc(*s, f);
            break;
        default: fputc(*s, f); break;
        }
    }
}

int props_save(const struct props *p, const char *path)
{
    char *text;
    size_t len;
    int rc = props_format(p, &text, &len);
    if (rc)
        return rc;
    rc = file_write_atomic(path, text, len);
    free(text);
    return rc;
}

int props_format(const struct props *p, char **out, size_t *out_len)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        put_escaped(f, p->pairs[i].key, true);
        fputc('=', f);
        if (p->pairs[i].value[0] == ' ')
            fputc('\\', f); /* keep a leading blank of the value */
        put_escaped(f, p->pairs[i].value, false);
        fputc('\n', f);
    }
    if (fclose(f)) {
        free(text);
        return -ENOMEM;
    }
    *out = text;
    *out_len = len;
    return 0;
}
