/* Reading the audit trail (each call one fresh snapshot), and the model governance records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc_audit_impl.h"

/* ---- reading ---- */

int tc_audit_reader_new(tc_audit *a, tc_audit_reader **out, tc_error *err)
{
    tc_audit_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    r->a = a;
    int mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &r->txn);
    if (mrc != MDB_SUCCESS) {
        free(r);
        return mdb_fail(a, mrc, "starting a read transaction", err);
    }
    mdb_txn_reset(r->txn);
    if (a->ix_env != NULL) {
        if ((mrc = mdb_txn_begin(a->ix_env, NULL, MDB_RDONLY, &r->ix_txn)) != MDB_SUCCESS) {
            tc_audit_reader_free(r);
            return tc_mdb_error(a->ix_path, a->ix_env, mrc, "starting a read transaction", err);
        }
        mdb_txn_reset(r->ix_txn);
    }
    *out = r;
    return TC_OK;
}

void tc_audit_reader_free(tc_audit_reader *r)
{
    if (r == NULL)
        return;
    mdb_txn_abort(r->txn);
    if (r->ix_txn != NULL)
        mdb_txn_abort(r->ix_txn);
    free(r);
}

int tc_audit_reader_begin(tc_audit_reader *r, tc_error *err)
{
    int mrc = mdb_txn_renew(r->txn);
    return mrc == MDB_SUCCESS ? TC_OK : mdb_fail(r->a, mrc, "reading the audit trail", err);
}

const unsigned char *tc_audit_response_find(tc_audit *a, MDB_txn *txn, int in_commit,
                                            const void *key, size_t key_len, int64_t now_us,
                                            size_t *len)
{
    uint64_t seqs[4];
    uint64_t h = idem_memory_hash(&a->memory, key, key_len);
    pthread_mutex_lock(&a->memory.mu);
    size_t n = idem_memory_find(&a->memory, h, seqs, 4);
    pthread_mutex_unlock(&a->memory.mu);
    for (size_t i = 0; i < n; i++) { /* newest first; the stored key settles a collision */
        unsigned char sk[8];
        be64(sk, seqs[i]);
        MDB_val k = {8, sk}, v;
        const unsigned char *j = in_commit ? journal_response(a, seqs[i], &v.mv_size) : NULL;
        if (j != NULL)
            v.mv_data = (void *)j;
        else if (mdb_get(txn, a->responses, &k, &v) != MDB_SUCCESS)
            continue; /* not in the tables yet: the committer settles it */
        if (v.mv_size < RESP_HDR)
            continue;
        const unsigned char *p = v.mv_data;
        size_t stored = (size_t)p[24] << 8 | p[25];
        if (stored != key_len || v.mv_size - RESP_HDR < key_len ||
            memcmp(p + RESP_HDR, key, key_len) != 0)
            continue;
        if (now_us - (int64_t)from_be64(p) >= (int64_t)TC_AUDIT_IDEM_SECONDS * 1000000)
            return NULL;
        *len = v.mv_size;
        return p;
    }
    return NULL;
}

int tc_audit_idem_lookup(tc_audit_reader *r, const char *key, size_t key_len, int64_t now_us,
                         unsigned char digest[16], unsigned char *response,
                         size_t *response_len)
{
    int rc = TC_ENOTFOUND;
    size_t len = 0;
    uint64_t seq;
    idem_memory *m = &r->a->memory;
    uint64_t h = idem_memory_hash(m, key, key_len);
    pthread_mutex_lock(&m->mu);
    size_t candidates = idem_memory_find(m, h, &seq, 1);
    pthread_mutex_unlock(&m->mu);
    /* a new request ID (the usual case) is settled here, without a read transaction */
    if (candidates == 0 || !r->a->has_responses || tc_audit_reader_begin(r, NULL) != TC_OK)
        return TC_ENOTFOUND;
    /* A retry (or a collision of the hash): the answer is in the tables, or still only in the
     * journal, which the commit lock keeps in place while it is read. */
    int in_commit = r->a->j.started;
    if (in_commit)
        pthread_mutex_lock(&r->a->commit_mu);
    const unsigned char *p =
        tc_audit_response_find(r->a, r->txn, in_commit, key, key_len, now_us, &len);
    if (p != NULL && len - RESP_HDR - key_len <= TC_AUDIT_RESPONSE_MAX) {
        memcpy(digest, p + 8, 16);
        memcpy(response, p + RESP_HDR + key_len, len - RESP_HDR - key_len);
        *response_len = len - RESP_HDR - key_len;
        rc = TC_OK;
    }
    if (in_commit)
        pthread_mutex_unlock(&r->a->commit_mu);
    mdb_txn_reset(r->txn);
    return rc;
}

static int read_record(tc_audit *a, MDB_txn *txn, uint64_t seq, tc_audit_record *out,
                       tc_error *err)
{
    unsigned char key[8];
    be64(key, seq);
    MDB_val k = {8, key}, v;
    int mrc = mdb_get(txn, a->audit, &k, &v);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "reading the audit trail", err);
    return tc_audit_decode(v.mv_data, v.mv_size, out, err);
}

