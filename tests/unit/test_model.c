/* Model files: the shipped model and the fixtures load with the expected preprocessed form, and
 * every refusal the format promises comes with its exact message. */
#include <math.h>

#include <gsl/gsl_errno.h>

#include "model_fixture.h"
#include "tc_json.h"
#include "tc_model.h"
#include "tc_model_dev.h"
#include "tc_reasons.h"
#include "test_util.h"

typedef struct fx {
    tc_catalog *cat;
    tc_reasons *reasons;
} fx;

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fx *f = calloc(1, sizeof *f);
    f->cat = tu_catalog();
    f->reasons = shipped_reasons();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tc_reasons_free(f->reasons);
    tc_catalog_free(f->cat);
    free(f);
    return 0;
}

static void test_shipped_model(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    if (tc_model_load(TC_MODELS "/unsecured-consumer-v1.json", f->cat, f->reasons, &m, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(m->product, "unsecured-consumer");
    assert_int_equal(m->status, TC_STATUS_RETIRED); /* since the trained v2 */
    assert_int_equal(m->kind, TC_MODEL_SCORECARD);
    assert_int_equal(m->n_chars, 22);
    assert_int_equal(m->n_params, 23);
    /* 600 points at 50:1, PDO 20: factor = 20/ln 2, offset = 600 − factor·ln 50. */
    assert_close(m->factor, 28.853900817779268, 1e-12);
    assert_close(m->offset, 487.12287620450547, 1e-12);
    assert_int_equal(m->max_reasons, 4);
    for (size_t j = 0; j < m->n_chars; j++) {
        assert_false(m->chars[j].attr->protected_attr);
        /* Expert scorecard: every characteristic has a spread of points to lose. */
        assert_true(m->chars[j].max_points > m->chars[j].min_points);
    }
    /* The score the points reach agrees with offset − factor·η (WoE coefficient −1). */
    assert_true(m->points_min >= 300 && m->points_max <= 850);
    tc_model_free(m);
}

static void test_golden_scorecard_form(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    if (fixture_model(f->cat, f->reasons, "golden-scorecard.json", &m, &err))
        fail_msg("%s", err.msg);
    assert_close(m->factor, 10.0, 0);
    assert_close(m->offset, 60.0, 0);
    /* Reason groups in order of first use: CIC01, SI02 (salary and health insurance), MAR01. */
    assert_int_equal(m->n_reasons, 3);
    assert_string_equal(m->reasons[0].code, "CIC01");
    assert_string_equal(m->reasons[1].code, "SI02");
    assert_string_equal(m->reasons[2].code, "MAR01");
    assert_string_equal(m->reasons[1].en, "Low or no insured salary");
    assert_int_equal(m->chars[3].reason, 1);
    assert_close(m->chars[0].max_points, 40, 0);
    assert_close(m->chars[1].max_points, 35, 0);
    assert_close(m->chars[2].max_points, 30, 0);
    assert_close(m->chars[3].max_points, 25, 0);
    assert_close(m->points_min, 30, 0);  /* 5 + 0 + 15 + 10 */
    assert_close(m->points_max, 130, 0); /* 40 + 35 + 30 + 25 */
    assert_int_equal(m->chars[0].missing, TC_MISSING_BIN);
    assert_int_equal(m->chars[2].missing, TC_MISSING_NONE);
    assert_true(isinf(m->chars[0].bins[0].lower) && m->chars[0].bins[0].upper == 1);
    assert_string_equal(m->chars[0].bins[0].label, "never late");
    assert_int_equal(m->chars[1].bins[0].kind, TC_BIN_SPECIAL);
    /* The plan: ints and categories by table, the real by thresholds with its special value. */
    assert_true(m->plan.chars[0].use_table);
    assert_false(m->plan.chars[1].use_table);
    assert_int_equal(m->plan.chars[1].n_special, 1);
    assert_int_equal(m->plan.chars[1].n_thr, 4);
    assert_true(m->plan.chars[2].use_table);
    assert_int_equal(m->n_params, 5);
    assert_string_equal(m->param_names[4], "health_insurance_active");
    /* Cholesky: U = Lᵀ, UᵀU = Σ; U[0][0] = sqrt(0.04), U[0][1] = 0.005/0.2. */
    assert_close(gsl_matrix_get(m->chol_upper, 0, 0), 0.2, 1e-15);
    assert_close(gsl_matrix_get(m->chol_upper, 0, 1), 0.025, 1e-15);
    assert_close(gsl_matrix_get(m->chol_upper, 1, 0), 0.0, 0);
    assert_string_equal(tc_model_grade(m, 100)->letter, "A");
    assert_string_equal(tc_model_grade(m, 99.5)->letter, "B");
    assert_string_equal(tc_model_grade(m, 35)->letter, "C");
    tc_model_free(m);
}

static void test_golden_logistic_form(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    if (fixture_model(f->cat, f->reasons, "golden-logistic.json", &m, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(m->kind, TC_MODEL_LOGISTIC);
    assert_int_equal(m->n_params, 8);
    assert_string_equal(m->param_names[2], "pit_income_year:missing");
    assert_string_equal(m->param_names[5], "marital_status=divorced");
    /* base points = offset − factor·intercept = 60 − 10·(−3) = 90 */
    assert_close(m->base_points, 90, 0);
    /* pit_income_year: contribution −0.5·log1p(v) on [0, 100000], 0.8 when missing; the best
     * points are −10·(−0.5·log1p(100000)) = 5·log1p(100000), the worst −10·0.8 = −8. */
    assert_close(m->chars[0].max_points, 5 * log1p(100000.0), 1e-12);
    assert_close(m->chars[0].min_points, -8, 1e-12);
    /* si_months_total clipped to [0, 120], −0.01: from 0 to 12 points. */
    assert_close(m->chars[1].max_points, 12, 1e-12);
    /* marital_status: married −0.4 → 4 points, divorced +0.3 → −3, others 0. */
    assert_close(m->chars[2].max_points, 4, 1e-12);
    assert_close(m->chars[2].min_points, -3, 1e-12);
    /* electricity: −2·v on [0, 1], impute 0.9: best 20, worst 0. */
    assert_close(m->chars[3].max_points, 20, 1e-12);
    assert_int_equal(m->chars[3].missing, TC_MISSING_IMPUTE);
    assert_string_equal(m->created_at, "2025-01-15");
    tc_model_free(m);
}

typedef struct refusal {
    const char *file;
    const char *message;
} refusal;

static const refusal refusals[] = {
    {"bad-unknown-attribute.json",
     "models/bad-unknown-attribute.json: characteristics[2].attribute: 'marital_state' is not an "
     "attribute of catalog 'vn-population'"},
    {"bad-protected.json", "models/bad-protected.json: characteristics[2].attribute: 'gender' is a "
                           "protected attribute: no model may use it"},
    {"bad-type-levels-on-int.json",
     "models/bad-type-levels-on-int.json: characteristics[0].bins[0].levels: 'cic_max_dpd_12m' is "
     "an int: its bins are intervals, not levels"},
    {"bad-type-interval-on-category.json",
     "models/bad-type-interval-on-category.json: characteristics[2].bins[2].lower: "
     "'marital_status' is a category: its bins list levels"},
    {"bad-overlap.json",
     "models/bad-overlap.json: characteristics[0].bins[1].upper: 31.5 overlaps bins[2]"},
    {"bad-gap.json", "models/bad-gap.json: characteristics[0].bins[1].upper: 30 leaves a gap "
                     "before bins[2] (lower 35)"},
    {"bad-no-missing-bin.json",
     "models/bad-no-missing-bin.json: characteristics[1].bins: 'si_salary_base' may be missing, "
     "but no bin has \"missing\": true"},
    {"bad-missing-not-allowed.json",
     "models/bad-missing-not-allowed.json: characteristics[3].bins[2].missing: "
     "'health_insurance_active' is never missing, so it takes no missing bin"},
    {"bad-level-in-no-bin.json", "models/bad-level-in-no-bin.json: characteristics[2].bins: level "
                                 "'divorced' of 'marital_status' is in no bin"},
    {"bad-nonfinite.json",
     "models/bad-nonfinite.json:15:21: real number overflow near '-2e999'"},
    {"bad-cov-not-square.json", "models/bad-cov-not-square.json: covariance.matrix[3]: 4 entries, "
                                "expected 5: the matrix must be square"},
    {"bad-cov-asymmetric.json",
     "models/bad-cov-asymmetric.json: covariance.matrix[1][0]: 0.006 differs from "
     "matrix[0][1] 0.005: the matrix must be symmetric"},
    {"bad-cov-not-pd.json",
     "models/bad-cov-not-pd.json: covariance.matrix: not positive definite (Cholesky failed)"},
    {"bad-cov-parameters.json",
     "models/bad-cov-parameters.json: covariance.parameters[2]: 'marital_status', but the "
     "model's coefficient 2 is 'si_salary_base'"},
    {"bad-grades-unsorted.json",
     "models/bad-grades-unsorted.json: grades[1].min_score: 110 is not below "
     "grades[0].min_score 100: cut-offs must descend from the best grade"},
    {"bad-grades-lowest.json",
     "models/bad-grades-lowest.json: grades[2].min_score: 40 is above score_bounds.min 35: the "
     "lowest grade must cover every score"},
    {"bad-reason-code.json", "models/bad-reason-code.json: characteristics[2].reason_code: "
                             "'MAR99' is not in the reason dictionary 'tinchap-reasons'"},
    {"bad-unknown-field.json",
     "models/bad-unknown-field.json: characteristics[2]: unknown field 'weight'"},
    {"bad-points-woe.json",
     "models/bad-points-woe.json: characteristics[2].bins[2].points: 15 does not follow from "
     "coefficient x woe: the bins imply offsets from 10.00 to 20.00, more than the 1 point "
     "rounding allows"},
    {"bad-intercept.json",
     "models/bad-intercept.json: intercept: -3 gives offset - factor x intercept = 90, but the "
     "points add up to 80 (at most 2.0 apart from rounding)"},
    {"bad-duplicate-attribute.json",
     "models/bad-duplicate-attribute.json: characteristics[3].attribute: 'marital_status' is "
     "already used by characteristics[2]"},
    {"bad-special-range.json",
     "models/bad-special-range.json: characteristics[1].bins[0].special[0]: -1 is outside the "
     "range of 'si_salary_base' [0, 1000]"},
    {"bad-baseline-missing.json",
     "models/bad-baseline-missing.json: characteristics[2].baseline: reasons.method is "
     "baseline, so every characteristic needs one"},
    {"bad-count.json", "models/bad-count.json: reasons.count: 9 is outside [1, 8]"},
    {"bad-logistic-no-missing.json",
     "models/bad-logistic-no-missing.json: characteristics[3].missing: "
     "'electricity_ontime_ratio_12m' may be missing: give {\"impute\": value} or "
     "{\"indicator\": coefficient}"},
    {"bad-logistic-transform.json",
     "models/bad-logistic-transform.json: characteristics[1].transform: indicator does not "
     "apply to 'si_months_total', an int"},
    {"bad-logistic-impute.json",
     "models/bad-logistic-impute.json: characteristics[3].missing.impute: 1.5 is outside the "
     "range of 'electricity_ontime_ratio_12m' [0, 1]"},
};

static void test_refusals(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        tc_model *m = NULL;
        tc_error err = {0};
        int rc = fixture_model(f->cat, f->reasons, refusals[i].file, &m, &err);
        if (rc != TC_EMODEL)
            fail_msg("%s: expected TC_EMODEL, got %s (%s)", refusals[i].file, tc_err_name(rc),
                     err.msg);
        assert_null(m);
        assert_msg(&err, refusals[i].message);
    }
}

static void test_catalog_hash_mismatch(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    char expected[512];
    snprintf(expected, sizeof expected,
             "models/bad-catalog-hash.json: catalog_hash: the model was built for catalog "
             "0000000000000000000000000000000000000000000000000000000000000000, but catalog "
             "'vn-population' has hash %s",
             f->cat->hash_hex);
    assert_int_equal(fixture_model(f->cat, f->reasons, "bad-catalog-hash.json", &m, &err),
                     TC_EMODEL);
    assert_msg(&err, expected);
}

/* Every refusal is a copy of the golden file with one change: check the golden one loads, so the
 * refusals above are about their change and nothing else. */
static void test_fixture_base_is_valid(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    assert_int_equal(fixture_model(f->cat, f->reasons, "golden-scorecard.json", &m, &err), TC_OK);
    tc_model_free(m);
}

static void test_reasons_dictionary(void **state)
{
    (void)state;
    tc_reasons *r = shipped_reasons();
    const tc_reason_text *t = tc_reasons_find(r, "CIC01");
    assert_non_null(t);
    assert_string_equal(t->en, "Loan payments past due in the last 12 months");
    assert_null(tc_reasons_find(r, "NOPE1"));
    tc_reasons_free(r);

    static const struct {
        const char *text, *message;
    } bad[] = {
        {"{\"reasons\": \"r\", \"version\": 1, \"codes\": [{\"code\": \"A1\", \"vi\": \"x\", "
         "\"en\": \"y\"}, {\"code\": \"A1\", \"vi\": \"x\", \"en\": \"y\"}]}",
         "reasons.json: codes[1].code: 'A1' repeats codes[0]"},
        {"{\"reasons\": \"r\", \"version\": 1, \"codes\": [{\"code\": \"a1\", \"vi\": \"x\", "
         "\"en\": \"y\"}]}",
         "reasons.json: codes[0].code: 'a1' is not a reason code: an upper-case letter, then 1 to "
         "11 upper-case letters or digits"},
        {"{\"reasons\": \"r\", \"version\": 1, \"codes\": [{\"code\": \"A1\", \"vi\": \"\", "
         "\"en\": \"y\"}]}",
         "reasons.json: codes[0].vi (A1): must not be empty"},
        {"{\"reasons\": \"r\", \"version\": 1, \"codes\": [{\"code\": \"A1\", \"vi\": \"x\", "
         "\"en\": \"y\", \"fr\": \"z\"}]}",
         "reasons.json: codes[0]: unknown field 'fr'"},
        {"{\"reasons\": \"r\", \"version\": 1, \"codes\": []}",
         "reasons.json: codes: the dictionary has no codes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_error err = {0};
        tc_reasons *out = NULL;
        assert_int_equal(tc_reasons_parse(bad[i].text, strlen(bad[i].text), "reasons.json", &out,
                                          &err),
                         TC_EMODEL);
        assert_msg(&err, bad[i].message);
    }
}

/* The development distribution: the shipped v2 carries one, loaded as written; every way it
 * can be wrong is refused with its JSON path. */
static void test_development(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    if (tc_model_load(TC_MODELS "/unsecured-consumer-v2.json", f->cat, f->reasons, &m, &err))
        fail_msg("%s", err.msg);
    const tc_model_dev *d = m->dev;
    assert_non_null(d);
    assert_true(d->rows == 149657);
    assert_int_equal(d->n_score_bins, 10);
    assert_true(d->score_cuts[0] == 536 && d->score_cuts[8] == 621);
    assert_int_equal(d->n_chars, m->n_chars);
    double sum = 0;
    for (size_t g = 0; g < m->n_grades; g++)
        sum += d->grade_share[g];
    assert_close(sum, 1, 1e-4);
    assert_true(d->char_share[0][0] == 0.608852); /* cic_max_dpd_12m, its first bin */
    tc_model_free(m);
    if (tc_model_load(TC_MODELS "/unsecured-consumer-v1.json", f->cat, f->reasons, &m, &err))
        fail_msg("%s", err.msg);
    assert_null(m->dev); /* an expert model: no development sample */
    tc_model_free(m);

    static const struct {
        const char *path, *value, *message;
    } bad[] = {
        {"rows", "0", "development.rows: 0 is not a positive number of rows"},
        {"score.cuts", "[600, 550]", "development.score.cuts[1]: 550 is not above the cut before it"},
        {"score.shares", "[0.5, 0.6]", "development.score.shares: 2 numbers, expected 3"},
        {"grades", "[0.5, 0.2, 0.2, 0.05, 0.05, 0.2]", "development.grades: the shares add up to 1.2, not 1"},
        {"grades", "[1.5, -0.5, 0, 0, 0, 0]", "development.grades[0]: 1.5 is not a share in [0, 1]"},
        {"characteristics", "[]", "development.characteristics: 0 entries for 15 characteristics"},
        {"colour", "1", "development: unknown field 'colour'"},
    };
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(tc_read_file(TC_MODELS "/unsecured-consumer-v2.json", 1 << 22, TC_EMODEL,
                                  &text, &len, &err),
                     TC_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *root = json_loadb(text, len, 0, NULL), *dev = json_object_get(root, "development");
        json_t *v = json_loads(bad[i].value, JSON_DECODE_ANY, NULL);
        if (strcmp(bad[i].path, "score.cuts") == 0 || strcmp(bad[i].path, "score.shares") == 0) {
            json_t *score = json_object_get(dev, "score");
            json_object_set_new(score, "cuts", json_loads("[500, 600]", 0, NULL));
            json_object_set_new(score, "shares", json_loads("[0.3, 0.3, 0.4]", 0, NULL));
            json_object_set_new(score, bad[i].path + 6, v);
        } else {
            json_object_set_new(dev, bad[i].path, v);
        }
        char *t = json_dumps(root, 0);
        tc_model *mm = NULL;
        assert_int_equal(tc_model_parse(t, strlen(t), "v2.json", f->cat, f->reasons, &mm, &err),
                         TC_EMODEL);
        char want[512];
        snprintf(want, sizeof want, "v2.json: %s", bad[i].message);
        assert_msg(&err, want);
        free(t);
        json_decref(root);
    }
    free(text);
}

/* The layout digest: the same for a file with another status, description, covariance layout or
 * key order; another for changed bins, grades or development shares. */
static tc_model *parse_json(fx *f, json_t *root)
{
    char *t = json_dumps(root, JSON_INDENT(2));
    tc_model *m = NULL;
    tc_error err = {0};
    if (tc_model_parse(t, strlen(t), "v2.json", f->cat, f->reasons, &m, &err) != TC_OK)
        fail_msg("%s", err.msg);
    free(t);
    return m;
}

static void test_layout_digest(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(tc_read_file(TC_MODELS "/unsecured-consumer-v2.json", 1 << 22, TC_EMODEL,
                                  &text, &len, &err),
                     TC_OK);
    tc_model *base = NULL;
    assert_int_equal(tc_model_parse(text, len, "v2.json", f->cat, f->reasons, &base, &err), TC_OK);
    /* same layout: another status and description, reindented (parse_json) */
    json_t *root = json_loadb(text, len, 0, NULL);
    json_object_set_new(root, "status", json_string("challenger"));
    json_object_set_new(json_object_get(root, "description"), "en", json_string("Renamed"));
    tc_model *same = parse_json(f, root);
    assert_memory_equal(base->layout_sha256, same->layout_sha256, 32);
    tc_model_free(same);
    json_decref(root);
    /* other development shares (two deciles swapped): another layout */
    root = json_loadb(text, len, 0, NULL);
    json_t *shares = json_object_get(json_object_get(json_object_get(root, "development"), "score"),
                                     "shares");
    json_t *a = json_incref(json_array_get(shares, 0)), *b = json_incref(json_array_get(shares, 1));
    json_array_set_new(shares, 0, b);
    json_array_set_new(shares, 1, a);
    tc_model *other = parse_json(f, root);
    assert_memory_not_equal(base->layout_sha256, other->layout_sha256, 32);
    tc_model_free(other);
    json_decref(root);
    /* another grade cut-off: another layout */
    root = json_loadb(text, len, 0, NULL);
    json_t *g0 = json_array_get(json_object_get(root, "grades"), 0);
    double cut = json_number_value(json_object_get(g0, "min_score"));
    json_object_set_new(g0, "min_score", json_real(cut + 1));
    other = parse_json(f, root);
    assert_memory_not_equal(base->layout_sha256, other->layout_sha256, 32);
    tc_model_free(other);
    json_decref(root);
    tc_model_free(base);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_model),
        cmocka_unit_test(test_golden_scorecard_form),
        cmocka_unit_test(test_golden_logistic_form),
        cmocka_unit_test(test_fixture_base_is_valid),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_catalog_hash_mismatch),
        cmocka_unit_test(test_reasons_dictionary),
        cmocka_unit_test(test_development),
        cmocka_unit_test(test_layout_digest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
