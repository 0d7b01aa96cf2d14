/*
 * mount.c - `brook mount`: any Kafka-protocol cluster as files.
 *
 * Composes two modules the way brookd's main.c composes its server: the view
 * (fs/, without its store backend) over the remote backend (remote/, on
 * libbrook). The tool never links the store.
 *
 * Foreground by default; -d forks first (before any thread exists) and the
 * parent waits on a pipe until the child has mounted, so its exit status says
 * whether the mount exists. SIGINT and SIGTERM unmount cleanly: follow readers
 * get end of file, open files a moment to close, queued lines are flushed to
 * the cluster. With --group G, follow files read for consumer group G (remote/
 * group.c). A stale mount of a brook that died is detached by the view
 * before mounting again; a live mount there is refused, not hidden.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cli/cli.h"
#include "fs/backend.h"
#include "fs/fs.h"
#include "remote/remote.h"

#define CACHE_MAX_DEFAULT (256LL << 20) /* index files of all mounts, at most */

struct mount_opts {
    bool read_only, daemon;
    const char *cache_dir, *group;
    int64_t cache_max;
};

static int mount_opt(void *ctx, int opt, const char *arg)
{
    struct mount_opts *o = ctx;
    char *end;
    switch (opt) {
    case 'r': o->read_only = true; return 0;
    case 'd': o->daemon = true; return 0;
    case 'C': o->cache_dir = arg; return 0;
    case 'G':
        if (!*arg)
            return cli_usage_error("--group needs a group name");
        o->group = arg;
        return 0;
    case 'M':
        o->cache_max = strtoll(arg, &end, 10);
        if (*end || end == arg || o->cache_max < 0)
            return cli_usage_error("bad --cache-max '%s'", arg);
        return 0;
    }
    return cli_usage_error("unknown option -%c", opt);
}

/* $XDG_CACHE_HOME/brook/mount, else ~/.cache/brook/mount. */
static const char *default_cache(char *buf, size_t n)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, n, "%s/brook/mount", xdg);
    else if (home && *home)
        snprintf(buf, n, "%s/.cache/brook/mount", home);
    else
        return NULL; /* no cache: indexes live in memory only */
    return buf;
}

/* -d: fork; the parent exits with the child's word (0 once mounted). Returns
 * in the child with *ready the pipe to write that word to. */
static int daemonize(int *ready)
{
    int p[2];
    if (pipe(p))
        return cli_fail("cannot daemonise: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return cli_fail("cannot daemonise: %s", strerror(errno));
    if (pid > 0) {
        char st = 1;
        close(p[1]);
        if (read(p[0], &st, 1) != 1)
            st = 1; /* the child died before it could say */
        _exit(st);
    }
    close(p[0]);
    setsid();
    *ready = p[1];
    return 0;
}

/* Wait for SIGINT or SIGTERM (cli_stop), without a window in which the signal
 * could come between the test and the wait. */
static void wait_stop(void)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!cli_stop)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void quiet_stdio(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static int serve(const struct globals *g, const struct mount_opts *mo, const char *dir, int ready)
{
    char why[256] = "", cache[PATH_MAX];
    const char *brokers = g->brokers ? g->brokers : getenv("BROOK_BROKERS");
    struct remote_options ro = {
        .brokers = brokers && *brokers ? brokers : DEFAULT_BROKERS,
        .conf = g->xs,
        .n_conf = g->nx,
        .cache_dir = mo->cache_dir ? mo->cache_dir : default_cache(cache, sizeof cache),
        .cache_max_bytes = mo->cache_max,
        .timeout_ms = g->timeout_ms,
        .group = mo->group,
    };
    struct fs_backend b;
    struct fs_options fo;
    struct fs *fs = NULL;
    /* -b and every -X checked as the other commands check them (naming a bad key
     * or value); the backend then makes its clients from the same settings */
    struct brook_conf *conf;
    int rc = cli_conf_make(g, NULL, &conf);
    if (rc)
        return rc;
    brook_conf_free(conf);
    if ((rc = remote_open(&ro, &b, why, sizeof why)))
        return cli_fail("%s", why);
    fs_options_defaults(&fo);
    fo.mountpoint = dir;
    fo.read_only = mo->read_only;
    if ((rc = fs_mount(&b, &fo, &fs))) {
        remote_close(&b);
        if (rc == -EBUSY) /* mounting over a live mount would hide it from its users */
            return cli_fail("cannot mount at %s: a file system is mounted there already; "
                            "unmount it (fusermount3 -u %s) or choose another directory",
                            dir, dir);
        return cli_fail("cannot mount at %s: %s", dir, strerror(-rc));
    }
    if (ready >= 0) {
        char ok = 0;
        if (write(ready, &ok, 1) != 1)
            cli_stop = 1; /* the parent is gone: nobody would know we run */
        close(ready);
        quiet_stdio();
    }
    wait_stop();
    fs_stop(fs);
    remote_close(&b);
    return 0;
}

int cli_mount(int argc, char **argv, struct globals *g)
{
    static const struct option longs[] = {
        {"read-only", no_argument, NULL, 'r'},       {"daemon", no_argument, NULL, 'd'},
        {"cache-dir", required_argument, NULL, 'C'}, {"cache-max", required_argument, NULL, 'M'},
        {"group", required_argument, NULL, 'G'},     {NULL, 0, NULL, 0}};
    struct mount_opts mo = {.cache_max = CACHE_MAX_DEFAULT};
    int rc = cli_parse_opts(argc, argv, "rd", longs, g, mount_opt, &mo);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind + 1 != argc)
        return cli_usage_error("mount: expected one directory");
    int ready = -1;
    if (mo.daemon && (rc = daemonize(&ready)))
        return rc;
    return serve(g, &mo, argv[optind], ready);
}
