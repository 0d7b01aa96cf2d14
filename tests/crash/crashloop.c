/*
 * crashloop.c - the writing and the checking side of the crash loop (loop.sh).
 *
 *   crashloop produce BROKER TOPIC DIR [-n PRODUCERS] [-i IDEMPOTENT] [-p PARTITIONS]
 *                     [-r RECORDS_PER_S]
 *       create TOPIC, then run PRODUCERS librdkafka producers (acks=-1), the first
 *       IDEMPOTENT of them with enable.idempotence, until SIGTERM; then flush, and
 *       write what each had acknowledged to DIR/k<i>.acks
 *   crashloop fuse FILE DIR [-n WRITERS]
 *       run WRITERS threads that append one line at a time to FILE (a topic file
 *       of the FUSE view) until SIGTERM; write DIR/f<i>.acks
 *   crashloop check BROKER TOPIC DIR [-f FILE]
 *       consume every partition of TOPIC from its start to its high watermark and
 *       check it against DIR/\*.acks; with -f, also that FILE (the topic file) holds
 *       the same records as Kafka serves
 *
 * Every record's value is one line of text:
 *
 *   <source> <sequence> <crc> <payload>      e.g.  "k3 1047 5f0c1a2e q8x0..."
 *
 * source names the writer (k<i>: Kafka producer i, f<i>: FUSE writer i), sequence
 * counts that writer's records from 0, crc is the CRC-32C of the payload in eight
 * hex digits, and the payload (8 to 200 characters of [a-z0-9]) is a function of
 * (source, sequence), so the checker can rebuild the whole record. A record is
 * corrupt when it does not parse, names no known writer or a sequence it never
 * sent, fails its CRC, or differs in any byte from the record rebuilt.
 *
 * Acknowledged means: for a producer, a delivery report without error (acks=-1:
 * brookd answered after the fdatasync covering the batch); for a FUSE writer, a
 * line whose open(O_APPEND), write() and close() all succeeded (brookd answers
 * FLUSH once the line is durable). A writer opens without O_CREAT: while brookd
 * restarts, the mount point is briefly the bare directory beneath, where O_CREAT
 * would make a file that the new mount then hides - lines "acknowledged" into
 * nowhere. An unacknowledged FUSE line is retried as is until it is acknowledged,
 * so each writer's lines are in sequence order; producers without idempotence
 * keep one request in flight for the same reason (librdkafka retries a batch
 * before sending the next one).
 *
 * An .acks file is text: "sent N", "info TEXT", "fatal N", then one "FIRST LAST"
 * line per run of acknowledged sequences.
 *
 * The check, per writer: every acknowledged sequence is in the log (else lost);
 * within each partition, the sequences seen for the first time there increase
 * (else reordered); further copies are duplicates (counted, not failures - except
 * for idempotent producers, whose retries brook must recognise, across restarts
 * too); records present but never acknowledged are counted too. Lost, corrupt or
 * reordered records, consumer errors, or a producer that hit a fatal error fail
 * the check.
 * Figures go out as "# ..." lines, results as "ok - ..." / "not ok - ...".
 *
 * Every wait is bounded: producers flush for at most FLUSH_MS at the end, the
 * check gives up after CHECK_MS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lib/clock.h"
#include "lib/crc32c.h"
#include "tests/rdk.h"
#include "tests/tap.h"

#define MAX_PRODUCERS  16
#define MAX_WRITERS    16
#define MAX_PARTITIONS 16
#define MAX_SOURCES    (MAX_PRODUCERS + MAX_WRITERS)
#define MAX_VALUE      256
#define FLUSH_MS       60000
#define CHECK_MS       300000
#define RETRY_PAUSE_MS 10
#define SHOW_MAX       5 /* examples printed per kind of problem */

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

_Noreturn static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crashloop: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

/* ---- the record format ---- */

static uint64_t fnv64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* The payload of (source, seq) into buf (at least 201 bytes); returns its length. */
static size_t payload_of(const char *source, int64_t seq, char *buf)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = fnv64(source, strlen(source)) ^ ((uint64_t)seq * 0x9e3779b97f4a7c15ull);
    x |= 1;
    size_t len = 8 + (size_t)(x % 193);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = alphabet[x % 36];
    }
    return len;
}

