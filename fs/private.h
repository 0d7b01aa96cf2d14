/*
 * private.h - fs/'s internal structures, shared by the fs/ sources and the unit
 * tests only.
 *
 *   fs.c        mount, session loop, teardown, the operation table
 *   inode.c     nodes: names <-> inode numbers, attributes, directory listings
 *   ops_node.c  namespace callbacks (lookup, create, unlink, readdir, statfs, ...)
 *   ops_file.c  file callbacks (open, read, write, flush, release, poll)
 *   stream.c    the store backend: a topic or partition stream at any byte position
 *   records.c   the store backend: the JSON lines of a partition's records file
 *   store_backend.c  the store as a backend (backend.h), declared in store_private.h
 *   render.c    pure helpers: UTF-8, base64, JSON, errno mapping
 *   write.c     line assembly and appending; durability waits for FLUSH
 *   notify.c    the notifier thread: invalidations, poll wake-ups, parked reads
 *
 * Locking, outermost first: handle.mu, notifier.mu, fs.mu; a backend's locks
 * (the store's, jindex.mu) are taken inside any of them. fuse_reply_* and fuse_lowlevel_notify_*
 * are never called with fs.mu held, and notify calls only from the notifier.
 */
#ifndef BROOK_FS_PRIVATE_H
#define BROOK_FS_PRIVATE_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/backend.h"
#include "fs/fs.h"
#include "lib/writer.h"
#include "proto/record.h"

#define FS_CHUNK_BYTES  (256u << 10) /* batches fetched from a partition at a time */
#define FS_CHUNKS       4            /* fetched runs a stream keeps, per partition */
#define FS_JBUF         64           /* journal entries a stream reads ahead */
#define FS_BLKSIZE      (1u << 20)   /* st_blksize of streams: cat then reads 1 MiB */
#define FS_EVENTS       256          /* distinct partitions queued for the notifier */
#define FS_GONE_NAMES   1024         /* cached names dropped per sweep, at most */
#define FS_SWEEP_MS     1000         /* how often the notifier looks for deleted topics */
#define FS_STOP_NAME    "brook:stop" /* never a topic (':' is not allowed) */
#define FS_BASE64_KEY   "base64"     /* {"base64": "..."} marks bytes that are not UTF-8 */
#define FS_SEGMENT_NAME 20           /* digits of a segment's base offset */
#define FS_PARTIAL_MAX  (64u << 20)  /* default budget of all partial lines */
#define FS_LINES_KEEP   (64u << 10)  /* a line buffer kept between lines, at most */

enum fs_kind {
    FS_ROOT,
    FS_TOPIC,   /* <topic>: all partitions in append order */
    FS_PDIR,    /* <topic>-<N>/ */
    FS_DATA,    /* <topic>-<N>/data */
    FS_FOLLOW,  /* <topic>-<N>/follow */
    FS_RECORDS, /* <topic>-<N>/records */
    FS_SEG_LOG, /* <topic>-<N>/<base>.log, .index, .timeindex */
    FS_SEG_INDEX,
    FS_SEG_TIMEINDEX,
};

/* An open file or directory, listed so that fs_stop() knows how many are still
 * open and can free those the kernel never released. First member of both. */
struct fs_open {
    struct fs_open *prev, *next;
    bool dir; /* a struct fs_dirlist, else a struct fs_handle */
};

/* ---- render.c: pure helpers ---- */

/* Whether n bytes at p are well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF). */
bool fs_utf8_valid(const uint8_t *p, size_t n);

/* Append the base64 (RFC 4648, padded) of n bytes at p to w. */
void fs_base64(struct writer *w, const uint8_t *p, size_t n);

/* Append bytes as JSON: null when p is NULL (len < 0), a string when they are
 * UTF-8, else {"base64":"..."}. */
void fs_json_bytes(struct writer *w, const uint8_t *p, int32_t len);

/* Append r as one JSON line (offset, timestamp, key, headers, value, "\n").
 * Returns 0 or w's error (-ENOMEM, -EMSGSIZE) or a header parse error. */
int fs_json_record(struct writer *w, const struct record *r);

/* Bytes of a batch holding one record with a null key and a value of len bytes. */
size_t fs_line_batch_size(size_t len);

/* The longest line that fits one batch of at most max_message_bytes. */
size_t fs_line_max(int64_t max_message_bytes);

/* The positive errno a FUSE reply gives for a store or proto error (see the
 * table in docs/fuse.md). */
int fs_errno(int rc);

/* ---- write.c: line assembly ---- */

