/* tc_logit — logistic regression by iteratively reweighted least squares (Newton–Raphson on the
 * log-likelihood), for training scorecards and logistic models.
 *
 * Model: P(y = 1 | x) = 1 / (1 + e^−xᵀβ), y ∈ {0, 1}, optional frequency weights w_i ≥ 0 (a row
 * of weight 2 counts as two rows), optional ridge penalty λ/2 · Σ_j β_j² over every column but
 * the intercept.
 *
 * Each step solves the weighted least-squares normal equations (XᵀWX + λI′) δ = Xᵀw(y − μ) − λβ′
 * with a Cholesky factorisation of XᵀWX after scaling it to unit diagonal (Jacobi
 * equilibration), rather than a QR factorisation of W^½X: XᵀWX is accumulated in one pass over
 * the rows (n·p²/2 multiply-adds, the hot loop, unrolled over four rows) and factorised at p×p
 * cost, where a QR of the n×p matrix costs 2·n·p² per step and a copy of X. Cholesky squares the
 * condition number, so the factor's reciprocal condition number is checked at every step
 * (gsl_linalg_cholesky_rcond) and a design whose scaled XᵀWX has rcond below
 * TC_LOGIT_RCOND_MIN (κ > 10^13: fewer than 3 significant digits left) is refused as rank
 * deficient, naming the column a pivoted LDLᵀ finds dependent, instead of returning noise.
 *
 * Separation: when the data are completely separated (some β puts every row on the side of its
 * outcome, (2y−1)·xᵀβ > 0 for all rows) or quasi-completely separated (some rows are predicted
 * perfectly while a coefficient grows without bound), the maximum-likelihood estimate does not
 * exist; the fit detects both and fails with TC_ENUMERIC and a message naming the columns,
 * suggesting l2 > 0 (with which the penalised estimate always exists).
 *
 * Convergence: max_j |δ_j| / (1 + |β_j|) ≤ tolerance. The covariance is the inverse of the
 * (penalised) information XᵀWX + λI′ at the estimate (with λ > 0, the usual ridge approximation),
 * so with λ = 0 the results are those of statsmodels' Logit; standard errors are its diagonal's
 * square roots, z = β/se, p = 2·Q(|z|) (normal). loglik is the unpenalised log-likelihood; AIC =
 * −2·loglik + 2p, BIC = −2·loglik + p·ln(Σw).
 *
 * Deterministic: sums run in row order; no threads.
 */
#ifndef TC_LOGIT_H
#define TC_LOGIT_H

#include <stddef.h>

#include <gsl/gsl_matrix.h>

#include "tc_error.h"

#define TC_LOGIT_PARAMS_MAX 128
#define TC_LOGIT_ITER_DEFAULT 50
#define TC_LOGIT_ITER_MAX 1000
#define TC_LOGIT_TOL_DEFAULT 1e-8
#define TC_LOGIT_RCOND_MIN 1e-13

typedef struct tc_logit_options {
    double l2;                /* λ ≥ 0 */
    int intercept;            /* the column of ones, not penalised; -1 if none */
    int max_iterations;       /* 1..TC_LOGIT_ITER_MAX; 0 = default */
    double tolerance;         /* > 0; 0 = default */
    const char *const *names; /* p column names for messages, or NULL ("x0", "x1", ...) */
} tc_logit_options;

typedef struct tc_logit_result {
    size_t p;
    double *coef, *se, *z, *pvalue; /* p each */
    gsl_matrix *cov;                /* p × p */
    double loglik;                  /* at the estimate, without the penalty */
    double loglik_null;             /* intercept-only model (0 when there is no intercept) */
    double aic, bic;
    double nobs; /* Σw, the number of rows without weights */
    int iterations;
} tc_logit_result;

/* Fit on n rows of X (row-major, n × p, p ≤ TC_LOGIT_PARAMS_MAX), targets y (0/1) and weights w
 * (NULL: all 1). X, y, w are only read. On success *out is a new result (free it). */
int tc_logit_fit(const double *X, const double *y, const double *w, size_t n, size_t p,
                 const tc_logit_options *opt, tc_logit_result **out, tc_error *err);

void tc_logit_result_free(tc_logit_result *r);

#endif
