/* tc_eval — evaluating a model on one citizen record: points per characteristic, the score
 * clamped to the model's bounds, PD = 1/(1+e^-η) with a 95 % interval, the grade, and the
 * principal reasons.
 *
 * PD interval (delta method): var(η) = xᵀ Σ x, where x is the design vector (1, WoE_1, …, WoE_k)
 * of a scorecard or (1, transformed values and indicators) of a logistic model and Σ the
 * coefficient covariance; with the Cholesky factor Σ = L·Lᵀ from load time, var(η) = ‖Lᵀx‖²,
 * one triangular product on the packed factor and one dot product with GSL's CBLAS
 * (cblas_dtpmv, cblas_ddot; packed storage measured faster than gsl_blas_dtrmv on a
 * gsl_matrix). The interval is computed on η and then transformed:
 * [logistic(η − z·se), logistic(η + z·se)], z = Φ⁻¹(0.975), so it stays inside (0, 1).
 * PD comes from η, never from the clamped score.
 *
 * Reasons: each characteristic's points lost — below its best possible points (method "max",
 * the default) or below its baseline (method "baseline") — are summed per reason code, counting
 * only characteristics that lost points; codes are ranked by points lost, ties broken by the
 * model's fixed order (the order codes first appear in the model file), and at most N are kept
 * (the model's reasons.count, default 4, or the caller's, at most TC_REASONS_OUT_MAX).
 *
 * tc_model_eval allocates nothing and takes no lock: it reads the immutable model and the record
 * and writes only the caller's workspace and result. One workspace per thread.
 */
#ifndef TC_EVAL_H
#define TC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "tc_error.h"
#include "tc_model.h"
#include "tc_record.h"

typedef struct tc_eval_workspace tc_eval_workspace;

/* Scratch for one thread, sized for any model (TC_MODEL_PARAMS_MAX coefficients). */
int tc_eval_workspace_new(tc_eval_workspace **out, tc_error *err);
void tc_eval_workspace_free(tc_eval_workspace *ws);

typedef struct tc_eval_options {
    int max_reasons;           /* 0: the model's reasons.count; else 1..TC_REASONS_OUT_MAX */
    int override_method;       /* 1: use method below instead of the model's */
    tc_reason_method method;
    int no_interval;           /* 1: skip the PD interval (pd_low = pd_high = pd, eta_se = 0) */
} tc_eval_options;

typedef struct tc_reason_result {
    const char *code;          /* borrowed from the model */
    const char *vi, *en;
    double points_lost;        /* summed over the characteristics with this code */
    size_t group;              /* index into model->reasons */
} tc_reason_result;

typedef struct tc_score_result {
    const tc_model *model;     /* borrowed */
    double score;              /* clamped to [score_min, score_max] */
    double score_raw;          /* sum of points before clamping */
    double eta;                /* log-odds of default */
    double eta_se;             /* standard error of η */
    double pd, pd_low, pd_high;
    const tc_grade *grade;     /* borrowed from the model */
    size_t n_reasons;
    tc_reason_result reasons[TC_REASONS_OUT_MAX];
    size_t n_chars;
    double points[TC_MODEL_CHARS_MAX]; /* per characteristic, in model order */
    int16_t bin[TC_MODEL_CHARS_MAX];   /* scorecard: bin used; logistic: -1 */
} tc_score_result;

/* Evaluate m on rec (viewed under the catalog m was loaded for). opt may be NULL. TC_EINVAL for
 * a record of another catalog or bad options, TC_ERECORD when the record lacks a value the model
 * has no missing rule for (only a corrupt record can), TC_ENUMERIC if GSL fails. */
int tc_model_eval(const tc_model *m, const tc_record *rec, const tc_eval_options *opt,
                  tc_eval_workspace *ws, tc_score_result *out);

#endif
