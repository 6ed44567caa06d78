/* REST beside gRPC; see tc_api_rest.h. */
#include "tc_api_rest.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "google/rpc/status.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "tc_api_error.h"
#include "tc_api_internal.h"
#include "tc_json.h"
#include "tc_pb_json.h"
#include "tc_text.h"
#include "tc_time.h"
#include "tinchap/v1/admin.pb-c.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

#define PEM_MAX (1u << 20)
#define OPENAPI_PATH TC_API_REST_OPENAPI_PATH

typedef tc_api_rest_route route;

/* Citizen IDs travel in request bodies only, never in a URL that proxies and logs keep.
 * PutCitizens (a stream), Health/Watch and reflection stay on gRPC. */
const tc_api_rest_route tc_api_rest_routes[] = {
    {"POST", "/v1/score", NULL, {NULL}, M_SCORE, "tinchap.v1.Scoring/Score",
     &tinchap__v1__score_request__descriptor, &tinchap__v1__score_response__descriptor},
    {"GET", "/v1/models", NULL, {"product"}, M_LIST_MODELS, "tinchap.v1.Scoring/ListModels",
     &tinchap__v1__list_models_request__descriptor,
     &tinchap__v1__list_models_response__descriptor},
    {"GET", "/v1/models/", "name", {"version"}, M_GET_MODEL, "tinchap.v1.Scoring/GetModel",
     &tinchap__v1__get_model_request__descriptor, &tinchap__v1__model_description__descriptor},
    {"POST", "/v1/consents:grant", NULL, {NULL}, M_GRANT_CONSENT,
     "tinchap.v1.Steward/GrantConsent", &tinchap__v1__grant_consent_request__descriptor,
     &tinchap__v1__grant_consent_response__descriptor},
    {"POST", "/v1/consents:revoke", NULL, {NULL}, M_REVOKE_CONSENT,
     "tinchap.v1.Steward/RevokeConsent", &tinchap__v1__revoke_consent_request__descriptor,
     &tinchap__v1__revoke_consent_response__descriptor},
    {"POST", "/v1/consents:list", NULL, {NULL}, M_LIST_CONSENTS,
     "tinchap.v1.Steward/ListConsents", &tinchap__v1__list_consents_request__descriptor,
     &tinchap__v1__list_consents_response__descriptor},
    {"POST", "/v1/citizens:erase", NULL, {NULL}, M_ERASE_CITIZEN,
     "tinchap.v1.Steward/EraseCitizen", &tinchap__v1__erase_citizen_request__descriptor,
     &tinchap__v1__erase_citizen_response__descriptor},
    {"POST", "/v1/inquiries:list", NULL, {NULL}, M_LIST_INQUIRIES,
     "tinchap.v1.Steward/ListInquiries", &tinchap__v1__list_inquiries_request__descriptor,
     &tinchap__v1__list_inquiries_response__descriptor},
    {"POST", "/v1/models:reload", NULL, {NULL}, M_RELOAD_MODELS, "tinchap.v1.Admin/ReloadModels",
     &tinchap__v1__reload_models_request__descriptor,
     &tinchap__v1__reload_models_response__descriptor},
    {"GET", "/v1/status", NULL, {NULL}, M_GET_STATUS, "tinchap.v1.Admin/GetStatus",
     &tinchap__v1__get_status_request__descriptor, &tinchap__v1__get_status_response__descriptor},
    {"GET", "/v1/monitor", NULL, {NULL}, M_GET_MONITOR, "tinchap.v1.Admin/GetMonitor",
     &tinchap__v1__get_monitor_request__descriptor,
     &tinchap__v1__get_monitor_response__descriptor},
    {"GET", "/v1/health", NULL, {"service"}, M_HEALTH_CHECK, "grpc.health.v1.Health/Check",
     &grpc__health__v1__health_check_request__descriptor,
     &grpc__health__v1__health_check_response__descriptor},
};
const size_t tc_api_rest_n_routes = sizeof tc_api_rest_routes / sizeof tc_api_rest_routes[0];

struct tc_api_rest {
    tc_api_server *srv;
    struct MHD_Daemon *daemon;
    int port;
    size_t first_caller, threads;
    pthread_mutex_t mu; /* hands a caller context to each MHD thread on its first request */
    size_t next;
    gnutls_x509_trust_list_t trust; /* the client CA (and CRL): client certificates checked */
    char *openapi;                  /* the document served at OPENAPI_PATH */
    char *cert_pem, *key_pem, *ca_pem;
};

