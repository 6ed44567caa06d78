/* Internals shared by the server (tc_api_server.c: threads, slots, start and drain), the life
 * of a call (tc_api_call.c), authentication (tc_api_auth.c), health (tc_api_health.c) and the
 * method handlers. Not a public contract: nothing outside api/ includes this.
 *
 * A call lives in a slot. Each worker thread owns one completion queue and a fixed pool of
 * slots; a slot is posted for a method, receives a call, is handled, sends its final batch and
 * returns to the pool — the pool is allocated once, so the service allocates nothing per call
 * of its own (gRPC and protobuf-c aside; protobuf-c allocates from a per-worker arena).
 *
 * Tags on the completion queues are slot pointers; the slot's stage says which batch
 * completed. Score slots are finished by the thread that commits their audit record (the audit
 * writer, or in relaxed mode any worker that commits the queued records itself: see
 * tc_audit.h), which starts their final batch; the completion still arrives on the slot's own
 * worker's queue.
 */
#ifndef TC_API_INTERNAL_H
#define TC_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "tc_api.h"
#include "tc_api_config.h"
#include "tc_api_error.h"
#include "tc_api_log.h"
#include "tc_api_metrics.h"
#include "tc_api_reflection.h"
#include "tc_audit.h"
#include "tc_catalog.h"
#include "tc_eval.h"
#include "tc_id.h"
#include "tc_key.h"
#include "tc_registry.h"
#include "tc_store.h"

#define TC_API_SLOTS_PER_WORKER 2048
/* Per worker: a request is copied into it and decoded, and a reply is built and encoded in
 * it; ListInquiries' 1000 inquiries take about 400 KiB. A request larger than what is left
 * goes to the heap (tc_api_payload), so every request up to max_message_bytes is served. */
#define TC_API_ARENA_BYTES (1u << 20)
#define TC_API_STATUS_TEXT_MAX 256
#define TC_API_PUT_MAX 10000 /* records in one PutCitizens call */
/* Health/Watch streams per worker (counted over the server): each holds a slot for as long as
 * its client stays connected, so together they may take at most half of the slots, whatever
 * clients do; per identity, at most health_streams_per_identity of them (configured); per
 * connection, at most TC_API_WATCH_PER_CONNECTION (a client's health checker holds one per
 * service it watches). */
#define TC_API_WATCH_PER_WORKER (TC_API_SLOTS_PER_WORKER / 2)
#define TC_API_WATCH_PER_CONNECTION 8
#define TC_API_STREAMS_PER_CONNECTION 256 /* calls in flight on one HTTP/2 connection */
#define TC_API_HANDSHAKE_TIMEOUT_MS 10000   /* to finish the TLS handshake after connecting */

/* ThreadSanitizer does not see the synchronisation inside gRPC (Debian's build is not
 * instrumented). A Score slot is finished by the thread that commits its audit record (the
 * writer, or another worker in relaxed mode) and comes back on its worker's queue: these annotations tell TSan about that hand-over, so that it keeps checking
 * every access of ours around it. They compile to nothing in other builds. */
#if defined(__SANITIZE_THREAD__)
#define TC_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TC_THREAD_SANITIZER 1
#endif
#endif
#ifdef TC_THREAD_SANITIZER
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define HANDOFF_RELEASE(p) __tsan_release(p)
#define HANDOFF_ACQUIRE(p) __tsan_acquire(p)
#else
#define HANDOFF_RELEASE(p) ((void)(p))
#define HANDOFF_ACQUIRE(p) ((void)(p))
#endif

