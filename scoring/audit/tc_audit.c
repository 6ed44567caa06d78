/* The audit trail: opening, and the writer that group-commits records (the record codec:
 * tc_audit_codec.c; reading: tc_audit_read.c; the steward's writes: tc_audit_steward.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "tc_audit_impl.h"
#include "tc_time.h"

#define RECORD_MAX 2048

/* ---- tables ---- */

static int meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *v, size_t len)
{
    MDB_val k = {strlen(name), (void *)name}, d = {len, (void *)v};
    return mdb_put(txn, dbi, &k, &d, 0);
}

/* Record the format and the secret's fingerprint on creation; check them afterwards. */
static int check_meta(tc_audit *a, MDB_txn *txn, const tc_audit_options *opt, tc_error *err)
{
    MDB_val k = {6, (void *)"format"}, v;
    unsigned char fp[TC_FINGERPRINT_LEN];
    int mrc = mdb_get(txn, a->meta, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        if (opt->read_only)
            return tc_errorf(err, TC_ENOTFOUND, "%s: no audit trail here", a->path);
        unsigned char fmt[4] = {TC_AUDIT_FORMAT, 0, 0, 0};
        char created[TC_TIME_TEXT_LEN];
        tc_time_format(tc_time_now(), created);
        if ((mrc = meta_put(txn, a->meta, "format", fmt, sizeof fmt)) != MDB_SUCCESS ||
            (mrc = meta_put(txn, a->meta, "created_at", created, strlen(created))) !=
                MDB_SUCCESS)
            return mdb_fail(a, mrc, "initialising", err);
        if (opt->key != NULL) {
            tc_key_fingerprint(opt->key, fp);
            if ((mrc = meta_put(txn, a->meta, "key_fingerprint", fp, sizeof fp)) != MDB_SUCCESS)
                return mdb_fail(a, mrc, "initialising", err);
        }
        return TC_OK;
    }
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "reading meta", err);
    if (v.mv_size != 4 || ((unsigned char *)v.mv_data)[0] != TC_AUDIT_FORMAT)
        return tc_errorf(err, TC_EVERSION, "%s: audit trail format is not supported", a->path);
    if (opt->key != NULL) {
        MDB_val fk = {15, (void *)"key_fingerprint"};
        tc_key_fingerprint(opt->key, fp);
        mrc = mdb_get(txn, a->meta, &fk, &v);
        if (mrc == MDB_SUCCESS && (v.mv_size != sizeof fp || memcmp(v.mv_data, fp, sizeof fp) != 0))
            return tc_errorf(err, TC_EKEY,
                             "%s: the secret key is not the one this audit trail was built with",
                             a->path);
        /* A trail first opened without the key (a governance record written before the service
         * ever ran) learns it from the first opener that has it. */
        if (mrc == MDB_NOTFOUND && !opt->read_only &&
            (mrc = meta_put(txn, a->meta, "key_fingerprint", fp, sizeof fp)) != MDB_SUCCESS)
            return mdb_fail(a, mrc, "initialising", err);
    }
    return TC_OK;
}

/* A trail written before the responses table kept the request-ID memory in idempotency and
 * idem_time: move its answers younger than 24 h to responses, under their sequence numbers,
 * and drop both, so that a retry across the upgrade is still a replay. */
