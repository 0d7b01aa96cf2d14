/*
 * store_bench.c - the store's append rate beside the disk's own limits, measured
 * in one run on one disk.
 *
 *   write         plain write() of 100 KiB chunks to one file (the page cache)
 *   write+sync    the same, each write followed by fdatasync (one writer)
 *   lazy          store appends of 100 x 1 KiB record batches, log.flush.interval.ms
 *                 set (durability on a timer), one appender
 *   group commit  8 appender threads, each keeping up to 4 batches in flight and
 *                 counting a batch only once the flusher reports it durable
 *
 * Each figure is the median of several runs (-r); ratios are printed against the
 * limits. Usage: store_bench [-d DIR] [-s MiB per run] [-r runs]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/store.h"

#define RECORD    1024
#define PER_BATCH 100
#define THREADS   8
#define IN_FLIGHT 4

static const char *dir = "bench-data";
static int64_t total_bytes = 512LL << 20;
static int runs = 5;

static void rm_rf(const char *path)
{
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

/* One 100-record batch of 1 KiB values. */
static void make_batch(struct writer *out)
{
    struct batch_builder b;
    static char value[RECORD];
    for (int i = 0; i < RECORD; i++)
        value[i] = (char)('a' + i % 26);
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    for (int i = 0; i < PER_BATCH; i++)
        batch_builder_add(&b, clock_wall_ms(), NULL, -1, value, RECORD, NULL, 0);
    if (batch_builder_finish(&b, -1, out))
        abort();
    batch_builder_release(&b);
}

/* MB/s of plain writes (with fdatasync after each when sync). */
static double bench_write(bool sync)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/plain.dat", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    static char chunk[RECORD * PER_BATCH];
    memset(chunk, 'x', sizeof chunk);
    int64_t limit = sync ? total_bytes / 8 : total_bytes, done = 0;
    int64_t t0 = clock_mono_ns();
    while (done < limit) {
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            abort();
        if (sync && fdatasync(fd))
            abort();
        done += (int64_t)sizeof chunk;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    close(fd);
    unlink(path);
    return (double)done / secs / 1e6;
}

static struct store *open_store(int64_t flush_ms, struct store_partition **p,
                                struct store_topic **t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store", dir);
    rm_rf(path);
    struct store_config c;
    store_config_defaults(&c);
    c.dir = path;
    c.flush_interval_ms = flush_ms;
    struct store *s;
    if (store_open(&c, &s) || store_topic_create(s, "bench", 1, NULL, NULL)) {
        fprintf(stderr, "cannot open a store in %s\n", path);
        exit(1);
    }
    *t = store_topic_get(s, "bench");
    *p = store_topic_partition(*t, 0);
    return s;
}