typedef enum tc_api_method {
    M_SCORE,
    M_LIST_MODELS,
    M_GET_MODEL,
    M_PUT_CITIZENS,
    M_GRANT_CONSENT,
    M_REVOKE_CONSENT,
    M_ERASE_CITIZEN,
    M_LIST_INQUIRIES,
    M_LIST_CONSENTS,
    M_RELOAD_MODELS,
    M_GET_STATUS,
    M_GET_MONITOR,
    M_HEALTH_CHECK,
    M_HEALTH_WATCH, /* server-streaming: a status now, another on every change */
    M_REFLECTION,       /* grpc.reflection.v1 ServerReflectionInfo: a bidirectional stream */
    M_REFLECTION_ALPHA, /* the same under its older name, v1alpha */
    M_NOOP,    /* benchmark floor: the same server, no work */
    M_UNKNOWN, /* anything else: UNIMPLEMENTED */
    M_COUNT
} tc_api_method;

typedef struct tc_api_method_info {
    const char *path;  /* "/tinchap.v1.Scoring/Score" */
    const char *name;  /* "Score", for logs and metrics */
    int streaming;     /* client-streaming: no initial payload */
    unsigned role;     /* 0: no role needed */
    int posted;        /* request slots kept posted per worker */
} tc_api_method_info;

extern const tc_api_method_info tc_api_methods[M_COUNT];

typedef enum slot_stage {
    SLOT_FREE,
    SLOT_REQUESTED, /* posted, waiting for a call */
    SLOT_RECEIVING, /* streaming: a RECV_MESSAGE is pending */
    SLOT_AUDITING,  /* Score: waiting for its audit record's commit */
    SLOT_CONFIRMING,/* streaming: initial metadata sent to learn whether the call is alive */
    SLOT_FINISHING, /* final batch pending */
    SLOT_WATCHING,  /* Health/Watch: an open stream; see tc_api_health.c */
    SLOT_RELOADING, /* ReloadModels: waiting for the reload thread */
    SLOT_REFLECTING,/* ServerReflectionInfo: a receive or a send pending (tc_api_reflect.c) */
} slot_stage;

/* A Health/Watch stream (tc_api_health.c), guarded by the server's watch_mu. The
 * RECV_CLOSE_ON_SERVER batch is tagged with the slot's address + 1 to tell it from the others. */
typedef struct tc_api_watch {
    struct tc_api_slot *next;  /* in the server's list of open streams */
    int sent;                  /* the last status sent */
    int unknown;               /* watching a service this server does not serve */
    int sending;               /* a SEND_MESSAGE batch is pending */
    int want_end;              /* end the stream once the pending send completes */
    int ending;                /* the final status has been sent */
    int closed;                /* RECV_CLOSE_ON_SERVER completed */
    int batches;               /* batches pending */
    unsigned char msg[8];      /* the encoded HealthCheckResponse being sent */
    char peer[64];             /* the connection ("ipv4:127.0.0.1:40412"), for its cap */
} tc_api_watch;

struct tc_api_worker;
struct put_state;

typedef struct tc_api_slot {
    struct tc_api_worker *w;
    tc_api_method method;
    slot_stage stage;
    grpc_call *call;
    grpc_call_details details;   /* generic (unknown-method) slots */
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    unsigned char *payload_heap; /* a request larger than the arena, until the slot is free */
    ProtobufCMessage *request_msg; /* tc_api_request's, while its handler runs */
    int cancelled;
    int initial_sent;            /* initial metadata already sent (streaming calls) */
    int64_t start_us;
    const tc_api_identity *who;  /* NULL until authenticated */
    /* the reply */
    grpc_status_code status;
    char status_text[TC_API_STATUS_TEXT_MAX];
    grpc_slice status_slice;
    /* A refusal's google.rpc.Status, packed (tc_api_set_error), and the trailer it goes in */
    grpc_slice status_details;
    int has_status_details;
    grpc_metadata trailer;
    const unsigned char *reply;  /* encoded message, or NULL for an error reply */
    size_t reply_len;
    char request_id[TC_AUDIT_TEXT_MAX + 1]; /* for the access log */
    /* Score */
    tc_audit_entry audit;
    unsigned char response[TC_AUDIT_RESPONSE_MAX]; /* see tc_api_score.c */
    unsigned char rid_field[2 + TC_AUDIT_TEXT_MAX];   /* the reply's request_id, encoded */
    size_t rid_field_len;
    size_t idem_key_len;         /* of audit.idem_key, once the request ID is known */
    /* PutCitizens */
    struct put_state *put;
    /* Health/Watch */
    tc_api_watch watch;
    /* REST (tc_api_rest.c): the request as packed bytes, and where the answer goes */
    struct tc_api_rest_call *rest;
    const unsigned char *rest_payload;
    size_t rest_len;
    /* ServerReflectionInfo */
    tc_api_reflection_stream reflect;
    int reflect_sending;         /* the pending batch is a send (else a receive) */
    struct tc_api_slot *next_free;
    struct tc_api_slot *next_reload; /* in the reload thread's queue */
} tc_api_slot;

