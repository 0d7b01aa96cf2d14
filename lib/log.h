/*
 * log.h - Kafka-style log lines on stderr.
 *
 * A line looks like Kafka's log4j default pattern:
 *   [2026-11-22 16:11:00,123] INFO Ready on 127.0.0.1:9092 (brook.broker)
 * Only the daemon and tools log; library code (store, proto, client) returns errors
 * and leaves reporting to its caller. Lines are written with a single write(2), so
 * lines from different threads never interleave.
 */
#ifndef BROOK_LIB_LOG_H
#define BROOK_LIB_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Lines below this level are dropped (default LOG_INFO, or BROOK_LOG_LEVEL from
 * the environment: DEBUG, INFO, WARN, ERROR, OFF). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parse "DEBUG"/"INFO"/...; returns 0 and sets *out, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Emit one line; component names the source, e.g. "brook.store". */
void log_write(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A call site whose cause a peer controls (a refused connection, a hostile request)
 * must not let the peer fill the disk: log_warn_every() writes at most
 * LOG_EVERY_BURST lines per LOG_EVERY_MS from one call site, counts the rest, and
 * prefixes the next line it writes with how many it left out ("... 58900000 more in
 * the last 10 s"). Thread-safe; the state is one static per call site.
 */
#define LOG_EVERY_MS    10000
#define LOG_EVERY_BURST 5
struct log_limit {
    long long window_ms;  /* monotonic start of the current window (0: none yet) */
    long long written;    /* lines written in this window */
    long long suppressed; /* lines left out since the last one written */
    long long last_ms;    /* monotonic: when the last line was written */
};
void log_write_limited(struct log_limit *limit, enum log_level level, const char *component,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define log_warn_every(c, ...)                                                                     \
    do {                                                                                           \
        static struct log_limit log_limit_;                                                        \
        log_write_limited(&log_limit_, LOG_WARN, c, __VA_ARGS__);                                  \
    } while (0)

#define log_debug(c, ...) log_write(LOG_DEBUG, c, __VA_ARGS__)
#define log_info(c, ...)  log_write(LOG_INFO, c, __VA_ARGS__)
#define log_warn(c, ...)  log_write(LOG_WARN, c, __VA_ARGS__)
#define log_error(c, ...) log_write(LOG_ERROR, c, __VA_ARGS__)

#endif