static int migrate_idempotency(tc_audit *a, MDB_txn *txn)
{
    MDB_dbi idem, idem_time;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int64_t now = tc_time_now_us();
    unsigned char buf[RESP_HDR + TC_AUDIT_TEXT_MAX + 1 + TC_AUDIT_REQUEST_KEY_MAX +
                      TC_AUDIT_RESPONSE_MAX];
    int mrc = mdb_dbi_open(txn, "idempotency", 0, &idem);
    if (mrc != MDB_SUCCESS)
        return mrc == MDB_NOTFOUND ? MDB_SUCCESS : mrc;
    if ((mrc = mdb_cursor_open(txn, idem, &cur)) != MDB_SUCCESS)
        return mrc;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == MDB_SUCCESS;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = v.mv_data;
        size_t resp = v.mv_size - IDEM_HDR;
        if (v.mv_size < IDEM_HDR || resp > TC_AUDIT_RESPONSE_MAX ||
            k.mv_size > TC_AUDIT_TEXT_MAX + 1 + TC_AUDIT_REQUEST_KEY_MAX ||
            now - (int64_t)from_be64(p) >= (int64_t)TC_AUDIT_IDEM_SECONDS * 1000000)
            continue;
        unsigned char seq[8];
        memcpy(seq, p + 8, 8);
        memcpy(buf, p, 8);           /* time */
        memcpy(buf + 8, p + 16, 16); /* digest */
        buf[24] = (unsigned char)(k.mv_size >> 8);
        buf[25] = (unsigned char)k.mv_size;
        memcpy(buf + RESP_HDR, k.mv_data, k.mv_size);
        memcpy(buf + RESP_HDR + k.mv_size, p + IDEM_HDR, resp);
        MDB_val sk = {8, seq}, sv = {RESP_HDR + k.mv_size + resp, buf};
        if ((mrc = mdb_put(txn, a->responses, &sk, &sv, 0)) != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    if (mrc != MDB_NOTFOUND)
        return mrc;
    if ((mrc = mdb_drop(txn, idem, 1)) != MDB_SUCCESS)
        return mrc;
    mrc = mdb_dbi_open(txn, "idem_time", 0, &idem_time);
    if (mrc == MDB_SUCCESS)
        return mdb_drop(txn, idem_time, 1);
    return mrc == MDB_NOTFOUND ? MDB_SUCCESS : mrc;
}

static int open_tables(tc_audit *a, const tc_audit_options *opt, tc_error *err)
{
    MDB_txn *txn = NULL;
    unsigned create = opt->read_only ? 0 : MDB_CREATE;
    int rc = TC_OK;
    int mrc = mdb_txn_begin(a->env, NULL, opt->read_only ? MDB_RDONLY : 0, &txn);
    if (mrc == MDB_SUCCESS && (mrc = mdb_dbi_open(txn, "meta", create, &a->meta)) == MDB_NOTFOUND) {
        rc = tc_errorf(err, TC_ENOTFOUND, "%s: no audit trail here", a->path);
        goto out;
    }
    if (mrc == MDB_SUCCESS)
        mrc = mdb_dbi_open(txn, "audit", create, &a->audit);
    if (mrc == MDB_SUCCESS && opt->read_only) { /* the index is in citizen-index/ since */
        mrc = mdb_dbi_open(txn, "audit_citizen", 0, &a->by_citizen);
        a->has_old_citizen = mrc == MDB_SUCCESS;
        if (mrc == MDB_NOTFOUND)
            mrc = MDB_SUCCESS;
    }
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, "responses", create, &a->responses);
        a->has_responses = mrc == MDB_SUCCESS;
        if (mrc == MDB_NOTFOUND && opt->read_only)
            mrc = MDB_SUCCESS;
        if (mrc == MDB_SUCCESS && !opt->read_only)
            mrc = migrate_idempotency(a, txn);
    }
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, "governance", create, &a->governance);
        a->has_governance = mrc == MDB_SUCCESS;
        if (mrc == MDB_NOTFOUND && opt->read_only)
            mrc = MDB_SUCCESS;
    }
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, "steward", create, &a->steward);
        if (mrc == MDB_SUCCESS)
            mrc = mdb_dbi_open(txn, "steward_citizen", create, &a->steward_citizen);
        a->has_steward = mrc == MDB_SUCCESS;
        if (mrc == MDB_NOTFOUND && opt->read_only)
            mrc = MDB_SUCCESS;
    }
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, "origins", create, &a->origins);
        a->has_origins = mrc == MDB_SUCCESS;
        if (mrc == MDB_NOTFOUND && opt->read_only)
            mrc = MDB_SUCCESS;
    }
    if (mrc != MDB_SUCCESS) {
        rc = mdb_fail(a, mrc, "opening the audit tables", err);
        goto out;
    }
    if ((rc = check_meta(a, txn, opt, err)) != TC_OK ||
        (rc = tc_audit_identity(a, txn, opt->read_only, err)) != TC_OK)
        goto out;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != MDB_SUCCESS)
        rc = mdb_fail(a, mrc, "initialising", err);
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

