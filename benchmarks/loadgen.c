/* loadgen — a gRPC load generator for tinchapd (and any server of the same protos), on the
 * asynchronous client of api/tc_client.h.
 *
 * Two disciplines:
 *   closed loop (--concurrency N): N calls always in flight; each completion starts the next
 *     call at once. Latency is from the call's start to its completion.
 *   open loop (--rate R): calls are due at fixed intervals of 1/R seconds whether or not earlier
 *     ones have returned. Latency is measured from the time a call was DUE, not from when it
 *     could be sent: when the outstanding cap is reached, due calls wait in a backlog and their
 *     wait counts, so a server that falls behind shows it in the percentiles instead of slowing
 *     the generator down (the "coordinated omission" that closed loops hide).
 *
 * Score requests are real: each names a citizen drawn uniformly at random from --citizens (a
 * file of "citizen_id,consent_ref" lines whose consents are valid now for the token's
 * institution) with a unique request ID ("lg" + a run tag + a base-36 counter: the server
 * replays repeated IDs). Every answer is checked on
 * the fly: an OK status must carry a ScoreResponse echoing the request ID, with a grade and not
 * replayed; anything else is counted under its status name (or BAD_RESPONSE) and reported.
 *
 * Each client thread has its own channel (its own HTTP/2 connection) and completion queue.
 * Percentiles come from every sample of the measured window (GSL's quantile of sorted data), not
 * from a histogram. One JSON object goes to stdout; --samples writes every latency (µs, sorted)
 * for CDF plots.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "tc_client.h"
#include "tinchap/v1/scoring.pb-c.h"

#include "loadgen.h"

/* ---- output ---- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static const char help[] =
    "usage: loadgen --target HOST:PORT (--insecure [--token T] | --ca F --cert F --key F)\n"
    "               [--method score|noop] (--concurrency N | --rate R [--max-outstanding N])\n"
    "               [--duration S] [--warmup S] [--citizens FILE] [--threads T]\n"
    "               [--samples FILE] [--server-pid PID] [--reload-every MS --admin-token T]\n"
    "               [--label TEXT] [--fail-on-error]\n"
    "\n"
    "  --target HOST:PORT      server (default 127.0.0.1:50051)\n"
    "  --insecure              plaintext, for a server started with --insecure on loopback\n"
    "  --token T               bearer token sent with every call\n"
    "  --ca/--cert/--key F     mutual TLS instead: CA, client certificate and its key\n"
    "  --server-name N         name to verify in the server certificate\n"
    "  --method M              score (default) or noop (/tinchap.v1.Diagnostics/Noop)\n"
    "  --concurrency N         closed loop: N calls always in flight (split over threads)\n"
    "  --rate R                open loop: R calls/s on a fixed schedule; latency from when\n"
    "                          each call was due\n"
    "  --max-outstanding N     open loop: calls in flight at most (default 1024); calls due\n"
    "                          beyond it wait, and the wait counts\n"
    "  --duration S            measured seconds (default 10)\n"
    "  --warmup S              seconds run first and not measured (default 2)\n"
    "  --citizens FILE         'citizen_id,consent_ref' lines, drawn uniformly (score)\n"
    "  --purpose P --product P request fields (loan-origination, unsecured-consumer)\n"
    "  --threads T             client threads, each with its own connection (default 1)\n"
    "  --timeout-ms MS         deadline of each call (default 10000)\n"
    "  --samples FILE          write every measured latency (µs, sorted), one a line\n"
    "  --server-pid PID        report the server's CPU time per call over the window\n"
    "  --reload-every MS       call Admin/ReloadModels every MS during the run\n"
    "  --admin-token T         the token for those calls (plaintext mode)\n"
    "  --label TEXT            copied into the output\n"
    "  --seed N                seed of the citizen draw (default 1)\n"
    "  --fail-on-error         exit 3 when any call failed or answered wrongly\n"
    "\n"
    "Prints one JSON object: throughput, latency percentiles (µs) of every sample, errors by\n"
    "status name.\n";

enum {
    O_METHOD = 1000,
    O_CONC,
    O_RATE,
    O_MAXOUT,
    O_DURATION,
    O_WARMUP,
    O_CITIZENS,
    O_PURPOSE,
    O_PRODUCT,
    O_THREADS,
    O_TIMEOUT,
    O_SAMPLES,
    O_SERVER_PID,
    O_RELOAD,
    O_ADMIN_TOKEN,
    O_LABEL,
    O_SEED,
    O_FAIL
};

static int positive(const char *v, double min, double max, const char *flag, double *out)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(x >= min) || !(x <= max)) {
        fprintf(stderr, "loadgen: %s: '%s' is not a number from %g to %g\n", flag, v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

/* What the command line asks for. */
typedef struct lg_opts {
    tc_client_options co;
    const char *method, *citizens, *samples, *label, *admin_token;
    double concurrency, rate, max_out, duration, warmup, threads;
    double timeout, server_pid, reload_ms, seed;
    int fail_on_error;
} lg_opts;

