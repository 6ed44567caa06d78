/* tc_api_monitor — live monitoring of the models in service: what each model scores, against
 * the distribution it was developed on (the model file's "development", tc_model_dev).
 *
 * Per model (name, version and tc_model.layout_sha256, the digest of its grades, bins, scaling
 * and development distribution): scores and grades served since start, as a Prometheus
 * histogram on the model's own grade cut-offs and a counter per grade; and over a sliding
 * window, the population stability index of the score (the development deciles' bins) and the
 * characteristic stability index of each scorecard characteristic's bins, computed as tinchap
 * validate computes them offline (tc_psi, shares floored at 10⁻⁴). The histogram's bounds are
 * the largest doubles below each cut-off (a score equal to a cut-off has the higher grade, and
 * `le` means "at most"), so its buckets hold exactly the grades' counts.
 *
 * What is counted: an answer the service has decided to give (its reply encoded); the rare
 * answer the audit trail then refuses to record (the caller gets UNAVAILABLE) is counted too.
 * Challengers' shadow scores are counted under their own name and version.
 *
 * The call path (tc_api_monitor_record) takes no lock and allocates nothing: each worker counts
 * into its own row of cumulative counters (single writer, relaxed atomics: a plain load and
 * store; rows start on their own 64-byte cache line, so two workers never write one line),
 * found through its own cache of the set's models. Only the first Score of a model after a
 * (re)load takes the monitor's mutex, to find or make the model's counters (a slot). A reload
 * keeps a model's slot when its name, version and layout digest are unchanged, so the window
 * survives it; a model rebuilt under its own name (other bins, other development shares) gets
 * a new slot and starts again.
 *
 * Slots: at most slots_max. The slot of a model absent from the current set is freed once no
 * worker's cache can hold it any more — every worker has scored with a newer set since the last
 * time its cache took the slot (a worker that has not scored since keeps it). A model refused a
 * slot is cached as "not monitored" for the set, so its Scores do not take the mutex either
 * (they retry once slots have been freed); the first refusal of a set is logged
 * (monitor_slots_exhausted) and tinchap_monitor_unmonitored_models counts such models.
 *
 * The window: cumulative totals are snapshotted at most every window/12 seconds when the
 * metrics are scraped or GetMonitor is called (under the mutex), and the window's counts are the
 * current totals less the newest snapshot at least `window` old (or the oldest one, early on);
 * its actual length is reported with them. Times are CLOCK_MONOTONIC seconds.
 */
#ifndef TC_API_MONITOR_H
#define TC_API_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_api_log.h"
#include "tc_error.h"
#include "tc_eval.h"
#include "tc_registry.h"

#define TC_MONITOR_SLOTS_MAX 128 /* model layouts counted at once (the server's slots_max) */
#define TC_MONITOR_RING 13       /* snapshots kept: window/12 apart */

typedef struct tc_api_monitor tc_api_monitor;

/* n_shards: one per worker (shard i is written by worker i alone); window_s: the PSI window;
 * slots_max: model layouts counted at once; log (borrowed, may be NULL) gets the one warning. */
int tc_api_monitor_open(size_t n_shards, unsigned window_s, size_t slots_max, tc_api_log *log,
                        tc_api_monitor **out, tc_error *err);
void tc_api_monitor_close(tc_api_monitor *m);

/* Count one evaluation of model (a member of set) by worker shard. */
void tc_api_monitor_record(tc_api_monitor *m, size_t shard, const tc_model_set *set,
                           const tc_model *model, const tc_score_result *r);

/* One model's figures now. */
typedef struct tc_api_monitor_view {
    int monitored;  /* the model has a slot (scored, or listed by a scrape) */
    uint64_t total; /* scores since start: the histogram's +Inf bucket */
    double score_sum;
    size_t n_bounds; /* histogram: le bounds, ascending, then +Inf */
    double bounds[TC_MODEL_GRADES_MAX];
    uint64_t le[TC_MODEL_GRADES_MAX + 1]; /* cumulative, as Prometheus wants */
    uint64_t grades[TC_MODEL_GRADES_MAX]; /* since start, model grade order */
    double window_seconds;
    uint64_t window_scores;
    uint64_t window_grades[TC_MODEL_GRADES_MAX];
    double psi; /* NAN without a development distribution or
                 * without scores in the window */
    size_t n_csi;
    double csi[TC_MODEL_CHARS_MAX]; /* per characteristic; NAN as psi */
} tc_api_monitor_view;

/* The figures of model now; zeros for a model without a slot. */
void tc_api_monitor_view_of(tc_api_monitor *m, const tc_model *model, tc_api_monitor_view *out);

/* The same as at monotonic time now_s (no earlier than the last view or render): for tests of
 * the window with a clock they choose. */
void tc_api_monitor_view_at(tc_api_monitor *m, const tc_model *model, double now_s,
                            tc_api_monitor_view *out);

/* The Prometheus families for every model of set (scrape time); makes the slots of models not
 * scored yet, so that every model in service is listed and refusals are counted. */
void tc_api_monitor_render(tc_api_monitor *m, const tc_model_set *set, FILE *f);

unsigned tc_api_monitor_window(const tc_api_monitor *m);

#endif
