/*
 * codec.c - the compression codecs of RecordBatch v2: gzip, snappy, lz4, zstd.
 *
 * Compressed bytes come from peers, so decompression is written against hostile input:
 *
 * - Output flows through a sink that lets at most max_out bytes into the writer. Once
 *   that many have been produced the decoder is handed a one-byte probe buffer instead;
 *   a byte landing there means the data expands past the limit (-EMSGSIZE). Decoding
 *   therefore stops at the limit however far the data would expand (a few KiB of zstd
 *   can claim a GiB of zeros), and the writer never grows past it.
 * - Nothing is sized from a length in the input. zlib, lz4 and zstd stream into
 *   sink-sized pieces. A snappy block states its decompressed size up front; that is
 *   checked against the limit and against the most snappy can expand (a 3-byte copy
 *   tag yields at most 64 bytes, so under 22 bytes out per byte in) before the writer
 *   grows to hold it. zstd's window memory is capped by ZSTD_d_windowLogMax, and a
 *   frame that declares a content size over the limit is refused before decoding.
 * - On any error the writer is left as it was on entry (length restored, no sticky
 *   error), so a caller can retry into the same writer.
 * - Every compressed batch a producer sends is decompressed to validate it. A zstd
 *   decoder costs as much to set up as to decode a 16 KiB batch, so each thread
 *   keeps one for its next batch (reset before each use; freed when the thread
 *   exits, or at once when a large window made it grow past DCTX_KEEP_MAX, so that
 *   idle memory stays small). zlib and lz4 decoders are cheap to make: made per use.
 *
 * What is produced is what Kafka's Java producer writes, so every client can read it:
 *   gzip    one gzip member (RFC 1952) at zlib's default level. Decoding also takes a
 *           zlib wrapper and concatenated members.
 *   snappy  xerial framing: magic 82 'SNAPPY' 00, be32 version 1, be32 compatible
 *           version 1, then for each 32 KiB of input a be32 length and a raw snappy
 *           block. Decoding also takes one bare raw snappy buffer (librdkafka and
 *           others send that); it is recognised by the absence of the magic.
 *   lz4     the LZ4 frame format with 64 KiB independent blocks and neither block nor
 *           content checksums (Java reads each block on its own, and its handling of
 *           the content checksum has not always matched the frame format).
 *   zstd    one frame per batch at level 3 with the content size and a checksum.
 */
#include "proto/record.h"
#include "proto/snappy.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define CHUNK             (64 * 1024) /* streaming piece, input and output */
#define XERIAL_HEADER     16
#define XERIAL_BLOCK      (32 * 1024) /* input per xerial block, as snappy-java */
#define SNAPPY_EXPANSION  22          /* > 64 / 3: most output per compressed byte */
#define ZSTD_LEVEL        3
#define ZSTD_WINDOW_LOG   27 /* 128 MiB window at most, zstd's own default cap */
#define GZIP_WINDOW_BITS  (15 + 16)
#define INFLATE_AUTO_BITS (15 + 32)
#define DCTX_KEEP_MAX     (1u << 20) /* a zstd decoder larger than this is not kept */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

static const char *const codec_names[] = {
    [CODEC_NONE] = "none", [CODEC_GZIP] = "gzip", [CODEC_SNAPPY] = "snappy",
    [CODEC_LZ4] = "lz4",   [CODEC_ZSTD] = "zstd",
};

const char *codec_name(int codec)
{
    if (codec < CODEC_NONE || codec > CODEC_ZSTD)
        return NULL;
    return codec_names[codec];
}

