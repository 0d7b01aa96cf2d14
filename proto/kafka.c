/*
 * kafka.c - the table-driven Kafka codec: one decoder and one encoder that walk the
 * descriptor tables generated from proto/kafka.schema, plus framing, the request
 * and response headers, and the api registry lookups.
 *
 * A message is a struct; a struct is its fields in order; a field is a scalar, a
 * string/bytes/records with a length prefix, an embedded struct or an array. The
 * version picks which fields are on the wire (a bit per version in the
 * descriptor), whether one may be null, and whether it travels inline or in the
 * struct's tagged-field section; whether the message's version is flexible picks
 * the length encoding (int16/int32 vs unsigned varint length+1) and whether every
 * struct ends with a tagged-field section. That is all of Kafka's message grammar,
 * so both directions are short recursive walks and no API has code of its own.
 *
 * Decoding reads through the caller's struct reader, whose sticky error carries
 * -EBADMSG (and -ENOMEM from the arena) out of the recursion. The one allocation
 * a peer's input can cause is an array, and its count is first checked against
 * what the remaining bytes could hold at the element's minimum encoded size.
 * Tagged fields are read from a sub-reader of exactly their announced size, so an
 * unknown one is skipped and a known one must fill its size exactly.
 *
 * Encoding appends to a kafka_out; errors in the struct (-EINVAL) are kept in a
 * small context, writer errors in the writer, both sticky. A tagged field's size
 * prefix is a varint that precedes its value, so the value is encoded in place and
 * shifted right by the prefix's length afterwards: no temporary buffers.
 */
#include "lib/grow.h"
#include "proto/kafka.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- kafka_out ---------------------------------------------------------------------- */

void kafka_out_init(struct kafka_out *o, size_t max)
{
    memset(o, 0, sizeof *o);
    writer_init(&o->w, max);
}

void kafka_out_release(struct kafka_out *o)
{
    writer_release(&o->w);
    free(o->splices);
    o->splices = NULL;
    o->n_splices = o->cap_splices = 0;
    o->spliced = 0;
}

void kafka_out_reset(struct kafka_out *o)
{
    writer_reset(&o->w);
    o->n_splices = 0;
    o->spliced = 0;
}

size_t kafka_out_size(const struct kafka_out *o)
{
    return o->w.len + (size_t)o->spliced;
}

/* Note that len bytes of fd from off belong at the writer's current end. */
static int out_splice(struct kafka_out *o, int fd, int64_t off, int64_t len)
{
    if (ARRAY_GROW(o->splices, o->cap_splices, o->n_splices + 1))
        return -ENOMEM;
    o->splices[o->n_splices++] = (struct kafka_splice){o->w.len, fd, off, len};
    o->spliced += len;
    return 0;
}

/* --- descriptor helpers --------------------------------------------------------------- */

static bool in_versions(uint32_t mask, int16_t v)
{
    return v >= 0 && v <= KAFKA_MAX_VERSION && (mask >> v & 1);
}

static bool is_flexible(const struct kafka_struct_desc *d, int16_t v)
{
    return d->flexible >= 0 && v >= d->flexible;
}

static void *member(void *s, uint32_t offset)
{
    return (char *)s + offset;
}

static const void *cmember(const void *s, uint32_t offset)
{
    return (const char *)s + offset;
}

/* Size of one array element in memory. */
static size_t elem_size(const struct kafka_field *f)
{
    switch (f->elem) {
    case KAFKA_T_BOOL: return sizeof(bool);
    case KAFKA_T_INT8: return sizeof(int8_t);
    case KAFKA_T_INT16: return sizeof(int16_t);
    case KAFKA_T_INT32: return sizeof(int32_t);
    case KAFKA_T_INT64: return sizeof(int64_t);
    case KAFKA_T_FLOAT64: return sizeof(double);
    case KAFKA_T_STRING: return sizeof(struct kstr);
    case KAFKA_T_BYTES: return sizeof(struct kbytes);
    case KAFKA_T_STRUCT: return f->child->size;
    default: return 0; /* the generator allows no other element types */
    }
}

static size_t struct_min_size(const struct kafka_struct_desc *d, int16_t v, bool flex);