/* The merged result of every lane. */
typedef struct lg_result {
    size_t n; /* latency samples, in all[] sorted */
    double *all;
    uint64_t outcomes[N_OUTCOMES], completed, due, unsent, backlog_max, requests, errors;
    const char *first_error;
    double srv0, srv1, cli0, cli1; /* CPU seconds at the window's start and end */
} lg_result;

/* -1: go on; otherwise the exit status. */
/* What the options say together, once all are read: -1 to run, else the exit status. */
static int check_opts(int argc, lg_opts *o)
{
    if (optind < argc || (o->concurrency > 0) == (o->rate > 0)) {
        fprintf(stderr, "loadgen: give exactly one of --concurrency and --rate\n%s", help);
        return 2;
    }
    if (strcmp(o->method, "score") == 0) {
        G.method = METHOD_SCORE;
        G.score = 1;
        if (o->citizens == NULL) {
            fprintf(stderr, "loadgen: --method score needs --citizens FILE\n");
            return 2;
        }
        if (read_citizens(o->citizens) != 0)
            return 1;
    } else if (strcmp(o->method, "noop") == 0) {
        G.method = METHOD_NOOP;
    } else {
        fprintf(stderr, "loadgen: --method: '%s' is not score or noop\n", o->method);
        return 2;
    }
    if (o->reload_ms > 0 && o->admin_token == NULL && o->co.insecure) {
        fprintf(stderr, "loadgen: --reload-every needs --admin-token in plaintext mode\n");
        return 2;
    }
    return -1;
}

static int parse_opts(int argc, char **argv, lg_opts *o)
{
    static const struct option opts[] = {TC_CLIENT_LONG_OPTIONS,
                                         {"method", required_argument, NULL, O_METHOD},
                                         {"concurrency", required_argument, NULL, O_CONC},
                                         {"rate", required_argument, NULL, O_RATE},
                                         {"max-outstanding", required_argument, NULL, O_MAXOUT},
                                         {"duration", required_argument, NULL, O_DURATION},
                                         {"warmup", required_argument, NULL, O_WARMUP},
                                         {"citizens", required_argument, NULL, O_CITIZENS},
                                         {"purpose", required_argument, NULL, O_PURPOSE},
                                         {"product", required_argument, NULL, O_PRODUCT},
                                         {"threads", required_argument, NULL, O_THREADS},
                                         {"timeout-ms", required_argument, NULL, O_TIMEOUT},
                                         {"samples", required_argument, NULL, O_SAMPLES},
                                         {"server-pid", required_argument, NULL, O_SERVER_PID},
                                         {"reload-every", required_argument, NULL, O_RELOAD},
                                         {"admin-token", required_argument, NULL, O_ADMIN_TOKEN},
                                         {"label", required_argument, NULL, O_LABEL},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"fail-on-error", no_argument, NULL, O_FAIL},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    *o = (lg_opts){.co = {.target = "127.0.0.1:50051"},
                   .method = "score",
                   .label = "",
                   .max_out = 1024,
                   .duration = 10,
                   .warmup = 2,
                   .threads = 1,
                   .timeout = 10000,
                   .seed = 1};
    int c;
    G.purpose = "loan-origination";
    G.product = "unsecured-consumer";
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        if (tc_client_option(&o->co, c, optarg))
            continue;
        switch (c) {
        case O_METHOD:
            o->method = optarg;
            break;
        case O_CONC:
            bad = positive(optarg, 1, CONCURRENCY_MAX, "--concurrency", &o->concurrency);
            break;
        case O_RATE:
            bad = positive(optarg, 1, 1e7, "--rate", &o->rate);
            break;
        case O_MAXOUT:
            bad = positive(optarg, 1, CONCURRENCY_MAX, "--max-outstanding", &o->max_out);
            break;
        case O_DURATION:
            bad = positive(optarg, 0.1, 86400, "--duration", &o->duration);
            break;
        case O_WARMUP:
            bad = positive(optarg, 0, 3600, "--warmup", &o->warmup);
            break;
        case O_CITIZENS:
            o->citizens = optarg;
            break;
        case O_PURPOSE:
            G.purpose = optarg;
            break;
        case O_PRODUCT:
            G.product = optarg;
            break;
        case O_THREADS:
            bad = positive(optarg, 1, THREADS_MAX, "--threads", &o->threads);
            break;
        case O_TIMEOUT:
            bad = positive(optarg, 1, 3600000, "--timeout-ms", &o->timeout);
            break;
        case O_SAMPLES:
            o->samples = optarg;
            break;
        case O_SERVER_PID:
            bad = positive(optarg, 1, 1e9, "--server-pid", &o->server_pid);
            break;
        case O_RELOAD:
            bad = positive(optarg, 1, 3600000, "--reload-every", &o->reload_ms);
            break;
        case O_ADMIN_TOKEN:
            o->admin_token = optarg;
            break;
        case O_LABEL:
            o->label = optarg;
            break;
        case O_SEED:
            bad = positive(optarg, 0, 4294967295.0, "--seed", &o->seed);
            break;
        case O_FAIL:
            o->fail_on_error = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            fputs(help, stderr);
            return 2;
        }
        if (bad)
            return 2;
    }
    return check_opts(argc, o);
}

