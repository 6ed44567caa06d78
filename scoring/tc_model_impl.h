/* tc_model_impl — between the parts of the model loader, not a contract for anyone else:
 * tc_model.h and tc_model_dev.h are. The parts, in the order a model file is read:
 *   tc_model.c       header fields, scaling, reason settings, grades; the whole parse, free
 *   tc_model_card.c  the model card
 *   tc_model_char.c  characteristics (bins, levels, special values, logistic terms)
 *   tc_model_plan.c  the parameters' covariance, and the evaluation plan scorecards run by
 *   tc_model_dev.c   the development sample's distributions (monitoring's reference) */
#ifndef TC_MODEL_IMPL_H
#define TC_MODEL_IMPL_H

#include <gsl/gsl_matrix.h>
#include <jansson.h>

#include "tc_json.h"
#include "tc_model_dev.h"

#define PARAM_NAME_MAX (2 * TC_NAME_MAX + TC_LEVEL_LEN_MAX + 8)
#define LABEL_MAX 256
#define VALUES_PER_ARRAY_MAX 256 /* levels or special values listed in one bin */

typedef struct model_impl {
    tc_model pub; /* first, so a tc_model * is a model_impl * */
    json_t *root; /* owns the strings read from the file */
    char *path;
    char *card; /* model_card as compact JSON */
    tc_model_dev *dev;
    tc_characteristic *chars;
    tc_bin *bins;
    double *values; /* special values and level indices of all bins */
    tc_level_term *terms;
    tc_grade *grades;
    tc_reason_group *reasons;
    char *reason_texts; /* copies of code, vi, en of every group */
    const char **param_names;
    char (*param_name_buf)[PARAM_NAME_MAX];
    gsl_matrix *cov, *chol;
    double *packed;
    /* plan */
    tc_plan_char *pchars;
    uint8_t *tables, *thr_bin, *special_bin;
    double *thresholds, *specials;
    double *bin_points, *bin_woe, *bin_eta, *bin_lost_max, *bin_lost_base;
} model_impl;

/* obj's optional "label" (at most LABEL_MAX bytes), "" when absent. */
int tc_model_get_label(const tc_jctx *ctx, json_t *obj, const char **out, tc_error *err);

/* The parts: each fills its members of mi from the document; errors name the JSON path. */
int tc_model_parse_card(const tc_jctx *ctx, json_t *root, model_impl *mi, tc_error *err);
int tc_model_parse_chars(const tc_jctx *root, json_t *doc, model_impl *mi, const tc_reasons *dict,
                         tc_error *err);
/* The bin of ch a present value falls in (special values first), or SIZE_MAX. */
size_t tc_model_bin_of_value(const tc_characteristic *ch, double v);
int tc_model_build_param_names(model_impl *mi, tc_error *err);
int tc_model_parse_covariance(const tc_jctx *root, json_t *doc, model_impl *mi, tc_error *err);
int tc_model_build_plan(model_impl *mi, tc_error *err);

/* Parse root's "development" member against model m (grades and characteristics loaded): *out
 * is NULL when the member is absent. Errors name the JSON path (TC_EMODEL). */
int tc_model_dev_parse(const tc_jctx *ctx, json_t *root, const tc_model *m, tc_model_dev **out,
                       tc_error *err);
void tc_model_dev_free(tc_model_dev *d);

#endif
