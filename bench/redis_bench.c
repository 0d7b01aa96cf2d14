/*
 * redis_bench.c - the Redis Streams side of the comparison, for the figures
 * redis-benchmark cannot produce: reading a stream in batches, and end-to-end
 * latency at a fixed rate. (Pipelined XADD rates come from redis-benchmark.)
 *
 *   redis_bench xread   -p PORT -k KEY -n COUNT
 *       XREAD COUNT 1000 STREAMS KEY <last id>, from 0-0, until COUNT entries
 *       have arrived: the Redis counterpart of a Kafka consumer's fetches. Timed
 *       from the first batch's arrival to the last (as kafka_bench consume).
 *   redis_bench latency -p PORT -k KEY -r RATE -d SECONDS [-s SIZE]
 *       one connection XADDs a stamped value (bench.h) at RATE per second on an
 *       absolute schedule, pipelined (a second thread reads the replies, as
 *       librdkafka's and libnats's producers are asynchronous too); another
 *       connection waits in XREAD BLOCK and measures now - stamp. The schedule starts once priming
 *       entries (bench.h) reach the reader. KEY should be a fresh stream.
 *
 * The client is the project's own: RESP2 over one socket with a buffered,
 * resumable reader. A reply is walked element by element; a bulk string is
 * handed to a visitor with its depth (enclosing arrays) and its index in its
 * array, which is all an XREAD reply needs to tell ids from values:
 *   [ [key, [ [id, [field, value, ...]], ... ] ] ]  -> id at depth 4 index 0,
 *   values at depth 5, odd indexes.
 * Output: "KEY VALUE" lines (bench.h).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"

#define BUF_CAP   (8 << 20)
#define MAX_DEPTH 16
#define ID_MAX    64

struct resp {
    int fd;
    char *buf;         /* replies read, BUF_CAP bytes */
    size_t start, end; /* unparsed bytes are buf[start, end) */
    char *out;         /* the command being sent, BUF_CAP bytes */
};

/* What a visitor learns about one bulk string; ptr is valid only during the call. */
typedef void (*resp_visit)(void *arg, int depth, int64_t index, const char *ptr, size_t len);

static void die(const char *what, const char *why)
{
    fprintf(stderr, "redis_bench: %s: %s\n", what, why);
    exit(1);
}

static void resp_connect(struct resp *r, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&a, sizeof a))
        die("connect", strerror(errno));
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->buf = malloc(BUF_CAP);
    r->out = malloc(BUF_CAP);
    r->start = r->end = 0;
    if (!r->buf || !r->out)
        die("connect", "out of memory");
}

static void resp_close(struct resp *r)
{
    close(r->fd);
    free(r->buf);
    free(r->out);
}

/* Make n unparsed bytes available at buf + start, reading as needed. */
static void resp_need(struct resp *r, size_t n)
{
    if (n > BUF_CAP)
        die("reply", "element larger than the buffer");
    if (r->start + n > BUF_CAP) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    while (r->end - r->start < n) {
        ssize_t got = read(r->fd, r->buf + r->end, BUF_CAP - r->end);
        if (got <= 0)
            die("read", got ? strerror(errno) : "connection closed");
        r->end += (size_t)got;
    }
}

/* The next "\r\n"-terminated line (without it); advances past it. */
static char *resp_line(struct resp *r, size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        char *p = r->buf + r->start;
        char *cr = memchr(p + scanned, '\r', r->end - r->start - scanned);
        if (cr && cr + 1 < r->buf + r->end) {
            *len = (size_t)(cr - p);
            r->start += *len + 2;
            return p;
        }
        scanned = r->end - r->start ? r->end - r->start - 1 : 0;
        resp_need(r, r->end - r->start + 1);
    }
}

/* Walk one whole reply, calling visit on every bulk string. Dies on an error reply. */
static void resp_reply(struct resp *r, resp_visit visit, void *arg)
{
    int64_t left[MAX_DEPTH], index[MAX_DEPTH];
    int depth = 0;
    do {
        size_t len;
        char *line = resp_line(r, &len);
        int64_t n = strtoll(line + 1, NULL, 10);
        if (line[0] == '-')
            die("error reply", line);
        if (line[0] == '*' && n > 0) {
            if (depth == MAX_DEPTH)
                die("reply", "nested too deeply");
            left[depth] = n;
            index[depth++] = 0;
            continue;
        }
        if (line[0] == '$' && n >= 0) {
            resp_need(r, (size_t)n + 2);
            visit(arg, depth, depth ? index[depth - 1] : 0, r->buf + r->start, (size_t)n);
            r->start += (size_t)n + 2;
        }
        while (depth > 0) { /* this element is done: count it in its arrays */
            index[depth - 1]++;
            if (--left[depth - 1] > 0)
                break;
            depth--;
        }
    } while (depth > 0);
}

