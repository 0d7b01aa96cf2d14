/*
 * cli.h - the brook tool's private header: what its command files share.
 *
 * The tool uses libbrook only through brook.h, as any application would; this
 * header is the glue between its own files (main.c, output.c, topic.c, produce.c,
 * consume.c, group.c, acl.c) and is not installed. Functions that fail print their one
 * line on stderr themselves and return the exit status (1 at run time, 2 for bad
 * usage), so a command can return what they return.
 */
#ifndef BROOK_CLIENT_CLI_CLI_H
#define BROOK_CLIENT_CLI_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/brook.h"

#define DEFAULT_BROKERS "localhost:9092"
#define READ_CHUNK      (1u << 20)   /* produce reads stdin this much at a time */
#define OUT_FLUSH       (256u << 10) /* consume writes stdout at this much */
#define PROGRESS_MS     500          /* between two progress lines */
#define MAX_HEADERS     64           /* -H options of one produce */
#define MAX_PARTS       1024         /* -p options of one consume */

/* Set by SIGINT and SIGTERM: loops stop, flush and commit what they have. */
extern volatile sig_atomic_t cli_stop;

/* ---- messages and options (main.c) ---- */

/* "brook: <message>" on stderr; returns 1. */
__attribute__((format(printf, 1, 2))) int cli_fail(const char *fmt, ...);

/* As cli_fail(), followed by the broker's own words about the last admin call
 * (brook_error_message()) when it gave any. */
__attribute__((format(printf, 2, 3))) int cli_fail_broker(const struct brook_client *c,
                                                          const char *fmt, ...);

/* "brook: <message> (see brook --help)" on stderr; returns 2. */
__attribute__((format(printf, 1, 2))) int cli_usage_error(const char *fmt, ...);

/* The help text. */
void cli_usage(FILE *out);

/* The options every command accepts. */
struct globals {
    const char *brokers; /* -b, or NULL */
    const char *xs[64];  /* -X key=value, borrowed from argv or a -F file's text */
    size_t nx;
    char *files[4]; /* the text of -F files (freed at exit) */
    size_t nfiles;
    int timeout_ms; /* --timeout */
};

/* A command's own option opt with its argument (NULL if none); 0 or an exit status. */
typedef int opt_handler(void *ctx, int opt, const char *arg);

/* Parse a command's options: the global ones plus spec (getopt letters, with longs
 * when not NULL); handle gets the rest. 0, -1 after --help was printed, or an exit
 * status. The operands start at argv[optind]. */
int cli_parse_opts(int argc, char **argv, const char *spec, const struct option *longs,
                   struct globals *g, opt_handler *handle, void *ctx);

/* An opt_handler for commands without options of their own. */
int cli_no_opts(void *ctx, int opt, const char *arg);

/* A configuration: the brokers, then defaults (key, value pairs, NULL-terminated,
 * or NULL), then every -X. 0 with *out set, or an exit status. */
int cli_conf_make(const struct globals *g, const char *const *defaults, struct brook_conf **out);

/* A client made from conf that has reached the cluster. 0 with *out set, or an
 * exit status. */
int cli_client_open(const struct globals *g, const struct brook_conf *conf,
                    struct brook_client **out);

/* The same from the global settings alone (the brokers and every -X), as the
 * administrative commands need it. 0 with *out set, or an exit status. */
int cli_connect(const struct globals *g, struct brook_client **out);

/* ---- output (output.c) ---- */

/* Monotonic and wall-clock milliseconds. */
int64_t cli_now_ms(void);
int64_t cli_wall_ms(void);

/* Rows of ncols cells; start it as {ncols, head, NULL, 0, 0}. */
struct table {
    size_t ncols; /* at most 16 */
    const char *const *head;
    char **cells; /* row after row; a NULL cell (out of memory) prints empty */
    size_t n, cap;
};

/* Append one formatted cell. */
__attribute__((format(printf, 2, 3))) void table_cell(struct table *t, const char *fmt, ...);

/* Print t (aligned with a header on a terminal, tab-separated otherwise) and empty it. */
void table_print(struct table *t);

/* "1,2,3" (malloc'd), or NULL when out of memory. */
char *cli_ids_str(const int32_t *v, size_t n);

/* A progress line on stderr, when stderr is a terminal. */
struct progress {
    bool on;
    const char *verb; /* "produced", "consumed" */
    int64_t start, last;
    uint64_t records, bytes;
    bool shown;
};

void progress_init(struct progress *p, const char *verb);

/* Show the counts if PROGRESS_MS has passed since the last line, or when force. */
void progress_show(struct progress *p, bool force);

/* Erase the line. */
void progress_end(struct progress *p);

/* Write b to stdout and empty it; false when the reader has gone away or the write
 * failed (*err set to errno). */
bool cli_out_write(struct brook_buf *b, int *err);

/* The message for err about topic ("does not exist" for an unknown topic); returns 1. */
int cli_topic_error(const char *topic, int err);

/* ---- commands: argv[0] is the command's name; each returns the exit status ---- */

int cli_topic(int argc, char **argv, struct globals *g);
int cli_metadata(int argc, char **argv, struct globals *g);
/* mount.c: brook mount DIR - the cluster as files until SIGINT/SIGTERM. */
int cli_mount(int argc, char **argv, struct globals *g);
int cli_produce(int argc, char **argv, struct globals *g);
int cli_consume(int argc, char **argv, struct globals *g);
int cli_group(int argc, char **argv, struct globals *g);
int cli_user(int argc, char **argv, struct globals *g);
int cli_acl(int argc, char **argv, struct globals *g);

#endif
