/* Shipping records to a consolidated trail: the trail's identity, what is durable and how far
 * it was shipped (the node's side), and taking shipped records in exactly once (the steward
 * node's side). See tc_audit.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "tc_audit_impl.h"

static const char TRAIL_ID_KEY[] = "trail_id";
static const char SHIPPED_KEY[] = "shipped";             /* in the citizen index's meta */
static const char POSITION_KEY[] = "collected_position"; /* a consolidated trail's */
#define POSITION_MAX 47

/* ---- identity ---- */

int tc_audit_identity(tc_audit *a, MDB_txn *txn, int read_only, tc_error *err)
{
    MDB_val k = {sizeof TRAIL_ID_KEY - 1, (void *)TRAIL_ID_KEY}, v;
    int mrc = mdb_get(txn, a->meta, &k, &v);
    if (mrc == MDB_SUCCESS && v.mv_size == TC_AUDIT_TRAIL_ID_LEN) {
        memcpy(a->trail_id, v.mv_data, TC_AUDIT_TRAIL_ID_LEN);
        a->trail_id[TC_AUDIT_TRAIL_ID_LEN] = '\0';
        return TC_OK;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return mdb_fail(a, mrc, "reading meta", err);
    if (read_only)
        return TC_OK; /* a trail from before identities: it has none until opened read-write */
    unsigned char rnd[TC_AUDIT_TRAIL_ID_LEN / 2];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return tc_errorf(err, TC_EIO, "%s: no random bytes for the trail's identity", a->path);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(a->trail_id + 2 * i, 3, "%02x", rnd[i]);
    v = (MDB_val){TC_AUDIT_TRAIL_ID_LEN, a->trail_id};
    if ((mrc = mdb_put(txn, a->meta, &k, &v, 0)) != MDB_SUCCESS)
        return mdb_fail(a, mrc, "initialising", err);
    return TC_OK;
}

const char *tc_audit_trail_id(const tc_audit *a)
{
    return a->trail_id;
}

uint64_t tc_audit_durable_seq(tc_audit *a)
{
    return atomic_load_explicit(&a->durable_seq, memory_order_acquire);
}

/* ---- the node's side ---- */

int tc_audit_records_after(tc_audit_reader *r, uint64_t after, uint64_t upto, size_t limit,
                           tc_audit_fn fn, void *arg, tc_error *err)
{
    tc_audit *a = r->a;
    MDB_cursor *cur = NULL;
    unsigned char kb[8];
    be64(kb, after + 1);
    MDB_val k = {8, kb}, v;
    if (upto > atomic_load_explicit(&a->j.applied, memory_order_acquire))
        journal_catch_up(a);
    int rc = tc_audit_reader_begin(r, err);
    if (rc != TC_OK)
        return rc;
    int mrc = mdb_cursor_open(r->txn, a->audit, &cur);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (size_t n = 0; mrc == MDB_SUCCESS && n < limit; n++) {
        if (k.mv_size != 8 || from_be64(k.mv_data) > upto)
            break;
        tc_audit_record rec;
        if ((rc = tc_audit_decode(v.mv_data, v.mv_size, &rec, err)) != TC_OK)
            break;
        rec.seq = from_be64(k.mv_data);
        if (fn(&rec, arg) != 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == TC_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = mdb_fail(a, mrc, "reading the audit trail", err);
    if (cur != NULL)
        mdb_cursor_close(cur);
    mdb_txn_reset(r->txn);
    return rc;
}

/* The position is kept beside the citizen index, whose environment only threads of this
 * process write and whose commits no reply waits for. */
int tc_audit_shipped_get(tc_audit *a, uint64_t *seq, tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_val k = {sizeof SHIPPED_KEY - 1, (void *)SHIPPED_KEY}, v;
    *seq = 0;
    if (a->ix_env == NULL)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", a->path);
    int mrc = mdb_txn_begin(a->ix_env, NULL, MDB_RDONLY, &txn);
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_get(txn, a->ix_meta, &k, &v);
        if (mrc == MDB_SUCCESS && v.mv_size == 8)
            *seq = from_be64(v.mv_data);
        mdb_txn_abort(txn);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return tc_mdb_error(a->ix_path, a->ix_env, mrc, "reading the shipped position", err);
    return TC_OK;
}

int tc_audit_shipped_set(tc_audit *a, uint64_t seq, tc_error *err)
{
    MDB_txn *txn = NULL;
    unsigned char b[8];
    be64(b, seq);
    MDB_val k = {sizeof SHIPPED_KEY - 1, (void *)SHIPPED_KEY}, v = {8, b};
    if (a->ix_env == NULL)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", a->path);
    int mrc = mdb_txn_begin(a->ix_env, NULL, 0, &txn);
    if (mrc == MDB_SUCCESS && (mrc = mdb_put(txn, a->ix_meta, &k, &v, 0)) == MDB_SUCCESS) {
        mrc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (mrc != MDB_SUCCESS)
        return tc_mdb_error(a->ix_path, a->ix_env, mrc, "writing the shipped position", err);
    return TC_OK;
}

/* ---- the steward node's side ---- */

/* An origins value: the last sequence number taken (u64 BE), then the node's name. */
static uint64_t origin_last(MDB_txn *txn, MDB_dbi dbi, const char *trail, int *mrc)
{
    MDB_val k = {TC_AUDIT_TRAIL_ID_LEN, (void *)trail}, v;
    *mrc = mdb_get(txn, dbi, &k, &v);
    if (*mrc == MDB_NOTFOUND) {
        *mrc = MDB_SUCCESS;
        return 0;
    }
    return *mrc == MDB_SUCCESS && v.mv_size >= 8 ? from_be64(v.mv_data) : 0;
}

static int origin_put(MDB_txn *txn, MDB_dbi dbi, const tc_audit_record *rec)
{
    unsigned char b[8 + TC_AUDIT_TEXT_MAX];
    size_t nl = strnlen(rec->node, TC_AUDIT_TEXT_MAX);
    be64(b, rec->origin_seq);
    memcpy(b + 8, rec->node, nl);
    MDB_val k = {TC_AUDIT_TRAIL_ID_LEN, (void *)rec->origin_trail}, v = {8 + nl, b};
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int append_one(tc_audit *a, MDB_txn *txn, const tc_audit_record *in, tc_audit_collected *out)
{
    int mrc;
    uint64_t last = origin_last(txn, a->origins, in->origin_trail, &mrc);
    if (mrc != MDB_SUCCESS)
        return mrc;
    if (in->origin_seq <= last) {
        out->duplicates++;
        return MDB_SUCCESS;
    }
    if (in->origin_seq > last + 1) {
        out->missing += in->origin_seq - last - 1;
        snprintf(out->missing_node, sizeof out->missing_node, "%s", in->node);
    }
    tc_audit_record rec = *in;
    unsigned char kb[8], vb[2048];
    rec.seq = a->next_seq;
    size_t len = tc_audit_encode(&rec, vb, sizeof vb);
    if (len == 0)
        return MDB_BAD_VALSIZE;
    be64(kb, rec.seq);
    MDB_val k = {8, kb}, v = {len, vb};
    if ((mrc = mdb_put(txn, a->audit, &k, &v, MDB_APPEND)) != MDB_SUCCESS ||
        (mrc = origin_put(txn, a->origins, &rec)) != MDB_SUCCESS)
        return mrc;
    a->next_seq++;
    out->appended++;
    return MDB_SUCCESS;
}

int tc_audit_collect(tc_audit *a, const tc_audit_record *recs, size_t n, const char *position,
                     tc_audit_collected *out, tc_error *err)
{
    MDB_txn *txn = NULL;
    size_t plen = strlen(position);
    memset(out, 0, sizeof *out);
    if (!a->started || !a->has_origins)
        return tc_errorf(err, TC_EINVAL, "%s: not open for collecting", a->path);
    if (plen > POSITION_MAX)
        return tc_errorf(err, TC_EINVAL, "a broker position of %zu characters", plen);
    for (size_t i = 0; i < n; i++)
        if (strlen(recs[i].origin_trail) != TC_AUDIT_TRAIL_ID_LEN || recs[i].origin_seq == 0)
            return tc_errorf(err, TC_EINVAL, "record %zu names no origin", i + 1);
    pthread_mutex_lock(&a->commit_mu);
    journal_catch_up(a); /* records are appended in sequence order */
    uint64_t seq0 = a->next_seq;
    int mrc = mdb_txn_begin(a->env, NULL, 0, &txn);
    for (size_t i = 0; mrc == MDB_SUCCESS && i < n; i++)
        mrc = append_one(a, txn, &recs[i], out);
    if (mrc == MDB_SUCCESS) {
        MDB_val k = {sizeof POSITION_KEY - 1, (void *)POSITION_KEY}, v = {plen, (void *)position};
        mrc = mdb_put(txn, a->meta, &k, &v, 0);
    }
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    int rc = TC_OK;
    if (mrc != MDB_SUCCESS) {
        a->next_seq = seq0;
        rc = mdb_fail(a, mrc, "writing the consolidated trail", err);
    } else if (!a->opt.relaxed && (mrc = mdb_env_sync(a->env, 1)) != MDB_SUCCESS) {
        /* in the tables, not known to be on disk: the caller keeps its position, so the broker
         * delivers them again, and the origins table counts them as duplicates */
        atomic_store_explicit(&a->committed_seq, a->next_seq - 1, memory_order_release);
        rc = mdb_fail(a, mrc, "syncing the consolidated trail to disk", err);
    } else {
        tc_audit_committed(a);
    }
    pthread_mutex_unlock(&a->commit_mu);
    return rc;
}

int tc_audit_collect_position(tc_audit *a, char *out, size_t size, tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_val k = {sizeof POSITION_KEY - 1, (void *)POSITION_KEY}, v;
    out[0] = '\0';
    int mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_get(txn, a->meta, &k, &v);
        if (mrc == MDB_SUCCESS && v.mv_size < size) {
            memcpy(out, v.mv_data, v.mv_size);
            out[v.mv_size] = '\0';
        }
        mdb_txn_abort(txn);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return mdb_fail(a, mrc, "reading the collected position", err);
    return TC_OK;
}
