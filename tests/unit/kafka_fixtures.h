/*
 * kafka_fixtures.h - Kafka messages written out by hand, field by field, from the
 * protocol's message schemas, in a small notation that is no part of the codec.
 *
 * The codec tests (test_kafka.c) decode each fixture, check named fields, encode
 * it again and compare the bytes; the fuzz seeds (tests/fuzz/seeds.c) start from
 * them. A fixture covers a range of versions: a token may carry a version guard,
 * so one readable entry holds what several versions share.
 *
 * Notation (tokens separated by blanks; "GUARD:" before any token limits it to
 * versions "N", "N-M" or "N+"):
 *   i8:N i16:N i32:N i64:N f64:X    fixed-width big-endian integers and a double
 *   uv:N                            an unsigned varint
 *   s:TEXT s:null                   int16-prefixed string ("s:" is empty)
 *   cs:TEXT cs:null                 compact string (uvarint length + 1; null is 0)
 *   by:HEX by:null cby:HEX cby:null int32-prefixed and compact bytes
 *   a:N a:null ca:N ca:null         array counts: int32, compact (N + 1; null is 0)
 *   uuid:HEX                        16 bytes: 32 hex digits, or 2 repeated 16 times
 *   tags:N                          a tagged-field section's count
 *   tag:N{ ... }                    one tagged field: tag, size, then its contents
 *   raw:HEX                         bytes as given
 * Checks, "PATH=VALUE" tokens with the same guards: PATH is a member path of the
 * decoded C struct (topics[0].name, assignment.topic_partitions[1].partitions[0],
 * has_assignment); VALUE an integer, true/false, null, a string, or uuid:HEX.
 */
#ifndef BROOK_TESTS_UNIT_KAFKA_FIXTURES_H
#define BROOK_TESTS_UNIT_KAFKA_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/kafka.h"

struct kafka_fixture {
    int16_t key;
    bool request;       /* a request body, else a response body */
    int16_t vmin, vmax; /* the versions it is written for */
    const char *wire;   /* the body, in the notation above */
    const char *checks; /* what the decoded struct holds */
};

extern const struct kafka_fixture kafka_fixtures[];
extern const size_t n_kafka_fixtures;

/* Bodies that must NOT decode at a version: a nullable struct's marker byte other
 * than -1 or 1, and the like. */
extern const struct kafka_fixture kafka_bad_fixtures[];
extern const size_t n_kafka_bad_fixtures;

/* Write wire at version v into buf (cap bytes); 0 and *len, or -EINVAL naming the
 * bad token in *bad (a notation mistake), or -ENOSPC. */
int kafka_fixture_write(const char *wire, int16_t v, uint8_t *buf, size_t cap, size_t *len,
                        const char **bad);

/* Check every PATH=VALUE of checks against the decoded struct s of descriptor d at
 * version v; 0, or -EINVAL with the failing token copied to why (size bytes). */
int kafka_fixture_check(const char *checks, int16_t v, const struct kafka_struct_desc *d,
                        const void *s, char *why, size_t size);

#endif