/* The whole value "<source> <seq> <crc> <payload>" into buf[MAX_VALUE]; its length. */
static size_t value_of(const char *source, int64_t seq, char *buf)
{
    char payload[MAX_VALUE];
    size_t plen = payload_of(source, seq, payload);
    int n = snprintf(buf, MAX_VALUE, "%s %" PRId64 " %08x ", source, seq, crc32c(0, payload, plen));
    memcpy(buf + n, payload, plen);
    return (size_t)n + plen;
}

/* A record's writer, sequence and payload; false when it does not parse. */
struct parsed {
    char source[16];
    int64_t seq;
    uint32_t crc;
    const char *payload;
    size_t plen;
};

static bool value_parse(const char *v, size_t len, struct parsed *out)
{
    char buf[MAX_VALUE + 1];
    if (!v || len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, v, len);
    buf[len] = 0;
    char *sp1 = memchr(buf, ' ', len);
    if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof out->source)
        return false;
    memcpy(out->source, buf, (size_t)(sp1 - buf));
    out->source[sp1 - buf] = 0;
    char *end;
    errno = 0;
    long long seq = strtoll(sp1 + 1, &end, 10);
    if (errno || end == sp1 + 1 || *end != ' ' || seq < 0)
        return false;
    char *crc_at = end + 1, *crc_end;
    unsigned long crc = strtoul(crc_at, &crc_end, 16);
    if (crc_end != crc_at + 8 || *crc_end != ' ')
        return false;
    out->seq = seq;
    out->crc = (uint32_t)crc;
    out->payload = v + (crc_end + 1 - buf);
    out->plen = len - (size_t)(crc_end + 1 - buf);
    return true;
}

/* ---- sets of acknowledged sequences, and their files ---- */

struct seqs {
    uint8_t *acked; /* [cap]: 1 when acknowledged */
    int64_t cap;
    int64_t sent; /* sequences handed out: [0, sent) */
};

static void seqs_reserve(struct seqs *s, int64_t n)
{
    if (n <= s->cap)
        return;
    int64_t cap = s->cap ? s->cap * 2 : 1 << 16;
    while (cap < n)
        cap *= 2;
    s->acked = xrealloc(s->acked, (size_t)cap);
    memset(s->acked + s->cap, 0, (size_t)(cap - s->cap));
    s->cap = cap;
}

static int64_t seqs_count(const struct seqs *s)
{
    int64_t n = 0;
    for (int64_t i = 0; i < s->sent; i++)
        n += s->acked[i];
    return n;
}

/* Write DIR/<source>.acks (through a temporary file and rename). */
static void acks_write(const char *dir, const char *source, const struct seqs *s, const char *info,
                       int fatal)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s.acks", dir, source);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        die("%s: %s", tmp, strerror(errno));
    fprintf(f, "sent %" PRId64 "\ninfo %s\nfatal %d\n", s->sent, info, fatal);
    for (int64_t i = 0; i < s->sent;) {
        if (!s->acked[i]) {
            i++;
            continue;
        }
        int64_t j = i;
        while (j + 1 < s->sent && s->acked[j + 1])
            j++;
        fprintf(f, "%" PRId64 " %" PRId64 "\n", i, j);
        i = j + 1;
    }
    if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path))
        die("%s: %s", path, strerror(errno));
}

/* ---- produce ---- */

struct producer {
    char source[16];
    bool idempotent;
    const char *codec;
    rd_kafka_t *rk;
    struct seqs seqs;
    int64_t delivery_errors;
    int fatal;         /* fatal errors seen (each ends an instance) */
    bool fatal_now;    /* set by the error callback, handled by the main loop */
    int64_t transport; /* transport errors reported (connection refused, ...) */
};

static int stopping; /* set once by a signal (handler or sigwait), read by every thread */

static bool stop_asked(void)
{
    return __atomic_load_n(&stopping, __ATOMIC_RELAXED);
}

static void on_stop(int sig)
{
    (void)sig;
    __atomic_store_n(&stopping, 1, __ATOMIC_RELAXED); /* lock-free: fine in a handler */
}

