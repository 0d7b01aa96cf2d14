/*
 * seeds.c - write the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).
 *
 *   seeds kafka DATA_DIR OUT      captured client traffic (the .bin frames of tests/data/kafka/) ->
 *                                 frame/ (requests as sent, and runs of them as one
 *                                 stream), api_<name>/ (each body with its control
 *                                 byte), record/ (the batches inside Produce requests
 *                                 and Fetch responses)
 *   seeds record OUT              batches built with each codec, in every mode of the
 *                                 record target
 *   seeds segment PART_DIR OUT    the segments of a partition directory brookd wrote,
 *                                 trusted and scanned
 *   seeds names OUT               topic_name/, lines/, scram/ and sasl_server/: a few
 *                                 shapes by hand
 *   seeds fixtures OUT            api_<name>/: the bodies written out by hand for the
 *                                 codec tests (tests/unit/kafka_fixtures.c), every
 *                                 version each covers: the Kafka 4.0 versions and APIs
 *
 * OUT is the corpus root; files are named after what they hold, so running this again
 * overwrites rather than adds. tests/fuzz/make-seeds runs it all against a live
 * brookd. The input formats are described at the top of each target.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/fileio.h"
#include "lib/writer.h"
#include "proto/kafka.h"
#include "proto/record.h"
#include "tests/unit/kafka_fixtures.h"

#define MAX_FILE   (1u << 20)
#define MAX_SEED   (64u << 10) /* the segment target's be16 lengths */
#define SEED_TS    1700000000000LL
#define NAME_BYTES 512

static const char *out_root;
static int written;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "seeds: %s: %s\n", what, detail);
    exit(1);
}

/* Write OUT/<target>/<name>. */
static void seed_put(const char *target, const char *name, const void *p, size_t n)
{
    char path[NAME_BYTES * 3];
    snprintf(path, sizeof path, "%s/%s", out_root, target);
    if (dir_make(path))
        die("mkdir", path);
    snprintf(path, sizeof path, "%s/%s/%s", out_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
        die("write", path);
    written++;
}

/* A seed of one control byte then n bytes. */
static void seed_put_ctl(const char *target, const char *name, uint8_t ctl, const void *p, size_t n)
{
    uint8_t *buf = malloc(n + 1);
    if (!buf)
        die("out of memory", name);
    buf[0] = ctl;
    if (n)
        memcpy(buf + 1, p, n);
    seed_put(target, name, buf, n + 1);
    free(buf);
}

static char *read_file(const char *path, size_t *len)
{
    char *data;
    if (file_read_all(path, MAX_FILE, &data, len))
        die("read", path);
    return data;
}

/* ---- kafka: captured traffic ---- */

/* "kafka_<snake>_req" -> "<snake>" */
static void api_snake(const struct kafka_api *api, char *out, size_t size)
{
    const char *n = api->request->name + strlen("kafka_");
    size_t len = strlen(n) - strlen("_req");
    snprintf(out, size, "%.*s", (int)len, n);
}

static const struct kafka_api *api_by_snake(const char *snake, size_t len)
{
    char s[64];
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        api_snake(&kafka_apis[i], s, sizeof s);
        if (strlen(s) == len && !strncmp(s, snake, len))
            return &kafka_apis[i];
    }
    return NULL;
}

struct batch_seeds {
    const char *name;
    int n;
};

/* Each batch of a records field becomes a record seed (mode 0). */
static void batches_put(const struct krecords *rec, void *arg)
{
    struct batch_seeds *bs = arg;
    size_t off = 0, size;
    if (!rec->p || rec->len <= 0)
        return;
    while (off < (size_t)rec->len &&
           batch_frame(rec->p + off, (size_t)rec->len - off, (size_t)rec->len - off, &size) == 0) {
        char name[NAME_BYTES];
        snprintf(name, sizeof name, "%s-batch-%d", bs->name, ++bs->n);
        seed_put_ctl("record", name, 0, rec->p + off, size);
        off += size;
    }
}

