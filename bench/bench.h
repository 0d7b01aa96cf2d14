/*
 * bench.h - the little the benchmark programs share: how they print results,
 * CPU pinning, latency samples and percentiles, argument parsing.
 *
 * Output contract (bench/run parses it): every figure a program measures is one
 * line "KEY VALUE" on stdout, VALUE a plain decimal number; anything else goes to
 * stderr. A program that cannot measure what it was asked prints "skipped: WHY"
 * on stdout and exits 77, so the suite can report the reason instead of a number.
 *
 * Everything here is static inline: each C file in bench/ builds into a program of its
 * own (the Makefile links one object per program), so there is no shared object.
 */
#ifndef BROOK_BENCH_BENCH_H
#define BROOK_BENCH_BENCH_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"

#define BENCH_SKIP 77 /* exit status: could not measure here, reason printed */

/* Print one figure. */
static inline void bench_put(const char *key, double value)
{
    printf("%s %.3f\n", key, value);
    fflush(stdout);
}

/* Print "skipped: why" and exit BENCH_SKIP. */
static inline void bench_skip(const char *why)
{
    printf("skipped: %s\n", why);
    fflush(stdout);
    exit(BENCH_SKIP);
}

/* Pin the calling thread to one CPU; cpu < 0 leaves it alone. 0 or -errno. */
static inline int bench_pin(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* A size with an optional K/M/G suffix (powers of 1024); -1 when malformed. */
static inline int64_t bench_size(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    switch (*end) {
    case 0: return v;
    case 'k':
    case 'K': v <<= 10; break;
    case 'm':
    case 'M': v <<= 20; break;
    case 'g':
    case 'G': v <<= 30; break;
    default: return -1;
    }
    return end[1] ? -1 : v;
}

/* Latency samples in nanoseconds, grown as needed up to a fixed capacity. */
struct bench_lat {
    int64_t *ns; /* samples, unsorted until bench_lat_report */
    size_t n;    /* samples held */
    size_t cap;  /* most samples kept; later ones are dropped */
};

/* Make room for up to cap samples. 0 or -ENOMEM. */
static inline int bench_lat_init(struct bench_lat *l, size_t cap)
{
    l->ns = calloc(cap ? cap : 1, sizeof *l->ns);
    l->n = 0;
    l->cap = cap;
    return l->ns ? 0 : -ENOMEM;
}

static inline void bench_lat_add(struct bench_lat *l, int64_t ns)
{
    if (l->n < l->cap)
        l->ns[l->n++] = ns;
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of sorted samples, by the nearest-rank method. */
static inline int64_t bench_lat_at(const struct bench_lat *l, double q)
{
    if (!l->n)
        return 0;
    size_t i = (size_t)(q * (double)l->n + 0.999999);
    i = i ? i - 1 : 0;
    return l->ns[i < l->n ? i : l->n - 1];
}

/* Sort and print PREFIX_p50_us, _p99_us, _p999_us, _max_us and PREFIX_samples. */
static inline void bench_lat_report(struct bench_lat *l, const char *prefix)
{
    char key[128];
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.50}, {"p99", 0.99}, {"p999", 0.999}, {"max", 1.0}};
    qsort(l->ns, l->n, sizeof *l->ns, bench_cmp_i64);
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        snprintf(key, sizeof key, "%s_%s_us", prefix, qs[i].name);
        bench_put(key, (double)bench_lat_at(l, qs[i].q) / 1e3);
    }
    snprintf(key, sizeof key, "%s_samples", prefix);
    bench_put(key, (double)l->n);
}

static inline void bench_lat_release(struct bench_lat *l)
{
    free(l->ns);
    l->ns = NULL;
    l->n = l->cap = 0;
}

/* Sleep until the monotonic clock reads at_ns (returns at once if past). */
static inline void bench_sleep_until(int64_t at_ns)
{
    struct timespec ts = {.tv_sec = at_ns / 1000000000, .tv_nsec = at_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/*
 * Message payloads that carry their send time: the first 20 bytes are the
 * monotonic send time in decimal nanoseconds, the rest is filler of printable
 * characters, never a newline - so the same payload works as a FUSE line.
 */
#define BENCH_STAMP 20

static inline void bench_fill(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + i % 26);
}

static inline void bench_stamp(char *buf, size_t len, int64_t ns)
{
    char tmp[BENCH_STAMP + 1];
    snprintf(tmp, sizeof tmp, "%020lld", (long long)ns);
    memcpy(buf, tmp, len < BENCH_STAMP ? len : BENCH_STAMP);
}

/*
 * Latency runs start with priming: the sender sends records stamped 0 every
 * BENCH_PRIME_NS until the reader has seen one (at most BENCH_PRIME_LIMIT_NS), so
 * the schedule starts only once the whole path - connections, metadata, the
 * reader's first fetch - is live, and no record waits for set-up.
 */
#define BENCH_PRIME_NS       10000000LL
#define BENCH_PRIME_LIMIT_NS 10000000000LL

/* The send time in a stamped payload, or -1 if it carries none. */
static inline int64_t bench_unstamp(const char *buf, size_t len)
{
    if (len < BENCH_STAMP)
        return -1;
    int64_t v = 0;
    for (int i = 0; i < BENCH_STAMP; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        v = v * 10 + (buf[i] - '0');
    }
    return v;
}

#endif