/* Delivery reports, served by rd_kafka_poll/flush on the main thread. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct producer *pr = opaque;
    int64_t seq = (int64_t)(intptr_t)m->_private;
    if (m->err)
        pr->delivery_errors++;
    else if (seq >= 0 && seq < pr->seqs.sent)
        pr->seqs.acked[seq] = 1;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct producer *pr = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof why);
        fprintf(stderr, "%s: FATAL: %s\n", pr->source, why);
        pr->fatal_now = true;
        return;
    }
    pr->transport++;
    fprintf(stderr, "%s: %s: %s\n", pr->source, rd_kafka_err2name(err), reason);
}

/* A new librdkafka instance for pr: reconnects quickly to a restarted broker. */
static void producer_open(struct producer *pr, const char *broker)
{
    char err[512];
    rd_kafka_conf_t *conf =
        rdk_conf(broker, "acks", "all", "linger.ms", "5", "compression.codec", pr->codec,
                 "enable.idempotence", pr->idempotent ? "true" : "false",
                 "max.in.flight.requests.per.connection", pr->idempotent ? "5" : "1",
                 "message.timeout.ms", "120000", "retry.backoff.ms", "20", "reconnect.backoff.ms",
                 "10", "reconnect.backoff.max.ms", "200", "queue.buffering.max.messages", "50000",
                 "topic.metadata.refresh.interval.ms", "5000", "log_level", "4", NULL);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, pr);
    pr->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!pr->rk)
        die("rd_kafka_new: %s", err);
}

/* End pr's instance: flush what the broker will still take (at most ms), then
 * drop the rest (unacknowledged). */
