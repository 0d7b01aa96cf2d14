/*
 * props.h - Java .properties files, the format of Kafka's server.properties.
 *
 * Keys and values are strings; a later set of the same key replaces the earlier
 * one, so a file followed by --override pairs gives the right precedence. Typed
 * getters parse on demand and report malformed values instead of guessing.
 */
#ifndef BROOK_LIB_PROPS_H
#define BROOK_LIB_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct props; /* opaque: an ordered list of key/value pairs */

/* A new empty set, or NULL when out of memory. */
struct props *props_new(void);
void props_free(struct props *p);

/*
 * Parse properties text (len bytes, not necessarily NUL-terminated) into p:
 * `key=value`, `key: value` or `key value`; `#` and `!` comment lines; a trailing
 * backslash continues a line; escapes \t \n \r \f \\ and \uXXXX. Returns 0, or
 * -EINVAL with *line set to the 1-based line of the first bad line, or -ENOMEM.
 */
int props_parse(struct props *p, const char *text, size_t len, int *line);

/* Read and parse a file; -errno on I/O errors, else as props_parse. */
int props_load(struct props *p, const char *path, int *line);

/* Set key to value (both copied); replaces an existing key. 0 or -ENOMEM. */
int props_set(struct props *p, const char *key, const char *value);

/* Parse one "key=value" (as given to --override); -EINVAL without '='. */
int props_set_pair(struct props *p, const char *pair);

/* The value of key, or NULL. Borrowed: valid until the key is set again. */
const char *props_get(const struct props *p, const char *key);

/* Typed getters: 0 with *out set (to def when the key is absent), or -EINVAL when
 * the value does not parse or is outside [min, max]. */
int props_get_i64(const struct props *p, const char *key, int64_t def, int64_t min, int64_t max,
                  int64_t *out);
int props_get_bool(const struct props *p, const char *key, bool def, bool *out);

/* Iterate: the i-th pair in insertion order; false past the end. */
bool props_at(const struct props *p, size_t i, const char **key, const char **value);
size_t props_count(const struct props *p);

/* Write all pairs as properties text to path atomically (tmp + fsync + rename +
 * directory fsync). 0 or -errno. */
int props_save(const struct props *p, const char *path);
/* The text props_save() writes, in *text (malloc'd, the caller frees) of *len
 * bytes: for callers that order their own syncs. 0 or -ENOMEM. */
int props_format(const struct props *p, char **text, size_t *len);

#endif
