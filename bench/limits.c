/*
 * limits.c - the machine's own limits that brook's figures are divided by.
 *
 *   limits tcp      -s SIZE            one loopback TCP connection: a sender thread
 *                                      write()s 1 MiB chunks, a receiver read()s them
 *   limits sendfile -d DIR -s SIZE     the same connection fed by sendfile() from a
 *                                      file on DIR that is in the page cache (what a
 *                                      Fetch answer costs at best)
 *   limits write    -d DIR -s SIZE     write() of 1 MiB chunks to a file on DIR (the
 *                                      page cache; nothing waits for the disk)
 *   limits wsync    -d DIR -s SIZE     write() of 1 MiB chunks, fdatasync after each
 *   limits fsync    -d DIR -n COUNT    latency of one 4 KiB append + fdatasync, the
 *                                      floor under any acks=-1 answer
 *
 * Options: -c A,B pins the two sides of tcp/sendfile (sender A, receiver B) and
 * the writer of the disk figures (A) to CPUs. Figures are printed as "KEY VALUE"
 * lines (bench.h): mb_per_s (10^6 bytes per second), or fsync_p50_us etc.
 * Each invocation measures once; bench/run repeats it and takes the median.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"

#define CHUNK     (1 << 20)
#define SYNC_UNIT 4096

struct opts {
    const char *dir;
    int64_t size;
    int64_t count;
    int cpu_send, cpu_recv;
};

/* ---- one loopback connection ---------------------------------------------------- */

struct pair {
    int tx, rx;    /* connected sockets: sender side, receiver side */
    int64_t total; /* bytes the receiver expects */
    int cpu;       /* receiver's CPU */
    int64_t got;   /* bytes received */
};

/* Connect two TCP sockets over 127.0.0.1. 0 or -errno. */
static int loopback_pair(int *tx, int *rx)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0), rc = 0;
    if (l < 0)
        return -errno;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &len)) {
        rc = -errno;
        goto out_listener;
    }
    *tx = socket(AF_INET, SOCK_STREAM, 0);
    if (*tx < 0 || connect(*tx, (struct sockaddr *)&a, sizeof a)) {
        rc = -errno;
        goto out_listener;
    }
    *rx = accept(l, NULL, NULL);
    if (*rx < 0)
        rc = -errno;
out_listener:
    close(l);
    return rc;
}

static void *receiver_main(void *arg)
{
    struct pair *p = arg;
    static char buf[CHUNK];
    bench_pin(p->cpu);
    while (p->got < p->total) {
        ssize_t n = read(p->rx, buf, sizeof buf);
        if (n <= 0)
            break;
        p->got += n;
    }
    return NULL;
}

/* Send o->size bytes over one connection, from memory or (file >= 0) by sendfile. */
static int run_stream(const struct opts *o, int file)
{
    struct pair p = {.total = o->size, .cpu = o->cpu_recv};
    static char buf[CHUNK];
    pthread_t th;
    if (loopback_pair(&p.tx, &p.rx))
        return -1;
    bench_fill(buf, sizeof buf);
    bench_pin(o->cpu_send);
    int64_t t0 = clock_mono_ns(), sent = 0;
    pthread_create(&th, NULL, receiver_main, &p);
    while (sent < o->size) {
        size_t want = (size_t)(o->size - sent < CHUNK ? o->size - sent : CHUNK);
        ssize_t n;
        if (file >= 0) {
            off_t off = (off_t)sent;
            n = sendfile(p.tx, file, &off, want);
        } else {
            n = write(p.tx, buf, want);
        }
        if (n <= 0)
            break;
        sent += n;
    }
    pthread_join(th, NULL);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    close(p.tx);
    close(p.rx);
    if (p.got != o->size)
        return -1;
    bench_put("mb_per_s", (double)p.got / secs / 1e6);
    return 0;
}

/* ---- the data disk ----------------------------------------------------------- */