typedef struct tc_api_arena {
    unsigned char *buf;
    size_t size, used;
} tc_api_arena;

typedef struct tc_api_worker {
    size_t id;
    struct tc_api_server *srv;
    pthread_t thread;
    grpc_completion_queue *cq;
    tc_reader *reader;
    tc_audit_reader *audit_reader;
    tc_audit_reader *consolidated_reader; /* on the collecting node: ListInquiries reads it */
    tc_hasher *hasher;
    tc_eval_workspace *ws;
    tc_score_result result, shadow;
    tc_api_arena arena;
    ProtobufCAllocator allocator;
    tc_api_slot *slots;
    tc_api_slot *free;
    int posted[M_COUNT];
    atomic_uint inflight;        /* calls received whose answer is not decided yet (a Score
                                  * is answered by the thread committing its audit record,
                                  * which decrements this worker's count) */
    _Atomic int64_t last_call_us; /* when the last call arrived, for the drain */
    /* Held while this worker posts a request slot. The stopping thread sets stopping and then
     * takes every worker's lock once: a post that saw stopping == 0 is finished before the
     * server is shut down and destroyed. Per worker, so the call path shares no lock. */
    pthread_mutex_t post_mu;
    tc_api_metrics_shard *metrics;
    tc_api_log_shard *log;
} tc_api_worker;

struct tc_api_server {
    tc_api_config cfg;
    tc_catalog *catalog;
    tc_key *key;
    tc_store *store;
    tc_registry *registry;
    tc_audit *audit;
    tc_api_log *log;
    tc_api_metrics *metrics;
    struct tc_api_monitor *monitor; /* live monitoring of the models (tc_api_monitor.h) */
    struct tc_api_feed *feed;    /* the consent feed (tc_api_feed.h), NULL when not configured */
    struct tc_api_ship *ship;    /* audit shipping (tc_api_ship.h), NULL when not configured */
    tc_audit *consolidated;      /* every node's records, on the collecting node; else NULL */
    tc_api_reflection *reflection;
    struct tc_api_rest *rest;    /* NULL: no REST interface */
    size_t n_rest;               /* REST callers, ids n_workers .. n_workers + n_rest - 1 */
    tc_api_worker *rest_workers;
    grpc_server *server;
    grpc_completion_queue *shutdown_cq;
    void *method_handles[M_COUNT];
    size_t n_workers;
    tc_api_worker *workers;
    int port;
    atomic_int serving;          /* 0: health answers NOT_SERVING */
    atomic_int refusing;         /* 1: new calls get UNAVAILABLE (draining) */
    atomic_int stopping;         /* 1: the gRPC server is shutting down; post no more slots */
    int64_t started_us;
    int64_t crl_next_update;     /* tls.crl_dir: when its CRL must be replaced (0: no CRL) */
    int64_t audit_error_logged_us; /* under the trail's commit lock (done() callbacks) */
    tc_api_worker admin;         /* reader and hasher for the metrics/admin paths */
    pthread_mutex_t admin_mu;
    pthread_mutex_t watch_mu;    /* the Health/Watch streams and their state */
    tc_api_slot *watchers;
    size_t n_watchers;
    unsigned watch_by_identity[TC_API_CLIENTS_MAX]; /* open streams per identity (its index) */
    /* Audited Score refusals per institution (its institution_index), limited with the generic
     * cell rate algorithm: the theoretical time of the next one (µs), and how many calls were
     * turned away for being over the limit (tc_api_score.c). */
    _Atomic int64_t denial_tat_us[2 * TC_API_CLIENTS_MAX];
    atomic_uint_fast64_t denials_throttled[2 * TC_API_CLIENTS_MAX];
    int watch_closing;           /* draining: streams end, new ones end at once */
    /* The reload thread and its queue of ReloadModels calls (tc_api_admin.c) */
    pthread_t reloader;
    int reloader_running;
    pthread_mutex_t reload_mu;
    pthread_cond_t reload_cv;
    tc_api_slot *reload_head, *reload_tail;
    int reload_stop;
};