int codec_parse(const char *name, enum codec *out)
{
    for (int c = CODEC_NONE; name && c <= CODEC_ZSTD; c++) {
        if (strcmp(name, codec_names[c]) == 0) {
            *out = (enum codec)c;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- the bounded sink ---- */

struct sink {
    struct writer *w;
    size_t start;     /* w->len on entry: restored on error */
    size_t left;      /* bytes still allowed in */
    uint8_t *p;       /* where the codec may write next */
    size_t room;      /* bytes available at p */
    uint8_t probe[1]; /* handed out once left is 0: a byte here is one too many */
};

static void sink_init(struct sink *s, struct writer *w, size_t max_out)
{
    size_t cap = w->max - w->len;

    s->w = w;
    s->start = w->len;
    s->left = max_out < cap ? max_out : cap;
    s->p = NULL;
    s->room = 0;
}

/* Point p/room at space for up to want more bytes (at least one). */
static int sink_room(struct sink *s, size_t want)
{
    if (s->left == 0) {
        s->p = s->probe;
        s->room = sizeof s->probe;
        return 0;
    }
    size_t n = want < s->left ? want : s->left;
    int rc = writer_grow(s->w, n);
    if (rc)
        return rc;
    s->p = s->w->buf + s->w->len;
    s->room = n;
    return 0;
}

/* The codec wrote n bytes at p. */
static int sink_commit(struct sink *s, size_t n)
{
    if (n == 0)
        return 0;
    if (s->p == s->probe)
        return -EMSGSIZE;
    s->w->len += n;
    s->left -= n;
    return 0;
}

/* Undo everything appended since sink_init when rc is an error. */
static int sink_finish(struct sink *s, int rc)
{
    if (rc) {
        s->w->len = s->start;
        s->w->err = 0;
    }
    return rc;
}

/* ---- none ---- */

static int copy_in(const uint8_t *in, size_t n, struct sink *s)
{
    if (n > s->left)
        return -EMSGSIZE;
    writer_bytes(s->w, in, n);
    s->left -= n;
    return s->w->err;
}

/* ---- gzip (zlib) ---- */

/* Hand zlib the next piece of input; avail_in is only 32 bits wide. */
static void zlib_feed(z_stream *z, const uint8_t **in, size_t *n)
{
    if (z->avail_in || !*n)
        return;
    size_t k = *n < UINT_MAX ? *n : UINT_MAX;
    z->next_in = *in;
    z->avail_in = (uInt)k;
    *in += k;
    *n -= k;
}

static int gzip_compress(const uint8_t *in, size_t n, struct sink *s)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW_BITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    int rc = 0, zrc = Z_OK;
    while (zrc != Z_STREAM_END) {
        zlib_feed(&z, &in, &n);
        rc = sink_room(s, CHUNK);
        if (rc)
            break;
        z.next_out = s->p;
        z.avail_out = (uInt)s->room;
        zrc = deflate(&z, n ? Z_NO_FLUSH : Z_FINISH);
        rc = sink_commit(s, s->room - z.avail_out);
        if (!rc && zrc != Z_OK && zrc != Z_STREAM_END)
            rc = -EIO;
        if (rc)
            break;
    }
    deflateEnd(&z);
    return rc;
}

/* One inflate() step; 1 when the input is used up at the end of a member. */
static int gzip_step(z_stream *z, struct sink *s, bool more_input)
{
    int rc = sink_room(s, CHUNK);
    if (rc)
        return rc;
    z->next_out = s->p;
    z->avail_out = (uInt)s->room;
    int zrc = inflate(z, Z_NO_FLUSH);
    rc = sink_commit(s, s->room - z->avail_out);
    if (rc)
        return rc;
    switch (zrc) {
    case Z_OK: return 0;
    case Z_MEM_ERROR: return -ENOMEM;
    case Z_STREAM_END:
        if (!z->avail_in && !more_input)
            return 1;
        return inflateReset(z) == Z_OK ? 0 : -EIO; /* another member follows */
    default: return -EBADMSG; /* corrupt, or Z_BUF_ERROR: input ended mid-stream */
    }
}

static int gzip_decompress(const uint8_t *in, size_t n, struct sink *s)
{
    z_stream z = {0};
    if (inflateInit2(&z, INFLATE_AUTO_BITS) != Z_OK)
        return -ENOMEM;
    int rc;
    do {
        zlib_feed(&z, &in, &n);
        rc = gzip_step(&z, s, n != 0);
    } while (rc == 0);
    inflateEnd(&z);
    return rc < 0 ? rc : 0;
}

/* ---- snappy ---- */

static int snappy_compress_xerial(const uint8_t *in, size_t n, struct writer *w)
{
    size_t bound = snappy_raw_bound(XERIAL_BLOCK);
    uint8_t *tmp = malloc(bound);
    if (!tmp)
        return -ENOMEM;
    writer_bytes(w, xerial_magic, sizeof xerial_magic);
    writer_be32(w, 1); /* version */
    writer_be32(w, 1); /* compatible version */
    for (size_t off = 0, k; off < n && writer_ok(w); off += k) {
        k = n - off < XERIAL_BLOCK ? n - off : XERIAL_BLOCK;
        size_t clen = snappy_raw_compress(in + off, k, tmp);
        writer_be32(w, (uint32_t)clen);
        writer_bytes(w, tmp, clen);
    }
    free(tmp);
    return w->err;
}

/* One raw snappy buffer, whose first bytes state its decompressed size. */
static int snappy_block(const uint8_t *in, size_t n, struct sink *s)
{
    size_t ulen;
    if (snappy_raw_length(in, n, &ulen))
        return -EBADMSG;
    if (ulen / SNAPPY_EXPANSION > n)
        return -EBADMSG; /* more than n bytes of snappy can encode */
    if (ulen > s->left)
        return -EMSGSIZE;
    if (ulen == 0)
        return snappy_raw_decompress(in, n, NULL, 0);
    int rc = sink_room(s, ulen);
    if (rc)
        return rc;
    if (snappy_raw_decompress(in, n, s->p, ulen))
        return -EBADMSG;
    return sink_commit(s, ulen);
}

static int snappy_decompress(const uint8_t *in, size_t n, struct sink *s)
{
    if (n < sizeof xerial_magic || memcmp(in, xerial_magic, sizeof xerial_magic) != 0)
        return snappy_block(in, n, s);
    struct reader r;
    reader_init(&r, in, n);
    reader_skip(&r, XERIAL_HEADER); /* magic, version, compatible version */
    while (reader_left(&r)) {
        uint32_t blen = reader_be32(&r);
        const uint8_t *block = reader_bytes(&r, blen);
        if (!block)
            break;
        int rc = snappy_block(block, blen, s);
        if (rc)
            return rc;
    }
    return reader_ok(&r) ? 0 : -EBADMSG;
}

/* ---- lz4 (frame format) ---- */

static const LZ4F_preferences_t lz4_prefs = {
    .frameInfo = {.blockSizeID = LZ4F_max64KB, .blockMode = LZ4F_blockIndependent},
};

static int lz4_compress(const uint8_t *in, size_t n, struct writer *w)
{
    LZ4F_cctx *cctx;
    if (LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)))
        return -ENOMEM;
    int rc = -ENOMEM;
    size_t bound = LZ4F_compressBound(CHUNK, &lz4_prefs); /* > LZ4F_HEADER_SIZE_MAX */
    uint8_t *tmp = malloc(bound);
    if (!tmp)
        goto free_cctx;
    rc = -EIO;
    size_t k = LZ4F_compressBegin(cctx, tmp, bound, &lz4_prefs);
    if (LZ4F_isError(k))
        goto free_tmp;
    writer_bytes(w, tmp, k);
    for (size_t off = 0, piece; off < n && writer_ok(w); off += piece) {
        piece = n - off < CHUNK ? n - off : CHUNK;
        k = LZ4F_compressUpdate(cctx, tmp, bound, in + off, piece, NULL);
        if (LZ4F_isError(k))
            goto free_tmp;
        writer_bytes(w, tmp, k);
    }
    k = LZ4F_compressEnd(cctx, tmp, bound, NULL);
    if (LZ4F_isError(k))
        goto free_tmp;
    writer_bytes(w, tmp, k);
    rc = w->err;
free_tmp:
    free(tmp);
free_cctx:
    LZ4F_freeCompressionContext(cctx);
    return rc;
}

