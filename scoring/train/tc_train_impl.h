/* Private to tc_train*.c: what the pipeline (tc_train.c) shares with its fits
 * (tc_train_fit.c) and hands the model writer (tc_train_model.c). */
#ifndef TC_TRAIN_IMPL_H
#define TC_TRAIN_IMPL_H

#include <stdint.h>

#include "tc_train.h"

/* One training run: the spec, the data, the options and the result being built. */
typedef struct job {
    const tc_train_spec *spec;
    const tc_dataset *ds;
    const tc_train_options *opt;
    tc_train_result *r;
    int col[TC_TRAIN_ATTRS_MAX]; /* dataset column of each spec attribute */
    uint8_t *use;                /* development rows */
    uint8_t *bins;               /* scorecard: bin of row i for attribute j at j·n + i */
} job;

/* Select the scorecard's characteristics (information value, correlation, signs) and fit it;
 * fit the logistic model on raw attributes. Both fill jb->r. */
int tc_train_select_scorecard(job *jb, tc_error *err);
/* Fit the scorecard on the characteristics selected, on their weights of evidence. */
int tc_train_fit_scorecard(job *jb, tc_error *err);
int tc_train_fit_logistic(job *jb, tc_error *err);

/* The model file's text for a finished fit: r->kind, r->chars (selected ones have model_index
 * >= 0, in order), r->fit, r->param_names, r->created_at. fingerprint may be NULL ("none").
 * with_card: add the model card, which needs the validation figures (r->dev, r->val,
 * r->psi_score) and so a second writing once they are measured. *text is malloc'ed. */
int tc_train_model_text(const tc_train_result *r, const char *fingerprint, int with_card,
                        char **text, size_t *len, tc_error *err);

/* x rounded to a multiple of unit (0: unchanged), exactly representable when 1/unit is whole. */
double tc_train_round(double x, double unit);

#endif
