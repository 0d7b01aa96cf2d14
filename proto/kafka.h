/*
 * kafka.h - Kafka request/response codecs, both directions from one description.
 *
 * Every supported API is described once, in proto/kafka.schema. scripts/gen_kafka.py
 * turns that into proto/kafka_msgs.h (a plain C struct per request, response and
 * nested type) and proto/kafka_msgs.c (a descriptor table per struct: each field's
 * wire type, the versions it exists in, the versions it may be null in, its tag,
 * its default and where it sits in the C struct). One table-driven engine
 * (proto/kafka.c) walks those tables to decode and encode, so the broker (decode
 * requests, encode responses) and the client (encode requests, decode responses)
 * share every line of wire handling, flexible versions included.
 *
 * Wire rules the engine applies (KIP-482 "flexible" versions from the api's first
 * flexible version on):
 *   string    int16 length (-1 null) | flexible: uvarint length+1 (0 null)
 *   bytes     int32 length (-1 null) | flexible: uvarint length+1 (0 null)
 *   records   as bytes; the payload is RecordBatches (proto/record.h)
 *   array     int32 count (-1 null)  | flexible: uvarint count+1 (0 null)
 *   struct    its fields in order    | flexible: then a tagged-field section:
 *             uvarint count, then per field uvarint tag, uvarint size, value
 * Tagged fields are decoded when known and skipped otherwise; they are encoded only
 * when they differ from their default, in ascending tag order.
 *
 * Frames are an int32 size and then the bytes. Request header v1 is api_key int16,
 * api_version int16, correlation_id int32, client_id (nullable int16 string even in
 * flexible versions); v2 adds a tagged-field section. Response header v0 is the
 * correlation_id; v1 adds a tagged-field section. Flexible versions use request v2 /
 * response v1, except that an ApiVersions response always uses header v0.
 *
 * Memory: decoded structs, arrays and nothing else are allocated from the caller's
 * arena (lib/arena.h), whose limit bounds what any input can make us allocate; an
 * array count is checked against the bytes left before anything is allocated.
 * Strings, bytes and records in decoded structs are borrowed views into the input
 * (not NUL-terminated), valid while both the input and the arena live.
 *
 * Encoders append to a struct kafka_out: a writer (lib/writer.h) plus "splices",
 * places where bytes from a file belong (records served straight from a segment
 * with sendfile, never copied through user space). The broker turns memory pieces
 * and splices into an evbuffer; the client never makes splices.
 *
 * Errors are 0 or a negative errno: -EBADMSG malformed input, -ENOTSUP unknown api
 * or version, -ENOMEM arena limit or allocation failure, -EMSGSIZE output over its
 * limit, -EINVAL a struct that cannot be encoded at that version (null where not
 * nullable, a string over 32767 bytes in a non-flexible version, a bad length).
 */
#ifndef BROOK_PROTO_KAFKA_H
#define BROOK_PROTO_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/reader.h"
#include "lib/writer.h"

/* --- values ------------------------------------------------------------------------ */

/* A string: borrowed, not NUL-terminated; len -1 is null, {NULL, 0} the empty string. */
struct kstr {
    const char *p; /* first byte (borrowed), NULL when null or empty */
    int32_t len;   /* bytes, or -1 for null */
};

/* A literal as a struct kstr. */
#define KSTR(lit) ((struct kstr){(lit), (int32_t)(sizeof(lit) - 1)})
#define KSTR_NULL ((struct kstr){NULL, -1})

/* A NUL-terminated string as a struct kstr (borrowed); NULL gives the null string. */
static inline struct kstr kstr_from(const char *s)
{
    return s ? (struct kstr){s, (int32_t)strlen(s)} : KSTR_NULL;
}

static inline bool kstr_is_null(struct kstr s)
{
    return s.len < 0;
}

/* Whether s holds exactly the NUL-terminated c (a NULL c matches only null). */
static inline bool kstr_eq(struct kstr s, const char *c)
{
    if (!c || s.len < 0)
        return !c && s.len < 0;
    size_t n = strlen(c);
    return (size_t)s.len == n && (n == 0 || memcmp(s.p, c, n) == 0);
}

/* Whether two strings are equal (null equals only null). */
static inline bool kstr_equal(struct kstr a, struct kstr b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0;
}

/* Byte order of two strings, a shorter prefix first (null sorts as empty):
 * negative, 0 or positive, for sorting names. */
static inline int kstr_compare(struct kstr a, struct kstr b)
{
    int32_t la = a.len > 0 ? a.len : 0, lb = b.len > 0 ? b.len : 0;
    int c = memcmp(a.p ? a.p : "", b.p ? b.p : "", (size_t)(la < lb ? la : lb));
    return c ? c : (la > lb) - (la < lb);
}

