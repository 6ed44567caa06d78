/* Admin/ReloadModels, Admin/GetStatus, Admin/GetMonitor and grpc.health.v1.Health/Check and
 * Watch: answered on the worker at once (a reload on the reload thread), nothing audited. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "tc_api_internal.h"
#include "tc_api_monitor.h"
#include "tc_model_dev.h"
#include "tc_time.h"
#include "tinchap/v1/admin.pb-c.h"
#include "tinchap/v1/scoring.pb-c.h"

#define MODELS_OUT_MAX TC_REGISTRY_MODELS_MAX

static size_t loaded_models(const tc_model_set *set, Tinchap__V1__LoadedModel *items,
                            Tinchap__V1__LoadedModel **ptrs)
{
    size_t n = 0;
    for (size_t i = 0; i < tc_model_set_count(set) && n < MODELS_OUT_MAX; i++, n++) {
        const tc_model *m = tc_model_set_model(set, i);
        tinchap__v1__loaded_model__init(&items[n]);
        items[n].name = (char *)m->name;
        items[n].version = (uint32_t)m->version;
        items[n].product = (char *)m->product;
        items[n].status = (Tinchap__V1__ModelStatus)tc_api_model_status(m->status);
        ptrs[n] = &items[n];
    }
    return n;
}

/* The worker checks the request and queues the call; the reload thread does the rest. */
void tc_api_handle_reload(tc_api_slot *s)
{
    tc_api_server *srv = s->w->srv;
    if (tc_api_request(s, &tinchap__v1__reload_models_request__descriptor) == NULL)
        return;
    s->stage = SLOT_RELOADING;
    s->next_reload = NULL;
    pthread_mutex_lock(&srv->reload_mu);
    if (srv->reload_tail != NULL)
        srv->reload_tail->next_reload = s;
    else
        srv->reload_head = s;
    srv->reload_tail = s;
    pthread_cond_signal(&srv->reload_cv);
    pthread_mutex_unlock(&srv->reload_mu);
}

/* One ReloadModels call, on the reload thread. The reply is packed into the heap, not the
 * worker's arena, which belongs to the worker's thread. */
static void reload_one(tc_api_server *srv, tc_api_slot *s)
{
    tc_error err;
    if (tc_api_server_reload(srv, &err) != TC_OK) {
        tc_api_fail(s, GRPC_STATUS_FAILED_PRECONDITION, TINCHAP__V1__ERROR_REASON__RELOAD_REFUSED,
                    "reload refused, the models in service keep serving: %s", err.msg);
        return;
    }
    const tc_model_set *set = tc_registry_acquire(srv->registry);
    Tinchap__V1__LoadedModel items[MODELS_OUT_MAX], *ptrs[MODELS_OUT_MAX];
    Tinchap__V1__ReloadModelsResponse r = TINCHAP__V1__RELOAD_MODELS_RESPONSE__INIT;
    r.generation = tc_model_set_generation(set);
    r.n_models = loaded_models(set, items, ptrs);
    r.models = ptrs;
    size_t len = protobuf_c_message_get_packed_size(&r.base);
    unsigned char *out = malloc(len > 0 ? len : 1);
    if (out == NULL) {
        tc_registry_release(srv->registry, set);
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "out of memory for the reply (the new "
                    "models are in service)");
        return;
    }
    protobuf_c_message_pack(&r.base, out);
    tc_registry_release(srv->registry, set);
    tc_api_finish(s, GRPC_STATUS_OK, out, len);
    free(out);
}

static void *reloader_main(void *arg)
{
    tc_api_server *srv = arg;
    pthread_setname_np(pthread_self(), "tc-reload");
    pthread_mutex_lock(&srv->reload_mu);
    for (;;) {
        tc_api_slot *s = srv->reload_head;
        if (s == NULL) {
            if (srv->reload_stop)
                break;
            pthread_cond_wait(&srv->reload_cv, &srv->reload_mu);
            continue;
        }
        srv->reload_head = s->next_reload;
        if (srv->reload_head == NULL)
            srv->reload_tail = NULL;
        pthread_mutex_unlock(&srv->reload_mu);
        reload_one(srv, s);
        pthread_mutex_lock(&srv->reload_mu);
    }
    pthread_mutex_unlock(&srv->reload_mu);
    return NULL;
}

