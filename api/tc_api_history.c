/* tinchap.v1.Steward's reads: ListInquiries ("who scored me", from the audit trail) and
 * ListConsents (the consent history, from the database). */
#include <stdio.h>
#include <string.h>

#include "tc_api_internal.h"
#include "tc_api_checks.h"
#include "tc_consent.h"
#include "tc_time.h"
#include "tinchap/v1/steward.pb-c.h"

#define INQUIRIES_DEFAULT 100
#define INQUIRIES_MAX 1000 /* per page, as steward.proto documents */
/* Records are in commit order, and their decision times may precede it by one batch: a walk
 * back in time stops this far before the range's start. */
#define BATCH_SKEW_US (60 * 1000000LL)

typedef struct inquiries {
    tc_api_slot *s;
    Tinchap__V1__Inquiry **items;
    size_t n, max;
    int64_t from_us, to_us; /* to_us 0: no upper bound */
    uint64_t last_seq;      /* of the last inquiry listed */
    int arrival_order;      /* a consolidated trail: records in the order they arrived, so no
                             * time bounds the walk back */
    int more;               /* another inquiry follows this page */
    int full;               /* the reply outgrew the worker's arena */
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
    if (q->from_us != 0 && !q->arrival_order && r->time_us < q->from_us - BATCH_SKEW_US)
        return 1; /* every older record is out of range too */
    if (r->outcome == TC_AUDIT_REPLAYED || r->time_us < q->from_us ||
        (q->to_us != 0 && r->time_us >= q->to_us))
        return 0;         /* a retry's answer is not another inquiry; out of range */
    if (q->n == q->max) { /* one past the page: there is a next one */
        q->more = 1;
        return 1;
    }
    Tinchap__V1__Inquiry *o = tc_api_arena_alloc(q->s->w, sizeof *o);
    if (o == NULL) {
        q->full = 1;
        return 1;
    }
    Google__Protobuf__Timestamp *t = tc_api_arena_alloc(q->s->w, sizeof *t);
    if (t == NULL) {
        q->full = 1;
        return 1;
    }
    tinchap__v1__inquiry__init(o);
    tc_api_timestamp(t, r->time_us);
    o->inquiry_id = arena_copy(q->s, r->inquiry_id);
    o->time = t;
    o->institution = arena_copy(q->s, r->institution);
    o->purpose = arena_copy(q->s, r->purpose);
    o->model_name = arena_copy(q->s, r->model);
    o->model_version = r->model_version;
    o->grade = arena_copy(q->s, r->grade);
    o->outcome = r->outcome == TC_AUDIT_SCORED
                     ? TINCHAP__V1__INQUIRY_OUTCOME__INQUIRY_OUTCOME_SCORED
                     : TINCHAP__V1__INQUIRY_OUTCOME__INQUIRY_OUTCOME_DENIED;
    o->status =
        (char *)(r->outcome == TC_AUDIT_SCORED ? ""
                                               : tc_api_status_name((grpc_status_code)r->status));
    q->items[q->n++] = o;
    q->last_seq = r->seq;
    return 0;
}

/* A page token is "p" and the sequence number of the last inquiry of the page before, in 16
 * hex digits: the next page starts below it. 0 for none; 1 if the token is not one of ours. */
static int parse_page_token(const char *t, uint64_t *seq)
{
    *seq = 0;
    if (t[0] == '\0')
        return 0;
    if (t[0] != 'p' || strlen(t) != 17)
        return 1;
    for (size_t i = 1; i < 17; i++) {
        int c = t[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 1;
        *seq = *seq << 4 | (uint64_t)d;
    }
    return *seq == 0;
}

/* Limit, page token and time range: a violation each that is wrong (how many). */
static int inquiries_options(const Tinchap__V1__ListInquiriesRequest *q, inquiries *acc,
                             uint64_t *before, tc_api_error *e)
{
    int n = 0;
    int64_t t = 0;
    char grouped[TC_API_GROUPED_LEN];
    acc->max = q->limit == 0 ? INQUIRIES_DEFAULT : q->limit;
    if (acc->max > INQUIRIES_MAX)
        n++, tc_api_error_violation(e, "limit", "%s is more than %d",
                                    tc_api_grouped(q->limit, grouped), INQUIRIES_MAX);
    if (parse_page_token(q->page_token, before))
        n++, tc_api_error_violation(e, "page_token", "not a next_page_token of this server");
    if (tc_api_time_of("from", q->from, 0, &t, e) != 0)
        n++;
    else if (q->from != NULL)
        acc->from_us = t * 1000000;
    if (tc_api_time_of("to", q->to, 0, &t, e) != 0)
        n++;
    else if (q->to != NULL)
        acc->to_us = t * 1000000;
    return n;
}

void tc_api_handle_inquiries(tc_api_slot *s)
{
    Tinchap__V1__ListInquiriesRequest *q = (Tinchap__V1__ListInquiriesRequest *)tc_api_request(
        s, &tinchap__v1__list_inquiries_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_error err;
    uint64_t before = 0;
    inquiries acc = {.s = s};
    tc_api_error e;
    tc_api_invalid_start(&e);
    if (q == NULL)
        return;
    int key_rc = tc_api_citizen_key(s, q->citizen_id, key, &e);
    if (tc_api_refused(s, &e, key_rc, inquiries_options(q, &acc, &before, &e)))
        return;
    acc.items = tc_api_arena_alloc(s->w, acc.max * sizeof(void *));
    /* on the node that collects every node's records, from all of them */
    tc_audit_reader *trail = s->w->consolidated_reader;
    acc.arrival_order = trail != NULL;
    if (trail == NULL)
        trail = s->w->audit_reader;
    int rc = acc.items == NULL
                 ? TC_OK
                 : tc_audit_by_citizen(trail, key, before, SIZE_MAX, add_inquiry, &acc, &err);
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), tc_api_reason_of(rc), "%s", err.msg);
        return;
    }
    if (acc.items == NULL || acc.full) {
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "the reply is larger than the server's scratch memory");
        return;
    }
    char token[18];
    Tinchap__V1__ListInquiriesResponse r = TINCHAP__V1__LIST_INQUIRIES_RESPONSE__INIT;
    r.inquiries = acc.items;
    r.n_inquiries = acc.n;
    if (acc.more) {
        snprintf(token, sizeof token, "p%016llx", (unsigned long long)acc.last_seq);
        r.next_page_token = token;
    }
    tc_api_reply(s, &r.base);
}

