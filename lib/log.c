/*
 * log.c - formats a line into a stack buffer and writes it at once.
 *
 * Messages carry names peers chose (client, group and member ids, topic names in
 * errors), so control characters in a message are written as \xHH: no request can
 * end a line early, forge the next one, or send escape sequences to a terminal.
 */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
static int level = -1; /* -1: not yet read from the environment */

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
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        enum log_level parsed = LOG_INFO;
        const char *env = getenv("BROOK_LOG_LEVEL");
        if (env)
            (void)log_level_parse(env, &parsed);
        l = (int)parsed;
        __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    }
    return (enum log_level)l;
}

void log_set_level(enum log_level l)
{
    __atomic_store_n(&level, (int)l, __ATOMIC_RELAXED);
}

void log_write(enum log_level l, const char *component, const char *fmt, ...)
{
    if (l < log_get_level() || l >= LOG_OFF)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ",%03d] %s ", (int)(tv.tv_usec / 1000),
                          names[l]);
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
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
