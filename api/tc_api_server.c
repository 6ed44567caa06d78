/* The server: its worker threads, their completion queues and pools of call slots, and the
 * server's life — start-up (engine, listeners, threads), reload and the drain. What a call
 * goes through once it arrives is tc_api_call.c's; who it comes from, tc_api_auth.c's; health
 * and serving state, tc_api_health.c's. */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/time.h>

#include "tc_api_internal.h"
#include "tc_api_feed.h"
#include "tc_api_ship.h"
#include "tc_api_rest.h"
#include "tc_api_monitor.h"
#include "tc_time.h"

#ifndef TC_VERSION
#define TC_VERSION "0.0.0"
#endif
#ifndef TC_COMMIT
#define TC_COMMIT "unknown"
#endif

const char *tc_api_version(void)
{
    return TC_VERSION;
}

const char *tc_api_commit(void)
{
    return TC_COMMIT;
}

/* ---- the per-worker arena that protobuf-c allocates from ---- */

void *tc_api_arena_alloc(tc_api_worker *w, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (w->arena.used + n > w->arena.size)
        return NULL;
    void *p = w->arena.buf + w->arena.used;
    w->arena.used += n;
    return p;
}

static void *pb_alloc(void *data, size_t n)
{
    void *p = tc_api_arena_alloc(data, n);
    return p != NULL ? p : malloc(n); /* an oversized message: rare, freed below */
}

static void pb_free(void *data, void *p)
{
    tc_api_worker *w = data;
    if ((unsigned char *)p < w->arena.buf || (unsigned char *)p >= w->arena.buf + w->arena.size)
        free(p);
}

/* ---- slots ---- */

static void post_slot(tc_api_worker *w, tc_api_method m)
{
    tc_api_server *srv = w->srv;
    tc_api_slot *s = w->free;
    if (s == NULL)
        return; /* every slot busy: calls wait in gRPC until one is free */
    pthread_mutex_lock(&w->post_mu);
    if (atomic_load(&srv->stopping)) {
        pthread_mutex_unlock(&w->post_mu);
        return;
    }
    w->free = s->next_free;
    memset(&s->md, 0, sizeof s->md);
    s->method = m;
    s->stage = SLOT_REQUESTED;
    s->call = NULL;
    s->payload = NULL;
    s->cancelled = 0;
    s->initial_sent = 0;
    s->who = NULL;
    s->reply = NULL;
    s->reply_len = 0;
    s->status_text[0] = '\0';
    s->has_status_details = 0;
    s->request_id[0] = '\0';
    s->put = NULL;
    grpc_metadata_array_init(&s->md);
    grpc_call_error e;
    if (m == M_UNKNOWN) {
        grpc_call_details_init(&s->details);
        e = grpc_server_request_call(srv->server, &s->call, &s->details, &s->md, w->cq, w->cq, s);
    } else {
        e = grpc_server_request_registered_call(
            srv->server, srv->method_handles[m], &s->call, &s->deadline, &s->md,
            tc_api_methods[m].streaming ? NULL : &s->payload, w->cq, w->cq, s);
    }
    pthread_mutex_unlock(&w->post_mu);
    if (e != GRPC_CALL_OK) {
        grpc_metadata_array_destroy(&s->md);
        if (m == M_UNKNOWN)
            grpc_call_details_destroy(&s->details);
        s->stage = SLOT_FREE;
        s->next_free = w->free;
        w->free = s;
        return;
    }
    w->posted[m]++;
}

void tc_api_release_slot(tc_api_worker *w, tc_api_slot *s, int repost)
{
    if (s->payload != NULL)
        grpc_byte_buffer_destroy(s->payload);
    s->payload = NULL;
    grpc_metadata_array_destroy(&s->md);
    if (s->method == M_UNKNOWN)
        grpc_call_details_destroy(&s->details);
    if (s->call != NULL)
        grpc_call_unref(s->call);
    s->call = NULL;
    if (s->put != NULL)
        tc_api_put_release(s);
    free(s->payload_heap);
    s->payload_heap = NULL;
    if (s->has_status_details)
        grpc_slice_unref(s->status_details);
    s->has_status_details = 0;
    tc_api_method m = s->method;
    s->stage = SLOT_FREE;
    s->next_free = w->free;
    w->free = s;
    /* keep the method's request slots posted */
    while (repost && w->posted[m] < tc_api_methods[m].posted && w->free != NULL &&
           !atomic_load(&w->srv->stopping))
        post_slot(w, m);
}

