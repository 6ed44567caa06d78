/* Consents and their history in the store (see tc_store.h and tc_consent.h): reading them,
 * granting, revoking, and the one-time protection of references stored with a digit run. */
#include <stdlib.h>
#include <string.h>

#include "tc_store_impl.h"
#include "tc_text.h"

static int get_consent(tc_store *s, MDB_txn *txn, const unsigned char key[TC_CITIZEN_KEY_LEN],
                       const char *institution, const char *purpose, tc_consent *out,
                       tc_error *err)
{
    unsigned char kb[TC_CONSENT_KEY_MAX];
    MDB_val k = {tc_consent_key(key, institution, purpose, kb), kb}, v;
    int mrc = mdb_get(txn, s->consents, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return tc_errorf(err, TC_ENOTFOUND, "no consent on record");
    if (mrc != MDB_SUCCESS)
        return tc_store_mdb_error(s, mrc, "reading a consent", err);
    return tc_consent_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, out, err);
}

int tc_reader_consent(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                      const char *institution, const char *purpose, tc_consent *out,
                      tc_error *err)
{
    return get_consent(r->s, r->txn, key, institution, purpose, out, err);
}

int tc_writer_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                      const char *institution, const char *purpose, tc_consent *out,
                      tc_error *err)
{
    return get_consent(w->s, w->txn, key, institution, purpose, out, err);
}

int tc_store_seek_consents(MDB_cursor *cur, const unsigned char key[TC_CITIZEN_KEY_LEN], MDB_val *k,
                           MDB_val *v)
{
    k->mv_size = TC_CITIZEN_KEY_LEN;
    k->mv_data = (void *)key;
    int mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (mrc == MDB_SUCCESS && k->mv_size == TC_CITIZEN_KEY_LEN &&
        memcmp(k->mv_data, key, TC_CITIZEN_KEY_LEN) == 0) /* the record, in format 2 */
        mrc = mdb_cursor_get(cur, k, v, MDB_NEXT);
    return mrc;
}

/* Visit every consent entry whose key starts with the citizen key. */
int tc_store_scan_consents(tc_store *s, MDB_txn *txn, const unsigned char key[TC_CITIZEN_KEY_LEN],
                         int delete, tc_consent_fn fn, void *arg, size_t *count, tc_error *err)
{
    int rc = TC_OK;
    MDB_cursor *cur = NULL;
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, v;
    *count = 0;
    MDB_CHECK(mdb_cursor_open(txn, s->consents, &cur), "opening a cursor");
    int mrc = tc_store_seek_consents(cur, key, &k, &v);
    while (mrc == MDB_SUCCESS && tc_store_is_consent_of(&k, key)) {
        (*count)++;
        if (delete) {
            /* Re-seek after each delete rather than trusting the cursor's position. */
            MDB_CHECK(mdb_cursor_del(cur, 0), "erasing a consent");
            mrc = tc_store_seek_consents(cur, key, &k, &v);
            continue;
        }
        if (fn != NULL) {
            tc_consent c;
            if ((rc = tc_consent_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &c, err)) !=
                TC_OK)
                goto out;
            if (fn(&c, arg) != 0)
                goto out;
        }
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "listing consents");
out:
    if (cur != NULL)
        mdb_cursor_close(cur);
    return rc;
}

int tc_reader_consents(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                       tc_consent_fn fn, void *arg, tc_error *err)
{
    size_t n;
    return tc_store_scan_consents(r->s, r->txn, key, 0, fn, arg, &n, err);
}

/* Visit (or delete) every replaced consent of one citizen. */
int tc_store_scan_history(tc_store *s, MDB_txn *txn, const unsigned char key[TC_CITIZEN_KEY_LEN],
                        int delete, tc_history_fn fn, void *arg, size_t *count, tc_error *err)
{
    int rc = TC_OK;
    MDB_cursor *cur = NULL;
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, v;
    *count = 0;
    if (!s->has_history)
        return TC_OK;
    MDB_CHECK(mdb_cursor_open(txn, s->history, &cur), "opening a cursor");
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && k.mv_size > TC_CITIZEN_KEY_LEN + HISTORY_SUFFIX &&
           memcmp(k.mv_data, key, TC_CITIZEN_KEY_LEN) == 0) {
        (*count)++;
        if (delete) {
            MDB_CHECK(mdb_cursor_del(cur, 0), "erasing a replaced consent");
            k.mv_size = TC_CITIZEN_KEY_LEN;
            k.mv_data = (void *)key;
            mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            continue;
        }
        const unsigned char *p = k.mv_data;
        size_t ck_len = k.mv_size - HISTORY_SUFFIX;
        uint64_t at = 0;
        for (int i = 0; i < 8; i++)
            at = at << 8 | p[ck_len + 1 + i];
        tc_consent c;
        if ((rc = tc_consent_decode(p, ck_len, v.mv_data, v.mv_size, &c, err)) != TC_OK)
            goto out;
        if (fn(&c, (int64_t)at, arg) != 0)
            goto out;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "listing replaced consents");
