/* Logistic regression by IRLS: a design whose maximum-likelihood estimate has a closed form,
 * frequency weights, the ridge penalty's stationarity condition, and every refusal
 * (separation, rank deficiency, a constant target) with its exact message. The comparison with
 * statsmodels on larger data sets is tests/python/logit_vs_statsmodels.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "model_fixture.h"
#include "tc_logit.h"
#include "test_util.h"

#define REL 1e-10

typedef struct design {
    double X[4000 * 3];
    double y[4000];
    double w[4000];
    size_t n, p;
} design;

static void row(design *d, double y, double x1, double x2)
{
    double *x = d->X + d->n * d->p;
    x[0] = 1;
    if (d->p > 1)
        x[1] = x1;
    if (d->p > 2)
        x[2] = x2;
    d->y[d->n] = y;
    d->w[d->n] = 1;
    d->n++;
}

static int setup(void **state)
{
    (void)state;
    gsl_set_error_handler_off();
    return 0;
}

/* One binary regressor: group 0 has 1000 rows with 100 events, group 1 500 rows with 150. The
 * MLE reproduces each group's rate: β0 = logit(0.1), β1 = logit(0.3) − logit(0.1); the inverse
 * information gives var β0 = 1/(n0·p0·q0), var β1 = 1/(n0·p0·q0) + 1/(n1·p1·q1),
 * cov = −1/(n0·p0·q0). */
static void test_closed_form(void **state)
{
    (void)state;
    static design d = {.p = 2};
    for (int i = 0; i < 1000; i++)
        row(&d, i < 100, 0, 0);
    for (int i = 0; i < 500; i++)
        row(&d, i < 150, 1, 0);
    static const char *const names[] = {"intercept", "x"};
    tc_logit_options o = {.intercept = 0, .names = names};
    tc_logit_result *r = NULL;
    tc_error err = {0};
    if (tc_logit_fit(d.X, d.y, NULL, d.n, d.p, &o, &r, &err) != TC_OK)
        fail_msg("%s", err.msg);
    double b0 = log(0.1 / 0.9), b1 = log(0.3 / 0.7) - b0;
    double v0 = 1 / (1000 * 0.1 * 0.9), v1 = v0 + 1 / (500 * 0.3 * 0.7);
    assert_close(r->coef[0], b0, REL);
    assert_close(r->coef[1], b1, REL);
    assert_close(gsl_matrix_get(r->cov, 0, 0), v0, REL);
    assert_close(gsl_matrix_get(r->cov, 1, 1), v1, REL);
    assert_close(gsl_matrix_get(r->cov, 0, 1), -v0, REL);
    assert_true(gsl_matrix_get(r->cov, 0, 1) == gsl_matrix_get(r->cov, 1, 0));
    assert_close(r->se[1], sqrt(v1), REL);
    assert_close(r->z[1], b1 / sqrt(v1), REL);
    double ll = 100 * log(0.1) + 900 * log(0.9) + 150 * log(0.3) + 350 * log(0.7);
    assert_close(r->loglik, ll, REL);
    double ybar = 250.0 / 1500;
    assert_close(r->loglik_null, 250 * log(ybar) + 1250 * log(1 - ybar), REL);
    assert_close(r->aic, -2 * ll + 4, REL);
    assert_close(r->bic, -2 * ll + 2 * log(1500), REL);
    assert_true(r->nobs == 1500);
    assert_true(r->iterations >= 2 && r->iterations <= 10);
    tc_logit_result_free(r);
}

