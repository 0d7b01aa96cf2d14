/*
 * hostile_load.c - hostile load against a live brookd while a control client keeps
 * producing and consuming, with the figures that show what each load costs.
 *
 *   hostile_load [options] HOST:PORT BROOKD_PID SCENARIO...
 *     -u SECS  the unloaded control window (5)     -t SECS  how long a load is held (5)
 *     -d DIR   frame files: captured requests (*.bin) or a fuzz corpus
 *     -T NAME  a topic to create first (the frames' own)   -s SEED  mutation seed (1)
 *     -F SECS  the frames must be sent by then (900)       -M  memory goals are limits
 *     -R MS, -I MS  brookd's request.timeout.ms and connections.max.idle.ms
 *     -A       let CreateTopics, DeleteTopics, DeleteRecords, CreatePartitions and
 *              DeleteGroups into the frames (they change what brookd stores)
 *
 * Scenarios run in the order given, each in a measurement window of its own:
 *   frames=N     N mutated requests made from the frame files (bit flips,
 *                truncations, size fields that lie, random API keys and versions,
 *                splices), sent in bursts (mostly short: brookd drops a connection
 *                at its first undecodable request) over 64 connections that
 *                reconnect as brookd closes them, half of them half-closing and
 *                waiting for brookd's close, half resetting once brookd is quiet:
 *                brookd stays up and answers, its RSS growth is measured (a limit
 *                with -M), no connection is left hanging, no descriptor left behind
 *   idle=N       N connections that never send a byte: all accepted and kept; brookd's
 *                VmRSS before and after gives the memory per connection (a limit with -M)
 *   churn=LIMIT  brookd's RLIMIT_NOFILE is lowered to LIMIT (prlimit) and connections
 *                churn at it: the excess is not served, brookd does not spin (CPU from
 *                /proc/PID/stat), and the control client keeps going; then not one
 *                descriptor is left (accept fails with EMFILE) and brookd must still
 *                not spin; once the load's descriptors are freed, new connections and
 *                the control client must recover
 *   slowloris=N  N clients that send part of a request and then trickle a byte now and
 *                then, send nothing more, or never send anything: brookd must close
 *                every one within request.timeout.ms (-R) or connections.max.idle.ms
 *                (-I) plus its one-second sweep
 *
 * The control client (librdkafka) produces one record with acks=1 every 10 ms to a
 * topic of its own and consumes it back from another handle; the produce->consume
 * latency of every record is kept, and reported as p50/p99 for the unloaded window
 * (-u seconds) and for each load's window. Every record must be acknowledged and
 * consumed by the end, and records must go through during every load except the
 * EMFILE one (where brookd cannot open a segment, so it only has to recover).
 *
 * The load side is plain non-blocking sockets on one epoll set, level-triggered, from
 * source addresses spread over 127.0.1.0/24, so that a hundred thousand short
 * connections (some in TIME_WAIT) never run out of ports; connections this side
 * gives up on are reset. It runs at nice 19, below the control client, so that on a
 * small machine the control's latency is the broker's doing. Only loopback
 * addresses are used, and every loop is bounded in count and time. Prints
 * "ok - ..." / "not ok - ..." lines and "# ..." figure lines; exits 1 when a check
 * failed, 2 on bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lib/clock.h"
#include "tests/rdk.h"
#include "tests/tap.h"

#define MS                1000000LL   /* nanoseconds */
#define CONTROL_PERIOD_MS 10          /* one control record every so often */
#define CONTROL_MAX       (1 << 18)   /* control records at most (43 min) */
#define SWEEP_MS          1000        /* brookd's idle and slow connection sweep */
#define DROP_SLACK_MS     1000        /* scheduling allowance beyond the sweep */
#define CPU_LIMIT_PCT     20.0        /* of one CPU, while brookd sits at its fd limit */
#define CPU_WINDOW_MS     2000        /* how long CPU is measured at the limit */
#define CONN_GOAL_BYTES   4096        /* memory per idle connection */
#define GROWTH_GOAL_KIB   (10 * 1024) /* RSS growth under the mutated frames */
#define HANDSHAKES        256         /* connects in flight at once */
#define FRAME_CONNS       64          /* connections sending mutated frames at once */
#define FRAME_FILES_MAX   4096        /* frame files read from -d */
#define FRAME_BYTES_MAX   (1 << 20)   /* bigger frame files are skipped */
#define DRAIN_MS          10000       /* brookd closes a connection we ended by then */
#define QUIET_MS          20          /* no answer for so long: brookd is done */
#define SLOW_PREFIX       1000        /* the size slowloris clients announce */
#define TRICKLE_MS        250         /* between trickled bytes */
#define TRICKLE_MAX       64          /* bytes trickled at most (< SLOW_PREFIX) */
#define STALL_KINDS       3           /* silent, trickle, stall */

#define LOAD(x)     __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static struct {
    double unloaded_s;        /* -u: the unloaded control window */
    double hold_s;            /* -t: how long each load is held */
    const char *frame_dir;    /* -d */
    int request_timeout_ms;   /* -R: brookd's request.timeout.ms */
    int idle_ms;              /* -I: brookd's connections.max.idle.ms */
    bool memory_limits;       /* -M: the memory goals are limits */
    uint64_t seed;            /* -s */
    double frames_deadline_s; /* -F: the mutated stream must be sent by then */
    bool admin;               /* -A: the frames include topic and group admin requests */
    const char *topics[8];    /* -T: topics to create first (for the frames) */
    int n_topics;
} opt = {.unloaded_s = 5, .hold_s = 5, .seed = 1, .frames_deadline_s = 900};

static const char *broker;
static pid_t brookd;
static struct sockaddr_in broker_addr;

static void figure(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static int64_t now_ns(void)
{
    return clock_mono_ns();
}

static double since_ms(int64_t t)
{
    return (double)(now_ns() - t) / MS;
}

/* Sleep for a measurement window or a polling interval (never to wait for an event). */
static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * MS};
    nanosleep(&ts, NULL);
}

static uint64_t rng_state = 1;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* ---- brookd seen from /proc ---- */

/* brookd's VmRSS in KiB, or -1. */
static long proc_rss_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)brookd);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

/* brookd's user + system CPU time in clock ticks, or -1; *state gets its state letter. */
static long long proc_cpu_ticks(char *state)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)brookd);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold anything */
    unsigned long long ut, st;
    char s;
    if (!p ||
        sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &s, &ut, &st) != 3)
        return -1;
    if (state)
        *state = s;
    return (long long)(ut + st);
}

/* This process's user + system CPU time in seconds. */
static double own_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static bool brookd_alive(void)
{
    char state = 0;
    return kill(brookd, 0) == 0 && proc_cpu_ticks(&state) >= 0 && state != 'Z' && state != 'X';
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Number of brookd's open descriptors, or -1; *lowest_free (if set) gets the lowest
 * descriptor number not in use, which is the one the kernel hands out next. */
static int proc_fds(int *lowest_free)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)brookd);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int *v = NULL, n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            int *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = atoi(e->d_name);
    }
    closedir(d);
    if (lowest_free) {
        qsort(v, (size_t)n, sizeof *v, cmp_int);
        int free_fd = 0;
        for (int i = 0; i < n && v[i] <= free_fd; i++)
            if (v[i] == free_fd)
                free_fd++;
        *lowest_free = free_fd;
    }
    free(v);
    return n;
}

