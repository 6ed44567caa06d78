#include "tc_logit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

/* A row's fitted probability of its own outcome above 1 − this is "predicted with certainty". */
#define CERTAIN 1e-10
/* Iterations in a row whose log-likelihood moves less than this (relative) while β keeps moving
 * before the fit is declared stuck: Newton's steps shrink quadratically near a maximum, so a
 * flat likelihood with large steps means β runs off to infinity. */
#define STALL_REL 1e-12
#define STALL_RUN 3
#define STALL_CONVERGED 1e-6
#define HALVINGS_MAX 40

typedef struct pass_stats {
    double ll;      /* unpenalised log-likelihood */
    size_t wrong;   /* rows (w > 0) with (2y − 1)·η ≤ 0: not on their outcome's side */
    size_t certain; /* rows (w > 0) predicted with certainty */
} pass_stats;

/* ℓ_i = y·η − log(1 + e^η), computed without overflow. */
static inline double row_ll(double y, double eta)
{
    double a = eta > 0 ? eta : 0;
    return y * eta - (a + log1p(exp(-fabs(eta))));
}

/* One pass over the rows at β: log-likelihood, gradient g = Xᵀw(y − μ) and the upper triangle of
 * H = XᵀWX, W = w·μ(1 − μ). The hot loop: four rows per sweep over H, so each H element is
 * loaded and stored once per four rows. */
static void pass(const double *X, const double *y, const double *w, size_t n, size_t p,
                 const double *beta, double *H, double *g, pass_stats *st)
{
    memset(H, 0, p * p * sizeof *H);
    memset(g, 0, p * sizeof *g);
    memset(st, 0, sizeof *st);
    size_t i = 0;
    while (i < n) {
        size_t m = n - i < 4 ? n - i : 4;
        const double *x[4];
        double s[4] = {0, 0, 0, 0}, r[4] = {0, 0, 0, 0};
        for (size_t k = 0; k < m; k++) {
            const double *xr = X + (i + k) * p;
            double eta = 0;
            for (size_t a = 0; a < p; a++)
                eta += xr[a] * beta[a];
            double wi = w != NULL ? w[i + k] : 1.0, yi = y[i + k];
            double mu = 1.0 / (1.0 + exp(-eta));
            x[k] = xr;
            s[k] = wi * mu * (1.0 - mu);
            r[k] = wi * (yi - mu);
            if (wi > 0) {
                st->ll += wi * row_ll(yi, eta);
                double margin = yi > 0.5 ? eta : -eta;
                st->wrong += margin <= 0;
                st->certain += (yi > 0.5 ? 1.0 - mu : mu) < CERTAIN;
            }
        }
        for (size_t k = m; k < 4; k++)
            x[k] = x[0]; /* zero weight: contributes nothing */
        for (size_t a = 0; a < p; a++) {
            double s0 = s[0] * x[0][a], s1 = s[1] * x[1][a], s2 = s[2] * x[2][a],
                   s3 = s[3] * x[3][a];
            double *h = H + a * p;
            const double *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
            for (size_t b = a; b < p; b++)
                h[b] += s0 * x0[b] + s1 * x1[b] + s2 * x2[b] + s3 * x3[b];
            g[a] += r[0] * x[0][a] + r[1] * x[1][a] + r[2] * x[2][a] + r[3] * x[3][a];
        }
        i += m;
    }
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < a; b++)
            H[a * p + b] = H[b * p + a];
}

static const char *col_name(const tc_logit_options *o, size_t j, char buf[32])
{
    if (o->names != NULL)
        return o->names[j];
    snprintf(buf, 32, "x%zu", j);
    return buf;
}

/* Cholesky of the leading block of A on columns idx[0..k) (scaled to unit diagonal): 1 if it
 * exists and is well conditioned. */
static int well_conditioned(const gsl_matrix *A, const size_t *idx, size_t k, gsl_matrix *M,
                            gsl_vector *work)
{
    gsl_matrix_view v = gsl_matrix_submatrix(M, 0, 0, k, k);
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++)
            gsl_matrix_set(&v.matrix, a, b, gsl_matrix_get(A, idx[a], idx[b]));
    if (gsl_linalg_cholesky_decomp1(&v.matrix) != GSL_SUCCESS)
        return 0;
    double rcond = 0;
    gsl_vector_view wv = gsl_vector_subvector(work, 0, 3 * k);
    if (gsl_linalg_cholesky_rcond(&v.matrix, &rcond, &wv.vector) != GSL_SUCCESS)
        return 0;
    return rcond >= TC_LOGIT_RCOND_MIN;
}