/* One LZ4F_decompress() step; 1 when the input is used up at the end of a frame. */
static int lz4_step(LZ4F_dctx *dctx, const uint8_t **in, size_t *n, struct sink *s)
{
    int rc = sink_room(s, CHUNK);
    if (rc)
        return rc;
    size_t out = s->room, used = *n;
    size_t hint = LZ4F_decompress(dctx, s->p, &out, *in, &used, NULL);
    if (LZ4F_isError(hint))
        return -EBADMSG;
    *in += used;
    *n -= used;
    rc = sink_commit(s, out);
    if (rc)
        return rc;
    if (hint == 0 && *n == 0)
        return 1;
    if (used == 0 && out == 0)
        return -EBADMSG; /* no progress: the input ends inside a frame */
    return 0;
}

static int lz4_decompress(const uint8_t *in, size_t n, struct sink *s)
{
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return -ENOMEM;
    int rc;
    do
        rc = lz4_step(dctx, &in, &n, s);
    while (rc == 0);
    LZ4F_freeDecompressionContext(dctx);
    return rc < 0 ? rc : 0;
}

/* ---- zstd ---- */

static int zstd_compress(const uint8_t *in, size_t n, struct sink *s)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return -ENOMEM;
    int rc = -EIO;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, n)))
        goto free_cctx;
    ZSTD_inBuffer ib = {in, n, 0};
    size_t pending;
    do {
        rc = sink_room(s, CHUNK);
        if (rc)
            goto free_cctx;
        ZSTD_outBuffer ob = {s->p, s->room, 0};
        pending = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
        rc = ZSTD_isError(pending) ? -EIO : sink_commit(s, ob.pos);
    } while (!rc && pending);
free_cctx:
    ZSTD_freeCCtx(cctx);
    return rc;
}