/* Poll until brookd holds at most `most` descriptors (or at least `least` when most is
 * negative), for at most ms; returns the last count seen. */
static int wait_fds(int least, int most, int ms)
{
    int64_t end = now_ns() + ms * MS;
    int n;
    for (;;) {
        n = proc_fds(NULL);
        bool done = most >= 0 ? n >= 0 && n <= most : n >= least;
        if (done || now_ns() > end || !brookd_alive())
            return n;
        pause_ms(20);
    }
}

/* Make sure brookd may hold `need` descriptors, raising its limit (hard too, as root). */
static bool brookd_nofile_at_least(rlim_t need)
{
    struct rlimit cur;
    if (prlimit(brookd, RLIMIT_NOFILE, NULL, &cur))
        return false;
    if (cur.rlim_cur >= need)
        return true;
    struct rlimit want = {need, cur.rlim_max > need ? cur.rlim_max : need};
    if (prlimit(brookd, RLIMIT_NOFILE, &want, NULL)) {
        fprintf(stderr, "cannot raise brookd's RLIMIT_NOFILE to %lu: %s\n", (unsigned long)need,
                strerror(errno));
        return false;
    }
    return true;
}

/* Let this process hold `need` descriptors. */
static void own_nofile_at_least(rlim_t need)
{
    struct rlimit cur;
    if (getrlimit(RLIMIT_NOFILE, &cur) || cur.rlim_cur >= need)
        return;
    struct rlimit want = {need, cur.rlim_max > need ? cur.rlim_max : need};
    if (setrlimit(RLIMIT_NOFILE, &want)) {
        want.rlim_cur = cur.rlim_max;
        want.rlim_max = cur.rlim_max;
        setrlimit(RLIMIT_NOFILE, &want);
    }
}

/* ---- load connections: non-blocking sockets on one epoll set ---- */

struct lconn {
    int fd;           /* -1 when not open */
    int ep;           /* the epoll set it is in */
    bool connected;   /* the handshake completed */
    bool peer_closed; /* brookd closed it (EOF or reset) */
    bool failed;      /* the connect itself failed */
    bool want_out;    /* EPOLLOUT is in the interest set */
    int kind;         /* the scenario's own */
    int count;        /* the scenario's own (frames in a burst, bytes trickled) */
    int64_t t_open;   /* connect() called */
    int64_t t_mark;   /* the scenario's own moment */
    int64_t t_closed; /* when brookd's close was seen */
    int64_t t_next;   /* the scenario's own next step */
    uint8_t *out;     /* bytes to send, out_off of out_len sent */
    size_t out_len, out_off, out_cap;
    uint64_t in_bytes; /* received from brookd */
    uint64_t in_mark;  /* in_bytes at t_mark */
};

static struct {
    long connected, failed, peer_closed;
} tally;

static uint32_t src_next;

static void lconn_interest(struct lconn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (out != c->want_out && epoll_ctl(c->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->want_out = out;
}

/* Start a connection to brookd from the next source address; 0 or -errno. */
static int lconn_open(int ep, struct lconn *c, int kind)
{
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->ep = ep;
    c->kind = kind;
    c->t_open = now_ns();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000100u + 1 + src_next++ % 254);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data.ptr = c};
    if (bind(fd, (struct sockaddr *)&src, sizeof src) ||
        (connect(fd, (struct sockaddr *)&broker_addr, sizeof broker_addr) &&
         errno != EINPROGRESS) ||
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
        int err = -errno;
        close(fd);
        return err;
    }
    c->fd = fd;
    c->want_out = true;
    return 0;
}

/* Close from this side with a reset (no TIME_WAIT). Safe on a closed one. */
static void lconn_abort(struct lconn *c)
{
    if (c->fd >= 0) {
        struct linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(c->fd);
        c->fd = -1;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = c->out_cap = 0;
}

static void lconn_peer_closed(struct lconn *c)
{
    c->peer_closed = true;
    c->t_closed = now_ns();
    tally.peer_closed++;
    close(c->fd); /* its EOF would keep a level-triggered set busy */
    c->fd = -1;
}

static void lconn_flush(struct lconn *c)
{
    while (c->fd >= 0 && c->connected && c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            break;
        } else {
            lconn_peer_closed(c); /* EPIPE, ECONNRESET: brookd is gone from it */
            return;
        }
    }
    if (c->fd >= 0 && c->connected)
        lconn_interest(c, c->out_off < c->out_len);
}

/* Queue bytes and send what the socket takes now. */
static void lconn_send(struct lconn *c, const void *p, size_t len)
{
    if (c->fd < 0)
        return;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        uint8_t *nb = realloc(c->out, cap);
        if (!nb) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        c->out = nb;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    lconn_flush(c);
}

static void lconn_io(struct lconn *c, uint32_t events)
{
    if (c->fd < 0)
        return;
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            c->failed = true;
            tally.failed++;
            close(c->fd);
            c->fd = -1;
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        c->connected = true;
        tally.connected++;
    }
    lconn_flush(c);
    uint8_t buf[65536];
    for (int i = 0; i < 16 && c->fd >= 0; i++) { /* the rest on the next round */
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            c->in_bytes += (uint64_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        lconn_peer_closed(c);
    }
}

/* Wait up to ms for events on ep and handle them; returns how many there were. */
static int pump(int ep, int ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, ms);
    for (int i = 0; i < n; i++)
        lconn_io(evs[i].data.ptr, evs[i].events);
    return n > 0 ? n : 0;
}

/* ApiVersions v0, correlation id 1, client id "hostile". */
static const uint8_t api_versions_req[] = {0, 0, 0, 17,  0,   18,  0,   0,   0,   0,  0,
                                           1, 0, 7, 'h', 'o', 's', 't', 'i', 'l', 'e'};

/* One ApiVersions round trip on a new connection within ms; false if unanswered. */
static bool probe_served(int ms, double *took_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct lconn c = {.fd = -1};
    int64_t t0 = now_ns(), end = t0 + ms * MS;
    bool served = false;
    if (ep >= 0 && lconn_open(ep, &c, 0) == 0) {
        lconn_send(&c, api_versions_req, sizeof api_versions_req);
        while (!served && c.fd >= 0 && now_ns() < end) {
            pump(ep, 20);
            served = c.in_bytes >= 4;
        }
    }
    if (took_ms)
        *took_ms = since_ms(t0);
    lconn_abort(&c);
    if (ep >= 0)
        close(ep);
    return served;
}

/* ---- the control client ---- */

struct sample {
    int64_t sent_ns, acked_ns, recv_ns; /* 0 until it happens */
    int32_t err;                        /* produce or delivery error */
    int32_t recvs;                      /* times consumed */
};

static struct {
    rd_kafka_t *prod, *cons;
    char topic[64];
    uint64_t nonce;
    struct sample *s; /* by sequence number */
    int sent;         /* records produced (atomic) */
    bool stop_prod, stop_cons;
    pthread_t prod_th, cons_th;
    int logs, consume_errors;
} ctl;

struct window {
    const char *name;
    int64_t from, to;
    bool stall_allowed; /* brookd could not open a file: only recovery counts */
};
static struct window windows[16];
static int n_windows;

