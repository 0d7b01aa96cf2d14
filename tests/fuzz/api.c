/*
 * api.c - fuzz one Kafka API's message bodies (built once per API, -DFUZZ_API=key).
 *
 * Input: one control byte, then a message body (what follows the header in a frame).
 *   bits 0-6  the version: min_version + (bits % the number of versions brook handles)
 *   bit 7     decode it as a response (the client's side) instead of a request
 * A body that decodes must survive the encode/decode fixpoint (fuzz_kafka.h), and its
 * records fields are framed and validated as the broker and the client do.
 *
 * Seeds are the bodies of real client traffic (tests/data/kafka/, cut by
 * tests/fuzz/seeds.c): requests and responses of kcat, librdkafka and kafka-python;
 * every api's default message; and the codec tests' hand-written bodies
 * (tests/unit/kafka_fixtures.c), which alone show the Kafka 4.0 versions and APIs.
 * The make-test run (tests/fuzz/short.sh) fuzzes every api target, new ones too.
 */
#include "tests/fuzz/fuzz_kafka.h"

#ifndef FUZZ_API
#error "build with -DFUZZ_API=KAFKA_API_<NAME>"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct kafka_api *api = kafka_api_find(FUZZ_API);
    FUZZ_CHECK(api != NULL);
    if (size < 1)
        return 0;
    int range = api->max_version - api->min_version + 1;
    int16_t v = (int16_t)(api->min_version + (data[0] & 0x7f) % range);
    bool response = data[0] & 0x80;
    const struct kafka_struct_desc *d = response ? api->response : api->request;

    struct arena a;
    struct reader r;
    void *body = NULL;
    arena_init(&a, fuzz_arena_limit(size - 1));
    reader_init(&r, data + 1, size - 1);
    int rc = response ? kafka_response_decode(api->key, v, &r, &a, &body)
                      : kafka_request_decode(api->key, v, &r, &a, &body);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
    FUZZ_CHECK(a.used <= a.limit);
    if (rc == 0) {
        FUZZ_CHECK(body != NULL);
        fuzz_struct_walk(d, body, fuzz_records_check, NULL);
        fuzz_kafka_fixpoint(d, v, body);
    }
    arena_release(&a);
    return 0;
}
