/*
 * topic_name.c - fuzz the names brook gives meaning to, each against a model written
 * here from the rules (Kafka's and brook's own, DESIGN.md and docs/fuse.md):
 *
 *   store_topic_name_valid()   1-249 bytes of [A-Za-z0-9._-], not "." or ".."
 *   topic_partition_suffix()   "<prefix>-<N>" (store: collisions, adopted dirs)
 *   fs_pdir_parse()            "<topic>-<N>" (the FUSE root's partition dirs)
 *   segment_name_parse()       "<20 digits><ext>" (store: files in a partition dir)
 *   fs_segment_name_parse()    "<20 digits>.log|.index|.timeindex" (the FUSE view)
 * where N is a partition number as Kafka writes it in directory names: decimal, no
 * sign, no leading zeros, at most 9 digits, and a base offset is at most INT64_MAX.
 * The store and the view must also agree on which names are partition directories
 * and of which partition.
 *
 * Input: the name (up to its first NUL for the parsers that take C strings).
 */
#include "tests/fuzz/fuzz.h"

#include "fs/private.h"
#include "store/private.h"

/* Kafka's legal characters, spelled out. */
static const char legal[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

static bool model_topic(const uint8_t *p, size_t n)
{
    if (n < 1 || n > 249)
        return false;
    if (n <= 2 && (n == 1 || p[1] == '.') && p[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0 || !memchr(legal, p[i], sizeof legal - 1))
            return false;
    return true;
}

/* A partition number: the value, or -1 when s[0, n) is not one. */
static int64_t model_partition(const char *s, size_t n)
{
    if (n < 1 || n > 9 || (s[0] == '0' && n > 1))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strchr("0123456789", s[i]) || !s[i])
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "<20 digits><ext>": the base offset, or -1. */
static int64_t model_segment(const char *s, const char *ext)
{
    if (strlen(s) != 20 + strlen(ext) || strcmp(s + 20, ext))
        return -1;
    unsigned __int128 v = 0; /* 20 digits fit, whatever they say */
    for (int i = 0; i < 20; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v > INT64_MAX ? -1 : (int64_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FUZZ_CHECK(store_topic_name_valid((const char *)data, size) == model_topic(data, size));

    char *s = fuzz_alloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    size_t len = strlen(s);

    /* the FUSE root's parse, against the model */
    const char *dash = strrchr(s, '-');
    int64_t want = dash && dash > s ? model_partition(dash + 1, strlen(dash + 1)) : -1;
    size_t tlen = 0;
    int32_t part = -1;
    bool is_pdir = fs_pdir_parse(s, &tlen, &part);
    FUZZ_CHECK(is_pdir == (want >= 0));
    if (is_pdir)
        FUZZ_CHECK(part == want && tlen == (size_t)(dash - s));

    /* the store's parse with every prefix that ends before a dash, and one more */
    size_t cut = size ? data[0] % (len + 1) : 0;
    for (size_t j = 0; j <= len; j++) {
        if (j != cut && s[j] != '-')
            continue;
        char *prefix = fuzz_alloc(j + 1);
        memcpy(prefix, s, j);
        prefix[j] = 0;
        int64_t m = s[j] == '-' ? model_partition(s + j + 1, len - j - 1) : -1;
        int64_t k = topic_partition_suffix(s, prefix);
        FUZZ_CHECK(k == m);
        /* store and view agree on the partition directory's own split */
        if (dash && s + j == dash && j > 0)
            FUZZ_CHECK(k == (is_pdir ? part : -1));
        free(prefix);
    }

    /* segment file names */
    static const char *const exts[] = {".log", ".index", ".timeindex", ".log.swap"};
    for (int e = 0; e < 4; e++) {
        int64_t base = -1;
        int64_t m = model_segment(s, exts[e]);
        FUZZ_CHECK(segment_name_parse(s, exts[e], &base) == (m >= 0));
        if (m >= 0)
            FUZZ_CHECK(base == m);
    }
    int64_t base = -1;
    enum fs_kind kind = FS_ROOT;
    bool seg = fs_segment_name_parse(s, &base, &kind);
    int64_t m = -1;
    enum fs_kind mk = FS_ROOT;
    for (int e = 0; e < 3 && m < 0; e++)
        if ((m = model_segment(s, exts[e])) >= 0)
            mk = (enum fs_kind)(FS_SEG_LOG + e);
    FUZZ_CHECK(seg == (m >= 0));
    if (seg)
        FUZZ_CHECK(base == m && kind == mk);
    free(s);
    return 0;
}