int tc_audit_open(const tc_audit_options *opt, tc_audit **out, tc_error *err)
{
    int rc = TC_OK, mrc;
    struct stat st;
    tc_audit *a = calloc(1, sizeof *a);
    if (a == NULL || (a->path = strdup(opt->dir)) == NULL) {
        free(a);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    a->opt = *opt;
    a->opt.dir = a->path;
    a->j.fd = -1;
    if (a->opt.sync_ms == 0)
        a->opt.sync_ms = 100;
    for (size_t i = 0; i < TC_AUDIT_PRODUCERS_MAX; i++)
        pthread_mutex_init(&a->producers[i].mu, NULL);
    pthread_mutex_init(&a->stats_mu, NULL);
    pthread_mutex_init(&a->commit_mu, NULL);
    if (idem_memory_init(&a->memory) != 0) {
        rc = tc_errorf(err, TC_EIO, "audit: no random seed for the request-ID memory");
        goto fail;
    }
    a->memory_ready = 1;
    if (stat(opt->dir, &st) != 0) {
        if (opt->read_only) {
            rc = tc_errorf(err, TC_ENOTFOUND, "%s: no audit trail here", opt->dir);
            goto fail;
        }
        if (mkdir(opt->dir, 0700) != 0 && errno != EEXIST) {
            rc = tc_errorf(err, TC_EIO, "%s: %s", opt->dir, strerror(errno));
            goto fail;
        }
    }
    /* MDB_NOSYNC in both modes: a commit's records are on disk once its journal write is (in
     * durable mode, synced); the applier's transactions are synced only when a journal half is
     * to be reused (tc_audit_journal.c), and every other write of the tables, being rare and
     * not journaled, is synced before it returns (tc_audit_commit_synced). A sync per
     * transaction, 100 a second, would compete for the disk with the journal's, which a
     * durable answer waits for. */
    if ((mrc = mdb_env_create(&a->env)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxdbs(a->env, 16)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxreaders(a->env, TC_STORE_MAX_READERS)) != MDB_SUCCESS ||
        (mrc = mdb_env_open(a->env, opt->dir,
                            MDB_NOTLS | (opt->read_only ? MDB_RDONLY : MDB_NOSYNC), 0600)) !=
            MDB_SUCCESS) {
        rc = mdb_fail(a, mrc, "opening", err);
        goto fail;
    }
    if (!opt->read_only) {
        MDB_envinfo info;
        mdb_env_info(a->env, &info);
        size_t want = opt->map_size != 0 ? opt->map_size
                      : info.me_mapsize > TC_AUDIT_DEFAULT_MAP_SIZE ? info.me_mapsize
                                                                     : TC_AUDIT_DEFAULT_MAP_SIZE;
        if (want != info.me_mapsize && (mrc = mdb_env_set_mapsize(a->env, want)) != MDB_SUCCESS) {
            rc = mdb_fail(a, mrc, "setting the map size", err);
            goto fail;
        }
    }
    if ((rc = open_tables(a, opt, err)) != TC_OK)
        goto fail;
    MDB_envinfo info;
    mdb_env_info(a->env, &info);
    if ((rc = tc_audit_index_open(a, info.me_mapsize, err)) != TC_OK)
        goto fail;
    *out = a;
    return TC_OK;
fail:
    tc_audit_close(a);
    return rc;
}

/* Sequence numbers continue from the last record on disk. */
int tc_audit_find_next_seq(tc_audit *a, tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_open(txn, a->audit, &cur);
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        a->next_seq = mrc == MDB_SUCCESS && k.mv_size == 8 ? from_be64(k.mv_data) + 1 : 1;
        if (mrc == MDB_NOTFOUND)
            mrc = MDB_SUCCESS;
        mdb_cursor_close(cur);
        cur = NULL;
    }
    /* and past every remembered answer, which the responses table appends under its number */
    if (mrc == MDB_SUCCESS && a->has_responses &&
        (mrc = mdb_cursor_open(txn, a->responses, &cur)) == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (mrc == MDB_SUCCESS && k.mv_size == 8 && from_be64(k.mv_data) >= a->next_seq)
            a->next_seq = from_be64(k.mv_data) + 1;
        if (mrc == MDB_NOTFOUND)
            mrc = MDB_SUCCESS;
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        mdb_txn_abort(txn);
    return mrc == MDB_SUCCESS ? TC_OK : mdb_fail(a, mrc, "reading the audit trail", err);
}

/* The request-ID memory starts as the responses table's answers of the last 24 h: walk back
 * from the newest to the first that may be older, then add forwards, in sequence order. */
static int rebuild_memory(tc_audit *a, tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int64_t since = tc_time_now_us() - (int64_t)TC_AUDIT_IDEM_SECONDS * 1000000;
    int mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_open(txn, a->responses, &cur);
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        while (mrc == MDB_SUCCESS &&
               (v.mv_size < 8 || (int64_t)from_be64(v.mv_data) >= since - BATCH_SKEW_US))
            mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
        mrc = mdb_cursor_get(cur, &k, &v, mrc == MDB_NOTFOUND ? MDB_FIRST : MDB_NEXT);
    }
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = v.mv_data;
        size_t key_len = v.mv_size >= RESP_HDR ? (size_t)p[24] << 8 | p[25] : SIZE_MAX;
        if (k.mv_size != 8 || key_len > v.mv_size - RESP_HDR || (int64_t)from_be64(p) < since)
            continue;
        uint64_t h = idem_memory_hash(&a->memory, p + RESP_HDR, key_len);
        if (idem_memory_add(&a->memory, h, from_be64(k.mv_data), (int64_t)from_be64(p)) != 0) {
            mrc = ENOMEM;
            break;
        }
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        mdb_txn_abort(txn);
    return mrc == MDB_NOTFOUND ? TC_OK : mdb_fail(a, mrc, "reading the request-ID memory", err);
}