static void records_walk(const struct kafka_struct_desc *d, const void *s, struct batch_seeds *bs)
{
    for (uint16_t i = 0; i < d->n_fields; i++) {
        const struct kafka_field *f = &d->fields[i];
        const char *m = (const char *)s + f->offset;
        if (f->type == KAFKA_T_RECORDS) {
            batches_put((const struct krecords *)m, bs);
        } else if (f->type == KAFKA_T_STRUCT) {
            records_walk(f->child, m, bs);
        } else if (f->type == KAFKA_T_ARRAY && f->elem == KAFKA_T_STRUCT) {
            const char *items = *(const char *const *)m;
            int32_t n = *(const int32_t *)((const char *)s + f->count);
            for (int32_t k = 0; k < n; k++)
                records_walk(f->child, items + (size_t)k * f->child->size, bs);
        }
    }
}

/* One captured frame "<api>-v<N>-req|resp-<k>.bin". */
static void kafka_one(const char *dir, const char *file, struct writer *stream)
{
    const char *v = strstr(file, "-v");
    const struct kafka_api *api = v ? api_by_snake(file, (size_t)(v - file)) : NULL;
    bool resp = strstr(file, "-resp-") != NULL;
    if (!api)
        return;
    int16_t version = (int16_t)atoi(v + 2);
    char path[NAME_BYTES * 2], name[NAME_BYTES], target[80];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
    size_t len;
    char *data = read_file(path, &len);
    size_t size;
    if (kafka_frame(data, len, MAX_FILE, &size) || size + 4 != len)
        die("not one whole frame", path);
    struct reader r;
    reader_init(&r, data + 4, size);
    int32_t corr;
    struct kafka_request_header h;
    int rc = resp ? kafka_response_header_decode(api->key, version, &r, &corr)
                  : kafka_request_header_decode(&r, &h);
    if (rc)
        die("bad header", path);
    if (!resp) {
        seed_put("frame", name, data, len);
        writer_bytes(stream, data, len);
    }
    if (version >= api->min_version && version <= api->max_version) {
        api_snake(api, target, sizeof target);
        char dirname[96];
        snprintf(dirname, sizeof dirname, "api_%s", target);
        uint8_t ctl = (uint8_t)((version - api->min_version) | (resp ? 0x80 : 0));
        seed_put_ctl(dirname, name, ctl, r.p + r.off, reader_left(&r));
        /* the batches inside */
        struct arena a;
        void *body;
        arena_init(&a, 64u << 20);
        rc = resp ? kafka_response_decode(api->key, version, &r, &a, &body)
                  : kafka_request_decode(api->key, version, &r, &a, &body);
        if (rc == 0) {
            struct batch_seeds bs = {name, 0};
            records_walk(resp ? api->response : api->request, body, &bs);
        }
        arena_release(&a);
    }
    free(data);
}

/* Every api's request and response with every field at its default, encoded at the
 * lowest, the first flexible and the highest version brook handles: shapes of the
 * versions no capture shows (DeleteRecords has no capture at all). */
static void seeds_defaults(void)
{
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        const struct kafka_api *api = &kafka_apis[i];
        int16_t vs[3] = {api->min_version, api->flexible_version, api->max_version};
        char snake[64], target[96], name[64];
        api_snake(api, snake, sizeof snake);
        snprintf(target, sizeof target, "api_%s", snake);
        for (int k = 0; k < 3; k++) {
            if (vs[k] < api->min_version || vs[k] > api->max_version ||
                (k > 0 && vs[k] == vs[k - 1]))
                continue;
            for (int resp = 0; resp < 2; resp++) {
                const struct kafka_struct_desc *d = resp ? api->response : api->request;
                struct kafka_out o;
                void *body = calloc(1, d->size);
                if (!body)
                    die("out of memory", snake);
                kafka_init(d, body);
                kafka_out_init(&o, 1u << 20);
                if (kafka_encode(d, vs[k], body, &o))
                    die("encode a default message", d->name);
                snprintf(name, sizeof name, "default-v%d-%s", vs[k], resp ? "resp" : "req");
                seed_put_ctl(target, name,
                             (uint8_t)((vs[k] - api->min_version) | (resp ? 0x80 : 0)), o.w.buf,
                             o.w.len);
                kafka_out_release(&o);
                free(body);
            }
        }
    }
}