/* Memory for partial lines, shared by every handle of a mount and charged by the
 * bytes each line buffer has allocated, so that writers holding lines without
 * their newline cannot together grow brookd past max bytes. */
struct fs_budget {
    size_t max;          /* fuse.partial.max.bytes */
    _Atomic size_t used; /* bytes charged now: handles write from any FUSE thread */
};

/* Charge n bytes to b: false, charging nothing, when that would pass b->max.
 * b may be NULL (nothing is accounted). */
bool fs_budget_charge(struct fs_budget *b, size_t n);
void fs_budget_release(struct fs_budget *b, size_t n);

/* One writer's partial line and the state of an overlong line being dropped. */
struct fs_lines {
    uint8_t *buf;             /* held bytes, then scratch to join them with the next piece */
    size_t len;               /* bytes held (the partial line) */
    size_t cap;               /* bytes allocated, all charged to budget */
    size_t max;               /* longest line allowed */
    bool discarding;          /* dropping the rest of an overlong line up to its newline */
    bool refused;             /* the last write failed (-ENOBUFS, -ENOMEM): the held line is
                                 not stored at release unless a later write succeeds */
    struct fs_budget *budget; /* shared; NULL: not accounted */
};

/* An empty assembler for lines of at most max bytes, charging budget (may be NULL). */
void fs_lines_init(struct fs_lines *l, size_t max, struct fs_budget *budget);
void fs_lines_release(struct fs_lines *l);

/*
 * Check one write() of n bytes before anything of it is stored. A write that
 * holds any byte of a line longer than max fails whole with -EFBIG: the held
 * partial line is dropped and, when the write does not end with a newline, the
 * rest of the line up to its newline is dropped by the next writes (which fail
 * the same way). Also reserves the scratch the next calls need, charged to the
 * budget: -ENOBUFS when the budget cannot cover it now (other handles hold the
 * memory; the write may be retried), -ENOMEM when malloc fails. Both leave the
 * held line as it was. 0 when the write may go on.
 */
int fs_lines_check(struct fs_lines *l, const uint8_t *in, size_t n);

/* The next complete line of a checked write, from *pos (0 first): returns 1 with
 * line and len set (the held bytes joined with the first piece; borrowed until the
 * next call) and *pos past its newline, or 0 when only a partial line is left. */
int fs_lines_next(struct fs_lines *l, const uint8_t *in, size_t n, size_t *pos,
                  const uint8_t **line, size_t *len);

/* After storing the lines that end before in[stored]: all says whether every
 * complete line was stored. Keeps the trailing partial line when all, and
 * returns the byte count to report to the writer (n, or stored when short). */
size_t fs_lines_done(struct fs_lines *l, const uint8_t *in, size_t n, size_t stored, bool all);

/* The held partial line for RELEASE: false when there is none, or when the last
 * write failed (the line would be stored cut short). Empties it. */
bool fs_lines_take(struct fs_lines *l, const uint8_t **line, size_t *len);

/* ---- inode.c: names ---- */

/* "<topic>-<N>": the length of <topic> (at least 1) and N, or false. N is written
 * as Kafka writes it: decimal, no sign, no leading zeros, at most 9 digits. */
bool fs_pdir_parse(const char *name, size_t *tlen, int32_t *partition);

/* "<20 digits>.log|.index|.timeindex": the base offset (at most INT64_MAX) and the
 * file kind, or false. */
bool fs_segment_name_parse(const char *name, int64_t *base, enum fs_kind *kind);

/* ---- inode.c: nodes ---- */

/* A topic as the view knows it: name and id, so a topic deleted and created
 * again under the same name gets new inodes. */
struct fs_tnode {
    char *name;
    uint8_t id[16];
    bool gone;            /* deleted (fs.mu) */
    _Atomic uint32_t rr;  /* partitioner's round-robin counter, any FUSE worker */
    size_t nodes;         /* nodes pointing here (fs.mu) */
    struct fs_node *head; /* those nodes (fs.mu) */
    int64_t *seg_max;     /* per partition: newest segment with a node, or -1 */
    int32_t nseg_max;
    void *cache; /* the backend's per-topic state (reader_open), cache_free'd */
    struct fs_tnode *next;
};

struct fs_node {
    uint64_t ino;
    enum fs_kind kind;
    struct fs_tnode *topic;     /* NULL for the root */
    int32_t partition;          /* -1 for the root and topic files */
    int64_t base;               /* segment base offset, else -1 */
    uint64_t nlookup;           /* kernel references (fs.mu) */
    struct fs_node *ino_next;   /* hash chain by inode number */
    struct fs_node *key_next;   /* hash chain by (topic, kind, partition, base) */
    struct fs_node *topic_next; /* the topic's nodes */
};

