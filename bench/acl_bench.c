/*
 * acl_bench.c - what an ACL decision costs, against a populated set.
 *
 * Every request a broker with ACLs serves asks auth_authorize() once per topic,
 * group or transactional id it names, so the decision's cost is the overhead ACLs
 * add to a request. This builds N bindings for one principal (every tenth a
 * PREFIXED pattern, so the prefix walk runs at its usual length), created with one
 * durable write as CreateAcls does, then times D decisions over those names:
 * allowed ones (the binding's own name) and refused ones (a name no binding
 * covers, which walks every prefix and ends at the no-ACL rule).
 *
 *   acl_bench [-n BINDINGS] [-d DECISIONS] [-D DIR]
 *
 * Prints the create time and nanoseconds per decision of each kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "lib/clock.h"

static int bindings = 10000;
static int decisions = 2000000;
static const char *dir = "bench-data-acl";

/* Nanoseconds per decision of principal on names[i % n]. */
static double bench_decide(struct auth_acls *as, const struct auth_policy *pol, char **names, int n,
                           int *allowed)
{
    int64_t t0 = clock_mono_ns();
    *allowed = 0;
    for (int i = 0; i < decisions; i++)
        *allowed += auth_authorize(as, pol, "User:alice", "10.0.0.1", AUTH_OP_WRITE, AUTH_RES_TOPIC,
                                   names[i % n]);
    return (double)(clock_mono_ns() - t0) / decisions;
}

static char **bench_names(const char *fmt, int n)
{
    char **v = calloc((size_t)n, sizeof *v);
    for (int i = 0; v && i < n; i++)
        if (asprintf(&v[i], fmt, i) < 0)
            return NULL;
    return v;
}

static int bench_run(void)
{
    char **names = bench_names("orders-%d", bindings), **others = bench_names("x%d", bindings);
    struct auth_acl *v = calloc((size_t)bindings, sizeof *v);
    int *rcs = calloc((size_t)bindings, sizeof *rcs);
    const char **whys = calloc((size_t)bindings, sizeof *whys);
    struct auth_acls *as;
    if (!names || !others || !v || !rcs || !whys || auth_acls_open(dir, &as))
        return 1;
    for (int i = 0; i < bindings; i++)
        v[i] = (struct auth_acl){
            AUTH_RES_TOPIC, names[i], i % 10 ? AUTH_PAT_LITERAL : AUTH_PAT_PREFIXED,
            "User:alice",   "*",      AUTH_OP_WRITE,
            AUTH_PERM_ALLOW};
    int64_t t0 = clock_mono_ns();
    int rc = auth_acls_create_many(as, v, (size_t)bindings, rcs, whys);
    double create_ms = (double)(clock_mono_ns() - t0) / 1e6;
    struct auth_policy pol = {true, false, NULL};
    int yes, no;
    double allow_ns = bench_decide(as, &pol, names, bindings, &yes);
    double deny_ns = bench_decide(as, &pol, others, bindings, &no);
    printf("bindings %d created_ms %.1f (rc %d)\n", bindings, create_ms, rc);
    printf("allowed_ns %.0f (%d of %d allowed)\n", allow_ns, yes, decisions);
    printf("refused_ns %.0f (%d of %d allowed)\n", deny_ns, no, decisions);
    auth_acls_close(as);
    return rc || yes != decisions || no != 0;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "n:d:D:")) != -1) {
        if (c == 'n')
            bindings = atoi(optarg);
        else if (c == 'd')
            decisions = atoi(optarg);
        else if (c == 'D')
            dir = optarg;
        else
            return fprintf(stderr, "usage: acl_bench [-n BINDINGS] [-d DECISIONS] [-D DIR]\n"), 2;
    }
    if (bindings < 1 || bindings > AUTH_ACLS_MAX || decisions < 1)
        return fprintf(stderr, "acl_bench: -n 1..%d, -d >= 1\n", AUTH_ACLS_MAX), 2;
    char acls[4096];
    snprintf(acls, sizeof acls, "%s/.acls", dir);
    unlink(acls); /* a fresh set every run */
    if (mkdir(dir, 0755) && errno != EEXIST)
        return perror(dir), 1;
    int rc = bench_run();
    unlink(acls);
    rmdir(dir);
    return rc;
}