static void window_add(const char *name, int64_t from, int64_t to, bool stall_allowed)
{
    if (n_windows < (int)(sizeof windows / sizeof windows[0]))
        windows[n_windows++] = (struct window){name, from, to, stall_allowed};
}

static void control_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (__atomic_fetch_add(&ctl.logs, 1, __ATOMIC_RELAXED) < 10)
        fprintf(stderr, "# rdkafka %s: %s\n", fac, buf);
}

static void control_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    intptr_t seq = (intptr_t)m->_private;
    if (seq < 0 || seq >= CONTROL_MAX)
        return;
    if (m->err)
        STORE(ctl.s[seq].err, (int32_t)m->err);
    else
        STORE(ctl.s[seq].acked_ns, now_ns());
}

static void *control_produce(void *arg)
{
    int64_t next = now_ns();
    while (!LOAD(ctl.stop_prod) && ctl.sent < CONTROL_MAX) {
        next += CONTROL_PERIOD_MS * MS;
        if (next < now_ns() - CONTROL_PERIOD_MS * MS)
            next = now_ns(); /* starved: no burst to catch up */
        struct timespec ts = {next / 1000000000, next % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        int seq = ctl.sent;
        uint8_t v[16];
        put_be64(v, ctl.nonce);
        put_be64(v + 8, (uint64_t)seq);
        STORE(ctl.s[seq].sent_ns, now_ns());
        rd_kafka_resp_err_t e =
            rd_kafka_producev(ctl.prod, RD_KAFKA_V_TOPIC(ctl.topic), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(v, 16), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq), RD_KAFKA_V_END);
        if (e)
            STORE(ctl.s[seq].err, (int32_t)e);
        STORE(ctl.sent, seq + 1);
        rd_kafka_poll(ctl.prod, 0);
    }
    rd_kafka_flush(ctl.prod, 60000);
    return NULL;
}