/* Per request, from its first callback to its completion. */
typedef struct request {
    const route *rt;
    const tc_api_identity *who;
    tc_api_error err;     /* a refusal decided before the handler (auth, route, body) */
    int refused;
    char *body;
    size_t len, cap;
    int too_large;
    int64_t start_us;
} request;

static __thread tc_api_worker *thread_caller;

/* One request in progress on a REST thread: its answer, handed over by tc_api_rest_finish
 * from whichever thread finishes it (the thread that commits a Score's audit record finishes it). */
typedef struct tc_api_rest_call {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    grpc_status_code status;
    unsigned char *reply, *details; /* malloc'd copies */
    size_t reply_len, details_len;
} rest_call;

/* ---- answers ---- */

static unsigned http_status(int grpc_code)
{
    /* google.rpc.Code to HTTP, as Google's APIs and grpc-gateway map them */
    static const unsigned map[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                                   400, 409, 400, 501, 500, 503, 500, 401};
    return grpc_code >= 0 && (unsigned)grpc_code < sizeof map / sizeof map[0] ? map[grpc_code]
                                                                             : 500;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (text == NULL)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    /* answers about people: no cache may keep them */
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A packed google.rpc.Status as its JSON body. */
static enum MHD_Result send_status(struct MHD_Connection *conn, int code, const uint8_t *packed,
                                   size_t len)
{
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, packed);
    if (st == NULL)
        return MHD_NO;
    json_t *j = tc_pb_json_encode(&st->base, 0);
    google__rpc__status__free_unpacked(st, NULL);
    return send_json(conn, http_status(code), j);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, const tc_api_error *e)
{
    uint8_t packed[TC_API_ERROR_PACKED_MAX];
    size_t n = tc_api_error_pack(e, packed, sizeof packed);
    return send_status(conn, e->code, packed, n);
}

/* ---- who is calling ---- */

static void add_name(tc_api_cert_name *names, size_t *n, unsigned kind, const char *v, size_t len)
{
    if (*n == TC_API_CERT_NAMES_MAX)
        return;
    if (len >= sizeof names[0].name) /* too long to be anyone's: a SAN that identifies nobody */
        kind = 0, len = 0;
    names[*n].kind = kind;
    memcpy(names[*n].name, v, len);
    names[*n].name[len] = '\0';
    (*n)++;
}

/* The client certificate, verified against the client CA (and its CRL) by GnuTLS here rather
 * than trusted from the handshake, then its names by the configured rules
 * (tc_api_identify_names, the same as gRPC's). */
