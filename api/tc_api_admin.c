/* What an operator sees and does: Admin/ReloadModels, Admin/GetStatus and Admin/GetMonitor,
 * answered on the worker at once (a reload on the reload thread), nothing audited; and the
 * server's own gauges in each Prometheus scrape (tc_api_state_metrics). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_api_feed.h"
#include "tc_api_internal.h"
#include "tc_api_monitor.h"
#include "tc_api_ship.h"
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

/* ---- the server's gauges, added to each scrape ---- */

static const char *institution_name(const tc_api_config *c, size_t k)
{
    for (size_t i = 0; i < c->n_clients; i++)
        if (c->clients[i].institution_index == k)
            return c->clients[i].institution;
    for (size_t i = 0; i < c->n_tokens; i++)
        if (c->tokens[i].institution_index == k)
            return c->tokens[i].institution;
    return "?";
}

void tc_api_state_metrics(FILE *f, void *arg)
{
    tc_api_server *srv = arg;
    tc_audit_stats as;
    tc_audit_stats_get(srv->audit, &as);
    fprintf(f,
            "# HELP tinchap_audit_batches_total Audit commits (each covers a batch of records).\n"
            "# TYPE tinchap_audit_batches_total counter\ntinchap_audit_batches_total %llu\n"
            "# HELP tinchap_audit_records_total Audit records committed.\n"
            "# TYPE tinchap_audit_records_total counter\ntinchap_audit_records_total %llu\n"
            "# HELP tinchap_audit_failures_total Audit records whose commit failed (their calls "
            "were refused).\n"
            "# TYPE tinchap_audit_failures_total counter\ntinchap_audit_failures_total %llu\n"
            "# HELP tinchap_audit_sync_failures_total Syncs of the relaxed audit trail to disk "
            "that failed (retried every audit_sync_ms; health NOT_SERVING meanwhile).\n"
            "# TYPE tinchap_audit_sync_failures_total counter\ntinchap_audit_sync_failures_total "
            "%llu\n"
            "# HELP tinchap_audit_sync_failing 1 while the last sync of the audit trail failed.\n"
            "# TYPE tinchap_audit_sync_failing gauge\ntinchap_audit_sync_failing %d\n"
            "# HELP tinchap_audit_index_failures_total Passes of the citizen indexer that could "
            "not write (retried every 250 ms; who-scored-me stays exact, reading more records).\n"
            "# TYPE tinchap_audit_index_failures_total counter\n"
            "tinchap_audit_index_failures_total %llu\n"
            "# HELP tinchap_audit_apply_failures_total Moves of journaled audit records into "
            "the trail's tables that failed (retried every 10 ms; Score refused meanwhile).\n"
            "# TYPE tinchap_audit_apply_failures_total counter\n"
            "tinchap_audit_apply_failures_total %llu\n"
            "# HELP tinchap_audit_batch_size Records per audit commit.\n"
            "# TYPE tinchap_audit_batch_size summary\n"
            "tinchap_audit_batch_size_sum %llu\ntinchap_audit_batch_size_count %llu\n"
            "# HELP tinchap_audit_commit_seconds Time to write one audit batch to the journal "
            "(durable: and sync it).\n"
            "# TYPE tinchap_audit_commit_seconds summary\n"
            "tinchap_audit_commit_seconds_sum %.6f\ntinchap_audit_commit_seconds_count %llu\n"
            "# HELP tinchap_audit_commit_seconds_max Longest audit commit since start.\n"
            "# TYPE tinchap_audit_commit_seconds_max gauge\n"
            "tinchap_audit_commit_seconds_max %.6f\n",
            (unsigned long long)as.batches, (unsigned long long)as.records,
            (unsigned long long)as.failures, (unsigned long long)as.sync_failures,
            tc_audit_sync_failing(srv->audit), (unsigned long long)as.index_failures,
            (unsigned long long)as.apply_failures, (unsigned long long)as.batch_size_sum,
            (unsigned long long)as.batches, (double)as.commit_us_sum / 1e6,
            (unsigned long long)as.batches, (double)as.commit_us_max / 1e6);
    const tc_model_set *set = tc_registry_acquire(srv->registry);
    fprintf(f, "# HELP tinchap_model_info Models in service (value 1).\n"
               "# TYPE tinchap_model_info gauge\n");
    for (size_t i = 0; i < tc_model_set_count(set); i++) {
        const tc_model *m = tc_model_set_model(set, i);
        fprintf(f,
                "tinchap_model_info{name=\"%s\",version=\"%d\",product=\"%s\",status=\"%s\"} 1\n",
                m->name, m->version, m->product, tc_model_status_name(m->status));
    }
    fprintf(f,
            "# HELP tinchap_models_generation Successful model loads since start.\n"
            "# TYPE tinchap_models_generation gauge\ntinchap_models_generation %llu\n",
            (unsigned long long)tc_model_set_generation(set));
    tc_api_monitor_render(srv->monitor, set, f);
    tc_registry_release(srv->registry, set);
    if (srv->feed != NULL)
        tc_api_feed_metrics(srv->feed, f);
    if (srv->ship != NULL)
        tc_api_ship_metrics(srv->ship, f);
    tc_store_stats st;
    if (tc_store_stats_get(srv->store, &st, NULL) == TC_OK)
        fprintf(f,
                "# HELP tinchap_citizens Citizens with an attribute record.\n"
                "# TYPE tinchap_citizens gauge\ntinchap_citizens %zu\n"
                "# HELP tinchap_consents Consents on record (valid or not).\n"
                "# TYPE tinchap_consents gauge\ntinchap_consents %zu\n"
                "# HELP tinchap_database_bytes Database pages in use.\n"
                "# TYPE tinchap_database_bytes gauge\ntinchap_database_bytes %zu\n",
                st.citizens, st.consents, st.used_bytes);
    pthread_mutex_lock(&srv->watch_mu);
    size_t streams = srv->n_watchers;
    pthread_mutex_unlock(&srv->watch_mu);
    fprintf(f,
            "# HELP tinchap_health_streams Open Health/Watch streams (client-side health "
            "checking).\n"
            "# TYPE tinchap_health_streams gauge\ntinchap_health_streams %zu\n",
            streams);
    fprintf(f,
            "# HELP tinchap_serving 1 while accepting calls, 0 while draining.\n"
            "# TYPE tinchap_serving gauge\ntinchap_serving %d\n"
            "# HELP tinchap_uptime_seconds Seconds since start.\n"
            "# TYPE tinchap_uptime_seconds gauge\ntinchap_uptime_seconds %.0f\n",
            atomic_load(&srv->serving), (double)(tc_time_now_us() - srv->started_us) / 1e6);
    fprintf(f, "# HELP tinchap_audit_denials_throttled_total Score calls turned away because "
               "their institution was over audit_denials_per_second refusals.\n"
               "# TYPE tinchap_audit_denials_throttled_total counter\n");
    for (size_t k = 0; k < srv->cfg.n_institutions; k++)
        fprintf(f, "tinchap_audit_denials_throttled_total{institution=\"%s\"} %llu\n",
                institution_name(&srv->cfg, k),
                (unsigned long long)atomic_load(&srv->denials_throttled[k]));
    if (srv->crl_next_update != 0) /* alert well before it: past it, every client is refused */
        fprintf(f,
                "# HELP tinchap_tls_crl_next_update_seconds When the CRL in tls.crl_dir "
                "must be replaced (Unix time).\n"
                "# TYPE tinchap_tls_crl_next_update_seconds gauge\n"
                "tinchap_tls_crl_next_update_seconds %lld\n",
                (long long)srv->crl_next_update);
}
