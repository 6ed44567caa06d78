/* tinchap.v1.Steward's writes: PutCitizens, GrantConsent, RevokeConsent, EraseCitizen (the
 * reads, ListInquiries and ListConsents, are in tc_api_history.c). Writes run in one LMDB
 * transaction each on the worker; every input is validated first and nothing is written when
 * any part is bad; each is recorded in the audit trail before it is committed. Messages name
 * fields and record indices, never IDs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_api_feed.h"
#include "tc_api_internal.h"
#include "tc_api_checks.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_time.h"
#include "tinchap/v1/steward.pb-c.h"


int tc_api_citizen_key(tc_api_slot *s, const char *id, unsigned char key[TC_CITIZEN_KEY_LEN],
                       tc_api_error *e)
{
    tc_error err;
    if (tc_id_parse(id, strlen(id), 0, NULL, &err) != TC_OK) {
        tc_api_error_violation(e, "citizen_id", "%s", err.msg);
        return 1;
    }
    if (tc_hasher_citizen(s->w->hasher, id, key) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR, "hashing the citizen ID failed");
        return -1;
    }
    return 0;
}

void tc_api_invalid_start(tc_api_error *e)
{
    tc_api_error_set(e, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%s", "");
}

int tc_api_refused(tc_api_slot *s, tc_api_error *e, int key_rc, int more)
{
    if (key_rc < 0)
        return 1;
    if (key_rc == 0 && more == 0)
        return 0;
    tc_api_invalid(e, "");
    tc_api_fail_error(s, e);
    return 1;
}

/* A steward record of this call's identity, about one citizen. */
static void steward_record(tc_api_slot *s, tc_audit_steward *r, tc_steward_action action,
                           const unsigned char key[TC_CITIZEN_KEY_LEN])
{
    memset(r, 0, sizeof *r);
    r->time_us = tc_time_now_us();
    r->action = action;
    snprintf(r->institution, sizeof r->institution, "%s", s->who->institution);
    if (s->w->srv->cfg.insecure) /* a token's hash: enough of it to tell tokens apart */
        snprintf(r->identity, sizeof r->identity, "token sha256:%.16s", s->who->identity);
    else
        snprintf(r->identity, sizeof r->identity, "%s", s->who->identity);
    if (key != NULL)
        memcpy(r->citizen, key, TC_CITIZEN_KEY_LEN);
    r->applied = 1;
}

/* What a steward write's failure is: not found means the consent to revoke (an erasure of
 * nobody is not a failure), exists a newer change on record (feed_apply), the rest as
 * tc_api_reason_of says. */
static tc_api_reason reason_of(const tc_audit_steward *r, int rc)
{
    if (rc == TC_ENOTFOUND && r->action == TC_STEWARD_REVOKE)
        return TINCHAP__V1__ERROR_REASON__CONSENT_NOT_FOUND;
    if (rc == TC_EEXIST)
        return TINCHAP__V1__ERROR_REASON__STALE_CONSENT_CHANGE;
    return tc_api_reason_of(rc);
}

/* End a write transaction: abort it when rc failed; else record the write in the audit trail
 * (one record, or one per citizen of citizens[0..n)), publish the event (publish, with a consent
 * feed: NULL otherwise), then commit it. Nothing is written without its record; a publish or a
 * commit that fails after it is recorded too. Answers the call on failure. */
