/*
 * when.c - the time syntax of lib/when.h. Dates are read as UTC (timegm), never
 * in the local zone, so the same text means the same instant on every machine.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/when.h"

/* A non-negative decimal that fills s exactly. */
static int parse_count(const char *s, int64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "<number><unit>" as milliseconds. */
static int parse_duration(const char *s, int64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; !errno && i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit)) {
            if (v > INT64_MAX / units[i].ms)
                return -EINVAL;
            *out = v * units[i].ms;
            return 0;
        }
    return -EINVAL;
}

/* Read exactly n digits at *s into *v. */
static bool digits(const char **s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return false;
        *v = *v * 10 + (**s - '0');
    }
    return true;
}

/* A zone after the time: "Z" or nothing for UTC, or "+HH:MM" / "-HH:MM" east of
 * UTC as ISO 8601 writes it (so a local time copied from the console reads back
 * as the same instant); *s is left past it. */
static bool zone_offset(const char **s, int64_t *ms)
{
    int zh, zm;
    char sign = **s;
    *ms = 0;
    if (sign == 'Z') {
        (*s)++;
        return true;
    }
    if (sign != '+' && sign != '-')
        return true;
    (*s)++;
    if (!digits(s, 2, &zh) || *(*s)++ != ':' || !digits(s, 2, &zm) || zh > 23 || zm > 59)
        return false;
    *ms = (int64_t)(zh * 60 + zm) * 60000 * (sign == '-' ? -1 : 1);
    return true;
}

/* "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|+HH:MM|-HH:MM]" (UTC without a zone; 1 to 3
 * digits after the dot), as milliseconds since the epoch. */
static int parse_iso(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d))
        return -EINVAL;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
            return -EINVAL;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &sec))
                return -EINVAL;
        }
        if (*s == '.') { /* up to three digits of a second */
            s++;
            int scale = 100;
            if (!isdigit((unsigned char)*s))
                return -EINVAL;
            for (; isdigit((unsigned char)*s) && scale; s++, scale /= 10)
                ms += (*s - '0') * scale;
        }
    }
    int64_t zone = 0;
    if (!zone_offset(&s, &zone))
        return -EINVAL;
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *out = (int64_t)t * 1000 + ms - zone;
    return 0;
}

int when_parse(const char *s, int64_t now_ms, int64_t *out)
{
    int64_t v;
    if (*s == '-' || *s == '+') {
        int rc = parse_duration(s + 1, &v);
        if (!rc)
            *out = *s == '-' ? now_ms - v : now_ms + v;
        return rc;
    }
    if (strchr(s, '-'))
        return parse_iso(s, out);
    return parse_count(s, out);
}