static int zstd_error(size_t code)
{
    switch (ZSTD_getErrorCode(code)) {
    case ZSTD_error_memory_allocation: return -ENOMEM;
    case ZSTD_error_frameParameter_windowTooLarge: return -EMSGSIZE;
    default: return -EBADMSG;
    }
}

/* One ZSTD_decompressStream() step; 1 when the input is used up at the end of a frame. */
static int zstd_step(ZSTD_DCtx *dctx, ZSTD_inBuffer *ib, struct sink *s)
{
    int rc = sink_room(s, CHUNK);
    if (rc)
        return rc;
    ZSTD_outBuffer ob = {s->p, s->room, 0};
    size_t hint = ZSTD_decompressStream(dctx, &ob, ib);
    if (ZSTD_isError(hint))
        return zstd_error(hint);
    rc = sink_commit(s, ob.pos);
    if (rc)
        return rc;
    if (ib->pos < ib->size)
        return 0;
    if (hint == 0)
        return 1;
    return ob.pos < ob.size ? -EBADMSG : 0; /* room left, yet it wants input: truncated */
}

static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static bool dctx_keyed;

static void dctx_free(void *dctx)
{
    ZSTD_freeDCtx(dctx);
}

static void dctx_key_create(void)
{
    dctx_keyed = pthread_key_create(&dctx_key, dctx_free) == 0;
}

/* This thread's zstd decoder, ready for a new frame with its window capped; NULL
 * when out of memory. */
static ZSTD_DCtx *dctx_get(void)
{
    pthread_once(&dctx_once, dctx_key_create);
    ZSTD_DCtx *dctx = dctx_keyed ? pthread_getspecific(dctx_key) : NULL;
    if (dctx) {
        ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only); /* parameters stay */
        return dctx;
    }
    if (!(dctx = ZSTD_createDCtx()))
        return NULL;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG))) {
        ZSTD_freeDCtx(dctx);
        return NULL;
    }
    if (dctx_keyed)
        (void)pthread_setspecific(dctx_key, dctx); /* if that fails, dctx_put() frees it */
    return dctx;
}

/* Done with dctx: keep it for this thread's next frame unless it grew large. */
static void dctx_put(ZSTD_DCtx *dctx)
{
    bool kept = dctx_keyed && pthread_getspecific(dctx_key) == dctx;
    if (kept && ZSTD_sizeof_DCtx(dctx) <= DCTX_KEEP_MAX)
        return;
    if (kept)
        pthread_setspecific(dctx_key, NULL);
    ZSTD_freeDCtx(dctx);
}

static int zstd_decompress(const uint8_t *in, size_t n, struct sink *s)
{
    unsigned long long declared = ZSTD_getFrameContentSize(in, n);
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
        declared > s->left)
        return -EMSGSIZE;
    ZSTD_DCtx *dctx = dctx_get();
    if (!dctx)
        return -ENOMEM;
    ZSTD_inBuffer ib = {in, n, 0};
    int rc;
    do
        rc = zstd_step(dctx, &ib, s);
    while (rc == 0);
    dctx_put(dctx);
    return rc < 0 ? rc : 0;
}

/* ---- dispatch ---- */

int codec_compress(enum codec codec, const void *in, size_t n, struct writer *out)
{
    if (out->err)
        return out->err;
    struct sink s;
    sink_init(&s, out, SIZE_MAX);
    int rc;
    switch (codec) {
    case CODEC_NONE: rc = copy_in(in, n, &s); break;
    case CODEC_GZIP: rc = gzip_compress(in, n, &s); break;
    case CODEC_SNAPPY: rc = snappy_compress_xerial(in, n, out); break;
    case CODEC_LZ4: rc = lz4_compress(in, n, out); break;
    case CODEC_ZSTD: rc = zstd_compress(in, n, &s); break;
    default: rc = -ENOTSUP; break;
    }
    return sink_finish(&s, rc);
}

int codec_decompress(enum codec codec, const void *in, size_t n, size_t max_out, struct writer *out)
{
    if (out->err)
        return out->err;
    struct sink s;
    sink_init(&s, out, max_out);
    int rc;
    switch (codec) {
    case CODEC_NONE: rc = copy_in(in, n, &s); break;
    case CODEC_GZIP: rc = gzip_decompress(in, n, &s); break;
    case CODEC_SNAPPY: rc = snappy_decompress(in, n, &s); break;
    case CODEC_LZ4: rc = lz4_decompress(in, n, &s); break;
    case CODEC_ZSTD: rc = zstd_decompress(in, n, &s); break;
    default: rc = -ENOTSUP; break;
    }
    return sink_finish(&s, rc);
}