/* ---- the writer ---- */

/* Settle e's request ID (commit_mu held): a replay or a conflict if its key was answered in
 * the last 24 h, else, for an answer, the responses value that remembers it under e's sequence
 * number (in resp, *resp_len; 0: nothing to remember) and the key's hash to remember it by. */
static int settle_request_id(tc_audit *a, tc_audit_entry *e, unsigned char *resp, size_t *resp_len,
                             uint64_t *hash)
{
    uint64_t seq;
    *resp_len = 0;
    uint64_t h = *hash = idem_memory_hash(&a->memory, e->idem_key, e->idem_key_len);
    pthread_mutex_lock(&a->memory.mu);
    size_t candidates = idem_memory_find(&a->memory, h, &seq, 1);
    pthread_mutex_unlock(&a->memory.mu);
    if (candidates > 0) { /* a retry, or a collision of the hash: the stored key settles it */
        MDB_txn *txn = NULL;
        size_t len = 0;
        int mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
        if (mrc != MDB_SUCCESS)
            return mrc;
        const unsigned char *p =
            tc_audit_response_find(a, txn, 1, e->idem_key, e->idem_key_len, e->rec.time_us, &len);
        if (p != NULL) {
            size_t off = RESP_HDR + e->idem_key_len;
            if (memcmp(p + 8, e->digest, 16) == 0 && len - off <= sizeof e->replay) {
                e->replayed = 1;
                e->replay_len = len - off;
                memcpy(e->replay, p + off, e->replay_len);
                e->rec.outcome = TC_AUDIT_REPLAYED;
            } else {
                e->conflict = 1;
                e->rec.outcome = TC_AUDIT_DENIED;
                e->rec.status = 6; /* ALREADY_EXISTS */
                snprintf(e->rec.status_text, sizeof e->rec.status_text,
                         "request_id was used in the last 24 h for a different request");
            }
        }
        mdb_txn_abort(txn);
        if (p != NULL)
            return MDB_SUCCESS;
    }
    if (e->rec.outcome != TC_AUDIT_SCORED || e->response_len > TC_AUDIT_RESPONSE_MAX)
        return MDB_SUCCESS; /* only answers are remembered */
    be64(resp, (uint64_t)e->rec.time_us);
    memcpy(resp + 8, e->digest, 16);
    resp[24] = (unsigned char)(e->idem_key_len >> 8);
    resp[25] = (unsigned char)e->idem_key_len;
    memcpy(resp + RESP_HDR, e->idem_key, e->idem_key_len);
    memcpy(resp + RESP_HDR + e->idem_key_len, e->response, e->response_len);
    *resp_len = RESP_HDR + e->idem_key_len + e->response_len;
    return MDB_SUCCESS;
}