static void finished(tc_api_worker *w, tc_api_slot *s)
{
    uint64_t latency = (uint64_t)(tc_time_now_us() - s->start_us);
    grpc_status_code st =
        s->cancelled && s->status == GRPC_STATUS_OK ? GRPC_STATUS_CANCELLED : s->status;
    tc_api_metrics_observe(w->metrics, s->method, (int)st, latency);
    if (w->srv->cfg.access_log && s->method != M_HEALTH_CHECK && s->method != M_NOOP)
        tc_api_log_call(w->log, tc_api_methods[s->method].name, tc_api_status_name(st),
                        s->who != NULL ? s->who->institution : "", s->request_id, latency,
                        s->status == GRPC_STATUS_OK ? "" : s->status_text);
    grpc_slice_unref(s->status_slice);
    tc_api_release_slot(w, s, 1);
}

static void on_event(tc_api_worker *w, tc_api_slot *s, int ok)
{
    switch (s->stage) {
    case SLOT_REQUESTED:
        w->posted[s->method]--;
        if (!ok) { /* the server is shutting down: this slot will not get a call */
            s->call = NULL;
            tc_api_release_slot(w, s, 0);
            return;
        }
        post_slot(w, s->method);
        s->start_us = tc_time_now_us();
        atomic_fetch_add_explicit(&w->inflight, 1, memory_order_relaxed);
        atomic_store_explicit(&w->last_call_us, s->start_us, memory_order_relaxed);
        s->request_msg = NULL;
        tc_api_dispatch(s);
        /* before the arena is reset: a large request's parts are on the heap */
        if (s->request_msg != NULL)
            protobuf_c_message_free_unpacked(s->request_msg, &w->allocator);
        s->request_msg = NULL;
        break;
    case SLOT_RECEIVING: {
        if (!ok) { /* the client went away or its deadline passed: write nothing */
            tc_api_fail(s, GRPC_STATUS_CANCELLED, TINCHAP__V1__ERROR_REASON__CALL_CANCELLED,
                        "the stream ended before it was complete");
            break;
        }
        size_t len = 0;
        const unsigned char *msg = tc_api_payload(s, &len);
        int end = s->payload == NULL;
        if (s->payload != NULL) {
            grpc_byte_buffer_destroy(s->payload);
            s->payload = NULL;
        }
        if (!end && msg == NULL) {
            tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                        "message larger than the server's scratch memory");
            break;
        }
        tc_api_handle_put(s, msg, len, end);
        break;
    }
    case SLOT_CONFIRMING:
        if (!ok) { /* the call is gone: nothing may be written for it */
            tc_api_fail(s, GRPC_STATUS_CANCELLED, TINCHAP__V1__ERROR_REASON__CALL_CANCELLED,
                        "the call ended before it was served");
            break;
        }
        tc_api_put_confirmed(s);
        break;
    case SLOT_FINISHING:
        finished(w, s);
        break;
    case SLOT_WATCHING:
        tc_api_watch_event(w, s, ok);
        break;
    case SLOT_REFLECTING:
        tc_api_reflection_event(s, ok);
        break;
    default:
        tc_api_log_event(w->srv->log, "error", "unexpected_event", "");
        break;
    }
    w->arena.used = 0;
}

