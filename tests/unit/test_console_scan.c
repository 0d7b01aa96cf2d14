/*
 * test_console_scan.c - console_scan's byte limit follows the fetch-size rule.
 *
 * The console's readers (searches, pages of messages, the live tail) walk a
 * partition with console_scan and a byte limit. As a Fetch does (KIP-74), the
 * walk reads at most that many bytes of batches, except that its first batch may
 * be larger, so that a walk over batches bigger than the limit still moves on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "console/private.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

static bool count_cb(void *arg, int32_t partition, const struct record *r,
                     const struct console_mark *m)
{
    (void)partition, (void)r;
    ++*(int *)arg;
    return false;
}

static void test_scan_limit(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "scan", 1, NULL);
    struct store_topic *t = store_topic_get(s, "scan");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 3; i++) /* three batches of 10 records, a few hundred bytes each */
        tu_append(p, 10, NULL, "v", i * 10, 1000);
    struct store_segment_info *segs;
    size_t n;
    assert_int_equal(store_partition_segments(p, &segs, &n), 0);
    int64_t batch = segs[0].size[STORE_FILE_LOG] / 3;
    free(segs);
    int seen = 0;
    int64_t next;
    /* room for one and a half batches: one is read, not a second that passes it */
    assert_int_equal(console_scan(p, 0, 30, batch * 3 / 2, true, count_cb, &seen, &next), 0);
    assert_int_equal(seen, 10);
    assert_int_equal(next, 10);
    /* a limit below one batch still reads the first, so the walk moves on */
    seen = 0;
    assert_int_equal(console_scan(p, next, 30, 1, true, count_cb, &seen, &next), 0);
    assert_int_equal(seen, 10);
    assert_int_equal(next, 20);
    /* room for exactly the rest */
    seen = 0;
    assert_int_equal(console_scan(p, next, 30, batch, true, count_cb, &seen, &next), 0);
    assert_int_equal(seen, 10);
    assert_int_equal(next, 30);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
