/*
 * conftab.c - typed reads of configuration keys through their table entry, so a
 * key's default and range are written in one place only.
 */
#include "lib/conftab.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lib/props.h"

const struct conf_key *conf_find(const struct conf_key *tab, const char *name)
{
    for (; tab->name; tab++)
        if (!strcmp(tab->name, name))
            return tab;
    return NULL;
}

/* Levenshtein distance between a and b, or more than limit when it exceeds it
 * (key names are short: longer ones are not compared). */
static size_t edit_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (la >= 128 || lb >= 128 || (la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const struct conf_key *conf_closest(const struct conf_key *tab, const char *name, size_t *dist)
{
    const struct conf_key *best = NULL;
    for (; tab->name; tab++) {
        size_t d = edit_distance(name, tab->name, 2);
        if (d <= 2 && d < *dist) {
            *dist = d;
            best = tab;
        }
    }
    return best;
}

/* The default of k as an integer; a table whose default does not parse is a bug
 * that tests/unit catches, reported here as -EINVAL. */
static int default_i64(const struct conf_key *k, int64_t *out)
{
    if (!k->def)
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(k->def, &end, 10);
    if (errno || end == k->def || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

int conf_get_i64(const struct conf_key *tab, const struct props *p, const char *name, int64_t *out)
{
    const struct conf_key *k = conf_find(tab, name);
    int64_t def = 0;
    if (!k)
        return -ENOENT;
    if (p && props_get(p, name))
        return props_get_i64(p, name, 0, k->min, k->max, out) ? -EINVAL : 0;
    if (default_i64(k, &def) || def < k->min || def > k->max)
        return -EINVAL;
    *out = def;
    return 0;
}

int conf_get_bool(const struct conf_key *tab, const struct props *p, const char *name, bool *out)
{
    const struct conf_key *k = conf_find(tab, name);
    if (!k)
        return -ENOENT;
    if (p && props_get(p, name))
        return props_get_bool(p, name, false, out) ? -EINVAL : 0;
    if (!k->def || (strcmp(k->def, "true") && strcmp(k->def, "false")))
        return -EINVAL;
    *out = !strcmp(k->def, "true");
    return 0;
}

const char *conf_get_str(const struct conf_key *tab, const struct props *p, const char *name)
{
    const char *v = p ? props_get(p, name) : NULL;
    if (v)
        return v;
    const struct conf_key *k = conf_find(tab, name);
    return k ? k->def : NULL;
}

bool conf_key_sensitive(const char *name)
{
    static const char *const suffixes[] = {
        "password",
        "ssl.keystore.key",
        "ssl.keystore.certificate.chain",
        "ssl.truststore.certificates",
        "sasl.jaas.config",
        NULL,
    };
    size_t n = strlen(name);
    for (const char *const *s = suffixes; *s; s++) {
        size_t k = strlen(*s);
        if (n >= k && !strcmp(name + n - k, *s))
            return true;
    }
    return false;
}

const char *conf_type_name(enum conf_type t)
{
    switch (t) {
    case CONF_BOOLEAN: return "boolean";
    case CONF_STRING: return "string";
    case CONF_INT: return "int";
    case CONF_LONG: return "long";
    case CONF_DOUBLE: return "double";
    case CONF_LIST: return "list";
    }
    return "unknown";
}

const char *conf_range(const struct conf_key *k, char *buf, size_t size)
{
    buf[0] = 0;
    if (k->type == CONF_INT || k->type == CONF_LONG) {
        char hi[24] = "..."; /* up to the type's own limit */
        if (k->max != (k->type == CONF_INT ? INT32_MAX : INT64_MAX))
            snprintf(hi, sizeof hi, "%lld", (long long)k->max);
        snprintf(buf, size, "[%lld, %s]", (long long)k->min, hi);
    } else if (k->type == CONF_DOUBLE) {
        snprintf(buf, size, "[%lld, %lld]", (long long)k->min, (long long)k->max);
    }
    return buf;
}
