/*
 * test_store_faults.c - store/ under injected I/O errors: ENOSPC and EIO from a
 * segment write (a short write first), a failed flush that stops the partition,
 * a journal write that fails the append, and the start after a failed flush.
 *
 * Faults come through the sysio table, aimed at files by name (tu_fd_is), and the
 * real calls are put back before a test checks what is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/sysio.h"
#include "lib/writer.h"
#include "store/store.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

/* read by the flusher thread too; 0 lets every call through */
static _Atomic int fault_errno, fault_calls, sync_errno;
static _Atomic bool fault_half;

static ssize_t faulty_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (fault_errno && tu_fd_is(fd, ".log")) {
        if (fault_half && fault_calls++ == 0 && n > 1)
            return sysio_real.pwrite(fd, buf, n / 2, off); /* a short write first */
        errno = fault_errno;
        return -1;
    }
    return sysio_real.pwrite(fd, buf, n, off);
}

/* With sync_errno set, fdatasync of a segment fails - only of one longer than
 * sync_past bytes when that is set (>= 0): the flusher may sync a segment again
 * with nothing new in it, which a test arming the fault for the next append must
 * not count. */
static _Atomic int64_t sync_past = -1;

static bool sync_fails(int fd)
{
    struct stat st;
    if (!sync_errno || !tu_fd_is(fd, ".log"))
        return false;
    return sync_past < 0 || (fstat(fd, &st) == 0 && st.st_size > sync_past);
}

static int faulty_fdatasync(int fd)
{
    if (sync_fails(fd)) {
        errno = sync_errno;
        return -1;
    }
    return sysio_real.fdatasync(fd);
}

/* The callback of a durability wait that must be refused: the refusal is the
 * return code, so there is nothing to record. */
static void on_durable_refused(void *arg, int rc)
{
    (void)arg;
    (void)rc;
}

static void test_injected_enospc_and_eio(void **state)
{
    char *dir = tu_mkdtemp();
    /* the sysio table is changed only while no store thread runs; the errnos arm it */
    sysio.pwrite = faulty_pwrite;
    sysio.fdatasync = faulty_fdatasync;
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    tu_append(p, 3, NULL, "ok", 0, 1);
    char seg[4096];
    tu_path(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    static struct tu_rec recs[16];

    int errs[] = {ENOSPC, EIO};
    for (int k = 0; k < 2; k++) {
        fault_errno = errs[k];
        fault_half = true;
        fault_calls = 0;
        struct writer w;
        writer_init(&w, 1 << 20);
        tu_batch(&w, 3, NULL, "lost", 0, 1);
        struct store_append res;
        assert_int_equal(store_partition_append(p, w.buf, w.len, &res), -errs[k]);
        writer_release(&w);
        assert_int_equal(store_partition_high_watermark(p), 3);
        assert_int_equal(tu_file_size(seg), size); /* the half-written batch is undone */
        assert_int_equal(tu_read_all(p, 0, recs, 16), 3);
    }
    fault_errno = 0;
    assert_int_equal(tu_append(p, 3, NULL, "ok", 3, 1), 3); /* writes resume */
    assert_int_equal(tu_read_all(p, 0, recs, 16), 6);
    assert_string_equal(recs[5].value, "ok-5");

    /* an fdatasync error stops the partition: nothing more is acknowledged */
    sync_errno = EIO;
    tu_append(p, 1, NULL, "unsure", 6, 1);
    assert_int_equal(store_partition_sync(p, 7), STORE_EFAILED);
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 1, NULL, "refused", 0, 1);
    struct store_append res;
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EFAILED);
    assert_int_equal(store_partition_when_durable(p, 7, on_durable_refused, NULL), STORE_EFAILED);
    writer_release(&w);
    sync_errno = 0;
    assert_int_equal(tu_read_all(p, 0, recs, 16), 7); /* reads keep working */
    store_topic_put(t);
    store_abandon(s);
    sysio = sysio_real;

    /* after a restart the partition works again */
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    assert_int_equal(tu_append(p, 1, NULL, "again", 0, 1), 7);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The journal entry of a batch cannot be written: the append fails like a failed
 * segment write, and nothing of the batch stays (the FUSE view could not show it). */
