/* tc_audit_impl.h — what the files of the audit module share (tc_audit.c: opening and the
 * writer; tc_audit_codec.c: the records; tc_audit_read.c: reading and governance records;
 * tc_audit_steward.c: the steward's writes). Not a contract: nothing outside tc_audit*.c
 * includes it. */
#ifndef TC_AUDIT_IMPL_H
#define TC_AUDIT_IMPL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include <lmdb.h>

#include "tc_audit.h"
#include "tc_store.h" /* tc_mdb_error */

/* A responses value: time (u64 BE), the request's digest, the length of the request-ID key
 * (u16 BE), that key (institution NUL key), then the remembered response. */
#define RESP_HDR (8 + 16 + 2)
/* Trails written before the responses table kept the memory in idempotency (key -> time,
 * sequence, digest, response) and idem_time: opening such a trail moves it (tc_audit.c). */
#define IDEM_HDR (8 + 8 + 16)

/* Records are in commit order, and a record's time (when its outcome was decided) precedes its
 * commit by at most a batch: time order holds to within this. */
#define BATCH_SKEW_US (60 * 1000000LL)

/* The request-ID memory in RAM (tc_audit_memory.c): one 32-byte slot per answer remembered. */
typedef struct idem_slot {
    uint64_t hash, seq;
    int64_t time_us;
    uint32_t next; /* the bucket's next slot */
} idem_slot;

typedef struct idem_memory {
    pthread_mutex_t mu; /* the committer adds, workers look up (tc_audit_idem_lookup) */
    uint64_t seed[2];
    idem_slot *ring;    /* cap slots (a power of two), n of them used from head, oldest first */
    uint32_t *buckets;  /* cap chains */
    size_t cap, head, n;
} idem_memory;

int idem_memory_init(idem_memory *m);
void idem_memory_free(idem_memory *m);
uint64_t idem_memory_hash(const idem_memory *m, const void *key, size_t len);
size_t idem_memory_find(idem_memory *m, uint64_t hash, uint64_t *seqs, size_t max);
int idem_memory_add(idem_memory *m, uint64_t hash, uint64_t seq, int64_t time_us);
void idem_memory_expire(idem_memory *m, int64_t before_us);
void idem_memory_rollback(idem_memory *m, uint64_t from_seq);

/* A thread of the trail that works in rounds every ms milliseconds until stopped (the sync
 * thread of a relaxed trail, the citizen indexer): see tc_audit.c. */
typedef struct periodic {
    pthread_t thread;
    int started;
    pthread_mutex_t mu; /* guards stop, for cv */
    pthread_cond_t cv;
    int stop;
    unsigned ms;
} periodic;

/* Start fn(arg) on a thread named name; fn loops while periodic_wait returns 0. */
int periodic_start(periodic *p, unsigned ms, void *(*fn)(void *), void *arg, tc_error *err);
/* Wait a round (or until stopped): 1 once stopped. */
int periodic_wait(periodic *p);
/* Stop it and wait for it to return. */
void periodic_stop(periodic *p);

/* The journal (tc_audit_journal.c): the file AUDIT/journal, two halves of JOURNAL_HALF bytes,
 * where a commit appends its records with one write (and in durable mode one fdatasync) before
 * any reply; the applier thread moves them into the LMDB tables every JOURNAL_APPLY_MS. A half
 * is written from its start and reused only once all of its records are in the tables and
 * those are on disk, so after a crash the two halves hold every record the tables may lack.
 * An entry: u32 size (8-aligned, header included), u32 CRC-32 of the rest, u64 sequence
 * number, u32 length of the encoded record, u32 length of the responses value (0: none), both,
 * padding; little-endian. In RAM, mirror holds what the file holds. */
#define JOURNAL_HALF ((size_t)1 << 20)
#define JOURNAL_HDR 24
#define JOURNAL_APPLY_MS 10
#define JOURNAL_SLOTS (JOURNAL_HALF / JOURNAL_HDR)

typedef struct journal {
    int fd; /* -1: none (not started) */
    unsigned char *mirror;
    int mu_ready, started;
    /* the committer's (commit_mu): the half written, how far placed and written, and where
     * each half's entries are */
    int active;
    size_t tail, written;
    uint64_t first[2];       /* sequence number of each half's first entry */
    uint64_t placed_last[2]; /* each half's last sequence number placed (first - 1: none) */
    uint64_t last[2];        /* ... and written to the file */
    uint32_t *offset[2];     /* offset[h][seq - first[h]]: where each entry of h starts */
    /* published by the committer (release) once written, read by the applier */
    _Atomic size_t end[2]; /* bytes written in each half */
    atomic_int sealed[2];  /* the committer moved on to the other half */
    /* the applier's (apply_mu) */
    pthread_mutex_t apply_mu;
    int cur_half; /* where the next entry to apply is */
    size_t cur_off;
    int pending_settle; /* moved past a half whose records are not yet synced in the tables */
    int64_t last_prune_us;
    _Atomic uint64_t applied; /* every record up to it is in the tables */
    _Atomic uint64_t settled; /* ... and on disk there: the halves that hold only those are free */
    atomic_int failing;       /* the last apply failed: commits are refused until one succeeds */
    int fail_code;            /* its status and message */
    tc_error fail_err;
    periodic applier;
} journal;

