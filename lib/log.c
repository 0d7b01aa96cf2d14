/*
 * log.c - formats a line into a stack buffer and writes it at once.
 *
 * Messages carry names peers chose (client, group and member ids, topic names in
 * errors), so control characters in a message are written as \xHH: no request can
 * end a line early, forge the next one, or send escape sequences to a terminal.
 */
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
static _Atomic int level = -1; /* -1: not yet read from the environment; any thread */

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_OFF; i++)
        if (!strcasecmp(s, names[i])) {
            *out = (enum log_level)i;
            return 0;
        }
    return -EINVAL;
}

enum log_level log_get_level(void)
{
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        enum log_level parsed = LOG_INFO;
        const char *env = getenv("BROOK_LOG_LEVEL");
        if (env)
            (void)log_level_parse(env, &parsed);
        l = (int)parsed;
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return (enum log_level)l;
}

void log_set_level(enum log_level l)
{
    atomic_store_explicit(&level, (int)l, memory_order_relaxed);
}

static void log_vwrite(enum log_level l, const char *component, const char *prefix, const char *fmt,
                       va_list ap)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ",%03d] %s ", (int)(tv.tv_usec / 1000),
                          names[l]);
    n += (size_t)snprintf(line + n, sizeof line - n, "%s", prefix);
    char msg[2048];
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    for (size_t i = 0; i < len && n < sizeof line - 64; i++) { /* room for the component */
        unsigned char ch = (unsigned char)msg[i];
        if (ch < 0x20 || ch == 0x7f)
            n += (size_t)snprintf(line + n, sizeof line - n, "\\x%02x", ch);
        else
            line[n++] = (char)ch;
    }
    m = snprintf(line + n, sizeof line - n, " (%s)\n", component);
    n += m > 0 ? (size_t)m : 0;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void log_write(enum log_level l, const char *component, const char *fmt, ...)
{
    if (l < log_get_level() || l >= LOG_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(l, component, "", fmt, ap);
    va_end(ap);
}

static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;

void log_write_limited(struct log_limit *lim, enum log_level l, const char *component,
                       const char *fmt, ...)
{
    if (l < log_get_level() || l >= LOG_OFF)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    long long left_out = 0, since_ms = 0;
    pthread_mutex_lock(&limit_mu);
    if (!lim->window_ms || now - lim->window_ms >= LOG_EVERY_MS) {
        lim->window_ms = now;
        lim->written = 0;
    }
    bool write_it = lim->written < LOG_EVERY_BURST;
    if (write_it) {
        lim->written++;
        left_out = lim->suppressed;
        since_ms = now - lim->last_ms;
        lim->suppressed = 0;
        lim->last_ms = now;
    } else {
        lim->suppressed++;
    }
    pthread_mutex_unlock(&limit_mu);
    if (!write_it)
        return;
    char prefix[96] = "";
    if (left_out)
        snprintf(prefix, sizeof prefix, "(%lld more like this in the last %lld s) ", left_out,
                 (since_ms + 999) / 1000);
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(l, component, prefix, fmt, ap);
    va_end(ap);
}
