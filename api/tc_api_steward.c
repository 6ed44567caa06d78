/* tinchap.v1.Steward: PutCitizens, GrantConsent, RevokeConsent, EraseCitizen, ListInquiries.
 * Writes run in one LMDB transaction each on the worker; every input is validated first and
 * nothing is written when any part is bad. Messages name fields and record indices, never IDs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_api_internal.h"
#include "tc_api_validate.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_time.h"
#include "tinchap/v1/steward.pb-c.h"


/* Validate and hash a citizen ID; answers INVALID_ARGUMENT itself. */
static int citizen_key(tc_api_slot *s, const char *id, unsigned char key[TC_CITIZEN_KEY_LEN],
                       tc_id_info *info)
{
    tc_error err;
    if (tc_id_parse(id, strlen(id), 0, info, &err) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_INVALID_ARGUMENT, "field 'citizen_id': %s", err.msg);
        return 1;
    }
    if (tc_hasher_citizen(s->w->hasher, id, key) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_INTERNAL, "hashing the citizen ID failed");
        return 1;
    }
    return 0;
}

/* Run fn inside one write transaction; answers the call on failure. */
static int commit(tc_api_slot *s, tc_writer *w, int rc, tc_error *err)
{
    if (rc != TC_OK) {
        tc_writer_abort(w);
        tc_api_fail(s, tc_api_status_of(rc), "%s", err->msg);
        return 1;
    }
    if ((rc = tc_writer_commit(w, err)) != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), "%s", err->msg);
        return 1;
    }
    return 0;
}

void tc_api_handle_grant(tc_api_slot *s)
{
    Tinchap__V1__GrantConsentRequest *q = (Tinchap__V1__GrantConsentRequest *)tc_api_request(s, &tinchap__v1__grant_consent_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_consent c;
    tc_error err;
    char msg[sizeof s->status_text];
    if (q == NULL || citizen_key(s, q->citizen_id, key, NULL))
        return;
    if (tc_api_grant_check(q, &c, msg, sizeof msg)) {
        tc_api_fail(s, GRPC_STATUS_INVALID_ARGUMENT, "%s", msg);
        return;
    }
    if (tc_consent_protect_ref(&c, s->w->hasher) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_INTERNAL, "hashing the consent reference failed");
        return;
    }
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), "%s", err.msg);
        return;
    }
    if (commit(s, w, tc_writer_put_consent(w, key, &c, NULL, &err), &err))
        return;
    Tinchap__V1__GrantConsentResponse r = TINCHAP__V1__GRANT_CONSENT_RESPONSE__INIT;
    tc_api_reply(s, &r.base);
}

void tc_api_handle_revoke(tc_api_slot *s)
{
    Tinchap__V1__RevokeConsentRequest *q = (Tinchap__V1__RevokeConsentRequest *)tc_api_request(s, &tinchap__v1__revoke_consent_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    int64_t at = tc_time_now();
    tc_error err;
    char msg[sizeof s->status_text];
    if (q == NULL || citizen_key(s, q->citizen_id, key, NULL))
        return;
    if (tc_api_revoke_check(q, &at, msg, sizeof msg)) {
        tc_api_fail(s, GRPC_STATUS_INVALID_ARGUMENT, "%s", msg);
        return;
    }
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), "%s", err.msg);
        return;
    }
    rc = tc_writer_revoke_consent(w, key, q->institution, q->purpose, at, &err);
    if (rc == TC_ENOTFOUND)
        tc_errorf(&err, rc, "no consent on record for this citizen, institution and purpose");
    if (commit(s, w, rc, &err))
        return;
    Tinchap__V1__RevokeConsentResponse r = TINCHAP__V1__REVOKE_CONSENT_RESPONSE__INIT;
    tc_api_reply(s, &r.base);
}