static void producer_close(struct producer *pr, int ms)
{
    rd_kafka_flush(pr->rk, ms);
    rd_kafka_purge(pr->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(pr->rk, 0);
    rd_kafka_destroy(pr->rk);
    pr->rk = NULL;
}

/* Hand one record to pr; false when librdkafka's queue is full. */
static bool producer_send(struct producer *pr, const char *topic)
{
    char value[MAX_VALUE];
    int64_t seq = pr->seqs.sent;
    seqs_reserve(&pr->seqs, seq + 1);
    size_t len = value_of(pr->source, seq, value);
    rd_kafka_resp_err_t e =
        rd_kafka_producev(pr->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(value, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        pr->seqs.sent++; /* reports are served by rd_kafka_poll, never in here */
        return true;
    }
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL && e != RD_KAFKA_RESP_ERR__FATAL)
        die("%s: produce: %s", pr->source, rd_kafka_err2str(e));
    return false;
}

static int cmd_produce(const char *broker, const char *topic, const char *dir, int n, int idem,
                       int partitions, double rate)
{
    static const char *const codecs[] = {"none", "lz4", "zstd", "gzip", "snappy"};
    static struct producer prs[MAX_PRODUCERS];
    if (rdk_create_topic(broker, topic, partitions))
        die("cannot create topic %s", topic);
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    for (int i = 0; i < n; i++) {
        struct producer *pr = &prs[i];
        snprintf(pr->source, sizeof pr->source, "k%d", i);
        pr->idempotent = i < idem;
        pr->codec = codecs[i % 5];
        producer_open(pr, broker);
    }
    int64_t start = clock_mono_ms();
    while (!stop_asked()) {
        double elapsed = (double)(clock_mono_ms() - start) / 1000.0;
        /* each producer its share of the rate, in bursts of at most 100 */
        int64_t allowed = rate > 0 ? (int64_t)(rate / n * elapsed) + 100 : INT64_MAX;
        bool progress = false;
        for (int i = 0; i < n; i++) {
            struct producer *pr = &prs[i];
            for (int k = 0; k < 100 && pr->seqs.sent < allowed && producer_send(pr, topic); k++)
                progress = true;
            rd_kafka_poll(pr->rk, 0);
            if (pr->fatal_now) { /* the instance is done for: a new one goes on */
                pr->fatal++;
                pr->fatal_now = false;
                producer_close(pr, 1000);
                producer_open(pr, broker);
            }
        }
        if (!progress)
            rd_kafka_poll(prs[0].rk, 1); /* paced, or every queue full */
    }
    int64_t deadline = clock_mono_ms() + FLUSH_MS;
    for (int i = 0; i < n; i++) {
        int64_t left = deadline - clock_mono_ms();
        producer_close(&prs[i], left > 0 ? (int)left : 0);
    }
    double secs = (double)(clock_mono_ms() - start) / 1000.0;
    int fatal = 0;
    int64_t acked = 0;
    for (int i = 0; i < n; i++) {
        struct producer *pr = &prs[i];
        char info[128];
        snprintf(info, sizeof info, "producer, %s, %s", pr->idempotent ? "idempotent" : "plain",
                 pr->codec);
        acks_write(dir, pr->source, &pr->seqs, info, pr->fatal);
        int64_t a = seqs_count(&pr->seqs);
        printf("# %s (%s): %" PRId64 " sent, %" PRId64 " acknowledged, %" PRId64
               " delivery errors, %" PRId64 " transport errors, %d fatal\n",
               pr->source, info, pr->seqs.sent, a, pr->delivery_errors, pr->transport, pr->fatal);
        acked += a;
        fatal += pr->fatal;
        free(pr->seqs.acked);
    }
    printf("# producers: %" PRId64 " records acknowledged in %.1f s (%.0f/s)\n", acked, secs,
           secs > 0 ? (double)acked / secs : 0.0);
    fflush(stdout);
    return fatal ? 1 : 0;
}

/* ---- FUSE writers ---- */

struct writer {
    char source[16];
    const char *file;
    struct seqs seqs;
    int64_t failed_opens, failed_writes, failed_closes;
    int last_errno;
    pthread_t thread;
};

/* One line at a time: open(O_APPEND) - write - close, as `echo line >> FILE` does
 * (but without O_CREAT, see the top). A failed line is retried until it goes in. */
static void *writer_run(void *arg)
{
    struct writer *w = arg;
    char line[MAX_VALUE + 1];
    for (int64_t seq = 0; !stop_asked();) {
        seqs_reserve(&w->seqs, seq + 1);
        size_t len = value_of(w->source, seq, line);
        line[len++] = '\n';
        int fd = open(w->file, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            w->failed_opens++;
            w->last_errno = errno;
            pause_ms(RETRY_PAUSE_MS); /* brookd is away: try again shortly */
            continue;
        }
        w->seqs.sent = seq + 1; /* from now on the line may be in the log */
        ssize_t got = write(fd, line, len);
        bool wrote = got == (ssize_t)len;
        if (!wrote) {
            w->failed_writes++;
            w->last_errno = got < 0 ? errno : EIO;
        }
        if (close(fd) != 0) {
            w->failed_closes++;
            w->last_errno = errno;
        } else if (wrote) {
            w->seqs.acked[seq++] = 1;
            continue;
        }
        pause_ms(RETRY_PAUSE_MS); /* and the same line again */
    }
    return NULL;
}

static int cmd_fuse(const char *file, const char *dir, int n)
{
    static struct writer ws[MAX_WRITERS];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the writers never see the signal */
    int64_t start = clock_mono_ms();
    for (int i = 0; i < n; i++) {
        snprintf(ws[i].source, sizeof ws[i].source, "f%d", i);
        ws[i].file = file;
        if (pthread_create(&ws[i].thread, NULL, writer_run, &ws[i]))
            die("pthread_create failed");
    }
    int sig;
    sigwait(&set, &sig);
    on_stop(sig);
    int64_t acked = 0;
    for (int i = 0; i < n; i++) {
        struct writer *w = &ws[i];
        pthread_join(w->thread, NULL);
        acks_write(dir, w->source, &w->seqs, "FUSE writer", 0);
        int64_t a = seqs_count(&w->seqs);
        printf("# %s (FUSE writer): %" PRId64 " lines acknowledged; failed opens %" PRId64
               ", writes %" PRId64 ", closes %" PRId64 " (last: %s)\n",
               w->source, a, w->failed_opens, w->failed_writes, w->failed_closes,
               w->last_errno ? strerror(w->last_errno) : "none");
        acked += a;
        free(w->seqs.acked);
    }
    double secs = (double)(clock_mono_ms() - start) / 1000.0;
    printf("# FUSE writers: %" PRId64 " lines acknowledged in %.1f s (%.0f/s)\n", acked, secs,
           secs > 0 ? (double)acked / secs : 0.0);
    fflush(stdout);
    return 0;
}

/* ---- check ---- */

struct source {
    char name[16];
    char info[128];
    struct seqs seqs;
    int fatal;
    uint8_t *copies;                  /* [sent]: copies found, saturating at 255 */
    uint16_t *parts;                  /* [sent]: partitions it was found in, one bit each */
    int64_t last_new[MAX_PARTITIONS]; /* per partition: last sequence first seen there */
    int64_t acked, found, lost, dups, unacked, reordered;
};

static struct source sources[MAX_SOURCES];
static int n_sources;

static void acks_read(const char *path, struct source *src)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: %s", path, strerror(errno));
    char line[512];
    long long a, b;
    if (!fgets(line, sizeof line, f) || sscanf(line, "sent %lld", &a) != 1 || a < 0)
        die("%s: no sent line", path);
    src->seqs.sent = a;
    seqs_reserve(&src->seqs, a + 1);
    src->copies = calloc((size_t)a + 1, 1);
    src->parts = calloc((size_t)a + 1, sizeof *src->parts);
    if (!src->copies || !src->parts)
        die("out of memory");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "info ", 5))
            snprintf(src->info, sizeof src->info, "%.100s", line + 5);
        else if (sscanf(line, "fatal %lld", &a) == 1)
            src->fatal = (int)a;
        else if (sscanf(line, "%lld %lld", &a, &b) == 2 && 0 <= a && a <= b && b < src->seqs.sent)
            memset(src->seqs.acked + a, 1, (size_t)(b - a + 1));
        else
            die("%s: bad line '%s'", path, line);
    }
    fclose(f);
    for (int p = 0; p < MAX_PARTITIONS; p++)
        src->last_new[p] = -1;
}