static int audited_commit(tc_api_slot *s, tc_writer *w, int rc, tc_error *err,
                          tc_audit_steward *r, const unsigned char *citizens,
                          const unsigned char *changed, size_t n, const tc_event *publish)
{
    tc_api_server *srv = s->w->srv;
    grpc_status_code failed = GRPC_STATUS_OK;
    tc_api_reason why = TINCHAP__V1__ERROR_REASON__CONSENT_FEED_UNAVAILABLE;
    if (rc != TC_OK) {
        tc_writer_abort(w);
        tc_api_fail(s, tc_api_status_of(rc), reason_of(r, rc), "%s", err->msg);
        return 1;
    }
    if ((rc = tc_audit_steward_append(srv->audit, r, citizens, changed, n, err)) != TC_OK) {
        tc_writer_abort(w);
        tc_api_log_eventf(srv->log, "error", "audit_write_failed", "error", "%s", err->msg);
        tc_api_error e;
        tc_api_error_set(&e, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__AUDIT_UNAVAILABLE,
                         "the audit trail cannot be written (%s): nothing was written",
                         rc == TC_EFULL ? "it is full" : tc_strerror(rc));
        e.retry_ms = 1000;
        tc_api_fail_error(s, &e);
        return 1;
    }
    /* with a feed: published once recorded, committed once published */
    if (publish != NULL && (rc = tc_api_feed_publish(srv->feed, publish, NULL, err)) != TC_OK) {
        tc_api_log_eventf(srv->log, "error", "consent_feed_publish_failed", "error", "%s",
                          err->msg);
        tc_writer_abort(w);
        tc_error_prefix(err, "nothing was written");
        failed = GRPC_STATUS_UNAVAILABLE;
    } else if ((rc = tc_writer_commit(w, err)) != TC_OK) {
        failed = tc_api_status_of(rc);
        why = reason_of(r, rc);
    }
    if (failed != GRPC_STATUS_OK) {
        tc_error ignored;
        r->applied = 0;
        snprintf(r->error, sizeof r->error, "%s", err->msg);
        if (tc_audit_steward_append(srv->audit, r, citizens, changed, n, &ignored) != TC_OK)
            tc_api_log_eventf(srv->log, "error", "audit_write_failed", "error", "%s",
                              ignored.msg);
        tc_api_error e;
        tc_api_error_set(&e, failed, why, "%s", err->msg);
        if (why == TINCHAP__V1__ERROR_REASON__CONSENT_FEED_UNAVAILABLE)
            e.retry_ms = 1000;
        tc_api_fail_error(s, &e);
        return 1;
    }
    return 0;
}

/* ---- with a consent feed (tc_api_feed.h) ----
 * A steward's consent write is an event: applied here by version, as every node's consumer
 * applies it, then recorded in the audit trail, then published, then committed (audited_commit),
 * all inside this call's write transaction: this node's consumer cannot apply the event before
 * the call has (it then finds it stale), and when the broker does not take the event nothing is
 * committed anywhere, the call is answered UNAVAILABLE and the trail says the write failed. */

/* Apply e in w with the version now (microseconds). A stale event (a newer change of this
 * consent is on record, from another node or producer) becomes TC_EEXIST: ALREADY_EXISTS. */
static int feed_apply(tc_api_slot *s, tc_writer *w, tc_event *e, tc_event_result *res,
                      tc_error *err)
{
    e->version = tc_time_now_us();
    int rc = tc_events_apply(tc_api_feed_events(s->w->srv->feed), w, e, res, err);
    if (rc == TC_OK && res->stale)
        rc = tc_errorf(err, TC_EEXIST, "a newer change of this consent is on record (from "
                       "another node or producer): this one changed nothing");
    return rc;
}

void tc_api_handle_grant(tc_api_slot *s)
{
    Tinchap__V1__GrantConsentRequest *q = (Tinchap__V1__GrantConsentRequest *)tc_api_request(
        s, &tinchap__v1__grant_consent_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_consent c;
    tc_error err;
    tc_api_error e;
    tc_api_invalid_start(&e);
    if (q == NULL)
        return;
    int key_rc = tc_api_citizen_key(s, q->citizen_id, key, &e);
    if (tc_api_refused(s, &e, key_rc, tc_api_check_grant(q, &c, &e)))
        return;
    if (tc_consent_protect_ref(&c, s->w->hasher) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR,
                    "hashing the consent reference failed");
        return;
    }
    tc_event ev = {.kind = TC_EVENT_GRANT, .consent = c};
    tc_event_result res;
    memcpy(ev.citizen, key, TC_CITIZEN_KEY_LEN);
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), tc_api_reason_of(rc), "%s", err.msg);
        return;
    }
    tc_audit_steward r;
    steward_record(s, &r, TC_STEWARD_GRANT, key);
    if (s->w->srv->feed != NULL) {
        rc = feed_apply(s, w, &ev, &res, &err);
        r.changed = res.changed;
        r.previous = res.previous;
    } else {
        rc = tc_writer_put_consent(w, key, &c, r.time_us / 1000000, &r.changed, &r.previous,
                                   &err);
    }
    r.consent = c;
    r.has_consent = 1;
    r.has_previous = r.changed && r.previous.granted_at != 0;
    if (audited_commit(s, w, rc, &err, &r, NULL, NULL, 1, s->w->srv->feed ? &ev : NULL))
        return;
    Tinchap__V1__GrantConsentResponse resp = TINCHAP__V1__GRANT_CONSENT_RESPONSE__INIT;
    tc_api_reply(s, &resp.base);
}

