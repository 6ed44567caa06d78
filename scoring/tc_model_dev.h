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

#include <jansson.h>

#include "tc_error.h"
#include "tc_json.h"

#define TC_DEV_SCORE_BINS_MAX 20 /* score bins: deciles of the development scores by default */
#define TC_DEV_SHARE_TOLERANCE 1e-4

struct tc_model;

typedef struct tc_model_dev {
    double rows;                                    /* development rows (weighted) */
    size_t n_score_bins;                            /* 2..TC_DEV_SCORE_BINS_MAX */
    double score_cuts[TC_DEV_SCORE_BINS_MAX - 1];   /* bin of s = cuts ≤ s (tc_psi_bin) */
    double score_share[TC_DEV_SCORE_BINS_MAX];
    double grade_share[16];                         /* in the model's grade order */
    size_t n_chars;                                 /* scorecards: the model's; logistic: 0 */
    const double *char_share[64];                   /* characteristic c: its n_bins shares */
    double *storage;
} tc_model_dev;

/* Parse root's "development" member against model m (grades and characteristics loaded): *out
 * is NULL when the member is absent. Errors name the JSON path (TC_EMODEL). */
int tc_model_dev_parse(const tc_jctx *ctx, json_t *root, const struct tc_model *m,
                       tc_model_dev **out, tc_error *err);
void tc_model_dev_free(tc_model_dev *d);

/* Index of a grade of m (a pointer tc_model_grade returned). */
struct tc_grade;
size_t tc_model_grade_index(const struct tc_model *m, const struct tc_grade *grade);

#endif