/* Open (creating, and locking against a second writer) the journal of a trail being started,
 * and read what it holds; recover moves what it holds past the tables' last record into them
 * (before sequence numbers are taken); start begins applying, from next_seq on. */
int journal_open(tc_audit *a, tc_error *err);
int journal_recover(tc_audit *a, uint64_t last_in_tables, tc_error *err);
int journal_start(tc_audit *a, tc_error *err);
/* Stop the applier, apply everything, sync the tables; free. */
int journal_close(tc_audit *a);

/* The committer's steps (commit_mu held). usable: TC_OK, or the failure of the last apply
 * (in last_err), which every commit is refused with until an apply succeeds. place: put one
 * record (and the responses value remembering its answer, if any) after those placed; 0 when
 * it does not fit the half being written (with may_switch, and nothing placed but unwritten,
 * the other half is made free and taken, or *status says why not). write: write what was
 * placed (durable mode: and fdatasync), then publish it to the applier; on failure nothing of
 * it is kept. unplace: drop what was placed and not written. */
int journal_usable(tc_audit *a);
int journal_place(tc_audit *a, uint64_t seq, const void *rec, size_t rec_len, const void *resp,
                  size_t resp_len, int may_switch, int *status);
int journal_write(tc_audit *a);
void journal_unplace(tc_audit *a);
/* The responses value of a journaled seq (commit_mu held), or NULL if not in the journal. */
const unsigned char *journal_response(tc_audit *a, uint64_t seq, size_t *len);

/* Apply what is journaled to the tables now: before reading them for a caller who must see
 * every answer given, and before others append to the audit table (tc_audit_collect). */
int journal_catch_up(tc_audit *a);
/* Relaxed mode's sync of the journal (the sync thread): MDB_SUCCESS or an errno. */
int journal_sync(tc_audit *a);

/* The citizen index's entries (tc_audit_index.c, tc_audit_runs.c): citizen key, then the
 * record's sequence number (u64 BE). In the index's environment, "meta" holds how far the
 * index is complete ("indexed") and its directory ("runs"); "citizen_runs" (MDB_DUPSORT |
 * MDB_DUPFIXED) holds each run of entries, sorted, under its id; "audit_citizen", the index's
 * former form (one B-tree of entries as keys), is read as one more run and no longer written. */
#define INDEX_ENTRY_LEN (TC_CITIZEN_KEY_LEN + 8)
#define RUN_FANOUT 8           /* runs of a level merged into one of the next */
#define RUN_LEVELS 16          /* a run of the top level is never merged */
#define RUNS_MAX 512           /* runs in the directory (about RUN_FANOUT per level in use) */
#define RUNS_MERGE_CHUNK 65536 /* entries a merge moves per transaction */
#define RUNS_CHUNK_BYTES ((size_t)RUNS_MERGE_CHUNK * INDEX_ENTRY_LEN)

typedef struct run_info {
    uint64_t id, level, count;
} run_info;

typedef struct run_merge { /* the indexer's, in RAM only: a merge cut short is begun again */
    int active;
    uint64_t target, count, src[RUN_FANOUT];
    unsigned char last[INDEX_ENTRY_LEN]; /* the last entry moved into the target */
} run_merge;

typedef struct citizen_runs {
    MDB_dbi dbi;
    int present;      /* 0: a read-only index written before runs */
    uint64_t next_id; /* the indexer's, from here on */
    run_merge merge[RUN_LEVELS];
    unsigned char *buf; /* a merge's chunk */
} citizen_runs;

/* Open the runs' table in ix_txn (read-write: creating it). */
int runs_open(tc_audit *a, MDB_txn *ix_txn, int read_only);
/* The indexer's start, a transaction of its own: drop the runs no directory names (merges cut
 * short by a stop or a crash). Only the process that writes the trail may: another that opens
 * it read-write without starting it (tinchap's governance record) would drop the target of a
 * merge the writer has under way. */
int runs_start(tc_audit *a);
/* Add n sorted entries as a run of level 0 (an MDB status). */
int runs_add(tc_audit *a, MDB_txn *ix_txn, const unsigned char *entries, size_t n);
/* One step of merging, a transaction of its own: 1 done, 0 nothing to do, -1 failed. */
int runs_maintain(tc_audit *a);
/* fn(seq, arg) for the citizen's entries below sequence number below, newest first, in every
 * run (with_runs) and in the table base, until fn returns nonzero: an MDB status. */
int runs_walk(tc_audit *a, MDB_txn *txn, int with_runs, MDB_dbi base, const unsigned char *key,
              uint64_t below, int (*fn)(uint64_t seq, void *arg), void *arg);

typedef struct producer {
    pthread_mutex_t mu;
    tc_audit_entry **items;
    size_t n;
} producer;

