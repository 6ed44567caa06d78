/* tc_api_monitor — live monitoring of the models in service: what each model scores, against
 * the distribution it was developed on (the model file's "development", tc_model_dev).
 *
 * Per model (name, version and the layout of its bins): scores and grades served since start,
 * as a Prometheus histogram on the model's own grade bounds and a counter per grade; and over a
 * sliding window, the population stability index of the score (the development deciles' bins)
 * and the characteristic stability index of each scorecard characteristic's bins, computed as
 * tinchap validate computes them offline (tc_psi, shares floored at 10⁻⁴).
 *
 * The call path (tc_api_monitor_record) takes no lock and allocates nothing: each worker counts
 * into its own shard of cumulative counters (single writer, relaxed atomics: a plain load and
 * store), found through its own cache of the set's models; only the first Score of a model
 * after a (re)load takes the monitor's mutex, to find or make the model's counters. A reload
 * keeps a model's counters when its name, version and layout are unchanged, so the window
 * survives it. The window: cumulative totals are snapshotted at most every window/12 seconds
 * when the metrics are scraped or GetMonitor is called (under the mutex), and the window's
 * counts are the current totals less the newest snapshot at least `window` old (or the oldest
 * one, early on); its actual length is reported with them.
 */
#ifndef TC_API_MONITOR_H
#define TC_API_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_error.h"
#include "tc_eval.h"
#include "tc_registry.h"

#define TC_MONITOR_SLOTS_MAX 128 /* model layouts counted since start */
#define TC_MONITOR_RING 13       /* snapshots kept: window/12 apart */

typedef struct tc_api_monitor tc_api_monitor;

/* n_shards: one per worker (shard i is written by worker i alone); window_s: the PSI window. */
int tc_api_monitor_open(size_t n_shards, unsigned window_s, tc_api_monitor **out, tc_error *err);
void tc_api_monitor_close(tc_api_monitor *m);

/* Count one evaluation of model (a member of set) by worker shard. */
void tc_api_monitor_record(tc_api_monitor *m, size_t shard, const tc_model_set *set,
                           const tc_model *model, const tc_score_result *r);

/* One model's figures now. */
typedef struct tc_api_monitor_view {
    uint64_t total; /* scores since start */
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

/* The figures of model now; zeros for a model not scored yet. */
void tc_api_monitor_view_of(tc_api_monitor *m, const tc_model *model, tc_api_monitor_view *out);

/* The Prometheus families for every model of set (scrape time). */
void tc_api_monitor_render(tc_api_monitor *m, const tc_model_set *set, FILE *f);

unsigned tc_api_monitor_window(const tc_api_monitor *m);

#endif