/* ---- a call's life, for the server and the handlers (tc_api_call.c) ---- */

/* Finish a call: set the status (and message) and send the final batch. reply may be NULL. */
void tc_api_finish(tc_api_slot *s, grpc_status_code status, const unsigned char *reply,
                   size_t reply_len);
/* Finish a call with a refusal: its status, the stable reason a program switches on, and a
 * message for people. The google.rpc.Status with its ErrorInfo goes with it (in the
 * "grpc-status-details-bin" trailer, or as a REST body). */
void tc_api_fail(tc_api_slot *s, grpc_status_code status, tc_api_reason reason,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same with a built error: violations, metadata, a retry delay. */
void tc_api_fail_error(tc_api_slot *s, tc_api_error *e);

/* Keep e's packed google.rpc.Status (and its message as the status text) with s, for a refusal
 * finished later by tc_api_finish (Score's, by the thread committing its record). Texts are redacted of citizen
 * ID digits first. Callable from any thread that owns s. */
void tc_api_set_error(tc_api_slot *s, tc_api_error *e);

/* Give a refusal without one a google.rpc.Status (a fallback reason by status). */
void tc_api_ensure_error(tc_api_slot *s, grpc_status_code status);

/* Map a TC_E* code to the gRPC status a client should see, and to its usual reason (a caller
 * that knows better names its own). */
grpc_status_code tc_api_status_of(int tc_code);
tc_api_reason tc_api_reason_of(int tc_code);
const char *tc_api_status_name(grpc_status_code code);

/* The request payload as one contiguous buffer in the worker's arena (NULL if none). */
const unsigned char *tc_api_payload(tc_api_slot *s, size_t *len);

/* The request, decoded into the worker's arena after its strings are checked
 * (tc_api_check_strings); answers INVALID_ARGUMENT itself and returns NULL when it is missing,
 * malformed or holds a NUL or bytes that are not UTF-8. */
ProtobufCMessage *tc_api_request(tc_api_slot *s, const ProtobufCMessageDescriptor *d);

/* A batch's first op, into *op: the initial metadata, when it was not sent yet (1), or none
 * (0). The caller sets initial_sent once the batch has started. */
size_t tc_api_initial_op(const tc_api_slot *s, grpc_op *op);

/* A streaming call's next message: start a batch on s's call that sends msg (copied), with
 * the initial metadata first if it was not sent yet, tagged s. GRPC_CALL_OK once started. */
grpc_call_error tc_api_send(tc_api_slot *s, const unsigned char *msg, size_t len);

/* Encode msg and finish the call with it (RESOURCE_EXHAUSTED if it does not fit). */
void tc_api_reply(tc_api_slot *s, const ProtobufCMessage *msg);

/* Encode a protobuf-c message into the worker's arena. */
unsigned char *tc_api_pack(tc_api_slot *s, const ProtobufCMessage *msg, size_t *len);

/* A Timestamp of t microseconds since the epoch (UTC), into *out. */
void tc_api_timestamp(Google__Protobuf__Timestamp *out, int64_t t_us);

/* Bump allocation from the worker's arena, reset after each call. NULL when full. */
void *tc_api_arena_alloc(tc_api_worker *w, size_t n);

/* Admission, then authentication and the role (tc_api_authorize), then the handler
 * (tc_api_route): what every gRPC call goes through once it arrives. */
void tc_api_dispatch(tc_api_slot *s);

/* ---- who a call comes from (tc_api_auth.c) ---- */

/* The server's credentials: mTLS requiring a client certificate signed by tls.client_ca (and
 * not revoked, with tls.crl_dir), or insecure ones when configured so. NULL on error. */
grpc_server_credentials *tc_api_credentials_new(const tc_api_config *c, tc_error *err);

/* A name a client certificate carries: kind TC_NAME_DNS, _URI or _CN (tc_api_config.h), or 0
 * for a SAN of a type that identifies nobody (e-mail, IP), which still counts as a SAN. */
#define TC_API_CERT_NAMES_MAX 32
typedef struct tc_api_cert_name {
    unsigned kind;
    char name[TC_API_IDENTITY_MAX + 1];
} tc_api_cert_name;

/* The identity a certificate's names (all of them, SANs and CN) map to under the configured
 * rules, or NULL with why: no name matches, or names match more than one identity. The one
 * policy for gRPC and REST. */
const tc_api_identity *tc_api_identify_names(const tc_api_config *c, const tc_api_cert_name *names,
                                             size_t n, const char **why);

/* The token identity of an "authorization: Bearer TOKEN" value (v may be NULL), or NULL. */
const tc_api_identity *tc_api_identify_token(const tc_api_config *c, const char *v, size_t len,
                                             const char **why);

/* Whether s->who has the method's role; answers PERMISSION_DENIED (ROLE_REQUIRED) itself and
 * returns nonzero when not. */
int tc_api_require_role(tc_api_slot *s);

/* Authenticate the call and check it has the method's role. Answers the call itself
 * (UNAUTHENTICATED / PERMISSION_DENIED) and returns nonzero when it may not proceed. */
int tc_api_authorize(tc_api_slot *s);

/* The checks before any method (draining, calls in flight); answers the call itself and
 * returns nonzero when it may not proceed (tc_api_call.c). Then tc_api_route runs its
 * handler. */
int tc_api_admit(tc_api_slot *s);
void tc_api_route(tc_api_slot *s);

/* Return a slot whose call is over to its worker's pool; repost 0 when the server is stopping
 * (requests fail at once then, so a replacement would only spin through the queue). */
void tc_api_release_slot(tc_api_worker *w, tc_api_slot *s, int repost);

/* With tls.crl_dir set: check it holds a CRL of every CA in tls.client_ca, signed by it and not
 * expired; *next_update receives the earliest next-update time (seconds since the epoch). */
int tc_api_crl_check(const tc_api_config *c, int64_t *next_update, tc_error *err);

/* 1 when the deadline has passed (the call was then answered with DEADLINE_EXCEEDED). */
int tc_api_past_deadline(tc_api_slot *s);

/* The server's own gauges (audit trail, models, database, serving state...), written into each
 * Prometheus scrape; arg is the server (tc_api_admin.c). */
void tc_api_state_metrics(FILE *f, void *arg);

/* ---- handlers ---- */

void tc_api_handle_score(tc_api_slot *s);
/* A model status as the API names it (tc_api_model.c). */
int tc_api_model_status(tc_model_status st);
void tc_api_handle_list_models(tc_api_slot *s);
void tc_api_handle_get_model(tc_api_slot *s);
void tc_api_handle_reload(tc_api_slot *s);

/* ReloadModels runs on a thread of its own: parsing and validating every model file takes
 * milliseconds, and the Score calls behind it on the worker that received it would wait. The
 * thread takes the calls in order, one reload at a time, and answers each itself (as a Score is
 * answered by the thread that commits its audit record). Stop answers what is queued, then joins; call it once no worker can
 * queue more (the gRPC server destroyed) and before the workers' queues shut down. */
int tc_api_reloader_start(tc_api_server *srv, tc_error *err);
void tc_api_reloader_stop(tc_api_server *srv);
void tc_api_handle_status(tc_api_slot *s);
void tc_api_handle_monitor(tc_api_slot *s);

/* ---- health (tc_api_health.c) ---- */

void tc_api_handle_health(tc_api_slot *s);
void tc_api_handle_health_watch(tc_api_slot *s);

/* Health/Watch: open the stream on s (authenticated) and send the current
 * status (or SERVICE_UNKNOWN when unknown), or refuse it RESOURCE_EXHAUSTED past a cap; then
 * tc_api_watch_notify sends every change, from any thread. event and closed take the stream's
 * completions on its worker. end_all ends every stream, and every one opened from then on (the
 * drain). The status values are grpc.health.v1's ServingStatus; health_status is the server's
 * now. encode writes a HealthCheckResponse into the 8-byte buffer and returns its length. */
void tc_api_watch_start(tc_api_slot *s, int unknown);
void tc_api_watch_event(tc_api_worker *w, tc_api_slot *s, int ok);
void tc_api_watch_closed(tc_api_worker *w, tc_api_slot *s);
void tc_api_watch_notify(tc_api_server *srv);
void tc_api_watch_end_all(tc_api_server *srv);
int tc_api_health_status(tc_api_server *srv);
size_t tc_api_health_encode(int status, unsigned char out[8]);
/* The serving state changed: a relaxed audit trail's syncs failed or work again (the audit
 * sync thread's callback; arg is the server), or the consent feed fell behind its bound or
 * caught up (the feed's). Both log what happened and tell every Health/Watch stream. */
void tc_api_health_audit_sync(int failing, const char *error, void *arg);
void tc_api_health_feed_changed(void *arg);

/* REST (tc_api_rest.c): the answer of a REST request, however its handler finished it (on the
 * REST thread, or later on the thread that commits a Score's audit record), handed back to the thread that waits for it. */
void tc_api_rest_finish(tc_api_slot *s, grpc_status_code status, const unsigned char *reply,
                        size_t reply_len);

/* ServerReflectionInfo (tc_api_reflect.c): open the stream, then on each completion of its
 * pending batch (ok as the completion queue gave it) answer the request received or take the
 * next one; the client's half-close ends the call with OK. */
void tc_api_handle_reflection(tc_api_slot *s);
void tc_api_reflection_event(tc_api_slot *s, int ok);
void tc_api_handle_grant(tc_api_slot *s);
void tc_api_handle_revoke(tc_api_slot *s);
void tc_api_handle_erase(tc_api_slot *s);
void tc_api_handle_inquiries(tc_api_slot *s);
void tc_api_handle_consents(tc_api_slot *s);

/* Check and hash a request's citizen ID into key: 0; 1 with a violation of citizen_id added to
 * e; -1 when hashing failed (the call was answered INTERNAL). */
int tc_api_citizen_key(tc_api_slot *s, const char *id, unsigned char key[TC_CITIZEN_KEY_LEN],
                       tc_api_error *e);

/* A steward request's error, started as an invalid request for its checks to add to
 * (tc_api_invalid_start); then tc_api_refused answers the call when the citizen key was bad
 * (key_rc 1: a violation in e; -1: already answered) or more violations were found, and
 * returns nonzero when the handler must stop. */
void tc_api_invalid_start(tc_api_error *e);
int tc_api_refused(tc_api_slot *s, tc_api_error *e, int key_rc, int more);
/* PutCitizens: called to start (msg NULL, end 0), for each streamed message, once at the end
 * of the stream (end 1), and once more when the call is confirmed alive (confirmed 1). */
void tc_api_handle_put(tc_api_slot *s, const unsigned char *msg, size_t len, int end);
void tc_api_put_confirmed(tc_api_slot *s);
void tc_api_put_release(tc_api_slot *s);

#endif
