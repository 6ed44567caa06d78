/* Consent events applied to the store by version (see tc_events.h). */
#include <stdlib.h>
#include <string.h>

#include "tc_events.h"

/* A version record: version (u64 BE) then kind (1 byte), so that records compare as bytes. */
#define VERSION_LEN 9

struct tc_events {
    tc_store *store;
    MDB_dbi versions; /* consent key -> version record; citizen key -> its erasure's */
    MDB_dbi state;    /* "position" -> the last stream entry applied */
};

static const char POSITION_KEY[] = "position";

int tc_events_open(tc_store *s, tc_events **out, tc_error *err)
{
    int rc;
    tc_events *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    ev->store = s;
    if ((rc = tc_store_dbi(s, "feed_versions", 0, &ev->versions, err)) != TC_OK ||
        (rc = tc_store_dbi(s, "feed_state", 0, &ev->state, err)) != TC_OK) {
        free(ev);
        return rc;
    }
    *out = ev;
    return TC_OK;
}

void tc_events_close(tc_events *ev)
{
    free(ev);
}

int tc_event_validate(const tc_event *e, tc_error *err)
{
    const tc_consent *c = &e->consent;
    int rc;
    if (e->kind != TC_EVENT_GRANT && e->kind != TC_EVENT_REVOKE && e->kind != TC_EVENT_ERASE)
        return tc_errorf(err, TC_EINVAL, "field 'kind': %d is not GRANT, REVOKE or ERASE",
                         (int)e->kind);
    if (e->version <= 0)
        return tc_errorf(err, TC_EINVAL, "field 'version': must be positive");
    if (e->kind == TC_EVENT_GRANT)
        return tc_consent_validate(c, err);
    if (e->kind == TC_EVENT_REVOKE) {
        if ((rc = tc_consent_check_institution(c->institution, strlen(c->institution), err)) ||
            (rc = tc_consent_check_purpose(c->purpose, strlen(c->purpose), err)))
            return rc;
        if (c->revoked_at <= 0)
            return tc_errorf(err, TC_EINVAL, "field 'revoked_at': required");
    }
    return TC_OK;
}

static void encode_version(int64_t version, tc_event_kind kind, unsigned char out[VERSION_LEN])
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)version >> (56 - 8 * i));
    out[8] = (unsigned char)kind;
}

/* The version record under key k, or all zeros (below every event) when there is none. */
static int get_version(tc_events *ev, MDB_txn *txn, const void *k, size_t k_len,
                       unsigned char out[VERSION_LEN], int *found, tc_error *err)
{
    MDB_val key = {k_len, (void *)k}, v;
    int mrc = mdb_get(txn, ev->versions, &key, &v);
    memset(out, 0, VERSION_LEN);
    *found = 0;
    if (mrc == MDB_NOTFOUND)
        return TC_OK;
    if (mrc != MDB_SUCCESS)
        return tc_store_mdb_error(ev->store, mrc, "reading a consent version", err);
    if (v.mv_size != VERSION_LEN)
        return tc_errorf(err, TC_EDB, "a consent version record has %zu bytes, not %d", v.mv_size,
                         VERSION_LEN);
    memcpy(out, v.mv_data, VERSION_LEN);
    *found = 1;
    return TC_OK;
}

static int put_version(tc_events *ev, MDB_txn *txn, const void *k, size_t k_len,
                       const unsigned char ver[VERSION_LEN], tc_error *err)
{
    MDB_val key = {k_len, (void *)k}, v = {VERSION_LEN, (void *)ver};
    int mrc = mdb_put(txn, ev->versions, &key, &v, 0);
    return mrc == MDB_SUCCESS
               ? TC_OK
               : tc_store_mdb_error(ev->store, mrc, "writing a consent version", err);
}

/* The highest version that holds for e's consent now: its own record, else the stored consent's
 * times (a consent loaded without a version), and at least the citizen's last erasure. */
static int current_version(tc_events *ev, tc_writer *w, const tc_event *e,
                           unsigned char out[VERSION_LEN], tc_error *err)
{
    MDB_txn *txn = tc_writer_txn(w);
    unsigned char erased[VERSION_LEN], kb[TC_CONSENT_KEY_MAX];
    int found, rc;
    if ((rc = get_version(ev, txn, e->citizen, TC_CITIZEN_KEY_LEN, erased, &found, err)) != TC_OK)
        return rc;
    if (e->kind != TC_EVENT_ERASE) {
        size_t kl = tc_consent_key(e->citizen, e->consent.institution, e->consent.purpose, kb);
        if ((rc = get_version(ev, txn, kb, kl, out, &found, err)) != TC_OK)
            return rc;
        if (!found) {
            tc_consent c;
            rc = tc_writer_consent(w, e->citizen, e->consent.institution, e->consent.purpose, &c,
                                   err);
            if (rc == TC_OK && c.revoked_at != 0)
                encode_version(c.revoked_at * 1000000, TC_EVENT_REVOKE, out);
            else if (rc == TC_OK)
                encode_version(c.granted_at * 1000000, TC_EVENT_GRANT, out);
            else if (rc != TC_ENOTFOUND)
                return rc;
        }
        if (memcmp(erased, out, VERSION_LEN) <= 0)
            return TC_OK;
    }
    memcpy(out, erased, VERSION_LEN);
    return TC_OK;
}

