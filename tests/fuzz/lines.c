/*
 * lines.c - fuzz the FUSE line assembler (fs/write.c, struct fs_lines): the piece
 * that turns a writer's write() calls into complete lines, holds a partial line for
 * the next call, and refuses lines longer than the limit.
 *
 * Input:
 *   u8   the line limit: bit 7 set 1 MiB (nothing is overlong), else 1 + (byte % 64)
 *   u8   k: the number of write() calls, 1 + (byte % 16)
 *   k x  u8 per call: bits 0-6 its length, bit 7 the store fails once after
 *        (length % 3) lines of it, as in a short write
 *   ...  the text; the last call takes whatever the others left
 * The target drives fs_lines_* exactly as fs_write() does, and writes like a program
 * would: after a short write it writes the rest, after EFBIG it goes on with its next
 * call. Checks:
 *   - the lines that come out, and which calls fail with EFBIG, are what a plain
 *     model of the contract in fs/private.h gives (a call that holds any byte of an
 *     overlong line fails whole, and the rest of that line is dropped up to its
 *     newline), whatever the store failures;
 *   - with no overlong line, the lines joined with newlines, plus the partial line
 *     RELEASE takes, are the input;
 *   - nothing partial comes out before RELEASE, the held bytes never exceed the limit,
 *     and the buffer stays within twice the limit.
 */
#include "tests/fuzz/fuzz.h"

#include "fs/private.h"

#define MAX_CALLS 16

/* Lines as they come out, each followed by '\n', plus a mark per EFBIG call. */
struct out {
    uint8_t *p;
    size_t len, cap;
    uint32_t efbig; /* bit i: call i failed with EFBIG */
};

static void out_put(struct out *o, const uint8_t *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        uint8_t *q = realloc(o->p, o->cap);
        if (!q)
            abort();
        o->p = q;
    }
    if (n)
        memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void out_line(struct out *o, const uint8_t *p, size_t n)
{
    out_put(o, p, n);
    out_put(o, (const uint8_t *)"\n", 1);
}

/* ---- the model ---- */

struct model {
    uint8_t *held; /* the partial line (room for the whole input) */
    size_t len;
    bool discarding;
};

static void model_write(struct model *m, size_t max, const uint8_t *in, size_t n, int call,
                        struct out *o)
{
    if (n == 0)
        return;
    /* lengths of the pieces between newlines; the first joins the held bytes */
    bool overlong = m->discarding;
    size_t start = 0;
    for (size_t i = 0; i <= n && !overlong; i++) {
        if (i < n && in[i] != '\n')
            continue;
        if (i - start + (start == 0 ? m->len : 0) > max)
            overlong = true;
        start = i + 1;
    }
    if (overlong) {
        m->len = 0;
        m->discarding = in[n - 1] != '\n';
        o->efbig |= 1u << call;
        return;
    }
    start = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '\n')
            continue;
        if (start == 0) {
            out_put(o, m->held, m->len);
            m->len = 0;
        }
        out_line(o, in + start, i - start);
        start = i + 1;
    }
    memcpy(m->held + m->len, in + start, n - start);
    m->len += n - start;
}

/* ---- the real thing, driven as fs_write() drives it ---- */

/* One write() of n bytes; fail_after >= 0 makes the store fail before that line.
 * Returns the bytes accepted or a negative errno, as fs_write(). */
static long call_write(struct fs_lines *l, const uint8_t *in, size_t n, int fail_after,
                       struct out *o)
{
    int rc = fs_lines_check(l, in, n);
    if (rc)
        return rc;
    FUZZ_CHECK(l->cap >= l->len);
    if (!memchr(in, '\n', n))
        return (long)fs_lines_done(l, in, n, 0, true);
    size_t pos = 0, end = 0, len;
    const uint8_t *line;
    int lines = 0;
    bool failed = false;
    while (fs_lines_next(l, in, n, &pos, &line, &len) == 1) {
        FUZZ_CHECK(len <= l->max && pos <= n);
        if (lines == fail_after) {
            failed = true;
            break;
        }
        out_line(o, line, len);
        end = pos;
        lines++;
    }
    size_t accepted = fs_lines_done(l, in, n, end, !failed);
    FUZZ_CHECK(failed ? accepted == end : accepted == n);
    return accepted ? (long)accepted : -EIO;
}

/* A program's write loop around one call's bytes. */
static void program_write(struct fs_lines *l, const uint8_t *in, size_t n, int fail_after, int call,
                          struct out *o)
{
    size_t done = 0;
    for (int tries = 0; done < n || (n == 0 && tries == 0); tries++) {
        FUZZ_CHECK(tries <= 2 * MAX_CALLS + (int)n); /* every retry makes progress */
        long rc = call_write(l, in + done, n - done, tries == 0 ? fail_after : -1, o);
        FUZZ_CHECK(l->len <= l->max && l->cap <= 2 * l->max + 256);
        if (rc == -EFBIG) {
            FUZZ_CHECK(done == 0); /* a call's first check decides */
            o->efbig |= 1u << call;
            return;
        }
        FUZZ_CHECK(rc == -EIO ? fail_after == 0 && tries == 0 : rc > 0 || n == 0);
        if (rc > 0)
            done += (size_t)rc;
        if (n == 0)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r;
    reader_init(&r, data, size);
    uint8_t lim = reader_u8(&r);
    size_t max = lim & 0x80 ? 1u << 20 : 1 + lim % 64;
    int k = 1 + reader_u8(&r) % MAX_CALLS;
    uint8_t calls[MAX_CALLS];
    for (int i = 0; i < k; i++)
        calls[i] = reader_u8(&r);
    size_t n = SIZE_MAX;
    const uint8_t *text = fuzz_take(&r, &n);

    struct fs_lines l;
    struct model m = {.held = fuzz_alloc(n)};
    struct out got = {0}, want = {0};
    fs_lines_init(&l, max, NULL);
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        size_t len = i == k - 1 ? n - off : (size_t)(calls[i] & 0x7f);
        if (len > n - off)
            len = n - off;
        int fail_after = calls[i] & 0x80 ? (int)(len % 3) : -1;
        program_write(&l, text + off, len, fail_after, i, &got);
        model_write(&m, max, text + off, len, i, &want);
        off += len;
    }
    /* RELEASE */
    const uint8_t *rest;
    size_t rlen;
    bool any = fs_lines_take(&l, &rest, &rlen);
    FUZZ_CHECK(any == (m.len > 0 && !m.discarding));
    if (any) {
        FUZZ_CHECK(rlen == m.len && !memcmp(rest, m.held, rlen));
        out_put(&got, rest, rlen);
        out_put(&want, m.held, m.len);
    }
    FUZZ_CHECK(!fs_lines_take(&l, &rest, &rlen));

    if (got.len != want.len || got.efbig != want.efbig ||
        (got.len && memcmp(got.p, want.p, got.len)))
        fprintf(stderr, "lines: %zu bytes out, the model says %zu; EFBIG calls %#x, model %#x\n",
                got.len, want.len, got.efbig, want.efbig);
    FUZZ_CHECK(got.len == want.len && got.efbig == want.efbig);
    FUZZ_CHECK(got.len == 0 || !memcmp(got.p, want.p, got.len));
    if (!want.efbig)
        FUZZ_CHECK(got.len == n && (n == 0 || !memcmp(got.p, text, n)));

    fs_lines_release(&l);
    free(m.held);
    free(got.p);
    free(want.p);
    return 0;
}
