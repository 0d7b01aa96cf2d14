/*
 * nats_bench.c - the NATS JetStream side of the comparison, on the C client
 * (libnats), in the same shapes as kafka_bench.
 *
 *   nats_bench publish -u URL -k STREAM [-s SIZE] [-n COUNT] [-P PUBLISHERS]
 *       PUBLISHERS threads, each with its own connection, share COUNT messages to
 *       subject STREAM with js_PublishAsync (up to 4096 acks outstanding each);
 *       timed until every publish ack has come back. A message counts once the
 *       server acknowledged it as stored in the stream (file storage).
 *   nats_bench delete -u URL -k STREAM
 *       delete the stream and its data.
 *   nats_bench consume -u URL -k STREAM -n COUNT
 *       a pull consumer (ephemeral, deliver all, ack none) fetching batches of up
 *       to 1000 until COUNT messages arrived: the counterpart of XREAD COUNT 1000
 *       and of a Kafka consumer's fetches. Timed from the first batch's arrival
 *       to the last (as kafka_bench consume).
 *   nats_bench latency -u URL -k STREAM -r RATE -d SECONDS [-s SIZE]
 *       js_PublishAsync of stamped messages (bench.h) at RATE per second on an
 *       absolute schedule; a push consumer (deliver new, ack none) on another
 *       connection measures now - stamp. The schedule starts once priming
 *       messages (bench.h) reach the consumer.
 *
 * publish, consume and latency first create STREAM (subject STREAM, file storage)
 * if it is missing.
 * Output: "KEY VALUE" lines (bench.h). Without libnats-dev the program prints
 * "skipped: ..." and exits 77.
 */
#include <unistd.h>

#include "bench/bench.h"

#if __has_include(<nats/nats.h>)
#include <nats/nats.h>

#define BATCH       1000
#define MAX_PENDING 4096
#define MAX_CLIENTS 1000

struct opts {
    const char *url, *stream;
    int64_t size, count;
    int clients, rate, seconds;
};

static struct opts o = {.size = 1024, .count = 100000, .clients = 1, .rate = 1000, .seconds = 5};

static void check(natsStatus s, const char *what)
{
    if (s == NATS_OK)
        return;
    fprintf(stderr, "nats_bench: %s: %s (%s)\n", what, natsStatus_GetText(s),
            nats_GetLastError(NULL));
    exit(1);
}

/* A connection and its JetStream context; errh counts failed publish acks. */
static void js_connect(natsConnection **nc, jsCtx **js, jsPubAckErrHandler errh, void *arg)
{
    natsOptions *no;
    jsOptions jo;
    check(natsOptions_Create(&no), "options");
    check(natsOptions_SetURL(no, o.url), "url");
    check(natsConnection_Connect(nc, no), "connect");
    natsOptions_Destroy(no);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = MAX_PENDING;
    jo.PublishAsync.StallWait = 30000; /* a slow ack stalls the publisher, never fails it */
    jo.PublishAsync.ErrHandler = errh;
    jo.PublishAsync.ErrHandlerClosure = arg;
    check(natsConnection_JetStream(js, *nc, &jo), "jetstream");
}

