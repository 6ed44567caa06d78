#include "tc_api_metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tc_grpc_status.h"

/* Latency bucket upper bounds in microseconds (Prometheus "le" labels in seconds). */
static const uint64_t bounds_us[TC_METRICS_BUCKETS] = {
    50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 25000, 100000, 500000, 2000000};

struct tc_api_metrics {
    tc_api_metrics_options opt;
    tc_api_metrics_shard *shards;
    struct MHD_Daemon *daemon;
    int port;
};

tc_api_metrics_shard *tc_api_metrics_shard_of(tc_api_metrics *m, size_t i)
{
    return &m->shards[i % m->opt.n_shards];
}

void tc_api_metrics_observe(tc_api_metrics_shard *s, size_t method, int status,
                            uint64_t latency_us)
{
    if (method >= TC_METRICS_METHODS_MAX)
        return;
    if (status < 0 || status >= TC_METRICS_STATUSES)
        status = 2; /* UNKNOWN */
    atomic_fetch_add_explicit(&s->calls[method][status], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < TC_METRICS_BUCKETS && latency_us > bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&s->buckets[method][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->latency_us_sum[method], latency_us, memory_order_relaxed);
}

static uint64_t sum_calls(tc_api_metrics *m, size_t method, size_t status)
{
    uint64_t v = 0;
    for (size_t i = 0; i < m->opt.n_shards; i++)
        v += atomic_load_explicit(&m->shards[i].calls[method][status], memory_order_relaxed);
    return v;
}

char *tc_api_metrics_render(tc_api_metrics *m, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (f == NULL)
        return NULL;
    fprintf(f, "# HELP tinchap_requests_total Calls answered, by method and gRPC status.\n"
               "# TYPE tinchap_requests_total counter\n");
    for (size_t mi = 0; mi < m->opt.n_methods; mi++)
        for (size_t st = 0; st < TC_METRICS_STATUSES; st++) {
            uint64_t v = sum_calls(m, mi, st);
            if (v > 0 || st == 0)
                fprintf(f, "tinchap_requests_total{method=\"%s\",status=\"%s\"} %llu\n",
                        m->opt.method_names[mi], tc_grpc_status_name((int)st), (unsigned long long)v);
        }
    fprintf(f, "# HELP tinchap_request_duration_seconds Time from a call's arrival to its "
               "final batch being sent.\n"
               "# TYPE tinchap_request_duration_seconds histogram\n");
    for (size_t mi = 0; mi < m->opt.n_methods; mi++) {
        uint64_t cum = 0, total_us = 0;
        for (size_t b = 0; b <= TC_METRICS_BUCKETS; b++) {
            for (size_t i = 0; i < m->opt.n_shards; i++)
                cum += atomic_load_explicit(&m->shards[i].buckets[mi][b], memory_order_relaxed);
            if (b < TC_METRICS_BUCKETS)
                fprintf(f,
                        "tinchap_request_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %llu\n",
                        m->opt.method_names[mi], (double)bounds_us[b] / 1e6,
                        (unsigned long long)cum);
        }
        for (size_t i = 0; i < m->opt.n_shards; i++)
            total_us += atomic_load_explicit(&m->shards[i].latency_us_sum[mi], memory_order_relaxed);
        fprintf(f, "tinchap_request_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n",
                m->opt.method_names[mi], (unsigned long long)cum);
        fprintf(f, "tinchap_request_duration_seconds_sum{method=\"%s\"} %.6f\n",
                m->opt.method_names[mi], (double)total_us / 1e6);
        fprintf(f, "tinchap_request_duration_seconds_count{method=\"%s\"} %llu\n",
                m->opt.method_names[mi], (unsigned long long)cum);
    }
    if (m->opt.extra != NULL)
        m->opt.extra(f, m->opt.extra_arg);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    *len = size;
    return text;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    tc_api_metrics *m = cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        static const char nf[] = "not found: metrics are at GET /metrics\n";
        resp = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    size_t len = 0;
    char *text = tc_api_metrics_render(m, &len);
    if (text == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

int tc_api_metrics_open(const tc_api_metrics_options *opt, tc_api_metrics **out, tc_error *err)
{
    tc_api_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    m->opt = *opt;
    if (m->opt.n_methods > TC_METRICS_METHODS_MAX)
        m->opt.n_methods = TC_METRICS_METHODS_MAX;
    m->shards = calloc(opt->n_shards, sizeof *m->shards);
    if (m->shards == NULL) {
        free(m);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    if (opt->listen != NULL && opt->listen[0] != '\0') {
        char host[64];
        const char *colon = strrchr(opt->listen, ':');
        struct sockaddr_in sa = {.sin_family = AF_INET};
        size_t hl = colon != NULL ? (size_t)(colon - opt->listen) : 0;
        long port = colon != NULL ? strtol(colon + 1, NULL, 10) : -1;
        if (colon == NULL || hl >= sizeof host || port < 0 || port > 65535) {
            tc_api_metrics_close(m);
            return tc_errorf(err, TC_EINVAL, "metrics address '%s': expected 127.0.0.1:PORT",
                             opt->listen);
        }
        memcpy(host, opt->listen, hl);
        host[hl] = '\0';
        if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        /* Counts of calls by institution-free labels are still operational data: loopback only,
         * a local agent forwards them if they must leave the host. */
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
            (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
            tc_api_metrics_close(m);
            return tc_errorf(err, TC_EINVAL,
                             "metrics address '%s': the metrics endpoint listens on loopback "
                             "(127.x.x.x) only",
                             opt->listen);
        }
        sa.sin_port = htons((uint16_t)port);
        m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                     NULL, answer, m, MHD_OPTION_SOCK_ADDR, &sa,
                                     MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_END);
        if (m->daemon == NULL) {
            tc_api_metrics_close(m);
            return tc_errorf(err, TC_EIO, "metrics: cannot listen on %s", opt->listen);
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
        m->port = info != NULL ? info->port : (int)port;
    }
    *out = m;
    return TC_OK;
}

void tc_api_metrics_close(tc_api_metrics *m)
{
    if (m == NULL)
        return;
    if (m->daemon != NULL)
        MHD_stop_daemon(m->daemon);
    free(m->shards);
    free(m);
}

int tc_api_metrics_port(const tc_api_metrics *m)
{
    return m->port;
}