/* A NUL-terminated copy of s in a (null becomes the empty string), for results
 * that outlive the frame s points into. NULL when a is out of memory. */
static inline char *kstr_dup(struct arena *a, struct kstr s)
{
    return arena_strndup(a, s.p ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
}

/* Opaque bytes: borrowed; len -1 is null. */
struct kbytes {
    const uint8_t *p; /* first byte (borrowed), NULL when null or empty */
    int32_t len;      /* bytes, or -1 for null */
};

/*
 * A records field (RecordBatches). Decoded: p/len view the input, fd is -1.
 * To encode bytes in memory set p; to encode len bytes of file fd from file_off
 * without copying them, set p = NULL and fd >= 0: the encoder writes the length
 * and records a splice (see struct kafka_out). len -1 is null.
 */
struct krecords {
    const uint8_t *p; /* bytes in memory (borrowed), or NULL */
    int64_t len;      /* bytes, or -1 for null */
    int fd;           /* file holding the bytes when p is NULL, else -1 */
    int64_t file_off; /* where they start in fd */
};

/* --- descriptors (generated into proto/kafka_msgs.c) ---------------------------------- */

enum kafka_type {
    KAFKA_T_BOOL,
    KAFKA_T_INT8,
    KAFKA_T_INT16,
    KAFKA_T_INT32,
    KAFKA_T_INT64,
    KAFKA_T_FLOAT64,
    KAFKA_T_UUID,    /* uint8_t[16] */
    KAFKA_T_STRING,  /* struct kstr */
    KAFKA_T_BYTES,   /* struct kbytes */
    KAFKA_T_RECORDS, /* struct krecords */
    KAFKA_T_STRUCT,  /* an embedded struct, described by child */
    KAFKA_T_ARRAY,   /* pointer + int32_t count; elements of type elem */
};

/* The versions a field exists, is nullable or is tagged in, as a bit per version. */
#define KAFKA_V(lo, hi)   ((uint32_t)((2u << (hi)) - (1u << (lo))))
#define KAFKA_MAX_VERSION 31 /* versions are bits of a uint32_t */

struct kafka_struct_desc;

struct kafka_field {
    const char *name;                      /* C member name */
    uint8_t type;                          /* enum kafka_type */
    uint8_t elem;                          /* arrays: element type */
    uint16_t tag;                          /* tag number, where tagged */
    uint32_t versions;                     /* KAFKA_V: versions it is on the wire in */
    uint32_t nullable;                     /* versions it may be null in */
    uint32_t tagged;                       /* versions it is a tagged field in */
    int64_t def;                           /* default of integers and bools */
    bool def_null;                         /* default is null (strings, bytes, arrays) */
    uint32_t offset;                       /* offsetof the member */
    uint32_t count;                        /* offsetof an array's int32_t count, or of a
                                              nullable struct's bool has_<name> */
    const struct kafka_struct_desc *child; /* structs and arrays of structs */
};

struct kafka_struct_desc {
    const char *name;                 /* C struct name */
    uint32_t size;                    /* sizeof the struct */
    int16_t flexible;                 /* message's first flexible version, or -1 */
    uint16_t n_fields;                /* entries in fields */
    const struct kafka_field *fields; /* in wire order */
};

/* One supported API: the registry entry generated from the schema. */
struct kafka_api {
    const char *name;                         /* Kafka's name, e.g. "Produce" */
    int16_t key;                              /* enum kafka_api_key */
    int16_t min_version;                      /* lowest version brook handles */
    int16_t max_version;                      /* highest version brook handles */
    int16_t flexible_version;                 /* first flexible version, or -1 */
    const struct kafka_struct_desc *request;  /* struct kafka_<api>_req */
    const struct kafka_struct_desc *response; /* struct kafka_<api>_resp */
};

/* The generated structs, enum kafka_api_key and kafka_apis[]. kafka_msgs.h includes
 * this header first thing, so the two can be included in either order. */
#include "proto/kafka_msgs.h"

/* --- output ----------------------------------------------------------------------- */

/* Bytes of file fd at off, len long, belong at position pos of the writer. */
struct kafka_splice {
    size_t pos;  /* offset in out->w where the file bytes go */
    int fd;      /* file to send from */
    int64_t off; /* first byte in the file */
    int64_t len; /* bytes */
};

/*
 * Encoded output: memory bytes in w, and splices that insert file bytes between
 * them (in increasing pos). The bytes on the wire are w.buf[0, s0.pos), then s0's
 * file bytes, then w.buf[s0.pos, s1.pos), ... and finally the rest of w.
 */
struct kafka_out {
    struct writer w;              /* memory bytes */
    struct kafka_splice *splices; /* owned array */
    size_t n_splices;             /* entries used */
    size_t cap_splices;           /* entries allocated */
    int64_t spliced;              /* sum of the splices' len */
};

/* An empty output whose memory part may grow to max bytes. */
void kafka_out_init(struct kafka_out *o, size_t max);

/* Free what o holds; it is empty (and reusable) afterwards. */
void kafka_out_release(struct kafka_out *o);

/* Forget the contents (and any error) but keep allocations and the maximum. */
void kafka_out_reset(struct kafka_out *o);

/* Total bytes o puts on the wire: memory plus splices. */
size_t kafka_out_size(const struct kafka_out *o);

/* --- framing and headers -------------------------------------------------------------- */

/*
 * Look at the start of a byte stream for one size-prefixed frame. Returns 0 when a
 * whole frame is there: *size is its length after the 4-byte prefix, so the frame
 * is p[4, 4 + *size). -EAGAIN: more bytes are needed (*size is set once the prefix
 * is complete); -EMSGSIZE: the size exceeds max; -EBADMSG: the size is negative.
 */
int kafka_frame(const void *p, size_t avail, size_t max, size_t *size);

struct kafka_request_header {
    int16_t api_key;        /* enum kafka_api_key, maybe one brook does not know */
    int16_t api_version;    /* maybe outside what brook supports */
    int32_t correlation_id; /* echoed in the response */
    struct kstr client_id;  /* borrowed from the frame; may be null */
    int8_t version;         /* header version read: 1, or 2 for flexible requests */
};

/* Request header version for an api and version: 2 when that version is flexible,
 * else 1 (also for unknown apis; for a known api above brook's range, versions from
 * its first flexible one are flexible too). */
int kafka_request_header_version(int16_t key, int16_t version);

/* Response header version: 1 for flexible versions, else 0; ApiVersions always 0. */
int kafka_response_header_version(int16_t key, int16_t version);

/*
 * Decode a request header from the start of a frame (after the size). The header
 * version follows kafka_request_header_version(); tagged fields in a v2 header are
 * skipped. Leaves r at the body. Returns 0 or -EBADMSG.
 */
int kafka_request_header_decode(struct reader *r, struct kafka_request_header *h);

/*
 * Decode a response header (the client side; key and version are the request's).
 * Returns 0 or -EBADMSG.
 */
int kafka_response_header_decode(int16_t key, int16_t version, struct reader *r,
                                 int32_t *correlation_id);

/* --- the API registry ------------------------------------------------------------------ */

/* The registry entry for an api key, or NULL when brook does not support it. */
const struct kafka_api *kafka_api_find(int16_t key);

/* Whether brook supports this api at this version. */
bool kafka_api_supported(int16_t key, int16_t version);

/* --- messages ---------------------------------------------------------------------- */

/*
 * Decode a request body: *body is set to a struct kafka_<api>_req allocated from a.
 * r is left just past the body; reader_left(r) bytes trailed it (Kafka ignores
 * them, and so may the caller). Returns 0, -ENOTSUP (api or version not supported),
 * -EBADMSG or -ENOMEM.
 */
int kafka_request_decode(int16_t key, int16_t version, struct reader *r, struct arena *a,
                         void **body);

/* Decode a response body into a struct kafka_<api>_resp from a; as above. */
int kafka_response_decode(int16_t key, int16_t version, struct reader *r, struct arena *a,
                          void **body);

/*
 * Append a whole response frame to out: int32 size (counting splices), response
 * header, body (a struct kafka_<api>_resp). Returns 0, -ENOTSUP, -EINVAL, -EMSGSIZE
 * or -ENOMEM; after a failure out's contents are unspecified (reset it).
 */
int kafka_response_encode(int16_t key, int16_t version, int32_t correlation_id, const void *body,
                          struct kafka_out *out);

/* Append a whole request frame (header v1 or v2, then a struct kafka_<api>_req) to
 * out; errors as kafka_response_encode(). */
int kafka_request_encode(int16_t key, int16_t version, int32_t correlation_id,
                         struct kstr client_id, const void *body, struct kafka_out *out);

/* --- the engine, for any described struct -------------------------------------------- */

/* Set every field of the struct at s to its default (zero unless the schema says). */
void kafka_init(const struct kafka_struct_desc *d, void *s);

/*
 * Decode the struct d at version from r into out (d->size bytes, the caller's).
 * Nested arrays come from a. Returns 0, -EBADMSG, -ENOMEM, or -ENOTSUP for a
 * version outside 0..KAFKA_MAX_VERSION.
 */
int kafka_decode(const struct kafka_struct_desc *d, int16_t version, struct reader *r,
                 struct arena *a, void *out);

/* Append the struct at in, encoded at version, to out. Returns 0, -EINVAL,
 * -EMSGSIZE, -ENOMEM, or -ENOTSUP as kafka_decode(). */
int kafka_encode(const struct kafka_struct_desc *d, int16_t version, const void *in,
                 struct kafka_out *out);

#endif
