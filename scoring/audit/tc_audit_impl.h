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
    int64_t last_prune_us;
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
    periodic indexer;
    unsigned char *ix_entries; /* the indexer's working list */
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

/* The remembered answer to key, committed or in txn, younger than 24 h at now_us: its
 * responses value, or NULL. */
const unsigned char *tc_audit_response_find(tc_audit *a, MDB_txn *txn, const void *key,
                                            size_t key_len, int64_t now_us, size_t *len);

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

/* Renew r's read transaction: each read is one fresh snapshot. */
int tc_audit_reader_begin(tc_audit_reader *r, tc_error *err);

#endif