static const tc_api_identity *identify_certificate(tc_api_rest *r, struct MHD_Connection *conn,
                                                   const char **why)
{
    *why = "no client certificate this server trusts";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return NULL;
    unsigned n_peers = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(ci->tls_session, &n_peers);
    if (peers == NULL || n_peers == 0)
        return NULL;
    gnutls_x509_crt_t chain[8];
    unsigned n_chain = 0;
    const tc_api_identity *id = NULL;
    for (; n_chain < n_peers && n_chain < 8; n_chain++) {
        if (gnutls_x509_crt_init(&chain[n_chain]) < 0)
            goto out;
        if (gnutls_x509_crt_import(chain[n_chain], &peers[n_chain], GNUTLS_X509_FMT_DER) < 0) {
            n_chain++;
            goto out;
        }
    }
    unsigned verdict = 0;
    if (gnutls_x509_trust_list_verify_crt(r->trust, chain, n_chain, 0, &verdict, NULL) < 0 ||
        verdict != 0) {
        *why = verdict & GNUTLS_CERT_REVOKED ? "the client certificate is revoked"
                                             : "the client certificate is not one this server "
                                               "trusts (signer, dates)";
        goto out;
    }
    tc_api_cert_name names[TC_API_CERT_NAMES_MAX];
    size_t n = 0;
    char buf[TC_API_IDENTITY_MAX + 1];
    for (unsigned i = 0;; i++) {
        size_t size = sizeof buf;
        int type = gnutls_x509_crt_get_subject_alt_name(chain[0], i, buf, &size, NULL);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (type == GNUTLS_SAN_DNSNAME)
            add_name(names, &n, TC_NAME_DNS, buf, size);
        else if (type == GNUTLS_SAN_URI)
            add_name(names, &n, TC_NAME_URI, buf, size);
        else
            add_name(names, &n, 0, "", 0); /* a SAN of another type: counts as a SAN */
    }
    size_t size = sizeof buf;
    if (gnutls_x509_crt_get_dn_by_oid(chain[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) ==
        0)
        add_name(names, &n, TC_NAME_CN, buf, size);
    id = tc_api_identify_names(&r->srv->cfg, names, n, why);
out:
    for (unsigned i = 0; i < n_chain; i++)
        gnutls_x509_crt_deinit(chain[i]);
    return id;
}

static const tc_api_identity *identify_token(tc_api_rest *r, struct MHD_Connection *conn,
                                             const char **why)
{
    const char *auth =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    return tc_api_identify_token(&r->srv->cfg, auth, auth != NULL ? strlen(auth) : 0, why);
}

/* ---- routing and the request message ---- */

static const route *find_route(const char *verb, const char *url, const char **param)
{
    *param = NULL;
    for (size_t i = 0; i < tc_api_rest_n_routes; i++) {
        const route *rt = &tc_api_rest_routes[i];
        size_t n = strlen(rt->path);
        if (strcmp(verb, rt->verb) != 0)
            continue;
        if (rt->param == NULL && strcmp(url, rt->path) == 0)
            return rt;
        if (rt->param != NULL && strncmp(url, rt->path, n) == 0 && url[n] != '\0' &&
            strchr(url + n, '/') == NULL) {
            *param = url + n;
            return rt;
        }
    }
    return NULL;
}

/* The request as JSON: the body of a POST; for a GET, the path parameter and the query. */
/* What a body's errors repeat of it (a member's name, the text near a syntax error) may be a
 * citizen ID a caller put anywhere: its digit runs never go back, nor into any log. */
static void redact_violations(tc_api_error *e)
{
    for (size_t i = 0; i < e->n_violations && i < TC_API_ERROR_VIOLATIONS_MAX; i++) {
        tc_text_redact_ids(e->violations[i].field);
        tc_text_redact_ids(e->violations[i].why);
    }
}

static json_t *request_json(struct MHD_Connection *conn, request *q, const char *param,
                            tc_api_error *e)
{
    if (strcmp(q->rt->verb, "POST") == 0) {
        json_error_t je;
        json_t *j = json_loadb(q->body != NULL ? q->body : "{}", q->body != NULL ? q->len : 2,
                               JSON_REJECT_DUPLICATES, &je);
        if (j == NULL) {
            tc_api_error_set(e, GRPC_STATUS_INVALID_ARGUMENT,
                             TINCHAP__V1__ERROR_REASON__INVALID_REQUEST,
                             "the body is not JSON (line %d, column %d)", je.line, je.column);
            tc_api_error_violation(e, "", "%s", je.text);
            redact_violations(e);
        }
        return j;
    }
    json_t *j = json_object();
    if (j != NULL && param != NULL)
        json_object_set_new(j, q->rt->param, json_string(param));
    for (size_t i = 0; j != NULL && i < TC_API_REST_QUERY_MAX && q->rt->query[i] != NULL; i++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, q->rt->query[i]);
        if (v != NULL)
            json_object_set_new(j, q->rt->query[i], json_string(v));
    }
    return j;
}

/* Decode into the method's message and pack it, as a gRPC client would have sent it. NULL with
 * e filled when the JSON is not that message. */
static uint8_t *packed_request(tc_api_worker *w, const request *q, json_t *j, size_t *len,
                               tc_api_error *e)
{
    tc_pb_json_violations why;
    ProtobufCMessage *m = NULL;
    if (tc_pb_json_decode(q->rt->request, j, &w->allocator, &m, &why) != 0) {
        tc_api_error_set(e, GRPC_STATUS_INVALID_ARGUMENT,
                         TINCHAP__V1__ERROR_REASON__INVALID_REQUEST,
                         "the body is not a %s: %zu field(s) are wrong", q->rt->request->name,
                         why.n);
        for (size_t i = 0; i < why.n && i < TC_PB_JSON_VIOLATIONS_MAX; i++)
            tc_api_error_violation(e, why.v[i].field, "%s", why.v[i].why);
        redact_violations(e);
        return NULL;
    }
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = tc_api_arena_alloc(w, *len + 1);
    if (out != NULL)
        protobuf_c_message_pack(m, out);
    else
        tc_api_error_set(e, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                         "the request is larger than the server's scratch memory");
    return out;
}

/* ---- one request, through the handlers gRPC calls use ---- */