/* k0 k1 ... f0 f1 ...: Kafka producers first, each kind in number order */
static int cmp_source(const void *a, const void *b)
{
    const struct source *x = a, *y = b;
    if (x->name[0] != y->name[0])
        return x->name[0] == 'k' ? -1 : y->name[0] == 'k';
    size_t lx = strlen(x->name), ly = strlen(y->name);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

static void sources_load(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        die("%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".acks"))
            continue;
        if (n_sources == MAX_SOURCES || len - 5 >= sizeof sources[0].name)
            die("too many or oddly named .acks files");
        struct source *src = &sources[n_sources++];
        memcpy(src->name, e->d_name, len - 5);
        src->name[len - 5] = 0;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        acks_read(path, src);
    }
    closedir(d);
    qsort(sources, (size_t)n_sources, sizeof *sources, cmp_source);
}

static struct source *source_find(const char *name)
{
    for (int i = 0; i < n_sources; i++)
        if (!strcmp(sources[i].name, name))
            return &sources[i];
    return NULL;
}

/* Value hashes, to compare what Kafka serves with what the topic file shows. */
struct hashes {
    uint64_t *v;
    size_t n, cap;
};

static void hashes_add(struct hashes *h, const void *p, size_t n)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1 << 16;
        h->v = xrealloc(h->v, h->cap * sizeof *h->v);
    }
    h->v[h->n++] = fnv64(p, n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t corrupt, records, consumer_errors;

/* Account for one record read at partition p. */
static void check_record(int32_t p, int64_t offset, const char *v, size_t len)
{
    records++;
    struct parsed r;
    struct source *src = NULL;
    char want[MAX_VALUE];
    const char *why = NULL;
    if (!value_parse(v, len, &r))
        why = "does not parse";
    else if (!(src = source_find(r.source)) || r.seq >= src->seqs.sent)
        why = "names a writer or sequence never sent";
    else if (crc32c(0, r.payload, r.plen) != r.crc)
        why = "fails its CRC";
    else if (value_of(r.source, r.seq, want) != len || memcmp(want, v, len))
        why = "differs from the record sent";
    if (why) {
        if (corrupt++ < SHOW_MAX)
            printf("# corrupt record at %d/%" PRId64 " (%zu bytes) %s: %.*s\n", (int)p, offset, len,
                   why, (int)(len < 60 ? len : 60), v ? v : "");
        return;
    }
    uint16_t bit = (uint16_t)(1u << p);
    if (src->copies[r.seq] < 255)
        src->copies[r.seq]++;
    if (src->parts[r.seq] & bit)
        return; /* a copy in a partition that has it already: a duplicate */
    src->parts[r.seq] |= bit;
    if (r.seq <= src->last_new[p]) {
        if (src->reordered++ < SHOW_MAX)
            printf("# %s: sequence %" PRId64 " at %d/%" PRId64 " after %" PRId64 "\n", src->name,
                   r.seq, (int)p, offset, src->last_new[p]);
    } else {
        src->last_new[p] = r.seq;
    }
}

/* Read every partition from its start to its high watermark (as of now). */
static int consume_all(const char *broker, const char *topic, struct hashes *kafka)
{
    char err[512];
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER,
                     rdk_conf(broker, "group.id", "crashloop-check", "enable.auto.commit", "false",
                              "enable.partition.eof", "false", "check.crcs", "true", NULL),
                     err, sizeof err);
    if (!rk)
        die("rd_kafka_new: %s", err);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 30000) || md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt < 1 || md->topics[0].partition_cnt > MAX_PARTITIONS)
        die("no metadata for %s", topic);
    int np = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t high[MAX_PARTITIONS], next[MAX_PARTITIONS];
    int pending = 0;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &high[p], 30000))
            die("no watermarks for %s-%d", topic, p);
        next[p] = lo;
        pending += next[p] < high[p];
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    int64_t deadline = clock_mono_ms() + CHECK_MS;
    while (pending > 0 && clock_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__BAD_MSG)
                corrupt++;
            if (consumer_errors++ < SHOW_MAX)
                printf("# consumer error: %s\n", rd_kafka_message_errstr(m));
        } else if (m->partition >= 0 && m->partition < np && m->offset < high[m->partition]) {
            if (m->offset != next[m->partition] && consumer_errors++ < SHOW_MAX)
                printf("# partition %d: offset %" PRId64 " where %" PRId64 " was next\n",
                       (int)m->partition, m->offset, next[m->partition]);
            check_record(m->partition, m->offset, m->payload, m->len);
            hashes_add(kafka, m->payload, m->len);
            next[m->partition] = m->offset + 1;
            if (next[m->partition] >= high[m->partition])
                pending--;
        }
        rd_kafka_message_destroy(m);
    }
    if (pending > 0) {
        consumer_errors++;
        for (int p = 0; p < np; p++)
            if (next[p] < high[p])
                printf("# partition %d read to %" PRId64 " of %" PRId64 " within %d s\n", p,
                       next[p], high[p], CHECK_MS / 1000);
    }
    int64_t total = 0;
    for (int p = 0; p < np; p++)
        total += high[p];
    printf("# %d partitions, high watermarks summing to %" PRId64 "\n", np, total);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