/* ---- ListConsents ---- */

#define CONSENTS_OUT_MAX 1024 /* current and replaced consents of one citizen in one reply */

typedef struct consents {
    tc_api_slot *s;
    int64_t now;
    Tinchap__V1__ConsentEntry **items;
    size_t n;
    int full;
} consents;

/* A Timestamp in the arena for t seconds, or NULL (unset) for 0 or when the arena is full. */
static Google__Protobuf__Timestamp *time_of(tc_api_slot *s, int64_t t)
{
    Google__Protobuf__Timestamp *ts = t != 0 ? tc_api_arena_alloc(s->w, sizeof *ts) : NULL;
    if (ts != NULL)
        tc_api_timestamp(ts, t * 1000000);
    return ts;
}

static int add_consent(consents *acc, const tc_consent *c, int64_t replaced_at)
{
    if (acc->n == CONSENTS_OUT_MAX) {
        acc->full = 1;
        return 1;
    }
    Tinchap__V1__ConsentEntry *o = tc_api_arena_alloc(acc->s->w, sizeof *o);
    if (o == NULL) {
        acc->full = 1;
        return 1;
    }
    tinchap__v1__consent_entry__init(o);
    o->institution = arena_copy(acc->s, c->institution);
    o->purpose = arena_copy(acc->s, c->purpose);
    o->consent_ref = arena_copy(acc->s, c->ref);
    o->granted_at = time_of(acc->s, c->granted_at);
    o->expires_at = time_of(acc->s, c->expires_at);
    o->revoked_at = time_of(acc->s, c->revoked_at);
    o->replaced_at = time_of(acc->s, replaced_at);
    o->state = replaced_at != 0 ? TINCHAP__V1__CONSENT_STATE__CONSENT_STATE_REPLACED
               : c->revoked_at != 0 && c->revoked_at <= acc->now
                   ? TINCHAP__V1__CONSENT_STATE__CONSENT_STATE_REVOKED
               : acc->now < c->granted_at  ? TINCHAP__V1__CONSENT_STATE__CONSENT_STATE_NOT_YET_VALID
               : acc->now >= c->expires_at ? TINCHAP__V1__CONSENT_STATE__CONSENT_STATE_EXPIRED
                                           : TINCHAP__V1__CONSENT_STATE__CONSENT_STATE_VALID;
    acc->items[acc->n++] = o;
    return 0;
}

static int add_current(const tc_consent *c, void *arg)
{
    return add_consent(arg, c, 0);
}

static int add_replaced(const tc_consent *c, int64_t replaced_at, void *arg)
{
    return add_consent(arg, c, replaced_at);
}

void tc_api_handle_consents(tc_api_slot *s)
{
    Tinchap__V1__ListConsentsRequest *q = (Tinchap__V1__ListConsentsRequest *)tc_api_request(
        s, &tinchap__v1__list_consents_request__descriptor);
    unsigned char key[TC_CITIZEN_KEY_LEN];
    tc_error err;
    tc_api_error e;
    tc_api_invalid_start(&e);
    if (q == NULL || tc_api_refused(s, &e, tc_api_citizen_key(s, q->citizen_id, key, &e), 0))
        return;
    consents acc = {s, tc_time_now(), tc_api_arena_alloc(s->w, CONSENTS_OUT_MAX * sizeof(void *)),
                    0, 0};
    if (acc.items == NULL) {
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "the reply is larger than the server's scratch memory");
        return;
    }
    int rc = tc_reader_begin(s->w->reader, &err);
    if (rc == TC_OK) {
        rc = tc_reader_consents(s->w->reader, key, add_current, &acc, &err);
        if (rc == TC_OK && !acc.full)
            rc = tc_reader_consent_history(s->w->reader, key, add_replaced, &acc, &err);
        tc_reader_end(s->w->reader);
    }
    if (rc != TC_OK) {
        tc_api_fail(s, tc_api_status_of(rc), tc_api_reason_of(rc), "%s", err.msg);
        return;
    }
    Tinchap__V1__ListConsentsResponse r = TINCHAP__V1__LIST_CONSENTS_RESPONSE__INIT;
    r.consents = acc.items;
    r.n_consents = acc.n;
    tc_api_reply(s, &r.base);
}