static tc_api_worker *caller(tc_api_rest *r)
{
    if (thread_caller == NULL) {
        pthread_mutex_lock(&r->mu);
        if (r->next < r->threads)
            thread_caller = &r->srv->rest_workers[r->next++];
        pthread_mutex_unlock(&r->mu);
    }
    return thread_caller;
}

void tc_api_rest_finish(tc_api_slot *s, grpc_status_code status, const unsigned char *reply,
                        size_t reply_len)
{
    rest_call *rc = s->rest;
    s->status = status;
    if (status != GRPC_STATUS_OK)
        tc_api_ensure_error(s, status);
    tc_text_redact_ids(s->status_text); /* logged by the REST thread */
    unsigned char *r = status == GRPC_STATUS_OK && reply != NULL ? malloc(reply_len + 1) : NULL;
    if (r != NULL)
        memcpy(r, reply, reply_len);
    size_t dl = s->has_status_details ? GRPC_SLICE_LENGTH(s->status_details) : 0;
    unsigned char *d = dl > 0 ? malloc(dl) : NULL;
    if (d != NULL)
        memcpy(d, GRPC_SLICE_START_PTR(s->status_details), dl);
    /* the answer is decided: as a gRPC call's, it no longer counts against max_inflight */
    atomic_fetch_sub_explicit(&s->w->inflight, 1, memory_order_relaxed);
    pthread_mutex_lock(&rc->mu);
    rc->status = status;
    rc->reply = r;
    rc->reply_len = r != NULL ? reply_len : 0;
    rc->details = d;
    rc->details_len = d != NULL ? dl : 0;
    rc->done = 1;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
}

/* Run the method's handler on the thread's slot, as a worker runs a gRPC call, and wait for
 * its answer. The same admission (draining, calls in flight), roles, handler, audit trail,
 * metrics and access log. */
static void run(tc_api_worker *w, tc_api_method method, const tc_api_identity *who,
                const unsigned char *msg, size_t len, rest_call *rc)
{
    tc_api_slot *s = &w->slots[0];
    memset(rc, 0, sizeof *rc);
    pthread_mutex_init(&rc->mu, NULL);
    pthread_cond_init(&rc->cv, NULL);
    s->method = method;
    s->stage = SLOT_REQUESTED;
    s->call = NULL;
    s->payload = NULL;
    s->cancelled = 0;
    s->initial_sent = 0;
    s->who = who;
    s->status_text[0] = '\0';
    s->request_id[0] = '\0';
    s->put = NULL;
    s->request_msg = NULL;
    s->rest = rc;
    s->rest_payload = msg;
    s->rest_len = len;
    s->deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC); /* HTTP has no deadline to carry */
    s->start_us = tc_time_now_us();
    atomic_fetch_add_explicit(&w->inflight, 1, memory_order_relaxed);
    atomic_store_explicit(&w->last_call_us, s->start_us, memory_order_relaxed);
    if (!tc_api_admit(s) && !tc_api_require_role(s))
        tc_api_route(s);
    if (s->request_msg != NULL)
        protobuf_c_message_free_unpacked(s->request_msg, &w->allocator);
    s->request_msg = NULL;
    pthread_mutex_lock(&rc->mu);
    while (!rc->done)
        pthread_cond_wait(&rc->cv, &rc->mu);
    pthread_mutex_unlock(&rc->mu);
    uint64_t latency = (uint64_t)(tc_time_now_us() - s->start_us);
    tc_api_metrics_observe(w->metrics, method, (int)rc->status, latency);
    if (w->srv->cfg.access_log && method != M_HEALTH_CHECK)
        tc_api_log_call(w->log, tc_api_methods[method].name, tc_api_status_name(rc->status),
                        who->institution, s->request_id, latency,
                        rc->status == GRPC_STATUS_OK ? "" : s->status_text);
    if (s->has_status_details)
        grpc_slice_unref(s->status_details);
    s->has_status_details = 0;
    s->rest = NULL;
    pthread_cond_destroy(&rc->cv);
    pthread_mutex_destroy(&rc->mu);
}

/* A request refused before its handler (its caller, its route, its body): answered with its
 * google.rpc.Status, and counted and logged as a gRPC call refused at the same point is. */
static enum MHD_Result refuse(tc_api_rest *r, struct MHD_Connection *conn, const request *q)
{
    tc_api_worker *w = caller(r);
    uint64_t latency = (uint64_t)(tc_time_now_us() - q->start_us);
    if (w != NULL && q->rt != NULL)
        tc_api_metrics_observe(w->metrics, (size_t)q->rt->method, q->err.code, latency);
    if (w != NULL && r->srv->cfg.access_log && (q->rt == NULL || q->rt->method != M_HEALTH_CHECK))
        tc_api_log_call(w->log, q->rt != NULL ? tc_api_methods[q->rt->method].name : "unrouted",
                        tc_api_status_name((grpc_status_code)q->err.code),
                        q->who != NULL ? q->who->institution : "", "", latency, q->err.message);
    return send_error(conn, &q->err);
}