struct tc_audit {
    char *path;
    MDB_env *env;
    MDB_dbi meta, audit, responses, governance;
    MDB_dbi by_citizen; /* read-only, a trail without citizen-index/: its former index table */
    int has_old_citizen;
    MDB_dbi steward, steward_citizen;
    MDB_dbi origins;    /* a consolidated trail's last sequence number per origin trail */
    int has_origins;    /* 0: a read-only trail written before the table existed */
    char trail_id[TC_AUDIT_TRAIL_ID_LEN + 1];
    /* the last sequence number committed, and the last known on disk (tc_audit_durable_seq) */
    _Atomic uint64_t committed_seq, durable_seq;
    int has_governance; /* 0: a read-only trail written before the table existed */
    int has_steward;    /* the same */
    int has_responses;  /* the same */
    tc_audit_options opt;
    size_t n_producers;
    producer producers[TC_AUDIT_PRODUCERS_MAX];
    sem_t wake;
    pthread_t thread;
    int started;
    atomic_int stopping;
    uint64_t next_seq;
    idem_memory memory; /* request IDs answered in the last 24 h (writer only when started) */
    int memory_ready;
    /* Relaxed mode: commits without sync set dirty; a thread of its own syncs every sync_ms,
     * so that no reply waits behind an fdatasync (mdb_env_sync runs beside a write txn). */
    atomic_int dirty;
    periodic syncer;
    atomic_int sync_failing;    /* the last sync failed */
    int64_t sync_reported_us;   /* the sync thread's: when a failure was last reported */
    /* Held by whoever commits: the writer, or in relaxed mode a submitting thread that finds
     * it free (see tc_audit_submit). Guards next_seq, last_prune_us, last_err and batch. */
    pthread_mutex_t commit_mu;
    pthread_mutex_t stats_mu;
    tc_audit_stats stats;
    tc_error last_err;      /* of the last failed commit (commit_mu; done() may read it) */
    tc_audit_entry **batch; /* the writer's working list */
    /* The citizen index, an environment of its own written by the indexer thread
     * (tc_audit_index.c). ix_env is NULL for a read-only copy without one. */
    char *ix_path;
    MDB_env *ix_env;
    MDB_dbi ix_meta, ix_citizen;
    citizen_runs runs;
    periodic indexer;
    unsigned char *ix_entries; /* the indexer's working list */
    journal j;
};

struct tc_audit_reader {
    tc_audit *a;
    MDB_txn *txn;
    MDB_txn *ix_txn; /* on the citizen index, when the trail has one */
};

/* The citizen index (tc_audit_index.c): opened (created, and a former index table moved into
 * it, unless read-only) after the trail's tables; started with the writer; closed after it. */
int tc_audit_index_open(tc_audit *a, size_t map_size, tc_error *err);
int tc_audit_index_start(tc_audit *a, tc_error *err);
void tc_audit_index_close(tc_audit *a);
/* The sequence number below which every record is in the index (1: none is). */
uint64_t tc_audit_index_upto(tc_audit *a, MDB_txn *ix_txn);


static inline int mdb_fail(const tc_audit *a, int rc, const char *what, tc_error *err)
{
    return tc_mdb_error(a->path, a->env, rc, what, err);
}

/* Commit txn on the trail's tables and sync them: for the writes that do not go through the
 * journal (governance and steward records, collected records), rare, and each one a record
 * that must not be lost once its caller is told it is written. An MDB status. */
static inline int tc_audit_commit_synced(tc_audit *a, MDB_txn *txn)
{
    int mrc = mdb_txn_commit(txn);
    return mrc == MDB_SUCCESS ? mdb_env_sync(a->env, 1) : mrc;
}

static inline void be64(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline uint64_t from_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The remembered answer to key, younger than 24 h at now_us: its responses value, or NULL.
 * Looked up in txn's snapshot of the tables, and first (in_commit: by the committer, commit_mu
 * held) in the journal, which holds what the tables may not have yet. */
const unsigned char *tc_audit_response_find(tc_audit *a, MDB_txn *txn, int in_commit,
                                            const void *key, size_t key_len, int64_t now_us,
                                            size_t *len);

/* A commit of records up to next_seq - 1 succeeded (commit_mu held): what is committed, and in
 * durable mode on disk; in relaxed mode the sync thread's next round makes it durable. */
static inline void tc_audit_committed(tc_audit *a)
{
    atomic_store_explicit(&a->committed_seq, a->next_seq - 1, memory_order_release);
    if (a->opt.relaxed)
        atomic_store_explicit(&a->dirty, 1, memory_order_release);
    else /* the commit waited for the disk */
        atomic_store_explicit(&a->durable_seq, a->next_seq - 1, memory_order_release);
}

/* The trail's identity, read or (read-write) made in txn (tc_audit_ship.c). */
int tc_audit_identity(tc_audit *a, MDB_txn *txn, int read_only, tc_error *err);

/* Sequence numbers continue from the last record in the tables: sets next_seq. */
int tc_audit_find_next_seq(tc_audit *a, tc_error *err);

/* Renew r's read transaction: each read is one fresh snapshot. */
int tc_audit_reader_begin(tc_audit_reader *r, tc_error *err);

#endif
