/* tinchap.v1.Scoring/Score: authenticate (done by the core) -> check the request -> model ->
 * consent valid now -> request-ID memory -> record -> evaluate -> audit -> reply.
 *
 * Every outcome after authentication is submitted to the audit trail, answered or denied, and
 * the reply is sent from its done() callback, once the record is committed: on the audit
 * writer thread, or in relaxed mode on whichever worker committed the queued records itself
 * (tc_audit_submit), possibly this one before submit() returns. No worker waits for the disk. An unknown citizen and one without consent take the same path and get the
 * same answer: the consent lookup fails first for both. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tc_api_feed.h"
#include "tc_api_internal.h"
#include "tc_api_monitor.h"
#include "tc_api_checks.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tc_text.h"
#include "tc_time.h"
#include "tinchap/v1/scoring.pb-c.h"

#define DENIED_TEXT "no consent valid now for this citizen, institution and purpose"

/* protobuf field 14 (replayed) = true. A remembered answer is this, then the answer encoded
 * without its request_id (a request ID may hold a citizen ID: it is never stored): fields may
 * come in any order, and the answer never encodes replayed = false (proto3 omits it), so these
 * bytes parse as the same answer marked as a replay, without re-encoding it. The request_id is
 * appended to every reply (rid_field). s->response holds [replayed][answer][request_id]: a fresh
 * reply is its last two parts, what is remembered its first two. */
static const unsigned char replayed_prefix[2] = {0x70, 0x01};

/* Append the request's request_id field (s->rid_field) to buf[0..len) of capacity cap. */
static size_t with_request_id(const tc_api_slot *s, unsigned char *buf, size_t len, size_t cap)
{
    if (len + s->rid_field_len > cap)
        return len; /* cannot happen: an answer is far below TC_AUDIT_RESPONSE_MAX */
    memcpy(buf + len, s->rid_field, s->rid_field_len);
    return len + s->rid_field_len;
}

/* The operator learns why (which directory, disk or map full), at most once a second while
 * it lasts; the client learns that it is refused and that it may retry. On the committing
 * thread, under the trail's commit lock (which guards audit_error_logged_us). */
static void audit_failed(tc_api_server *srv, tc_audit *a)
{
    int64_t now = tc_time_now_us();
    if (now - srv->audit_error_logged_us < 1000000)
        return;
    srv->audit_error_logged_us = now;
    char msg[TC_ERROR_MSG_MAX * 2], fields[TC_ERROR_MSG_MAX * 2 + 16];
    tc_api_log_escape(tc_audit_last_error(a), msg, sizeof msg);
    snprintf(fields, sizeof fields, "\"error\":\"%s\"", msg);
    tc_api_log_event(srv->log, "error", "audit_write_failed", fields);
}

static void score_done(tc_audit_entry *e, int status, void *arg)
{
    tc_api_slot *s = arg;
    if (status != TC_OK) {
        audit_failed(s->w->srv, s->w->srv->audit);
        tc_api_error err;
        tc_api_error_set(&err, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__AUDIT_UNAVAILABLE,
                         "the audit trail cannot be written (%s): no answer is given without it",
                         status == TC_EFULL ? "it is full" : tc_strerror(status));
        err.retry_ms = 1000;
        tc_api_fail_error(s, &err);
    } else if (e->conflict) {
        tc_api_fail(s, GRPC_STATUS_ALREADY_EXISTS, TINCHAP__V1__ERROR_REASON__REQUEST_ID_REUSED, "%s", e->rec.status_text);
    } else if (e->replayed) {
        tc_api_finish(s, GRPC_STATUS_OK, e->replay,
                      with_request_id(s, e->replay, e->replay_len, sizeof e->replay));
    } else if (e->rec.outcome == TC_AUDIT_DENIED) {
        tc_api_finish(s, (grpc_status_code)e->rec.status, NULL, 0); /* deny() set its error */
    } else {
        tc_api_finish(s, GRPC_STATUS_OK, s->reply, s->reply_len);
    }
}

/* Hand the outcome to the audit trail; the reply follows from score_done, on the committing
 * thread (in relaxed mode perhaps this one, before this returns). The slot is that thread's
 * from then on: the handler reads nothing of it after. */