/* Journal entries from batch: as many as fit the half being written (at least one), in one
 * write. Returns how many were taken; *status says whether they are committed. */
static size_t journal_some(tc_audit *a, tc_audit_entry **batch, size_t n, int *status)
{
    uint64_t seq0 = a->next_seq;
    size_t k = 0;
    *status = journal_usable(a);
    for (; *status == TC_OK && k < n; k++) {
        tc_audit_entry *e = batch[k];
        unsigned char rec[RECORD_MAX], resp[RESP_HDR + sizeof e->idem_key + TC_AUDIT_RESPONSE_MAX];
        size_t resp_len = 0;
        uint64_t hash = 0;
        int mrc;
        e->rec.seq = a->next_seq;
        if (e->idem_key_len > 0 && (mrc = settle_request_id(a, e, resp, &resp_len, &hash)) != 0) {
            *status = mdb_fail(a, mrc, "reading the request-ID memory", &a->last_err);
            break;
        }
        size_t rec_len = tc_audit_encode(&e->rec, rec, sizeof rec);
        if (rec_len == 0) {
            *status =
                tc_errorf(&a->last_err, TC_EINVAL, "%s: a record too large to encode", a->path);
            break;
        }
        if (!journal_place(a, e->rec.seq, rec, rec_len, resp, resp_len, k == 0, status))
            break;
        if (resp_len > 0) {
            pthread_mutex_lock(&a->memory.mu);
            int added = idem_memory_add(&a->memory, hash, e->rec.seq, e->rec.time_us);
            pthread_mutex_unlock(&a->memory.mu);
            if (added != 0) {
                *status = tc_errorf(&a->last_err, TC_ENOMEM, "out of memory");
                k++;
                break;
            }
        }
        a->next_seq++;
    }
    if (*status == TC_OK)
        *status = journal_write(a);
    if (*status == TC_OK) {
        tc_audit_committed(a);
        return k;
    }
    journal_unplace(a);
    a->next_seq = seq0; /* nothing of this batch was kept, nor any answer it would remember */
    pthread_mutex_lock(&a->memory.mu);
    idem_memory_rollback(&a->memory, seq0);
    pthread_mutex_unlock(&a->memory.mu);
    return n; /* all of it refused */
}

static void commit_batch(tc_audit *a, tc_audit_entry **batch, size_t n)
{
    while (n > 0) {
        int status;
        int64_t t0 = tc_time_now_us();
        size_t k = journal_some(a, batch, n, &status);
        int64_t el = tc_time_now_us() - t0;
        pthread_mutex_lock(&a->stats_mu);
        a->stats.batches++;
        a->stats.batch_size_sum += k;
        if (status == TC_OK)
            a->stats.records += k;
        else
            a->stats.failures += k;
        a->stats.commit_us_sum += (uint64_t)el;
        if ((uint64_t)el > a->stats.commit_us_max)
            a->stats.commit_us_max = (uint64_t)el;
        pthread_mutex_unlock(&a->stats_mu);
        for (size_t i = 0; i < k; i++) {
            if (status != TC_OK) {
                batch[i]->replayed = 0;
                batch[i]->conflict = 0;
            }
            batch[i]->done(batch[i], status, batch[i]->arg);
        }
        batch += k;
        n -= k;
    }
}

/* Take everything the producers have queued. */
static size_t collect(tc_audit *a, tc_audit_entry **out)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_producers; i++) {
        producer *p = &a->producers[i];
        pthread_mutex_lock(&p->mu);
        memcpy(out + n, p->items, p->n * sizeof *out);
        n += p->n;
        p->n = 0;
        pthread_mutex_unlock(&p->mu);
    }
    return n;
}

/* Commit everything queued, in batches; commit_mu held. Returns how many entries. */
static size_t commit_queued(tc_audit *a)
{
    size_t n = collect(a, a->batch);
    for (size_t off = 0; off < n; off += TC_AUDIT_BATCH_MAX) {
        size_t k = n - off < TC_AUDIT_BATCH_MAX ? n - off : TC_AUDIT_BATCH_MAX;
        commit_batch(a, a->batch + off, k);
    }
    return n;
}