out:
    if (cur != NULL)
        mdb_cursor_close(cur);
    return rc;
}

int tc_reader_consent_history(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                              tc_history_fn fn, void *arg, tc_error *err)
{
    size_t n;
    return tc_store_scan_history(r->s, r->txn, key, 0, fn, arg, &n, err);
}

/* The history key of a consent replaced at time at: its consent key, NUL, the time (u64 BE),
 * then n (u32 BE) to tell apart two replacements within one second. */

static size_t history_key(const unsigned char *ck, size_t ck_len, int64_t at, uint32_t n,
                          unsigned char out[TC_CONSENT_KEY_MAX + HISTORY_SUFFIX])
{
    memcpy(out, ck, ck_len);
    out[ck_len] = '\0';
    for (int i = 0; i < 8; i++)
        out[ck_len + 1 + i] = (unsigned char)((uint64_t)at >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        out[ck_len + 9 + i] = (unsigned char)(n >> (24 - 8 * i));
    return ck_len + HISTORY_SUFFIX;
}

/* Keep the consent value old (under consent key k) in the history, as replaced at now. */
static int keep_in_history(tc_writer *w, const MDB_val *k, const MDB_val *old, int64_t now,
                           tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    unsigned char hk[TC_CONSENT_KEY_MAX + HISTORY_SUFFIX];
    for (uint32_t n = 0;; n++) {
        MDB_val h = {history_key(k->mv_data, k->mv_size, now, n, hk), hk};
        MDB_val v = *old;
        int mrc = mdb_put(w->txn, s->history, &h, &v, MDB_NOOVERWRITE);
        if (mrc == MDB_KEYEXIST)
            continue;
        MDB_CHECK(mrc, "keeping a replaced consent");
        break;
    }
out:
    return rc;
}

int tc_writer_put_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                          const tc_consent *c, int64_t now, int *changed, tc_consent *previous,
                          tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    unsigned char kb[TC_CONSENT_KEY_MAX], vb[TC_CONSENT_VALUE_MAX];
    MDB_val k = {tc_consent_key(key, c->institution, c->purpose, kb), kb};
    MDB_val v = {tc_consent_encode(c, vb), vb}, old;
    if (previous != NULL)
        previous->granted_at = 0; /* none */
    int mrc = mdb_get(w->txn, s->consents, &k, &old);
    if (mrc == MDB_SUCCESS && old.mv_size == v.mv_size &&
        memcmp(old.mv_data, v.mv_data, v.mv_size) == 0) {
        if (changed != NULL)
            *changed = 0;
        return TC_OK;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "reading a consent");
    if (mrc == MDB_SUCCESS) { /* a grant replaces a consent: the old one is not forgotten */
        if (previous != NULL &&
            (rc = tc_consent_decode(k.mv_data, k.mv_size, old.mv_data, old.mv_size, previous,
                                    err)) != TC_OK)
            goto out;
        if ((rc = keep_in_history(w, &k, &old, now, err)) != TC_OK)
            goto out;
    }
    MDB_CHECK(mdb_put(w->txn, s->consents, &k, &v, 0), "writing a consent");
    if (mrc == MDB_NOTFOUND)
        w->added_consents++;
    if (changed != NULL)
        *changed = 1;
out:
    return rc;
}

int tc_writer_append_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                             const tc_consent *c, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    unsigned char kb[TC_CONSENT_KEY_MAX], vb[TC_CONSENT_VALUE_MAX];
    MDB_val k = {tc_consent_key(key, c->institution, c->purpose, kb), kb};
    MDB_val v = {tc_consent_encode(c, vb), vb};
    MDB_CHECK(mdb_put(w->txn, s->consents, &k, &v, MDB_APPEND), "appending a consent");
    w->added_consents++;
out:
    return rc;
}

int tc_writer_revoke_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                             const char *institution, const char *purpose, int64_t at,
                             tc_consent *out_c, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    unsigned char kb[TC_CONSENT_KEY_MAX];
    MDB_val k = {tc_consent_key(key, institution, purpose, kb), kb}, v;
    int mrc = mdb_get(w->txn, s->consents, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return tc_errorf(err, TC_ENOTFOUND, "no consent on record");
    MDB_CHECK(mrc, "reading a consent");
    tc_consent c;
    if ((rc = tc_consent_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &c, err)) != TC_OK)
        goto out;
    if (c.revoked_at == 0 || c.revoked_at > at) { /* else keep the first revocation time */
        c.revoked_at = at < c.granted_at ? c.granted_at : at;
        /* the same consent, revoked: updated in place, not replaced */
        unsigned char vb[TC_CONSENT_VALUE_MAX];
        MDB_val nv = {tc_consent_encode(&c, vb), vb};
        MDB_CHECK(mdb_put(w->txn, s->consents, &k, &nv, 0), "revoking a consent");
    }
    if (out_c != NULL)
        *out_c = c;
out:
    return rc;
}