void tc_api_handle_erase(tc_api_slot *s)
{
    Tinchap__V1__EraseCitizenRequest *q = (Tinchap__V1__EraseCitizenRequest *)tc_api_request(s, &tinchap__v1__erase_citizen_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_error err;
    int found = 0;
    if (q == NULL || citizen_key(s, q->citizen_id, key, NULL))
        return;
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), "%s", err.msg);
        return;
    }
    if (commit(s, w, tc_writer_erase_citizen(w, key, &found, &err), &err))
        return;
    Tinchap__V1__EraseCitizenResponse r = TINCHAP__V1__ERASE_CITIZEN_RESPONSE__INIT;
    r.erased = found != 0;
    tc_api_reply(s, &r.base);
}

typedef struct inquiries {
    tc_api_slot *s;
    Tinchap__V1__Inquiry **items;
    size_t n, max;
} inquiries;

static char *arena_copy(tc_api_slot *s, const char *v)
{
    size_t n = strlen(v) + 1;
    char *out = tc_api_arena_alloc(s->w, n);
    if (out != NULL)
        memcpy(out, v, n);
    return out != NULL ? out : (char *)"";
}

static int add_inquiry(const tc_audit_record *r, void *arg)
{
    inquiries *q = arg;
    if (r->outcome == TC_AUDIT_REPLAYED)
        return 0; /* a retry's answer is not another inquiry */
    Tinchap__V1__Inquiry *o = tc_api_arena_alloc(q->s->w, sizeof *o);
    if (o == NULL)
        return 1;
    tinchap__v1__inquiry__init(o);
    char t[TC_TIME_US_TEXT_LEN];
    tc_time_format_us(r->time_us, t);
    o->inquiry_id = arena_copy(q->s, r->inquiry_id);
    o->time = arena_copy(q->s, t);
    o->institution = arena_copy(q->s, r->institution);
    o->purpose = arena_copy(q->s, r->purpose);
    o->model_name = arena_copy(q->s, r->model);
    o->model_version = r->model_version;
    o->grade = arena_copy(q->s, r->grade);
    o->outcome = (char *)(r->outcome == TC_AUDIT_SCORED
                              ? "scored"
                              : tc_api_status_name((grpc_status_code)r->status));
    q->items[q->n++] = o;
    return q->n >= q->max;
}

void tc_api_handle_inquiries(tc_api_slot *s)
{
    Tinchap__V1__ListInquiriesRequest *q = (Tinchap__V1__ListInquiriesRequest *)tc_api_request(s, &tinchap__v1__list_inquiries_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_error err;
    if (q == NULL || citizen_key(s, q->citizen_id, key, NULL))
        return;
    size_t limit = q->limit == 0 ? 100 : q->limit;
    if (limit > 1000) {
        tc_api_fail(s, GRPC_STATUS_INVALID_ARGUMENT, "field 'limit': at most 1000");
        return;
    }
    inquiries acc = {s, tc_api_arena_alloc(s->w, limit * sizeof(void *)), 0, limit};
    if (acc.items == NULL) {
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, "too many inquiries for the reply");
        return;
    }
    /* replays are skipped, so read a little more than asked */
    int rc = tc_audit_by_citizen(s->w->audit_reader, key, limit * 2, add_inquiry, &acc, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), "%s", err.msg);
        return;
    }
    Tinchap__V1__ListInquiriesResponse r = TINCHAP__V1__LIST_INQUIRIES_RESPONSE__INIT;
    r.inquiries = acc.items;
    r.n_inquiries = acc.n;
    tc_api_reply(s, &r.base);
}

/* ---- PutCitizens: a client stream, validated whole, written in one transaction ---- */

typedef struct put_state {
    size_t n, received;
    size_t rec_len;
    unsigned char *keys;     /* n x TC_CITIZEN_KEY_LEN */
    unsigned char *records;  /* n x rec_len */
    int failed;              /* a reply has been decided; drain the stream */
    grpc_status_code status;
    char text[TC_API_STATUS_TEXT_MAX];
} put_state;

void tc_api_put_release(tc_api_slot *s)
{
    if (s->put == NULL)
        return;
    free(s->put->keys);
    free(s->put->records);
    free(s->put);
    s->put = NULL;
}