static void submit(tc_api_slot *s)
{
    s->audit.done = score_done;
    s->audit.arg = s;
    s->audit.rec.latency_us = (uint32_t)(tc_time_now_us() - s->start_us);
    s->stage = SLOT_AUDITING;
    if (tc_audit_submit(s->w->srv->audit, s->w->id, &s->audit) != TC_OK) {
        /* the commits are this far behind: shed load rather than queue without bound */
        tc_api_error err;
        tc_api_error_set(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__OVERLOADED,
                         "the audit trail is behind; retry with backoff");
        err.retry_ms = 50;
        tc_api_fail_error(s, &err);
    }
}

/* ---- audited refusals, limited per institution ----
 *
 * Every refusal is audited, so a client sending requests that will be refused (probing for
 * citizens, a broken integration) writes to the trail as fast as it can send: 2 343 records a
 * second from one client would fill a 64 GiB trail in a day, and bury the inquiries a steward
 * looks for. Each institution may have audit_denials_per_second refusals (audit_denials_burst at
 * once); past that, its Score calls are turned away RESOURCE_EXHAUSTED before any work, and
 * counted (tinchap_audit_denials_throttled_total), until it is back under the limit. The check
 * is one atomic load per Score. */

static int64_t denial_interval_us(const tc_api_server *srv)
{
    return 1000000 / (int64_t)srv->cfg.audit_denials_per_second;
}

static int denials_over_limit(tc_api_server *srv, unsigned inst, int64_t now_us)
{
    if (srv->cfg.audit_denials_per_second == 0)
        return 0;
    int64_t tat = atomic_load_explicit(&srv->denial_tat_us[inst], memory_order_relaxed);
    return tat - now_us > (int64_t)srv->cfg.audit_denials_burst * denial_interval_us(srv);
}

static void denial_counted(tc_api_server *srv, unsigned inst, int64_t now_us)
{
    if (srv->cfg.audit_denials_per_second == 0)
        return;
    int64_t tat = atomic_load_explicit(&srv->denial_tat_us[inst], memory_order_relaxed), next;
    do
        next = (tat > now_us ? tat : now_us) + denial_interval_us(srv);
    while (!atomic_compare_exchange_weak_explicit(&srv->denial_tat_us[inst], &tat, next,
                                                  memory_order_relaxed, memory_order_relaxed));
}

/* A refusal, audited before it is answered: its google.rpc.Status is kept with the slot for the
 * reply, its message in the record. */
static void deny_error(tc_api_slot *s, tc_api_error *e)
{
    tc_api_set_error(s, e); /* redacts the texts */
    /* the record keeps what fits of it */
    size_t n = strnlen(e->message, sizeof s->audit.rec.status_text - 1);
    memcpy(s->audit.rec.status_text, e->message, n);
    s->audit.rec.status_text[n] = '\0';
    s->audit.rec.outcome = TC_AUDIT_DENIED;
    s->audit.rec.status = e->code;
    s->audit.idem_key_len = 0;
    s->audit.response_len = 0;
    denial_counted(s->w->srv, s->who->institution_index, s->audit.rec.time_us);
    submit(s);
}

static void deny(tc_api_slot *s, grpc_status_code status, tc_api_reason reason, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void deny(tc_api_slot *s, grpc_status_code status, tc_api_reason reason, const char *fmt,
                 ...)
{
    tc_api_error e;
    va_list ap;
    va_start(ap, fmt);
    tc_api_error_vset(&e, (int)status, reason, fmt, ap);
    va_end(ap);
    deny_error(s, &e);
}

/* src, cut to fit, into dst; a dozen per Score, so not snprintf, which parses its format */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = src != NULL ? strnlen(src, size - 1) : 0;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The content that a retry must repeat exactly for the same request_id. */
static void request_digest(const Tinchap__V1__ScoreRequest *q, const unsigned char *citizen,
                           unsigned char out[16])
{
    unsigned char buf[TC_CITIZEN_KEY_LEN + 4 * (TC_AUDIT_TEXT_MAX + 1) + 24];
    size_t o = 0;
    memcpy(buf, citizen, TC_CITIZEN_KEY_LEN);
    o += TC_CITIZEN_KEY_LEN;
    const char *parts[] = {q->consent_ref, q->purpose, q->product, q->model_name};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strnlen(parts[i], TC_AUDIT_TEXT_MAX);
        memcpy(buf + o, parts[i], n);
        o += n;
        buf[o++] = 0;
    }
    uint32_t nums32[3] = {q->model_version, q->max_reasons, q->loan_term_months};
    memcpy(buf + o, nums32, sizeof nums32);
    o += sizeof nums32;
    memcpy(buf + o, &q->loan_amount_vnd, 8);
    o += 8;
    tc_audit_digest(buf, o, out);
}

