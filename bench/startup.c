/*
 * startup.c - how long a server takes from exec to accepting a connection, and
 * what it holds in memory when idle; also hands out free ports.
 *
 *   startup port
 *       print a free TCP port on 127.0.0.1 (bound to port 0, then released), for
 *       servers that cannot be told to pick their own (Redis treats port 0 as
 *       "no TCP").
 *   startup ready [-i IDLE_MS] [-t LIMIT_MS] -- PROGRAM ARGS...
 *       pick a free port, replace "@PORT@" in ARGS with it, fork and exec
 *       PROGRAM, and try to connect to 127.0.0.1:PORT every 100 us until it
 *       accepts: ready_ms is exec to the first successful connect. With -i, wait
 *       IDLE_MS more and print rss_kib (VmRSS of the server). Then SIGTERM, wait up
 *       to 10 s, SIGKILL if it is still there. Gives up (exit 1) after LIMIT_MS
 *       (default 20000) without a connection.
 *
 * The clock starts just before fork, so ready_ms includes fork+exec of the server
 * (a fraction of a millisecond) - the same for every server measured this way.
 * The server's output goes to /dev/null. Output: "KEY VALUE" lines (bench.h).
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

#define POLL_NS 100000LL

/* A port that was free a moment ago, or -1. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
        !getsockname(fd, (struct sockaddr *)&a, &len))
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Whether 127.0.0.1:port accepts a connection now. */
static bool accepting(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Replace "@PORT@" in every argument (in place: a port is never longer). */
static void put_port(char **argv, int port)
{
    for (; *argv; argv++) {
        char *at = strstr(*argv, "@PORT@");
        if (!at)
            continue;
        char rest[4096];
        snprintf(rest, sizeof rest, "%s", at + 6);
        sprintf(at, "%d%s", port, rest);
    }
}

static pid_t spawn(char **argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* SIGTERM, then SIGKILL after 10 s; the exit status as waitpid gives it. */
static int stop(pid_t pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 10000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        bench_sleep_until(clock_mono_ns() + 1000000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return st;
}

static int cmd_ready(int idle_ms, int limit_ms, char **argv)
{
    int port = free_port();
    if (port < 0)
        return 1;
    put_port(argv, port);
    int64_t t0 = clock_mono_ns(), deadline = t0 + (int64_t)limit_ms * 1000000;
    pid_t pid = spawn(argv);
    int st;
    if (pid < 0)
        return 1;
    while (!accepting(port)) {
        if (clock_mono_ns() > deadline || waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "startup: %s never accepted on port %d\n", argv[0], port);
            stop(pid);
            return 1;
        }
        bench_sleep_until(clock_mono_ns() + POLL_NS);
    }
    bench_put("ready_ms", (double)(clock_mono_ns() - t0) / 1e6);
    if (idle_ms > 0) {
        bench_sleep_until(clock_mono_ns() + (int64_t)idle_ms * 1000000);
        bench_put("rss_kib", (double)rss_kib(pid));
    }
    stop(pid);
    return 0;
}

int main(int argc, char **argv)
{
    int idle_ms = 0, limit_ms = 20000, c;
    if (argc >= 2 && !strcmp(argv[1], "port")) {
        int port = free_port();
        if (port < 0)
            return 1;
        printf("%d\n", port);
        return 0;
    }
    optind = 2;
    while (argc >= 2 && (c = getopt(argc, argv, "+i:t:")) != -1) {
        switch (c) {
        case 'i': idle_ms = atoi(optarg); break;
        case 't': limit_ms = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (argc < 2 || strcmp(argv[1], "ready") || optind >= argc || limit_ms <= 0)
        goto usage;
    return cmd_ready(idle_ms, limit_ms, argv + optind);
usage:
    fprintf(stderr, "usage: startup port\n"
                    "       startup ready [-i IDLE_MS] [-t LIMIT_MS] -- PROGRAM ARGS...\n");
    return 2;
}