/* Open every lane's connection and call slots (and the reloader's connection). 0, or exit 1. */
static int setup_lanes(const lg_opts *o, lane *lanes, size_t n_lanes)
{
    tc_error err = {0};
    for (size_t i = 0; i < n_lanes; i++) {
        lane *ln = &lanes[i];
        ln->id = (int)i;
        ln->rng = (uint64_t)o->seed * 0x9e3779b97f4a7c15ull + i + 1;
        if (o->concurrency > 0) {
            size_t share = (size_t)o->concurrency / n_lanes;
            ln->n_slots = share + (i < (size_t)o->concurrency % n_lanes);
        } else {
            size_t share = (size_t)o->max_out / n_lanes;
            ln->n_slots = share > 0 ? share : 1;
            ln->rate = o->rate / (double)n_lanes;
            ln->phase = 1e9 / o->rate * (double)i;
            ln->bl_cap = (size_t)(ln->rate * 2) + 16; /* two seconds behind at most */
            ln->backlog = malloc(ln->bl_cap * sizeof *ln->backlog);
            if (ln->backlog == NULL) {
                fprintf(stderr, "loadgen: out of memory\n");
                return 1;
            }
        }
        pthread_mutex_init(&ln->mu, NULL);
        pthread_mutex_init(&ln->start_mu, NULL);
        ln->slots = calloc(ln->n_slots, sizeof *ln->slots);
        if (ln->slots == NULL) {
            fprintf(stderr, "loadgen: out of memory\n");
            return 1;
        }
        /* gRPC shares one connection among channels with equal arguments to the same address;
         * a per-lane response limit (4 MiB + lane, never reached) makes the arguments differ,
         * so each client thread really has a connection of its own. */
        tc_client_options lo = o->co;
        lo.max_message_bytes = ((size_t)4 << 20) + i;
        if (tc_client_open(&lo, &ln->client, &err) != 0 || tc_client_queue_new(&ln->q, &err) != 0) {
            fprintf(stderr, "loadgen: %s\n", err.msg);
            return 1;
        }
        for (size_t k = 0; k < ln->n_slots; k++) {
            slot *s = &ln->slots[k];
            s->ln = ln;
            if (tc_client_call_new(ln->client, &s->call, &err) != 0) {
                fprintf(stderr, "loadgen: %s\n", err.msg);
                return 1;
            }
            s->next = ln->free;
            ln->free = s;
        }
    }
    if (o->reload_ms > 0) {
        tc_client_options ro = o->co;
        ro.token = o->admin_token;
        if (tc_client_open(&ro, &R.client, &err) != 0) {
            fprintf(stderr, "loadgen: %s\n", err.msg);
            return 1;
        }
        R.every_ms = (int)o->reload_ms;
    }

    return 0;
}

