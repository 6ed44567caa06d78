/* Evaluation against hand-computed results.
 *
 * tests/fixtures/models/golden-scorecard.json is built so the arithmetic stays on paper:
 * scaling 60 points at odds 1:1 with PDO 10·ln 2, so factor = 10 and offset = 60, and every
 * WoE coefficient is −1, so η = −2 − Σ WoE and score = Σ points (= 60 − 10·η up to the
 * constants). Covariance Σ over (intercept, dpd, salary, marital, health):
 *   diag(0.04, 0.01, 0.01, 0.01, 0.01) with Σ[0][1] = Σ[1][0] = 0.005, so for the design vector
 *   x = (1, w1, w2, w3, w4):  var(η) = 0.04 + 2·0.005·w1 + 0.01·(w1² + w2² + w3² + w4²).
 * Bins (points / WoE):
 *   cic_max_dpd_12m  (CIC01) [-inf,1) 40/2.0  [1,30) 25/0.5  [30,inf) 5/-1.5  missing 20/0
 *   si_salary_base   (SI02)  special 0: 10/-1.0  [-inf,10) 15/-0.5  [10,inf) 35/1.5  missing 0/-2
 *   marital_status   (MAR01) married 30/1.0  single,divorced 20/0  widowed 15/-0.5
 *   health_ins_active(SI02)  true 25/0.5  false 10/-1.0
 * Maxima 40, 35, 30, 25; score bounds [35, 125]; grades A ≥ 100, B ≥ 70, C ≥ 35.
 * Reason groups in tie-break order: CIC01, SI02, MAR01.
 */
#include <math.h>

#include <gsl/gsl_errno.h>

#include "model_fixture.h"
#include "tc_eval.h"
#include "tc_model.h"
#include "tc_record.h"
#include "test_util.h"

#define Z TC_Z95
#define REL 1e-13

typedef struct fx {
    tc_catalog *cat;
    tc_reasons *reasons;
    tc_model *card, *logit;
    tc_eval_workspace *ws;
    tc_value values[TC_CATALOG_ATTRS_MAX];
    unsigned char buf[TC_RECORD_MAX];
    tc_record rec;
} fx;

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fx *f = calloc(1, sizeof *f);
    tc_error err = {0};
    f->cat = tu_catalog();
    f->reasons = shipped_reasons();
    if (fixture_model(f->cat, f->reasons, "golden-scorecard.json", &f->card, &err) ||
        fixture_model(f->cat, f->reasons, "golden-logistic.json", &f->logit, &err) ||
        tc_eval_workspace_new(&f->ws, &err))
        fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tc_eval_workspace_free(f->ws);
    tc_model_free(f->card);
    tc_model_free(f->logit);
    tc_reasons_free(f->reasons);
    tc_catalog_free(f->cat);
    free(f);
    return 0;
}

/* Set attribute name from its text form ("" is missing); others stay missing. */
static void set(fx *f, const char *name, const char *text)
{
    int i = tc_catalog_find(f->cat, name);
    tc_error err = {0};
    assert_true(i >= 0);
    const tc_attr *a = &f->cat->attrs[i];
    if (text[0] == '\0') {
        f->values[i].present = 0;
        return;
    }
    if (tc_attr_parse(a, text, strlen(text), &f->values[i], &err) != TC_OK)
        fail_msg("%s", err.msg);
}

static void record(fx *f, const char *dpd, const char *salary, const char *marital,
                   const char *health)
{
    tc_error err = {0};
    memset(f->values, 0, sizeof f->values);
    set(f, "cic_max_dpd_12m", dpd);
    set(f, "si_salary_base", salary);
    set(f, "marital_status", marital);
    set(f, "health_insurance_active", health);
    size_t len = tc_record_encode(f->cat, f->values, 1700000000u, f->buf);
    if (tc_record_view(f->cat, f->buf, len, &f->rec, &err) != TC_OK)
        fail_msg("%s", err.msg);
}

