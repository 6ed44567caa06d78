/* The steward's writes in the audit trail (see tc_audit.h): JSON records, appended in durable
 * transactions of their own beside the writer's Score batches (LMDB serialises the two). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tc_audit_impl.h"
#include "tc_time.h"

const char *tc_steward_action_name(tc_steward_action a)
{
    switch (a) {
    case TC_STEWARD_GRANT:
        return "grant";
    case TC_STEWARD_REVOKE:
        return "revoke";
    case TC_STEWARD_ERASE:
        return "erase";
    case TC_STEWARD_PUT:
        return "put";
    }
    return "?";
}

static json_t *time_or_null(int64_t t)
{
    char text[TC_TIME_TEXT_LEN];
    if (t == 0)
        return json_null();
    tc_time_format(t, text);
    return json_string(text);
}

/* The consent as kept: its reference is already redacted when it held a digit run. */
static json_t *consent_json(const tc_consent *c)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "institution", c->institution,
                     "purpose", c->purpose, "consent_ref", c->ref, "consent_ref_hashed",
                     c->ref_hashed, "granted_at", time_or_null(c->granted_at), "expires_at",
                     time_or_null(c->expires_at), "revoked_at", time_or_null(c->revoked_at));
}

char *tc_audit_steward_json(uint64_t seq, const tc_audit_steward *r)
{
    char time[TC_TIME_US_TEXT_LEN], key[2 * TC_CITIZEN_KEY_LEN + 1];
    tc_time_format_us(r->time_us, time);
    tc_hex(r->citizen, TC_CITIZEN_KEY_LEN, key);
    json_t *j = json_pack("{s:I, s:s, s:s, s:{s:s, s:s}, s:s}", "seq", (json_int_t)seq, "time",
                          time, "action", tc_steward_action_name(r->action), "by", "institution",
                          r->institution, "identity", r->identity, "citizen_key", key);
    if (j == NULL)
        return NULL;
    if (r->has_consent)
        json_object_set_new(j, "consent", consent_json(&r->consent));
    if (r->has_previous)
        json_object_set_new(j, "previous", consent_json(&r->previous));
    json_object_set_new(j, "changed", json_boolean(r->changed));
    if (r->action == TC_STEWARD_ERASE)
        json_object_set_new(j, "consents_erased", json_integer(r->consents_erased));
    json_object_set_new(j, "applied", json_boolean(r->applied));
    if (!r->applied)
        json_object_set_new(j, "error", json_string(r->error));
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return text;
}

static int append_one(tc_audit *a, MDB_txn *txn, uint64_t seq, const tc_audit_steward *r)
{
    unsigned char key[8], ck[TC_CITIZEN_KEY_LEN + 8];
    char *text = tc_audit_steward_json(seq, r);
    if (text == NULL)
        return ENOMEM;
    be64(key, seq);
    MDB_val k = {8, key}, v = {strlen(text), text};
    int mrc = mdb_put(txn, a->steward, &k, &v, MDB_APPEND);
    free(text);
    if (mrc != MDB_SUCCESS)
        return mrc;
    memcpy(ck, r->citizen, TC_CITIZEN_KEY_LEN);
    be64(ck + TC_CITIZEN_KEY_LEN, seq);
    MDB_val cv = {sizeof ck, ck}, empty = {0, NULL};
    return mdb_put(txn, a->steward_citizen, &cv, &empty, 0);
}

int tc_audit_steward_append(tc_audit *a, const tc_audit_steward *r, const unsigned char *citizens,
                            const unsigned char *changed, size_t n, tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if (a->opt.read_only || !a->has_steward)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", a->path);
    int mrc = mdb_txn_begin(a->env, NULL, 0, &txn);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_open(txn, a->steward, &cur);
    uint64_t next = 1;
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (mrc == MDB_SUCCESS && k.mv_size == 8)
            next = from_be64(k.mv_data) + 1;
        if (mrc == MDB_NOTFOUND)
            mrc = MDB_SUCCESS;
        mdb_cursor_close(cur);
    }
    if (citizens == NULL) {
        if (mrc == MDB_SUCCESS)
            mrc = append_one(a, txn, next, r);
    } else {
        tc_audit_steward one = *r;
        for (size_t i = 0; mrc == MDB_SUCCESS && i < n; i++) {
            memcpy(one.citizen, citizens + i * TC_CITIZEN_KEY_LEN, TC_CITIZEN_KEY_LEN);
            if (changed != NULL)
                one.changed = changed[i];
            mrc = append_one(a, txn, next + i, &one);
        }
    }
    /* a steward write waits for the disk in both modes: it is rare, and a lost record would be
     * a write nobody can account for */
    if (mrc == MDB_SUCCESS) {
        mrc = tc_audit_commit_synced(a, txn);
        txn = NULL;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (mrc == MDB_MAP_FULL)
        return tc_errorf(err, TC_EFULL, "%s: writing a steward record: its map is full: raise "
                         "audit_map_size", a->path);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "writing a steward record", err);
    return TC_OK;
}

int tc_audit_steward_scan(tc_audit_reader *r, const unsigned char *citizen,
                          tc_audit_governance_fn fn, void *arg, tc_error *err)
{
    tc_audit *a = r->a;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    unsigned char probe[TC_CITIZEN_KEY_LEN];
    if (!a->has_steward)
        return TC_OK;
    int rc = tc_audit_reader_begin(r, err);
    if (rc != TC_OK)
        return rc;
    int mrc = mdb_cursor_open(r->txn, citizen != NULL ? a->steward_citizen : a->steward, &cur);
    if (mrc == MDB_SUCCESS && citizen != NULL) {
        memcpy(probe, citizen, TC_CITIZEN_KEY_LEN);
        k.mv_size = sizeof probe;
        k.mv_data = probe;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else if (mrc == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq;
        if (citizen != NULL) { /* citizen key + seq: look the record up */
            if (k.mv_size != TC_CITIZEN_KEY_LEN + 8 ||
                memcmp(k.mv_data, citizen, TC_CITIZEN_KEY_LEN) != 0)
                break;
            unsigned char sk[8];
            seq = from_be64((const unsigned char *)k.mv_data + TC_CITIZEN_KEY_LEN);
            be64(sk, seq);
            MDB_val rk = {8, sk};
            if ((mrc = mdb_get(r->txn, a->steward, &rk, &v)) != MDB_SUCCESS)
                break;
        } else if (k.mv_size == 8) {
            seq = from_be64(k.mv_data);
        } else {
            continue;
        }
        if (fn(seq, v.mv_data, v.mv_size, arg) != 0)
            break;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = mdb_fail(a, mrc, "reading the steward records", err);
    if (cur != NULL)
        mdb_cursor_close(cur);
    mdb_txn_reset(r->txn);
    return rc;
}