static int open_scratch(const struct opts *o, char *path, size_t cap)
{
    snprintf(path, cap, "%s/limits-%d.dat", o->dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        perror(path);
    return fd;
}

/* Write o->size bytes in 1 MiB chunks, with fdatasync after each if sync. */
static int run_write(const struct opts *o, bool sync)
{
    char path[4096];
    static char buf[CHUNK];
    int fd = open_scratch(o, path, sizeof path);
    if (fd < 0)
        return -1;
    bench_fill(buf, sizeof buf);
    bench_pin(o->cpu_send);
    int64_t t0 = clock_mono_ns(), done = 0;
    while (done < o->size) {
        if (write(fd, buf, CHUNK) != CHUNK || (sync && fdatasync(fd)))
            break;
        done += CHUNK;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    close(fd);
    unlink(path);
    if (done < o->size)
        return -1;
    bench_put("mb_per_s", (double)done / secs / 1e6);
    return 0;
}

/* Latency of appending 4 KiB and waiting for fdatasync, o->count times. */
static int run_fsync(const struct opts *o)
{
    char path[4096], buf[SYNC_UNIT];
    struct bench_lat lat;
    int fd = open_scratch(o, path, sizeof path), rc = -1;
    if (fd < 0 || bench_lat_init(&lat, (size_t)o->count))
        return -1;
    bench_fill(buf, sizeof buf);
    bench_pin(o->cpu_send);
    int64_t t0 = clock_mono_ns();
    for (int64_t i = 0; i < o->count; i++) {
        int64_t s = clock_mono_ns();
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fdatasync(fd))
            goto out;
        bench_lat_add(&lat, clock_mono_ns() - s);
    }
    bench_put("syncs_per_s", (double)o->count / ((double)(clock_mono_ns() - t0) / 1e9));
    bench_lat_report(&lat, "fsync");
    rc = 0;
out:
    bench_lat_release(&lat);
    close(fd);
    unlink(path);
    return rc;
}

/* A file of o->size bytes on o->dir, written and read once so it is cached. */
static int cached_file(const struct opts *o, char *path, size_t cap)
{
    static char buf[CHUNK];
    int fd = open_scratch(o, path, cap);
    if (fd < 0)
        return -1;
    bench_fill(buf, sizeof buf);
    for (int64_t done = 0; done < o->size; done += CHUNK)
        if (write(fd, buf, CHUNK) != CHUNK) {
            close(fd);
            unlink(path);
            return -1;
        }
    for (int64_t done = 0; done < o->size; done += CHUNK)
        if (pread(fd, buf, CHUNK, (off_t)done) <= 0)
            break;
    return fd;
}

static int run_sendfile(const struct opts *o)
{
    char path[4096];
    int fd = cached_file(o, path, sizeof path);
    if (fd < 0)
        return -1;
    int rc = run_stream(o, fd);
    close(fd);
    unlink(path);
    return rc;
}

/* ---- command line ------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr, "usage: limits tcp|sendfile|write|wsync|fsync [-d DIR] [-s SIZE] "
                    "[-n COUNT] [-c SENDCPU,RECVCPU]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct opts o = {.dir = ".", .size = 1LL << 30, .count = 1000, .cpu_send = -1, .cpu_recv = -1};
    if (argc < 2)
        return usage();
    const char *what = argv[1];
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "d:s:n:c:")) != -1) {
        switch (c) {
        case 'd': o.dir = optarg; break;
        case 's': o.size = bench_size(optarg); break;
        case 'n': o.count = atoll(optarg); break;
        case 'c':
            if (sscanf(optarg, "%d,%d", &o.cpu_send, &o.cpu_recv) < 1)
                return usage();
            break;
        default: return usage();
        }
    }
    o.size = o.size / CHUNK * CHUNK;
    if (o.size <= 0 || o.count <= 0)
        return usage();
    int rc;
    if (!strcmp(what, "tcp"))
        rc = run_stream(&o, -1);
    else if (!strcmp(what, "sendfile"))
        rc = run_sendfile(&o);
    else if (!strcmp(what, "write"))
        rc = run_write(&o, false);
    else if (!strcmp(what, "wsync"))
        rc = run_write(&o, true);
    else if (!strcmp(what, "fsync"))
        rc = run_fsync(&o);
    else
        return usage();
    if (rc)
        fprintf(stderr, "limits %s: failed: %s\n", what, strerror(errno));
    return rc ? 1 : 0;
}
