/*
 * main.c - brookd: configuration, startup, the event loop, and shutdown.
 *
 * Startup order: configuration, the store (recovering the log), the SCRAM
 * credentials (with --add-scram's users), the listeners,
 * the admin worker, the group coordinator (reading committed offsets back), then
 * the optional FUSE mount and console; the "ready" line names every bound address
 * and the start-up time. SIGTERM or SIGINT: stop accepting, answer what is in
 * flight on every network thread (parked fetches answer at once), join those
 * threads, then flush and close the store, which writes the clean-shutdown
 * marker, and exit 0.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/private.h"
#include "broker/txn.h"
#include "console/console.h"
#include "fs/fs.h"
#include "lib/clock.h"
#include "lib/log.h"

#define DRAIN_CHECK_MS 20
#define DRAIN_LIMIT_MS 10000

static struct event *drain_timer;
static int64_t drain_deadline;

static void on_append(void *arg, struct store_partition *p, int64_t hw)
{
    broker_wake(arg);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    if (!server_busy(b) || clock_mono_ms() > drain_deadline)
        event_base_loopexit(b->base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct broker *b = arg;
    if (b->stopping)
        return;
    log_info("brook.broker", "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server_stop_accepting(b);
    drain_deadline = clock_mono_ms() + DRAIN_LIMIT_MS;
    drain_timer = event_new(b->base, -1, EV_PERSIST, drain_cb, b);
    struct timeval tv = {0, DRAIN_CHECK_MS * 1000};
    event_add(drain_timer, &tv);
}

/* Lines appended through the mount count as messages in, as a producer's do. */
static void mount_appended(void *arg, const char *topic, int64_t records, int64_t bytes)
{
    metrics_topic(&((struct broker *)arg)->metrics, topic, records, bytes, 0, 0);
}

/* Mount the topics as files when fuse.mount.dir (-m) is set. */
static int mount_start(struct broker *b)
{
    if (!b->cfg->mount)
        return 0;
    struct fs_options o;
    fs_options_defaults(&o);
    o.mountpoint = b->cfg->mount;
    o.max_threads = b->cfg->fuse_threads;
    o.partial_max = (size_t)b->cfg->fuse_partial_max;
    o.may = authz_fuse_may;
    o.may_arg = b;
    o.appended = mount_appended;
    o.appended_arg = b;
    int rc = fs_start(b->store, &o, &b->fs);
    if (rc == -EBUSY)
        log_error("brook.broker",
                  "cannot mount topics at %s: a file system is mounted there already (another "
                  "brookd's topics?); stop it, unmount it (fusermount3 -u %s) or choose another -m",
                  b->cfg->mount, b->cfg->mount);
    else if (rc)
        log_error("brook.broker", "cannot mount topics at %s: %s", b->cfg->mount, strerror(-rc));
    return rc;
}

/* The SCRAM credentials in the data directory, SASL's settings, and the users of
 * --add-scram, all before any listener opens. */
static int creds_start(struct broker *b)
{
    int rc = auth_creds_open(b->cfg->store.dir, &b->creds);
    if (rc) {
        log_error("brook.sasl", "cannot open the SCRAM credentials in %s: %s%s", b->cfg->store.dir,
                  strerror(-rc),
                  rc == -EBADMSG ? " (the file is damaged; it is left as it is)" : "");
        return rc;
    }
    if ((rc = sasl_configure(b)))
        return rc;
    for (int i = 0; i < b->cfg->n_add_scram; i++)
        if ((rc = sasl_add_scram(b->creds, b->cfg->add_scram[i])))
            return rc;
    return 0;
}

/* Tell systemd (Type=notify) that we are ready, if it is listening. */
static void notify_systemd(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = 0; /* an abstract socket */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        log_warn("brook.broker", "cannot notify systemd: %s", strerror(errno));
    close(fd);
}

/* Say what opening the log had to do after a crash (nothing to say after a clean stop). */
static void log_recovery(const struct store *s)
{
    struct store_recovery r;
    store_recovery_info(s, &r);
    if (r.clean || r.partitions == 0) /* a clean stop, or a new log: nothing to recover */
        return;
    log_info("brook.store",
             "recovered after an unclean shutdown in %lld ms: %d partitions, %d segments "
             "scanned (%lld bytes), %lld bytes of torn tail cut, %d segments removed; "
             "journal: %lld entries dropped, %lld rebuilt",
             (long long)r.duration_ms, r.partitions, r.segments_scanned, (long long)r.bytes_scanned,
             (long long)r.bytes_cut, r.segments_removed, (long long)r.journal_dropped,
             (long long)r.journal_rebuilt);
}

static void log_ready(struct broker *b, struct console *con, int64_t started_ns)
{
    char addrs[1024] = "";
    size_t n = 0;
    for (int i = 0; i < b->n_listeners; i++) {
        const char *h = b->bound_host[i];
        bool v6 = strchr(h, ':') != NULL;
        n += (size_t)snprintf(addrs + n, sizeof addrs - n, "%s%s%s%s:%d", i ? ", " : "",
                              v6 ? "[" : "", h, v6 ? "]" : "", b->bound_port[i]);
    }
    const char *console = console_address(con);
    log_info("brook.broker", "brookd ready in %.1f ms: kafka on %s (node %d)%s%s%s%s",
             (double)(clock_mono_ns() - started_ns) / 1e6, addrs, b->cfg->node_id,
             console ? ", console on " : "", console ? console : "",
             b->fs ? ", topics mounted at " : "", b->fs ? b->cfg->mount : "");
}

/*
 * --help-apis: the advertised_apis table (h_api_versions.c), the one source of the
 * versions brook offers, as tab-separated lines for scripts/gen_api_docs and the
 * tests: name, key, brook's min and max, the codec's min and max, and the note.
 */
