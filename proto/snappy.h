/*
 * snappy.h - raw snappy blocks, brook's own implementation.
 *
 * A raw snappy block is an unsigned varint (the uncompressed length) followed by
 * elements: literals and back-references ("copies") into the output so far. brook
 * implements the format itself so that the daemon does not pull a C++ runtime into
 * its memory just for this codec; the tests check it against libsnappy in both
 * directions. Framing (xerial) is proto/codec.c's business.
 */
#ifndef BROOK_PROTO_SNAPPY_H
#define BROOK_PROTO_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

/* Largest raw block snappy_raw_compress() can produce for n input bytes. */
size_t snappy_raw_bound(size_t n);

/* Compress n bytes at in into out (room for snappy_raw_bound(n) bytes); returns the
 * compressed length. */
size_t snappy_raw_compress(const uint8_t *in, size_t n, uint8_t *out);

/* The uncompressed length a raw block declares: 0 or -EBADMSG. */
int snappy_raw_length(const uint8_t *in, size_t n, size_t *len);

/* Decompress a raw block whose declared length is exactly out_len into out.
 * Every copy is checked against the output so far and every length against the
 * buffers: 0 or -EBADMSG. */
int snappy_raw_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t out_len);

#endif