/* The fewest bytes a value of this type can take on the wire. */
static size_t type_min_size(uint8_t type, const struct kafka_struct_desc *child, int16_t v,
                            bool flex)
{
    switch (type) {
    case KAFKA_T_BOOL:
    case KAFKA_T_INT8: return 1;
    case KAFKA_T_INT16: return 2;
    case KAFKA_T_INT32: return 4;
    case KAFKA_T_INT64:
    case KAFKA_T_FLOAT64: return 8;
    case KAFKA_T_UUID: return 16;
    case KAFKA_T_STRING: return flex ? 1 : 2;
    case KAFKA_T_STRUCT: return struct_min_size(child, v, flex);
    default: return flex ? 1 : 4; /* bytes, records, arrays */
    }
}

static size_t struct_min_size(const struct kafka_struct_desc *d, int16_t v, bool flex)
{
    size_t n = flex ? 1 : 0; /* the empty tagged-field section */
    for (uint16_t i = 0; i < d->n_fields; i++) {
        const struct kafka_field *f = &d->fields[i];
        if (!in_versions(f->versions, v) || in_versions(f->tagged, v))
            continue;
        if (f->type == KAFKA_T_STRUCT && in_versions(f->nullable, v))
            n += 1; /* a null struct is its marker byte alone */
        else
            n += type_min_size(f->type, f->child, v, flex);
    }
    return n;
}

/* --- defaults ------------------------------------------------------------------------- */

static void set_default(const struct kafka_field *f, void *s)
{
    void *p = member(s, f->offset);
    switch (f->type) {
    case KAFKA_T_BOOL: *(bool *)p = f->def != 0; break;
    case KAFKA_T_INT8: *(int8_t *)p = (int8_t)f->def; break;
    case KAFKA_T_INT16: *(int16_t *)p = (int16_t)f->def; break;
    case KAFKA_T_INT32: *(int32_t *)p = (int32_t)f->def; break;
    case KAFKA_T_INT64: *(int64_t *)p = f->def; break;
    case KAFKA_T_FLOAT64: *(double *)p = (double)f->def; break;
    case KAFKA_T_UUID: memset(p, 0, 16); break;
    case KAFKA_T_STRING: *(struct kstr *)p = (struct kstr){NULL, f->def_null ? -1 : 0}; break;
    case KAFKA_T_BYTES: *(struct kbytes *)p = (struct kbytes){NULL, f->def_null ? -1 : 0}; break;
    case KAFKA_T_RECORDS:
        *(struct krecords *)p = (struct krecords){NULL, f->def_null ? -1 : 0, -1, 0};
        break;
    case KAFKA_T_STRUCT:
        kafka_init(f->child, p);
        if (f->nullable)
            *(bool *)member(s, f->count) = !f->def_null;
        break;
    case KAFKA_T_ARRAY:
        *(void **)p = NULL;
        *(int32_t *)member(s, f->count) = f->def_null ? -1 : 0;
        break;
    }
}

void kafka_init(const struct kafka_struct_desc *d, void *s)
{
    memset(s, 0, d->size);
    for (uint16_t i = 0; i < d->n_fields; i++)
        set_default(&d->fields[i], s);
}

static bool struct_is_default(const struct kafka_struct_desc *d, const void *s);

/* Whether a field holds its default (tagged fields are sent only when not). */
static bool is_default(const struct kafka_field *f, const void *s)
{
    const void *p = cmember(s, f->offset);
    int64_t empty = f->def_null ? -1 : 0;
    switch (f->type) {
    case KAFKA_T_BOOL: return *(const bool *)p == (f->def != 0);
    case KAFKA_T_INT8: return *(const int8_t *)p == f->def;
    case KAFKA_T_INT16: return *(const int16_t *)p == f->def;
    case KAFKA_T_INT32: return *(const int32_t *)p == f->def;
    case KAFKA_T_INT64: return *(const int64_t *)p == f->def;
    case KAFKA_T_FLOAT64: return *(const double *)p == (double)f->def;
    case KAFKA_T_UUID: {
        static const uint8_t zero[16];
        return memcmp(p, zero, 16) == 0;
    }
    case KAFKA_T_STRING: return ((const struct kstr *)p)->len == empty;
    case KAFKA_T_BYTES: return ((const struct kbytes *)p)->len == empty;
    case KAFKA_T_RECORDS: return ((const struct krecords *)p)->len == empty;
    case KAFKA_T_STRUCT:
        if (f->nullable && !*(const bool *)cmember(s, f->count))
            return f->def_null;
        return !f->def_null && struct_is_default(f->child, p);
    case KAFKA_T_ARRAY: return *(const int32_t *)cmember(s, f->count) == empty;
    }
    return false;
}