typedef struct citizen_walk {
    tc_audit *a;
    MDB_txn *txn; /* the records' snapshot */
    const unsigned char *key;
    uint64_t before_seq; /* 0: no bound */
    size_t limit, n;
    tc_audit_fn fn;
    void *arg;
    int stopped;
    int rc; /* of the walk through the index */
    tc_error *err;
} citizen_walk;

static void emit(citizen_walk *w, const tc_audit_record *rec)
{
    w->n++;
    if (w->fn(rec, w->arg) != 0 || w->n >= w->limit)
        w->stopped = 1;
}

/* The records from sequence number upto on, which the index does not hold yet: newest first,
 * each decoded and compared. Bounded by the indexer's lag (every record, for a copy of a trail
 * without its index). */
static int walk_unindexed(citizen_walk *w, uint64_t upto, tc_error *err)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    tc_audit_record rec;
    int rc = TC_OK, mrc = mdb_cursor_open(w->txn, w->a->audit, &cur);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(w->a, mrc, "reading the audit trail", err);
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST); mrc == MDB_SUCCESS && !w->stopped;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        uint64_t seq = k.mv_size == 8 ? from_be64(k.mv_data) : 0;
        if (seq < upto)
            break;
        if (w->before_seq != 0 && seq >= w->before_seq)
            continue;
        if ((rc = tc_audit_decode(v.mv_data, v.mv_size, &rec, err)) != TC_OK)
            break;
        if (rec.has_citizen && memcmp(rec.citizen, w->key, TC_CITIZEN_KEY_LEN) == 0)
            emit(w, &rec);
    }
    mdb_cursor_close(cur);
    return rc;
}

/* A record the index names for the citizen: read and handed on; nonzero stops the walk. */
static int emit_indexed(uint64_t seq, void *arg)
{
    citizen_walk *w = arg;
    tc_audit_record rec;
    if ((w->rc = read_record(w->a, w->txn, seq, &rec, w->err)) != TC_OK)
        return 1;
    emit(w, &rec);
    return w->stopped;
}

/* The index's entries for the citizen below sequence number below, newest first: its runs
 * (with_runs) and the table dbi of ix_txn. */
static int walk_index(citizen_walk *w, MDB_txn *ix_txn, int with_runs, MDB_dbi dbi, uint64_t below)
{
    int mrc = runs_walk(w->a, ix_txn, with_runs, dbi, w->key, below, emit_indexed, w);
    if (mrc != MDB_SUCCESS && w->rc == TC_OK)
        w->rc = with_runs ? tc_mdb_error(w->a->ix_path, w->a->ix_env, mrc,
                                         "reading the citizen index", w->err)
                          : mdb_fail(w->a, mrc, "reading the audit trail", w->err);
    return w->rc;
}

int tc_audit_by_citizen(tc_audit_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                        uint64_t before_seq, size_t limit, tc_audit_fn fn, void *arg,
                        tc_error *err)
{
    tc_audit *a = r->a;
    citizen_walk w = {a, r->txn, key, before_seq, limit, 0, fn, arg, limit == 0, TC_OK, err};
    int rc, mrc;
    journal_catch_up(a); /* every answer given so far; if it fails, what the tables hold */
    /* the index's snapshot first: every record at or past its mark is in the later one */
    if (r->ix_txn != NULL && (mrc = mdb_txn_renew(r->ix_txn)) != MDB_SUCCESS)
        return tc_mdb_error(a->ix_path, a->ix_env, mrc, "reading the citizen index", err);
    if ((rc = tc_audit_reader_begin(r, err)) != TC_OK) {
        if (r->ix_txn != NULL)
            mdb_txn_reset(r->ix_txn);
        return rc;
    }
    uint64_t below = before_seq != 0 ? before_seq : UINT64_MAX;
    if (r->ix_txn != NULL) {
        uint64_t upto = tc_audit_index_upto(a, r->ix_txn);
        rc = walk_unindexed(&w, upto, err);
        if (rc == TC_OK && !w.stopped)
            rc = walk_index(&w, r->ix_txn, 1, a->ix_citizen, below < upto ? below : upto);
        mdb_txn_reset(r->ix_txn);
    } else if (a->has_old_citizen) { /* a copy made before the index had its own place */
        rc = walk_index(&w, r->txn, 0, a->by_citizen, below);
    } else { /* a copy without its index */
        rc = walk_unindexed(&w, 0, err);
    }
    mdb_txn_reset(r->txn);
    return rc;
}

/* The time of the record at or after sequence number seq (cur placed on it), or INT64_MAX. */
static int64_t time_at(MDB_cursor *cur, uint64_t seq, uint64_t *found)
{
    unsigned char key[8];
    be64(key, seq);
    MDB_val k = {8, key}, v;
    tc_audit_record rec;
    if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) != MDB_SUCCESS || k.mv_size != 8 ||
        tc_audit_decode(v.mv_data, v.mv_size, &rec, NULL) != TC_OK)
        return INT64_MAX;
    *found = from_be64(k.mv_data);
    return rec.time_us;
}