/* A row of weight 2 is two rows. */
static void test_frequency_weights(void **state)
{
    (void)state;
    static design a = {.p = 3}, b = {.p = 3};
    unsigned s = 12345;
    for (int i = 0; i < 600; i++) {
        s = s * 1103515245u + 12345u;
        double x1 = (double)(s >> 8 & 1023) / 512 - 1;
        s = s * 1103515245u + 12345u;
        double x2 = (double)(s >> 8 & 1023) / 256;
        s = s * 1103515245u + 12345u;
        double u = (double)(s >> 8 & 0xffff) / 65536;
        double y = u < 1 / (1 + exp(-(-1 + 0.8 * x1 - 0.3 * x2)));
        row(&a, y, x1, x2);
        a.w[a.n - 1] = i % 4 == 0 ? 2 : 1;
        for (int k = 0; k < (i % 4 == 0 ? 2 : 1); k++)
            row(&b, y, x1, x2);
    }
    tc_logit_options o = {.intercept = 0};
    tc_logit_result *ra = NULL, *rb = NULL;
    tc_error err = {0};
    if (tc_logit_fit(a.X, a.y, a.w, a.n, a.p, &o, &ra, &err) != TC_OK ||
        tc_logit_fit(b.X, b.y, NULL, b.n, b.p, &o, &rb, &err) != TC_OK)
        fail_msg("%s", err.msg);
    for (size_t j = 0; j < 3; j++) {
        assert_close(ra->coef[j], rb->coef[j], 1e-12);
        assert_close(ra->se[j], rb->se[j], 1e-12);
    }
    assert_close(ra->loglik, rb->loglik, 1e-12);
    assert_true(ra->nobs == rb->nobs);
    tc_logit_result_free(ra);
    tc_logit_result_free(rb);
}

/* With λ > 0 the estimate solves Xᵀ(y − μ) = λβ′ (the intercept unpenalised), and the
 * covariance is (XᵀWX + λI′)⁻¹. */
static void test_l2(void **state)
{
    (void)state;
    static design d = {.p = 3};
    for (int i = 0; i < 400; i++) {
        double x1 = (i % 20) / 10.0 - 1, x2 = (i % 7) - 3;
        row(&d, (i * 7919) % 10 < (x1 > 0 ? 3 : 1), x1, x2);
    }
    double lambda = 5;
    tc_logit_options o = {.intercept = 0, .l2 = lambda};
    tc_logit_result *r = NULL;
    tc_error err = {0};
    if (tc_logit_fit(d.X, d.y, NULL, d.n, d.p, &o, &r, &err) != TC_OK)
        fail_msg("%s", err.msg);
    double g[3] = {0, 0, 0}, H[3][3] = {{0}};
    for (size_t i = 0; i < d.n; i++) {
        const double *x = d.X + i * 3;
        double eta = x[0] * r->coef[0] + x[1] * r->coef[1] + x[2] * r->coef[2];
        double mu = 1 / (1 + exp(-eta));
        for (int a = 0; a < 3; a++) {
            g[a] += (d.y[i] - mu) * x[a];
            for (int b = 0; b < 3; b++)
                H[a][b] += mu * (1 - mu) * x[a] * x[b];
        }
    }
    assert_true(fabs(g[0]) < 1e-8);
    assert_true(fabs(g[1] - lambda * r->coef[1]) < 1e-8);
    assert_true(fabs(g[2] - lambda * r->coef[2]) < 1e-8);
    /* (H + λI′)·cov = I */
    H[1][1] += lambda;
    H[2][2] += lambda;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += H[a][k] * gsl_matrix_get(r->cov, (size_t)k, (size_t)b);
            assert_true(fabs(s - (a == b)) < 1e-8);
        }
    tc_logit_result_free(r);
}

static void expect_refusal(const design *d, const char *const *names, double l2,
                           const char *message)
{
    tc_logit_options o = {.intercept = 0, .names = names, .l2 = l2};
    tc_logit_result *r = NULL;
    tc_error err = {0};
    assert_int_equal(tc_logit_fit(d->X, d->y, NULL, d->n, d->p, &o, &r, &err), TC_ENUMERIC);
    assert_null(r);
    assert_msg(&err, message);
}