/* Delete every version record of one citizen's consents (keys longer than the citizen key). */
static int drop_versions(tc_events *ev, MDB_txn *txn, const unsigned char *citizen, tc_error *err)
{
    MDB_cursor *cur = NULL;
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)citizen}, v;
    int mrc = mdb_cursor_open(txn, ev->versions, &cur);
    if (mrc != MDB_SUCCESS)
        return tc_store_mdb_error(ev->store, mrc, "opening a cursor", err);
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && k.mv_size >= TC_CITIZEN_KEY_LEN &&
           memcmp(k.mv_data, citizen, TC_CITIZEN_KEY_LEN) == 0) {
        if (k.mv_size > TC_CITIZEN_KEY_LEN && (mrc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return tc_store_mdb_error(ev->store, mrc, "erasing consent versions", err);
    return TC_OK;
}

int tc_events_apply(tc_events *ev, tc_writer *w, const tc_event *e, tc_event_result *r,
                    tc_error *err)
{
    tc_event_result ignored;
    unsigned char now[VERSION_LEN], mine[VERSION_LEN], kb[TC_CONSENT_KEY_MAX];
    MDB_txn *txn = tc_writer_txn(w);
    int rc;
    if (r == NULL)
        r = &ignored;
    memset(r, 0, sizeof *r);
    if ((rc = tc_event_validate(e, err)) != TC_OK ||
        (rc = current_version(ev, w, e, now, err)) != TC_OK)
        return rc;
    encode_version(e->version, e->kind, mine);
    if (memcmp(mine, now, VERSION_LEN) <= 0) {
        r->stale = 1;
        return TC_OK;
    }
    if (e->kind == TC_EVENT_ERASE) {
        if ((rc = tc_writer_erase_citizen(w, e->citizen, &r->changed, &r->consents_erased, err)) !=
                TC_OK ||
            (rc = drop_versions(ev, txn, e->citizen, err)) != TC_OK)
            return rc;
        return put_version(ev, txn, e->citizen, TC_CITIZEN_KEY_LEN, mine, err);
    }
    if (e->kind == TC_EVENT_GRANT) {
        rc = tc_writer_put_consent(w, e->citizen, &e->consent, e->version / 1000000, &r->changed,
                                   &r->previous, err);
        r->has_previous = r->changed && r->previous.granted_at != 0;
    } else {
        rc = tc_writer_revoke_consent(w, e->citizen, e->consent.institution, e->consent.purpose,
                                      e->consent.revoked_at, &r->consent, err);
        r->has_consent = rc == TC_OK;
        r->changed = rc == TC_OK;
        if (rc == TC_ENOTFOUND) /* nothing to revoke: the version still bars older grants */
            rc = TC_OK;
    }
    if (rc != TC_OK)
        return rc;
    size_t kl = tc_consent_key(e->citizen, e->consent.institution, e->consent.purpose, kb);
    return put_version(ev, txn, kb, kl, mine, err);
}

int tc_events_position(tc_events *ev, MDB_txn *txn, char *out, tc_error *err)
{
    MDB_val k = {sizeof POSITION_KEY - 1, (void *)POSITION_KEY}, v;
    int mrc = mdb_get(txn, ev->state, &k, &v);
    out[0] = '\0';
    if (mrc == MDB_NOTFOUND)
        return TC_OK;
    if (mrc != MDB_SUCCESS)
        return tc_store_mdb_error(ev->store, mrc, "reading the feed position", err);
    if (v.mv_size == 0 || v.mv_size > TC_EVENT_POSITION_MAX)
        return tc_errorf(err, TC_EDB, "the feed position has %zu bytes", v.mv_size);
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = '\0';
    return TC_OK;
}

int tc_events_set_position(tc_events *ev, tc_writer *w, const char *pos, tc_error *err)
{
    size_t n = strlen(pos);
    if (n == 0 || n > TC_EVENT_POSITION_MAX)
        return tc_errorf(err, TC_EINVAL, "a feed position of %zu bytes", n);
    MDB_val k = {sizeof POSITION_KEY - 1, (void *)POSITION_KEY}, v = {n, (void *)pos};
    int mrc = mdb_put(tc_writer_txn(w), ev->state, &k, &v, 0);
    return mrc == MDB_SUCCESS
               ? TC_OK
               : tc_store_mdb_error(ev->store, mrc, "writing the feed position", err);
}

/* "<ms>-<seq>" into its two numbers; "" (or anything malformed) is 0-0. */
static void parse_position(const char *p, unsigned long long *ms, unsigned long long *seq)
{
    char *end;
    *ms = strtoull(p, &end, 10);
    *seq = *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
}

int tc_event_position_cmp(const char *a, const char *b)
{
    unsigned long long am, as, bm, bs;
    parse_position(a, &am, &as);
    parse_position(b, &bm, &bs);
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs ? 1 : 0;
}