static bool struct_is_default(const struct kafka_struct_desc *d, const void *s)
{
    for (uint16_t i = 0; i < d->n_fields; i++)
        if (!is_default(&d->fields[i], s))
            return false;
    return true;
}

/* --- decoding --------------------------------------------------------------------------- */

struct dec {
    struct arena *a; /* arrays come from here */
    int16_t v;       /* message version */
    bool flex;       /* v is a flexible version */
};

/*
 * A length or count prefix: int16 (strings) or int32 (wide), or in flexible
 * versions an unsigned varint holding length+1. Returns the length, -1 for null,
 * or -2 after an error (set in r). Lengths above max are errors.
 */
static int64_t read_len(struct reader *r, bool flex, bool wide, int64_t max)
{
    int64_t n;
    if (flex)
        n = (int64_t)reader_uvarint(r) - 1;
    else
        n = wide ? (int32_t)reader_be32(r) : (int16_t)reader_be16(r);
    if (!reader_ok(r))
        return -2;
    if (n < -1 || n > max) {
        reader_fail(r, -EBADMSG);
        return -2;
    }
    return n;
}

/* A length-prefixed run of bytes: its start, NULL for null; *len as read_len(). */
static const uint8_t *read_blob(struct reader *r, bool flex, bool wide, int64_t max, bool nullable,
                                int64_t *len)
{
    *len = read_len(r, flex, wide, max);
    if (*len == -1 && !nullable)
        reader_fail(r, -EBADMSG);
    if (*len < 0)
        return NULL;
    return reader_bytes(r, (size_t)*len);
}

static void decode_value(uint8_t type, bool nullable, bool flex, struct reader *r, void *p)
{
    int64_t len;
    const uint8_t *b;
    switch (type) {
    case KAFKA_T_BOOL: *(bool *)p = reader_u8(r) != 0; break;
    case KAFKA_T_INT8: *(int8_t *)p = (int8_t)reader_u8(r); break;
    case KAFKA_T_INT16: *(int16_t *)p = (int16_t)reader_be16(r); break;
    case KAFKA_T_INT32: *(int32_t *)p = (int32_t)reader_be32(r); break;
    case KAFKA_T_INT64: *(int64_t *)p = (int64_t)reader_be64(r); break;
    case KAFKA_T_FLOAT64: *(double *)p = reader_f64(r); break;
    case KAFKA_T_UUID:
        b = reader_bytes(r, 16);
        if (b)
            memcpy(p, b, 16);
        break;
    case KAFKA_T_STRING:
        b = read_blob(r, flex, false, INT16_MAX, nullable, &len);
        *(struct kstr *)p = (struct kstr){(const char *)b, (int32_t)(len < -1 ? -1 : len)};
        break;
    case KAFKA_T_BYTES:
        b = read_blob(r, flex, true, INT32_MAX, nullable, &len);
        *(struct kbytes *)p = (struct kbytes){b, (int32_t)(len < -1 ? -1 : len)};
        break;
    case KAFKA_T_RECORDS:
        b = read_blob(r, flex, true, INT32_MAX, nullable, &len);
        *(struct krecords *)p = (struct krecords){b, len < -1 ? -1 : len, -1, 0};
        break;
    }
}

static void decode_struct(const struct kafka_struct_desc *d, const struct dec *x, struct reader *r,
                          void *s);

