/* grpc.health.v1: Health/Check, Health/Watch streams for clients with gRPC's client-side
 * health checking, and the serving state both report (tc_api_health_status), with the events
 * that change it: the drain, a relaxed audit trail whose syncs fail, a consent feed that falls
 * behind. Nothing here is audited.
 *
 * Status values are grpc.health.v1's: 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN. A stream
 * sends the status when it opens and again on every change (the drain's NOT_SERVING); the drain
 * ends every stream with UNAVAILABLE before the gRPC server shuts down, since gRPC's shutdown
 * waits for open calls. A stream is not a call in flight: it holds up neither the drain nor
 * max_inflight. Streams are capped in all, per identity and per connection (watch_refusal).
 *
 * A stream's batches may be started by the worker that owns the slot or by the thread that
 * drains the server, so its state is guarded by the server's watch_mu; the completions still
 * arrive on the owning worker's queue, which alone releases the slot. */
#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>

#include "grpc/health/v1/health.pb-c.h"
#include "tc_api_feed.h"
#include "tc_api_internal.h"
#include "tc_time.h"

#define HEALTH_SERVING 1
#define HEALTH_NOT_SERVING 2
#define HEALTH_SERVICE_UNKNOWN 3

/* SERVING while accepting calls with an audit trail that reaches the disk: NOT_SERVING while
 * draining, and while a relaxed trail's syncs fail. */
int tc_api_health_status(tc_api_server *srv)
{
    return atomic_load(&srv->serving) && !tc_audit_sync_failing(srv->audit) &&
                   (srv->feed == NULL || tc_api_feed_current(srv->feed, NULL))
               ? HEALTH_SERVING
               : HEALTH_NOT_SERVING;
}

/* "" or any tinchap service name. */
static int known_service(const char *service)
{
    static const char *const services[] = {"", "tinchap.v1.Scoring", "tinchap.v1.Steward",
                                           "tinchap.v1.Admin"};
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (strcmp(service, services[i]) == 0)
            return 1;
    return 0;
}

/* Whether the request names a service this server serves: 1, 0, or -1 when the request was
 * refused (answered). */
static int served(tc_api_slot *s)
{
    Grpc__Health__V1__HealthCheckRequest *q =
        (Grpc__Health__V1__HealthCheckRequest *)tc_api_request(
            s, &grpc__health__v1__health_check_request__descriptor);
    return q == NULL ? -1 : known_service(q->service);
}

/* The standard health check. */
void tc_api_handle_health(tc_api_slot *s)
{
    int known = served(s);
    if (known < 0)
        return;
    if (!known) {
        tc_api_fail(s, GRPC_STATUS_NOT_FOUND, TINCHAP__V1__ERROR_REASON__SERVICE_UNKNOWN,
                    "unknown service");
        return;
    }
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status =
        (Grpc__Health__V1__HealthCheckResponse__ServingStatus)tc_api_health_status(s->w->srv);
    tc_api_reply(s, &r.base);
}

size_t tc_api_health_encode(int status, unsigned char out[8])
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    return grpc__health__v1__health_check_response__pack(&r, out); /* at most 2 bytes */
}

/* The standard health stream, for clients with gRPC's client-side health checking: they stop
 * picking this replica when it turns NOT_SERVING at the start of a drain, before it refuses
 * anything. An unknown service is answered SERVICE_UNKNOWN on the open stream, as the protocol
 * asks, rather than by ending it. */
void tc_api_handle_health_watch(tc_api_slot *s)
{
    int known = served(s);
    if (known >= 0)
        tc_api_watch_start(s, !known);
}

/* Relaxed audit: the trail's disk refused a sync (or accepts them again). While it fails, the
 * answers given are committed but may not survive a machine crash: health turns NOT_SERVING,
 * so balancers and health-checking clients move to replicas whose disks work, and the log
 * says why. Called on the audit sync thread. */
void tc_api_health_audit_sync(int failing, const char *error, void *arg)
{
    tc_api_server *srv = arg;
    if (failing)
        tc_api_log_eventf(srv->log, "error", "audit_sync_failed", "error",
                          "%s; retried every "
                          "%u ms, health NOT_SERVING until it succeeds",
                          error, srv->cfg.relaxed_sync_ms);
    else
        tc_api_log_event(srv->log, "info", "audit_sync_recovered", "");
    tc_api_watch_notify(srv);
}