/* Where a scan from from_us starts: bisection over the sequence numbers for the first record
 * whose time may be at or after it. */
static uint64_t first_seq_from(MDB_cursor *cur, int64_t from_us)
{
    MDB_val k, v;
    if (from_us <= 0 || mdb_cursor_get(cur, &k, &v, MDB_FIRST) != MDB_SUCCESS || k.mv_size != 8)
        return 0;
    uint64_t lo = from_be64(k.mv_data), hi;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) != MDB_SUCCESS || k.mv_size != 8)
        return 0;
    hi = from_be64(k.mv_data) + 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, found = mid;
        if (time_at(cur, mid, &found) < from_us - BATCH_SKEW_US)
            lo = found + 1;
        else
            hi = mid;
    }
    return lo;
}

int tc_audit_scan(tc_audit_reader *r, int64_t from_us, int64_t to_us, tc_audit_fn fn,
                  void *arg, tc_error *err)
{
    tc_audit *a = r->a;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    journal_catch_up(a);
    int rc = tc_audit_reader_begin(r, err);
    if (rc != TC_OK)
        return rc;
    int mrc = mdb_cursor_open(r->txn, a->audit, &cur);
    if (mrc != MDB_SUCCESS) {
        mdb_txn_reset(r->txn);
        return mdb_fail(a, mrc, "reading the audit trail", err);
    }
    tc_audit_record rec;
    unsigned char start[8];
    be64(start, first_seq_from(cur, from_us));
    k.mv_size = 8;
    k.mv_data = start;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == MDB_SUCCESS;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if ((rc = tc_audit_decode(v.mv_data, v.mv_size, &rec, err)) != TC_OK)
            break;
        if (to_us != 0 && rec.time_us > to_us + BATCH_SKEW_US)
            break;
        if (rec.time_us < from_us || (to_us != 0 && rec.time_us >= to_us))
            continue;
        if (fn(&rec, arg) != 0)
            break;
    }
    mdb_cursor_close(cur);
    mdb_txn_reset(r->txn);
    return rc;
}

int tc_audit_governance_append(tc_audit *a, const char *record, size_t len, uint64_t *seq,
                               tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    unsigned char key[8];
    if (a->opt.read_only || !a->has_governance)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", a->path);
    if (len == 0 || len > TC_AUDIT_GOVERNANCE_MAX)
        return tc_errorf(err, TC_EINVAL, "governance record of %zu bytes (1 to %d)", len,
                         TC_AUDIT_GOVERNANCE_MAX);
    int mrc = mdb_txn_begin(a->env, NULL, 0, &txn);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_open(txn, a->governance, &cur);
    uint64_t next = 1;
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (mrc == MDB_SUCCESS && k.mv_size == 8)
            next = from_be64(k.mv_data) + 1;
        if (mrc == MDB_NOTFOUND || mrc == MDB_SUCCESS)
            mrc = MDB_SUCCESS;
        mdb_cursor_close(cur);
    }
    if (mrc == MDB_SUCCESS) {
        be64(key, next);
        MDB_val nk = {8, key}, nv = {len, (void *)record};
        mrc = mdb_put(txn, a->governance, &nk, &nv, MDB_APPEND);
    }
    if (mrc == MDB_SUCCESS) {
        mrc = tc_audit_commit_synced(a, txn);
        txn = NULL;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "writing a governance record", err);
    if (seq != NULL)
        *seq = next;
    return TC_OK;
}

int tc_audit_governance_scan(tc_audit_reader *r, tc_audit_governance_fn fn, void *arg,
                             tc_error *err)
{
    tc_audit *a = r->a;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if (!a->has_governance)
        return TC_OK;
    int rc = tc_audit_reader_begin(r, err);
    if (rc != TC_OK)
        return rc;
    int mrc = mdb_cursor_open(r->txn, a->governance, &cur);
    if (mrc != MDB_SUCCESS) {
        mdb_txn_reset(r->txn);
        return mdb_fail(a, mrc, "reading the governance records", err);
    }
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == MDB_SUCCESS;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8)
            continue;
        if (fn(from_be64(k.mv_data), v.mv_data, v.mv_size, arg) != 0)
            break;
    }
    mdb_cursor_close(cur);
    mdb_txn_reset(r->txn);
    return TC_OK;
}

size_t tc_audit_count(tc_audit_reader *r)
{
    MDB_stat st;
    size_t n = 0;
    journal_catch_up(r->a);
    if (tc_audit_reader_begin(r, NULL) != TC_OK)
        return 0;
    if (mdb_stat(r->txn, r->a->audit, &st) == MDB_SUCCESS)
        n = st.ms_entries;
    mdb_txn_reset(r->txn);
    return n;
}