/* The hand-written bodies of the codec tests, each at every version it covers. */
static void seeds_fixtures(void)
{
    static uint8_t body[MAX_SEED];
    for (size_t i = 0; i < n_kafka_fixtures; i++) {
        const struct kafka_fixture *f = &kafka_fixtures[i];
        const struct kafka_api *api = kafka_api_find(f->key);
        if (!api)
            die("a fixture of an unknown api", "kafka_fixtures.c");
        char snake[64], target[96], name[64];
        api_snake(api, snake, sizeof snake);
        snprintf(target, sizeof target, "api_%s", snake);
        for (int16_t v = f->vmin; v <= f->vmax; v++) {
            size_t len;
            const char *bad;
            if (kafka_fixture_write(f->wire, v, body, sizeof body, &len, &bad))
                die("a fixture does not write", bad);
            int k = 0; /* the earlier fixtures of this api, version and direction */
            for (size_t j = 0; j < i; j++)
                k += kafka_fixtures[j].key == f->key && kafka_fixtures[j].request == f->request &&
                     v >= kafka_fixtures[j].vmin && v <= kafka_fixtures[j].vmax;
            snprintf(name, sizeof name, "fixture-v%d-%s-%d", v, f->request ? "req" : "resp", k);
            seed_put_ctl(target, name, (uint8_t)((v - api->min_version) | (f->request ? 0 : 0x80)),
                         body, len);
        }
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir ending in ext, sorted (caller frees each and the array). */
static char **list_dir(const char *dir, const char *ext, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        die("opendir", dir);
    char **v = NULL;
    struct dirent *e;
    *n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= strlen(ext) || strcmp(e->d_name + l - strlen(ext), ext))
            continue;
        v = realloc(v, (*n + 1) * sizeof *v);
        if (!v || !(v[*n] = strdup(e->d_name)))
            die("out of memory", dir);
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_names);
    return v;
}

static void seeds_kafka(const char *dir)
{
    size_t n;
    char **files = list_dir(dir, ".bin", &n);
    struct writer stream;
    writer_init(&stream, MAX_SEED);
    int runs = 0;
    for (size_t i = 0; i < n; i++) {
        size_t before = stream.len;
        kafka_one(dir, files[i], &stream);
        /* runs of a few requests as one connection's stream */
        if (stream.len > before && (stream.len > 4096 || i + 1 == n)) {
            char name[32];
            snprintf(name, sizeof name, "stream-%d", ++runs);
            seed_put("frame", name, stream.buf, stream.len);
            writer_reset(&stream);
        }
        free(files[i]);
    }
    free(files);
    writer_release(&stream);
    seeds_defaults();
}

/* ---- record: built batches ---- */

static void add_records(struct batch_builder *b, bool gaps)
{
    static const struct record_header hs[] = {
        {(const uint8_t *)"trace", 5, (const uint8_t *)"abc123", 6},
        {(const uint8_t *)"empty", 5, NULL, -1},
    };
    char value[200];
    for (int i = 0; i < 6; i++) {
        int n =
            snprintf(value, sizeof value, "value %d: the quick brown fox, the quick brown fox", i);
        const char *key = i % 3 == 1 ? NULL : (i % 2 ? "k-odd" : "k-even");
        int32_t klen = key ? (int32_t)strlen(key) : -1;
        int32_t vlen = i == 4 ? -1 : n; /* a tombstone */
        int32_t delta = gaps ? i * 3 : i;
        if (batch_builder_add_at(b, delta, SEED_TS + i * 7 - (i == 2 ? 50 : 0), key, klen,
                                 vlen < 0 ? NULL : value, vlen, i % 2 ? hs : NULL, i % 2 ? 2 : 0))
            die("batch_builder_add_at", "failed");
    }
}