int tc_api_reloader_start(tc_api_server *srv, tc_error *err)
{
    pthread_mutex_init(&srv->reload_mu, NULL);
    pthread_cond_init(&srv->reload_cv, NULL);
    if (pthread_create(&srv->reloader, NULL, reloader_main, srv) != 0) {
        pthread_cond_destroy(&srv->reload_cv);
        pthread_mutex_destroy(&srv->reload_mu);
        return tc_errorf(err, TC_ENOMEM, "cannot start the reload thread");
    }
    srv->reloader_running = 1;
    return TC_OK;
}

void tc_api_reloader_stop(tc_api_server *srv)
{
    if (!srv->reloader_running)
        return;
    pthread_mutex_lock(&srv->reload_mu);
    srv->reload_stop = 1;
    pthread_cond_signal(&srv->reload_cv);
    pthread_mutex_unlock(&srv->reload_mu);
    pthread_join(srv->reloader, NULL);
    pthread_cond_destroy(&srv->reload_cv);
    pthread_mutex_destroy(&srv->reload_mu);
    srv->reloader_running = 0;
}

void tc_api_handle_status(tc_api_slot *s)
{
    tc_api_server *srv = s->w->srv;
    if (tc_api_request(s, &tinchap__v1__get_status_request__descriptor) == NULL)
        return;
    tc_store_stats st;
    memset(&st, 0, sizeof st);
    tc_store_stats_get(srv->store, &st, NULL);
    size_t inquiries = 0;
    inquiries = tc_audit_count(s->w->audit_reader);
    const tc_model_set *set = tc_registry_acquire(srv->registry);
    Tinchap__V1__LoadedModel items[MODELS_OUT_MAX], *ptrs[MODELS_OUT_MAX];
    Tinchap__V1__GetStatusResponse r = TINCHAP__V1__GET_STATUS_RESPONSE__INIT;
    r.version = (char *)tc_api_version();
    r.commit = (char *)tc_api_commit();
    r.uptime_seconds = (uint64_t)((tc_time_now_us() - srv->started_us) / 1000000);
    r.generation = tc_model_set_generation(set);
    r.n_models = loaded_models(set, items, ptrs);
    r.models = ptrs;
    r.citizens = st.citizens;
    r.consents = st.consents;
    r.inquiries = inquiries;
    r.audit_sync = srv->cfg.relaxed_audit ? TINCHAP__V1__AUDIT_SYNC__AUDIT_SYNC_RELAXED
                                          : TINCHAP__V1__AUDIT_SYNC__AUDIT_SYNC_DURABLE;
    r.serving = atomic_load(&srv->serving) != 0;
    tc_api_reply(s, &r.base);
    tc_registry_release(srv->registry, set);
}