/* Send one command of argc arguments. */
static void resp_send(struct resp *r, int argc, const char **argv, const size_t *lens)
{
    char *out = r->out;
    size_t n = (size_t)snprintf(out, BUF_CAP, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        if (n + lens[i] + 32 > BUF_CAP)
            die("send", "command too large");
        n += (size_t)snprintf(out + n, BUF_CAP - n, "$%zu\r\n", lens[i]);
        memcpy(out + n, argv[i], lens[i]);
        memcpy(out + n + lens[i], "\r\n", 2);
        n += lens[i] + 2;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(r->fd, out + done, n - done);
        if (w <= 0)
            die("write", strerror(errno));
        done += (size_t)w;
    }
}

/* ---- XREAD in batches ----------------------------------------------------------- */

struct xread_state {
    char last_id[ID_MAX]; /* the newest id seen */
    int64_t entries, bytes;
    struct lat_args *lat; /* when measuring latency */
};

struct lat_args {
    int port;
    const char *key;
    struct bench_lat lat;
    int64_t expected; /* entries on the schedule */
    int64_t start_ns; /* the first scheduled send; INT64_MAX while priming */
    bool primed;      /* the reader has seen an entry */
    int64_t stop_ns;  /* the reader gives up after this, once set */
    struct resp *tx;  /* the producer's connection */
    int64_t sent;     /* XADDs sent on it */
    bool sending_done;
};

static void on_xread_bulk(void *arg, int depth, int64_t index, const char *p, size_t len)
{
    struct xread_state *s = arg;
    if (depth == 4 && index == 0 && len < ID_MAX) {
        memcpy(s->last_id, p, len);
        s->last_id[len] = 0;
        s->entries++;
    } else if (depth == 5 && index % 2 == 1) {
        s->bytes += (int64_t)len;
        if (!s->lat)
            return;
        int64_t ts = bench_unstamp(p, len);
        __atomic_store_n(&s->lat->primed, true, __ATOMIC_RELEASE);
        if (ts >= __atomic_load_n(&s->lat->start_ns, __ATOMIC_ACQUIRE))
            bench_lat_add(&s->lat->lat, clock_mono_ns() - ts);
    }
}

/* One XREAD [BLOCK ms] COUNT 1000 STREAMS key last_id (no BLOCK when block_ms < 0);
 * returns the entries received. */
static int64_t xread_once(struct resp *r, const char *key, struct xread_state *s, int block_ms)
{
    char block[16];
    const char *argv[8];
    size_t lens[8];
    int n = 0;
    snprintf(block, sizeof block, "%d", block_ms);
    argv[n++] = "XREAD";
    if (block_ms >= 0) {
        argv[n++] = "BLOCK";
        argv[n++] = block;
    }
    argv[n++] = "COUNT";
    argv[n++] = "1000";
    argv[n++] = "STREAMS";
    argv[n++] = key;
    argv[n++] = s->last_id;
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    int64_t before = s->entries;
    resp_send(r, n, argv, lens);
    resp_reply(r, on_xread_bulk, s);
    return s->entries - before;
}

static int cmd_xread(int port, const char *key, int64_t count)
{
    struct resp r;
    struct xread_state s = {.last_id = "0-0"};
    resp_connect(&r, port);
    if (xread_once(&r, key, &s, -1) == 0) /* the first batch starts the clock */
        die("xread", "the stream is empty");
    int64_t t0 = clock_mono_ns(), n0 = s.entries, b0 = s.bytes;
    while (s.entries < count)
        if (xread_once(&r, key, &s, -1) == 0)
            die("xread", "the stream ended early");
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    resp_close(&r);
    bench_put("msgs_per_s", (double)(s.entries - n0) / secs);
    bench_put("mb_per_s", (double)(s.bytes - b0) / secs / 1e6);
    return 0;
}

/* ---- latency --------------------------------------------------------------------- */

static void *lat_reader(void *arg)
{
    struct lat_args *a = arg;
    struct resp r;
    struct xread_state s = {.last_id = "0-0", .lat = a};
    resp_connect(&r, a->port);
    while ((int64_t)a->lat.n < a->expected) {
        xread_once(&r, a->key, &s, 100);
        int64_t stop = __atomic_load_n(&a->stop_ns, __ATOMIC_ACQUIRE);
        if (stop && clock_mono_ns() > stop)
            break;
    }
    resp_close(&r);
    return NULL;
}

static void ignore_bulk(void *arg, int depth, int64_t index, const char *p, size_t len)
{
}