/* The topic file's lines hashed into out; -1 when a line is unterminated. */
static int read_topic_file(const char *path, struct hashes *out, int64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    static char buf[1 << 20];
    char line[MAX_VALUE + 1];
    size_t have = 0;
    bool overlong = false;
    int rc = 0;
    *bytes = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        *bytes += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                hashes_add(out, line, overlong ? sizeof line : have);
                have = 0;
                overlong = false;
            } else if (have < sizeof line) {
                line[have++] = buf[i];
            } else {
                overlong = true;
            }
        }
    }
    close(fd);
    return rc || have ? -1 : 0;
}

static int cmd_check(const char *broker, const char *topic, const char *dir, const char *file)
{
    sources_load(dir);
    if (n_sources == 0)
        die("no .acks files in %s", dir);
    struct hashes kafka = {0}, view = {0};
    int64_t start = clock_mono_ms();
    consume_all(broker, topic, &kafka);
    double secs = (double)(clock_mono_ms() - start) / 1000.0;
    int64_t acked = 0, found = 0, lost = 0, dups = 0, unacked = 0, reordered = 0, fatal = 0;
    int64_t idem_dups = 0;
    for (int i = 0; i < n_sources; i++) {
        struct source *src = &sources[i];
        int shown = 0;
        for (int64_t s = 0; s < src->seqs.sent; s++) {
            int c = src->copies[s];
            if (src->seqs.acked[s]) {
                src->acked++;
                if (c) {
                    src->found++;
                } else {
                    src->lost++;
                    if (shown++ < SHOW_MAX)
                        printf("# lost: %s %" PRId64 "\n", src->name, s);
                }
            } else if (c) {
                src->unacked++;
            }
            if (c > 1)
                src->dups += c - 1;
        }
        printf("# %s (%s): sent %" PRId64 ", acknowledged %" PRId64 ", found %" PRId64
               ", lost %" PRId64 ", duplicates %" PRId64 ", unacknowledged but present %" PRId64
               ", reordered %" PRId64 "\n",
               src->name, src->info, src->seqs.sent, src->acked, src->found, src->lost, src->dups,
               src->unacked, src->reordered);
        acked += src->acked;
        found += src->found;
        lost += src->lost;
        dups += src->dups;
        if (strstr(src->info, "idempotent"))
            idem_dups += src->dups;
        unacked += src->unacked;
        reordered += src->reordered;
        fatal += src->fatal;
    }
    printf("# records in the log %" PRId64 " (read in %.1f s); acknowledged %" PRId64
           ", found %" PRId64 ", lost %" PRId64 ", corrupt %" PRId64 ", duplicates %" PRId64
           ", unacknowledged but present %" PRId64 "\n",
           records, secs, acked, found, lost, corrupt, dups, unacked);
    result(acked > 0, "records were acknowledged (%" PRId64 ")", acked);
    result(lost == 0, "every acknowledged record is in the log (%" PRId64 " of %" PRId64 ")", found,
           acked);
    result(corrupt == 0, "no corrupt record is served (%" PRId64 ")", corrupt);
    result(reordered == 0, "no writer's records out of order in a partition (%" PRId64 ")",
           reordered);
    result(idem_dups == 0, "idempotent producers' retries left no duplicates (%" PRId64 ")",
           idem_dups);
    result(consumer_errors == 0, "every partition reads back to its high watermark without errors");
    result(fatal == 0, "no producer hit a fatal error (%" PRId64 ")", fatal);
    if (file) {
        int64_t bytes = 0;
        int rc = read_topic_file(file, &view, &bytes);
        qsort(kafka.v, kafka.n, sizeof *kafka.v, cmp_u64);
        qsort(view.v, view.n, sizeof *view.v, cmp_u64);
        bool same = rc == 0 && kafka.n == view.n &&
                    (kafka.n == 0 || !memcmp(kafka.v, view.v, kafka.n * sizeof *kafka.v));
        result(same,
               "the topic file shows the same records as Kafka consumers get (%zu lines, %" PRId64
               " bytes; %zu records)",
               view.n, bytes, kafka.n);
    }
    free(kafka.v);
    free(view.v);
    for (int i = 0; i < n_sources; i++) {
        free(sources[i].seqs.acked);
        free(sources[i].copies);
        free(sources[i].parts);
    }
    return failures ? 1 : 0;
}