/* Which column breaks the rank of the scaled information A, and on which columns it depends:
 * columns are added in order while the kept set stays well conditioned (p Cholesky
 * factorisations of at most p×p: only on the error path). */
static int rank_message(const gsl_matrix *A, size_t p, const tc_logit_options *o, int iteration,
                        tc_error *err)
{
    size_t idx[TC_LOGIT_PARAMS_MAX], kept = 0, first_bad = SIZE_MAX;
    gsl_matrix *M = gsl_matrix_alloc(p, p);
    gsl_vector *work = gsl_vector_alloc(3 * p);
    gsl_vector *rhs = gsl_vector_alloc(p);
    char b1[32], b2[32], list[TC_ERROR_MSG_MAX / 2] = "";
    int rc;
    if (M == NULL || work == NULL || rhs == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < p; j++) {
        idx[kept] = j;
        if (well_conditioned(A, idx, kept + 1, M, work))
            kept++;
        else if (first_bad == SIZE_MAX)
            first_bad = j;
    }
    if (first_bad == SIZE_MAX) { /* each column fine alone in order, the whole not: say so */
        rc = tc_errorf(err, TC_ENUMERIC,
                       "the information matrix is numerically singular at iteration %d "
                       "(reciprocal condition below %g)",
                       iteration, TC_LOGIT_RCOND_MIN);
        goto out;
    }
    /* Regress the first dependent column on the kept columns before it, to name them. */
    size_t before = 0;
    while (before < kept && idx[before] < first_bad)
        before++;
    size_t o_len = 0;
    if (before > 0 && well_conditioned(A, idx, before, M, work)) {
        gsl_matrix_view f = gsl_matrix_submatrix(M, 0, 0, before, before);
        gsl_vector_view r = gsl_vector_subvector(rhs, 0, before);
        for (size_t a = 0; a < before; a++)
            gsl_vector_set(&r.vector, a, gsl_matrix_get(A, idx[a], first_bad));
        if (gsl_linalg_cholesky_svx(&f.matrix, &r.vector) == GSL_SUCCESS) {
            double big = 0;
            for (size_t a = 0; a < before; a++)
                big = fmax(big, fabs(gsl_vector_get(&r.vector, a)));
            for (size_t a = 0; a < before && o_len + 1 < sizeof list; a++)
                if (fabs(gsl_vector_get(&r.vector, a)) > 1e-6 * big) {
                    int nw = snprintf(list + o_len, sizeof list - o_len, "%s'%s'",
                                      o_len ? ", " : "", col_name(o, idx[a], b1));
                    if (nw > 0)
                        o_len += (size_t)nw;
                }
        }
    }
    if (o_len >= sizeof list)
        o_len = sizeof list - 1;
    if (o_len == 0)
        rc = tc_errorf(err, TC_ENUMERIC,
                       "rank deficient design (rank %zu of %zu): '%s' is constant or zero in "
                       "every row; drop it",
                       kept, p, col_name(o, first_bad, b2));
    else
        rc = tc_errorf(err, TC_ENUMERIC,
                       "rank deficient design (rank %zu of %zu): '%s' is a linear combination "
                       "of %s; drop one of them",
                       kept, p, col_name(o, first_bad, b2), list);
out:
    gsl_vector_free(rhs);
    gsl_vector_free(work);
    gsl_matrix_free(M);
    return rc;
}

typedef struct solver {
    size_t p;
    gsl_matrix *A;  /* scaled information, factorised in place */
    gsl_matrix *A0; /* scaled information, kept for diagnosis */
    gsl_vector *d;  /* scaling: 1/sqrt(diag) */
    gsl_vector *rhs, *work;
} solver;

static void solver_free(solver *s)
{
    gsl_matrix_free(s->A);
    gsl_matrix_free(s->A0);
    gsl_vector_free(s->d);
    gsl_vector_free(s->rhs);
    gsl_vector_free(s->work);
}

#define SINGULAR 1 /* factorise: not positive definite or badly conditioned; caller diagnoses */

/* Factorise D·H·D (D = diag(H)^−½) and check its conditioning: TC_OK, SINGULAR (a zero
 * diagonal sets *zero_col), or TC_ENUMERIC with err filled when GSL itself fails. */