static void print_api_table(FILE *out)
{
    fprintf(out, "# api\tkey\tmin\tmax\tcodec_min\tcodec_max\tnote\n");
    for (int i = 0; i < n_advertised_apis; i++) {
        const struct api_range *r = &advertised_apis[i];
        const struct kafka_api *api = kafka_api_find(r->key);
        fprintf(out, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", api ? api->name : "?", r->key, r->min, r->max,
                api ? api->min_version : -1, api ? api->max_version : -1, r->note ? r->note : "");
    }
}

/* True when argv asks for --help-apis, which needs no configuration. */
static bool wants_api_table(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help-apis") == 0)
            return true;
    return false;
}

#define BUFFERS_MMAP_MIN (4 << 20)
#define BUFFERS_KEPT     (8 << 20)

int main(int argc, char **argv)
{
    int64_t started = clock_mono_ns();
    signal(SIGPIPE, SIG_IGN);
    if (wants_api_table(argc, argv)) {
        print_api_table(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    /* Requests of up to a megabyte are read into buffers of their size (server.c).
     * By default glibc maps such blocks afresh or trims them back to the kernel on
     * free, so every request paid ~256 page faults; keep them on the heap instead,
     * and keep up to BUFFERS_KEPT of free heap for the next ones. */
    mallopt(M_MMAP_THRESHOLD, BUFFERS_MMAP_MIN);
    mallopt(M_TRIM_THRESHOLD, BUFFERS_KEPT);
    struct broker_config cfg;
    const char *err = NULL;
    int rc = broker_config_from_args(&cfg, argc, argv, &err);
    if (rc) {
        if (rc < 0)
            fprintf(stderr, "brookd: %s\n", err);
        broker_config_release(&cfg);
        return rc < 0 ? 2 : 0;
    }
    char unknown[512];
    if (broker_config_unknown(&cfg, unknown, sizeof unknown))
        log_warn("brook.broker", "unknown configuration keys, ignored: %s", unknown);
    struct broker b = {.cfg = &cfg};
    struct console_env env;
    struct console *con = NULL; /* NULL while console.listeners is off */
    metrics_init(&b.metrics);
    int status = 1;
    if (broker_use_threads() || !(b.base = event_base_new())) {
        log_error("brook.broker", "cannot start the event loop");
        goto out_cfg;
    }
    if ((rc = store_open(&cfg.store, &b.store))) {
        long holder = rc == -EBUSY ? store_lock_holder(cfg.store.dir) : 0;
        char who[48] = "another process";
        if (holder > 0)
            snprintf(who, sizeof who, "another brookd (pid %ld)", holder);
        if (rc == -EBUSY)
            log_error("brook.broker",
                      "cannot open log.dirs %s: %s is using it; stop it first, or give this "
                      "one its own directory (-d DIR)",
                      cfg.store.dir, who);
        else
            log_error("brook.broker", "cannot open log.dirs %s: %s", cfg.store.dir,
                      store_strerror(rc));
        goto out_base;
    }
    log_recovery(b.store);
    if ((rc = authz_open(&b, &err))) {
        log_error("brook.broker", "%s", err);
        goto out_store;
    }
    if ((rc = broker_dynamic_load(&b)))
        goto out_store;
    if ((rc = creds_start(&b)))
        goto out_store;
    if ((rc = server_start(&b)))
        goto out_store;
    if ((rc = admin_start(&b)))
        goto out_server;
    if ((rc = groups_open(&b))) {
        log_error("brook.broker", "cannot load committed offsets: %s", store_strerror(rc));
        goto out_server;
    }
    if ((rc = cgroups_open(&b)))
        goto out_groups;
    if ((rc = txn_open(&b))) {
        log_error("brook.broker", "cannot load transactions: %s", store_strerror(rc));
        goto out_groups;
    }
    if (broker_console_env(&b, &env) && (rc = console_start(&env, &con))) {
        log_error("brook.broker", "cannot start the console: %s", strerror(-rc));
        goto out_groups;
    }
    if ((rc = mount_start(&b)))
        goto out_console;
    store_listen(b.store, on_append, &b);
    b.sig_term = evsignal_new(b.base, SIGTERM, signal_cb, &b);
    b.sig_int = evsignal_new(b.base, SIGINT, signal_cb, &b);
    event_add(b.sig_term, NULL);
    event_add(b.sig_int, NULL);
    if ((rc = server_run(&b)))
        goto out_run;
    log_ready(&b, con, started);
    notify_systemd();
    event_base_dispatch(b.base);
    status = 0;
out_run:
    server_join(&b); /* the other loops end: from here on this thread acts for them */

    store_unlisten(b.store, on_append, &b);
    event_free(b.sig_term);
    event_free(b.sig_int);
    if (drain_timer)
        event_free(drain_timer);
    fs_stop(b.fs); /* unmount before the store goes */
out_console:
    console_stop(con);
out_groups:
    cgroups_close(&b);
    groups_close(&b); /* answers members still waiting */
out_server:
    admin_stop(&b); /* before the store goes: it may be creating a topic */
    txn_close(&b);  /* after the admin thread: it may be writing markers */
    for (int i = 0; i < b.n_loops; i++) {
        fetch_abort_all(&b.loops[i]);
        legacy_fetch_abort_all(&b.loops[i]);
    }
out_store:
    authz_close(&b);
    auth_creds_close(b.creds);
    store_close(b.store); /* flush, checkpoints, clean-shutdown marker */
    broker_dynamic_free(&b);
    server_free(&b);
    if (!status)
        log_info("brook.broker", "brookd stopped cleanly");
out_base:
    event_base_free(b.base);
out_cfg:
    metrics_release(&b.metrics);
    broker_config_release(&cfg);
    return status;
}