static void *worker_main(void *arg)
{
    tc_api_worker *w = arg;
    /* named so that top -H and perf tell the workers from gRPC's and the audit writer's
     * threads (benchmarks/perf_split.py attributes CPU by it; in relaxed mode a worker often
     * commits the trail itself, and that time counts as the worker's) */
    char name[16];
    snprintf(name, sizeof name, "tc-worker-%zu", w->id);
    pthread_setname_np(pthread_self(), name);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        HANDOFF_ACQUIRE(ev.tag);
        if ((uintptr_t)ev.tag & 1) { /* a Health/Watch stream's RECV_CLOSE_ON_SERVER */
            tc_api_watch_closed(w, (tc_api_slot *)((uintptr_t)ev.tag & ~(uintptr_t)1));
            continue;
        }
        on_event(w, ev.tag, ev.success);
    }
    return NULL;
}

/* ---- start, reload, stop ---- */

static int open_worker(tc_api_server *srv, tc_api_worker *w, size_t id, size_t n_slots,
                       tc_error *err)
{
    int rc;
    w->id = id;
    w->srv = srv;
    pthread_mutex_init(&w->post_mu, NULL);
    if ((rc = tc_reader_new(srv->store, &w->reader, err)) != TC_OK ||
        (rc = tc_audit_reader_new(srv->audit, &w->audit_reader, err)) != TC_OK ||
        (srv->consolidated != NULL &&
         (rc = tc_audit_reader_new(srv->consolidated, &w->consolidated_reader, err)) != TC_OK) ||
        (rc = tc_hasher_new(srv->key, &w->hasher, err)) != TC_OK ||
        (rc = tc_eval_workspace_new(&w->ws, err)) != TC_OK)
        return rc;
    w->arena.size = TC_API_ARENA_BYTES;
    w->arena.buf = malloc(w->arena.size);
    w->slots = calloc(n_slots, sizeof *w->slots);
    if (w->arena.buf == NULL || w->slots == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    w->allocator.alloc = pb_alloc;
    w->allocator.free = pb_free;
    w->allocator.allocator_data = w;
    for (size_t i = 0; i < n_slots; i++) {
        w->slots[i].w = w;
        w->slots[i].next_free = i + 1 < n_slots ? &w->slots[i + 1] : NULL;
    }
    w->free = &w->slots[0];
    w->metrics = tc_api_metrics_shard_of(srv->metrics, id);
    w->log = tc_api_log_shard_of(srv->log, id);
    return TC_OK;
}

static void close_worker(tc_api_worker *w)
{
    if (w->srv != NULL)
        pthread_mutex_destroy(&w->post_mu);
    tc_eval_workspace_free(w->ws);
    tc_hasher_free(w->hasher);
    tc_reader_free(w->reader);
    tc_audit_reader_free(w->audit_reader);
    tc_audit_reader_free(w->consolidated_reader);
    free(w->slots);
    free(w->arena.buf);
}

/* The database and the audit trail hold a nation's data and who asked about whom: their
 * directories must be closed to everyone but the service's user, and the secret that names
 * citizens in them must belong to that user (its mode, 0600, is tc_key_load's to check). */
static int check_private(const char *what, const char *path, tc_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return TC_OK; /* created with mode 0700 when opened */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return tc_errorf(err, TC_EINVAL,
                         "the %s directory %s is open to its group or others "
                         "(mode %04o): chmod 700 %s",
                         what, path, (unsigned)(st.st_mode & 07777), path);
    return TC_OK;
}

static int check_files(const tc_api_config *c, tc_error *err)
{
    struct stat st;
    int rc;
    if ((rc = check_private("database", c->database, err)) != TC_OK ||
        (rc = check_private("audit trail", c->audit_dir, err)) != TC_OK)
        return rc;
    if (stat(c->secret, &st) == 0 && st.st_uid != geteuid())
        return tc_errorf(err, TC_EKEY,
                         "the secret key %s belongs to uid %u, not to the user "
                         "tinchapd runs as (uid %u): chown it to that user",
                         c->secret, (unsigned)st.st_uid, (unsigned)geteuid());
    return TC_OK;
}

/* Audit shipping through the consent feed's broker, and the consolidated trail on the node
 * that collects (tc_api_ship.h): durable, since it is the one copy of other nodes' records
 * that answers "who scored me?". */
static int open_shipping(tc_api_server *srv, tc_error *err)
{
    const tc_api_config *c = &srv->cfg;
    tc_audit_options co = {
        .dir = c->consolidated_audit, .key = srv->key, .map_size = c->audit_map_size};
    int rc;
    if (c->audit_stream[0] == '\0')
        return TC_OK;
    if (c->collect_audit && (rc = tc_audit_open(&co, &srv->consolidated, err)) != TC_OK)
        return rc;
    tc_api_ship_options so = {.redis = c->feed_redis,
                              .user = c->feed_user,
                              .password_file = c->feed_password,
                              .stream = c->audit_stream,
                              .node = c->feed_origin,
                              .retain = c->audit_retain,
                              .trail = srv->audit,
                              .consolidated = srv->consolidated,
                              .log = srv->log};
    return tc_api_ship_open(&so, &srv->ship, err);
}

static int open_engine(tc_api_server *srv, tc_error *err)
{
    const tc_api_config *c = &srv->cfg;
    int rc;
    char reasons[TC_API_PATH_MAX + 16];
    if ((rc = check_files(c, err)) != TC_OK ||
        (rc = tc_catalog_load(c->catalog, &srv->catalog, err)) != TC_OK ||
        (rc = tc_key_load(c->secret, &srv->key, err)) != TC_OK)
        return rc;
    tc_store_options so = {.path = c->database,
                           .catalog = srv->catalog,
                           .key = srv->key,
                           .map_size = c->map_size,
                           .create = 1};
    tc_audit_options ao = {.dir = c->audit_dir,
                           .key = srv->key,
                           .relaxed = c->relaxed_audit,
                           .sync_ms = c->relaxed_sync_ms,
                           .map_size = c->audit_map_size,
                           .sync_state = tc_api_health_audit_sync,
                           .sync_arg = srv};
    tc_api_feed_options fo = {.redis = c->feed_redis,
                              .stream = c->feed_stream,
                              .origin = c->feed_origin,
                              .retain = c->feed_retain,
                              .user = c->feed_user,
                              .password_file = c->feed_password,
                              .max_lag_ms = c->consent_max_lag_ms,
                              .key = srv->key,
                              .log = srv->log,
                              .state_changed = tc_api_health_feed_changed,
                              .state_arg = srv};
    if ((rc = tc_store_open(&so, &srv->store, err)) != TC_OK ||
        (rc = tc_audit_open(&ao, &srv->audit, err)) != TC_OK)
        return rc;
    fo.store = srv->store; /* the feed's tables, before any reader of the store exists */
    if (c->feed_redis[0] != '\0' && ((rc = tc_api_feed_open(&fo, &srv->feed, err)) != TC_OK ||
                                     (rc = open_shipping(srv, err)) != TC_OK))
        return rc;
    snprintf(reasons, sizeof reasons, "%s/reasons.json", c->models);
    tc_registry_options ro = {.dir = c->models,
                              .catalog = srv->catalog,
                              .reasons_path = c->reasons[0] ? c->reasons : reasons};
    return tc_registry_open(&ro, &srv->registry, err);
}

static grpc_arg int_arg(const char *key, int value)
{
    grpc_arg a = {.type = GRPC_ARG_INTEGER, .key = (char *)key, .value.integer = value};
    return a;
}

static int open_server(tc_api_server *srv, tc_error *err)
{
    const tc_api_config *c = &srv->cfg;
    grpc_arg args[] = {
        int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)c->max_message_bytes),
        /* Two servers silently sharing a port would split traffic: refuse it. */
        int_arg(GRPC_ARG_ALLOW_REUSEPORT, 0),
        /* A peer that stops reading keeps the calls of its connection in their final batch,
         * each holding a slot and its reply, or, once they are finished, their replies in the
         * connection's buffers. Bound how many calls one connection can hold, and ping every
         * connection, idle or not: one whose peer does not answer is dropped, its calls
         * cancelled and its memory freed. */
        int_arg(GRPC_ARG_MAX_CONCURRENT_STREAMS, TC_API_STREAMS_PER_CONNECTION),
        int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, (int)c->keepalive_ms),
        int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, (int)c->keepalive_ms),
        int_arg(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1),
        /* A connection that never finishes its TLS handshake holds a descriptor and no
         * identity: closed after this long (gRPC's default is 120 s). */
        int_arg(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, TC_API_HANDSHAKE_TIMEOUT_MS),
    };
    grpc_channel_args ca = {sizeof args / sizeof args[0], args};
    srv->server = grpc_server_create(&ca, NULL);
    for (size_t m = 0; m < M_COUNT; m++)
        if (tc_api_methods[m].path != NULL)
            srv->method_handles[m] = grpc_server_register_method(
                srv->server, tc_api_methods[m].path, NULL,
                tc_api_methods[m].streaming ? GRPC_SRM_PAYLOAD_NONE
                                            : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                0);
    for (size_t i = 0; i < srv->n_workers; i++) {
        srv->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(srv->server, srv->workers[i].cq, NULL);
    }
    srv->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->shutdown_cq, NULL);
    if (!c->insecure && c->tls_crl_dir[0] != '\0') {
        int rc = tc_api_crl_check(c, &srv->crl_next_update, err);
        if (rc != TC_OK)
            return rc;
    }
    grpc_server_credentials *creds = tc_api_credentials_new(c, err);
    if (creds == NULL)
        return err != NULL && err->code != TC_OK ? err->code : TC_EINVAL;
    srv->port = grpc_server_add_http2_port(srv->server, c->listen, creds);
    grpc_server_credentials_release(creds);
    if (srv->port == 0)
        return tc_errorf(err, TC_EIO, "cannot listen on %s (in use, or not an address)", c->listen);
    grpc_server_start(srv->server);
    return TC_OK;
}

