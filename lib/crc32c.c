/*
 * crc32c.c - CRC-32C with a run-time choice between SSE4.2 and tables.
 *
 * The portable path is slicing-by-8 over the reflected polynomial 0x82F63B78; its
 * tables are built on first use under pthread_once. The hardware path feeds 8 bytes
 * at a time to the crc32q instruction. That instruction has a latency of three
 * cycles but can start one per cycle, so long inputs are cut into three equal
 * parts whose CRCs run as three independent streams; the three are then combined
 * with the CRC's linearity: crc(A|B) = shift(crc(A), |B|) ^ crc(B), where shift
 * appends |B| zero bytes and is a fixed linear map, precomputed as four 256-entry
 * tables for each of the two part lengths used. Both paths produce identical
 * results; tests check them against each other and against the standard check
 * value CRC-32C("123456789") = 0xE3069283.
 */
#include "lib/crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    pthread_once(&table_once, table_build);
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        uint32_t hi =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        lo ^= crc;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW    1
#define LONG_PART  8192 /* bytes per stream for long inputs */
#define SHORT_PART 256  /* and for shorter ones */

/* shift tables: crc of a register followed by LONG_PART or SHORT_PART zero bytes */
static uint32_t shift_long[4][256], shift_short[4][256];

/* Multiply the 32x32 GF(2) matrix mat by the vector vec. */
static uint32_t gf2_times(const uint32_t mat[32], uint32_t vec)
{
    uint32_t sum = 0;
    for (int i = 0; vec; i++, vec >>= 1)
        if (vec & 1)
            sum ^= mat[i];
    return sum;
}

static void gf2_square(uint32_t out[32], const uint32_t mat[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = gf2_times(mat, mat[i]);
}

/* The operator that appends len zero bytes (len a power of two >= 1) to a raw CRC
 * register, as a matrix. */
static void zeros_operator(uint32_t op[32], size_t len)
{
    uint32_t a[32], b[32];
    a[0] = POLY; /* one zero bit */
    for (int i = 1; i < 32; i++)
        a[i] = 1u << (i - 1);
    gf2_square(b, a); /* two bits */
    gf2_square(a, b); /* four */
    gf2_square(b, a); /* one byte */
    for (size_t n = 1; n < len; n <<= 1) {
        gf2_square(a, b);
        memcpy(b, a, sizeof a);
    }
    memcpy(op, b, sizeof b);
}

static void shift_tables(uint32_t t[4][256], size_t len)
{
    uint32_t op[32];
    zeros_operator(op, len);
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++)
            t[k][n] = gf2_times(op, n << (8 * k));
}

static uint32_t shift(const uint32_t t[4][256], uint32_t crc)
{
    return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian host: the byte order crc32q expects */
    return v;
}

/* Three streams of part bytes each over p; returns the combined raw register. */
__attribute__((target("sse4.2"))) static uint64_t three_way(uint64_t c0, const uint8_t *p,
                                                            size_t part, const uint32_t t[4][256])
{
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < part; i += 8) {
        c0 = __builtin_ia32_crc32di(c0, load64(p + i));
        c1 = __builtin_ia32_crc32di(c1, load64(p + part + i));
        c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * part + i));
    }
    c0 = shift(t, (uint32_t)c0) ^ c1;
    return shift(t, (uint32_t)c0) ^ c2;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;
    while (n >= 3 * LONG_PART) {
        c = three_way(c, p, LONG_PART, shift_long);
        p += 3 * LONG_PART;
        n -= 3 * LONG_PART;
    }
    while (n >= 3 * SHORT_PART) {
        c = three_way(c, p, SHORT_PART, shift_short);
        p += 3 * SHORT_PART;
        n -= 3 * SHORT_PART;
    }
    while (n >= 8) {
        c = __builtin_ia32_crc32di(c, load64(p));
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#else
#define HAVE_HW 0
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static crc_fn chosen;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    chosen = crc32c_portable;
#if HAVE_HW
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        shift_tables(shift_long, LONG_PART);
        shift_tables(shift_short, SHORT_PART);
        chosen = crc32c_hw;
    }
#endif
}

int crc32c_hw_available(void)
{
    pthread_once(&choose_once, choose);
    return chosen != crc32c_portable;
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&choose_once, choose);
    return chosen(crc, p, n);
}
