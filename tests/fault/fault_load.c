/* fault_load — the load the fault tests put on a real tinchapd: many unary calls in flight from
 * one thread on the client library's asynchronous API, every call's status and latency kept,
 * and one JSON line of counts and latency percentiles per status at the end.
 *
 *   fault_load --target 127.0.0.1:PORT --ca ca.pem --cert bank-a.pem --key bank-a.key
 *              --method score --citizens ids.csv --calls 5000 --concurrency 500
 *
 * Closed loop: --concurrency calls are started at once and each completed call starts the next
 * one until --calls have been started, so --calls equal to --concurrency is one burst. Score
 * requests get request IDs PREFIX-N (unique per run, never 12 digits in a row) and cycle through
 * the citizens file ("citizen_id,consent_ref" per line); their citizen IDs are never printed.
 *
 * The process exits 0 once every call has ended, whatever the statuses: the calling test judges
 * them. It exits 1 when it cannot start (bad options or files). Used by tests/cli/fault_*.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tc_client.h"
#include "tinchap/v1/scoring.pb-c.h"

#define CITIZENS_MAX 100000
#define CHANNELS_MAX 64
#define CONCURRENCY_MAX 10000
#define CALLS_MAX 100000000L
#define STATUS_CODES 17

typedef struct citizen {
    char id[16];
    char ref[80];
} citizen;

typedef struct slot {
    tc_client_call *call;
    int64_t start_ns;
} slot;

static const char usage[] =
    "usage: fault_load --target HOST:PORT --ca FILE --cert FILE --key FILE\n"
    "                  --method noop|score|health|list-models|get-model|reload\n"
    "                  [--citizens FILE] [--model NAME] [--calls N] [--concurrency C]\n"
    "                  [--timeout MS] [--channels K] [--rid-prefix P] [--server-name NAME]\n";

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int load_citizens(const char *path, citizen **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "fault_load: cannot read %s\n", path);
        return 1;
    }
    citizen *c = calloc(CITIZENS_MAX, sizeof *c);
    char line[256];
    *n = 0;
    while (c != NULL && *n < CITIZENS_MAX && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%15[^,],%79[^,\r\n]", c[*n].id, c[*n].ref) == 2)
            (*n)++;
    }
    fclose(f);
    if (c == NULL || *n == 0) {
        fprintf(stderr, "fault_load: no \"citizen_id,consent_ref\" lines in %s\n", path);
        free(c);
        return 1;
    }
    *out = c;
    return 0;
}

/* The request of call number i. Score requests differ by request ID and citizen. */
static size_t build_request(const char *method, long i, const citizen *cz, size_t n_cz,
                            const char *prefix, const char *model, unsigned char *buf,
                            size_t size)
{
    if (strcmp(method, "score") == 0) {
        Tinchap__V1__ScoreRequest q = TINCHAP__V1__SCORE_REQUEST__INIT;
        char rid[96];
        const citizen *c = &cz[(size_t)i % n_cz];
        snprintf(rid, sizeof rid, "%s-%ld", prefix, i);
        q.request_id = rid;
        q.citizen_id = (char *)c->id;
        q.consent_ref = (char *)c->ref;
        q.purpose = (char *)"loan-origination";
        q.product = (char *)"unsecured-consumer";
        q.loan_amount_vnd = 30000000;
        q.loan_term_months = 12;
        if (tinchap__v1__score_request__get_packed_size(&q) > size)
            return 0;
        return tinchap__v1__score_request__pack(&q, buf);
    }
    if (strcmp(method, "get-model") == 0) {
        Tinchap__V1__GetModelRequest q = TINCHAP__V1__GET_MODEL_REQUEST__INIT;
        q.name = (char *)model;
        if (tinchap__v1__get_model_request__get_packed_size(&q) > size)
            return 0;
        return tinchap__v1__get_model_request__pack(&q, buf);
    }
    return 0; /* every other method here takes an empty message */
}