/* Start every thread, measure the window, and wait for them. 0, or exit 1. */
static int run_window(const lg_opts *o, lane *lanes, size_t n_lanes, lg_result *r)
{
    G.t_start = now_ns() + 50e6; /* every thread is ready to go by then */
    G.t_warm = G.t_start + o->warmup * 1e9;
    G.t_end = G.t_warm + o->duration * 1e9;
    pthread_t reloader;
    for (size_t i = 0; i < n_lanes; i++) {
        lane *ln = &lanes[i];
        if (pthread_create(&ln->thread, NULL, o->concurrency > 0 ? closed_main : open_main, ln) !=
                0 ||
            (o->rate > 0 && pthread_create(&ln->sender, NULL, sender_main, ln) != 0)) {
            fprintf(stderr, "loadgen: cannot start a thread\n");
            return 1;
        }
    }
    if (o->reload_ms > 0 && pthread_create(&reloader, NULL, reload_main, NULL) != 0) {
        fprintf(stderr, "loadgen: cannot start a thread\n");
        return 1;
    }
    sleep_until(G.t_warm);
    r->srv0 = o->server_pid > 0 ? process_cpu((long)o->server_pid) : -1;
    r->cli0 = self_cpu();
    sleep_until(G.t_end);
    r->srv1 = o->server_pid > 0 ? process_cpu((long)o->server_pid) : -1;
    r->cli1 = self_cpu();
    for (size_t i = 0; i < n_lanes; i++) {
        if (o->rate > 0)
            pthread_join(lanes[i].sender, NULL);
        pthread_join(lanes[i].thread, NULL);
    }
    if (o->reload_ms > 0)
        pthread_join(reloader, NULL);

    return 0;
}