static int factorise(solver *s, const double *H, size_t *zero_col, tc_error *err)
{
    size_t p = s->p;
    *zero_col = SIZE_MAX;
    for (size_t a = 0; a < p; a++) {
        double h = H[a * p + a];
        if (!(h > 0) || !isfinite(h)) {
            *zero_col = a;
            return SINGULAR;
        }
        gsl_vector_set(s->d, a, 1.0 / sqrt(h));
    }
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++)
            gsl_matrix_set(s->A0, a, b,
                           H[a * p + b] * gsl_vector_get(s->d, a) * gsl_vector_get(s->d, b));
    int st = gsl_matrix_memcpy(s->A, s->A0);
    if (st != GSL_SUCCESS)
        return tc_errorf(err, TC_ENUMERIC, "copying the information matrix failed: %s",
                         gsl_strerror(st));
    st = gsl_linalg_cholesky_decomp1(s->A);
    double rcond = 0;
    if (st == GSL_SUCCESS)
        st = gsl_linalg_cholesky_rcond(s->A, &rcond, s->work);
    if (st != GSL_SUCCESS && st != GSL_EDOM)
        return tc_errorf(err, TC_ENUMERIC, "Cholesky factorisation failed: %s", gsl_strerror(st));
    if (st == GSL_EDOM || rcond < TC_LOGIT_RCOND_MIN)
        return SINGULAR;
    return TC_OK;
}

/* δ = D·(DHD)⁻¹·D·g */
static int solve(solver *s, const double *g, double *delta, tc_error *err)
{
    for (size_t a = 0; a < s->p; a++)
        gsl_vector_set(s->rhs, a, g[a] * gsl_vector_get(s->d, a));
    int st = gsl_linalg_cholesky_svx(s->A, s->rhs);
    if (st != GSL_SUCCESS)
        return tc_errorf(err, TC_ENUMERIC, "solving the Newton step failed: %s", gsl_strerror(st));
    for (size_t a = 0; a < s->p; a++)
        delta[a] = gsl_vector_get(s->rhs, a) * gsl_vector_get(s->d, a);
    return TC_OK;
}

static double penalised(const tc_logit_options *o, const double *beta, size_t p, double ll)
{
    double pen = 0;
    if (o->l2 > 0)
        for (size_t a = 0; a < p; a++)
            if ((int)a != o->intercept)
                pen += beta[a] * beta[a];
    return ll - 0.5 * o->l2 * pen;
}

static void add_penalty(const tc_logit_options *o, const double *beta, size_t p, double *H,
                        double *g)
{
    if (!(o->l2 > 0))
        return;
    for (size_t a = 0; a < p; a++)
        if ((int)a != o->intercept) {
            H[a * p + a] += o->l2;
            g[a] -= o->l2 * beta[a];
        }
}

static int largest_step(const double *delta, size_t p)
{
    size_t best = 0;
    for (size_t a = 1; a < p; a++)
        if (fabs(delta[a]) > fabs(delta[best]))
            best = a;
    return (int)best;
}

static int separation_message(const tc_logit_options *o, const pass_stats *st, const double *beta,
                              const double *delta, size_t p, int iteration, tc_error *err)
{
    char b1[32];
    int j = largest_step(delta, p);
    const char *name = col_name(o, (size_t)j, b1);
    if (st->certain > 0)
        return tc_errorf(err, TC_ENUMERIC,
                         "quasi-complete separation: %zu rows are predicted with certainty and "
                         "the coefficient of '%s' keeps growing (%.3g after %d iterations); the "
                         "maximum-likelihood estimate does not exist: drop or regroup '%s', or "
                         "set an L2 penalty",
                         st->certain, name, beta[j], iteration, name);
    return tc_errorf(err, TC_ENUMERIC,
                     "no convergence in %d iterations (largest step %.3g, on '%s'); raise the "
                     "iteration limit or set an L2 penalty",
                     iteration, delta[j], name);
}

