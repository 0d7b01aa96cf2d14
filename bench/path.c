/*
 * path.c - brook's own part of the latency path, without a client library.
 *
 *   path -b HOST:PORT -t TOPIC [-r RATE] [-d SECONDS] [-s SIZE] [-a ACKS]
 *
 * Two connections on the Kafka wire: a fetcher that keeps one long-poll Fetch
 * (v4, max_wait 1 s, min_bytes 1) parked at the next offset of partition 0, and a
 * producer that sends one record of SIZE bytes (Produce v3, acks ACKS) at RATE per
 * second. For each record it measures, from the moment the Produce is written:
 *   fetch_*_us  until the parked Fetch is answered with the record (the produce
 *               arriving, the append, the wake-up of the waiting fetch, the answer)
 *   ack_*_us    until the Produce is answered (with acks=-1: the flusher's wake-up,
 *               its fdatasync, the hand-off back to the event loop, the answer)
 * Against a data directory on tmpfs, where fdatasync costs next to nothing, ack is
 * brook's own part of an acks=-1 produce; on a disk, it is that plus the disk's
 * fdatasync (bench/limits fsync measures that alone). librdkafka's batching,
 * polling and threads are not in these figures; kafka_bench latency has them.
 *
 * The topic must exist with partition 0 empty. Output: "KEY VALUE" lines (bench.h).
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"
#include "lib/crc32c.h"

#define MAX_FRAME (8 << 20)

static struct {
    const char *broker, *topic;
    int rate, seconds, size, acks;
} o = {.rate = 1000, .seconds = 5, .size = 1024, .acks = -1};

struct buf {
    uint8_t b[1 << 16];
    size_t n;
};

static void die(const char *what, const char *why)
{
    fprintf(stderr, "path: %s: %s\n", what, why);
    exit(1);
}

static void put(struct buf *w, const void *p, size_t n)
{
    if (w->n + n > sizeof w->b)
        die("request", "too large");
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_be(struct buf *w, uint64_t v, int bytes)
{
    uint8_t x[8];
    for (int i = 0; i < bytes; i++)
        x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(w, x, (size_t)bytes);
}

static void put_str(struct buf *w, const char *s)
{
    put_be(w, strlen(s), 2);
    put(w, s, strlen(s));
}

static void put_varint(struct buf *w, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        uint8_t c = z & 0x7f;
        z >>= 7;
        put(w, &(uint8_t){c | (z ? 0x80 : 0)}, 1);
    } while (z);
}

/* A request frame: size, header v1 (api, version, correlation id, client id), body. */
static void frame(struct buf *out, int api, int version, int32_t corr, const struct buf *body)
{
    struct buf h = {.n = 0};
    put_be(&h, (uint64_t)api, 2);
    put_be(&h, (uint64_t)version, 2);
    put_be(&h, (uint64_t)(uint32_t)corr, 4);
    put_str(&h, "path");
    out->n = 0;
    put_be(out, h.n + body->n, 4);
    put(out, h.b, h.n);
    put(out, body->b, body->n);
}

/* One record batch v2 of one record with a null key and `value`. */
static void batch(struct buf *w, const char *value, size_t len)
{
    struct buf rec = {.n = 0}, after = {.n = 0};
    int64_t now = clock_wall_ms();
    put(&rec, "\0", 1);   /* attributes */
    put_varint(&rec, 0);  /* timestamp delta */
    put_varint(&rec, 0);  /* offset delta */
    put_varint(&rec, -1); /* key: null */
    put_varint(&rec, (int64_t)len);
    put(&rec, value, len);
    put_varint(&rec, 0);  /* headers */
    put_be(&after, 0, 2); /* attributes */
    put_be(&after, 0, 4); /* last offset delta */
    put_be(&after, (uint64_t)now, 8);
    put_be(&after, (uint64_t)now, 8);
    put_be(&after, UINT64_MAX, 8); /* producer id -1 */
    put_be(&after, 0xffff, 2);     /* producer epoch -1 */
    put_be(&after, 0xffffffff, 4); /* base sequence -1 */
    put_be(&after, 1, 4);          /* records */
    struct buf len_rec = {.n = 0};
    put_varint(&len_rec, (int64_t)rec.n);
    put(&after, len_rec.b, len_rec.n);
    put(&after, rec.b, rec.n);
    put_be(w, 0, 8);                   /* base offset */
    put_be(w, 4 + 1 + 4 + after.n, 4); /* batch length */
    put_be(w, 0xffffffff, 4);          /* partition leader epoch */
    put(w, "\2", 1);                   /* magic */
    put_be(w, crc32c(0, after.b, after.n), 4);
    put(w, after.b, after.n);
}

static void produce_req(struct buf *out, int32_t corr, const char *value)
{
    struct buf body = {.n = 0}, b = {.n = 0};
    batch(&b, value, (size_t)o.size);
    put_be(&body, 0xffff, 2); /* transactional id: null */
    put_be(&body, (uint64_t)(uint16_t)o.acks, 2);
    put_be(&body, 30000, 4);
    put_be(&body, 1, 4);
    put_str(&body, o.topic);
    put_be(&body, 1, 4);
    put_be(&body, 0, 4); /* partition */
    put_be(&body, b.n, 4);
    put(&body, b.b, b.n);
    frame(out, 0, 3, corr, &body);
}