/* XADD one value; the reply is read by lat_drain. */
static void xadd(struct lat_args *a, const char *val, size_t size)
{
    const char *argv[] = {"XADD", a->key, "*", "v", val};
    size_t lens[] = {4, strlen(a->key), 1, 1, size};
    __atomic_add_fetch(&a->sent, 1, __ATOMIC_ACQ_REL);
    resp_send(a->tx, 5, argv, lens);
}

/* Read the producer's replies until every XADD sent has its reply. */
static void *lat_drain(void *arg)
{
    struct lat_args *a = arg;
    for (int64_t acked = 0;;) {
        if (acked == __atomic_load_n(&a->sent, __ATOMIC_ACQUIRE)) {
            if (__atomic_load_n(&a->sending_done, __ATOMIC_ACQUIRE) &&
                acked == __atomic_load_n(&a->sent, __ATOMIC_ACQUIRE))
                return NULL;
            bench_sleep_until(clock_mono_ns() + 100000);
            continue;
        }
        resp_reply(a->tx, ignore_bulk, NULL);
        acked++;
    }
}

/* Send entries stamped 0 until the reader has seen one. */
static void lat_prime(struct lat_args *a, char *val, size_t size)
{
    int64_t deadline = clock_mono_ns() + BENCH_PRIME_LIMIT_NS;
    bench_stamp(val, size, 0);
    while (!__atomic_load_n(&a->primed, __ATOMIC_ACQUIRE)) {
        if (clock_mono_ns() > deadline)
            die("latency", "the reader saw nothing within 10 s");
        xadd(a, val, size);
        bench_sleep_until(clock_mono_ns() + BENCH_PRIME_NS);
    }
}

static void lat_send(struct lat_args *a, int rate, char *val, size_t size)
{
    for (int64_t i = 0; i < a->expected; i++) {
        int64_t at = a->start_ns + (int64_t)((double)i * 1e9 / rate);
        bench_sleep_until(at);
        bench_stamp(val, size, at);
        xadd(a, val, size);
    }
}

static int cmd_latency(int port, const char *key, int rate, int secs, int64_t size)
{
    static struct lat_args a;
    a = (struct lat_args){
        .port = port, .key = key, .expected = (int64_t)rate * secs, .start_ns = INT64_MAX};
    char *val = malloc((size_t)size);
    if (size < BENCH_STAMP || !val || bench_lat_init(&a.lat, (size_t)a.expected))
        die("latency", "bad size or out of memory");
    bench_fill(val, (size_t)size);
    struct resp r;
    resp_connect(&r, port);
    a.tx = &r;
    pthread_t reader, drain;
    pthread_create(&reader, NULL, lat_reader, &a);
    pthread_create(&drain, NULL, lat_drain, &a);
    lat_prime(&a, val, (size_t)size);
    __atomic_store_n(&a.start_ns, clock_mono_ns() + BENCH_PRIME_NS, __ATOMIC_RELEASE);
    lat_send(&a, rate, val, (size_t)size);
    __atomic_store_n(&a.sending_done, true, __ATOMIC_RELEASE);
    __atomic_store_n(&a.stop_ns, clock_mono_ns() + 5000000000LL, __ATOMIC_RELEASE);
    pthread_join(drain, NULL);
    pthread_join(reader, NULL);
    resp_close(&r);
    free(val);
    if ((int64_t)a.lat.n < a.expected * 99 / 100)
        die("latency", "entries were lost or late by more than 5 s");
    bench_lat_report(&a.lat, "e2e");
    bench_lat_release(&a.lat);
    return 0;
}

int main(int argc, char **argv)
{
    int port = 0, rate = 1000, secs = 5, c;
    int64_t count = 0, size = 1024;
    const char *key = NULL;
    optind = 2;
    while (argc > 1 && (c = getopt(argc, argv, "p:k:n:r:d:s:")) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'k': key = optarg; break;
        case 'n': count = atoll(optarg); break;
        case 'r': rate = atoi(optarg); break;
        case 'd': secs = atoi(optarg); break;
        case 's': size = bench_size(optarg); break;
        default: goto usage;
        }
    }
    if (argc < 2 || port <= 0 || !key || rate <= 0 || secs <= 0 || size <= 0)
        goto usage;
    alarm((unsigned)(secs + 300)); /* every run is bounded */
    if (!strcmp(argv[1], "xread") && count > 0)
        return cmd_xread(port, key, count);
    if (!strcmp(argv[1], "latency"))
        return cmd_latency(port, key, rate, secs, size);
usage:
    fprintf(stderr, "usage: redis_bench xread -p PORT -k KEY -n COUNT\n"
                    "       redis_bench latency -p PORT -k KEY -r RATE -d SECONDS [-s SIZE]\n");
    return 2;
}