void tc_api_handle_revoke(tc_api_slot *s)
{
    Tinchap__V1__RevokeConsentRequest *q = (Tinchap__V1__RevokeConsentRequest *)tc_api_request(
        s, &tinchap__v1__revoke_consent_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    int64_t at = tc_time_now();
    tc_error err;
    tc_api_error e;
    tc_api_invalid_start(&e);
    if (q == NULL)
        return;
    int key_rc = tc_api_citizen_key(s, q->citizen_id, key, &e);
    if (tc_api_refused(s, &e, key_rc, tc_api_check_revoke(q, &at, &e)))
        return;
    tc_event ev = {.kind = TC_EVENT_REVOKE, .consent.revoked_at = at};
    tc_event_result res;
    memcpy(ev.citizen, key, TC_CITIZEN_KEY_LEN);
    snprintf(ev.consent.institution, sizeof ev.consent.institution, "%s", q->institution);
    snprintf(ev.consent.purpose, sizeof ev.consent.purpose, "%s", q->purpose);
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), tc_api_reason_of(rc), "%s", err.msg);
        return;
    }
    tc_audit_steward r;
    steward_record(s, &r, TC_STEWARD_REVOKE, key);
    if (s->w->srv->feed != NULL) {
        /* a consent this node has no record of: NOT_FOUND, as without a feed, unpublished */
        rc = tc_writer_consent(w, key, q->institution, q->purpose, &r.consent, &err);
        if (rc == TC_OK)
            rc = feed_apply(s, w, &ev, &res, &err);
        if (rc == TC_OK)
            r.consent = res.consent;
    } else {
        rc = tc_writer_revoke_consent(w, key, q->institution, q->purpose, at, &r.consent, &err);
    }
    if (rc == TC_ENOTFOUND)
        tc_errorf(&err, rc, "no consent on record for this citizen, institution and purpose");
    r.has_consent = 1;
    r.changed = 1;
    if (audited_commit(s, w, rc, &err, &r, NULL, NULL, 1, s->w->srv->feed ? &ev : NULL))
        return;
    Tinchap__V1__RevokeConsentResponse resp = TINCHAP__V1__REVOKE_CONSENT_RESPONSE__INIT;
    tc_api_reply(s, &resp.base);
}

void tc_api_handle_erase(tc_api_slot *s)
{
    Tinchap__V1__EraseCitizenRequest *q = (Tinchap__V1__EraseCitizenRequest *)tc_api_request(
        s, &tinchap__v1__erase_citizen_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_error err;
    size_t consents = 0;
    tc_api_error e;
    tc_api_invalid_start(&e);
    if (q == NULL || tc_api_refused(s, &e, tc_api_citizen_key(s, q->citizen_id, key, &e), 0))
        return;
    tc_event ev = {.kind = TC_EVENT_ERASE};
    tc_event_result res;
    memcpy(ev.citizen, key, TC_CITIZEN_KEY_LEN);
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), tc_api_reason_of(rc), "%s", err.msg);
        return;
    }
    /* the fact of the erasure is kept, and how many consents went: no attribute */
    tc_audit_steward r;
    steward_record(s, &r, TC_STEWARD_ERASE, key);
    if (s->w->srv->feed != NULL) {
        rc = feed_apply(s, w, &ev, &res, &err);
        r.changed = res.changed;
        consents = res.consents_erased;
    } else {
        rc = tc_writer_erase_citizen(w, key, &r.changed, &consents, &err);
    }
    r.consents_erased = (unsigned)consents;
    if (audited_commit(s, w, rc, &err, &r, NULL, NULL, 1, s->w->srv->feed ? &ev : NULL))
        return;
    Tinchap__V1__EraseCitizenResponse resp = TINCHAP__V1__ERASE_CITIZEN_RESPONSE__INIT;
    resp.erased = r.changed != 0;
    tc_api_reply(s, &resp.base);
}

