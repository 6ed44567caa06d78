/* The load generator's calls: starting and checking them, the closed and open loops, the
 * reload loop, and the CPU time of the run (see loadgen.c for what the program measures). */
#include <errno.h>
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

lg_globals G;
lg_reload R;

double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void sleep_until(double t_ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(t_ns / 1e9);
    ts.tv_nsec = (long)(t_ns - (double)ts.tv_sec * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: cheap, and only needs to spread draws over the citizens */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

int read_citizens(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16;
    G.citizens = malloc(cap * sizeof *G.citizens);
    char line[256];
    while (G.citizens != NULL && fgets(line, sizeof line, f) != NULL) {
        /* citizen_id,consent_ref — a header or any other line is skipped */
        char *comma = strchr(line, ',');
        if (comma == NULL || comma - line != 12 || strspn(line, "0123456789") != 12)
            continue;
        char *ref = comma + 1;
        ref[strcspn(ref, ",\r\n")] = '\0';
        if (ref[0] == '\0' || strlen(ref) >= CITIZEN_REF_MAX)
            continue;
        if (G.n_citizens == cap) {
            citizen *p = realloc(G.citizens, (cap *= 2) * sizeof *G.citizens);
            if (p == NULL) {
                free(G.citizens);
                G.citizens = NULL;
                break;
            }
            G.citizens = p;
        }
        citizen *c = &G.citizens[G.n_citizens++];
        memcpy(c->id, line, 12);
        c->id[12] = '\0';
        memcpy(c->ref, ref, strlen(ref) + 1);
    }
    fclose(f);
    if (G.citizens == NULL) {
        fprintf(stderr, "loadgen: out of memory reading %s\n", path);
        return -1;
    }
    if (G.n_citizens == 0) {
        fprintf(stderr, "loadgen: %s has no 'citizen_id,consent_ref' lines\n", path);
        return -1;
    }
    return 0;
}

/* "lg" + run tag + lane letter + base-36 counter: unique across runs and lanes, never 12
 * digits in a row (the counter would need 36^11 calls). */
static void make_request_id(lane *ln, char out[REQUEST_ID_MAX])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char rev[16];
    size_t n = 0;
    uint64_t v = ln->counter++;
    do {
        rev[n++] = digits[v % 36];
        v /= 36;
    } while (v > 0);
    int o = snprintf(out, REQUEST_ID_MAX, "lg%s%c-", G.tag, 'a' + ln->id);
    while (n > 0)
        out[o++] = rev[--n];
    out[o] = '\0';
}

/* Start s's call; 0 on success. The request is built here, outside any timed section. */
static int start(lane *ln, slot *s, double t0)
{
    size_t len = 0;
    if (G.score) {
        const citizen *c = &G.citizens[next_rand(&ln->rng) % G.n_citizens];
        make_request_id(ln, s->request_id);
        Tinchap__V1__ScoreRequest r = TINCHAP__V1__SCORE_REQUEST__INIT;
        r.request_id = s->request_id;
        r.citizen_id = (char *)c->id;
        r.consent_ref = (char *)c->ref;
        r.purpose = (char *)G.purpose;
        r.product = (char *)G.product;
        r.loan_amount_vnd = 50000000;
        r.loan_term_months = 24;
        len = tinchap__v1__score_request__pack(&r, ln->req);
    }
    s->t0 = t0 > 0 ? t0 : now_ns();
    return tc_client_call_start(s->call, ln->q, G.method, ln->req, len, G.timeout_ms, s);
}

/* The outcome of a completed call: OK with the right answer, or why not. */
static int outcome(lane *ln, slot *s)
{
    int st = tc_client_call_status(s->call);
    if (st < 0 || st >= N_STATUS)
        st = 2; /* UNKNOWN */
    if (st == 0) {
        size_t len = 0;
        const unsigned char *resp = tc_client_call_response(s->call, &len);
        if (G.score) {
            Tinchap__V1__ScoreResponse *r = tinchap__v1__score_response__unpack(NULL, len, resp);
            int good = r != NULL && strcmp(r->request_id, s->request_id) == 0 &&
                       r->grade[0] != '\0' && !r->replayed && r->pd > 0 && r->pd < 1;
            if (r != NULL)
                tinchap__v1__score_response__free_unpacked(r, NULL);
            if (!good)
                st = BAD_RESPONSE;
        } else if (len != 0) {
            st = BAD_RESPONSE;
        }
    }
    if (st != 0 && ln->first_error[0] == '\0')
        snprintf(ln->first_error, sizeof ln->first_error, "%s: %s",
                 st == BAD_RESPONSE ? "BAD_RESPONSE" : tc_client_status_name(st),
                 st == BAD_RESPONSE ? "the answer does not match the request"
                                    : tc_client_call_message(s->call));
    return st;
}

/* Account for a completed call that was started (closed) or due (open) at s->t0. */
static void record(lane *ln, slot *s, double t_done)
{
    int st = outcome(ln, s);
    if (s->t0 < G.t_warm || s->t0 >= G.t_end)
        return;
    ln->outcomes[st]++;
    if (t_done < G.t_end)
        ln->completed_in_window++;
    if (st != 0)
        return;
    if (ln->n_lat == ln->cap_lat) {
        size_t cap = ln->cap_lat ? ln->cap_lat * 2 : 1 << 16;
        double *p = realloc(ln->lat, cap * sizeof *p);
        if (p == NULL)
            return; /* out of memory: this sample is lost, the counts stay right */
        ln->lat = p;
        ln->cap_lat = cap;
    }
    ln->lat[ln->n_lat++] = (t_done - s->t0) / 1e3;
}

static void note_start_failure(lane *ln, slot *s)
{
    if (s->t0 >= G.t_warm && s->t0 < G.t_end)
        ln->outcomes[START_FAILED]++;
    if (ln->first_error[0] == '\0')
        snprintf(ln->first_error, sizeof ln->first_error, "START_FAILED: %s",
                 tc_client_call_message(s->call));
}

/* ---- closed loop ---- */

void *closed_main(void *arg)
{
    lane *ln = arg;
    size_t in_flight = 0;
    sleep_until(G.t_start);
    for (size_t i = 0; i < ln->n_slots; i++) {
        if (start(ln, &ln->slots[i], 0) == 0)
            in_flight++;
        else
            note_start_failure(ln, &ln->slots[i]);
    }
    while (in_flight > 0) {
        tc_client_call *done;
        if (tc_client_queue_next(ln->q, 100, &done) == 0)
            continue;
        double t = now_ns();
        slot *s = tc_client_call_user(done);
        record(ln, s, t);
        in_flight--;
        if (t < G.t_end) {
            if (start(ln, s, 0) == 0)
                in_flight++;
            else
                note_start_failure(ln, s);
        }
    }
    return NULL;
}

/* ---- open loop: a sender on the schedule, this thread completing ---- */

static int open_start(lane *ln, slot *s, double due)
{
    pthread_mutex_lock(&ln->start_mu);
    int rc = start(ln, s, due);
    if (rc != 0)
        note_start_failure(ln, s);
    pthread_mutex_unlock(&ln->start_mu);
    return rc;
}

void *sender_main(void *arg)
{
    lane *ln = arg;
    double interval = 1e9 / ln->rate;
    for (uint64_t k = 0;; k++) {
        double due = G.t_start + ln->phase + (double)k * interval;
        if (due >= G.t_end)
            break;
        sleep_until(due);
        pthread_mutex_lock(&ln->mu);
        ln->due++;
        slot *s = ln->free;
        if (s != NULL) {
            ln->free = s->next;
            ln->outstanding++;
        } else if (ln->bl_len < ln->bl_cap) {
            ln->backlog[(ln->bl_head + ln->bl_len++) % ln->bl_cap] = due;
            if (ln->bl_len > ln->backlog_max)
                ln->backlog_max = ln->bl_len;
        } else {
            ln->unsent++; /* hopelessly behind: the report says so */
        }
        pthread_mutex_unlock(&ln->mu);
        if (s != NULL && open_start(ln, s, due) != 0) {
            pthread_mutex_lock(&ln->mu);
            s->next = ln->free;
            ln->free = s;
            ln->outstanding--;
            pthread_mutex_unlock(&ln->mu);
        }
    }
    pthread_mutex_lock(&ln->mu);
    ln->sending_done = 1;
    pthread_mutex_unlock(&ln->mu);
    return NULL;
}

void *open_main(void *arg)
{
    lane *ln = arg;
    for (;;) {
        pthread_mutex_lock(&ln->mu);
        int finished = ln->sending_done && ln->outstanding == 0 && ln->bl_len == 0;
        pthread_mutex_unlock(&ln->mu);
        if (finished)
            break;
        tc_client_call *done;
        if (tc_client_queue_next(ln->q, 20, &done) == 0)
            continue;
        double t = now_ns();
        slot *s = tc_client_call_user(done);
        pthread_mutex_lock(&ln->start_mu);
        record(ln, s, t);
        pthread_mutex_unlock(&ln->start_mu);
        /* the slot serves the oldest due call waiting, if any, else goes back to the pool */
        for (;;) {
            double due = 0;
            pthread_mutex_lock(&ln->mu);
            if (ln->bl_len > 0) {
                due = ln->backlog[ln->bl_head];
                ln->bl_head = (ln->bl_head + 1) % ln->bl_cap;
                ln->bl_len--;
                if (t > G.t_end + DRAIN_GRACE_NS) {
                    ln->unsent++;
                    pthread_mutex_unlock(&ln->mu);
                    continue;
                }
            } else {
                s->next = ln->free;
                ln->free = s;
                ln->outstanding--;
            }
            pthread_mutex_unlock(&ln->mu);
            if (due == 0 || open_start(ln, s, due) == 0)
                break;
        }
    }
    return NULL;
}

/* ---- a background ReloadModels loop, for the "reload under load" point ---- */

void *reload_main(void *arg)
{
    (void)arg;
    sleep_until(G.t_start);
    for (double t = G.t_start; t < G.t_end; t += R.every_ms * 1e6) {
        sleep_until(t);
        unsigned char *resp = NULL;
        size_t len = 0;
        int status = 0;
        char msg[TC_CLIENT_MESSAGE_MAX];
        double t0 = now_ns();
        int rc = tc_client_unary(R.client, METHOD_RELOAD, "", 0, 10000, &resp, &len, &status, msg,
                                 sizeof msg);
        double us = (now_ns() - t0) / 1e3;
        free(resp);
        if (rc == 0 && status == 0) {
            R.ok++;
            if (R.n_lat == R.cap_lat) {
                size_t cap = R.cap_lat ? R.cap_lat * 2 : 256;
                double *p = realloc(R.lat, cap * sizeof *p);
                if (p == NULL)
                    continue;
                R.lat = p;
                R.cap_lat = cap;
            }
            R.lat[R.n_lat++] = us;
        } else {
            R.failed++;
            if (R.first_error[0] == '\0')
                snprintf(R.first_error, sizeof R.first_error, "%s: %s",
                         rc ? "START_FAILED" : tc_client_status_name(status), msg);
        }
    }
    return NULL;
}

/* ---- CPU time ---- */

/* utime + stime of a process, in seconds; -1 when it cannot be read. */
double process_cpu(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces: fields are counted after its closing parenthesis */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    unsigned long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}