static const char *method_path(const char *m)
{
    static const char *const map[][2] = {
        {"noop", "/tinchap.v1.Diagnostics/Noop"},
        {"score", "/tinchap.v1.Scoring/Score"},
        {"health", "/grpc.health.v1.Health/Check"},
        {"list-models", "/tinchap.v1.Scoring/ListModels"},
        {"get-model", "/tinchap.v1.Scoring/GetModel"},
        {"reload", "/tinchap.v1.Admin/ReloadModels"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(m, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

typedef struct run {
    const char *path, *method;
    const citizen *cz;
    size_t n_cz;
    const char *prefix, *model;
    int timeout_ms;
    tc_client_queue *q;
    slot *slots;
    long *numbers;
    uint32_t *lat;
    unsigned char *st;
    long calls, *started, *done, *local_failures;
} run;

/* Start the next call on slot k, if any is left. A call that cannot even be started (the
 * client library refused it) counts as done with status UNKNOWN, and the next one is tried. */
static void start_next(run *r, long k)
{
    unsigned char req[1024];
    while (*r->started < r->calls) {
        long num = (*r->started)++;
        size_t len = build_request(r->method, num, r->cz, r->n_cz, r->prefix, r->model, req,
                                   sizeof req);
        r->numbers[k] = num;
        r->slots[k].start_ns = now_ns();
        if (tc_client_call_start(r->slots[k].call, r->q, r->path, req, len, r->timeout_ms,
                                 &r->slots[k]) == TC_OK)
            return;
        r->st[num] = 2;
        r->lat[num] = 0;
        (*r->local_failures)++;
        (*r->done)++;
    }
}

static int number(const char *v, long min, long max, long *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < min || n > max)
        return 1;
    *out = n;
    return 0;
}

enum { O_METHOD = 1000, O_CITIZENS, O_MODEL, O_PREFIX, O_CALLS, O_CONC, O_TIMEOUT, O_CHANNELS };

int main(int argc, char **argv)
{
    static const struct option opts[] = {TC_CLIENT_LONG_OPTIONS,
                                         {"method", required_argument, NULL, O_METHOD},
                                         {"citizens", required_argument, NULL, O_CITIZENS},
                                         {"model", required_argument, NULL, O_MODEL},
                                         {"rid-prefix", required_argument, NULL, O_PREFIX},
                                         {"calls", required_argument, NULL, O_CALLS},
                                         {"concurrency", required_argument, NULL, O_CONC},
                                         {"timeout", required_argument, NULL, O_TIMEOUT},
                                         {"channels", required_argument, NULL, O_CHANNELS},
                                         {0, 0, 0, 0}};
    tc_client_options o = {.server_name = "localhost"};
    const char *method = NULL, *citizens_path = NULL, *model = "";
    char prefix_buf[64];
    const char *prefix = NULL;
    long calls = 1000, concurrency = 16, timeout_ms = 10000, channels = 1;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        if (tc_client_option(&o, opt, optarg))
            continue;
        switch (opt) {
        case O_METHOD: method = optarg; break;
        case O_CITIZENS: citizens_path = optarg; break;
        case O_MODEL: model = optarg; break;
        case O_PREFIX: prefix = optarg; break;
        case O_CALLS: bad = number(optarg, 1, CALLS_MAX, &calls); break;
        case O_CONC: bad = number(optarg, 1, CONCURRENCY_MAX, &concurrency); break;
        case O_TIMEOUT: bad = number(optarg, 1, 3600000, &timeout_ms); break;
        case O_CHANNELS: bad = number(optarg, 1, CHANNELS_MAX, &channels); break;
        default: bad = 1; break;
        }
        if (bad) {
            fprintf(stderr, "fault_load: bad option '%s'\n%s", argv[optind - 1], usage);
            return 1;
        }
    }
    const char *path = method != NULL ? method_path(method) : NULL;
    if (o.target == NULL || o.ca_file == NULL || o.cert_file == NULL || o.key_file == NULL ||
        path == NULL ||
        (strcmp(method, "score") == 0 && citizens_path == NULL)) {
        fputs(usage, stderr);
        return 1;
    }
    if (prefix == NULL) {
        snprintf(prefix_buf, sizeof prefix_buf, "fl-%ld-%ld", (long)getpid(), (long)time(NULL));
        prefix = prefix_buf;
    }
    if (concurrency > calls)
        concurrency = calls;
    citizen *cz = NULL;
    size_t n_cz = 0;
    if (citizens_path != NULL && load_citizens(citizens_path, &cz, &n_cz) != 0)
        return 1;

    tc_error err = {0};
    tc_client *clients[CHANNELS_MAX] = {0};
    tc_client_queue *q = NULL;
    slot *slots = calloc((size_t)concurrency, sizeof *slots);
    uint32_t *lat = malloc((size_t)calls * sizeof *lat);
    unsigned char *st = malloc((size_t)calls);
    if (slots == NULL || lat == NULL || st == NULL) {
        fprintf(stderr, "fault_load: out of memory\n");
        return 1;
    }
    for (long c = 0; c < channels; c++)
        if (tc_client_open(&o, &clients[c], &err) != TC_OK) {
            fprintf(stderr, "fault_load: %s\n", err.msg);
            return 1;
        }
    if (tc_client_queue_new(&q, &err) != TC_OK) {
        fprintf(stderr, "fault_load: %s\n", err.msg);
        return 1;
    }
    for (long k = 0; k < concurrency; k++)
        if (tc_client_call_new(clients[k % channels], &slots[k].call, &err) != TC_OK) {
            fprintf(stderr, "fault_load: %s\n", err.msg);
            return 1;
        }

    long started = 0, done = 0, local_failures = 0;
    long *numbers = calloc((size_t)concurrency, sizeof *numbers); /* call number per slot */
    if (numbers == NULL)
        return 1;
    run r = {path, method, cz, n_cz, prefix, model, (int)timeout_ms, q, slots, numbers, lat, st,
             calls, &started, &done, &local_failures};
    int64_t t0 = now_ns();
    for (long k = 0; k < concurrency; k++)
        start_next(&r, k);
    while (done < calls) {
        tc_client_call *call = NULL;
        if (tc_client_queue_next(q, 1000, &call) != 1)
            continue;
        int64_t t = now_ns();
        slot *s = tc_client_call_user(call);
        long k = s - slots, num = numbers[k];
        int code = tc_client_call_status(call);
        st[num] = (unsigned char)(code >= 0 && code < STATUS_CODES ? code : 2);
        int64_t us = (t - s->start_ns) / 1000;
        lat[num] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        done++;
        start_next(&r, k);
    }
    double seconds = (double)(now_ns() - t0) / 1e9;

    /* per status: count and latency percentiles */
    printf("{\"method\":\"%s\",\"calls\":%ld,\"concurrency\":%ld,\"seconds\":%.3f,"
           "\"rate\":%.0f,\"local_failures\":%ld,\"status\":{",
           method, calls, concurrency, seconds, seconds > 0 ? (double)calls / seconds : 0.0,
           local_failures);
    uint32_t *sorted = malloc((size_t)calls * sizeof *sorted);
    int first = 1;
    for (int code = 0; sorted != NULL && code < STATUS_CODES; code++) {
        size_t n = 0;
        for (long i = 0; i < calls; i++)
            if (st[i] == code)
                sorted[n++] = lat[i];
        if (n == 0)
            continue;
        qsort(sorted, n, sizeof *sorted, cmp_u32);
        printf("%s\"%s\":{\"n\":%zu,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u}",
               first ? "" : ",", tc_client_status_name(code), n, sorted[n / 2],
               sorted[n * 9 / 10], sorted[n * 99 / 100], sorted[n - 1]);
        first = 0;
    }
    printf("}}\n");
    fflush(stdout);

    for (long k = 0; k < concurrency; k++)
        tc_client_call_free(slots[k].call);
    tc_client_queue_free(q);
    for (long c = 0; c < channels; c++)
        tc_client_close(clients[c]);
    free(sorted);
    free(numbers);
    free(slots);
    free(lat);
    free(st);
    free(cz);
    return 0;
}
