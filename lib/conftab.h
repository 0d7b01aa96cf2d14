/*
 * conftab.h - configuration keys described once: name, type, default, range,
 * documentation and whether a topic may override it.
 *
 * Each module that reads configuration keeps one table of the keys it reads
 * (store/config.c: log.* and topic keys; console/conn.c: console.*; broker/
 * config.c: the rest). Parsing takes default and range from the table, so the
 * value a key falls back to, the one DescribeConfigs and the console report, and
 * the one the generated documentation shows cannot disagree.
 */
#ifndef BROOK_LIB_CONFTAB_H
#define BROOK_LIB_CONFTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct props;

/* Kafka's ConfigType codes, as DescribeConfigs v3+ carries them. */
enum conf_type {
    CONF_BOOLEAN = 1,
    CONF_STRING = 2,
    CONF_INT = 3,
    CONF_LONG = 5,
    CONF_DOUBLE = 6,
    CONF_LIST = 7,
};

struct conf_key {
    const char *name;
    enum conf_type type;
    const char *def;         /* the value when the key is not given; NULL: none */
    int64_t min, max;        /* numeric keys only (DOUBLE: not checked here) */
    const char *doc;         /* one sentence */
    bool dynamic;            /* a topic may override it (a topic key, or its broker synonym) */
    const char *synonyms[3]; /* topic keys: the broker keys that set the default, finest first */
};

/* The entry named name in tab (ended by a NULL name), or NULL. */
const struct conf_key *conf_find(const struct conf_key *tab, const char *name);

/* The entry of tab whose name is nearest to name (a misspelling: at most two
 * letters added, dropped or changed), or NULL; *dist lowers to its distance, so a
 * search over several tables keeps the best. */
const struct conf_key *conf_closest(const struct conf_key *tab, const char *name, size_t *dist);

/*
 * The integer or boolean value of key name from p (which may be NULL), or its
 * table default when p does not give it. 0, or -EINVAL when the value does not parse or is outside
 * the table's range (and -ENOENT when tab has no such key: a programming error).
 */
int conf_get_i64(const struct conf_key *tab, const struct props *p, const char *name, int64_t *out);
int conf_get_bool(const struct conf_key *tab, const struct props *p, const char *name, bool *out);

/* The string value of key name: p's, else the table default (may be NULL). */
const char *conf_get_str(const struct conf_key *tab, const struct props *p, const char *name);

/* Whether key name holds a secret (a password, a private key, inline key
 * material: Kafka's PASSWORD type), whose value is never shown - by suffix, so
 * listener.name.X.ssl.* and console.ssl.* are covered too. */
bool conf_key_sensitive(const char *name);

/* The type's name as the documentation shows it ("int", "long", ...). */
const char *conf_type_name(enum conf_type t);

/* The range as text ("[1, 100000]", "[-1, ...]", "" for none), into buf. */
const char *conf_range(const struct conf_key *k, char *buf, size_t size);

#endif