static void decode_array(const struct kafka_field *f, const struct dec *x, struct reader *r,
                         void *s)
{
    int64_t n = read_len(r, x->flex, true, INT32_MAX - 1);
    if (n == -1 && !in_versions(f->nullable, x->v))
        reader_fail(r, -EBADMSG);
    if (n < 0) {
        *(int32_t *)member(s, f->count) = -1;
        return;
    }
    /* never allocate for more elements than the remaining bytes could hold */
    size_t min = type_min_size(f->elem, f->child, x->v, x->flex);
    if ((uint64_t)n > reader_left(r) / (min ? min : 1)) {
        reader_fail(r, -EBADMSG);
        return;
    }
    size_t size = elem_size(f);
    char *items = n ? arena_calloc(x->a, (size_t)n, size) : NULL;
    if (n && !items) {
        reader_fail(r, -ENOMEM);
        return;
    }
    for (int64_t i = 0; i < n && reader_ok(r); i++) {
        if (f->elem == KAFKA_T_STRUCT)
            decode_struct(f->child, x, r, items + i * size);
        else
            decode_value(f->elem, false, x->flex, r, items + i * size);
    }
    *(void **)member(s, f->offset) = items;
    *(int32_t *)member(s, f->count) = (int32_t)n;
}

/* A nullable struct is preceded by a marker byte: -1 null, 1 present. */
static void decode_nullable_struct(const struct kafka_field *f, const struct dec *x,
                                   struct reader *r, void *s)
{
    int8_t marker = (int8_t)reader_u8(r);
    bool *present = member(s, f->count);
    if (marker == -1)
        *present = false;
    else if (marker == 1) {
        *present = true;
        decode_struct(f->child, x, r, member(s, f->offset));
    } else
        reader_fail(r, -EBADMSG);
}

static void decode_field(const struct kafka_field *f, const struct dec *x, struct reader *r,
                         void *s)
{
    if (f->type == KAFKA_T_ARRAY)
        decode_array(f, x, r, s);
    else if (f->type == KAFKA_T_STRUCT && in_versions(f->nullable, x->v))
        decode_nullable_struct(f, x, r, s);
    else if (f->type == KAFKA_T_STRUCT)
        decode_struct(f->child, x, r, member(s, f->offset));
    else
        decode_value(f->type, in_versions(f->nullable, x->v), x->flex, r, member(s, f->offset));
}

static const struct kafka_field *find_tag(const struct kafka_struct_desc *d, uint32_t tag,
                                          int16_t v)
{
    for (uint16_t i = 0; i < d->n_fields; i++) {
        const struct kafka_field *f = &d->fields[i];
        if (in_versions(f->tagged, v) && f->tag == tag)
            return &d->fields[i];
    }
    return NULL;
}

/* A tagged-field section: known tags fill their fields, unknown ones are skipped. */
static void decode_tags(const struct kafka_struct_desc *d, const struct dec *x, struct reader *r,
                        void *s)
{
    uint32_t n = reader_uvarint(r);
    for (uint32_t i = 0; i < n && reader_ok(r); i++) {
        uint32_t tag = reader_uvarint(r);
        struct reader sub = reader_sub(r, reader_uvarint(r));
        const struct kafka_field *f = find_tag(d, tag, x->v);
        if (!f || !reader_ok(r))
            continue;
        decode_field(f, x, &sub, s);
        if (reader_ok(&sub) && reader_left(&sub))
            reader_fail(&sub, -EBADMSG); /* the value did not fill its size */
        if (!reader_ok(&sub))
            reader_fail(r, sub.err);
    }
}

static void decode_struct(const struct kafka_struct_desc *d, const struct dec *x, struct reader *r,
                          void *s)
{
    kafka_init(d, s);
    for (uint16_t i = 0; i < d->n_fields && reader_ok(r); i++) {
        const struct kafka_field *f = &d->fields[i];
        if (in_versions(f->versions, x->v) && !in_versions(f->tagged, x->v))
            decode_field(f, x, r, s);
    }
    if (x->flex)
        decode_tags(d, x, r, s);
}

int kafka_decode(const struct kafka_struct_desc *d, int16_t version, struct reader *r,
                 struct arena *a, void *out)
{
    if (version < 0 || version > KAFKA_MAX_VERSION)
        return -ENOTSUP;
    struct dec x = {a, version, is_flexible(d, version)};
    decode_struct(d, &x, r, out);
    return r->err;
}

/* --- encoding ----------------------------------------------------------------------------- */

struct enc {
    struct kafka_out *o; /* output */
    int16_t v;           /* message version */
    bool flex;           /* v is a flexible version */
    int err;             /* first error in the struct being encoded (sticky) */
};

static void enc_fail(struct enc *e, int err)
{
    if (!e->err)
        e->err = err;
}