/* Admin/GetMonitor: the monitor's view of every model of the set, in the worker's arena. */
void tc_api_handle_monitor(tc_api_slot *s)
{
    tc_api_server *srv = s->w->srv;
    if (tc_api_request(s, &tinchap__v1__get_monitor_request__descriptor) == NULL)
        return;
    const tc_model_set *set = tc_registry_acquire(srv->registry);
    size_t n = tc_model_set_count(set);
    Tinchap__V1__GetMonitorResponse r = TINCHAP__V1__GET_MONITOR_RESPONSE__INIT;
    r.window_seconds = tc_api_monitor_window(srv->monitor);
    r.models = tc_api_arena_alloc(s->w, (n > 0 ? n : 1) * sizeof *r.models);
    tc_api_monitor_view *v = tc_api_arena_alloc(s->w, sizeof *v);
    if (r.models == NULL || v == NULL) {
        tc_registry_release(srv->registry, set);
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "the monitor's answer does not fit");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const tc_model *m = tc_model_set_model(set, i);
        Tinchap__V1__ModelMonitor *mm = tc_api_arena_alloc(s->w, sizeof *mm);
        Tinchap__V1__GradeMonitor *g = tc_api_arena_alloc(s->w, m->n_grades * sizeof *g);
        Tinchap__V1__GradeMonitor **gp = tc_api_arena_alloc(s->w, m->n_grades * sizeof *gp);
        size_t nc = m->dev != NULL ? m->dev->n_chars : 0;
        Tinchap__V1__CharacteristicMonitor *c = tc_api_arena_alloc(s->w, (nc + 1) * sizeof *c);
        Tinchap__V1__CharacteristicMonitor **cp = tc_api_arena_alloc(s->w, (nc + 1) * sizeof *cp);
        if (mm == NULL || g == NULL || gp == NULL || c == NULL || cp == NULL) {
            tc_registry_release(srv->registry, set);
            tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED,
                        TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                        "the monitor's answer does not fit");
            return;
        }
        tc_api_monitor_view_of(srv->monitor, m, v);
        tinchap__v1__model_monitor__init(mm);
        mm->name = (char *)m->name;
        mm->version = (uint32_t)m->version;
        mm->product = (char *)m->product;
        mm->status = (Tinchap__V1__ModelStatus)tc_api_model_status(m->status);
        mm->has_development = m->dev != NULL;
        mm->window_seconds = v->window_seconds;
        mm->window_scores = v->window_scores;
        mm->total_scores = v->total;
        mm->psi = v->psi;
        for (size_t k = 0; k < m->n_grades; k++) {
            tinchap__v1__grade_monitor__init(&g[k]);
            g[k].grade = (char *)m->grades[k].letter;
            g[k].min_score = m->grades[k].min_score;
            g[k].development_share = m->dev != NULL ? m->dev->grade_share[k] : 0;
            g[k].window_scores = v->window_grades[k];
            g[k].window_share =
                v->window_scores > 0 ? (double)v->window_grades[k] / (double)v->window_scores : 0;
            g[k].total_scores = v->grades[k];
            gp[k] = &g[k];
        }
        mm->n_grades = m->n_grades;
        mm->grades = gp;
        for (size_t k = 0; k < nc; k++) {
            tinchap__v1__characteristic_monitor__init(&c[k]);
            c[k].attribute = (char *)m->chars[k].attribute;
            c[k].csi = v->csi[k];
            cp[k] = &c[k];
        }
        mm->n_characteristics = nc;
        mm->characteristics = cp;
        r.models[i] = mm;
    }
    r.n_models = n;
    tc_api_reply(s, &r.base);
    tc_registry_release(srv->registry, set);
}

/* The standard health check: "" or any tinchap service name. */
void tc_api_handle_health(tc_api_slot *s)
{
    Grpc__Health__V1__HealthCheckRequest *q =
        (Grpc__Health__V1__HealthCheckRequest *)tc_api_request(
            s, &grpc__health__v1__health_check_request__descriptor);
    if (q == NULL)
        return;
    static const char *const services[] = {"", "tinchap.v1.Scoring", "tinchap.v1.Steward",
                                           "tinchap.v1.Admin"};
    int known = 0;
    for (size_t i = 0; i < 4; i++)
        known |= strcmp(q->service, services[i]) == 0;
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
    Grpc__Health__V1__HealthCheckRequest *q =
        (Grpc__Health__V1__HealthCheckRequest *)tc_api_request(
            s, &grpc__health__v1__health_check_request__descriptor);
    if (q == NULL)
        return;
    static const char *const services[] = {"", "tinchap.v1.Scoring", "tinchap.v1.Steward",
                                           "tinchap.v1.Admin"};
    int known = 0;
    for (size_t i = 0; i < 4; i++)
        known |= strcmp(q->service, services[i]) == 0;
    tc_api_watch_start(s, !known);
}
