/*
 * storeutil.h - helpers shared by the unit tests of store/: open a store the way
 * every test wants it, create topics, append batches and read every record back
 * CRC-checked, and reach the files under a data directory.
 *
 * The helpers fail the running cmocka test (fail_msg, assert_*) when the store
 * refuses what they ask, so a test reads as the scenario it checks; a test that
 * expects an error calls the store itself.
 */
#ifndef BROOK_TESTS_STOREUTIL_H
#define BROOK_TESTS_STOREUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A store on dir with log.flush.interval.ms flush_ms (-1: group commit before an
 * acknowledgement) and the cleaner thread off: tests run it themselves.
 * Close with store_close(), or store_abandon() for a crash. */
struct store *tu_store_open(const char *dir, int64_t flush_ms);

/* Create topic name with parts partitions and the "key=value" overrides that
 * follow, ended by NULL. */
void tu_topic_create(struct store *s, const char *name, int parts, ...);

/* A record as read back: key and value cut to fit, NUL-terminated; klen and vlen
 * as stored (-1 for a null key or value). */
struct tu_rec {
    int64_t offset;
    int64_t ts;
    int klen, vlen;
    char key[64];
    char value[256];
};

/* Every record from offset `from` to the high watermark, each batch CRC-checked,
 * into out (at most max). Returns how many. */
int tu_read_all(struct store_partition *p, int64_t from, struct tu_rec *out, int max);

/* Append one batch built by tu_batch(); returns its base offset. */
int64_t tu_append(struct store_partition *p, int n, const char *keys, const char *vals, int first,
                  int64_t ts);

/* Append a single record with key and value (value NULL: a tombstone); returns
 * its offset. */
int64_t tu_append_kv(struct store_partition *p, const char *key, const char *value, int64_t ts);

/* buf = "dir/rest". */
void tu_path(char *buf, size_t size, const char *dir, const char *rest);

/* Make the next open look like it follows a crash with no recovery point: no
 * clean-shutdown marker, no recovery-point checkpoint. */
void tu_forget_clean_shutdown(const char *dir);

/* Replace the file at path with the n bytes at p. */
void tu_write_file(const char *path, const void *p, size_t n);

/* Whether fd is open on a file whose name ends in suffix (".log", ".journal"):
 * how a fault injected through the sysio table picks the files it hits. */
bool tu_fd_is(int fd, const char *suffix);

#endif