static void js_close(natsConnection *nc, jsCtx *js)
{
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

/* Create the stream (file storage, one subject named like it) unless it exists. */
static void stream_ensure(jsCtx *js)
{
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode je = 0;
    const char *subjects[] = {o.stream};
    jsStreamConfig_Init(&cfg);
    cfg.Name = o.stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    natsStatus s = js_AddStream(&si, js, &cfg, NULL, &je);
    if (s != NATS_OK && je != JSStreamNameExistErr)
        check(s, "add stream");
    jsStreamInfo_Destroy(si);
}

/* ---- publish -------------------------------------------------------------------- */

struct publisher {
    int64_t quota;
    int64_t failed; /* publish acks with an error */
    pthread_t thread;
};

static void on_pub_err(jsCtx *js, jsPubAckErr *pae, void *arg)
{
    struct publisher *p = arg;
    if (!p->failed++)
        fprintf(stderr, "nats_bench: publish failed: %s\n", pae->ErrText);
}

static char *payload;

static void *publisher_main(void *arg)
{
    struct publisher *p = arg;
    natsConnection *nc;
    jsCtx *js;
    js_connect(&nc, &js, on_pub_err, p);
    for (int64_t i = 0; i < p->quota; i++)
        check(js_PublishAsync(js, o.stream, payload, (int)o.size, NULL), "publish");
    check(js_PublishAsyncComplete(js, NULL), "publish complete");
    js_close(nc, js);
    return NULL;
}

static int cmd_publish(void)
{
    struct publisher *p = calloc((size_t)o.clients, sizeof *p);
    payload = malloc((size_t)o.size);
    if (!p || !payload)
        check(NATS_NO_MEMORY, "publish");
    bench_fill(payload, (size_t)o.size);
    int64_t t0 = clock_mono_ns(), failed = 0;
    for (int i = 0; i < o.clients; i++) {
        p[i].quota = o.count / o.clients + (i < o.count % o.clients);
        pthread_create(&p[i].thread, NULL, publisher_main, &p[i]);
    }
    for (int i = 0; i < o.clients; i++) {
        pthread_join(p[i].thread, NULL);
        failed += p[i].failed;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    free(p);
    free(payload);
    if (failed)
        check(NATS_ERR, "not every message was stored");
    bench_put("msgs_per_s", (double)o.count / secs);
    bench_put("mb_per_s", (double)o.count * (double)o.size / secs / 1e6);
    return 0;
}

/* ---- consume -------------------------------------------------------------------- */

static int cmd_consume(void)
{
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    jsSubOptions so;
    jsErrCode je = 0;
    js_connect(&nc, &js, NULL, NULL);
    jsSubOptions_Init(&so);
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckPolicy = js_AckNone;
    so.Config.MaxRequestBatch = BATCH;
    int64_t t0 = 0, got = 0, bytes = 0, n0 = 0, b0 = 0;
    check(js_PullSubscribe(&sub, js, o.stream, NULL, NULL, &so, &je), "pull subscribe");
    while (got < o.count) {
        natsMsgList list = {0};
        int want = o.count - got < BATCH ? (int)(o.count - got) : BATCH;
        check(natsSubscription_Fetch(&list, sub, want, 5000, &je), "fetch");
        for (int i = 0; i < list.Count; i++)
            bytes += natsMsg_GetDataLength(list.Msgs[i]);
        got += list.Count;
        natsMsgList_Destroy(&list);
        if (!t0) { /* the first batch starts the clock */
            t0 = clock_mono_ns();
            n0 = got;
            b0 = bytes;
        }
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    natsSubscription_Destroy(sub);
    js_close(nc, js);
    if (got <= n0 || secs <= 0)
        check(NATS_INVALID_ARG, "everything came in one batch: use more messages");
    bench_put("msgs_per_s", (double)(got - n0) / secs);
    bench_put("mb_per_s", (double)(bytes - b0) / secs / 1e6);
    return 0;
}

/* ---- latency --------------------------------------------------------------------- */

struct lat_run {
    struct bench_lat lat;
    int64_t start_ns; /* the first scheduled send; INT64_MAX while priming */
    bool primed;      /* the consumer has seen a message */
    pthread_mutex_t mu;
};

static void on_lat_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
    struct lat_run *r = arg;
    int64_t now = clock_mono_ns();
    int64_t ts = bench_unstamp(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    pthread_mutex_lock(&r->mu);
    r->primed = true;
    if (ts >= r->start_ns)
        bench_lat_add(&r->lat, now - ts);
    pthread_mutex_unlock(&r->mu);
    natsMsg_Destroy(m);
}

/* Whether the consumer has n samples (n < 0: has seen any message). */
static bool lat_has(struct lat_run *r, int64_t n)
{
    pthread_mutex_lock(&r->mu);
    bool yes = n < 0 ? r->primed : (int64_t)r->lat.n >= n;
    pthread_mutex_unlock(&r->mu);
    return yes;
}

/* Publish messages stamped 0 until the consumer has seen one. */
static void lat_prime(jsCtx *js, struct lat_run *r, char *buf)
{
    int64_t deadline = clock_mono_ns() + BENCH_PRIME_LIMIT_NS;
    bench_stamp(buf, (size_t)o.size, 0);
    while (!lat_has(r, -1)) {
        if (clock_mono_ns() > deadline)
            check(NATS_TIMEOUT, "the consumer saw nothing within 10 s");
        check(js_PublishAsync(js, o.stream, buf, (int)o.size, NULL), "publish");
        bench_sleep_until(clock_mono_ns() + BENCH_PRIME_NS);
    }
}

static void lat_send(jsCtx *js, struct lat_run *r, int64_t total, char *buf)
{
    for (int64_t i = 0; i < total; i++) {
        int64_t at = r->start_ns + (int64_t)((double)i * 1e9 / o.rate);
        bench_sleep_until(at);
        bench_stamp(buf, (size_t)o.size, at);
        check(js_PublishAsync(js, o.stream, buf, (int)o.size, NULL), "publish");
    }
    check(js_PublishAsyncComplete(js, NULL), "publish complete");
}

/* Wait (at most 5 s) until n samples arrived. */
static void lat_wait(struct lat_run *r, int64_t n)
{
    int64_t deadline = clock_mono_ns() + 5000000000LL;
    while (!lat_has(r, n) && clock_mono_ns() < deadline)
        bench_sleep_until(clock_mono_ns() + 1000000);
}

static int cmd_latency(void)
{
    static struct lat_run r = {.start_ns = INT64_MAX, .mu = PTHREAD_MUTEX_INITIALIZER};
    int64_t total = (int64_t)o.rate * o.seconds;
    natsConnection *pc, *cc;
    jsCtx *pjs, *cjs;
    natsSubscription *sub;
    jsSubOptions so;
    jsErrCode je = 0;
    char *buf = malloc((size_t)o.size);
    if (o.size < BENCH_STAMP || !buf || bench_lat_init(&r.lat, (size_t)total))
        check(NATS_INVALID_ARG, "latency");
    bench_fill(buf, (size_t)o.size);
    js_connect(&pc, &pjs, NULL, NULL);
    js_connect(&cc, &cjs, NULL, NULL);
    stream_ensure(pjs);
    jsSubOptions_Init(&so);
    so.Config.DeliverPolicy = js_DeliverNew;
    so.Config.AckPolicy = js_AckNone;
    check(js_Subscribe(&sub, cjs, o.stream, on_lat_msg, &r, NULL, &so, &je), "subscribe");
    lat_prime(pjs, &r, buf);
    pthread_mutex_lock(&r.mu);
    r.start_ns = clock_mono_ns() + BENCH_PRIME_NS;
    pthread_mutex_unlock(&r.mu);
    lat_send(pjs, &r, total, buf);
    lat_wait(&r, total);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    js_close(cc, cjs);
    js_close(pc, pjs);
    free(buf);
    pthread_mutex_lock(&r.mu);
    if ((int64_t)r.lat.n < total * 99 / 100)
        check(NATS_TIMEOUT, "messages were lost or late by more than 5 s");
    bench_lat_report(&r.lat, "e2e");
    pthread_mutex_unlock(&r.mu);
    return 0;
}

static int cmd_delete(void)
{
    natsConnection *nc;
    jsCtx *js;
    jsErrCode je = 0;
    js_connect(&nc, &js, NULL, NULL);
    check(js_DeleteStream(js, o.stream, NULL, &je), "delete stream");
    js_close(nc, js);
    return 0;
}

/* ---- command line ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int c;
    optind = 2;
    while (argc > 1 && (c = getopt(argc, argv, "u:k:s:n:P:r:d:")) != -1) {
        switch (c) {
        case 'u': o.url = optarg; break;
        case 'k': o.stream = optarg; break;
        case 's': o.size = bench_size(optarg); break;
        case 'n': o.count = atoll(optarg); break;
        case 'P': o.clients = atoi(optarg); break;
        case 'r': o.rate = atoi(optarg); break;
        case 'd': o.seconds = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (argc < 2 || !o.url || !o.stream || o.size <= 0 || o.count <= 0 || o.clients <= 0 ||
        o.clients > MAX_CLIENTS || o.rate <= 0 || o.seconds <= 0)
        goto usage;
    alarm((unsigned)(o.seconds + 300)); /* every run is bounded */
    if (!strcmp(argv[1], "publish") || !strcmp(argv[1], "consume")) {
        natsConnection *nc;
        jsCtx *js;
        js_connect(&nc, &js, NULL, NULL);
        stream_ensure(js);
        js_close(nc, js);
        return argv[1][0] == 'p' ? cmd_publish() : cmd_consume();
    }
    if (!strcmp(argv[1], "latency"))
        return cmd_latency();
    if (!strcmp(argv[1], "delete"))
        return cmd_delete();
usage:
    fprintf(stderr, "usage: nats_bench publish|consume|latency|delete -u URL -k STREAM [-s SIZE]\n"
                    "       [-n COUNT] [-P PUBLISHERS] [-r RATE] [-d SECONDS]\n");
    return 2;
}

#else /* no libnats */

int main(void)
{
    bench_skip("libnats-dev is not installed");
}

#endif
