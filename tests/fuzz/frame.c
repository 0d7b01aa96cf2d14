/*
 * frame.c - fuzz the broker's path for the bytes of one connection: framing, the
 * request header, and the body of every frame whose header names an API and version
 * brook handles (broker/server.c and broker/dispatch.c do exactly this).
 *
 * Input: the bytes a client sends, so the seeds are captured requests as they were
 * on the wire (the requests in tests/data/kafka/). Frames are cut with kafka_frame(),
 * whose answer is checked against the rule it documents; each whole frame is copied
 * to a buffer of its exact size, so a read past its end is a sanitizer error rather
 * than a look at the next frame. A body that decodes is then encoded as a whole
 * request frame again (same header) and must decode to the same header and survive
 * the body fixpoint (fuzz_kafka.h); its records are framed and validated.
 */
#include "tests/fuzz/fuzz_kafka.h"

#define MAX_REQUEST (100u << 20) /* socket.request.max.bytes' default */

/* What kafka_frame() must answer, from its contract. */
static int frame_model(const uint8_t *p, size_t avail, size_t max)
{
    if (avail < 4)
        return -EAGAIN;
    uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (u & 0x80000000u)
        return -EBADMSG;
    if (u > max)
        return -EMSGSIZE;
    return avail - 4 < u ? -EAGAIN : 0;
}

/* Encode the request again with the header it came with and read it back. */
static void request_roundtrip(const struct kafka_request_header *h, const void *body)
{
    const struct kafka_api *api = kafka_api_find(h->api_key);
    struct kafka_out o;
    kafka_out_init(&o, FUZZ_OUT_MAX);
    int rc =
        kafka_request_encode(h->api_key, h->api_version, h->correlation_id, h->client_id, body, &o);
    FUZZ_CHECK(rc == 0);
    size_t size;
    FUZZ_CHECK(kafka_frame(o.w.buf, o.w.len, MAX_REQUEST, &size) == 0 && size + 4 == o.w.len);
    struct reader r;
    struct kafka_request_header h2;
    reader_init(&r, o.w.buf + 4, size);
    FUZZ_CHECK(kafka_request_header_decode(&r, &h2) == 0);
    FUZZ_CHECK(h2.api_key == h->api_key && h2.api_version == h->api_version &&
               h2.correlation_id == h->correlation_id && h2.version == h->version &&
               kstr_equal(h2.client_id, h->client_id));
    kafka_out_release(&o);
    fuzz_kafka_fixpoint(api->request, h->api_version, body);
}

/* One whole frame (after its size), in a buffer of exactly len bytes. */
static void frame_handle(const uint8_t *frame, size_t len)
{
    struct reader r;
    struct kafka_request_header h;
    reader_init(&r, frame, len);
    if (kafka_request_header_decode(&r, &h))
        return;
    FUZZ_CHECK(h.version == kafka_request_header_version(h.api_key, h.api_version));
    FUZZ_CHECK(h.client_id.len >= -1 &&
               (h.client_id.len <= 0 ||
                ((const uint8_t *)h.client_id.p >= frame &&
                 (const uint8_t *)h.client_id.p + h.client_id.len <= frame + len)));
    const struct kafka_api *api = kafka_api_find(h.api_key);
    if (!api || !kafka_api_supported(h.api_key, h.api_version)) {
        void *none = NULL;
        struct arena a;
        arena_init(&a, 1024);
        FUZZ_CHECK(kafka_request_decode(h.api_key, h.api_version, &r, &a, &none) == -ENOTSUP);
        arena_release(&a);
        return;
    }
    struct arena a;
    void *body = NULL;
    arena_init(&a, fuzz_arena_limit(len));
    int rc = kafka_request_decode(h.api_key, h.api_version, &r, &a, &body);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
    if (rc == 0) {
        fuzz_struct_walk(api->request, body, fuzz_records_check, NULL);
        request_roundtrip(&h, body);
    }
    arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        size_t n = 0;
        int rc = kafka_frame(data + off, size - off, MAX_REQUEST, &n);
        FUZZ_CHECK(rc == frame_model(data + off, size - off, MAX_REQUEST));
        if (rc)
            break;
        uint8_t *frame = fuzz_alloc(n);
        memcpy(frame, data + off + 4, n);
        frame_handle(frame, n);
        free(frame);
        off += 4 + n;
    }
    return 0;
}