static int any_consent(tc_store *s, MDB_txn *txn, const unsigned char key[TC_CITIZEN_KEY_LEN])
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if (mdb_cursor_open(txn, s->consents, &cur) != MDB_SUCCESS)
        return 0;
    int found =
        tc_store_seek_consents(cur, key, &k, &v) == MDB_SUCCESS && tc_store_is_consent_of(&k, key);
    mdb_cursor_close(cur);
    return found;
}

int tc_writer_has_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN])
{
    return any_consent(w->s, w->txn, key);
}

typedef struct valid_probe {
    int64_t now;
    int found;
} valid_probe;

static int probe_valid(const tc_consent *c, void *arg)
{
    valid_probe *p = arg;
    p->found = tc_consent_valid_at(c, p->now);
    return p->found;
}

int tc_reader_has_consent(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN], int64_t now)
{
    valid_probe p = {now, 0};
    size_t n;
    if (tc_store_scan_consents(r->s, r->txn, key, 0, probe_valid, &p, &n, NULL) != TC_OK)
        return 0;
    return p.found;
}

/* Protect, in one table, the consent references that were stored as they came although they
 * hold a digit run (databases written before references were protected): batches of this many
 * per transaction, so that a large table never outgrows one. */
#define PROTECT_BATCH 100000

static int protect_table(tc_store *s, MDB_dbi dbi, size_t key_tail, tc_hasher *h,
                         tc_error *err)
{
    int rc = TC_OK, mrc, more = 1;
    unsigned char from[TC_CONSENT_KEY_MAX + HISTORY_SUFFIX];
    size_t from_len = 0;
    while (more && rc == TC_OK) {
        MDB_txn *txn = NULL;
        MDB_cursor *cur = NULL;
        MDB_val k = {from_len, from}, v;
        size_t n = 0;
        MDB_CHECK(mdb_txn_begin(s->env, NULL, 0, &txn), "protecting consent references");
        MDB_CHECK(mdb_cursor_open(txn, dbi, &cur), "protecting consent references");
        mrc = mdb_cursor_get(cur, &k, &v, from_len ? MDB_SET_RANGE : MDB_FIRST);
        for (; mrc == MDB_SUCCESS && n < PROTECT_BATCH; n++) {
            tc_consent c;
            unsigned char vb[TC_CONSENT_VALUE_MAX];
            if (k.mv_size > TC_CITIZEN_KEY_LEN + key_tail && /* not a record (format 2) */
                tc_consent_decode(k.mv_data, k.mv_size - key_tail, v.mv_data, v.mv_size, &c,
                                  NULL) == TC_OK &&
                !c.ref_hashed && tc_text_has_id_run(c.ref, strlen(c.ref))) {
                if ((rc = tc_consent_protect_ref(&c, h)) != TC_OK)
                    break;
                MDB_val nv = {tc_consent_encode(&c, vb), vb};
                MDB_CHECK(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), "protecting a reference");
            }
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        more = mrc == MDB_SUCCESS;
        if (more) { /* the next batch starts at this key */
            from_len = k.mv_size <= sizeof from ? k.mv_size : sizeof from;
            memcpy(from, k.mv_data, from_len);
        } else if (mrc != MDB_NOTFOUND) {
            MDB_CHECK(mrc, "protecting consent references");
        }
        mdb_cursor_close(cur);
        cur = NULL;
        mrc = mdb_txn_commit(txn);
        txn = NULL;
        MDB_CHECK(mrc, "protecting consent references");
    out:
        if (cur != NULL)
            mdb_cursor_close(cur);
        if (txn != NULL)
            mdb_txn_abort(txn);
    }
    return rc;
}

/* Once per database, at its first read-write opening with the secret (tc_consent.h): no
 * consent reference in it may keep a citizen ID in the clear. Old copies stay in LMDB's free
 * pages until overwritten; a compacted snapshot (tc_store_snapshot) drops them. */
int tc_store_protect_old_refs(tc_store *s, const tc_key *key, tc_error *err)
{
    int rc = TC_OK;
    MDB_txn *txn = NULL;
    MDB_val v;
    tc_hasher *h = NULL;
    MDB_CHECK(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "reading meta");
    int done = meta_get(txn, s->meta, "refs_protected", &v) == MDB_SUCCESS;
    mdb_txn_abort(txn);
    txn = NULL;
    if (done)
        return TC_OK;
    if ((rc = tc_hasher_new(key, &h, err)) != TC_OK ||
        (rc = protect_table(s, s->consents, 0, h, err)) != TC_OK ||
        (s->has_history && (rc = protect_table(s, s->history, HISTORY_SUFFIX, h, err)) != TC_OK))
        goto out;
    MDB_CHECK(mdb_txn_begin(s->env, NULL, 0, &txn), "writing meta");
    MDB_CHECK(meta_put(txn, s->meta, "refs_protected", "1", 1), "writing meta");
    int mrc = mdb_txn_commit(txn);
    txn = NULL;
    MDB_CHECK(mrc, "writing meta");
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    tc_hasher_free(h);
    return rc;
}

