/* train_report — what `tinchap train` tells a model validator: one self-contained HTML file
 * (inline CSS and SVG; no script, font, image or link that leaves the file, so it opens offline
 * and can be archived with the model): the key figures for development and validation, ROC, KS,
 * calibration and score-distribution charts, the fit (coefficients, standard errors, z, p,
 * log-likelihood, AIC, BIC), the IV table with the selection's reasons, grades, and WoE by bin
 * for every attribute. Built in memory (*out is malloc'ed, NUL-terminated). The same figures
 * for scripts are train_summary's; the bin wording and numbers below are shared with it.
 */
#ifndef TC_TRAIN_REPORT_H
#define TC_TRAIN_REPORT_H

#include <stddef.h>

#include "tc_error.h"
#include "tc_train.h"

int train_report_html(const tc_train_result *r, const char *data_path, const char *fingerprint,
                      char **out, size_t *len, tc_error *err);

/* A bin as a reviewer reads it ("< 1", "1 – 29", "≥ 90", "married, widowed", "missing"). */
void train_report_bin_text(const tc_train_char *c, size_t i, char *buf, size_t size);

/* 1 when bin i of c starts at one of the spec's split points (the user split was applied). */
int train_report_user_split(const tc_train_char *c, size_t i);

#endif