static double logistic(double eta)
{
    return 1.0 / (1.0 + exp(-eta));
}

static void check_pd(const tc_score_result *r, double eta, double var)
{
    assert_close(r->eta, eta, REL);
    assert_close(r->pd, logistic(eta), REL);
    assert_close(r->eta_se, sqrt(var), REL);
    assert_close(r->pd_low, logistic(eta - Z * sqrt(var)), REL);
    assert_close(r->pd_high, logistic(eta + Z * sqrt(var)), REL);
    assert_true(r->pd_low < r->pd && r->pd < r->pd_high);
}

static void check_reasons(const tc_score_result *r, size_t n, const char *const codes[],
                          const double lost[])
{
    assert_int_equal(r->n_reasons, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r->reasons[i].code, codes[i]);
        assert_close(r->reasons[i].points_lost, lost[i], 0);
    }
}

static tc_score_result eval(fx *f, const tc_model *m, const tc_eval_options *opt)
{
    tc_score_result r;
    memset(&r, 0xa5, sizeof r);
    assert_int_equal(tc_model_eval(m, &f->rec, opt, f->ws, &r), TC_OK);
    return r;
}

/* Best bin everywhere: points 40 + 35 + 30 + 25 = 130, clamped to 125; no reasons.
 * w = (2, 1.5, 1, 0.5): η = −2 − 5 = −7; var = 0.04 + 0.02 + 0.01·(4 + 2.25 + 1 + 0.25) = 0.135. */
static void test_best_clamped_high(void **state)
{
    fx *f = *state;
    record(f, "0", "12.5", "married", "true");
    tc_score_result r = eval(f, f->card, NULL);
    assert_close(r.score_raw, 130, 0);
    assert_close(r.score, 125, 0);
    check_pd(&r, -7, 0.135);
    assert_string_equal(r.grade->letter, "A");
    assert_int_equal(r.n_reasons, 0);
    assert_int_equal(r.bin[0], 0);
    assert_int_equal(r.bin[1], 2);
    assert_close(r.points[3], 25, 0);
}

/* Grouping: dpd 45 → [30,inf) 5 pts (lost 35, CIC01); salary 0 → special bin 10 (lost 25, SI02);
 * single → 20 (lost 10, MAR01); no health insurance → 10 (lost 15, SI02).
 * SI02 = 25 + 15 = 40 ranks above CIC01 35 and MAR01 10.
 * w = (−1.5, −1, 0, −1): η = −2 + 3.5 = 1.5; var = 0.04 − 0.015 + 0.01·(2.25 + 1 + 0 + 1) = 0.0675.
 * Score 5 + 10 + 20 + 10 = 45: grade C. PD comes from η, not from the score. */
static void test_grouping(void **state)
{
    fx *f = *state;
    record(f, "45", "0", "single", "false");
    tc_score_result r = eval(f, f->card, NULL);
    assert_close(r.score, 45, 0);
    check_pd(&r, 1.5, 0.0675);
    assert_string_equal(r.grade->letter, "C");
    assert_int_equal(r.bin[1], 0); /* the special value wins over [-inf, 10) */
    static const char *const codes[] = {"SI02", "CIC01", "MAR01"};
    static const double lost[] = {40, 35, 10};
    check_reasons(&r, 3, codes, lost);
    assert_string_equal(r.reasons[0].en, "Low or no insured salary");
}

/* Ties: dpd 5 → [1,30) 25 (lost 15, CIC01); salary 12 → 35 (lost 0); widowed → 15 (lost 15,
 * MAR01); insured → 25 (lost 0). CIC01 and MAR01 both lose 15: the model's order puts CIC01
 * first. Characteristics that lost nothing (SI02) are not reasons.
 * w = (0.5, 1.5, −0.5, 0.5): η = −2 − 2 = −4; var = 0.04 + 0.005 + 0.01·3 = 0.075.
 * Score 25 + 35 + 15 + 25 = 100: grade A (cut-off inclusive). */