static void *control_consume(void *arg)
{
    while (!LOAD(ctl.stop_cons)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ctl.cons, 100);
        if (!m)
            continue;
        int64_t t = now_ns();
        if (!m->err && m->len == 16 && get_be64(m->payload) == ctl.nonce) {
            uint64_t seq = get_be64((const uint8_t *)m->payload + 8);
            if (seq < CONTROL_MAX) {
                struct sample *s = &ctl.s[seq];
                if (!LOAD(s->recv_ns))
                    STORE(s->recv_ns, t);
                __atomic_add_fetch(&s->recvs, 1, __ATOMIC_RELAXED);
            }
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            ctl.consume_errors++;
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_conf_t *control_conf(const char *const *kv)
{
    rd_kafka_conf_t *conf = rdk_conf(broker, NULL);
    static const char *const common[] = {"socket.nagle.disable",
                                         "true",
                                         "reconnect.backoff.ms",
                                         "20",
                                         "reconnect.backoff.max.ms",
                                         "500",
                                         NULL};
    rdk_conf_set_all(conf, common);
    rdk_conf_set_all(conf, kv);
    rd_kafka_conf_set_log_cb(conf, control_log);
    return conf;
}

/* Index of the first record sent at or after t, or ctl.sent. */
static int control_first_after(int64_t t)
{
    int n = LOAD(ctl.sent);
    for (int i = 0; i < n; i++)
        if (LOAD(ctl.s[i].sent_ns) >= t)
            return i;
    return n;
}

/* Poll until a record sent at or after t has been consumed, for at most ms; the time
 * from t to that record's arrival in ms, or -1. */
static double control_wait_flowing(int64_t t, int ms)
{
    int64_t end = now_ns() + ms * MS;
    while (now_ns() < end) {
        int n = LOAD(ctl.sent);
        for (int i = control_first_after(t); i < n; i++) {
            int64_t r = LOAD(ctl.s[i].recv_ns);
            if (r)
                return (double)(r - t) / MS;
        }
        pause_ms(10);
    }
    return -1;
}

static bool control_start(void)
{
    char err[512], client_id[64];
    snprintf(ctl.topic, sizeof ctl.topic, "hostile-control-%d", (int)getpid());
    snprintf(client_id, sizeof client_id, "hostile-control-%d", (int)getpid());
    ctl.nonce = (uint64_t)now_ns() ^ (uint64_t)getpid() << 40;
    ctl.s = calloc(CONTROL_MAX, sizeof *ctl.s);
    const char *prod_kv[] = {"client.id",
                             client_id,
                             "acks",
                             "1",
                             "linger.ms",
                             "0",
                             "enable.idempotence",
                             "false",
                             "message.timeout.ms",
                             "120000",
                             NULL};
    rd_kafka_conf_t *pc = control_conf(prod_kv);
    rd_kafka_conf_set_dr_msg_cb(pc, control_dr);
    ctl.prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    /* librdkafka's consumer wants a group even for assign(); nothing is committed */
    const char *cons_kv[] = {"client.id",
                             client_id,
                             "group.id",
                             client_id,
                             "enable.auto.commit",
                             "false",
                             "fetch.wait.max.ms",
                             "100",
                             "fetch.error.backoff.ms",
                             "50",
                             "enable.partition.eof",
                             "false",
                             NULL};
    ctl.cons = rd_kafka_new(RD_KAFKA_CONSUMER, control_conf(cons_kv), err, sizeof err);
    if (!ctl.s || !ctl.prod || !ctl.cons) {
        fprintf(stderr, "control client: %s\n", err);
        return false;
    }
    const char *names[9] = {ctl.topic};
    for (int i = 0; i < opt.n_topics; i++)
        names[1 + i] = opt.topics[i];
    bool created = rdk_create_topics(ctl.prod, names, 1 + opt.n_topics, 1) == 0;
    result(created, "the control topic%s created",
           opt.n_topics ? " and the frames' topics are" : " is");
    if (!created)
        return false;
    /* a record in each of the frames' topics, so their partitions' files (made at
     * first use) are open before any descriptor count is taken */
    char seed[] = "seed";
    for (int i = 0; i < opt.n_topics; i++)
        rd_kafka_producev(ctl.prod, RD_KAFKA_V_TOPIC(opt.topics[i]), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_VALUE(seed, 4), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE((void *)(intptr_t)-1), RD_KAFKA_V_END);
    rd_kafka_flush(ctl.prod, 30000);
    rd_kafka_poll_set_consumer(ctl.cons);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, ctl.topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(ctl.cons, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    int64_t t0 = now_ns();
    pthread_create(&ctl.cons_th, NULL, control_consume, NULL);
    pthread_create(&ctl.prod_th, NULL, control_produce, NULL);
    double ms = control_wait_flowing(t0, 30000);
    result(ms >= 0, "the control client produces and consumes (first record after %.0f ms)", ms);
    return ms >= 0;
}

/* Stop producing and wait (bounded) until every record sent is acknowledged or failed
 * and every acknowledged one was consumed. */
static void control_stop(void)
{
    STORE(ctl.stop_prod, true);
    pthread_join(ctl.prod_th, NULL);
    int n = LOAD(ctl.sent);
    int64_t end = now_ns() + 60000 * MS;
    for (int i = 0; i < n && now_ns() < end;) {
        struct sample *s = &ctl.s[i];
        if (LOAD(s->err) || (LOAD(s->acked_ns) && LOAD(s->recv_ns)))
            i++;
        else
            pause_ms(10);
    }
    STORE(ctl.stop_cons, true);
    pthread_join(ctl.cons_th, NULL);
    rd_kafka_consumer_close(ctl.cons);
    rd_kafka_destroy(ctl.cons);
    rd_kafka_destroy(ctl.prod);
}

struct stats {
    int n, acked, consumed, errors, dups;
    int during;           /* consumed before the window ended */
    double p50, p99, max; /* produce -> consume, ms */
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *v, int n, int p)
{
    if (!n)
        return 0;
    int i = (int)(((int64_t)n * p + 99) / 100) - 1; /* nearest rank */
    return (double)v[i < 0 ? 0 : i] / MS;
}

static void control_stats(const struct window *w, struct stats *st)
{
    memset(st, 0, sizeof *st);
    int n = LOAD(ctl.sent);
    int64_t *lat = malloc((size_t)(n ? n : 1) * sizeof *lat);
    for (int i = 0; i < n; i++) {
        struct sample *s = &ctl.s[i];
        if (s->sent_ns < w->from || s->sent_ns >= w->to)
            continue;
        st->n++;
        st->acked += s->acked_ns != 0;
        st->errors += s->err != 0;
        st->dups += s->recvs > 1;
        if (s->recv_ns) {
            lat[st->consumed++] = s->recv_ns - s->sent_ns;
            st->during += s->recv_ns < w->to;
        }
    }
    qsort(lat, (size_t)st->consumed, sizeof *lat, cmp_i64);
    st->p50 = pct(lat, st->consumed, 50);
    st->p99 = pct(lat, st->consumed, 99);
    st->max = st->consumed ? (double)lat[st->consumed - 1] / MS : 0;
    free(lat);
}

static void control_report(void)
{
    struct stats base = {0};
    for (int i = 0; i < n_windows; i++) {
        const struct window *w = &windows[i];
        struct stats st;
        control_stats(w, &st);
        if (i == 0)
            base = st;
        char ratio[64] = "";
        if (i > 0 && base.p99 > 0)
            snprintf(ratio, sizeof ratio, ", p99 %.2fx unloaded (goal < 2x)", st.p99 / base.p99);
        figure("control %s: %d records in %.1f s, produce->consume p50 %.2f ms, p99 %.2f ms, "
               "max %.2f ms%s",
               w->name, st.n, (double)(w->to - w->from) / 1e9, st.p50, st.p99, st.max, ratio);
        result(st.n > 0 && st.acked == st.n && st.consumed == st.n && st.errors == 0,
               "control: every record sent during %s was acknowledged and consumed (%d/%d/%d, "
               "%d errors, %d duplicates)",
               w->name, st.acked, st.consumed, st.n, st.errors, st.dups);
        if (!w->stall_allowed)
            result(st.during > 0, "control: records went through during %s (%d of %d)", w->name,
                   st.during, st.n);
    }
}

/* ---- idle connections ---- */

/* Open n connections on ep (HANDSHAKES in flight at once) and wait until each has
 * connected or failed, within ms; returns how many connected. */
static long open_many(int ep, struct lconn *cs, int n, int ms, int (*kind)(int))
{
    int64_t end = now_ns() + ms * MS;
    long c0 = tally.connected, f0 = tally.failed;
    int opened = 0;
    while (now_ns() < end) {
        long done = tally.connected - c0 + tally.failed - f0;
        while (opened < n && opened - done < HANDSHAKES) {
            if (lconn_open(ep, &cs[opened], kind ? kind(opened) : 0)) {
                cs[opened].failed = true;
                tally.failed++;
                done++;
            }
            opened++;
        }
        if (done >= n)
            break;
        pump(ep, 10);
    }
    return tally.connected - c0;
}

static void run_idle(int n)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct lconn *cs = calloc((size_t)n, sizeof *cs);
    if (ep < 0 || !cs || !brookd_nofile_at_least((rlim_t)n + 1024)) {
        result(false, "idle: set up %d connections", n);
        free(cs);
        return;
    }
    for (int i = 0; i < n; i++)
        cs[i].fd = -1;
    memset(&tally, 0, sizeof tally);
    int fds0 = proc_fds(NULL);
    long rss0 = proc_rss_kib();
    int64_t t_start = now_ns();
    long connected = open_many(ep, cs, n, 60000, NULL);
    int fds1 = wait_fds(fds0 + n, -1, 30000);
    double open_ms = since_ms(t_start);
    result(connected == n && fds1 - fds0 >= n && tally.peer_closed == 0,
           "idle: brookd accepted all %d connections (%ld connected, %d more descriptors, in "
           "%.0f ms)",
           n, connected, fds1 - fds0, open_ms);

    int64_t t_from = now_ns(), t_to = t_from + (int64_t)(opt.hold_s * 1e9);
    while (now_ns() < t_to)
        pump(ep, 100);
    window_add("idle", t_from, t_to, false);
    long rss1 = proc_rss_kib();
    double per = (double)(rss1 - rss0) * 1024 / n;
    figure("idle: %d connections: brookd VmRSS %ld -> %ld KiB, %.0f bytes per connection "
           "(goal <= %d)",
           n, rss0, rss1, per, CONN_GOAL_BYTES);
    if (opt.memory_limits)
        result(per <= CONN_GOAL_BYTES, "idle: %.0f bytes per idle connection (<= %d)", per,
               CONN_GOAL_BYTES);
    result(tally.peer_closed == 0,
           "idle: brookd kept every idle connection for %.1f s (%ld closed)", opt.hold_s,
           tally.peer_closed);

    /* a real client's first request: the memory an idle but introduced connection keeps */
    for (int i = 0; i < n; i++)
        lconn_send(&cs[i], api_versions_req, sizeof api_versions_req);
    int64_t end = now_ns() + 60000 * MS;
    int answered = 0;
    while (now_ns() < end) {
        pump(ep, 20);
        answered = 0;
        for (int i = 0; i < n; i++)
            answered += cs[i].in_bytes > 0;
        if (answered == n)
            break;
    }
    long rss2 = proc_rss_kib();
    result(answered == n, "idle: every connection is answered afterwards (%d/%d)", answered, n);
    figure("idle: after one ApiVersions request each: VmRSS %ld KiB, %.0f bytes per connection",
           rss2, (double)(rss2 - rss0) * 1024 / n);

    for (int i = 0; i < n; i++)
        lconn_abort(&cs[i]);
    int fds2 = wait_fds(0, fds0 + 2, 30000);
    result(fds2 >= 0 && fds2 <= fds0 + 2,
           "idle: brookd released every connection it was reset on (%d descriptors, %d before)",
           fds2, fds0);
    figure("idle: after closing them: VmRSS %ld KiB", proc_rss_kib());
    free(cs);
    close(ep);
}

/* ---- mutated frames ---- */

struct frame {
    uint8_t *p; /* the size prefix and the request */
    size_t len;
};
static struct frame *frames;
static int n_frames;
static size_t frame_max;

/* APIs that change what brookd stores on a well-formed request: a mutated copy could
 * create, delete or truncate topics at random. They are left out of the stream unless
 * -A asks for them. */
static bool key_excluded(int key)
{
    return !opt.admin && (key == 19 || key == 20 || key == 21 || key == 37 || key == 42);
}

static bool frame_file_wanted(const char *name, bool bin_only)
{
    size_t len = strlen(name);
    if (name[0] == '.' || strstr(name, "-resp"))
        return false;
    return !bin_only || (len > 4 && !strcmp(name + len - 4, ".bin"));
}

/* Whether p[0..len) is a sequence of whole size-prefixed frames. */
static bool frames_whole(const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= 4 && get_be32(p + off) <= len - off - 4)
        off += 4 + get_be32(p + off);
    return len >= 4 && off == len;
}

/* Turn every whole frame at the start of p[0..len) that is an excluded API into an
 * ApiVersions request (with the old body). */
static void frames_neutralize(uint8_t *p, size_t len)
{
    for (size_t off = 0; len - off >= 6 && get_be32(p + off) <= len - off - 4;
         off += 4 + get_be32(p + off))
        if (get_be32(p + off) >= 2 && key_excluded(p[off + 4] << 8 | p[off + 5])) {
            p[off + 4] = 0;
            p[off + 5] = 18;
        }
}

/* Load the frame files of dir: *.bin files other than responses (captured requests,
 * size prefix included), or if there are none, every file (a fuzz corpus: a
 * connection's bytes, or one request without its size prefix, which is added).
 * Returns how many were loaded. */
static int frames_load(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return 0;
    bool bin_only = false;
    for (int i = 0; i < n; i++)
        bin_only |= frame_file_wanted(names[i]->d_name, true);
    frames = calloc(FRAME_FILES_MAX, sizeof *frames);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        FILE *f = NULL;
        if (frames && n_frames < FRAME_FILES_MAX && frame_file_wanted(names[i]->d_name, bin_only) &&
            !stat(path, &st) && S_ISREG(st.st_mode) && st.st_size >= 2 &&
            st.st_size <= FRAME_BYTES_MAX && (f = fopen(path, "rb"))) {
            size_t len = (size_t)st.st_size;
            uint8_t *p = malloc(len + 4);
            if (p && fread(p + 4, 1, len, f) == len) {
                if (frames_whole(p + 4, len)) { /* one or more frames, as on the wire */
                    memmove(p, p + 4, len);
                } else {
                    put_be32(p, (uint32_t)len);
                    len += 4;
                }
                /* a lone admin request is left out; in a stream, it is disarmed */
                bool lone_admin =
                    get_be32(p) == len - 4 && len >= 6 && key_excluded(p[4] << 8 | p[5]);
                if (len < 6 || lone_admin) {
                    free(p);
                } else {
                    frames_neutralize(p, len);
                    frames[n_frames++] = (struct frame){p, len};
                    if (len > frame_max)
                        frame_max = len;
                }
            } else {
                free(p);
            }
        }
        if (f)
            fclose(f);
        free(names[i]);
    }
    free(names);
    return n_frames;
}