/* The consent feed fell behind its bound, or caught up: health watchers learn it at once. */
void tc_api_health_feed_changed(void *arg)
{
    tc_api_watch_notify(arg);
}

/* Under watch_mu. */
static void watch_send(tc_api_slot *s, int status)
{
    size_t len = tc_api_health_encode(status, s->watch.msg);
    if (tc_api_send(s, s->watch.msg, len) == GRPC_CALL_OK) {
        s->watch.sending = 1;
        s->watch.batches++;
        s->watch.sent = status;
    }
}

/* Under watch_mu: the final status. UNAVAILABLE tells a client's health checker the replica is
 * going away, so it keeps the connection out of its picks until it reconnects. */
static void watch_end(tc_api_slot *s)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = tc_api_initial_op(s, ops);
    tc_api_error e;
    tc_api_error_set(&e, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__DRAINING,
                     "the server is shutting down");
    tc_api_set_error(s, &e);
    grpc_slice_unref(s->status_slice);
    s->status_slice = grpc_slice_from_copied_string(s->status_text);
    s->status = GRPC_STATUS_UNAVAILABLE;
    s->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
    s->trailer.value = s->status_details;
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = GRPC_STATUS_UNAVAILABLE;
    ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    ops[n].data.send_status_from_server.trailing_metadata = &s->trailer;
    ops[n++].data.send_status_from_server.status_details = &s->status_slice;
    HANDOFF_RELEASE(s);
    if (grpc_call_start_batch(s->call, ops, n, s, NULL) == GRPC_CALL_OK) {
        s->initial_sent = 1;
        s->watch.ending = 1;
        s->watch.batches++;
    }
}

/* Under watch_mu: take s out of the server's list. */
static void watch_unlink(tc_api_server *srv, tc_api_slot *s)
{
    for (tc_api_slot **p = &srv->watchers; *p != NULL; p = &(*p)->watch.next)
        if (*p == s) {
            *p = s->watch.next;
            srv->n_watchers--;
            srv->watch_by_identity[s->who->index]--;
            return;
        }
}

/* On the owning worker, once the stream is closed and none of its batches is pending. */
static void watch_release(tc_api_worker *w, tc_api_slot *s)
{
    uint64_t latency = (uint64_t)(tc_time_now_us() - s->start_us);
    tc_api_metrics_observe(w->metrics, M_HEALTH_WATCH,
                           (int)(s->watch.ending ? GRPC_STATUS_UNAVAILABLE : GRPC_STATUS_CANCELLED),
                           latency);
    grpc_slice_unref(s->status_slice);
    tc_api_release_slot(w, s, 1);
}

/* Under watch_mu: why s may not open a stream now, or NULL. Each stream holds a slot for as
 * long as its client stays connected, so no one client may take them all: a bank's channels
 * each hold one stream per connection (gRPC's client-side health checking), and a flood from
 * one identity or one connection must leave room for everyone else's. */
static const char *watch_refusal(tc_api_server *srv, tc_api_slot *s)
{
    if (srv->n_watchers >= srv->n_workers * TC_API_WATCH_PER_WORKER)
        return "too many health streams open on this server; use Health/Check";
    if (srv->watch_by_identity[s->who->index] >= srv->cfg.health_streams_per_identity)
        return "too many health streams open for this identity; use Health/Check";
    size_t same = 0;
    for (const tc_api_slot *o = srv->watchers; o != NULL; o = o->watch.next)
        same += strcmp(o->watch.peer, s->watch.peer) == 0;
    if (same >= TC_API_WATCH_PER_CONNECTION)
        return "too many health streams open on this connection; use Health/Check";
    return NULL;
}