/* The topic and partition a node stands for, with a topic reference. */
struct fs_ref {
    const struct fs_backend *b;
    struct fs_btopic *t;
    int32_t partition; /* -1 for topic files */
};

struct fs_parked;
struct fs_handle;

/* ---- notify.c ---- */

struct fs_event {
    char topic[250];
    int32_t partition; /* -1: the topic is gone */
};

struct fs_notifier {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct fs_event q[FS_EVENTS];
    size_t nq;
    struct fs_event batch[FS_EVENTS]; /* the events being handled (thread only) */
    char *names[FS_GONE_NAMES];       /* names to drop (thread only) */
    bool overflow;                    /* events were lost: refresh everything */
    bool closing;                     /* fs_stop began: follow reads end instead of waiting */
    bool stopping;
    bool started;
    pthread_t thread;
    struct fs_parked *parked;  /* follow reads waiting for data */
    struct fs_parked *intr;    /* parked reads to answer EINTR */
    struct fs_handle *pollers; /* handles holding a poll handle */
    uint64_t pass;             /* serve_parked() passes (notifier thread) */
    int64_t last_sweep_ms;
};

struct fs {
    struct fs_backend b;
    void (*b_free)(void *be); /* frees b.be at fs_stop, when the view owns it */
    struct fs_options opt;
    char *mountpoint;
    struct fuse_session *se;
    pthread_t loop;
    bool loop_started;
    int root_fd; /* O_PATH of the mounted root while stopping, to wake the loop */
    uid_t uid;
    gid_t gid;
    int64_t start_ms;

    pthread_mutex_t mu; /* nodes and tnodes */
    struct fs_node root;
    struct fs_node **by_ino, **by_key;
    size_t nbuckets, nnodes;
    uint64_t next_ino;
    struct fs_tnode *tnodes;

    struct fs_notifier nt;
    struct fs_budget partial; /* every handle's partial lines */
    pthread_mutex_t flush_mu; /* FLUSH replies still owed by the flusher */
    pthread_cond_t flush_cond;
    int flushes;

    pthread_mutex_t open_mu; /* open files and directories */
    pthread_cond_t open_cond;
    struct fs_open opens; /* list head */
    size_t nopen;
};

/* Start a thread with every signal blocked, so signals stay with the caller's
 * threads. 0 or -errno (fs.c). */
int fs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* List o as open / no longer open (fs.c). */
void fs_open_add(struct fs *fs, struct fs_open *o, bool dir);
void fs_open_del(struct fs *fs, struct fs_open *o);

/* One open file. */
struct fs_handle {
    struct fs_open open; /* first: fs_stop frees it through the list */
    struct fs_node *node;
    struct fs_ref ref;
    pthread_mutex_t mu;
    bool writer;
    struct fs_breader *stream;  /* topic, data, follow */
    struct fs_breader *records; /* records */
    struct fs_lines lines;
    int64_t *durable; /* per partition: end offset appended, not yet waited for */
    int32_t ndurable;
    struct fuse_pollhandle *ph; /* notifier.mu */
    struct fs_handle *poll_next;
    bool polling;
};

int fs_nodes_init(struct fs *fs);
void fs_nodes_release(struct fs *fs);
/* The node of an inode number, or NULL. fs.mu not held. */
struct fs_node *fs_node_find(struct fs *fs, uint64_t ino);
/* The node for name in dir, created when the backend has it, with one more kernel
 * reference counted (the entry reply hands it over). -ENOENT, -ENOTDIR. */
int fs_node_lookup(struct fs *fs, struct fs_node *dir, const char *name, struct fs_node **out);
/* Drop count kernel references; the node may be freed. */
void fs_node_forget(struct fs *fs, struct fs_node *n, uint64_t count);
/* Resolve n to its live topic (and partition): 0 or -ENOENT. Put ref->t after. */
int fs_node_resolve(struct fs *fs, const struct fs_node *n, struct fs_ref *ref);
/* The topic info of a resolved reference. */
void fs_ref_info(const struct fs_ref *ref, struct fs_btopic_info *out);
void fs_ref_put(struct fs_ref *ref);
/* Attributes of n now. */
int fs_node_stat(struct fs *fs, const struct fs_node *n, struct stat *st);
/* Whether n belongs to an internal topic (the backend's name_internal): read-only. */
bool fs_node_internal(const struct fs *fs, const struct fs_node *n);
/* Whether n may be opened for writing: a topic file or data, not internal. */
bool fs_node_writable(const struct fs *fs, const struct fs_node *n);