static enum MHD_Result serve(tc_api_rest *r, struct MHD_Connection *conn, request *q,
                             const char *url)
{
    tc_api_worker *w = caller(r);
    if (w == NULL)
        return MHD_NO; /* more threads than caller contexts: cannot happen */
    const char *param = NULL;
    find_route(q->rt->verb, url, &param);
    json_t *j = request_json(conn, q, param, &q->err);
    size_t len = 0;
    const uint8_t *msg = j != NULL ? packed_request(w, q, j, &len, &q->err) : NULL;
    json_decref(j);
    if (msg == NULL) {
        w->arena.used = 0;
        return refuse(r, conn, q);
    }
    rest_call rc;
    run(w, (tc_api_method)q->rt->method, q->who, msg, len, &rc);
    enum MHD_Result ret;
    if (rc.status != GRPC_STATUS_OK) {
        ret = send_status(conn, rc.status, rc.details, rc.details_len);
    } else {
        ProtobufCMessage *m =
            protobuf_c_message_unpack(q->rt->response, &w->allocator, rc.reply_len, rc.reply);
        ret = m != NULL ? send_json(conn, 200, tc_pb_json_encode(m, 0)) : MHD_NO;
    }
    free(rc.reply);
    free(rc.details);
    w->arena.used = 0;
    return ret;
}

/* The first callback of a request: who, which method, and whether it may send a body. */
static request *begin(tc_api_rest *r, struct MHD_Connection *conn, const char *verb,
                      const char *url)
{
    request *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    q->start_us = tc_time_now_us();
    const char *why = NULL;
    q->who = r->srv->cfg.insecure ? identify_token(r, conn, &why)
                                  : identify_certificate(r, conn, &why);
    const char *param = NULL;
    q->rt = find_route(verb, url, &param);
    if (q->who == NULL) {
        q->refused = 1;
        tc_api_error_set(&q->err, GRPC_STATUS_UNAUTHENTICATED,
                         TINCHAP__V1__ERROR_REASON__UNKNOWN_CALLER, "%s", why);
    } else if (q->rt == NULL && strcmp(verb, "GET") == 0 && strcmp(url, OPENAPI_PATH) == 0) {
        q->refused = 0; /* the document itself: answered in answer() */
    } else if (q->rt == NULL) {
        q->refused = 1;
        char safe[128];
        tc_error_quote(safe, sizeof safe, url, strlen(url));
        tc_text_redact_ids(safe); /* a caller may put a citizen ID in any path */
        tc_api_error_set(&q->err, GRPC_STATUS_UNIMPLEMENTED,
                         TINCHAP__V1__ERROR_REASON__METHOD_NOT_FOUND,
                         "no %s %s on this server: see GET " OPENAPI_PATH, verb, safe);
    }
    return q;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *verb, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    tc_api_rest *r = cls;
    request *q = *con_cls;
    if (q == NULL) {
        if ((q = begin(r, conn, verb, url)) == NULL)
            return MHD_NO;
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* more of the body: kept up to the message limit */
        size_t n = *upload_size;
        *upload_size = 0;
        if (q->refused || q->too_large)
            return MHD_YES;
        if (q->len + n > r->srv->cfg.max_message_bytes) {
            q->too_large = 1;
            return MHD_YES;
        }
        if (q->len + n > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n)
                cap *= 2;
            char *b = realloc(q->body, cap);
            if (b == NULL)
                return MHD_NO;
            q->body = b;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload, n);
        q->len += n;
        return MHD_YES;
    }
    if (q->refused)
        return refuse(r, conn, q);
    if (q->too_large) {
        tc_api_error_set(&q->err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                         TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                         "the body is larger than %u bytes", r->srv->cfg.max_message_bytes);
        return refuse(r, conn, q);
    }
    if (q->rt == NULL) { /* GET /v1/openapi.json */
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            strlen(r->openapi), r->openapi, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    return serve(r, conn, q, url);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    request *q = *con_cls;
    if (q != NULL) {
        free(q->body);
        free(q);
    }
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    tc_api_rest *r = cls;
    char text[256];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    tc_api_log_eventf(r->srv->log, "warn", "rest_transport", "message", "%s", text);
}

