/* Validation statistics on data small enough to count by hand: AUC with ties, KS, Brier,
 * Hosmer–Lemeshow groups, PSI with its floor, PSI cut points. The comparison with scikit-learn
 * and scipy on large samples is tests/python/metrics_vs_sklearn.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "model_fixture.h"
#include "tc_perf.h"
#include "test_util.h"

#define REL 1e-14

static void test_auc_ks_brier(void **state)
{
    (void)state;
    /* events at 0.2 (tied with a non-event) and 0.4; non-events at 0.1, 0.2, 0.3:
     * AUC = (1 + ½ + 0 + 3) / 6 = 0.75; after 0.3 the CDFs are ½ and 1: KS ½ */
    static const double risk[] = {0.1, 0.2, 0.2, 0.3, 0.4}, y[] = {0, 0, 1, 0, 1};
    tc_perf m;
    tc_error err = {0};
    assert_int_equal(tc_perf_compute(risk, y, NULL, 5, &m, &err), TC_OK);
    assert_close(m.auc, 0.75, REL);
    assert_close(m.gini, 0.5, REL);
    assert_close(m.ks, 0.5, REL);
    assert_true(m.ks_at == 0.3);
    assert_close(m.brier, (0.01 + 0.04 + 0.64 + 0.09 + 0.36) / 5, REL);
    assert_true(m.n == 5 && m.events == 2 && m.rows == 5);
    /* ROC from (0,0) to (1,1) */
    assert_true(m.roc_fpr[0] == 0 && m.roc_tpr[0] == 0);
    assert_true(m.roc_fpr[m.n_roc - 1] == 1 && m.roc_tpr[m.n_roc - 1] == 1);
    /* weight 2 on a row is that row twice */
    static const double w[] = {1, 2, 1, 1, 1};
    static const double r2[] = {0.1, 0.2, 0.2, 0.2, 0.3, 0.4}, y2[] = {0, 0, 0, 1, 0, 1};
    tc_perf a, b;
    assert_int_equal(tc_perf_compute(risk, y, w, 5, &a, &err), TC_OK);
    assert_int_equal(tc_perf_compute(r2, y2, NULL, 6, &b, &err), TC_OK);
    assert_close(a.auc, b.auc, REL);
    assert_close(a.ks, b.ks, REL);
    assert_close(a.brier, b.brier, REL);
    assert_close(a.auc, (1 + 1 + 0 + 4) / 8.0, REL);
}

/* Twenty rows, ten groups of two by PD: C = Σ (O − E)² / (E·(1 − E/n)). */
static void test_hosmer_lemeshow(void **state)
{
    (void)state;
    double pd[20], y[20];
    for (int i = 0; i < 20; i++) {
        pd[i] = 0.02 + 0.04 * i;
        y[i] = (i % 3 == 0) || i > 16;
    }
    tc_perf m;
    tc_error err = {0};
    assert_int_equal(tc_perf_compute(pd, y, NULL, 20, &m, &err), TC_OK);
    double c = 0;
    for (int g = 0; g < 10; g++) {
        double o = y[2 * g] + y[2 * g + 1], e = pd[2 * g] + pd[2 * g + 1];
        c += (o - e) * (o - e) / (e * (1 - e / 2));
        assert_close(m.groups[g].expected, e, REL);
        assert_true(m.groups[g].events == o && m.groups[g].n == 2);
    }
    assert_int_equal(m.n_groups, 10);
    assert_int_equal(m.hl_df, 8);
    assert_close(m.hl_stat, c, 1e-13);
    assert_close(m.hl_p, gsl_cdf_chisq_Q(c, 8), 1e-13);
}

static void test_psi(void **state)
{
    (void)state;
    static const double e[] = {50, 50}, a[] = {60, 40};
    assert_close(tc_psi(e, a, 2), 0.1 * log(1.2) + 0.1 * log(1.25), REL);
    /* an empty bin counts as a share of 1e-4 */
    static const double e2[] = {100, 0}, a2[] = {90, 10};
    assert_close(tc_psi(e2, a2, 2), -0.1 * log(0.9) + (0.1 - 1e-4) * log(0.1 / 1e-4), REL);
    assert_true(tc_psi(e, e, 2) == 0);
    assert_string_equal(tc_psi_band(0.0999), "stable");
    assert_string_equal(tc_psi_band(0.1), "watch");
    assert_string_equal(tc_psi_band(0.25), "watch");
    assert_string_equal(tc_psi_band(0.2501), "act");
    double v[100], cuts[TC_PSI_BINS_MAX];
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i; /* unsorted on purpose */
    tc_error err = {0};
    assert_int_equal(tc_psi_cuts(v, 100, 10, cuts, &err), 9);
    for (int i = 0; i < 9; i++)
        assert_true(cuts[i] == 11 + 10 * i);
    assert_int_equal(tc_psi_bin(cuts, 9, 10), 0);
    assert_int_equal(tc_psi_bin(cuts, 9, 11), 1);
    assert_int_equal(tc_psi_bin(cuts, 9, 100), 9);
    /* a heavy value makes fewer, distinct cuts */
    for (int i = 0; i < 100; i++)
        v[i] = i < 70 ? 5 : i;
    size_t k = tc_psi_cuts(v, 100, 10, cuts, &err);
    assert_int_equal(k, 3);
    assert_true(cuts[0] == 70 && cuts[1] == 80 && cuts[2] == 90);
}

static void test_refusals(void **state)
{
    (void)state;
    static const double risk[] = {0.1, 0.2}, y0[] = {0, 0}, y2[] = {0, 2};
    tc_perf m;
    tc_error err = {0};
    assert_int_equal(tc_perf_compute(risk, y0, NULL, 2, &m, &err), TC_EINVAL);
    assert_msg(&err, "2 rows with no events: AUC and KS need both outcomes");
    assert_int_equal(tc_perf_compute(risk, y2, NULL, 2, &m, &err), TC_EINVAL);
    assert_msg(&err, "row 2: target 2, weight 1, risk 0.2: need a 0/1 target, a finite weight "
                     ">= 0 and a finite risk");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_ks_brier),
        cmocka_unit_test(test_hosmer_lemeshow),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