/* Shut cq down and take what is left on it, when no thread waits on it any more. */
static void drain_queue(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

/* Close what the server opened, in the order their users require: the metrics endpoint and
 * the workers' audit readers use the trail, so they go before it; the log goes last, after
 * last_event (if any) is written. The gRPC server and the threads are gone already. */
static void close_server(tc_api_server *srv, const char *last_event)
{
    tc_api_metrics_close(srv->metrics);
    tc_api_monitor_close(srv->monitor);
    for (size_t i = 0; i < srv->n_workers; i++)
        close_worker(&srv->workers[i]);
    for (size_t i = 0; i < srv->n_rest; i++)
        close_worker(&srv->rest_workers[i]);
    close_worker(&srv->admin);
    tc_api_ship_close(srv->ship);
    tc_api_feed_close(srv->feed);
    tc_api_reflection_free(srv->reflection);
    tc_audit_close(srv->consolidated);
    tc_audit_close(srv->audit);
    tc_registry_close(srv->registry);
    tc_store_close(srv->store);
    tc_key_free(srv->key);
    tc_catalog_free(srv->catalog);
    if (last_event != NULL)
        tc_api_log_event(srv->log, "info", last_event, "");
    tc_api_log_close(srv->log);
    pthread_mutex_destroy(&srv->watch_mu);
    pthread_mutex_destroy(&srv->admin_mu);
    free(srv->workers);
    free(srv->rest_workers);
    free(srv);
}

/* A start that failed: nothing serves yet (a worker started before a later step failed is
 * not stopped, which only happens when threads cannot be created; tinchapd exits then). */
static void abandon_start(tc_api_server *srv)
{
    if (srv->server != NULL) {
        grpc_server_shutdown_and_notify(srv->server, srv->shutdown_cq, NULL);
        grpc_completion_queue_next(srv->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_server_destroy(srv->server);
    }
    tc_api_reloader_stop(srv);
    for (size_t i = 0; i < srv->n_workers; i++)
        if (srv->workers[i].cq != NULL)
            drain_queue(srv->workers[i].cq);
    if (srv->shutdown_cq != NULL)
        drain_queue(srv->shutdown_cq);
    close_server(srv, NULL);
}

/* The server's memory and locks, before anything is opened. */
static int new_server(const tc_api_config *cfg, tc_api_server **out, tc_error *err)
{
    tc_api_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    srv->cfg = *cfg;
    srv->n_workers = (size_t)cfg->workers;
    /* REST threads are callers like gRPC workers: their own arena, reader, metrics shard, log
     * shard and audit queue, ids after the workers'; the admin context comes last */
    srv->n_rest = cfg->rest_listen[0] != '\0' ? cfg->rest_threads : 0;
    srv->started_us = tc_time_now_us();
    pthread_mutex_init(&srv->admin_mu, NULL);
    pthread_mutex_init(&srv->watch_mu, NULL);
    srv->workers = calloc(srv->n_workers, sizeof *srv->workers);
    srv->rest_workers = calloc(srv->n_rest + 1, sizeof *srv->rest_workers);
    if (srv->workers == NULL || srv->rest_workers == NULL) {
        free(srv->workers);
        free(srv->rest_workers);
        pthread_mutex_destroy(&srv->watch_mu);
        pthread_mutex_destroy(&srv->admin_mu);
        free(srv);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    *out = srv;
    return TC_OK;
}

/* Everything a call needs before one can arrive: the log, the engine, monitoring, reflection,
 * the metrics endpoint, and each caller's context (gRPC workers, REST threads, admin). */
static int open_parts(tc_api_server *srv, tc_error *err)
{
    const tc_api_config *cfg = &srv->cfg;
    size_t callers = srv->n_workers + srv->n_rest;
    static const char *names[M_COUNT]; /* the metrics keep this pointer */
    for (size_t m = 0; m < M_COUNT; m++)
        names[m] = tc_api_methods[m].name;
    tc_api_metrics_options mo = {.listen = cfg->metrics_listen,
                                 .n_methods = M_COUNT,
                                 .method_names = names,
                                 .n_shards = callers,
                                 .extra = tc_api_state_metrics,
                                 .extra_arg = srv};
    int rc;
    if ((rc = tc_api_log_open(STDERR_FILENO, cfg->log_debug, callers, &srv->log, err)) ||
        (rc = open_engine(srv, err)) ||
        (rc = tc_api_monitor_open(callers, cfg->monitor_window_s, TC_MONITOR_SLOTS_MAX, srv->log,
                                  &srv->monitor, err)) ||
        (rc = tc_api_reflection_new(&srv->reflection, err)) ||
        (rc = tc_api_metrics_open(&mo, &srv->metrics, err)))
        return rc;
    for (size_t i = 0; i < srv->n_workers; i++)
        if ((rc = open_worker(srv, &srv->workers[i], i, TC_API_SLOTS_PER_WORKER, err)) != TC_OK)
            return rc;
    for (size_t i = 0; i < srv->n_rest; i++) /* one request at a time each: one slot */
        if ((rc = open_worker(srv, &srv->rest_workers[i], srv->n_workers + i, 1, err)) != TC_OK)
            return rc;
    return open_worker(srv, &srv->admin, callers, TC_API_SLOTS_PER_WORKER, err);
}

/* The threads, then the listeners: the audit writer, the reload thread, the consent feed, the
 * gRPC server, each worker with its request slots posted, and the REST interface. */
static int start_threads(tc_api_server *srv, tc_error *err)
{
    int rc;
    if ((rc = tc_audit_start(srv->audit, srv->n_workers + srv->n_rest, err)) != TC_OK ||
        (rc = tc_api_reloader_start(srv, err)) != TC_OK ||
        (srv->feed != NULL && (rc = tc_api_feed_start(srv->feed, err)) != TC_OK) ||
        (srv->consolidated != NULL && (rc = tc_audit_start(srv->consolidated, 1, err)) != TC_OK) ||
        (srv->ship != NULL && (rc = tc_api_ship_start(srv->ship, err)) != TC_OK) ||
        (rc = open_server(srv, err)) != TC_OK)
        return rc;
    atomic_store(&srv->serving, 1);
    for (size_t i = 0; i < srv->n_workers; i++) {
        tc_api_worker *w = &srv->workers[i];
        for (size_t m = 0; m < M_COUNT; m++)
            while (w->posted[m] < tc_api_methods[m].posted && w->free != NULL)
                post_slot(w, (tc_api_method)m);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return tc_errorf(err, TC_ENOMEM, "cannot start worker %zu", i);
    }
    if (srv->n_rest > 0)
        return tc_api_rest_start(srv, srv->n_workers, srv->n_rest, &srv->rest, err);
    return TC_OK;
}

/* One line that says what is serving, where, and how. */
static void log_serving(tc_api_server *srv)
{
    const tc_api_config *cfg = &srv->cfg;
    char fields[704], crl[64] = "", rest[32] = "";
    if (srv->rest != NULL)
        snprintf(rest, sizeof rest, ",\"rest_port\":%d", tc_api_rest_port(srv->rest));
    if (srv->crl_next_update != 0) {
        char t[TC_TIME_TEXT_LEN];
        tc_time_format(srv->crl_next_update, t);
        snprintf(crl, sizeof crl, ",\"crl_next_update\":\"%s\"", t);
    }
    const tc_model_set *set = tc_registry_acquire(srv->registry);
    snprintf(fields, sizeof fields,
             "\"version\":\"%s\",\"commit\":\"%s\",\"listen\":\"%s\",\"port\":%d,"
             "\"workers\":%zu,\"tls\":%s,\"audit_sync\":\"%s\",\"models\":%zu,"
             "\"metrics_port\":%d%s%s",
             tc_api_version(), tc_api_commit(), cfg->listen, srv->port, srv->n_workers,
             cfg->insecure ? "false" : "true", cfg->relaxed_audit ? "relaxed" : "durable",
             tc_model_set_count(set), tc_api_metrics_port(srv->metrics), crl, rest);
    tc_registry_release(srv->registry, set);
    tc_audit_stats as;
    tc_audit_stats_get(srv->audit, &as);
    if (as.journal_recovered > 0 || as.journal_dropped > 0) { /* the last run was killed */
        char j[128];
        snprintf(j, sizeof j, "\"records\":%llu,\"dropped\":%llu",
                 (unsigned long long)as.journal_recovered, (unsigned long long)as.journal_dropped);
        tc_api_log_event(srv->log, as.journal_dropped > 0 ? "error" : "info",
                         "audit_journal_recovered", j);
    }
    if (tc_store_format(srv->store) < TC_STORE_FORMAT) { /* works, one tree walk slower */
        char f[96];
        snprintf(f, sizeof f, "\"format\":%d,\"current\":%d,\"fix\":\"tinchap upgrade\"",
                 tc_store_format(srv->store), TC_STORE_FORMAT);
        tc_api_log_event(srv->log, "warn", "store_format_old", f);
    }
    tc_api_log_event(srv->log, "info", "serving", fields);
}

int tc_api_server_start(const tc_api_config *cfg, tc_api_server **out, tc_error *err)
{
    tc_api_server *srv = NULL;
    int rc = new_server(cfg, &srv, err);
    if (rc != TC_OK)
        return rc;
    if ((rc = open_parts(srv, err)) != TC_OK || (rc = start_threads(srv, err)) != TC_OK) {
        abandon_start(srv);
        return rc;
    }
    log_serving(srv);
    *out = srv;
    return TC_OK;
}

int tc_api_server_port(const tc_api_server *s)
{
    return s->port;
}

int tc_api_server_reload(tc_api_server *s, tc_error *err)
{
    int rc = tc_registry_reload(s->registry, err);
    char fields[TC_ERROR_MSG_MAX * 2 + 64], msg[TC_ERROR_MSG_MAX * 2];
    if (rc == TC_OK) {
        const tc_model_set *set = tc_registry_acquire(s->registry);
        snprintf(fields, sizeof fields, "\"generation\":%llu,\"models\":%zu",
                 (unsigned long long)tc_model_set_generation(set), tc_model_set_count(set));
        tc_registry_release(s->registry, set);
        tc_api_log_event(s->log, "info", "models_reloaded", fields);
    } else {
        tc_api_log_escape(err != NULL ? err->msg : "", msg, sizeof msg);
        snprintf(fields, sizeof fields, "\"error\":\"%s\"", msg);
        tc_api_log_event(s->log, "error", "models_reload_failed", fields);
    }
    return rc;
}

/* How long no call may have come before a drain stops accepting. */
#define DRAIN_QUIET_US 500000

void tc_api_server_stop(tc_api_server *srv)
{
    if (srv == NULL)
        return;
    /* 1. Health turns NOT_SERVING — at once on every Health/Watch stream, so clients with
     *    client-side health checking stop picking this replica — and balancers get a grace
     *    period to notice, while calls are still served. */
    atomic_store(&srv->serving, 0);
    tc_api_watch_notify(srv);
    tc_api_log_event(srv->log, "info", "draining", "");
    if (srv->cfg.drain_grace_ms > 0)
        usleep(srv->cfg.drain_grace_ms * 1000u);
    /* 2. New calls are answered UNAVAILABLE (retryable) while the calls in flight finish.
     *    gRPC's own shutdown would cancel calls that arrive while it stops (CANCELLED, which
     *    clients do not retry): by the time it runs, clients have been told to go elsewhere. */
    atomic_store(&srv->refusing, 1);
    int64_t until = tc_time_now_us() + (int64_t)srv->cfg.drain_timeout_ms * 1000;
    int64_t earliest = tc_time_now_us() + 50000; /* let refusals reach the clients */
    for (;;) {
        unsigned busy = 0;
        int64_t last = 0;
        for (size_t i = 0; i < srv->n_workers + srv->n_rest; i++) {
            tc_api_worker *w =
                i < srv->n_workers ? &srv->workers[i] : &srv->rest_workers[i - srv->n_workers];
            busy += atomic_load(&w->inflight);
            int64_t l = atomic_load_explicit(&w->last_call_us, memory_order_relaxed);
            last = l > last ? l : last;
        }
        int64_t t = tc_time_now_us();
        /* ... and until calls stop coming: a client that just got its answer may send its
         * next call late on a busy machine (half a second was seen under sanitizers), and that
         * call must be refused, not cancelled by the transport's shutdown */
        if ((busy == 0 && t >= earliest && t - last >= DRAIN_QUIET_US) || t >= until)
            break;
        usleep(1000);
    }
    /* 3. Stop accepting. Health streams end first (gRPC's shutdown waits for open calls). No
     *    slot is posted from here on (slots already posted keep matching calls, which are
     *    refused above), and no post is half-way when the server shuts down (see post_mu).
     *    What is still in flight gets the rest of the drain timeout. */
    tc_api_watch_end_all(srv);
    /* REST: stop accepting, and let the requests in progress finish (they are refused as
     *    DRAINING since step 2, or answered) */
    tc_api_rest_stop(srv->rest);
    srv->rest = NULL;
    atomic_store(&srv->stopping, 1);
    for (size_t i = 0; i < srv->n_workers; i++) {
        pthread_mutex_lock(&srv->workers[i].post_mu);
        pthread_mutex_unlock(&srv->workers[i].post_mu);
    }
    grpc_server_shutdown_and_notify(srv->server, srv->shutdown_cq, srv);
    int64_t left_ms = (until - tc_time_now_us()) / 1000;
    gpr_timespec limit =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                     gpr_time_from_millis(left_ms > 0 ? left_ms : 0, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(srv->shutdown_cq, limit, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        tc_api_log_event(srv->log, "warn", "drain_timeout", "");
        grpc_server_cancel_all_calls(srv->server);
        grpc_completion_queue_next(srv->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    grpc_server_destroy(srv->server);
    /* 4. The reload thread answers what it holds; workers finish what is queued and stop. */
    tc_api_reloader_stop(srv);
    for (size_t i = 0; i < srv->n_workers; i++)
        grpc_completion_queue_shutdown(srv->workers[i].cq);
    for (size_t i = 0; i < srv->n_workers; i++) {
        pthread_join(srv->workers[i].thread, NULL);
        grpc_completion_queue_destroy(srv->workers[i].cq);
    }
    drain_queue(srv->shutdown_cq);
    /* 5. Flush the audit trail, close everything. */
    close_server(srv, "stopped");
}