/* ---- PutCitizens: a client stream, validated whole, written in one transaction ---- */

typedef struct put_state {
    size_t n, received;
    size_t rec_len;
    unsigned char *keys;     /* n x TC_CITIZEN_KEY_LEN */
    unsigned char *records;  /* n x rec_len */
    unsigned char *changed;  /* n: written (1) or unchanged (0), for the audit trail */
    int failed;              /* a refusal other than bad records: drain the stream */
    tc_api_error err;        /* that refusal, or the violations of every bad record so far */
} put_state;

void tc_api_put_release(tc_api_slot *s)
{
    if (s->put == NULL)
        return;
    free(s->put->keys);
    free(s->put->records);
    free(s->put->changed);
    free(s->put);
    s->put = NULL;
}

static void put_reject(put_state *p, grpc_status_code st, tc_api_reason reason, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

/* A refusal of the whole call that is not about a field (too many records, a fault). */
static void put_reject(put_state *p, grpc_status_code st, tc_api_reason reason, const char *fmt,
                       ...)
{
    if (p->failed)
        return; /* the first such problem is the one reported */
    tc_api_error_set(&p->err, (int)st, reason, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err.message, sizeof p->err.message, fmt, ap);
    va_end(ap);
    p->failed = 1;
}

static void receive_next(tc_api_slot *s)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->payload;
    s->stage = SLOT_RECEIVING;
    if (grpc_call_start_batch(s->call, &op, 1, s, NULL) != GRPC_CALL_OK)
        tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR, "cannot read the stream");
}

/* One streamed record into the state, or a reason to refuse the whole call. */
static void put_one(tc_api_slot *s, put_state *p, const unsigned char *msg, size_t len)
{
    const tc_catalog *cat = s->w->srv->catalog;
    size_t idx = p->received++;
    if (p->failed)
        return;
    if (p->n == TC_API_PUT_MAX) {
        put_reject(p, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                   "more than %d records in one call: split the stream", TC_API_PUT_MAX);
        return;
    }
    /* every bad record is named (up to TC_API_ERROR_VIOLATIONS_MAX), the stream read to its end */
    char path[32];
    snprintf(path, sizeof path, "records[%zu]", idx);
    if (tc_api_check_strings(&tinchap__v1__citizen_record__descriptor, msg, len, path,
                             &p->err) > 0)
        return;
    Tinchap__V1__CitizenRecord *r =
        tinchap__v1__citizen_record__unpack(&s->w->allocator, len, msg);
    if (r == NULL) {
        tc_api_error_violation(&p->err, path, "not a CitizenRecord (malformed)");
        return;
    }
    tc_id_info info;
    unsigned char *key = p->keys + p->n * TC_CITIZEN_KEY_LEN;
    tc_value values[TC_CATALOG_ATTRS_MAX];
    if (tc_api_check_record(cat, r, idx, &info, values, &p->err) > 0 || p->err.n_violations > 0)
        goto out; /* nothing of a call with a bad record is written: no need to keep this one */
    if (tc_hasher_citizen(s->w->hasher, r->citizen_id, key) != TC_OK) {
        put_reject(p, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR, "hashing the citizen ID failed");
        goto out;
    }
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->keys + i * TC_CITIZEN_KEY_LEN, key, TC_CITIZEN_KEY_LEN) == 0) {
            tc_api_error_violation(&p->err, path,
                                   "the same citizen as records[%zu] of this call", i);
            goto out;
        }
    tc_record_encode(cat, values, (uint32_t)tc_time_now(), p->records + p->n * p->rec_len);
    p->n++;
