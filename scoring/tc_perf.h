/* tc_perf — a model's performance: how well predicted probabilities of default rank and
 * calibrate, and how far two distributions drifted apart: the statistics a model validator asks
 * for. (Not tc_api_metrics, which is the service's Prometheus exposition.)
 *
 * Inputs are a risk value per row (a PD, or anything that orders rows from safest to riskiest),
 * the outcome y ∈ {0, 1} and optional frequency weights (NULL: every row weighs 1).
 *
 * Conventions, stated because every package picks its own:
 *   AUC   P(risk of an event row > risk of a non-event row) + ½·P(tie), i.e. the Mann–Whitney
 *         statistic with mid-ranks for ties, computed over groups of equal risk in one sort;
 *         equal to scikit-learn's roc_auc_score(y, risk, sample_weight=w). Gini = 2·AUC − 1.
 *   KS    max over thresholds t of |F_event(t) − F_non-event(t)|, F the (weighted) empirical
 *         CDFs of the risk, evaluated after each group of equal values; the two-sample
 *         Kolmogorov–Smirnov statistic (scipy.stats.ks_2samp).
 *   Brier Σ w·(pd − y)² / Σ w.
 *   Hosmer–Lemeshow  rows sorted by PD (ties by row order) and cut into G = 10 groups of equal
 *         row count (group g holds rows ⌊g·n/G⌋ … ⌊(g+1)·n/G⌋ − 1), Hosmer & Lemeshow, Applied
 *         Logistic Regression, 2nd ed., §5.2.2; C = Σ_g (O_g − E_g)² / (E_g·(1 − E_g/n_g)) with
 *         O, E, n the weighted events, expected events (Σ w·pd) and rows of the group; p-value
 *         from χ² with G − 2 degrees of freedom. Empty or degenerate groups are skipped (and the
 *         degrees of freedom reduced). The same groups give the calibration table ("deciles").
 *   PSI   Σ_i (a_i − e_i)·ln(a_i/e_i) over bins, with e and a the expected (baseline) and actual
 *         shares; a share below TC_PSI_EPS is raised to TC_PSI_EPS (no renormalisation), so an
 *         empty bin costs a finite amount instead of infinity. CSI is the same on a
 *         characteristic's bins. Usual bands: < 0.1 stable, 0.1–0.25 watch, > 0.25 act.
 *
 * Functions allocate their scratch (a sort of n rows) and free it; results are plain structs.
 */
#ifndef TC_PERF_H
#define TC_PERF_H

#include <stddef.h>

#include "tc_error.h"

#define TC_PERF_GROUPS 10   /* Hosmer–Lemeshow groups and calibration deciles */
#define TC_PERF_ROC_MAX 256 /* points kept of the ROC curve */
#define TC_PSI_EPS 1e-4
#define TC_PSI_BINS_MAX 64
#define TC_PSI_WATCH 0.1 /* bands: below watch stable, above act act */
#define TC_PSI_ACT 0.25

typedef struct tc_calibration_group {
    double n, events, expected; /* weighted rows, events, Σ w·pd */
    double pd_min, pd_max;
} tc_calibration_group;

typedef struct tc_perf {
    double n, events; /* weighted */
    size_t rows;
    double auc, gini;
    double ks, ks_at; /* the statistic and the risk value where it is reached */
    double brier;
    double hl_stat, hl_p;
    int hl_df;
    size_t n_groups;
    tc_calibration_group groups[TC_PERF_GROUPS];
    size_t n_roc; /* points from (0,0) to (1,1), risk threshold descending */
    double roc_fpr[TC_PERF_ROC_MAX], roc_tpr[TC_PERF_ROC_MAX];
} tc_perf;

/* Everything above for n rows. TC_EINVAL if a target is not 0/1, a weight negative or
 * non-finite, a risk value not finite, or the rows lack events or non-events (AUC and KS are
 * then undefined). */
int tc_perf_compute(const double *risk, const double *y, const double *w, size_t n,
                       tc_perf *out, tc_error *err);

/* PSI of actual against expected, both k counts (or weights) per bin, k ≤ TC_PSI_BINS_MAX.
 * Returns 0 when either total is 0. */
double tc_psi(const double *expected, const double *actual, size_t k);

/* Band name for a PSI or CSI value: "stable", "watch" or "act". */
const char *tc_psi_band(double psi);

/* Cut points for PSI bins of a continuous value (a score): up to k − 1 distinct values at the
 * row-count quantiles i/k of values (i = 1 … k−1), ascending, written to cuts; returns how many.
 * Bin of v = number of cuts ≤ v (tc_psi_bin), so bins are [c_i, c_{i+1}). */
size_t tc_psi_cuts(const double *values, size_t n, size_t k, double *cuts, tc_error *err);
size_t tc_psi_bin(const double *cuts, size_t n_cuts, double v);

#endif