static void seeds_record(void)
{
    static const char *const shapes[] = {"plain", "gaps", "idempotent", "log-append-time"};
    for (int codec = CODEC_NONE; codec <= CODEC_ZSTD; codec++) {
        for (int s = 0; s < 4; s++) {
            struct batch_builder b;
            struct writer out;
            char name[64];
            batch_builder_init(&b, (enum codec)codec, 1u << 20);
            if (s == 2) {
                b.producer_id = 4242;
                b.producer_epoch = 3;
                b.base_sequence = 17;
            }
            if (s == 3)
                b.attributes = BATCH_ATTR_LOG_APPEND_TIME;
            b.leader_epoch = 0;
            add_records(&b, s == 1);
            writer_init(&out, 1u << 20);
            if (batch_builder_finish(&b, -1, &out))
                die("batch_builder_finish", codec_name(codec));
            batch_set_base_offset(out.buf, 1000);
            const char *cn = codec_name(codec);
            uint8_t gap = s == 1 ? 4 : 0;
            snprintf(name, sizeof name, "built-%s-%s", cn, shapes[s]);
            seed_put_ctl("record", name, gap, out.buf, out.len);
            if (s == 0) {
                /* mode 1: the target fixes length and CRC */
                snprintf(name, sizeof name, "sealed-%s", cn);
                seed_put_ctl("record", name, 1, out.buf, out.len);
                /* mode 2: the records section, for the target to compress */
                struct writer w;
                writer_init(&w, 1u << 20);
                writer_be32(&w, (uint32_t)b.count);
                writer_be32(&w, (uint32_t)(b.count - 1));
                writer_u8(&w, 0);
                writer_bytes(&w, b.records.buf, b.records.len);
                snprintf(name, sizeof name, "wrap-%s", cn);
                seed_put_ctl("record", name, (uint8_t)(2 | codec << 3), w.buf, w.len);
                /* mode 3: the compressed stream alone */
                writer_reset(&w);
                writer_u8(&w, (uint8_t)codec);
                writer_be16(&w, 64);
                writer_bytes(&w, out.buf + BATCH_HEADER_SIZE, out.len - BATCH_HEADER_SIZE);
                snprintf(name, sizeof name, "stream-%s", cn);
                seed_put_ctl("record", name, 3, w.buf, w.len);
                writer_release(&w);
            }
            writer_release(&out);
            batch_builder_release(&b);
        }
    }
}

/* ---- segment: what brookd wrote ---- */

static void seeds_segment(const char *dir)
{
    size_t n;
    char **logs = list_dir(dir, ".log", &n);
    const char *part = strrchr(dir, '/');
    part = part ? part + 1 : dir;
    for (size_t i = 0; i < n; i++) {
        char path[NAME_BYTES * 2], name[NAME_BYTES], *data[3] = {0};
        size_t len[3] = {0};
        static const char *const ext[] = {".log", ".index", ".timeindex"};
        long long base = atoll(logs[i]);
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/%.20s%s", dir, logs[i], ext[k]);
            if (file_read_all(path, MAX_FILE, &data[k], &len[k]))
                len[k] = 0;
        }
        if (len[0] > 0xffff || len[1] > 0xffff || base > UINT32_MAX)
            die("segment too large for a seed (use small log.internal.segment.bytes)", logs[i]);
        static const uint8_t flags[] = {0x00, 0x01, 0x05, 0x13};
        static const char *const what[] = {"trusted", "scan", "scan-epoch", "scan-gaps-crc"};
        for (int f = 0; f < 4; f++) {
            struct writer w;
            writer_init(&w, 1u << 20);
            writer_u8(&w, flags[f]);
            writer_u8(&w, 512 / 64); /* index interval 512 bytes */
            writer_be32(&w, (uint32_t)base);
            writer_be16(&w, (uint16_t)len[0]);
            writer_bytes(&w, data[0], len[0]);
            writer_be16(&w, (uint16_t)len[1]);
            writer_bytes(&w, data[1], len[1]);
            writer_bytes(&w, data[2], len[2]);
            snprintf(name, sizeof name, "%s-%.20s-%s", part, logs[i], what[f]);
            seed_put("segment", name, w.buf, w.len);
            writer_release(&w);
        }
        for (int k = 0; k < 3; k++)
            free(data[k]);
        free(logs[i]);
    }
    free(logs);
}

/* ---- names and lines: by hand ---- */

/* scram/: RFC 7677's four messages; sasl_server/: a mechanism byte, then messages
 * each after a big-endian 16-bit length (tests/fuzz/sasl_server.c). */