static void fetch_req(struct buf *out, int32_t corr, int64_t offset)
{
    struct buf body = {.n = 0};
    put_be(&body, 0xffffffff, 4); /* replica id */
    put_be(&body, 1000, 4);       /* max wait ms */
    put_be(&body, 1, 4);          /* min bytes */
    put_be(&body, 1 << 20, 4);    /* max bytes */
    put(&body, "\0", 1);          /* read_uncommitted */
    put_be(&body, 1, 4);
    put_str(&body, o.topic);
    put_be(&body, 1, 4);
    put_be(&body, 0, 4);
    put_be(&body, (uint64_t)offset, 8);
    put_be(&body, 1 << 20, 4);
    frame(out, 1, 4, corr, &body);
}

static int connect_to(const char *hostport)
{
    char host[256];
    snprintf(host, sizeof host, "%s", hostport);
    char *colon = strrchr(host, ':');
    if (!colon)
        die(hostport, "not HOST:PORT");
    *colon = 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai))
        die(hostport, "cannot resolve");
    int fd = socket(ai->ai_family, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
        die(hostport, strerror(errno));
    freeaddrinfo(ai);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const struct buf *b)
{
    for (size_t off = 0; off < b->n;) {
        ssize_t k = write(fd, b->b + off, b->n - off);
        if (k <= 0)
            die("write", strerror(errno));
        off += (size_t)k;
    }
}

/* Read one whole response frame; returns its size (without the size field). */
static size_t read_frame(int fd, uint8_t *resp)
{
    uint8_t head[4];
    size_t need = 4, got = 0, size = 0;
    uint8_t *dst = head;
    while (got < need) {
        ssize_t k = read(fd, dst + got, need - got);
        if (k <= 0)
            die("read", k ? strerror(errno) : "connection closed");
        got += (size_t)k;
        if (dst == head && got == 4) {
            size = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
            if (size > MAX_FRAME)
                die("read", "response too large");
            dst = resp, got = 0, need = size;
        }
    }
    return size;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: path -b HOST:PORT -t TOPIC [-r RATE] [-d SECONDS] [-s SIZE] [-a ACKS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "b:t:r:d:s:a:")) != -1) {
        switch (c) {
        case 'b': o.broker = optarg; break;
        case 't': o.topic = optarg; break;
        case 'r': o.rate = atoi(optarg); break;
        case 'd': o.seconds = atoi(optarg); break;
        case 's': o.size = atoi(optarg); break;
        case 'a': o.acks = atoi(optarg); break;
        default: return usage();
        }
    }
    if (!o.broker || !o.topic || o.rate <= 0 || o.seconds <= 0 || o.size < 1 || o.size > 60000)
        return usage();
    int64_t n = (int64_t)o.rate * o.seconds;
    struct bench_lat fetch_lat, ack_lat;
    char *value = malloc((size_t)o.size);
    uint8_t *resp = malloc(MAX_FRAME);
    if (!value || !resp || bench_lat_init(&fetch_lat, (size_t)n) ||
        bench_lat_init(&ack_lat, (size_t)n))
        die("path", "out of memory");
    bench_fill(value, (size_t)o.size);
    int pfd = connect_to(o.broker), ffd = connect_to(o.broker);
    static struct buf req;
    double gap = 1e9 / o.rate;
    int64_t start = clock_mono_ns() + 10000000, misses = 0;
    for (int64_t i = 0; i < n; i++) {
        fetch_req(&req, (int32_t)i, i);
        send_all(ffd, &req); /* parks: nothing at offset i yet */
        bench_sleep_until(start + (int64_t)((double)i * gap));
        produce_req(&req, (int32_t)i, value);
        int64_t t0 = clock_mono_ns();
        send_all(pfd, &req);
        bool fetched = false, acked = o.acks == 0;
        while (!fetched || !acked) {
            struct pollfd p[2] = {{.fd = ffd, .events = fetched ? 0 : POLLIN},
                                  {.fd = pfd, .events = acked ? 0 : POLLIN}};
            if (poll(p, 2, 5000) <= 0)
                die("path", "no answer within 5 s");
            if (p[0].revents) {
                misses += read_frame(ffd, resp) < (size_t)o.size; /* answered without it */
                bench_lat_add(&fetch_lat, clock_mono_ns() - t0);
                fetched = true;
            }
            if (p[1].revents) {
                read_frame(pfd, resp);
                bench_lat_add(&ack_lat, clock_mono_ns() - t0);
                acked = true;
            }
        }
    }
    if (misses)
        die("path", "a parked fetch was answered without the record");
    bench_lat_report(&fetch_lat, "fetch");
    if (o.acks != 0)
        bench_lat_report(&ack_lat, "ack");
    close(pfd);
    close(ffd);
    free(value);
    free(resp);
    return 0;
}
