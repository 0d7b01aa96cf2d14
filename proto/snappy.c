/*
 * snappy.c - raw snappy compression and decompression.
 *
 * Elements, by the two low bits of a tag byte:
 *   00 literal   length-1 in the upper six bits (0-59), or 60-63 meaning that
 *                1-4 little-endian bytes follow holding length-1
 *   01 copy      length 4-11 ((tag >> 2) & 7) + 4, offset 11 bits: (tag >> 5) << 8
 *                plus the next byte
 *   10 copy      length 1-64 (tag >> 2) + 1, offset in the next 2 bytes (LE)
 *   11 copy      length 1-64, offset in the next 4 bytes (LE)
 * A copy may overlap its own output (offset < length repeats a pattern).
 *
 * The compressor works on 64 KiB fragments with a hash table of 4-byte sequences
 * (positions within the fragment), emitting a literal for each run without a match
 * and a copy for each match of at least 4 bytes; it skips ahead faster the longer
 * it goes without a match, as snappy does, so incompressible data stays cheap.
 */
#include "proto/snappy.h"

#include <errno.h>
#include <string.h>

#define FRAGMENT        65536
#define HASH_BITS       14
#define MAX_LITERAL_TAG 60

size_t snappy_raw_bound(size_t n)
{
    return 32 + n + n / 6;
}

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t hash4(uint32_t v)
{
    return (v * 0x1e35a7bdu) >> (32 - HASH_BITS);
}

static uint8_t *put_literal(uint8_t *op, const uint8_t *p, size_t len)
{
    size_t n = len - 1;
    if (n < MAX_LITERAL_TAG) {
        *op++ = (uint8_t)(n << 2);
    } else {
        int bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
        *op++ = (uint8_t)((59 + bytes) << 2);
        for (int i = 0; i < bytes; i++)
            *op++ = (uint8_t)(n >> (8 * i));
    }
    memcpy(op, p, len);
    return op + len;
}

/* One copy of 4..64 bytes at offset (< 65536). */
static uint8_t *put_copy64(uint8_t *op, size_t offset, size_t len)
{
    if (len <= 11 && offset < 2048) {
        *op++ = (uint8_t)(1 | ((len - 4) << 2) | ((offset >> 8) << 5));
        *op++ = (uint8_t)offset;
    } else {
        *op++ = (uint8_t)(2 | ((len - 1) << 2));
        *op++ = (uint8_t)offset;
        *op++ = (uint8_t)(offset >> 8);
    }
    return op;
}

static uint8_t *put_copy(uint8_t *op, size_t offset, size_t len)
{
    while (len >= 68) { /* leave at least 4 for the last copy */
        op = put_copy64(op, offset, 64);
        len -= 64;
    }
    if (len > 64) {
        op = put_copy64(op, offset, 60);
        len -= 60;
    }
    return put_copy64(op, offset, len);
}

/* Compress one fragment (at most 64 KiB, so every offset fits in 16 bits). */
static uint8_t *compress_fragment(const uint8_t *in, size_t n, uint8_t *op)
{
    uint16_t table[1 << HASH_BITS];
    const uint8_t *ip = in, *end = in + n, *lit = in;
    if (n < 16)
        goto tail;
    memset(table, 0, sizeof table);
    const uint8_t *limit = end - 15; /* keep room to read 4 bytes past candidates */
    ip++;
    for (;;) {
        const uint8_t *cand;
        uint32_t skip = 32;
        for (;;) { /* find a 4-byte match */
            if (ip >= limit)
                goto tail;
            uint32_t h = hash4(load32(ip));
            cand = in + table[h];
            table[h] = (uint16_t)(ip - in);
            if (cand < ip && load32(cand) == load32(ip))
                break;
            ip += skip++ >> 5;
        }
        if (ip > lit)
            op = put_literal(op, lit, (size_t)(ip - lit));
        do { /* extend the match, emit it, and look for one right after it */
            const uint8_t *base = ip;
            size_t len = 4;
            while (ip + len < end && cand[len] == ip[len])
                len++;
            op = put_copy(op, (size_t)(ip - cand), len);
            ip += len;
            lit = ip;
            if (ip >= limit)
                goto tail;
            table[hash4(load32(ip - 1))] = (uint16_t)(ip - 1 - in);
            uint32_t h = hash4(load32(ip));
            cand = in + table[h];
            table[h] = (uint16_t)(ip - in);
            (void)base;
        } while (load32(cand) == load32(ip) && cand < ip);
        ip++;
    }
tail:
    if (lit < end)
        op = put_literal(op, lit, (size_t)(end - lit));
    return op;
}

size_t snappy_raw_compress(const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t *op = out;
    size_t v = n;
    while (v >= 0x80) {
        *op++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *op++ = (uint8_t)v;
    for (size_t off = 0; off < n; off += FRAGMENT) {
        size_t k = n - off < FRAGMENT ? n - off : FRAGMENT;
        op = compress_fragment(in + off, k, op);
    }
    return (size_t)(op - out);
}

int snappy_raw_length(const uint8_t *in, size_t n, size_t *len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 5; i++) {
        v |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if (!(in[i] & 0x80)) {
            if (v > UINT32_MAX)
                return -EBADMSG;
            *len = (size_t)v;
            return (int)i + 1 > 0 ? 0 : -EBADMSG;
        }
    }
    return -EBADMSG;
}

/* Bytes the length varint at in takes (in is known to hold a valid one). */
static size_t varint_len(const uint8_t *in)
{
    size_t i = 0;
    while (in[i] & 0x80)
        i++;
    return i + 1;
}

int snappy_raw_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t out_len)
{
    size_t declared;
    if (snappy_raw_length(in, n, &declared) || declared != out_len)
        return -EBADMSG;
    const uint8_t *ip = in + varint_len(in), *end = in + n;
    size_t o = 0;
    while (ip < end) {
        uint8_t tag = *ip++;
        size_t len, offset;
        switch (tag & 3) {
        case 0:
            len = tag >> 2;
            if (len >= MAX_LITERAL_TAG) {
                size_t bytes = len - 59;
                if ((size_t)(end - ip) < bytes)
                    return -EBADMSG;
                len = 0;
                for (size_t i = 0; i < bytes; i++)
                    len |= (size_t)ip[i] << (8 * i);
                ip += bytes;
            }
            len++;
            if ((size_t)(end - ip) < len || out_len - o < len)
                return -EBADMSG;
            memcpy(out + o, ip, len);
            ip += len;
            o += len;
            continue;
        case 1:
            if (ip >= end)
                return -EBADMSG;
            len = ((tag >> 2) & 7) + 4;
            offset = (size_t)(tag >> 5) << 8 | *ip++;
            break;
        case 2:
            if (end - ip < 2)
                return -EBADMSG;
            len = (size_t)(tag >> 2) + 1;
            offset = (size_t)ip[0] | (size_t)ip[1] << 8;
            ip += 2;
            break;
        default:
            if (end - ip < 4)
                return -EBADMSG;
            len = (size_t)(tag >> 2) + 1;
            offset = load32(ip);
            ip += 4;
            break;
        }
        if (offset == 0 || offset > o || out_len - o < len)
            return -EBADMSG;
        const uint8_t *from = out + o - offset;
        if (offset >= len) {
            memcpy(out + o, from, len);
        } else {
            for (size_t i = 0; i < len; i++) /* overlapping: byte by byte */
                out[o + i] = from[i];
        }
        o += len;
    }
    return o == out_len ? 0 : -EBADMSG;
}