static void test_ties(void **state)
{
    fx *f = *state;
    record(f, "5", "12", "widowed", "true");
    tc_score_result r = eval(f, f->card, NULL);
    assert_close(r.score, 100, 0);
    check_pd(&r, -4, 0.075);
    assert_string_equal(r.grade->letter, "A");
    static const char *const codes[] = {"CIC01", "MAR01"};
    static const double lost[] = {15, 15};
    check_reasons(&r, 2, codes, lost);
}

/* Missing bins: no credit history → 20 (lost 20, WoE 0); no insured salary → 0 (lost 35,
 * WoE −2); divorced → 20 (lost 10); insured 25. SI02 35, CIC01 20, MAR01 10.
 * w = (0, −2, 0, 0.5): η = −2 + 2 − 0.5 = −0.5; var = 0.04 + 0.01·(4 + 0.25) = 0.0825.
 * Score 65: grade C. */
static void test_missing_bins(void **state)
{
    fx *f = *state;
    record(f, "", "", "divorced", "true");
    tc_score_result r = eval(f, f->card, NULL);
    assert_close(r.score, 65, 0);
    check_pd(&r, -0.5, 0.0825);
    assert_int_equal(r.bin[0], 3);
    assert_int_equal(r.bin[1], 3);
    static const char *const codes[] = {"SI02", "CIC01", "MAR01"};
    static const double lost[] = {35, 20, 10};
    check_reasons(&r, 3, codes, lost);
}

/* Worst case, clamped low, at most 2 reasons: 5 + 0 + 15 + 10 = 30 → 35.
 * SI02 35 + 15 = 50, CIC01 35, MAR01 15 (dropped by the limit).
 * w = (−1.5, −2, −0.5, −1): η = −2 + 5 = 3; var = 0.04 − 0.015 + 0.01·7.5 = 0.1. */
static void test_worst_clamped_low_two_reasons(void **state)
{
    fx *f = *state;
    record(f, "100", "", "widowed", "false");
    tc_eval_options opt = {.max_reasons = 2};
    tc_score_result r = eval(f, f->card, &opt);
    assert_close(r.score_raw, 30, 0);
    assert_close(r.score, 35, 0);
    check_pd(&r, 3, 0.1);
    assert_string_equal(r.grade->letter, "C");
    static const char *const codes[] = {"SI02", "CIC01"};
    static const double lost[] = {50, 35};
    check_reasons(&r, 2, codes, lost);
    opt.max_reasons = 1;
    r = eval(f, f->card, &opt);
    check_reasons(&r, 1, codes, lost);
}

