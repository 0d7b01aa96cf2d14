/*
 * partition_meta.c - the `partition.metadata` file in each partition directory.
 *
 * Kafka writes one per partition, naming the topic id the directory belongs to,
 * so that a directory left over from an earlier topic of the same name is never
 * taken for the current one. brook's own record of a topic's id is
 * .topics/<id>.properties; it writes the same file as well, so that Kafka's tools
 * read the ids of a brook log directory and brook keeps the ids of a Kafka one it
 * adopts.
 *
 * Its bytes are synced before the file takes its name (a temporary file, fsync,
 * rename), so that whatever a power failure leaves under the name is whole: bytes
 * written but never synced may come back changed, and a changed id would look like
 * another topic's. A new partition's directory is synced by its creator, which
 * saves the directory sync here; a missing file is written again at the next start.
 *
 * Format (Kafka's, text): "version: 0\ntopic_id: <id>\n", the id in base64url
 * without padding (22 characters), as Kafka's Uuid prints it. A file that does
 * not parse is answered -EBADMSG; the caller decides (rewrite it from the topic's
 * own record, or refuse a directory whose id is another topic's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fileio.h"
#include "lib/sysio.h"
#include "store/private.h"

#define META_NAME "partition.metadata"
#define ID_CHARS  22 /* 16 bytes in base64 without padding */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void id_encode(const uint8_t id[16], char out[ID_CHARS + 1])
{
    uint32_t acc = 0;
    int bits = 0, k = 0;
    for (int i = 0; i < 16; i++) {
        acc = acc << 8 | id[i];
        for (bits += 8; bits >= 6; bits -= 6)
            out[k++] = b64url[(acc >> (bits - 6)) & 63];
    }
    out[k++] = b64url[(acc << (6 - bits)) & 63]; /* the last 2 bits, padded with 0 */
    out[k] = 0;
}

static int id_decode(const char *s, uint8_t id[16])
{
    uint32_t acc = 0;
    int bits = 0, k = 0;
    for (int i = 0; i < ID_CHARS; i++) {
        const char *c = s[i] ? strchr(b64url, s[i]) : NULL;
        if (!c)
            return -EBADMSG;
        acc = acc << 6 | (uint32_t)(c - b64url);
        if ((bits += 6) >= 8 && k < 16) {
            bits -= 8;
            id[k++] = (uint8_t)(acc >> bits);
        }
    }
    return k == 16 && (acc & ((1u << bits) - 1)) == 0 ? 0 : -EBADMSG;
}

static int meta_path(char *buf, size_t size, const char *dir)
{
    int n = snprintf(buf, size, "%s/" META_NAME, dir);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The file's text for id, into text (64 bytes); its length. */
static size_t meta_text(const uint8_t id[16], char text[64])
{
    char enc[ID_CHARS + 1];
    id_encode(id, enc);
    return (size_t)snprintf(text, 64, "version: 0\ntopic_id: %s\n", enc);
}

int partition_meta_write(const char *dir, const uint8_t id[16])
{
    char path[4096], text[64];
    int rc = meta_path(path, sizeof path, dir);
    if (rc)
        return rc;
    return file_write_atomic(path, text, meta_text(id, text));
}

int partition_meta_create(const char *dir, const uint8_t id[16])
{
    char path[4096], tmp[4200], text[64];
    int rc = meta_path(path, sizeof path, dir);
    if (rc)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = sysio.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -errno;
    rc = file_pwrite_all(fd, text, meta_text(id, text), 0);
    if (!rc && sysio.fsync(fd))
        rc = -errno;
    sysio.close(fd);
    if (!rc && sysio.rename(tmp, path))
        rc = -errno;
    if (rc)
        sysio.unlink(tmp);
    return rc;
}

int partition_meta_read(const char *dir, uint8_t id[16])
{
    char path[4096], *text = NULL;
    size_t len;
    int rc = meta_path(path, sizeof path, dir);
    if (!rc)
        rc = file_read_all(path, 4096, &text, &len);
    if (rc)
        return rc == -EFBIG ? -EBADMSG : rc;
    const char *p = strstr(text, "topic_id: ");
    rc = strncmp(text, "version: 0\n", 11) || !p ? -EBADMSG : id_decode(p + 10, id);
    if (!rc && p[10 + ID_CHARS] != '\n' && p[10 + ID_CHARS] != 0)
        rc = -EBADMSG;
    free(text);
    return rc;
}

int partition_meta_check(const char *dir, const uint8_t id[16])
{
    uint8_t found[16];
    int rc = partition_meta_read(dir, found);
    if (rc == -ENOENT || rc == -EBADMSG) /* older brook, or damaged: ours is the record */
        return partition_meta_write(dir, id);
    if (rc)
        return rc;
    return memcmp(found, id, 16) ? STORE_ETOPIC_ID_MISMATCH : 0;
}
