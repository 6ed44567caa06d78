/* tc_api_metrics — Prometheus text exposition at /metrics on a separate loopback port
 * (libmicrohttpd): calls by method and status, a latency histogram per method, and whatever
 * gauges the server adds when scraped (audit batches, models, citizens).
 *
 * Workers count into their own shard with relaxed atomics; a scrape sums the shards. Nothing
 * on the call path takes a lock or makes a system call.
 */
#ifndef TC_API_METRICS_H
#define TC_API_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_error.h"

#define TC_METRICS_METHODS_MAX 16
#define TC_METRICS_STATUSES 17 /* gRPC status codes 0..16 (TC_GRPC_STATUS_COUNT) */
#define TC_METRICS_BUCKETS 14

typedef struct tc_api_metrics_shard {
    atomic_uint_fast64_t calls[TC_METRICS_METHODS_MAX][TC_METRICS_STATUSES];
    atomic_uint_fast64_t buckets[TC_METRICS_METHODS_MAX][TC_METRICS_BUCKETS + 1];
    atomic_uint_fast64_t latency_us_sum[TC_METRICS_METHODS_MAX];
} tc_api_metrics_shard;

typedef struct tc_api_metrics tc_api_metrics;

/* Appends the server's own gauges to out during a scrape. */
typedef void (*tc_api_metrics_extra_fn)(FILE *out, void *arg);

typedef struct tc_api_metrics_options {
    const char *listen;            /* "127.0.0.1:9464"; must be a loopback address */
    size_t n_methods;
    const char *const *method_names;
    size_t n_shards;
    tc_api_metrics_extra_fn extra;
    void *extra_arg;
} tc_api_metrics_options;

/* Starts the HTTP endpoint unless listen is "" (then only counts). */
int tc_api_metrics_open(const tc_api_metrics_options *opt, tc_api_metrics **out, tc_error *err);
void tc_api_metrics_close(tc_api_metrics *m);

tc_api_metrics_shard *tc_api_metrics_shard_of(tc_api_metrics *m, size_t i);

void tc_api_metrics_observe(tc_api_metrics_shard *s, size_t method, int status,
                            uint64_t latency_us);

/* The whole exposition text (what a scrape returns), for tests; free() it. */
char *tc_api_metrics_render(tc_api_metrics *m, size_t *len);

/* The port the endpoint listens on, 0 if none. */
int tc_api_metrics_port(const tc_api_metrics *m);

#endif