/* A mutated copy of a random frame into out (room for 2 * frame_max + 64); its length. */
static size_t mutate(uint8_t *out)
{
    const struct frame *f = &frames[rnd() % (uint64_t)n_frames];
    memcpy(out, f->p, f->len);
    size_t len = f->len, body = len - 4;
    static const uint32_t lies32[] = {0x7fffffff, 0xffffffff, 0x80000000, 0x00010000, 0};
    static const uint16_t lies16[] = {0x7fff, 0xffff, 0x8000, 0x0100, 0};
    switch (rnd() % 8) {
    case 0: /* bit flips after the size */
        for (int i = 0, k = 1 + (int)(rnd() % 8); i < k; i++)
            out[4 + rnd() % body] ^= (uint8_t)(1u << rnd() % 8);
        break;
    case 1: /* a length or count field that lies */
        if (body >= 4 && rnd() % 2) {
            put_be32(out + 4 + rnd() % (body - 3), lies32[rnd() % 5]);
        } else if (body >= 2) {
            size_t at = 4 + rnd() % (body - 1);
            uint16_t v = lies16[rnd() % 5];
            out[at] = (uint8_t)(v >> 8);
            out[at + 1] = (uint8_t)v;
        }
        break;
    case 2: /* truncated, while the size still claims the whole: it swallows what follows */
        len = 4 + rnd() % body;
        break;
    case 3: /* truncated and framed as such */
        len = 4 + rnd() % body;
        put_be32(out, (uint32_t)(len - 4));
        break;
    case 4: { /* the size field lies */
        int64_t v;
        switch (rnd() % 6) {
        case 0: v = -(int64_t)(rnd() % 4) - 1; break;
        case 1: v = (int64_t)(rnd() % 4); break;
        case 2: v = (int64_t)body + 1 + (int64_t)(rnd() % 64); break;
        case 3: v = (int64_t)body - 1 - (int64_t)(rnd() % (body < 16 ? body : 16)); break;
        case 4: v = (int64_t)(rnd() % (1 << 20)); break;
        default: v = INT32_MAX; break;
        }
        put_be32(out, (uint32_t)v);
        break;
    }
    case 5: /* another API key or version on the same body */
        if (body >= 4) {
            int key;
            do
                key = (int)(rnd() % 70);
            while (key_excluded(key));
            int version = (int)(rnd() % 22) - 1;
            out[4] = (uint8_t)(key >> 8);
            out[5] = (uint8_t)key;
            out[6] = (uint8_t)(version >> 8);
            out[7] = (uint8_t)version;
        }
        break;
    case 6: { /* one request's start on another's end */
        const struct frame *g = &frames[rnd() % (uint64_t)n_frames];
        size_t a = 4 + rnd() % body, b = 4 + rnd() % (g->len - 4);
        memcpy(out + a, g->p + b, g->len - b);
        len = a + g->len - b;
        put_be32(out, (uint32_t)(len - 4));
        break;
    }
    default: /* a slice repeated, as an array with more elements than it says */
        if (body >= 2) {
            size_t at = 4 + rnd() % body, n = 1 + rnd() % (len - at < 64 ? len - at : 64);
            memmove(out + at + n, out + at, len - at);
            len += n;
            put_be32(out, (uint32_t)(len - 4));
        }
        break;
    }
    frames_neutralize(out, len); /* a flip may have made an admin request */
    return len;
}