static void test_complete_separation(void **state)
{
    (void)state;
    static design d = {.p = 2};
    for (int i = -10; i <= 10; i++)
        if (i != 0)
            row(&d, i > 0, i / 10.0, 0);
    static const char *const names[] = {"intercept", "x"};
    expect_refusal(&d, names, 0,
                   "complete separation: at iteration 1 every row lies on the side of its "
                   "outcome (largest coefficient 'x' = 2.86); the maximum-likelihood estimate "
                   "does not exist: drop the separating columns or set an L2 penalty");
    /* the penalised estimate exists */
    tc_logit_options o = {.intercept = 0, .names = names, .l2 = 1};
    tc_logit_result *r = NULL;
    tc_error err = {0};
    assert_int_equal(tc_logit_fit(d.X, d.y, NULL, d.n, d.p, &o, &r, &err), TC_OK);
    assert_true(r->coef[1] > 0);
    tc_logit_result_free(r);
}

static void test_quasi_separation(void **state)
{
    (void)state;
    static design d = {.p = 2};
    for (int i = 0; i < 50; i++)
        row(&d, i < 10, 0, 0);
    for (int i = 0; i < 20; i++)
        row(&d, 1, 1, 0); /* x = 1: always an event */
    static const char *const names[] = {"intercept", "owns_boat"};
    expect_refusal(&d, names, 0,
                   "quasi-complete separation: 20 rows are predicted with certainty and the "
                   "coefficient of 'owns_boat' keeps growing (31.6 after 29 iterations); the "
                   "maximum-likelihood estimate does not exist: drop or regroup 'owns_boat', or "
                   "set an L2 penalty");
}

static void test_rank_deficiency(void **state)
{
    (void)state;
    static design d = {.p = 3};
    for (int i = 0; i < 200; i++)
        row(&d, i % 5 == 0, i % 13, 2.0 * (i % 13) + 1);
    static const char *const names[] = {"intercept", "months", "days"};
    expect_refusal(&d, names, 0,
                   "rank deficient design (rank 2 of 3): 'days' is a linear combination of "
                   "'intercept', 'months'; drop one of them");
    memset(&d, 0, sizeof d);
    d.p = 3;
    for (int i = 0; i < 200; i++)
        row(&d, i % 5 == 0, 3, i % 13);
    static const char *const names2[] = {"intercept", "always_three", "months"};
    expect_refusal(&d, names2, 0,
                   "rank deficient design (rank 2 of 3): 'always_three' is a linear combination "
                   "of 'intercept'; drop one of them");
    memset(&d, 0, sizeof d);
    d.p = 3;
    for (int i = 0; i < 200; i++)
        row(&d, i % 5 == 0, i % 13, 0);
    static const char *const names3[] = {"intercept", "months", "zero"};
    expect_refusal(&d, names3, 0,
                   "rank deficient design: 'zero' is zero in every row with a positive weight; "
                   "drop it");
}

static void test_bad_input(void **state)
{
    (void)state;
    static design d = {.p = 2};
    for (int i = 0; i < 10; i++)
        row(&d, 0, i, 0);
    tc_logit_options o = {.intercept = 0};
    tc_logit_result *r = NULL;
    tc_error err = {0};
    assert_int_equal(tc_logit_fit(d.X, d.y, NULL, d.n, d.p, &o, &r, &err), TC_EINVAL);
    assert_msg(&err, "the target is 0 in every row: nothing to fit");
    d.y[3] = 2;
    assert_int_equal(tc_logit_fit(d.X, d.y, NULL, d.n, d.p, &o, &r, &err), TC_EINVAL);
    assert_msg(&err, "row 4: target 2 is not 0 or 1");
    o.l2 = -1;
    assert_int_equal(tc_logit_fit(d.X, d.y, NULL, d.n, d.p, &o, &r, &err), TC_EINVAL);
    assert_msg(&err, "l2 -1 is not a finite number >= 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_form),
        cmocka_unit_test(test_frequency_weights),
        cmocka_unit_test(test_l2),
        cmocka_unit_test(test_complete_separation),
        cmocka_unit_test(test_quasi_separation),
        cmocka_unit_test(test_rank_deficiency),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