static int check_options(const double *y, const double *w, size_t n, size_t p,
                         const tc_logit_options *o, double *ybar, double *nobs, tc_error *err)
{
    if (p == 0 || p > TC_LOGIT_PARAMS_MAX)
        return tc_errorf(err, TC_EINVAL, "%zu columns: 1 to %d allowed", p, TC_LOGIT_PARAMS_MAX);
    if (!(o->l2 >= 0) || !isfinite(o->l2))
        return tc_errorf(err, TC_EINVAL, "l2 %g is not a finite number >= 0", o->l2);
    if (o->intercept >= (int)p)
        return tc_errorf(err, TC_EINVAL, "intercept column %d of %zu", o->intercept, p);
    if (o->max_iterations < 0 || o->max_iterations > TC_LOGIT_ITER_MAX)
        return tc_errorf(err, TC_EINVAL, "max_iterations %d is outside [1, %d]", o->max_iterations,
                         TC_LOGIT_ITER_MAX);
    if (!(o->tolerance >= 0 && o->tolerance < 1))
        return tc_errorf(err, TC_EINVAL, "tolerance %g is outside (0, 1)", o->tolerance);
    double sw = 0, swy = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w != NULL ? w[i] : 1.0;
        if (!(y[i] == 0 || y[i] == 1))
            return tc_errorf(err, TC_EINVAL, "row %zu: target %g is not 0 or 1", i + 1, y[i]);
        if (!(wi >= 0) || !isfinite(wi))
            return tc_errorf(err, TC_EINVAL, "row %zu: weight %g is not a finite number >= 0",
                             i + 1, wi);
        sw += wi;
        swy += wi * y[i];
    }
    if (!(sw > 0))
        return tc_errorf(err, TC_EINVAL, "no rows with a positive weight");
    if (swy <= 0 || swy >= sw)
        return tc_errorf(err, TC_EINVAL, "the target is %s in every row: nothing to fit",
                         swy <= 0 ? "0" : "1");
    *ybar = swy / sw;
    *nobs = sw;
    return TC_OK;
}

/* The fit's result at the estimate beta, from the factorised information matrix in s. */
static int fill_result(tc_logit_result *r, solver *s, const double *beta, const tc_logit_options *o,
                       const pass_stats *st, double ybar, double nobs, int iteration, tc_error *err)
{
    size_t p = s->p;
    /* Covariance: (DHD)⁻¹ scaled back. */
    if (gsl_linalg_cholesky_invert(s->A) != GSL_SUCCESS) {
        return tc_errorf(err, TC_ENUMERIC, "inverting the information matrix failed");
    }
    r->p = p;
    r->coef = malloc(p * sizeof(double));
    r->se = malloc(p * sizeof(double));
    r->z = malloc(p * sizeof(double));
    r->pvalue = malloc(p * sizeof(double));
    r->cov = gsl_matrix_alloc(p, p);
    if (r->coef == NULL || r->se == NULL || r->z == NULL || r->pvalue == NULL || r->cov == NULL) {
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b <= a; b++) {
            double v =
                gsl_matrix_get(s->A, a, b) * gsl_vector_get(s->d, a) * gsl_vector_get(s->d, b);
            gsl_matrix_set(r->cov, a, b, v);
            gsl_matrix_set(r->cov, b, a, v);
        }
    for (size_t a = 0; a < p; a++) {
        r->coef[a] = beta[a];
        r->se[a] = sqrt(gsl_matrix_get(r->cov, a, a));
        r->z[a] = beta[a] / r->se[a];
        r->pvalue[a] = 2 * gsl_cdf_ugaussian_Q(fabs(r->z[a]));
    }
    r->loglik = st->ll;
    r->loglik_null = o->intercept >= 0 ? nobs * (ybar * log(ybar) + (1 - ybar) * log1p(-ybar)) : 0;
    r->aic = -2 * r->loglik + 2 * (double)p;
    r->bic = -2 * r->loglik + (double)p * log(nobs);
    r->nobs = nobs;
    r->iterations = iteration;
    return TC_OK;
}