static void run_frames(long total)
{
    if (!opt.frame_dir || frames_load(opt.frame_dir) == 0) {
        result(false, "frames: frame files in %s", opt.frame_dir ? opt.frame_dir : "(no -d)");
        return;
    }
    figure("frames: %d source frames from %s (largest %zu bytes), seed %llu", n_frames,
           opt.frame_dir, frame_max, (unsigned long long)opt.seed);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct lconn cs[FRAME_CONNS];
    /* 0 free, 1 sending its burst, 2 half-closed: waiting for brookd's close, 3 waiting
     * for brookd's answers to stop */
    int state[FRAME_CONNS] = {0};
    uint8_t *buf = malloc(2 * frame_max + 64);
    for (int i = 0; i < FRAME_CONNS; i++)
        cs[i] = (struct lconn){.fd = -1};
    memset(&tally, 0, sizeof tally);
    int fds0 = proc_fds(NULL);
    long rss0 = proc_rss_kib(), peak = rss0;
    long sent = 0, conns = 0, early = 0, hanging = 0, refused = 0;
    uint64_t bytes_out = 0, bytes_in = 0;
    int64_t t_from = now_ns(), end = t_from + (int64_t)(opt.frames_deadline_s * 1e9);
    int64_t next_check = t_from;
    long long cpu0 = proc_cpu_ticks(NULL);
    double self0 = own_cpu_s();
    bool alive = true, active = true;
    while ((sent < total || active) && now_ns() < end && alive) {
        active = false;
        for (int i = 0; i < FRAME_CONNS; i++) {
            struct lconn *c = &cs[i];
            if (state[i] == 0 && sent < total) {
                if (lconn_open(ep, c, 0)) {
                    refused++;
                    continue;
                }
                /* mostly short bursts: brookd drops a connection at its first
                 * undecodable request, so long ones rarely get past it */
                int burst = 1 + (int)(rnd() % (1u << rnd() % 7));
                if (burst > total - sent)
                    burst = (int)(total - sent);
                for (int k = 0; k < burst; k++) {
                    size_t len = mutate(buf);
                    lconn_send(c, buf, len);
                    bytes_out += len;
                }
                c->count = burst;
                sent += burst;
                conns++;
                state[i] = 1;
            }
            if (state[i] != 0 && state[i] != 2 && (c->failed || c->peer_closed)) {
                early += c->peer_closed; /* brookd dropped it before we were done: bad input */
                refused += c->failed;
                state[i] = 0;
            } else if (state[i] == 1 && c->connected && c->out_off == c->out_len) {
                c->t_mark = now_ns();
                c->in_mark = c->in_bytes;
                if (c->count % 2) { /* brookd reads the burst, then our end, and closes */
                    shutdown(c->fd, SHUT_WR);
                    state[i] = 2;
                } else { /* brookd answers what it can; we reset once it is quiet */
                    state[i] = 3;
                }
            } else if (state[i] == 2 && c->peer_closed) {
                state[i] = 0;
            } else if (state[i] == 2 && now_ns() - c->t_mark > DRAIN_MS * MS) {
                hanging++;
                state[i] = 0;
            } else if (state[i] == 3 && c->in_bytes != c->in_mark) {
                c->in_mark = c->in_bytes; /* still answering */
                c->t_mark = now_ns();
            } else if (state[i] == 3 && now_ns() - c->t_mark > QUIET_MS * MS) {
                state[i] = 0;
            }
            if (state[i] == 0) {
                bytes_in += c->in_bytes;
                c->in_bytes = 0;
                lconn_abort(c);
            }
            active |= state[i] != 0;
        }
        pump(ep, 10);
        if (now_ns() >= next_check) {
            long r = proc_rss_kib();
            if (r > peak)
                peak = r;
            alive = brookd_alive();
            next_check = now_ns() + 100 * MS;
        }
    }
    int64_t t_to = now_ns();
    double cpu = (double)(proc_cpu_ticks(NULL) - cpu0) / (double)sysconf(_SC_CLK_TCK) /
                 ((double)(t_to - t_from) / 1e9) * 100;
    double self = (own_cpu_s() - self0) / ((double)(t_to - t_from) / 1e9) * 100;
    for (int i = 0; i < FRAME_CONNS; i++)
        lconn_abort(&cs[i]);
    free(buf);
    close(ep);
    window_add("mutated frames", t_from, t_to, false);
    alive = alive && brookd_alive();
    result(alive, "frames: brookd is up after %ld mutated frames", sent);
    result(sent == total, "frames: all %ld frames sent within %.0f s (%ld)", total,
           opt.frames_deadline_s, sent);
    int fds1 = wait_fds(0, fds0 + 2, 20000);
    long rss1 = proc_rss_kib();
    double secs = (double)(t_to - t_from) / 1e9;
    figure("frames: %ld frames (%.1f MB) in %.1f s (%.0f/s) over %ld connections; brookd closed "
           "%ld mid-burst; %.1f MB of responses; %ld connects failed; CPU: brookd %.0f%%, this "
           "load generator %.0f%%",
           sent, (double)bytes_out / 1e6, secs, (double)sent / secs, conns, early,
           (double)bytes_in / 1e6, refused, cpu, self);
    figure("frames: brookd VmRSS %ld KiB before, %ld KiB peak, %ld KiB after: growth %ld KiB "
           "(goal < %d)",
           rss0, peak, rss1, rss1 - rss0, GROWTH_GOAL_KIB);
    if (opt.memory_limits)
        result(rss1 - rss0 < GROWTH_GOAL_KIB, "frames: RSS growth %ld KiB < %d KiB", rss1 - rss0,
               GROWTH_GOAL_KIB);
    result(hanging == 0,
           "frames: brookd closed every connection once it had read it all (%ld "
           "left hanging)",
           hanging);
    if (!opt.admin) /* topics the frames created hold descriptors of their own */
        result(fds1 >= 0 && fds1 <= fds0 + 2, "frames: no descriptor left behind (%d, %d before)",
               fds1, fds0);
    double took = 0;
    bool served = alive && probe_served(10000, &took);
    result(served, "frames: a new connection is served afterwards (%.0f ms)", took);
}

/* ---- churn at the fd limit ---- */

/* The number of connections in cs[0..n) that are open and were answered, refused, or
 * are still waiting for an answer. */
static void churn_count(const struct lconn *cs, int n, int *answered, int *refused, int *waiting)
{
    *answered = *refused = *waiting = 0;
    for (int i = 0; i < n; i++) {
        if (cs[i].fd >= 0 && cs[i].in_bytes > 0)
            ++*answered;
        else if (cs[i].peer_closed && cs[i].in_bytes == 0)
            ++*refused;
        else if (cs[i].fd >= 0)
            ++*waiting;
    }
}

/* Open a connection in slot c that asks for ApiVersions as soon as it is connected. */
static bool churn_open(int ep, struct lconn *c)
{
    if (lconn_open(ep, c, 0))
        return false;
    lconn_send(c, api_versions_req, sizeof api_versions_req); /* queued until connected */
    return true;
}

/* Churn for ms: every 10 ms reset one answered connection (when reset is set) and open
 * a new one in its place, and in up to two slots brookd closed, measuring brookd's CPU;
 * returns its share of one CPU in percent. */