static void seeds_sasl(void)
{
    static const char *const scram[] = {
        "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
         "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        "e=invalid-proof",
        "y,a=a=2Cb,n=a=2Cb,r=xyz,tokenauth=true",
    };
    for (size_t i = 0; i < sizeof scram / sizeof *scram; i++) {
        char name[32];
        snprintf(name, sizeof name, "rfc-%zu", i);
        seed_put("scram", name, scram[i], strlen(scram[i]));
    }
    static const struct {
        uint8_t mech;
        const char *msg[2];
        size_t len[2];
    } sasl[] = {
        {0, {"\0admin\0secret"}, {13}},
        {0, {"admin\0admin\0wrong"}, {17}},
        {1,
         {"n,,n=admin,r=abcdef",
          "c=biws,r=abcdefXYZ,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="},
         {19, 65}},
        {2, {"n,,n=nobody,r=abc"}, {17}},
    };
    for (size_t i = 0; i < sizeof sasl / sizeof *sasl; i++) {
        struct writer w;
        char name[32];
        writer_init(&w, 4096);
        writer_u8(&w, sasl[i].mech);
        for (int k = 0; k < 2 && sasl[i].msg[k]; k++) {
            writer_be16(&w, (uint16_t)sasl[i].len[k]);
            writer_bytes(&w, sasl[i].msg[k], sasl[i].len[k]);
        }
        snprintf(name, sizeof name, "exchange-%zu", i);
        seed_put("sasl_server", name, w.buf, w.len);
        writer_release(&w);
    }
}

static void seeds_names(void)
{
    static const char *const names[] = {
        "orders",
        "orders-0",
        "orders-12",
        "a.b_c-D9",
        "...",
        "..",
        "x-007",
        "x--1",
        "00000000000000000042.log",
        "00000000000000001000.timeindex",
        "09223372036854775807.index",
        "00000000000000000000.log.swap",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char name[32];
        snprintf(name, sizeof name, "name-%zu", i);
        seed_put("topic_name", name, names[i], strlen(names[i]));
    }
    seeds_sasl();
    /* lines: limit, calls, call lengths, text */
    static const struct {
        uint8_t limit, k;
        uint8_t calls[4];
        const char *text;
    } lines[] = {
        {0x80, 1, {0}, "one\ntwo\nthree\n"},
        {0x80, 3, {5, 7, 0}, "partial lines across calls\nand a tail"},
        {8, 3, {3, 0x84, 0}, "ok\nthis one is far too long\nshort\n"},
        {16, 2, {0x8a, 0}, "a\nbb\nccc\ndddd\neeeee\n"},
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        struct writer w;
        char name[32];
        writer_init(&w, 4096);
        writer_u8(&w, lines[i].limit);
        writer_u8(&w, (uint8_t)(lines[i].k - 1));
        writer_bytes(&w, lines[i].calls, lines[i].k);
        writer_bytes(&w, lines[i].text, strlen(lines[i].text));
        snprintf(name, sizeof name, "lines-%zu", i);
        seed_put("lines", name, w.buf, w.len);
        writer_release(&w);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage", "seeds kafka DATA_DIR OUT | record OUT | segment PART_DIR OUT | names OUT | "
                     "fixtures OUT");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "kafka") && argc == 4) {
        out_root = argv[3];
        seeds_kafka(argv[2]);
    } else if (!strcmp(cmd, "segment") && argc == 4) {
        out_root = argv[3];
        seeds_segment(argv[2]);
    } else if (!strcmp(cmd, "record") && argc == 3) {
        out_root = argv[2];
        seeds_record();
    } else if (!strcmp(cmd, "names") && argc == 3) {
        out_root = argv[2];
        seeds_names();
    } else if (!strcmp(cmd, "fixtures") && argc == 3) {
        out_root = argv[2];
        seeds_fixtures();
    } else {
        die("usage", "seeds kafka DATA_DIR OUT | record OUT | segment PART_DIR OUT | names OUT | "
                     "fixtures OUT");
    }
    printf("seeds %s: %d files\n", cmd, written);
    return 0;
}