int tc_logit_fit(const double *X, const double *y, const double *w, size_t n, size_t p,
                 const tc_logit_options *opt, tc_logit_result **out, tc_error *err)
{
    tc_logit_options o = *opt;
    double ybar = 0, nobs = 0;
    int rc = check_options(y, w, n, p, &o, &ybar, &nobs, err);
    if (rc != TC_OK)
        return rc;
    if (o.max_iterations == 0)
        o.max_iterations = TC_LOGIT_ITER_DEFAULT;
    if (o.tolerance == 0)
        o.tolerance = TC_LOGIT_TOL_DEFAULT;
    tc_logit_result *r = calloc(1, sizeof *r);
    double *H = malloc(p * p * sizeof *H), *g = malloc(p * sizeof *g);
    double *beta = calloc(p, sizeof *beta), *trial = malloc(p * sizeof *trial);
    double *delta = calloc(p, sizeof *delta);
    solver s = {.p = p,
                .A = gsl_matrix_alloc(p, p),
                .A0 = gsl_matrix_alloc(p, p),
                .d = gsl_vector_alloc(p),
                .rhs = gsl_vector_alloc(p),
                .work = gsl_vector_alloc(3 * p)};
    if (r == NULL || H == NULL || g == NULL || beta == NULL || trial == NULL || delta == NULL ||
        s.A == NULL || s.A0 == NULL || s.d == NULL || s.rhs == NULL || s.work == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    /* Start at the intercept-only estimate: one step closer than β = 0, same estimate. */
    if (o.intercept >= 0)
        beta[o.intercept] = log(ybar / (1 - ybar));
    pass_stats st;
    pass(X, y, w, n, p, beta, H, g, &st);
    double obj = penalised(&o, beta, p, st.ll);
    int iteration = 0, converged = 0, stalled = 0;
    for (;;) {
        /* With a penalty the estimate exists even for separable data. */
        if (st.wrong == 0 && !(o.l2 > 0)) {
            char b1[32];
            int j = largest_step(beta, p);
            rc = tc_errorf(err, TC_ENUMERIC,
                           "complete separation: at iteration %d every row lies on the side of "
                           "its outcome (largest coefficient '%s' = %.3g); the "
                           "maximum-likelihood estimate does not exist: drop the separating "
                           "columns or set an L2 penalty",
                           iteration, col_name(&o, (size_t)j, b1), beta[j]);
            goto out;
        }
        add_penalty(&o, beta, p, H, g);
        size_t zero_col;
        if ((rc = factorise(&s, H, &zero_col, err)) != TC_OK) {
            char b1[32];
            if (rc != SINGULAR)
                goto out;
            /* Weights vanish where rows are predicted with certainty: separation, not the
             * design, when it happens after the start. */
            if (iteration > 0 && st.certain > 0)
                rc = separation_message(&o, &st, beta, delta, p, iteration, err);
            else if (zero_col != SIZE_MAX)
                rc = tc_errorf(err, TC_ENUMERIC,
                               "rank deficient design: '%s' is zero in every row with a "
                               "positive weight; drop it",
                               col_name(&o, zero_col, b1));
            else
                rc = rank_message(s.A0, p, &o, iteration, err);
            goto out;
        }
        if (converged)
            break; /* H is at the estimate: the covariance follows */
        if (iteration >= o.max_iterations) {
            rc = separation_message(&o, &st, beta, delta, p, iteration, err);
            goto out;
        }
        if ((rc = solve(&s, g, delta, err)) != TC_OK)
            goto out;
        iteration++;
        /* Step halving keeps the penalised likelihood from falling (it never should for a
         * logistic likelihood but near separation rounding can). */
        double prev = obj;
        pass_stats nst;
        for (int h = 0;; h++) {
            for (size_t a = 0; a < p; a++)
                trial[a] = beta[a] + delta[a];
            pass(X, y, w, n, p, trial, H, g, &nst);
            obj = penalised(&o, trial, p, nst.ll);
            if (obj >= prev - 1e-12 * fabs(prev) || h == HALVINGS_MAX)
                break;
            for (size_t a = 0; a < p; a++)
                delta[a] *= 0.5;
        }
        memcpy(beta, trial, p * sizeof *beta);
        st = nst;
        double change = 0;
        for (size_t a = 0; a < p; a++)
            change = fmax(change, fabs(delta[a]) / (1 + fabs(beta[a])));
        converged = change <= o.tolerance;
        stalled = !converged && fabs(obj - prev) <= STALL_REL * (1 + fabs(obj)) ? stalled + 1 : 0;
        /* A flat likelihood with steps at rounding level is the optimum of an ill-conditioned
         * (near-collinear) design: the tolerance asked for is below what its conditioning
         * allows. Steps of order one mean β runs away: separation. */
        if (stalled >= STALL_RUN && change <= STALL_CONVERGED) {
            converged = 1;
            continue;
        }
        if (stalled >= STALL_RUN) {
            rc = separation_message(&o, &st, beta, delta, p, iteration, err);
            goto out;
        }
    }
    if ((rc = fill_result(r, &s, beta, &o, &st, ybar, nobs, iteration, err)) != TC_OK)
        goto out;
    *out = r;
    r = NULL;
    rc = TC_OK;
out:
    tc_logit_result_free(r);
    solver_free(&s);
    free(delta);
    free(trial);
    free(beta);
    free(g);
    free(H);
    return rc;
}

void tc_logit_result_free(tc_logit_result *r)
{
    if (r == NULL)
        return;
    free(r->coef);
    free(r->se);
    free(r->z);
    free(r->pvalue);
    gsl_matrix_free(r->cov);
    free(r);
}