static void *writer_main(void *arg)
{
    tc_audit *a = arg;
    /* a name in top -H, perf and gdb: the one thread that writes the trail and syncs it */
    pthread_setname_np(pthread_self(), "tc-audit");
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long wait_ms = 1000;
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        while (sem_timedwait(&a->wake, &ts) != 0 && errno == EINTR) {
        }
        while (sem_trywait(&a->wake) == 0) {
        }
        int stopping = atomic_load(&a->stopping);
        pthread_mutex_lock(&a->commit_mu);
        size_t n = commit_queued(a);
        pthread_mutex_unlock(&a->commit_mu);
        if (stopping && n == 0)
            break;
    }
    return NULL;
}

/* One sync of a relaxed trail, on the sync thread. A failure (an I/O error, a full thin
 * volume) leaves the trail dirty, so the next round tries again; it is counted, and reported
 * to the service, which says so in its log and its health. */
static void sync_once(tc_audit *a)
{
    /* every record up to this one was written to the file before the sync starts */
    uint64_t committed = atomic_load_explicit(&a->committed_seq, memory_order_acquire);
    int mrc = journal_sync(a);
    int64_t now = tc_time_now_us();
    if (mrc == MDB_SUCCESS) {
        atomic_store_explicit(&a->durable_seq, committed, memory_order_release);
        if (atomic_exchange(&a->sync_failing, 0) && a->opt.sync_state != NULL)
            a->opt.sync_state(0, "", a->opt.sync_arg);
        return;
    }
    atomic_store_explicit(&a->dirty, 1, memory_order_release);
    pthread_mutex_lock(&a->stats_mu);
    a->stats.sync_failures++;
    pthread_mutex_unlock(&a->stats_mu);
    int was = atomic_exchange(&a->sync_failing, 1);
    if (a->opt.sync_state == NULL || (was && now - a->sync_reported_us < 1000000))
        return;
    a->sync_reported_us = now;
    tc_error err;
    tc_mdb_error(a->path, a->env, mrc, "syncing the audit trail to disk", &err);
    a->opt.sync_state(1, err.msg, a->opt.sync_arg);
}

int tc_audit_sync_failing(const tc_audit *a)
{
    return atomic_load_explicit(&((tc_audit *)a)->sync_failing, memory_order_relaxed);
}

static void *syncer_main(void *arg)
{
    tc_audit *a = arg;
    pthread_setname_np(pthread_self(), "tc-audit-sync");
    while (!periodic_wait(&a->syncer)) {
        /* a commit after the exchange sets dirty again: the next round covers it */
        if (atomic_exchange_explicit(&a->dirty, 0, memory_order_acq_rel))
            sync_once(a);
    }
    return NULL;
}

int periodic_start(periodic *p, unsigned ms, void *(*fn)(void *), void *arg, tc_error *err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    p->ms = ms;
    p->stop = 0;
    if (pthread_create(&p->thread, NULL, fn, arg) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        return tc_errorf(err, TC_ENOMEM, "audit: cannot start a thread");
    }
    p->started = 1;
    return TC_OK;
}

int periodic_wait(periodic *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long ns = ts.tv_nsec + (long)(p->ms % 1000) * 1000000L;
    ts.tv_sec += (time_t)(p->ms / 1000) + ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    pthread_mutex_lock(&p->mu);
    while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0) {
    }
    int stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

void periodic_stop(periodic *p)
{
    if (!p->started)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    p->started = 0;
}

