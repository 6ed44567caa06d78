/* bench_audit — what the audit trail costs a Score, in process, without gRPC: each record is
 * submitted as the service does (a record for a random citizen, a fresh request ID, an encoded
 * answer of ANSWER_LEN bytes to remember) into a trail that already holds --prefill records,
 * and timed from submit to done() (when the service would reply).
 *
 *   bench_audit --dir DIR [--prefill N] [--records N] [--batch K] [--durable]
 *
 * --batch K submits K records, then waits for all of them (K = 16: sixteen calls in flight, as
 * the wire benchmark's c=16; K = 1: one at a time). Prints one JSON object: latency percentiles
 * (µs), records/s, and the process's CPU time per record. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <semaphore.h>
#include <sys/resource.h>

#include "tc_audit.h"
#include "tc_time.h"

#define ANSWER_LEN 320
#define BATCH_MAX 64

static atomic_int pending;
static sem_t batch_done; /* posted when the batch's last record is done */

static void on_done(tc_audit_entry *e, int status, void *arg)
{
    (void)e;
    *(int *)arg = status;
    if (atomic_fetch_sub(&pending, 1) == 1)
        sem_post(&batch_done);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void fill(tc_audit_entry *e, uint64_t n, const unsigned char *answer)
{
    memset(e, 0, sizeof *e);
    tc_audit_record *r = &e->rec;
    r->time_us = tc_time_now_us();
    snprintf(r->institution, sizeof r->institution, "bank-a");
    snprintf(r->request_id, sizeof r->request_id, "bench-%llu-%08x", (unsigned long long)n,
             (unsigned)rand());
    snprintf(r->purpose, sizeof r->purpose, "loan-origination");
    snprintf(r->model, sizeof r->model, "unsecured-consumer-scorecard");
    r->has_citizen = 1;
    for (size_t i = 0; i < TC_CITIZEN_KEY_LEN; i++)
        r->citizen[i] = (unsigned char)rand();
    r->outcome = TC_AUDIT_SCORED;
    r->score = 612;
    r->pd = 0.04;
    snprintf(r->grade, sizeof r->grade, "B");
    size_t inst = strlen(r->institution), rid = strlen(r->request_id);
    memcpy(e->idem_key, r->institution, inst + 1);
    memcpy(e->idem_key + inst + 1, r->request_id, rid);
    e->idem_key_len = inst + 1 + rid;
    memset(e->digest, (int)(n & 0xff), sizeof e->digest);
    e->response = answer;
    e->response_len = ANSWER_LEN;
}

static int cmp_ll(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Submit n records, k at a time; latencies (ns, from submit to the batch's last done) to lat. */
static int run(tc_audit *a, uint64_t *seqno, size_t n, size_t k, const unsigned char *answer,
               int64_t *lat)
{
    static tc_audit_entry e[BATCH_MAX];
    int status[BATCH_MAX];
    for (size_t done = 0; done < n; done += k) {
        size_t m = n - done < k ? n - done : k;
        int64_t t0 = now_ns();
        atomic_store(&pending, (int)m);
        for (size_t i = 0; i < m; i++) {
            fill(&e[i], (*seqno)++, answer);
            e[i].done = on_done;
            e[i].arg = &status[i];
            if (tc_audit_submit(a, 0, &e[i]) != TC_OK)
                return -1;
        }
        while (sem_wait(&batch_done) != 0) {
        }
        int64_t el = now_ns() - t0;
        for (size_t i = 0; i < m; i++) {
            if (status[i] != TC_OK)
                return -1;
            if (lat != NULL)
                lat[done + i] = el;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    size_t prefill = 1000000, records = 100000, batch = 1;
    int durable = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--prefill") && i + 1 < argc)
            prefill = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--records") && i + 1 < argc)
            records = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--durable"))
            durable = 1;
        else {
            fprintf(stderr, "usage: bench_audit --dir DIR [--prefill N] [--records N] "
                            "[--batch K] [--durable]\n");
            return 2;
        }
    }
    if (dir == NULL || batch == 0 || batch > BATCH_MAX || records == 0) {
        fprintf(stderr, "bench_audit: --dir is required; --batch 1 to %d\n", BATCH_MAX);
        return 2;
    }
    srand(1);
    sem_init(&batch_done, 0, 0);
    unsigned char answer[ANSWER_LEN];
    memset(answer, 0x5a, sizeof answer);
    tc_audit *a = NULL;
    tc_error err = {0};
    tc_audit_options ao = {.dir = dir, .relaxed = 1};
    /* prefill fast (relaxed, 64 at a time), then measure in the mode asked for */
    if (tc_audit_open(&ao, &a, &err) != TC_OK || tc_audit_start(a, 1, &err) != TC_OK) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        return 1;
    }
    uint64_t seqno = 0;
    if (run(a, &seqno, prefill, BATCH_MAX, answer, NULL) != 0) {
        fprintf(stderr, "bench_audit: a commit failed while prefilling\n");
        return 1;
    }
    tc_audit_close(a);
    ao.relaxed = !durable;
    if (tc_audit_open(&ao, &a, &err) != TC_OK || tc_audit_start(a, 1, &err) != TC_OK) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        return 1;
    }
    int64_t *lat = calloc(records, sizeof *lat);
    double c0 = cpu_s();
    int64_t t0 = now_ns();
    if (lat == NULL || run(a, &seqno, records, batch, answer, lat) != 0) {
        fprintf(stderr, "bench_audit: a commit failed\n");
        return 1;
    }
    double wall = (double)(now_ns() - t0) / 1e9, cpu = cpu_s() - c0;
    tc_audit_close(a);
    qsort(lat, records, sizeof *lat, cmp_ll);
    printf("{\"prefill\": %zu, \"records\": %zu, \"batch\": %zu, \"durable\": %d, "
           "\"records_per_s\": %.0f, \"cpu_us_per_record\": %.2f, \"p50_us\": %.1f, "
           "\"p99_us\": %.1f}\n",
           prefill, records, batch, durable, (double)records / wall, cpu * 1e6 / (double)records,
           (double)lat[records / 2] / 1e3, (double)lat[records * 99 / 100] / 1e3);
    free(lat);
    return 0;
}