/* The prefix read_len() reads; n may be -1 (null). */
static void write_len(struct enc *e, int64_t n, bool wide)
{
    if (e->flex)
        writer_uvarint(&e->o->w, (uint32_t)(n + 1));
    else if (wide)
        writer_be32(&e->o->w, (uint32_t)(int32_t)n);
    else
        writer_be16(&e->o->w, (uint16_t)(int16_t)n);
}

/* A length-prefixed run; len -1 is null. */
static void write_blob(struct enc *e, const void *p, int64_t len, bool wide, int64_t max,
                       bool nullable)
{
    if (len < -1 || len > max || (len == -1 && !nullable) || (len > 0 && !p)) {
        enc_fail(e, -EINVAL);
        return;
    }
    write_len(e, len, wide);
    if (len > 0)
        writer_bytes(&e->o->w, p, (size_t)len);
}

static void encode_records(struct enc *e, const struct krecords *rec, bool nullable)
{
    if (rec->p || rec->fd < 0 || rec->len <= 0) {
        write_blob(e, rec->p, rec->len, true, INT32_MAX, nullable);
        return;
    }
    if (rec->len > INT32_MAX) {
        enc_fail(e, -EINVAL);
        return;
    }
    write_len(e, rec->len, true);
    if (writer_ok(&e->o->w) && out_splice(e->o, rec->fd, rec->file_off, rec->len))
        enc_fail(e, -ENOMEM);
}

static void encode_value(uint8_t type, bool nullable, struct enc *e, const void *p)
{
    struct writer *w = &e->o->w;
    const struct kstr *str = p;
    const struct kbytes *b = p;
    switch (type) {
    case KAFKA_T_BOOL: writer_u8(w, *(const bool *)p ? 1 : 0); break;
    case KAFKA_T_INT8: writer_u8(w, (uint8_t)(*(const int8_t *)p)); break;
    case KAFKA_T_INT16: writer_be16(w, (uint16_t)(*(const int16_t *)p)); break;
    case KAFKA_T_INT32: writer_be32(w, (uint32_t)(*(const int32_t *)p)); break;
    case KAFKA_T_INT64: writer_be64(w, (uint64_t)(*(const int64_t *)p)); break;
    case KAFKA_T_FLOAT64: writer_f64(w, *(const double *)p); break;
    case KAFKA_T_UUID: writer_bytes(w, p, 16); break;
    case KAFKA_T_STRING: write_blob(e, str->p, str->len, false, INT16_MAX, nullable); break;
    case KAFKA_T_BYTES: write_blob(e, b->p, b->len, true, INT32_MAX, nullable); break;
    case KAFKA_T_RECORDS: encode_records(e, p, nullable); break;
    }
}

static void encode_struct(const struct kafka_struct_desc *d, struct enc *e, const void *s);

static void encode_array(const struct kafka_field *f, struct enc *e, const void *s)
{
    const char *items = *(const void *const *)cmember(s, f->offset);
    int32_t n = *(const int32_t *)cmember(s, f->count);
    if (n < -1 || (n == -1 && !in_versions(f->nullable, e->v)) || (n > 0 && !items)) {
        enc_fail(e, -EINVAL);
        return;
    }
    write_len(e, n, true);
    size_t size = elem_size(f);
    for (int32_t i = 0; i < n && !e->err && writer_ok(&e->o->w); i++) {
        if (f->elem == KAFKA_T_STRUCT)
            encode_struct(f->child, e, items + (size_t)i * size);
        else
            encode_value(f->elem, false, e, items + (size_t)i * size);
    }
}

static void encode_field(const struct kafka_field *f, struct enc *e, const void *s)
{
    if (f->type == KAFKA_T_ARRAY)
        encode_array(f, e, s);
    else if (f->type == KAFKA_T_STRUCT && in_versions(f->nullable, e->v)) {
        bool present = *(const bool *)cmember(s, f->count);
        writer_u8(&e->o->w, present ? 1 : 0xff);
        if (present)
            encode_struct(f->child, e, cmember(s, f->offset));
    } else if (f->type == KAFKA_T_STRUCT)
        encode_struct(f->child, e, cmember(s, f->offset));
    else
        encode_value(f->type, in_versions(f->nullable, e->v), e, cmember(s, f->offset));
}