void tc_api_watch_start(tc_api_slot *s, int unknown)
{
    tc_api_worker *w = s->w;
    tc_api_server *srv = w->srv;
    grpc_op op;
    memset(&s->watch, 0, sizeof s->watch);
    char *peer = grpc_call_get_peer(s->call); /* "ipv4:127.0.0.1:40412": one connection */
    snprintf(s->watch.peer, sizeof s->watch.peer, "%s", peer != NULL ? peer : "");
    gpr_free(peer);
    pthread_mutex_lock(&srv->watch_mu);
    const char *refused = watch_refusal(srv, s);
    if (refused == NULL) { /* counted now, so that concurrent opens see it */
        s->watch.next = srv->watchers;
        srv->watchers = s;
        srv->n_watchers++;
        srv->watch_by_identity[s->who->index]++;
    }
    pthread_mutex_unlock(&srv->watch_mu);
    if (refused != NULL) {
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__OVERLOADED, "%s",
                    refused);
        return;
    }
    memset(&op, 0, sizeof op);
    s->stage = SLOT_WATCHING;
    s->status = GRPC_STATUS_OK;
    s->status_slice = grpc_empty_slice();
    atomic_fetch_sub_explicit(&w->inflight, 1, memory_order_relaxed);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &s->cancelled;
    pthread_mutex_lock(&srv->watch_mu);
    s->watch.unknown = unknown;
    if (grpc_call_start_batch(s->call, &op, 1, (char *)s + 1, NULL) == GRPC_CALL_OK)
        s->watch.batches++;
    else
        s->watch.closed = 1;
    watch_send(s, unknown ? HEALTH_SERVICE_UNKNOWN : tc_api_health_status(srv));
    if (srv->watch_closing) /* a stream opened during the drain ends at once */
        s->watch.want_end = 1;
    int done = s->watch.batches == 0;
    if (done)
        watch_unlink(srv, s);
    pthread_mutex_unlock(&srv->watch_mu);
    if (done) /* cannot happen for a live call; never leak the slot all the same */
        watch_release(w, s);
}

/* A send, or the final status, of a stream completed (never both pending at once). */
void tc_api_watch_event(tc_api_worker *w, tc_api_slot *s, int ok)
{
    tc_api_server *srv = w->srv;
    pthread_mutex_lock(&srv->watch_mu);
    s->watch.batches--;
    if (s->watch.sending) {
        s->watch.sending = 0;
        int live = ok && !s->watch.closed && !s->watch.ending;
        if (live && s->watch.want_end)
            watch_end(s);
        else if (live && !s->watch.unknown && s->watch.sent != tc_api_health_status(srv))
            watch_send(s, tc_api_health_status(srv));
    }
    int done = s->watch.batches == 0 && s->watch.closed;
    if (done)
        watch_unlink(srv, s);
    pthread_mutex_unlock(&srv->watch_mu);
    if (done)
        watch_release(w, s);
}

/* The client went away, or the final status was delivered. */
void tc_api_watch_closed(tc_api_worker *w, tc_api_slot *s)
{
    tc_api_server *srv = w->srv;
    pthread_mutex_lock(&srv->watch_mu);
    s->watch.batches--;
    s->watch.closed = 1;
    int done = s->watch.batches == 0;
    if (done)
        watch_unlink(srv, s);
    pthread_mutex_unlock(&srv->watch_mu);
    if (done)
        watch_release(w, s);
}

/* Send the current status to every stream that has not seen it (from any thread). */
void tc_api_watch_notify(tc_api_server *srv)
{
    int status = tc_api_health_status(srv);
    pthread_mutex_lock(&srv->watch_mu);
    for (tc_api_slot *s = srv->watchers; s != NULL; s = s->watch.next)
        if (!s->watch.sending && !s->watch.ending && !s->watch.closed && !s->watch.unknown &&
            s->watch.sent != status)
            watch_send(s, status);
    pthread_mutex_unlock(&srv->watch_mu);
}

/* End every stream, and every stream opened from now on. */
void tc_api_watch_end_all(tc_api_server *srv)
{
    pthread_mutex_lock(&srv->watch_mu);
    srv->watch_closing = 1;
    for (tc_api_slot *s = srv->watchers; s != NULL; s = s->watch.next) {
        if (s->watch.closed || s->watch.ending)
            continue;
        if (s->watch.sending)
            s->watch.want_end = 1;
        else
            watch_end(s);
    }
    pthread_mutex_unlock(&srv->watch_mu);
}
