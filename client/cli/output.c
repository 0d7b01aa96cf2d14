/*
 * output.c - what the commands print through: tables, progress, stdout, clocks.
 *
 * Tables get Kafka's column headers and aligned columns on a terminal, and plain
 * tab-separated rows (no header) when piped, so scripts can cut and sort them; a
 * progress line goes to stderr during long produce and consume runs when stderr
 * is a terminal, and is erased when the run ends.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/cli/cli.h"
#include "lib/grow.h"

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cli_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tables ---- */

void table_cell(struct table *t, const char *fmt, ...)
{
    if (ARRAY_GROW(t->cells, t->cap, t->n + 1))
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&t->cells[t->n], fmt, ap) < 0)
        t->cells[t->n] = NULL;
    va_end(ap);
    t->n++;
}

void table_print(struct table *t)
{
    bool tty = isatty(STDOUT_FILENO);
    size_t w[16] = {0};
    for (size_t c = 0; tty && c < t->ncols; c++)
        w[c] = strlen(t->head[c]);
    for (size_t i = 0; i < t->n; i++)
        if (t->cells[i] && strlen(t->cells[i]) > w[i % t->ncols])
            w[i % t->ncols] = strlen(t->cells[i]);
    for (size_t c = 0; tty && c < t->ncols; c++)
        printf("%-*s%s", c + 1 < t->ncols ? (int)w[c] : 0, t->head[c],
               c + 1 < t->ncols ? "  " : "\n");
    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->ncols;
        const char *s = t->cells[i] ? t->cells[i] : "";
        bool last = c + 1 == t->ncols;
        if (tty)
            printf("%-*s%s", last ? 0 : (int)w[c], s, last ? "\n" : "  ");
        else
            printf("%s%s", s, last ? "\n" : "\t");
    }
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n = t->cap = 0;
}

char *cli_ids_str(const int32_t *v, size_t n)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", v[i]);
    fclose(f);
    return s;
}

/* ---- progress ---- */

void progress_init(struct progress *p, const char *verb)
{
    p->on = isatty(STDERR_FILENO);
    p->verb = verb;
    p->start = p->last = cli_now_ms();
}

void progress_show(struct progress *p, bool force)
{
    if (!p->on)
        return;
    int64_t t = cli_now_ms();
    if (!force && (t - p->last < PROGRESS_MS || t - p->start < 1000))
        return;
    p->last = t;
    double secs = (double)(t - p->start) / 1000.0;
    fprintf(stderr, "\r%s %" PRIu64 " records, %.1f MB (%.0f records/s)\033[K", p->verb, p->records,
            (double)p->bytes / 1e6, secs > 0 ? (double)p->records / secs : 0.0);
    p->shown = true;
}

void progress_end(struct progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
}

/* ---- output ---- */

/* Write the whole buffer to stdout; false when the reader has gone away or the
 * write failed (*err set to errno). */
bool cli_out_write(struct brook_buf *b, int *err)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(STDOUT_FILENO, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *err = n < 0 ? errno : EIO;
            return false;
        }
        off += (size_t)n;
    }
    b->len = 0;
    return true;
}

/* ---- errors ---- */

int cli_topic_error(const char *topic, int err)
{
    if (err == brook_err_kafka(3))
        return cli_fail("topic '%s' does not exist", topic);
    return cli_fail("topic '%s': %s", topic, brook_strerror(err));
}