/* Half-open bins: lower bounds belong to the bin, upper bounds to the next one. */
static void test_bin_edges(void **state)
{
    fx *f = *state;
    static const struct {
        const char *dpd, *salary;
        int dpd_bin, salary_bin;
    } cases[] = {
        {"0", "9.999999", 0, 1}, {"1", "10", 1, 2},      {"29", "0.000001", 1, 1},
        {"30", "1000", 2, 2},    {"3650", "0", 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        record(f, cases[i].dpd, cases[i].salary, "single", "true");
        tc_score_result r = eval(f, f->card, NULL);
        assert_int_equal(r.bin[0], cases[i].dpd_bin);
        assert_int_equal(r.bin[1], cases[i].salary_bin);
    }
}

/* Baselines (the JPMML convention): 25, 15, 20, 25. Record of test_grouping:
 * CIC01 25 − 5 = 20; SI02 (15 − 10) + (25 − 10) = 20; MAR01 20 − 20 = 0 (no reason).
 * CIC01 and SI02 tie at 20: CIC01 first. Record of test_ties: CIC01 0, salary gains
 * (15 − 35 < 0, which does not offset the group), MAR01 20 − 15 = 5. */
static void test_baseline_method(void **state)
{
    fx *f = *state;
    tc_eval_options opt = {.override_method = 1, .method = TC_REASON_BASELINE};
    record(f, "45", "0", "single", "false");
    tc_score_result r = eval(f, f->card, &opt);
    static const char *const codes1[] = {"CIC01", "SI02"};
    static const double lost1[] = {20, 20};
    check_reasons(&r, 2, codes1, lost1);
    record(f, "5", "12", "widowed", "true");
    r = eval(f, f->card, &opt);
    static const char *const codes2[] = {"MAR01"};
    static const double lost2[] = {5};
    check_reasons(&r, 1, codes2, lost2);
    /* The model without baselines refuses the method. */
    tc_score_result r2;
    assert_int_equal(tc_model_eval(f->logit, &f->rec, &opt, f->ws, &r2), TC_EINVAL);
}

static void test_bad_options(void **state)
{
    fx *f = *state;
    record(f, "0", "1", "single", "true");
    tc_score_result r;
    tc_eval_options opt = {.max_reasons = TC_REASONS_OUT_MAX + 1};
    assert_int_equal(tc_model_eval(f->card, &f->rec, &opt, f->ws, &r), TC_EINVAL);
    opt.max_reasons = TC_REASONS_OUT_MAX;
    assert_int_equal(tc_model_eval(f->card, &f->rec, &opt, f->ws, &r), TC_OK);
    opt.no_interval = 1;
    r = eval(f, f->card, &opt);
    assert_close(r.pd_low, r.pd, 0);
    assert_close(r.eta_se, 0, 0);
    /* A value missing where the model has no rule (only a corrupt record has one). */
    set(f, "marital_status", "");
    size_t len = tc_record_encode(f->cat, f->values, 0, f->buf);
    tc_record rec;
    assert_int_equal(tc_record_view(f->cat, f->buf, len, &rec, NULL), TC_OK);
    assert_int_equal(tc_model_eval(f->card, &rec, NULL, f->ws, &r), TC_ERECORD);
}

/* Logistic (golden-logistic.json): factor 10, offset 60, intercept −3, base points 90.
 * pit 99 → log1p = ln 100, contribution −0.5·ln 100 (indicator 0)
 * si_months_total 200 → clipped to 120, −0.01·120 = −1.2
 * divorced → +0.3 (married 0)
 * electricity missing → imputed 0.9, −2·0.9 = −1.8
 * postpaid → −0.25
 * η = −3 − 0.5·ln 100 − 1.2 + 0.3 − 1.8 − 0.25; points = −10·contribution each.
 * x = (1, ln 100, 0, 120, 0, 1, 0.9, 1); Σ diagonal (0.04, 0.01, 0.09, 0.0001, 0.01, 0.01, 0.25,
 * 0.01): var = 0.04 + 0.01·ln²100 + 1.44 + 0.01 + 0.25·0.81 + 0.01.
 * Lost: pit 5·log1p(100000) − 5·ln 100; months 0; marital 4 − (−3) = 7; electricity 20 − 18 = 2;
 * postpaid 0. With count 3: TAX01, MAR01, UTL01. */
static void test_logistic(void **state)
{
    fx *f = *state;
    memset(f->values, 0, sizeof f->values);
    set(f, "pit_income_year", "99");
    set(f, "si_months_total", "200");
    set(f, "marital_status", "divorced");
    set(f, "electricity_ontime_ratio_12m", "");
    set(f, "mobile_postpaid", "1");
    size_t len = tc_record_encode(f->cat, f->values, 0, f->buf);
    assert_int_equal(tc_record_view(f->cat, f->buf, len, &f->rec, NULL), TC_OK);
    tc_score_result r = eval(f, f->logit, NULL);
    double l100 = log(100.0);
    double eta = -3 + (-0.5 * log1p(99.0)) + (-1.2) + 0.3 + (-1.8) + (-0.25);
    double var = 0.04 + 0.01 * l100 * l100 + 1.44 + 0.01 + 0.25 * 0.81 + 0.01;
    check_pd(&r, eta, var);
    assert_close(r.points[0], 5 * l100, REL);
    assert_close(r.points[1], 12, REL);
    assert_close(r.points[2], -3, REL);
    assert_close(r.points[3], 18, REL);
    assert_close(r.points[4], 2.5, REL);
    assert_close(r.score_raw, 90 + 5 * l100 + 12 - 3 + 18 + 2.5, REL);
    assert_close(r.score, r.score_raw, 0);
    assert_close(r.score, 60 - 10 * eta, 1e-12); /* the points and the PD agree exactly */
    assert_int_equal(r.bin[0], -1);
    static const char *const codes[] = {"TAX01", "MAR01", "UTL01"};
    double lost[] = {5 * log1p(100000.0) - 5 * l100, 7, 2};
    assert_int_equal(r.n_reasons, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(r.reasons[i].code, codes[i]);
        assert_close(r.reasons[i].points_lost, lost[i], 1e-12);
    }
    /* Missing income: indicator 1 (+0.8), points −8; x = (1, 0, 1, ...) adds 0.09. */
    set(f, "pit_income_year", "");
    len = tc_record_encode(f->cat, f->values, 0, f->buf);
    assert_int_equal(tc_record_view(f->cat, f->buf, len, &f->rec, NULL), TC_OK);
    r = eval(f, f->logit, NULL);
    eta = -3 + 0.8 + (-1.2) + 0.3 + (-1.8) + (-0.25);
    var = 0.04 + 0.09 + 1.44 + 0.01 + 0.25 * 0.81 + 0.01;
    check_pd(&r, eta, var);
    assert_close(r.points[0], -8, REL);
}

/* The shipped model: consistent on records drawn at random — reasons sorted, only losses, the
 * score inside the bounds, PD inside its interval, score and η telling the same story. */
static void test_shipped_model_invariants(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    if (tc_model_load(TC_MODELS "/unsecured-consumer-v1.json", f->cat, f->reasons, &m, &err))
        fail_msg("%s", err.msg);
    unsigned seed = 12345;
    for (int n = 0; n < 2000; n++) {
        for (size_t i = 0; i < f->cat->n_attrs; i++) {
            const tc_attr *a = &f->cat->attrs[i];
            seed = seed * 1103515245u + 12345u;
            double u = (double)((seed >> 8) & 0xffff) / 65536.0;
            f->values[i].present = !(a->missing_allowed && u < 0.1);
            double v = a->min + (a->max - a->min) * u * u * u;
            f->values[i].v = a->type == TC_ATTR_REAL ? v : floor(v);
        }
        size_t len = tc_record_encode(f->cat, f->values, 0, f->buf);
        assert_int_equal(tc_record_view(f->cat, f->buf, len, &f->rec, NULL), TC_OK);
        tc_score_result r = eval(f, m, NULL);
        assert_true(r.score >= 300 && r.score <= 850);
        assert_true(r.pd_low <= r.pd && r.pd <= r.pd_high);
        assert_true(r.n_reasons <= 4);
        for (size_t i = 0; i + 1 < r.n_reasons; i++)
            assert_true(r.reasons[i].points_lost > r.reasons[i + 1].points_lost ||
                        (r.reasons[i].points_lost == r.reasons[i + 1].points_lost &&
                         r.reasons[i].group < r.reasons[i + 1].group));
        for (size_t i = 0; i < r.n_reasons; i++)
            assert_true(r.reasons[i].points_lost > 0);
        /* WoE coefficient −1 and neutral constants: the score is offset − factor·η. */
        assert_close(r.score_raw, tc_model_score_of_eta(m, r.eta), 1e-9);
    }
    tc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_clamped_high),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_missing_bins),
        cmocka_unit_test(test_worst_clamped_low_two_reasons),
        cmocka_unit_test(test_bin_edges),
        cmocka_unit_test(test_baseline_method),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_logistic),
        cmocka_unit_test(test_shipped_model_invariants),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