static void put_reject(put_state *p, grpc_status_code st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put_reject(put_state *p, grpc_status_code st, const char *fmt, ...)
{
    if (p->failed)
        return; /* the first problem is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof p->text, fmt, ap);
    va_end(ap);
    p->status = st;
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
        tc_api_fail(s, GRPC_STATUS_INTERNAL, "cannot read the stream");
}

/* One streamed record into the state, or a reason to refuse the whole call. */
static void put_one(tc_api_slot *s, put_state *p, const unsigned char *msg, size_t len)
{
    const tc_catalog *cat = s->w->srv->catalog;
    size_t idx = p->received++;
    if (p->failed)
        return;
    if (p->n == TC_API_PUT_MAX) {
        put_reject(p, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "more than %d records in one call: split the stream", TC_API_PUT_MAX);
        return;
    }
    char why[sizeof p->text];
    if (tc_api_strings_check(&tinchap__v1__citizen_record__descriptor, msg, len, why,
                             sizeof why)) {
        put_reject(p, GRPC_STATUS_INVALID_ARGUMENT, "record %zu: %s", idx, why);
        return;
    }
    Tinchap__V1__CitizenRecord *r =
        tinchap__v1__citizen_record__unpack(&s->w->allocator, len, msg);
    if (r == NULL) {
        put_reject(p, GRPC_STATUS_INVALID_ARGUMENT, "record %zu: malformed CitizenRecord", idx);
        return;
    }
    tc_id_info info;
    unsigned char *key = p->keys + p->n * TC_CITIZEN_KEY_LEN;
    tc_value values[TC_CATALOG_ATTRS_MAX];
    if (tc_api_record_check(cat, r, idx, &info, values, why, sizeof why)) {
        put_reject(p, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
        goto out;
    }
    if (tc_hasher_citizen(s->w->hasher, r->citizen_id, key) != TC_OK) {
        put_reject(p, GRPC_STATUS_INTERNAL, "hashing the citizen ID failed");
        goto out;
    }
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->keys + i * TC_CITIZEN_KEY_LEN, key, TC_CITIZEN_KEY_LEN) == 0) {
            put_reject(p, GRPC_STATUS_INVALID_ARGUMENT,
                       "record %zu: the same citizen as an earlier record of this call", idx);
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
    if (p->failed) {
        tc_api_fail(s, p->status, "%s; nothing was written", p->text);
        return;
    }
    /* Attributes are kept only for citizens who consent now (any institution or purpose).
     * Checked on a snapshot before the write lock is taken, to hold it briefly. */
    int64_t now = tc_time_now();
    if (tc_reader_begin(s->w->reader, &err) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_UNAVAILABLE, "the database cannot be read now");
        return;
    }
    for (size_t i = 0; i < p->n; i++)
        if (!tc_reader_has_consent(s->w->reader, p->keys + i * TC_CITIZEN_KEY_LEN, now)) {
            tc_reader_end(s->w->reader);
            tc_api_fail(s, GRPC_STATUS_FAILED_PRECONDITION,
                        "record %zu: the citizen has no consent valid now; nothing was written",
                        i);
            return;
        }
    tc_reader_end(s->w->reader);
    tc_writer *w = NULL;
    int rc = tc_writer_begin(s->w->srv->store, &w, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), "%s", err.msg);
        return;
    }
    size_t written = 0, unchanged = 0;
    for (size_t i = 0; i < p->n && rc == TC_OK; i++) {
        int changed = 0;
        rc = tc_writer_put_citizen(w, p->keys + i * TC_CITIZEN_KEY_LEN,
                                   p->records + i * p->rec_len, p->rec_len, &changed, &err);
        if (changed)
            written++;
        else
            unchanged++;
    }
    if (commit(s, w, rc, &err))
        return;
    Tinchap__V1__PutCitizensResponse r = TINCHAP__V1__PUT_CITIZENS_RESPONSE__INIT;
    r.received = p->received;
    r.written = written;
    r.unchanged = unchanged;
    tc_api_reply(s, &r.base);
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
        }
        if (p == NULL || p->keys == NULL || p->records == NULL) {
            if (p != NULL) {
                free(p->keys);
                free(p->records);
                free(p);
            }
            tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
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
            tc_api_fail(s, GRPC_STATUS_INTERNAL, "cannot answer the stream");
        return;
    }
    put_one(s, s->put, msg, len);
    receive_next(s);
}
