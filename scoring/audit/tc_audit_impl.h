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

/* An idempotency value: time (u64 BE), sequence (u64 BE), the request's digest, then the
 * remembered response. */
#define IDEM_HDR (8 + 8 + 16)

typedef struct producer {
    pthread_mutex_t mu;
    tc_audit_entry **items;
    size_t n;
} producer;

struct tc_audit {
    char *path;
    MDB_env *env;
    MDB_dbi meta, audit, by_citizen, idem, idem_time, governance;
    MDB_dbi steward, steward_citizen;
    int has_governance; /* 0: a read-only trail written before the table existed */
    int has_steward;    /* the same */
    tc_audit_options opt;
    size_t n_producers;
    producer producers[TC_AUDIT_PRODUCERS_MAX];
    sem_t wake;
    pthread_t thread;
    int started;
    atomic_int stopping;
    uint64_t next_seq;
    int64_t last_prune_us;
    /* Relaxed mode: commits without sync set dirty; a thread of its own syncs every sync_ms,
     * so that no reply waits behind an fdatasync (mdb_env_sync runs beside a write txn). */
    atomic_int dirty;
    pthread_t syncer;
    int syncer_started;
    pthread_mutex_t sync_mu; /* guards sync_stop, for sync_cv */
    pthread_cond_t sync_cv;
    int sync_stop;
    atomic_int sync_failing;    /* the last sync failed */
    int64_t sync_reported_us;   /* the sync thread's: when a failure was last reported */
    /* Held by whoever commits: the writer, or in relaxed mode a submitting thread that finds
     * it free (see tc_audit_submit). Guards next_seq, last_prune_us, last_err and batch. */
    pthread_mutex_t commit_mu;
    pthread_mutex_t stats_mu;
    tc_audit_stats stats;
    tc_error last_err;      /* of the last failed commit (commit_mu; done() may read it) */
    tc_audit_entry **batch; /* the writer's working list */
};

struct tc_audit_reader {
    tc_audit *a;
    MDB_txn *txn;
};


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

/* Renew r's read transaction: each read is one fresh snapshot. */
int tc_audit_reader_begin(tc_audit_reader *r, tc_error *err);

#endif