/* One tagged field: tag, size, value. The value is encoded first, then moved right
 * to make room for its size, whose varint length is only known then. */
static void encode_tagged(const struct kafka_field *f, struct enc *e, const void *s)
{
    struct writer *w = &e->o->w;
    size_t splices = e->o->n_splices;
    writer_uvarint(w, f->tag);
    size_t start = w->len;
    encode_field(f, e, s);
    if (e->err || !writer_ok(w))
        return;
    if (e->o->n_splices != splices) {
        enc_fail(e, -EINVAL); /* file bytes cannot sit inside a tagged field */
        return;
    }
    size_t len = w->len - start;
    if (len > UINT32_MAX) {
        enc_fail(e, -EINVAL);
        return;
    }
    uint8_t prefix[5];
    struct writer pw;
    writer_init_fixed(&pw, prefix, sizeof prefix);
    writer_uvarint(&pw, (uint32_t)len);
    if (writer_grow(w, pw.len))
        return; /* the writer keeps the error */
    memmove(w->buf + start + pw.len, w->buf + start, len);
    memcpy(w->buf + start, prefix, pw.len);
    w->len += pw.len;
}

static void encode_tags(const struct kafka_struct_desc *d, struct enc *e, const void *s)
{
    uint32_t n = 0;
    for (uint16_t i = 0; i < d->n_fields; i++) {
        const struct kafka_field *f = &d->fields[i];
        n += in_versions(f->tagged, e->v) && !is_default(f, s);
    }
    writer_uvarint(&e->o->w, n);
    for (uint16_t i = 0; i < d->n_fields && n; i++) {
        const struct kafka_field *f = &d->fields[i];
        if (in_versions(f->tagged, e->v) && !is_default(f, s))
            encode_tagged(f, e, s);
    }
}

static void encode_struct(const struct kafka_struct_desc *d, struct enc *e, const void *s)
{
    for (uint16_t i = 0; i < d->n_fields && !e->err; i++) {
        const struct kafka_field *f = &d->fields[i];
        if (in_versions(f->versions, e->v) && !in_versions(f->tagged, e->v))
            encode_field(f, e, s);
    }
    if (e->flex)
        encode_tags(d, e, s);
}

int kafka_encode(const struct kafka_struct_desc *d, int16_t version, const void *in,
                 struct kafka_out *out)
{
    if (version < 0 || version > KAFKA_MAX_VERSION)
        return -ENOTSUP;
    struct enc e = {out, version, is_flexible(d, version), 0};
    encode_struct(d, &e, in);
    return e.err ? e.err : out->w.err;
}

/* --- registry ------------------------------------------------------------------------ */

const struct kafka_api *kafka_api_find(int16_t key)
{
    for (size_t i = 0; i < KAFKA_API_COUNT; i++)
        if (kafka_apis[i].key == key)
            return &kafka_apis[i];
    return NULL;
}

bool kafka_api_supported(int16_t key, int16_t version)
{
    const struct kafka_api *api = kafka_api_find(key);
    return api && version >= api->min_version && version <= api->max_version;
}

/* --- frames and headers ------------------------------------------------------------- */