/* ---- main ---- */

static int int_opt(const char *s, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        die("bad number '%s' (%d..%d)", s, lo, hi);
    return (int)v;
}

static void usage(void)
{
    fprintf(stderr, "usage: crashloop produce BROKER TOPIC DIR [-n N] [-i N] [-p N] [-r RATE]\n"
                    "       crashloop fuse FILE DIR [-n N]\n"
                    "       crashloop check BROKER TOPIC DIR [-f FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    int nargs = !strcmp(cmd, "fuse") ? 2 : 3;
    if (argc < 2 + nargs)
        usage();
    char **pos = argv + 2;
    int n = !strcmp(cmd, "fuse") ? 2 : 4, idem = -1, partitions = 4;
    double rate = 0;
    const char *file = NULL;
    for (int i = 2 + nargs; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(argv[i - 1], "-n"))
            n = int_opt(v, 1, MAX_PRODUCERS);
        else if (!strcmp(argv[i - 1], "-i"))
            idem = int_opt(v, 0, MAX_PRODUCERS);
        else if (!strcmp(argv[i - 1], "-p"))
            partitions = int_opt(v, 1, MAX_PARTITIONS);
        else if (!strcmp(argv[i - 1], "-r"))
            rate = int_opt(v, 0, 10000000);
        else if (!strcmp(argv[i - 1], "-f"))
            file = v;
        else
            usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "produce"))
        return cmd_produce(pos[0], pos[1], pos[2], n, idem < 0 ? n / 2 : idem, partitions, rate);
    if (!strcmp(cmd, "fuse"))
        return cmd_fuse(pos[0], pos[1], n);
    if (!strcmp(cmd, "check"))
        return cmd_check(pos[0], pos[1], pos[2], file);
    usage();
    return 2;
}