static double bench_lazy(void)
{
    struct store_topic *t;
    struct store_partition *p;
    struct store *s = open_store(1000, &p, &t);
    struct writer w;
    writer_init(&w, 1 << 20);
    make_batch(&w);
    int64_t done = 0, t0 = clock_mono_ns();
    struct store_append res;
    while (done < total_bytes) {
        if (store_partition_append(p, w.buf, w.len, &res))
            abort();
        done += RECORD * PER_BATCH;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    writer_release(&w);
    store_topic_put(t);
    store_close(s);
    return (double)done / secs / 1e6;
}

/* An appender thread of the group-commit run. */
struct appender {
    struct store_partition *p;
    int64_t quota; /* batches to append */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int in_flight;
    int64_t acked;
};

static void on_durable(void *arg, int rc)
{
    struct appender *a = arg;
    if (rc)
        abort();
    pthread_mutex_lock(&a->mu);
    a->in_flight--;
    a->acked++;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

static void *appender_main(void *arg)
{
    struct appender *a = arg;
    struct writer w;
    writer_init(&w, 1 << 20);
    make_batch(&w);
    for (int64_t i = 0; i < a->quota; i++) {
        pthread_mutex_lock(&a->mu);
        while (a->in_flight >= IN_FLIGHT)
            pthread_cond_wait(&a->cond, &a->mu);
        a->in_flight++;
        pthread_mutex_unlock(&a->mu);
        struct store_append res;
        if (store_partition_append(a->p, w.buf, w.len, &res))
            abort();
        int rc = store_partition_when_durable(a->p, res.last_offset + 1, on_durable, a);
        if (rc == 1)
            on_durable(a, 0);
        else if (rc < 0)
            abort();
    }
    pthread_mutex_lock(&a->mu);
    while (a->in_flight > 0)
        pthread_cond_wait(&a->cond, &a->mu);
    pthread_mutex_unlock(&a->mu);
    writer_release(&w);
    return NULL;
}

static double bench_group_commit(void)
{
    struct store_topic *t;
    struct store_partition *p;
    struct store *s = open_store(-1, &p, &t);
    struct appender a[THREADS];
    pthread_t th[THREADS];
    int64_t batches = total_bytes / (RECORD * PER_BATCH) / THREADS;
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct appender){.p = p, .quota = batches};
        pthread_mutex_init(&a[i].mu, NULL);
        pthread_cond_init(&a[i].cond, NULL);
        pthread_create(&th[i], NULL, appender_main, &a[i]);
    }
    int64_t acked = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        acked += a[i].acked;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    store_topic_put(t);
    store_close(s);
    return (double)(acked * RECORD * PER_BATCH) / secs / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct figure {
    const char *name;
    double (*fn)(void);
    double v[32];
    double median, min, max;
};

static double run_write(void)
{
    return bench_write(false);
}

static double run_write_sync(void)
{
    return bench_write(true);
}

int main(int argc, char **argv)
{
    int o;
    while ((o = getopt(argc, argv, "d:s:r:")) != -1) {
        switch (o) {
        case 'd': dir = optarg; break;
        case 's': total_bytes = atoll(optarg) << 20; break;
        case 'r': runs = atoi(optarg); break;
        default: fprintf(stderr, "usage: store_bench [-d DIR] [-s MiB] [-r runs]\n"); return 2;
        }
    }
    if (runs < 1 || runs > 32 || total_bytes <= 0)
        return 2;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd))
        return 1;
    struct figure f[] = {
        {.name = "write()", .fn = run_write},
        {.name = "write()+fdatasync", .fn = run_write_sync},
        {.name = "store, lazy flush", .fn = bench_lazy},
        {.name = "store, group commit x8", .fn = bench_group_commit},
    };
    const int nf = sizeof f / sizeof *f;
    for (int i = 0; i < nf; i++) {
        (void)f[i].fn(); /* warm-up */
        for (int r = 0; r < runs; r++)
            f[i].v[r] = f[i].fn();
        qsort(f[i].v, (size_t)runs, sizeof(double), cmp_double);
        f[i].median = f[i].v[runs / 2];
        f[i].min = f[i].v[0];
        f[i].max = f[i].v[runs - 1];
    }
    printf("store append, 1 KiB records in batches of %d, %lld MiB per run, %d runs (MB/s)\n",
           PER_BATCH, (long long)(total_bytes >> 20), runs);
    printf("%-26s %10s %10s %10s\n", "", "median", "min", "max");
    for (int i = 0; i < nf; i++)
        printf("%-26s %10.1f %10.1f %10.1f\n", f[i].name, f[i].median, f[i].min, f[i].max);
    double lazy_ratio = f[2].median / f[0].median, gc_ratio = f[3].median / f[2].median;
    printf("lazy / write():               %.2f   (goal >= 0.80: %s)\n", lazy_ratio,
           lazy_ratio >= 0.8 ? "met" : "not met");
    printf("group commit / lazy:          %.2f   (goal >= 0.50: %s)\n", gc_ratio,
           gc_ratio >= 0.5 ? "met" : "not met");
    printf("group commit / write()+sync:  %.2f\n", f[3].median / f[1].median);
    snprintf(cmd, sizeof cmd, "%s/store", dir);
    rm_rf(cmd);
    return 0;
}