static _Atomic bool journal_full;

static ssize_t full_journal_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (journal_full && tu_fd_is(fd, ".journal")) {
        errno = ENOSPC;
        return -1;
    }
    return sysio_real.pwrite(fd, buf, n, off);
}

static void test_journal_write_fails_the_append(void **state)
{
    char *dir = tu_mkdtemp();
    sysio.pwrite = full_journal_pwrite; /* before the store's threads; journal_full arms it */
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 2, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    tu_append(p, 2, NULL, "ok", 0, 1);
    char seg[4096];
    tu_path(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    journal_full = true;
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 3, NULL, "lost", 0, 1);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    journal_full = false;
    writer_release(&w);
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(store_partition_high_watermark(p), 2);
    assert_int_equal(tu_file_size(seg), size);
    int64_t records, values, total, first;
    store_journal_totals(t, -1, &records, &values);
    assert_int_equal(records, 2);
    assert_int_equal(tu_append(p, 1, NULL, "again", 2, 1), 2); /* appends resume */
    tu_append(store_topic_partition(t, 1), 1, NULL, "other", 0, 1);
    struct store_journal_entry e[4];
    assert_int_equal(store_journal_read(t, 0, e, 4, &total, &first), 3);
    assert_int_equal(e[1].base_offset, 2);
    assert_int_equal(e[1].records_before, 2);
    assert_int_equal(e[2].partition, 1);
    assert_int_equal(e[2].records_before, 3);
    store_topic_put(t);
    store_close(s);
    sysio.pwrite = sysio_real.pwrite;
    tu_rmrf(dir);
    free(dir);
}

/* After a failed flush the disk may no longer hold what the page cache showed: a
 * clean shutdown then leaves no clean-shutdown marker, so the next start checks
 * the segments as after a crash instead of trusting them. */
static void test_failed_flush_is_recovered_at_next_start(void **state)
{
    char *dir = tu_mkdtemp();
    sysio.fdatasync = faulty_fdatasync; /* before the flusher starts; sync_errno arms it */
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    tu_append(p, 2, NULL, "ok", 0, 1);
    assert_int_equal(store_partition_sync(p, 2), 0);
    char seg0[4096];
    tu_path(seg0, sizeof seg0, dir, "t-0/00000000000000000000.log");
    sync_past = tu_file_size(seg0); /* what is synced already syncs again */
    sync_errno = EIO;
    tu_append(p, 1, NULL, "unsure", 2, 1);
    int rc = store_partition_sync(p, 3);
    sync_errno = 0;
    sync_past = -1;
    assert_int_equal(rc, STORE_EFAILED);
    store_topic_put(t);
    store_close(s);
    sysio.fdatasync = sysio_real.fdatasync;
    char marker[4096];
    tu_path(marker, sizeof marker, dir, ".brook_cleanshutdown");
    assert_int_equal(access(marker, F_OK), -1);

    /* what the disk lost behind the failed flush is found and cut off */
    char seg[4096];
    tu_path(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    int fd = open(seg, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\0\0\0\0", 4, size - 8), 4);
    close(fd);
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    static struct tu_rec recs[8];
    assert_int_equal(store_partition_high_watermark(p), 2);
    assert_int_equal(tu_read_all(p, 0, recs, 8), 2);
    assert_int_equal(tu_append(p, 1, NULL, "again", 2, 1), 2);
    store_topic_put(t);
    store_close(s);
    assert_int_equal(access(marker, F_OK), 0); /* and a clean shutdown is one again */
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_injected_enospc_and_eio),
        cmocka_unit_test(test_journal_write_fails_the_append),
        cmocka_unit_test(test_failed_flush_is_recovered_at_next_start),
    };
    return cmocka_run_group_tests_name("store faults", tests, NULL, NULL);
}
