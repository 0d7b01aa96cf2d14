/*
 * when.h - a point in time as people type it after `@` (brook consume -o @TIME,
 * the console's offset reset): milliseconds since the epoch, a UTC date and time
 * "YYYY-MM-DD[THH:MM[:SS[.mmm]]]" with an optional zone ("Z", "+05:30",
 * "-08:00"; UTC without one), or a duration before or after now
 * ("-15m", "+1h"; units ms, s, m, h, d). One parser, so that every place that
 * takes a time takes the same text.
 */
#ifndef BROOK_LIB_WHEN_H
#define BROOK_LIB_WHEN_H

#include <stdint.h>

/* Parse s (without the `@`) relative to now_ms: 0 with *out in milliseconds since
 * the epoch, or -EINVAL. */
int when_parse(const char *s, int64_t now_ms, int64_t *out);

#endif
