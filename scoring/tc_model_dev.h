/* tc_model_dev — a model's development distribution: how the rows it was developed on were
 * spread over score bins, grades and, for a scorecard, each characteristic's bins. The trainer
 * writes it into the model file ("development", models/README.md); live monitoring compares what
 * the service scores with it (population stability index of the score, characteristic stability
 * index of each characteristic), the way tinchap validate compares two samples offline.
 *
 * Optional in the file: a model without it (an expert model, an older file) is scored and
 * monitored for its live distribution only, without PSI or CSI.
 *
 * Validated with the model: shares in [0, 1] adding up to 1 (within 1e-4: they are written with
 * six significant digits), score cuts strictly ascending, one share per grade and per bin of each
 * characteristic in model order.
 */
#ifndef TC_MODEL_DEV_H
#define TC_MODEL_DEV_H

#include <stddef.h>

#include "tc_model.h"

#define TC_DEV_SCORE_BINS_MAX 20 /* score bins: deciles of the development scores by default */
#define TC_DEV_SHARE_TOLERANCE 1e-4

/* (typedef'd in tc_model.h, whose tc_model points to one) */
struct tc_model_dev {
    double rows;                                  /* development rows (weighted) */
    size_t n_score_bins;                          /* 2..TC_DEV_SCORE_BINS_MAX */
    double score_cuts[TC_DEV_SCORE_BINS_MAX - 1]; /* bin of s = cuts ≤ s (tc_psi_bin) */
    double score_share[TC_DEV_SCORE_BINS_MAX];
    double grade_share[TC_MODEL_GRADES_MAX];      /* in the model's grade order */
    size_t n_chars;                               /* scorecards: the model's; logistic: 0 */
    const double *char_share[TC_MODEL_CHARS_MAX]; /* characteristic c: its n_bins shares */
    double *storage;
};

#endif