int tc_audit_start(tc_audit *a, size_t producers, tc_error *err)
{
    int rc;
    if (a->opt.read_only)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", a->path);
    if (producers == 0 || producers > TC_AUDIT_PRODUCERS_MAX)
        return tc_errorf(err, TC_EINVAL, "audit: 1 to %d producers", TC_AUDIT_PRODUCERS_MAX);
    a->n_producers = producers;
    /* What a process killed before journaled, or left unsynced, is put in the tables and made
     * durable before sequence numbers are taken and anything is shipped from it. */
    if ((rc = journal_open(a, err)) != TC_OK || (rc = tc_audit_find_next_seq(a, err)) != TC_OK ||
        (rc = journal_recover(a, a->next_seq - 1, err)) != TC_OK ||
        (rc = tc_audit_find_next_seq(a, err)) != TC_OK || (rc = rebuild_memory(a, err)) != TC_OK)
        return rc;
    int mrc = mdb_env_sync(a->env, 1);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "syncing the audit trail to disk", err);
    atomic_store(&a->committed_seq, a->next_seq - 1);
    atomic_store(&a->durable_seq, a->next_seq - 1);
    for (size_t i = 0; i < producers; i++) {
        a->producers[i].items = calloc(TC_AUDIT_QUEUE_MAX, sizeof(tc_audit_entry *));
        if (a->producers[i].items == NULL)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    a->batch = calloc(producers * TC_AUDIT_QUEUE_MAX, sizeof *a->batch);
    if (a->batch == NULL || sem_init(&a->wake, 0, 0) != 0)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    if ((rc = journal_start(a, err)) != TC_OK)
        return rc;
    if (a->opt.relaxed &&
        (rc = periodic_start(&a->syncer, a->opt.sync_ms, syncer_main, a, err)) != TC_OK)
        return rc;
    if (a->ix_env != NULL && (rc = tc_audit_index_start(a, err)) != TC_OK)
        return rc;
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0)
        return tc_errorf(err, TC_ENOMEM, "audit: cannot start the writer thread");
    a->started = 1;
    return TC_OK;
}

void tc_audit_close(tc_audit *a)
{
    if (a == NULL)
        return;
    if (a->started) {
        atomic_store(&a->stopping, 1);
        sem_post(&a->wake);
        pthread_join(a->thread, NULL);
        sem_destroy(&a->wake);
    }
    /* after the writer: what it journaled goes into the tables, synced there by journal_close
     * (so the journal's own sync thread stops first: it uses the journal's file) */
    periodic_stop(&a->syncer);
    journal_close(a);
    tc_audit_index_close(a); /* after both: their last records are indexed */
    for (size_t i = 0; i < TC_AUDIT_PRODUCERS_MAX; i++) {
        free(a->producers[i].items);
        pthread_mutex_destroy(&a->producers[i].mu);
    }
    pthread_mutex_destroy(&a->stats_mu);
    pthread_mutex_destroy(&a->commit_mu);
    if (a->memory_ready)
        idem_memory_free(&a->memory);
    free(a->batch);
    if (a->env != NULL) {
        if (!a->opt.read_only) /* what was opened or migrated and never started */
            mdb_env_sync(a->env, 1);
        mdb_env_close(a->env);
    }
    free(a->path);
    free(a);
}

int tc_audit_submit(tc_audit *a, size_t producer_index, tc_audit_entry *e)
{
    producer *p = &a->producers[producer_index];
    e->replayed = 0;
    e->conflict = 0;
    e->replay_len = 0;
    pthread_mutex_lock(&p->mu);
    if (p->n == TC_AUDIT_QUEUE_MAX) {
        pthread_mutex_unlock(&p->mu);
        return TC_EBUSY;
    }
    p->items[p->n++] = e;
    pthread_mutex_unlock(&p->mu);
    /* Relaxed mode: a commit is memory and page-cache writes, no disk wait, so when no one is
     * committing the caller commits what is queued itself (this entry and any others) rather
     * than wake the writer and wait for it: one thread hand-over less per answer. While
     * someone commits, entries queue up for the writer's next batch, as in durable mode. */
    if (a->opt.relaxed && pthread_mutex_trylock(&a->commit_mu) == 0) {
        commit_queued(a);
        pthread_mutex_unlock(&a->commit_mu);
        return TC_OK;
    }
    sem_post(&a->wake); /* a futex call only when the writer sleeps */
    return TC_OK;
}

const char *tc_audit_last_error(const tc_audit *a)
{
    return a->last_err.msg;
}

void tc_audit_stats_get(tc_audit *a, tc_audit_stats *out)
{
    pthread_mutex_lock(&a->stats_mu);
    *out = a->stats;
    pthread_mutex_unlock(&a->stats_mu);
}