static const tc_model *choose_model(tc_api_slot *s, const tc_model_set *set,
                                    const Tinchap__V1__ScoreRequest *q)
{
    const tc_model *m;
    if (q->model_name[0] == '\0') {
        m = tc_model_set_champion(set, q->product);
        if (m == NULL) {
            tc_api_error e;
            tc_api_error_set(&e, GRPC_STATUS_NOT_FOUND, TINCHAP__V1__ERROR_REASON__PRODUCT_HAS_NO_CHAMPION,
                             "product '%s' has no champion model in service", q->product);
            tc_api_error_meta(&e, "product", "%s", q->product);
            deny_error(s, &e);
        }
        return m;
    }
    m = tc_model_set_find(set, q->model_name, (int)q->model_version);
    if (m == NULL) {
        deny(s, GRPC_STATUS_NOT_FOUND, TINCHAP__V1__ERROR_REASON__MODEL_NOT_FOUND, "model '%s' version %u is not in service",
             q->model_name, q->model_version);
        return NULL;
    }
    /* retired models stay listed and described (models/README.md): they are there, not usable */
    if (m->status == TC_STATUS_RETIRED) {
        deny(s, GRPC_STATUS_FAILED_PRECONDITION, TINCHAP__V1__ERROR_REASON__MODEL_RETIRED,
             "model '%s' version %d is retired: it no longer scores; use the product's champion",
             m->name, m->version);
        return NULL;
    }
    if (strcmp(m->product, q->product) != 0) {
        tc_api_error e;
        tc_api_error_set(&e, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%s", "");
        tc_api_error_violation(&e, "model_name", "model '%s' is for product '%s', not '%s'",
                               m->name, m->product, q->product);
        tc_api_invalid(&e, "");
        deny_error(s, &e);
        return NULL;
    }
    return m;
}

/* Every field (tc_api_check_score), every violation named, never an ID echoed. */
static int check_request(tc_api_slot *s, const Tinchap__V1__ScoreRequest *q)
{
    tc_api_error e;
    tc_api_error_set(&e, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%s", "");
    if (tc_api_check_score(q, &e) == 0)
        return 0;
    tc_api_invalid(&e, "");
    deny_error(s, &e);
    return 1;
}

/* Shadow evaluation of the product's challengers: kept in the audit record, never answered. */
static void shadow(tc_api_slot *s, const tc_model_set *set, const tc_model *champion,
                   const tc_record *rec)
{
    const tc_model *ch[TC_AUDIT_CHALLENGERS_MAX];
    size_t n = tc_model_set_challengers(set, champion->product, ch, TC_AUDIT_CHALLENGERS_MAX);
    if (n > TC_AUDIT_CHALLENGERS_MAX)
        n = TC_AUDIT_CHALLENGERS_MAX;
    tc_audit_record *r = &s->audit.rec;
    for (size_t i = 0; i < n; i++) {
        tc_score_result *o = &s->w->shadow;
        tc_eval_options opt = {.no_interval = 1};
        if (tc_model_eval(ch[i], rec, &opt, s->w->ws, o) != TC_OK)
            continue;
        tc_api_monitor_record(s->w->srv->monitor, s->w->id, set, ch[i], o);
        tc_audit_challenger *c = &r->challengers[r->n_challengers++];
        copy_text(c->model, sizeof c->model, ch[i]->name);
        c->version = (uint32_t)ch[i]->version;
        c->score = o->score;
        c->pd = o->pd;
        copy_text(c->grade, sizeof c->grade, o->grade->letter);
    }
}

static int encode_answer(tc_api_slot *s, const Tinchap__V1__ScoreRequest *q,
                         const tc_score_result *res)
{
    Tinchap__V1__ScoreResponse r = TINCHAP__V1__SCORE_RESPONSE__INIT;
    Tinchap__V1__Reason reasons[TC_REASONS_OUT_MAX], *rp[TC_REASONS_OUT_MAX];
    Google__Protobuf__Timestamp scored_at;
    tc_api_timestamp(&scored_at, s->audit.rec.time_us);
    (void)q; /* its request_id goes in each reply, not in what is remembered */
    r.inquiry_id = s->audit.rec.inquiry_id;
    r.score = res->score;
    r.pd = res->pd;
    r.pd_low = res->pd_low;
    r.pd_high = res->pd_high;
    r.grade = (char *)res->grade->letter;
    r.grade_label_vi = (char *)res->grade->vi;
    r.grade_label_en = (char *)res->grade->en;
    for (size_t i = 0; i < res->n_reasons; i++) {
        tinchap__v1__reason__init(&reasons[i]);
        reasons[i].code = (char *)res->reasons[i].code;
        reasons[i].text_vi = (char *)res->reasons[i].vi;
        reasons[i].text_en = (char *)res->reasons[i].en;
        reasons[i].points_lost = res->reasons[i].points_lost;
        rp[i] = &reasons[i];
    }
    r.n_reasons = res->n_reasons;
    r.reasons = rp;
    r.model_name = (char *)res->model->name;
    r.model_version = (uint32_t)res->model->version;
    r.scored_at = &scored_at;
    size_t n = tinchap__v1__score_response__get_packed_size(&r);
    if (sizeof replayed_prefix + n + s->rid_field_len > sizeof s->response)
        return TC_ENOMEM;
    memcpy(s->response, replayed_prefix, sizeof replayed_prefix);
    n = tinchap__v1__score_response__pack(&r, s->response + sizeof replayed_prefix);
    s->audit.response = s->response;
    s->audit.response_len = sizeof replayed_prefix + n;
    s->reply = s->response + sizeof replayed_prefix;
    s->reply_len = with_request_id(s, s->response, s->audit.response_len, sizeof s->response) -
                   sizeof replayed_prefix;
    return TC_OK;
}

static void record_result(tc_audit_record *r, const tc_score_result *res)
{
    r->outcome = TC_AUDIT_SCORED;
    r->status = GRPC_STATUS_OK;
    r->score = res->score;
    r->pd = res->pd;
    r->pd_low = res->pd_low;
    r->pd_high = res->pd_high;
    copy_text(r->grade, sizeof r->grade, res->grade->letter);
    r->n_reasons = res->n_reasons < TC_AUDIT_REASONS_MAX ? res->n_reasons : TC_AUDIT_REASONS_MAX;
    for (size_t i = 0; i < r->n_reasons; i++)
        copy_text(r->reasons[i], sizeof r->reasons[i], res->reasons[i].code);
}

/* A valid request ID: kept redacted in the record and the log, remembered by its key (itself,
 * or its keyed hash when it holds a digit run, which the record keeps too, for tinchap audit
 * --request-id), and echoed in the reply. */
static void note_request_id(tc_api_slot *s, const char *rid)
{
    tc_audit_entry *e = &s->audit;
    size_t n = strlen(rid), inst = strlen(s->who->institution); /* both checked */
    unsigned char key[TC_AUDIT_REQUEST_KEY_MAX];
    size_t key_len = tc_audit_request_key(s->w->hasher, rid, key);
    copy_text(e->rec.request_id, sizeof e->rec.request_id, rid);
    if (tc_text_redact_ids(e->rec.request_id) && key_len == 1 + TC_TEXT_HASH_LEN) {
        e->rec.request_hashed = 1;
        memcpy(e->rec.request_hash, key + 1, TC_TEXT_HASH_LEN);
    }
    copy_text(s->request_id, sizeof s->request_id, e->rec.request_id);
    memcpy(e->idem_key, s->who->institution, inst + 1);
    memcpy(e->idem_key + inst + 1, key, key_len);
    s->idem_key_len = key_len > 0 ? inst + 1 + key_len : 0;
    s->rid_field[0] = 0x0a; /* field 1, length-delimited */
    s->rid_field[1] = (unsigned char)n;
    memcpy(s->rid_field + 2, rid, n);
    s->rid_field_len = 2 + n;
}

/* The consent holds: is this request ID's answer remembered? 1 when the call was settled
 * (replayed, or refused for reusing the ID), 0 to score it. The commit settles races. */
static int replay(tc_api_slot *s, const Tinchap__V1__ScoreRequest *q)
{
    tc_audit_entry *e = &s->audit;
    unsigned char digest[16];
    size_t stored_len = 0;
    if (s->idem_key_len == 0)
        return 0;
    e->idem_key_len = s->idem_key_len;
    request_digest(q, e->rec.citizen, e->digest);
    if (tc_audit_idem_lookup(s->w->audit_reader, e->idem_key, e->idem_key_len, e->rec.time_us,
                             digest, s->response, &stored_len) != TC_OK)
        return 0;
    if (memcmp(digest, e->digest, 16) != 0) {
        deny(s, GRPC_STATUS_ALREADY_EXISTS, TINCHAP__V1__ERROR_REASON__REQUEST_ID_REUSED,
             "request_id was used in the last 24 h for a different request");
        return 1;
    }
    e->response = s->response;
    e->response_len = stored_len;
    s->reply = s->response; /* stored answers carry the replayed flag */
    s->reply_len = with_request_id(s, s->response, stored_len, sizeof s->response);
    e->rec.outcome = TC_AUDIT_REPLAYED;
    e->rec.status = GRPC_STATUS_OK;
    e->idem_key_len = 0; /* already remembered */
    submit(s);
    return 1;
}

/* A node behind the consent feed may not know of a revocation: it refuses, retryably, and
 * says why in an ErrorInfo, so that the client's retry goes to a current replica. */
static int feed_behind(tc_api_slot *s)
{
    tc_api_server *srv = s->w->srv;
    int64_t lag_ms;
    if (srv->feed == NULL || tc_api_feed_current(srv->feed, &lag_ms))
        return 0;
    tc_api_error e;
    tc_api_error_set(&e, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__CONSENT_FEED_BEHIND,
                     "this replica is %lld ms behind the consent feed (bound %u ms): it may not "
                     "know of a revocation; retry another replica",
                     (long long)lag_ms, srv->cfg.consent_max_lag_ms);
    tc_api_error_meta(&e, "lag_ms", "%lld", (long long)lag_ms);
    tc_api_error_meta(&e, "max_lag_ms", "%u", srv->cfg.consent_max_lag_ms);
    e.retry_ms = 100; /* another replica, as when draining */
    tc_api_fail_error(s, &e);
    return 1;
}

/* The call's record started and its request decoded, or NULL when the call was answered: the
 * consent feed is behind, the institution is over its refusal rate, or the message is not a
 * ScoreRequest (audited). */
static Tinchap__V1__ScoreRequest *start(tc_api_slot *s)
{
    tc_api_worker *w = s->w;
    tc_api_server *srv = w->srv;
    tc_audit_record *rec = &s->audit.rec;
    memset(rec, 0, sizeof *rec);
    s->audit.idem_key_len = 0;
    s->audit.response_len = 0;
    s->idem_key_len = 0;
    s->rid_field_len = 0;
    rec->time_us = tc_time_now_us();
    if (feed_behind(s))
        return NULL;
    if (denials_over_limit(srv, s->who->institution_index, rec->time_us)) {
        atomic_fetch_add_explicit(&srv->denials_throttled[s->who->institution_index], 1,
                                  memory_order_relaxed);
        tc_api_error e;
        tc_api_error_set(&e, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         TINCHAP__V1__ERROR_REASON__DENIALS_RATE_LIMITED,
                         "too many refused Score calls from this institution (at most %u a "
                         "second are answered and audited); retry later",
                         srv->cfg.audit_denials_per_second);
        e.retry_ms = 1000;
        tc_api_fail_error(s, &e);
        return NULL;
    }
    tc_audit_inquiry_id(rec->inquiry_id);
    copy_text(rec->institution, sizeof rec->institution, s->who->institution);

    size_t len = 0;
    tc_api_error e;
    tc_api_error_set(&e, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST,
                     "%s", "");
    const unsigned char *data = tc_api_payload(s, &len);
    if (data != NULL &&
        tc_api_check_strings(&tinchap__v1__score_request__descriptor, data, len, "", &e) > 0) {
        tc_api_invalid(&e, "");
        deny_error(s, &e);
        return NULL;
    }
    Tinchap__V1__ScoreRequest *q =
        data != NULL ? tinchap__v1__score_request__unpack(&w->allocator, len, data) : NULL;
    if (q == NULL)
        deny(s, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%s",
             data == NULL ? "no ScoreRequest message was sent"
                          : "the ScoreRequest message is malformed");
    return q;
}

/* Why a call that reached the database got no score (rc: the read's or the evaluation's),
 * answered once the read has ended. */
static void deny_unscored(tc_api_slot *s, int rc, int evaluated)
{
    if (evaluated)
        deny(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR, "%s",
             rc != TC_OK ? "the model could not be evaluated on this record"
                         : "the answer does not fit the reply buffer");
    /* the same bytes, details included, whether the citizen is unknown or did not consent */
    else if (rc == TC_ENOCONSENT)
        deny(s, GRPC_STATUS_PERMISSION_DENIED, TINCHAP__V1__ERROR_REASON__CONSENT_NOT_VALID,
             DENIED_TEXT);
    else if (rc == TC_ENOTFOUND)
        deny(s, GRPC_STATUS_FAILED_PRECONDITION, TINCHAP__V1__ERROR_REASON__CITIZEN_NOT_LOADED,
             "the citizen has consented but no attribute record has been loaded yet");
    else
        deny(s, tc_api_status_of(rc), tc_api_reason_of(rc), "the citizen's record cannot be read");
}

/* Consent, request-ID memory, record and evaluation in one read transaction: 0 with the
 * answer encoded in s (counted by monitoring, challengers scored in the shadow), 1 when the
 * call was settled instead (replayed, or denied). */
static int evaluate(tc_api_slot *s, const Tinchap__V1__ScoreRequest *q, const tc_model_set *set,
                    const tc_model *model)
{
    tc_api_worker *w = s->w;
    tc_audit_record *rec = &s->audit.rec;
    tc_error err;
    if (tc_reader_begin(w->reader, &err) != TC_OK) {
        deny(s, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__DATABASE_UNAVAILABLE,
             "the database cannot be read now");
        return 1;
    }
    /* Consent first, for every call: a retry after the consent was revoked or the citizen
     * erased is refused exactly as a first call would be, not given the remembered answer. One
     * walk finds the consent and the record; the record is used only once the consent holds. */
    tc_citizen_view view;
    tc_record *citizen = &view.record;
    unsigned char ref_hash[TC_TEXT_HASH_LEN];
    int hashed = tc_consent_ref_hash(w->hasher, q->consent_ref, ref_hash);
    int rc = TC_ENOCONSENT;
    if (tc_reader_view(w->reader, rec->citizen, s->who->institution, q->purpose, &view, &err) ==
            TC_OK &&
        view.has_consent)
        rc = tc_consent_accepts(&view.consent, q->consent_ref, hashed ? ref_hash : NULL,
                                rec->time_us / 1000000);
    int replayed = rc == TC_OK && replay(s, q), evaluated = 0, encoded = 0;
    if (!replayed && rc == TC_OK)
        rc = view.record_rc;
    if (!replayed && rc == TC_OK) {
        tc_eval_options opt = {.max_reasons = (int)q->max_reasons};
        evaluated = 1;
        rc = tc_model_eval(model, citizen, &opt, w->ws, &w->result);
        encoded = rc == TC_OK && encode_answer(s, q, &w->result) == TC_OK;
    }
    if (encoded) {
        /* counted once the answer is decided (tc_api_monitor.h); shadows only beside one */
        tc_api_monitor_record(w->srv->monitor, w->id, set, model, &w->result);
        record_result(rec, &w->result);
        if (q->model_name[0] == '\0')
            shadow(s, set, model, citizen);
    }
    tc_reader_end(w->reader);
    if (!replayed && !encoded)
        deny_unscored(s, rc, evaluated);
    return !encoded;
}

void tc_api_handle_score(tc_api_slot *s)
{
    tc_api_worker *w = s->w;
    tc_audit_record *rec = &s->audit.rec;
    const tc_model_set *set = NULL;
    Tinchap__V1__ScoreRequest *q = start(s);
    if (q == NULL)
        goto out;
    if (tc_api_request_id_problem(q->request_id) == NULL)
        note_request_id(s, q->request_id);
    if (check_request(s, q))
        goto out;
    copy_text(rec->purpose, sizeof rec->purpose, q->purpose);
    copy_text(rec->product, sizeof rec->product, q->product);
    copy_text(rec->consent_ref, sizeof rec->consent_ref, q->consent_ref);
    tc_text_redact_ids(rec->consent_ref);
    rec->loan_amount_vnd = q->loan_amount_vnd;
    rec->loan_term_months = q->loan_term_months;
    if (tc_hasher_citizen(w->hasher, q->citizen_id, rec->citizen) != TC_OK) {
        deny(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR,
             "hashing the citizen ID failed");
        goto out;
    }
    rec->has_citizen = 1;
    set = tc_registry_acquire(w->srv->registry);
    const tc_model *model = choose_model(s, set, q);
    if (model == NULL)
        goto out;
    copy_text(rec->model, sizeof rec->model, model->name);
    rec->model_version = (uint32_t)model->version;
    if (evaluate(s, q, set, model) == 0)
        submit(s);
out:
    if (set != NULL)
        tc_registry_release(w->srv->registry, set);
    if (q != NULL)
        tinchap__v1__score_request__free_unpacked(q, &w->allocator);
}