/* ---- start and stop ---- */

static int parse_listen(const char *listen, struct sockaddr_in *sa, tc_error *err)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    size_t hl = colon != NULL ? (size_t)(colon - listen) : 0;
    char *end = NULL;
    long port = colon != NULL ? strtol(colon + 1, &end, 10) : -1;
    if (colon == NULL || hl >= sizeof host || port < 0 || port > 65535 || *end != '\0')
        return tc_errorf(err, TC_EINVAL, "rest_listen '%s': expected HOST:PORT", listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return tc_errorf(err, TC_EINVAL, "rest_listen '%s': not an IPv4 address", listen);
    return TC_OK;
}

static int load_trust(tc_api_rest *r, tc_error *err)
{
    const tc_api_config *c = &r->srv->cfg;
    size_t n = 0;
    int rc;
    if ((rc = tc_read_file(c->tls_cert, PEM_MAX, TC_EINVAL, &r->cert_pem, &n, err)) != TC_OK ||
        (rc = tc_read_file(c->tls_key, PEM_MAX, TC_EINVAL, &r->key_pem, &n, err)) != TC_OK ||
        (rc = tc_read_file(c->tls_client_ca, PEM_MAX, TC_EINVAL, &r->ca_pem, &n, err)) != TC_OK)
        return rc;
    if (gnutls_x509_trust_list_init(&r->trust, 0) < 0)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    gnutls_datum_t ca = {(unsigned char *)r->ca_pem, (unsigned)strlen(r->ca_pem)};
    if (gnutls_x509_trust_list_add_trust_mem(r->trust, &ca, NULL, GNUTLS_X509_FMT_PEM, 0, 0) <= 0)
        return tc_errorf(err, TC_EINVAL, "%s: no CA certificate for REST clients",
                         c->tls_client_ca);
    /* the same revocation list as gRPC's (tls.crl_dir, checked at start by tc_api_auth.c) */
    if (c->tls_crl_dir[0] != '\0' &&
        gnutls_x509_trust_list_add_trust_dir(r->trust, NULL, c->tls_crl_dir, GNUTLS_X509_FMT_PEM,
                                             0, 0) < 0)
        return tc_errorf(err, TC_EINVAL, "%s: the revocation lists cannot be read",
                         c->tls_crl_dir);
    return TC_OK;
}

int tc_api_rest_start(tc_api_server *srv, size_t first_caller, size_t threads,
                      tc_api_rest **out, tc_error *err)
{
    const tc_api_config *c = &srv->cfg;
    struct sockaddr_in sa;
    int rc = parse_listen(c->rest_listen, &sa, err);
    if (rc != TC_OK)
        return rc;
    tc_api_rest *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    r->srv = srv;
    r->first_caller = first_caller;
    r->threads = threads;
    pthread_mutex_init(&r->mu, NULL);
    if ((r->openapi = tc_api_openapi_json()) == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (!c->insecure) {
        if ((rc = load_trust(r, err)) != TC_OK)
            goto fail;
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, r->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, r->key_pem},
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, r->ca_pem}, /* asks the client for its certificate */
        {MHD_OPTION_END, 0, NULL},
    };
    r->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, answer, r, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, r,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)(threads * 256),
        MHD_OPTION_NOTIFY_COMPLETED, completed, r,
        MHD_OPTION_ARRAY, c->insecure ? &tls[3] : tls, MHD_OPTION_END);
    if (r->daemon == NULL) {
        rc = tc_errorf(err, TC_EIO, "cannot serve REST on %s (in use, or TLS files unusable)",
                       c->rest_listen);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    r->port = di != NULL ? di->port : ntohs(sa.sin_port);
    *out = r;
    return TC_OK;
fail:
    tc_api_rest_stop(r);
    return rc;
}

int tc_api_rest_port(const tc_api_rest *r)
{
    return r->port;
}

void tc_api_rest_stop(tc_api_rest *r)
{
    if (r == NULL)
        return;
    if (r->daemon != NULL)
        MHD_stop_daemon(r->daemon); /* joins the threads: requests in progress complete */
    if (r->trust != NULL)
        gnutls_x509_trust_list_deinit(r->trust, 1);
    if (r->key_pem != NULL)
        memset(r->key_pem, 0, strlen(r->key_pem));
    free(r->cert_pem);
    free(r->key_pem);
    free(r->ca_pem);
    free(r->openapi);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
