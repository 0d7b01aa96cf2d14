/*
 * simdisk.h - a simulated disk under the sysio table, for tests that make the
 * power fail or the process die at any point and then check what recovery keeps.
 *
 * Contract:
 *  - simdisk_install() replaces the mutating calls of the sysio table (open with
 *    O_CREAT or O_TRUNC, pwrite, ftruncate, fdatasync, fsync, rename, unlink,
 *    mkdir, rmdir) with wrappers that perform the real call and keep a model of
 *    what a disk would really hold. Only paths below the data directory given to
 *    simdisk_reset() are modelled; everything else passes straight through. The
 *    caller puts sysio back (sysio = sysio_real) when it is done.
 *  - The model, per file: the content as of its last fsync/fdatasync (durable)
 *    and the writes and truncations since (pending, with their bytes). Per
 *    directory: the names as of the last time they were made durable, and the
 *    creates, renames, unlinks, mkdirs and rmdirs since; an fsync of a directory
 *    makes the pending operations that touched it durable. fsync is not passed on
 *    to the real file system: the model decides what survives. Files that exist
 *    before the first call that touches them are taken as durable.
 *  - The machine dies at the Nth mutating call (simdisk_arm), at the first one on
 *    a name (simdisk_arm_name) or at once (simdisk_kill). From then on every
 *    mutating call fails with EIO; the pwrite that dies first writes a random
 *    prefix of its bytes. Reads always work: the files are real files.
 *  - After a death the test either lets the process "die" (abandons the store and
 *    carries on: files stay as they are, nothing pending becomes durable, and a
 *    later power failure can still take it away) or calls simdisk_power_fail():
 *    every file keeps its durable content plus some of its pending writes - a
 *    prefix in order, a torn last write, sectors or pages old, new, zeroed or
 *    garbage, a few bytes flipped - and the namespace keeps the operations made
 *    durable by a directory fsync plus a random prefix of the others. The data
 *    directory is rebuilt from that and all of it is durable again.
 *  - There is one disk per process (the sysio table is global). Its calls may come
 *    from any thread; simdisk_hold() stops the syncs of every thread but the
 *    caller's, so a test can keep the flusher from making anything durable.
 *  - What the failures did is written to a report (simdisk_report) for the test
 *    to print when a check fails, with the seed that repeats the run;
 *    BROOK_POWERLOSS_VERBOSE=1 in the environment adds every pending namespace
 *    operation at a power failure to it.
 */
#ifndef BROOK_TESTS_SIMDISK_H
#define BROOK_TESTS_SIMDISK_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/unit/testutil.h"

/* simdisk_arm's count for "never die". */
#define SIMDISK_NEVER (1L << 40)

/* Forget everything: the data directory root (which exists) is empty and
 * durable. With root NULL, only free the model (the root stays as it was). */
void simdisk_reset(const char *root);

/* Route the sysio table's mutating calls through the model. */
void simdisk_install(void);

/* Seed the randomness of the torn write at the moment of death. */
void simdisk_seed(uint64_t seed);

/* Come alive, and let the next `after` mutating calls through (SIMDISK_NEVER:
 * all of them). */
void simdisk_arm(long after);

/* Come alive, and die at the first mutating call on name (relative to the data
 * directory; the string must outlive the armed state). */
void simdisk_arm_name(const char *name);

/* Hold (on) or let go the syncs of every thread but the caller's. */
void simdisk_hold(bool on);

/* Mutating calls counted since the last simdisk_arm. */
long simdisk_calls(void);

/* Whether the machine is dead. */
bool simdisk_dead(void);

/* The machine dies now (if it has not already). */
void simdisk_kill(void);

/* What the fatal call was ("pwrite t-0/....log (call 17)"), for reports. */
const char *simdisk_crash_op(void);

/* The power fails: rebuild the data directory from what the disk would hold, then
 * take all of it as durable (it is what a reboot reads back). Random choices come
 * from r; with r NULL, nothing that was not made durable survives. */
void simdisk_power_fail(struct tu_rng *r);

/* Add a line to the report of what the failures did (printf format). */
void simdisk_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The report so far, and emptying it. */
const char *simdisk_report(void);
void simdisk_report_clear(void);

#endif