out:
    tinchap__v1__citizen_record__free_unpacked(r, &s->w->allocator);
}

static void put_finish(tc_api_slot *s, put_state *p)
{
    tc_error err;
    if (p->failed || p->err.n_violations > 0) {
        if (!p->failed)
            tc_api_invalid(&p->err, "nothing was written");
        tc_api_fail_error(s, &p->err);
        return;
    }
    /* Attributes are kept only for citizens who consent now (any institution or purpose).
     * Checked on a snapshot before the write lock is taken, to hold it briefly. */
    int64_t now = tc_time_now();
    if (tc_reader_begin(s->w->reader, &err) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__DATABASE_UNAVAILABLE,
                    "the database cannot be read now");
        return;
    }
    for (size_t i = 0; i < p->n; i++)
        if (!tc_reader_has_consent(s->w->reader, p->keys + i * TC_CITIZEN_KEY_LEN, now)) {
            tc_reader_end(s->w->reader);
            tc_api_error e;
            tc_api_error_set(&e, GRPC_STATUS_FAILED_PRECONDITION,
                             TINCHAP__V1__ERROR_REASON__NO_VALID_CONSENT_FOR_RECORD,
                             "record %zu: the citizen has no consent valid now; nothing was "
                             "written", i);
            tc_api_error_meta(&e, "record", "%zu", i);
            tc_api_fail_error(s, &e);
            return;
        }
    tc_reader_end(s->w->reader);
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), tc_api_reason_of(rc), "%s", err.msg);
        return;
    }
    size_t written = 0, unchanged = 0;
    for (size_t i = 0; i < p->n && rc == TC_OK; i++) {
        int changed = 0;
        rc = tc_writer_put_citizen(w, p->keys + i * TC_CITIZEN_KEY_LEN,
                                   p->records + i * p->rec_len, p->rec_len, &changed, &err);
        p->changed[i] = changed != 0;
        if (changed)
            written++;
        else
            unchanged++;
    }
    tc_audit_steward r; /* one per citizen, in one transaction */
    steward_record(s, &r, TC_STEWARD_PUT, NULL);
    if (audited_commit(s, w, rc, &err, &r, p->keys, p->changed, p->n, NULL))
        return;
    Tinchap__V1__PutCitizensResponse resp = TINCHAP__V1__PUT_CITIZENS_RESPONSE__INIT;
    resp.received = p->received;
    resp.written = written;
    resp.unchanged = unchanged;
    tc_api_reply(s, &resp.base);
}

void tc_api_put_confirmed(tc_api_slot *s)
{
    put_finish(s, s->put);
}

void tc_api_handle_put(tc_api_slot *s, const unsigned char *msg, size_t len, int end)
{
    if (s->put == NULL) {
        put_state *p = calloc(1, sizeof *p);
        if (p != NULL) {
            p->rec_len = tc_record_size(s->w->srv->catalog);
            p->keys = malloc((size_t)TC_API_PUT_MAX * TC_CITIZEN_KEY_LEN);
            p->records = malloc((size_t)TC_API_PUT_MAX * p->rec_len);
            p->changed = malloc(TC_API_PUT_MAX);
        }
        if (p == NULL || p->keys == NULL || p->records == NULL || p->changed == NULL) {
            if (p != NULL) {
                free(p->keys);
                free(p->records);
                free(p->changed);
                free(p);
            }
            tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE, "out of memory");
            return;
        }
        tc_api_invalid_start(&p->err);
        s->put = p;
        receive_next(s);
        return;
    }
    if (end) {
        /* A cancelled stream also ends with "no more messages": before writing, send the
         * initial metadata, which fails on a call that is no longer alive. */
        if (tc_api_past_deadline(s))
            return;
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_SEND_INITIAL_METADATA;
        s->stage = SLOT_CONFIRMING;
        s->initial_sent = 1;
        if (grpc_call_start_batch(s->call, &op, 1, s, NULL) != GRPC_CALL_OK)
            tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR, "cannot answer the stream");
        return;
    }
    put_one(s, s->put, msg, len);
    receive_next(s);
}