static double churn_hold(int ep, struct lconn *cs, int n, int ms, bool reset, long *opened,
                         long *served)
{
    long hz = sysconf(_SC_CLK_TCK);
    long long cpu0 = proc_cpu_ticks(NULL);
    int64_t t0 = now_ns(), end = t0 + ms * MS, next = t0;
    int at = 0;
    while (now_ns() < end) {
        if (now_ns() >= next) {
            next += 10 * MS;
            for (int k = 0; reset && k < n; k++, at = (at + 1) % n) { /* the next answered */
                if (cs[at].fd >= 0 && cs[at].in_bytes > 0) {
                    lconn_abort(&cs[at]);
                    *served += 1;
                    *opened += churn_open(ep, &cs[at]);
                    at = (at + 1) % n;
                    break;
                }
            }
            for (int k = 0, reopened = 0; k < n && reopened < 2; k++)
                if (cs[k].fd < 0) {
                    reopened++;
                    *opened += churn_open(ep, &cs[k]);
                }
        }
        pump(ep, 5);
    }
    long long cpu1 = proc_cpu_ticks(NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    return cpu0 < 0 || cpu1 < 0 ? 100 : (double)(cpu1 - cpu0) / (double)hz / secs * 100;
}

static void run_churn(int limit)
{
    struct rlimit orig;
    int fds0 = proc_fds(NULL);
    if (prlimit(brookd, RLIMIT_NOFILE, NULL, &orig) || fds0 < 0 || fds0 + 32 > limit) {
        result(false, "churn: brookd (%d descriptors open) can be limited to %d", fds0, limit);
        return;
    }
    struct rlimit low = {(rlim_t)limit, orig.rlim_max};
    if (prlimit(brookd, RLIMIT_NOFILE, &low, NULL)) {
        result(false, "churn: lower brookd's RLIMIT_NOFILE to %d: %s", limit, strerror(errno));
        return;
    }
    int n = limit + 64; /* more than brookd can hold */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct lconn *cs = calloc((size_t)n, sizeof *cs);
    for (int i = 0; i < n; i++)
        cs[i].fd = -1;
    memset(&tally, 0, sizeof tally);

    /* fill: connections until brookd has no descriptor to give */
    int64_t end = now_ns() + 30000 * MS;
    for (int i = 0; i < n && now_ns() < end; i++) {
        churn_open(ep, &cs[i]);
        if (i % 16 == 15)
            pump(ep, 5);
    }
    int answered, refused, waiting;
    int64_t settle = now_ns() + 2000 * MS; /* an answer takes milliseconds */
    while (now_ns() < settle)
        pump(ep, 20);
    churn_count(cs, n, &answered, &refused, &waiting);
    int fds1 = proc_fds(NULL);
    figure("churn: brookd limited to %d descriptors (%d open before): of %d connections %d were "
           "served, %d refused at once, %d left waiting; brookd holds %d descriptors",
           limit, fds0, n, answered, refused, waiting, fds1);
    result(answered > 0 && refused + waiting > 0 && answered <= limit - fds0,
           "churn: brookd serves connections up to its fd limit and no further");
    /* connections must not take the descriptors the log needs: a new topic's files */
    char topic[64];
    snprintf(topic, sizeof topic, "hostile-at-limit-%d", (int)getpid());
    const char *names[] = {topic};
    result(rdk_create_topics(ctl.prod, names, 1, 1) == 0,
           "churn: a topic can still be created while connections fill brookd's fd limit");

    /* at the limit: connections churn */
    long opened = 0, served = 0;
    int64_t t_from = now_ns();
    double cpu = churn_hold(ep, cs, n, CPU_WINDOW_MS, true, &opened, &served);
    int64_t t_to = now_ns();
    window_add("churn at the fd limit", t_from, t_to, false);
    figure("churn: at the limit for %.1f s: %ld connections reset after being served, %ld opened;"
           " brookd used %.1f%% of a CPU",
           (double)(t_to - t_from) / 1e9, served, opened, cpu);
    result(cpu < CPU_LIMIT_PCT,
           "churn: brookd does not spin at its fd limit (%.1f%% of a CPU < "
           "%.0f%% over %d ms)",
           cpu, CPU_LIMIT_PCT, CPU_WINDOW_MS);
    churn_count(cs, n, &answered, &refused, &waiting);
    result(served > 0, "churn: connections are served as others go (%ld)", served);

    /* not one descriptor left: accept (and anything else that needs one) fails */
    /* Below the lowest free descriptor: all under it are in use, and nothing can open a
     * new one there. A descriptor the log held a moment ago (a fetch's dup, or the
     * flusher's, kept through an fdatasync that a busy disk makes slow) may close and
     * leave a hole, though: lower the limit again until brookd's descriptors stay the
     * same, with the lowest free one at or above the limit, for half a second. */
    int lowest = 0, below = limit, stable = 0, count = -1;
    for (int i = 0; i < 200 && stable < 10; i++) {
        int now_count = proc_fds(&lowest);
        if (lowest >= below && now_count == count) {
            stable++;
        } else {
            stable = 0;
            if (lowest < below) {
                below = lowest > fds0 + 16 ? lowest - 8 : lowest;
                struct rlimit none = {(rlim_t)below, orig.rlim_max};
                prlimit(brookd, RLIMIT_NOFILE, &none, NULL);
            }
        }
        count = now_count;
        pump(ep, 50);
    }
    opened = served = 0;
    t_from = now_ns();
    cpu = churn_hold(ep, cs, n, CPU_WINDOW_MS, false, &opened, &served);
    t_to = now_ns();
    window_add("EMFILE", t_from, t_to, true);
    churn_count(cs, n, &answered, &refused, &waiting);
    figure("churn: no descriptor left (limit %d, below the %d brookd holds) for %.1f s: %ld "
           "opened, %d waiting; brookd used %.1f%% of a CPU",
           below, proc_fds(NULL), (double)(t_to - t_from) / 1e9, opened, waiting, cpu);
    result(waiting > 0, "churn: with no descriptor left, new connections wait in the backlog (%d)",
           waiting);
    result(cpu < CPU_LIMIT_PCT,
           "churn: brookd does not spin while accept fails with EMFILE (%.1f%% "
           "of a CPU < %.0f%% over %d ms)",
           cpu, CPU_LIMIT_PCT, CPU_WINDOW_MS);

    /* the load goes: its descriptors are free again under the same limit */
    int64_t t_free = now_ns();
    for (int i = 0; i < n; i++)
        lconn_abort(&cs[i]);
    double took;
    bool ok = probe_served(10000, &took);
    result(ok, "churn: once the load's descriptors are free, a new connection is served (%.0f ms)",
           took);
    double flow = control_wait_flowing(t_free, 20000);
    result(flow >= 0,
           "churn: the control client recovers (a record sent after the load went "
           "was consumed %.0f ms later)",
           flow);
    prlimit(brookd, RLIMIT_NOFILE, &orig, NULL);
    int fds2 = wait_fds(0, fds0 + 2, 20000);
    result(fds2 >= 0 && fds2 <= fds0 + 2, "churn: no descriptor left behind (%d, %d before)", fds2,
           fds0);
    free(cs);
    close(ep);
}

/* ---- slowloris ---- */

enum { SILENT, TRICKLE, STALL };
static const char *const kind_names[STALL_KINDS] = {"silent", "trickling", "stalled"};

static int slow_kind(int i)
{
    return i % 10 == 0 ? SILENT : i % 2 ? TRICKLE : STALL;
}

static void run_slowloris(int n)
{
    if (opt.request_timeout_ms <= 0 || opt.idle_ms <= 0) {
        result(false, "slowloris: needs brookd's request.timeout.ms (-R) and "
                      "connections.max.idle.ms (-I)");
        return;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct lconn *cs = calloc((size_t)n, sizeof *cs);
    if (ep < 0 || !cs || !brookd_nofile_at_least((rlim_t)n + 1024)) {
        result(false, "slowloris: set up %d connections", n);
        free(cs);
        return;
    }
    for (int i = 0; i < n; i++)
        cs[i].fd = -1;
    memset(&tally, 0, sizeof tally);
    int fds0 = proc_fds(NULL);
    int64_t t_from = now_ns();
    int64_t end =
        t_from +
        ((int64_t)(opt.idle_ms > opt.request_timeout_ms ? opt.idle_ms : opt.request_timeout_ms) +
         SWEEP_MS + DROP_SLACK_MS + 30000) *
            MS;
    /* the start of a request of SLOW_PREFIX bytes: the size, then ApiVersions' key */
    static const uint8_t start[] = {0, 0, SLOW_PREFIX >> 8, SLOW_PREFIX & 0xff, 0, 18, 0};
    int opened = 0, open = 0;
    for (;;) {
        while (opened < n && open < HANDSHAKES) {
            struct lconn *c = &cs[opened];
            if (lconn_open(ep, c, slow_kind(opened))) {
                c->failed = true;
                tally.failed++;
            }
            opened++;
            open++;
        }
        pump(ep, 10);
        int64_t t = now_ns();
        int left = 0;
        open = 0;
        for (int i = 0; i < opened; i++) {
            struct lconn *c = &cs[i];
            if (c->fd < 0)
                continue;
            left++;
            if (!c->connected) {
                open++;
                continue;
            }
            if (!c->t_mark) { /* just connected: its request starts now, or never */
                c->t_mark = t;
                if (c->kind != SILENT)
                    lconn_send(c, start, sizeof start);
                c->t_next = t + TRICKLE_MS * MS;
            } else if (c->kind == TRICKLE && t >= c->t_next && c->count < TRICKLE_MAX) {
                uint8_t zero = 0;
                lconn_send(c, &zero, 1);
                c->count++;
                c->t_next = t + (TRICKLE_MS / 2 + (int64_t)(rnd() % TRICKLE_MS)) * MS;
            }
        }
        if ((opened == n && left == 0) || t > end)
            break;
    }
    int64_t t_to = now_ns();
    window_add("slowloris", t_from, t_to, false);
    int count[STALL_KINDS] = {0}, closed[STALL_KINDS] = {0};
    double worst[STALL_KINDS] = {0}, sum[STALL_KINDS] = {0};
    for (int i = 0; i < n; i++) {
        struct lconn *c = &cs[i];
        count[c->kind]++;
        if (c->peer_closed && c->t_mark) {
            double ms = (double)(c->t_closed - c->t_mark) / MS;
            closed[c->kind]++;
            sum[c->kind] += ms;
            if (ms > worst[c->kind])
                worst[c->kind] = ms;
        }
        lconn_abort(c);
    }
    result(closed[0] + closed[1] + closed[2] == n,
           "slowloris: brookd closed all %d slow connections (%d of %d silent, %d of %d trickling, "
           "%d of %d stalled; %ld connects failed)",
           n, closed[SILENT], count[SILENT], closed[TRICKLE], count[TRICKLE], closed[STALL],
           count[STALL], tally.failed);
    for (int k = 0; k < STALL_KINDS; k++) {
        int limit_ms = (k == SILENT ? opt.idle_ms : opt.request_timeout_ms) + SWEEP_MS;
        figure("slowloris: %s clients dropped after %.0f ms on average, %.0f ms at most (%s %d ms "
               "+ %d ms sweep)",
               kind_names[k], closed[k] ? sum[k] / closed[k] : 0.0, worst[k],
               k == SILENT ? "connections.max.idle.ms" : "request.timeout.ms",
               k == SILENT ? opt.idle_ms : opt.request_timeout_ms, SWEEP_MS);
        result(closed[k] == count[k] && worst[k] <= limit_ms + DROP_SLACK_MS,
               "slowloris: every %s client was dropped within %d ms (+%d ms allowance): %.0f ms",
               kind_names[k], limit_ms, DROP_SLACK_MS, worst[k]);
    }
    int fds1 = wait_fds(0, fds0 + 2, 20000);
    result(fds1 >= 0 && fds1 <= fds0 + 2, "slowloris: no descriptor left behind (%d, %d before)",
           fds1, fds0);
    free(cs);
    close(ep);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: hostile_load [-u SECS] [-t SECS] [-d DIR] [-R MS] [-I MS] [-M] [-s SEED]\n"
            "                    [-F SECS] [-A] [-T TOPIC]... HOST:PORT BROOKD_PID SCENARIO...\n"
            "scenarios: frames=N idle=N churn=LIMIT slowloris=N\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "u:t:d:R:I:Ms:F:AT:")) != -1) {
        switch (ch) {
        case 'u': opt.unloaded_s = atof(optarg); break;
        case 't': opt.hold_s = atof(optarg); break;
        case 'd': opt.frame_dir = optarg; break;
        case 'R': opt.request_timeout_ms = atoi(optarg); break;
        case 'I': opt.idle_ms = atoi(optarg); break;
        case 'M': opt.memory_limits = true; break;
        case 's': opt.seed = strtoull(optarg, NULL, 10); break;
        case 'F': opt.frames_deadline_s = atof(optarg); break;
        case 'A': opt.admin = true; break;
        case 'T':
            if (opt.n_topics == 8)
                usage();
            opt.topics[opt.n_topics++] = optarg;
            break;
        default: usage();
        }
    }
    if (argc - optind < 3)
        usage();
    broker = argv[optind];
    brookd = (pid_t)atoi(argv[optind + 1]);
    const char *colon = strrchr(broker, ':');
    if (!colon || strncmp(broker, "127.", 4) || brookd <= 0)
        usage(); /* loopback only */
    broker_addr.sin_family = AF_INET;
    broker_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    broker_addr.sin_addr.s_addr = htonl(0x7f000001);
    rng_state = opt.seed ? opt.seed * 0x9e3779b97f4a7c15ULL : 1;
    signal(SIGPIPE, SIG_IGN);

    long most = 0;
    for (int i = optind + 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        long v = eq ? atol(eq + 1) : 0;
        if (!eq || v <= 0)
            usage();
        if (v > most && strncmp(argv[i], "frames=", 7))
            most = v;
    }
    own_nofile_at_least((rlim_t)most + 1024);

    if (!control_start())
        return 1;
    /* The load is this thread's work (the control client has threads of its own):
     * at the lowest priority, on a machine with few CPUs, the control's latency
     * shows what the broker does under the load rather than this thread taking the
     * CPU the control client would run on. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19))
        printf("# cannot lower the load thread's priority: %s\n", strerror(errno));
    int64_t t0 = now_ns();
    pause_ms((int)(opt.unloaded_s * 1000)); /* the unloaded measurement window */
    window_add("unloaded", t0, now_ns(), false);

    for (int i = optind + 2; i < argc && brookd_alive(); i++) {
        long v = atol(strchr(argv[i], '=') + 1);
        if (!strncmp(argv[i], "frames=", 7))
            run_frames(v);
        else if (!strncmp(argv[i], "idle=", 5))
            run_idle((int)v);
        else if (!strncmp(argv[i], "churn=", 6))
            run_churn((int)v);
        else if (!strncmp(argv[i], "slowloris=", 10))
            run_slowloris((int)v);
        else
            usage();
    }
    result(brookd_alive(), "brookd is up after the hostile load");
    control_stop();
    control_report();
    if (ctl.logs)
        figure("control: librdkafka logged %d lines (the first ones above)", ctl.logs);
    return failures ? 1 : 0;
}
