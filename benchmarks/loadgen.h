/* loadgen.h — what the parts of the load generator share (loadgen.c: options, lanes, the
 * report; loadgen_run.c: the calls, the closed and open loops, the reload loop, CPU time).
 * Not a contract for anyone else. */
#ifndef TC_LOADGEN_H
#define TC_LOADGEN_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_client.h"

#define METHOD_SCORE "/tinchap.v1.Scoring/Score"
#define METHOD_NOOP "/tinchap.v1.Diagnostics/Noop"
#define METHOD_RELOAD "/tinchap.v1.Admin/ReloadModels"
#define THREADS_MAX 8
#define CONCURRENCY_MAX 4096
#define REQUEST_MAX 512 /* one encoded ScoreRequest: IDs, refs and names are short */
#define REQUEST_ID_MAX 40
#define CITIZEN_REF_MAX 64
#define N_STATUS 17           /* gRPC status codes 0..16 */
#define BAD_RESPONSE N_STATUS /* OK status, but not the answer asked for */
#define START_FAILED (N_STATUS + 1)
#define N_OUTCOMES (N_STATUS + 2)
#define DRAIN_GRACE_NS 5e9 /* after the end, how long calls still due may be sent */

typedef struct citizen {
    char id[13];
    char ref[CITIZEN_REF_MAX];
} citizen;

typedef struct lane lane;

typedef struct slot {
    tc_client_call *call;
    lane *ln;
    double t0; /* ns: when the call started (closed) or was due (open) */
    char request_id[REQUEST_ID_MAX];
    struct slot *next;
} slot;

/* One client thread: its channel, queue, calls and results. */
struct lane {
    int id;
    pthread_t thread, sender;
    tc_client *client;
    tc_client_queue *q;
    slot *slots;
    size_t n_slots;
    uint64_t rng;
    uint64_t counter;
    unsigned char req[REQUEST_MAX];
    /* results, touched by the lane's completing thread only */
    double *lat; /* µs */
    size_t n_lat, cap_lat;
    uint64_t outcomes[N_OUTCOMES];
    uint64_t completed_in_window;
    char first_error[TC_CLIENT_MESSAGE_MAX + 32];
    /* open loop: the sender and the completer share these under mu, and start calls (the
     * request buffer, counter and draw) under start_mu */
    pthread_mutex_t mu, start_mu;
    slot *free;
    double *backlog; /* due times of calls waiting for a free slot, a ring */
    size_t bl_head, bl_len, bl_cap;
    size_t outstanding;
    int sending_done;
    uint64_t due, unsent, backlog_max;
    double rate;  /* this lane's share, calls/s */
    double phase; /* ns: offset of this lane's schedule, so lanes do not send in lockstep */
};

typedef struct lg_globals {
    const char *method;
    int score;
    const char *purpose, *product;
    citizen *citizens;
    size_t n_citizens;
    int timeout_ms;
    double t_start, t_warm, t_end; /* ns, CLOCK_MONOTONIC */
    char tag[6];
} lg_globals;

/* the run's settings, set before the lanes start and read-only after */
extern lg_globals G;

/* A background ReloadModels loop, for the "reload under load" point. */
typedef struct lg_reload {
    tc_client *client;
    int every_ms;
    uint64_t ok, failed;
    double *lat; /* µs */
    size_t n_lat, cap_lat;
    char first_error[TC_CLIENT_MESSAGE_MAX + 32];
} lg_reload;
extern lg_reload R;

double now_ns(void);
void sleep_until(double t_ns);
uint64_t next_rand(uint64_t *s);
/* G.citizens from a file of "citizen_id,consent_ref" lines; 0, or -1 (said on stderr). */
int read_citizens(const char *path);
/* Thread mains: a closed-loop lane; an open-loop lane's sender and completer; the reloader. */
void *closed_main(void *arg);
void *sender_main(void *arg);
void *open_main(void *arg);
void *reload_main(void *arg);
/* CPU seconds used so far by process pid, or by this process. */
double process_cpu(long pid);
double self_cpu(void);

#endif