int kafka_frame(const void *p, size_t avail, size_t max, size_t *size)
{
    const uint8_t *b = p;
    *size = 0;
    if (avail < 4)
        return -EAGAIN;
    int32_t n = (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    if (n < 0)
        return -EBADMSG;
    *size = (size_t)n;
    if (*size > max)
        return -EMSGSIZE;
    return avail - 4 < *size ? -EAGAIN : 0;
}

int kafka_request_header_version(int16_t key, int16_t version)
{
    const struct kafka_api *api = kafka_api_find(key);
    if (api && api->flexible_version >= 0 && version >= api->flexible_version)
        return 2;
    return 1;
}

int kafka_response_header_version(int16_t key, int16_t version)
{
    if (key == KAFKA_API_API_VERSIONS)
        return 0; /* so that a client of any version can read the reply */
    return kafka_request_header_version(key, version) == 2 ? 1 : 0;
}

/* Skip a tagged-field section (headers define no tags brook uses). */
static void skip_tags(struct reader *r)
{
    uint32_t n = reader_uvarint(r);
    for (uint32_t i = 0; i < n && reader_ok(r); i++) {
        (void)reader_uvarint(r);
        reader_skip(r, reader_uvarint(r));
    }
}

int kafka_request_header_decode(struct reader *r, struct kafka_request_header *h)
{
    int64_t len;
    h->api_key = (int16_t)reader_be16(r);
    h->api_version = (int16_t)reader_be16(r);
    h->correlation_id = (int32_t)reader_be32(r);
    const uint8_t *id = read_blob(r, false, false, INT16_MAX, true, &len);
    h->client_id = (struct kstr){(const char *)id, (int32_t)(len < -1 ? -1 : len)};
    h->version = (int8_t)kafka_request_header_version(h->api_key, h->api_version);
    if (h->version == 2)
        skip_tags(r);
    return r->err;
}

int kafka_response_header_decode(int16_t key, int16_t version, struct reader *r,
                                 int32_t *correlation_id)
{
    *correlation_id = (int32_t)reader_be32(r);
    if (kafka_response_header_version(key, version) == 1)
        skip_tags(r);
    return r->err;
}

/* --- messages ---------------------------------------------------------------------- */

static int decode_body(const struct kafka_struct_desc *d, int16_t version, struct reader *r,
                       struct arena *a, void **body)
{
    void *s = arena_alloc(a, d->size);
    if (!s)
        return -ENOMEM;
    int rc = kafka_decode(d, version, r, a, s);
    if (rc == 0)
        *body = s;
    return rc;
}

int kafka_request_decode(int16_t key, int16_t version, struct reader *r, struct arena *a,
                         void **body)
{
    if (!kafka_api_supported(key, version))
        return -ENOTSUP;
    return decode_body(kafka_api_find(key)->request, version, r, a, body);
}

int kafka_response_decode(int16_t key, int16_t version, struct reader *r, struct arena *a,
                          void **body)
{
    if (!kafka_api_supported(key, version))
        return -ENOTSUP;
    return decode_body(kafka_api_find(key)->response, version, r, a, body);
}

/* Backpatch the size of the frame whose prefix is at start; spliced is o->spliced
 * as it was when the frame began. */
static int finish_frame(struct kafka_out *o, size_t start, int64_t spliced)
{
    if (!writer_ok(&o->w))
        return o->w.err;
    int64_t size = (int64_t)(o->w.len - start - 4) + (o->spliced - spliced);
    if (size > INT32_MAX)
        return -EMSGSIZE;
    writer_set_be32(&o->w, start, (uint32_t)size);
    return 0;
}

int kafka_response_encode(int16_t key, int16_t version, int32_t correlation_id, const void *body,
                          struct kafka_out *out)
{
    if (!kafka_api_supported(key, version))
        return -ENOTSUP;
    int64_t spliced = out->spliced;
    size_t start = writer_reserve(&out->w, 4);
    writer_be32(&out->w, (uint32_t)correlation_id);
    if (kafka_response_header_version(key, version) == 1)
        writer_uvarint(&out->w, 0); /* no tagged fields */
    int rc = kafka_encode(kafka_api_find(key)->response, version, body, out);
    return rc ? rc : finish_frame(out, start, spliced);
}

int kafka_request_encode(int16_t key, int16_t version, int32_t correlation_id,
                         struct kstr client_id, const void *body, struct kafka_out *out)
{
    if (!kafka_api_supported(key, version))
        return -ENOTSUP;
    if (client_id.len < -1 || client_id.len > INT16_MAX || (client_id.len > 0 && !client_id.p))
        return -EINVAL;
    int64_t spliced = out->spliced;
    size_t start = writer_reserve(&out->w, 4);
    writer_be16(&out->w, (uint16_t)key);
    writer_be16(&out->w, (uint16_t)version);
    writer_be32(&out->w, (uint32_t)correlation_id);
    writer_be16(&out->w, (uint16_t)(int16_t)client_id.len);
    if (client_id.len > 0)
        writer_bytes(&out->w, client_id.p, (size_t)client_id.len);
    if (kafka_request_header_version(key, version) == 2)
        writer_uvarint(&out->w, 0); /* no tagged fields */
    int rc = kafka_encode(kafka_api_find(key)->request, version, body, out);
    return rc ? rc : finish_frame(out, start, spliced);
}
