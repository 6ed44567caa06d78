/* Private to tc_train*.c: what the pipeline (tc_train.c) hands the model writer
 * (tc_train_model.c). */
#ifndef TC_TRAIN_IMPL_H
#define TC_TRAIN_IMPL_H

#include "tc_train.h"

/* The model file's text for a finished fit: r->kind, r->chars (selected ones have model_index
 * >= 0, in order), r->fit, r->param_names, r->created_at. fingerprint may be NULL ("none").
 * with_card: add the model card, which needs the validation figures (r->dev, r->val,
 * r->psi_score) and so a second writing once they are measured. *text is malloc'ed. */
int tc_train_model_text(const tc_train_result *r, const char *fingerprint, int with_card,
                        char **text, size_t *len, tc_error *err);

/* x rounded to a multiple of unit (0: unchanged), exactly representable when 1/unit is whole. */
double tc_train_round(double x, double unit);

#endif