/* A directory listing taken at opendir. */
struct fs_dirent {
    char *name;
    uint64_t ino;
    mode_t mode;
};
struct fs_dirlist {
    struct fs_open open; /* first, as in fs_handle */
    struct fs_dirent *v;
    size_t n, cap;
};
int fs_dir_list(struct fs *fs, struct fs_node *dir, struct fs_dirlist **out);
void fs_dir_free(struct fs_dirlist *d);

/* Mark the view's topic called name deleted (unless a topic of that name exists
 * again with the same id); its nodes go once the kernel forgets them. Puts up to
 * max names the kernel may have cached (the file and partition directories,
 * malloc'd) into names and returns how many. */
size_t fs_topic_gone(struct fs *fs, const char *name, char **names, size_t max);
/* The same for every topic the backend no longer has, plus freeing unreferenced
 * nodes of segments that are gone. */
size_t fs_nodes_sweep(struct fs *fs, char **names, size_t max);
/* Inode numbers of the files whose attributes an append to (topic, partition)
 * changes, in a malloc'd *inos the caller frees; topic NULL means every node.
 * Returns how many (0 when out of memory). */
size_t fs_nodes_affected(struct fs *fs, const char *topic, int32_t partition, uint64_t **inos);

/* ---- write.c: appending ---- */

/* Append the complete lines of one write; returns bytes accepted or -errno. */
ssize_t fs_write(struct fs *fs, struct fs_handle *h, const uint8_t *in, size_t n);
/* Append the held partial line, if any (RELEASE). */
int fs_write_rest(struct fs *fs, struct fs_handle *h);
/* Reply to req once everything appended through h is durable (FLUSH, FSYNC). */
void fs_write_flush(struct fs *fs, struct fs_handle *h, fuse_req_t req);

/* ---- notify.c ---- */

/* Listen to the backend and start the thread. 0 or -errno. */
int fs_notify_start(struct fs *fs);
/* fs_stop begins: parked follow reads get end of file, later ones do not wait,
 * poll waiters wake. */
void fs_notify_close(struct fs *fs);
/* Stop listening and join the thread; parked reads still there are dropped
 * without a reply (the session is over); poll handles are destroyed. */
void fs_notify_stop(struct fs *fs);
/* The backend's listener: queue a wake-up for the partition. */
void fs_notify_append(void *arg, const char *topic, int32_t partition);
/* Queue "topic is gone" (from UNLINK): drops cached entries, ends parked reads. */
void fs_notify_gone(struct fs *fs, const char *topic);
/* Park a follow read at the end of its stream until data arrives, its topic
 * goes, or it is interrupted. Called with h->mu held. Returns 1 when req is
 * taken care of, 0 when data arrived meanwhile and the caller should read again. */
int fs_notify_park(struct fs *fs, struct fs_handle *h, fuse_req_t req, size_t size, off_t off);
/* Answer a poll: POLLIN when h's stream has data, else remember ph. */
void fs_notify_poll(struct fs *fs, struct fs_handle *h, fuse_req_t req, struct fuse_pollhandle *ph);
/* Forget h's poll handle (RELEASE). */
void fs_notify_unpoll(struct fs *fs, struct fs_handle *h);

/* ---- ops ---- */

extern const struct fuse_lowlevel_ops fs_ops;
void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                   struct fuse_file_info *fi);
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                  struct fuse_file_info *fi);
void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                  const char *newname, unsigned int flags);
void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_statfs(fuse_req_t req, fuse_ino_t ino);
void fs_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                 struct fuse_file_info *fi);
void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                struct fuse_pollhandle *ph);

/* Open a handle on n for the flags given (shared by OPEN and CREATE); fresh
 * says the topic was just created, so a non-append writer is allowed. */
int fs_handle_open(struct fs *fs, struct fs_node *n, int flags, bool fresh, struct fs_handle **out);
void fs_handle_free(struct fs_handle *h);

/* ---- access.c: the ACLs the mount acts under (fs_options.may) ---- */
/* 0 when the mount's principal may do op on topic, else -EACCES. */
int fs_access_topic(struct fs *fs, enum auth_op op, const char *topic);
/* The same for creating topic: CREATE on the cluster or on the topic. */
int fs_access_create(struct fs *fs, const char *topic);
/* Whether a topic is shown at all (DESCRIBE, as Metadata filters). */
bool fs_access_visible(struct fs *fs, const char *topic);

#endif