/* Every lane's counts and latencies into r (latencies sorted). 0, or exit 1. */
static int merge(const lane *lanes, size_t n_lanes, lg_result *r)
{
    /* merge */
    r->first_error = "";
    for (size_t i = 0; i < n_lanes; i++) {
        r->n += lanes[i].n_lat;
        r->completed += lanes[i].completed_in_window;
        r->due += lanes[i].due;
        r->unsent += lanes[i].unsent;
        if (lanes[i].backlog_max > r->backlog_max)
            r->backlog_max = lanes[i].backlog_max;
        for (size_t k = 0; k < N_OUTCOMES; k++)
            r->outcomes[k] += lanes[i].outcomes[k];
        if (r->first_error[0] == '\0')
            r->first_error = lanes[i].first_error;
    }
    r->all = malloc((r->n > 0 ? r->n : 1) * sizeof *r->all);
    if (r->all == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    for (size_t i = 0, o = 0; i < n_lanes; i++) {
        if (lanes[i].n_lat > 0)
            memcpy(r->all + o, lanes[i].lat, lanes[i].n_lat * sizeof *r->all);
        o += lanes[i].n_lat;
    }
    gsl_sort(r->all, 1, r->n);
    for (size_t k = 0; k < N_OUTCOMES; k++)
        r->requests += r->outcomes[k];
    r->errors = r->requests - r->outcomes[0];

    return 0;
}

/* The result as one JSON object on standard output. */
static void print_report(const lg_opts *o, size_t n_lanes, const lg_result *r)
{
    FILE *out = stdout;
    fprintf(out, "{\"label\": ");
    json_string(out, o->label);
    fprintf(out,
            ", \"method\": \"%s\", \"mode\": \"%s\", \"concurrency\": %g, \"rate\": %g, "
            "\"threads\": %zu, \"warmup_s\": %g, \"duration_s\": %g, \"citizens\": %zu,\n",
            o->method, o->concurrency > 0 ? "closed" : "open", o->concurrency, o->rate, n_lanes,
            o->warmup, o->duration, G.n_citizens);
    fprintf(out,
            " \"requests\": %llu, \"ok\": %llu, \"errors_total\": %llu, "
            "\"throughput_rps\": %.1f,\n",
            (unsigned long long)r->requests, (unsigned long long)r->outcomes[0],
            (unsigned long long)r->errors, (double)r->completed / o->duration);
    fprintf(out, " \"errors\": {");
    int first = 1;
    for (size_t k = 1; k < N_OUTCOMES; k++) {
        if (r->outcomes[k] == 0)
            continue;
        const char *name = k == BAD_RESPONSE   ? "BAD_RESPONSE"
                           : k == START_FAILED ? "START_FAILED"
                                               : tc_client_status_name((int)k);
        fprintf(out, "%s\"%s\": %llu", first ? "" : ", ", name, (unsigned long long)r->outcomes[k]);
        first = 0;
    }
    fprintf(out, "}, \"first_error\": ");
    json_string(out, r->first_error);
    if (r->n > 0)
        fprintf(out,
                ",\n \"latency_us\": {\"samples\": %zu, \"min\": %.1f, \"mean\": %.1f, "
                "\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}",
                r->n, r->all[0], gsl_stats_mean(r->all, 1, r->n),
                gsl_stats_quantile_from_sorted_data(r->all, 1, r->n, 0.5),
                gsl_stats_quantile_from_sorted_data(r->all, 1, r->n, 0.9),
                gsl_stats_quantile_from_sorted_data(r->all, 1, r->n, 0.99),
                gsl_stats_quantile_from_sorted_data(r->all, 1, r->n, 0.999), r->all[r->n - 1]);
    else
        fprintf(out, ",\n \"latency_us\": null");
    if (o->rate > 0)
        fprintf(out,
                ",\n \"open_loop\": {\"due\": %llu, \"unsent\": %llu, \"backlog_max\": %llu, "
                "\"max_outstanding\": %g}",
                (unsigned long long)r->due, (unsigned long long)r->unsent,
                (unsigned long long)r->backlog_max, o->max_out);
    double calls = r->completed > 0 ? (double)r->completed : 1;
    fprintf(out, ",\n \"client_cpu_us_per_call\": %.2f", (r->cli1 - r->cli0) * 1e6 / calls);
    if (r->srv0 >= 0 && r->srv1 >= 0)
        fprintf(out, ", \"server_cpu_us_per_call\": %.2f, \"server_cpu_cores\": %.3f",
                (r->srv1 - r->srv0) * 1e6 / calls, (r->srv1 - r->srv0) / o->duration);
    if (o->reload_ms > 0) {
        gsl_sort(R.lat, 1, R.n_lat);
        fprintf(out, ",\n \"reload\": {\"every_ms\": %d, \"ok\": %llu, \"failed\": %llu",
                R.every_ms, (unsigned long long)R.ok, (unsigned long long)R.failed);
        if (R.n_lat > 0)
            fprintf(out, ", \"p50_us\": %.1f, \"max_us\": %.1f",
                    gsl_stats_quantile_from_sorted_data(R.lat, 1, R.n_lat, 0.5),
                    R.lat[R.n_lat - 1]);
        fprintf(out, ", \"first_error\": ");
        json_string(out, R.first_error);
        fprintf(out, "}");
    }
    fprintf(out, "}\n");
    fflush(out);
}

/* The samples file and the run's verdict: 0, 1 (a file could not be written) or 3. */
static int finish(const lg_opts *o, const lg_result *r)
{
    int rc;
    rc = 0;
    if (o->samples != NULL) {
        FILE *f = fopen(o->samples, "w");
        if (f == NULL) {
            fprintf(stderr, "loadgen: %s: %s\n", o->samples, strerror(errno));
            rc = 1;
        } else {
            for (size_t i = 0; i < r->n; i++)
                fprintf(f, "%.1f\n", r->all[i]);
            if (fclose(f) != 0)
                rc = 1;
        }
    }
    if (o->fail_on_error &&
        (r->errors > 0 || r->unsent > 0 || (o->reload_ms > 0 && R.failed > 0))) {
        fprintf(stderr, "loadgen: %llu of %llu calls failed%s%s\n", (unsigned long long)r->errors,
                (unsigned long long)r->requests, r->first_error[0] ? "; first: " : "",
                r->first_error);
        rc = 3;
    }
    if (r->requests == 0) {
        fprintf(stderr, "loadgen: no call completed in the measured window\n");
        rc = 3;
    }

    return rc;
}

int main(int argc, char **argv)
{
    lg_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    gsl_set_error_handler_off();
    G.timeout_ms = (int)o.timeout;
    size_t n_lanes = (size_t)o.threads;
    if (o.concurrency > 0 && (double)n_lanes > o.concurrency)
        n_lanes = (size_t)o.concurrency;
    /* a run tag of letters, so IDs differ between runs against the same audit trail */
    uint64_t tag_seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < 5; i++)
        G.tag[i] = (char)('a' + next_rand(&tag_seed) % 26);
    G.tag[5] = '\0';

    lane *lanes = calloc(n_lanes, sizeof *lanes);
    lg_result res;
    memset(&res, 0, sizeof res);
    if (lanes == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    if (setup_lanes(&o, lanes, n_lanes) != 0 || run_window(&o, lanes, n_lanes, &res) != 0 ||
        merge(lanes, n_lanes, &res) != 0)
        return 1;
    print_report(&o, n_lanes, &res);
    rc = finish(&o, &res);

    for (size_t i = 0; i < n_lanes; i++) {
        lane *ln = &lanes[i];
        for (size_t k = 0; k < ln->n_slots; k++)
            tc_client_call_free(ln->slots[k].call);
        tc_client_queue_free(ln->q);
        tc_client_close(ln->client);
        pthread_mutex_destroy(&ln->mu);
        pthread_mutex_destroy(&ln->start_mu);
        free(ln->slots);
        free(ln->lat);
        free(ln->backlog);
    }
    if (R.client != NULL)
        tc_client_close(R.client);
    free(R.lat);
    free(lanes);
    free(res.all);
    free(G.citizens);
    return rc;
}
