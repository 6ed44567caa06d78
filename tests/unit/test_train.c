/* Training end to end in the library: a small data set drawn here, a spec, the model text
 * loaded by the engine and evaluated on records exactly like the trainer's own figures;
 * determinism; the logistic kind; a research catalog's hash; selection's reasons; and every
 * refusal of a spec with its exact message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

#include "model_fixture.h"
#include "tc_eval.h"
#include "tc_record.h"
#include "tc_train.h"
#include "test_util.h"

#define ROWS 20000

static const char base_spec[] =
    "{\"format_version\": 1, \"kind\": \"scorecard\","
    " \"model\": {\"name\": \"unit-card\", \"version\": 3, \"product\": \"unit-test\","
    "   \"status\": \"challenger\", \"created_at\": \"2026-01-01\","
    "   \"description\": {\"vi\": \"Thử\", \"en\": \"Test\"}},"
    " \"data\": {\"target\": \"bad\", \"date\": \"day\"},"
    " \"split\": {\"method\": \"random\", \"validation_share\": 0.3, \"seed\": 7},"
    " \"grades\": [{\"grade\": \"A\", \"min_score\": 600, \"vi\": \"Tốt\", \"en\": \"Good\"},"
    "              {\"grade\": \"B\", \"min_score\": 300, \"vi\": \"Kém\", \"en\": \"Poor\"}],"
    " \"attributes\": ["
    "   {\"name\": \"cic_max_dpd_12m\", \"reason_code\": \"CIC01\", \"trend\": \"descending\"},"
    "   {\"name\": \"mobile_postpaid\", \"reason_code\": \"TEL01\"},"
    "   {\"name\": \"marital_status\", \"reason_code\": \"MAR01\"},"
    "   {\"name\": \"si_salary_base\", \"reason_code\": \"SI02\", \"trend\": \"ascending\"},"
    "   {\"name\": \"si_months_total\", \"reason_code\": \"SI01\"},"
    "   {\"name\": \"meritorious_person\", \"reason_code\": \"SOC01\"}]}";

static const char *const attrs[] = {"cic_max_dpd_12m", "mobile_postpaid", "marital_status",
                                    "si_salary_base",  "si_months_total", "meritorious_person"};

typedef struct fx {
    tc_catalog *cat;
    tc_reasons *reasons;
    tc_dataset *ds;
} fx;

static double logistic(double x)
{
    return 1 / (1 + exp(-x));
}

/* A latent creditworthiness z drives the attributes and the outcome, as in tinchap synth;
 * si_months_total is a near copy of the salary (so their WoE are correlated) and
 * meritorious_person is noise (so its IV is tiny). */
static tc_dataset *draw(const tc_catalog *cat, unsigned long seed)
{
    size_t idx[6];
    for (size_t j = 0; j < 6; j++)
        idx[j] = (size_t)tc_catalog_find(cat, attrs[j]);
    tc_dataset *ds = NULL;
    tc_error err = {0};
    if (tc_dataset_new(cat, idx, 6, TC_DATASET_TARGET | TC_DATASET_DATE, &ds, &err) != TC_OK)
        fail_msg("%s", err.msg);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (size_t i = 0; i < ROWS; i++) {
        double z = gsl_ran_gaussian(r, 1);
        tc_value v[6];
        int thin = gsl_rng_uniform(r) < 0.25, late = 0;
        v[0] = (tc_value){0, !thin};
        if (!thin && gsl_rng_uniform(r) < logistic(-1.7 - 1.3 * z)) {
            double dpd = ceil(12 * exp(-0.5 * z + gsl_ran_gaussian(r, 1)));
            v[0].v = dpd > 720 ? 720 : dpd;
            late = v[0].v >= 30;
        }
        v[1] = (tc_value){gsl_rng_uniform(r) < logistic(-2 + 0.9 * z), 1};
        v[2] = (tc_value){(double)gsl_rng_uniform_int(r, 4), 1};
        int insured = gsl_rng_uniform(r) < logistic(0.5 + z);
        double salary = round(100 * fmax(3.45, 6 * exp(0.3 * z + 0.3 * gsl_ran_gaussian(r, 1))));
        v[3] = (tc_value){insured ? salary / 100 : 0, insured};
        v[4] = (tc_value){insured ? fmin(600, round(salary / 20)) : 0, 1};
        v[5] = (tc_value){gsl_rng_uniform(r) < 0.15, 1};
        double y = gsl_rng_uniform(r) < logistic(-3 - 1.1 * z + 0.5 * late + 0.25 * thin);
        if (tc_dataset_push(ds, v, y, 1, (int32_t)(20000 + i % 700), (long)i + 2, &err) != TC_OK)
            fail_msg("%s", err.msg);
    }
    gsl_rng_free(r);
    return ds;
}

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fx *f = calloc(1, sizeof *f);
    f->cat = tu_catalog();
    f->reasons = shipped_reasons();
    f->ds = draw(f->cat, 42);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tc_dataset_free(f->ds);
    tc_reasons_free(f->reasons);
    tc_catalog_free(f->cat);
    free(f);
    return 0;
}

static tc_train_spec *spec_of(const fx *f, const char *text)
{
    tc_train_spec *s = NULL;
    tc_error err = {0};
    if (tc_train_spec_parse(text, strlen(text), "spec.json", f->cat, f->reasons, &s, &err) != TC_OK)
        fail_msg("%s", err.msg);
    return s;
}

static tc_train_result *train(const fx *f, const tc_train_spec *s, int kind, const tc_dataset *ds)
{
    tc_train_options o = {.kind = kind,
                          .reasons = f->reasons,
                          .fingerprint = "sha256:0000000000000000000000000000000000000000000000"
                                         "000000000000000000"};
    tc_train_result *r = NULL;
    tc_error err = {0};
    if (tc_train_run(s, ds, &o, &r, &err) != TC_OK)
        fail_msg("%s", err.msg);
    return r;
}

/* Score every k-th row the way the server does (a record through tc_model_eval) and compare
 * with the trainer's η and score. */
static void engine_agrees(const fx *f, const tc_train_result *r, const tc_model *m)
{
    tc_eval_workspace *ws = NULL;
    tc_error err = {0};
    unsigned char buf[TC_RECORD_MAX];
    if (tc_eval_workspace_new(&ws, &err) != TC_OK)
        fail_msg("%s", err.msg);
    const tc_dataset *ds = r->data;
    for (size_t i = 0; i < ds->n_rows; i += 7) {
        tc_value values[TC_CATALOG_ATTRS_MAX];
        memset(values, 0, sizeof values);
        for (size_t j = 0; j < ds->n_cols; j++)
            values[ds->cols[j].attr_index] = (tc_value){ds->cols[j].v[i], !ds->cols[j].missing[i]};
        tc_record rec;
        size_t len = tc_record_encode(f->cat, values, 0, buf);
        assert_int_equal(tc_record_view(f->cat, buf, len, &rec, &err), TC_OK);
        tc_score_result res;
        assert_int_equal(tc_model_eval(m, &rec, NULL, ws, &res), TC_OK);
        assert_true(res.eta == r->eta[i]);
        assert_true(res.score == r->score[i]);
        assert_true(res.pd == r->pd[i]);
        assert_true(res.pd_low < res.pd && res.pd < res.pd_high);
    }
    tc_eval_workspace_free(ws);
}

static void test_scorecard(void **state)
{
    fx *f = *state;
    tc_train_spec *s = spec_of(f, base_spec);
    tc_train_result *r = train(f, s, -1, f->ds);
    /* Written out, the text is a model file the engine loads unchanged. */
    char *dir = strdup(tu_tempdir()), path[1024];
    snprintf(path, sizeof path, "%s/unit-card.json", dir);
    tu_write(path, r->model_json);
    tc_model *m = NULL;
    tc_error err = {0};
    if (tc_model_load(path, f->cat, f->reasons, &m, &err) != TC_OK)
        fail_msg("%s", err.msg);
    tu_rmtree(dir);
    free(dir);
    assert_int_equal(m->kind, TC_MODEL_SCORECARD);
    assert_int_equal(m->status, TC_STATUS_CHALLENGER);
    assert_string_equal(m->name, "unit-card");
    assert_string_equal(m->created_at, "2026-01-01");
    assert_string_equal(m->catalog->hash_hex, f->cat->hash_hex);
    assert_true(m->n_chars >= 3);
    /* Selection: the noise attribute is too weak, the salary's near copy is correlated. */
    assert_int_equal(r->chars[5].status, TC_CHAR_LOW_IV);
    assert_true(strncmp(r->chars[5].why, "IV 0.00", 7) == 0);
    assert_int_equal(r->chars[4].status, TC_CHAR_CORRELATED);
    assert_true(strstr(r->chars[4].why, "with 'si_salary_base'") != NULL);
    assert_int_equal(r->chars[0].status, TC_CHAR_SELECTED);
    assert_int_equal(r->chars[0].bin.trend_used, TC_TREND_DESCENDING);
    /* the missing bin the catalog requires is there, last */
    const tc_characteristic *dpd = &m->chars[tc_model_find_char(m, "cic_max_dpd_12m")];
    assert_int_equal(dpd->bins[dpd->n_bins - 1].kind, TC_BIN_MISSING);
    assert_true(dpd->coefficient < 0);
    /* the split and the figures */
    assert_int_equal(r->n_dev + r->n_val, ROWS);
    assert_true(r->n_val > 5500 && r->n_val < 6500);
    assert_true(r->has_validation);
    assert_true(r->val.auc > 0.7 && r->val.auc < 0.9);
    assert_true(r->check_rows > 1000);
    engine_agrees(f, r, m);
    tc_model_free(m);
    /* Same data and spec: the same bytes. */
    tc_train_result *again = train(f, s, -1, f->ds);
    assert_int_equal(again->model_len, r->model_len);
    assert_memory_equal(again->model_json, r->model_json, r->model_len);
    tc_train_result_free(again);
    tc_train_result_free(r);
    tc_train_spec_free(s);
}

static void test_logistic(void **state)
{
    fx *f = *state;
    tc_train_spec *s = spec_of(f, base_spec);
    tc_train_result *r = train(f, s, TC_MODEL_LOGISTIC, f->ds);
    tc_model *m = NULL;
    tc_error err = {0};
    if (tc_model_parse(r->model_json, r->model_len, "unit-logit.json", f->cat, f->reasons, &m,
                       &err) != TC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(m->kind, TC_MODEL_LOGISTIC);
    assert_int_equal(m->n_chars, 6);
    /* marital_status: indicators of every level but the most frequent */
    const tc_characteristic *ms = &m->chars[tc_model_find_char(m, "marital_status")];
    assert_int_equal(ms->transform, TC_TRANSFORM_INDICATOR);
    assert_int_equal(ms->n_levels, 3);
    assert_int_equal(m->chars[0].missing, TC_MISSING_INDICATOR);
    assert_string_equal(m->param_names[2], "cic_max_dpd_12m:missing");
    engine_agrees(f, r, m);
    tc_model_free(m);
    tc_train_result_free(r);
    tc_train_spec_free(s);
}

/* A data set described by its own catalog: the model carries that catalog's hash, and the
 * population catalog refuses it. */
static void test_research_catalog(void **state)
{
    fx *f = *state;
    static const char cat_text[] =
        "{\"catalog\": \"research-set\", \"version\": 1, \"description\": {\"vi\": \"Dữ liệu\","
        " \"en\": \"Data\"}, \"attributes\": ["
        " {\"name\": \"income\", \"type\": \"real\", \"min\": 0, \"max\": 1000000,"
        "  \"missing\": false, \"protected\": false, \"source\": \"survey\","
        "  \"description\": {\"vi\": \"a\", \"en\": \"a\"}},"
        " {\"name\": \"late_payments\", \"type\": \"int\", \"min\": 0, \"max\": 100,"
        "  \"missing\": true, \"protected\": false, \"source\": \"survey\","
        "  \"description\": {\"vi\": \"b\", \"en\": \"b\"}}]}";
    tc_catalog *cat = NULL;
    tc_error err = {0};
    if (tc_catalog_parse(cat_text, strlen(cat_text), "research.json", &cat, &err) != TC_OK)
        fail_msg("%s", err.msg);
    size_t idx[2] = {0, 1};
    tc_dataset *ds = NULL;
    assert_int_equal(tc_dataset_new(cat, idx, 2, TC_DATASET_TARGET, &ds, &err), TC_OK);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int i = 0; i < 5000; i++) {
        double z = gsl_ran_gaussian(rng, 1);
        tc_value v[2] = {{round(1000 * exp(0.5 * z)), 1},
                         {fmin(100, floor(3 * gsl_rng_uniform(rng) * exp(-z))), i % 10 != 0}};
        double y = gsl_rng_uniform(rng) < logistic(-2.5 - z);
        assert_int_equal(tc_dataset_push(ds, v, y, 1, 0, i + 2, &err), TC_OK);
    }
    gsl_rng_free(rng);
    static const char spec_text[] =
        "{\"format_version\": 1, \"model\": {\"name\": \"research\", \"version\": 1,"
        " \"product\": \"research\", \"created_at\": \"2026-02-01\","
        " \"description\": {\"vi\": \"Nghiên cứu\", \"en\": \"Research\"}},"
        " \"data\": {\"target\": \"bad\"}, \"split\": {\"method\": \"none\"},"
        " \"grades\": [{\"grade\": \"A\", \"min_score\": 300, \"vi\": \"Mọi\", \"en\": \"All\"}],"
        " \"attributes\": [{\"name\": \"income\", \"reason_code\": \"TAX01\"},"
        "                  {\"name\": \"late_payments\", \"reason_code\": \"CIC01\"}]}";
    tc_train_spec *s = NULL;
    if (tc_train_spec_parse(spec_text, strlen(spec_text), "research.spec.json", cat, f->reasons, &s,
                            &err) != TC_OK)
        fail_msg("%s", err.msg);
    tc_train_result *r = train(f, s, -1, ds);
    assert_false(r->has_validation);
    assert_true(strstr(r->model_json, cat->hash_hex) != NULL);
    tc_model *m = NULL;
    assert_int_equal(
        tc_model_parse(r->model_json, r->model_len, "research.json", cat, f->reasons, &m, &err),
        TC_OK);
    tc_model_free(m);
    char expected[512];
    snprintf(expected, sizeof expected,
             "research.json: catalog_hash: the model was built for catalog %s, but catalog "
             "'vn-population' has hash %s",
             cat->hash_hex, f->cat->hash_hex);
    assert_int_equal(
        tc_model_parse(r->model_json, r->model_len, "research.json", f->cat, f->reasons, &m, &err),
        TC_EMODEL);
    assert_msg(&err, expected);
    tc_train_result_free(r);
    tc_train_spec_free(s);
    tc_dataset_free(ds);
    tc_catalog_free(cat);
}

static void test_training_refusals(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    tc_train_result *r = NULL;
    tc_train_options o = {.kind = -1, .reasons = f->reasons};
    /* no created_at anywhere and no date column */
    char *text = strdup(base_spec);
    char *p = strstr(text, "\"created_at\": \"2026-01-01\",");
    memset(p, ' ', strlen("\"created_at\": \"2026-01-01\","));
    tc_train_spec *s = spec_of(f, text);
    free(text);
    size_t idx[1] = {(size_t)tc_catalog_find(f->cat, "mobile_postpaid")};
    tc_dataset *ds = NULL;
    assert_int_equal(tc_dataset_new(f->cat, idx, 1, TC_DATASET_TARGET | TC_DATASET_WEIGHT, &ds,
                                    &err),
                     TC_OK);
    tc_value one = {1, 1};
    assert_int_equal(tc_dataset_push(ds, &one, 2, 1, 0, 2, &err), TC_EINVAL);
    assert_msg(&err, "target 2 is not 0 or 1");
    assert_int_equal(tc_dataset_push(ds, &one, 1, -1, 0, 2, &err), TC_EINVAL);
    assert_msg(&err, "weight -1 is not a finite number >= 0");
    assert_int_equal(ds->n_rows, 0);
    assert_int_equal(tc_train_run(s, ds, &o, &r, &err), TC_EINVAL);
    assert_msg(&err, "the data has weights the spec does not name");
    tc_dataset_free(ds);
    assert_int_equal(tc_dataset_new(f->cat, idx, 1, TC_DATASET_TARGET, &ds, &err), TC_OK);
    assert_int_equal(tc_train_run(s, ds, &o, &r, &err), TC_EINVAL);
    assert_msg(&err, "the data has no column 'cic_max_dpd_12m' (spec.json: attributes[0])");
    tc_dataset_free(ds);
    ds = f->ds;
    /* the spec's date column is the dataset's; without it: no created_at */
    unsigned flags = ds->flags;
    int32_t *day = ds->day;
    ds->day = NULL;
    ds->flags &= ~TC_DATASET_DATE;
    assert_int_equal(tc_train_run(s, ds, &o, &r, &err), TC_EINVAL);
    assert_msg(&err, "no created_at: give model.created_at in the spec, --created-at, or a date "
                     "column to take the last date from");
    ds->day = day;
    ds->flags = flags;
    /* with dates, the last one */
    o.fingerprint = NULL;
    assert_int_equal(tc_train_run(s, ds, &o, &r, &err), TC_OK);
    assert_string_equal(r->created_at, "2026-09-03");
    assert_true(strstr(r->model_json, "\"training_fingerprint\": \"none\"") != NULL);
    tc_train_result_free(r);
    tc_train_spec_free(s);
}

/* ---- the spec's refusals ---- */

static json_t *walk(json_t *root, const char *path, char *last, size_t size)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *node = root;
    char *save = NULL, *tok = strtok_r(buf, ".", &save), *next;
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        node = json_is_array(node) ? json_array_get(node, strtoul(tok, NULL, 10))
                                   : json_object_get(node, tok);
        tok = next;
    }
    snprintf(last, size, "%s", tok);
    return node;
}

typedef struct refusal {
    const char *path;  /* dotted path to set ("attributes.0.name"); "-" prefix deletes */
    const char *value; /* JSON */
    const char *message;
    const char *path2; /* optional second change */
    const char *value2;
} refusal;

static void mutate(json_t *root, const char *path, const char *value)
{
    json_error_t je;
    char last[64];
    int del = path[0] == '-';
    json_t *parent = walk(root, path + del, last, sizeof last);
    if (del) {
        json_object_del(parent, last);
        return;
    }
    json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    if (json_is_array(parent))
        json_array_set_new(parent, strtoul(last, NULL, 10), v);
    else
        json_object_set_new(parent, last, v);
}

static void test_spec_refusals(void **state)
{
    fx *f = *state;
    static const refusal cases[] = {
        {"colour", "\"red\"", "spec.json: (document): unknown field 'colour'", NULL, NULL},
        {"kind", "\"tree\"", "spec.json: kind: 'tree' is not one of scorecard, logistic", NULL,
         NULL},
        {"format_version", "2",
         "spec.json: format_version: 2 is not supported (this build reads "
         "1)",
         NULL, NULL},
        {"model.name", "\"Bad Name\"",
         "spec.json: model.name: 'Bad Name' is not a name: a lower-case letter, then letters, "
         "digits, '-'",
         NULL, NULL},
        {"model.created_at", "\"yesterday\"",
         "spec.json: model.created_at: 'yesterday' is not a UTC time like 2026-11-01 or "
         "2026-11-01T00:00:00Z",
         NULL, NULL},
        {"data.target", "\"birth_year\"",
         "spec.json: data.target: 'birth_year' is an attribute of catalog 'vn-population', not "
         "a target column",
         NULL, NULL},
        {"-data.date", NULL,
         "spec.json: split.method: a date split needs data.date, the date column", "split",
         "{\"method\": \"date\"}"},
        {"split.validation_share", "1", "spec.json: split.validation_share: 1 is outside (0, 1)",
         NULL, NULL},
        {"binning", "{\"fine_classes\": 1}",
         "spec.json: binning.fine_classes: 1 is outside [2, 50]", NULL, NULL},
        {"scaling", "{\"rounding\": 2}", "spec.json: scaling.rounding: 2 is outside [0, 1]", NULL,
         NULL},
        {"reasons", "{\"method\": \"baseline\"}",
         "spec.json: reasons.method: a trained model uses \"max\": baselines are not estimated",
         NULL, NULL},
        {"grades.1.min_score", "700",
         "spec.json: grades[1].min_score: 700 is not below grades[0].min_score 600: cut-offs "
         "must descend from the best grade",
         NULL, NULL},
        {"attributes.0.name", "\"gender\"",
         "spec.json: attributes[0].name: 'gender' is a protected attribute: no model may use it",
         NULL, NULL},
        {"attributes.0.name", "\"shoe_size\"",
         "spec.json: attributes[0].name: 'shoe_size' is not an attribute of catalog "
         "'vn-population'",
         NULL, NULL},
        {"attributes.1.name", "\"cic_max_dpd_12m\"",
         "spec.json: attributes[1].name: 'cic_max_dpd_12m' is already attributes[0]", NULL, NULL},
        {"attributes.0.reason_code", "\"NOPE1\"",
         "spec.json: attributes[0].reason_code: 'NOPE1' is not in the reason dictionary "
         "'tinchap-reasons'",
         NULL, NULL},
        {"attributes.0.bins", "[]", "spec.json: attributes[0]: unknown field 'bins'", NULL, NULL},
        {"attributes.0.trend", "\"sideways\"",
         "spec.json: attributes[0].trend: 'sideways' is not one of auto, ascending, descending, "
         "peak, valley, none",
         NULL, NULL},
        {"attributes.2.trend", "\"ascending\"",
         "spec.json: attributes[2].trend: 'marital_status' is a category: its levels are "
         "grouped by WoE, without a trend",
         NULL, NULL},
        {"attributes.0.special", "[5000]",
         "spec.json: attributes[0].special[0]: 5000 is outside the range of 'cic_max_dpd_12m' "
         "[0, 3650]",
         NULL, NULL},
        {"attributes.1.special", "[1]",
         "spec.json: attributes[1].special: 'mobile_postpaid' is a bool: special values are for "
         "numbers",
         NULL, NULL},
        {"attributes.2.transform", "\"log1p\"",
         "spec.json: attributes[2].transform: 'marital_status' is a category: it enters as "
         "indicators of its levels",
         NULL, NULL},
        {"attributes.1.missing", "\"indicator\"",
         "spec.json: attributes[1].missing: 'mobile_postpaid' is never missing, so it takes no "
         "missing rule",
         NULL, NULL},
        {"attributes.3.missing", "{\"impute\": -1}",
         "spec.json: attributes[3].missing.impute: -1 is outside the range of 'si_salary_base' "
         "[0, 1000]",
         NULL, NULL},
        {"attributes.0.clip", "{\"min\": 0, \"max\": 90}",
         "spec.json: attributes[0].clip: only the clip transform takes a clip range", NULL, NULL},
        {"attributes", "[]", "spec.json: attributes: list at least one attribute", NULL, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        json_error_t je;
        json_t *root = json_loads(base_spec, 0, &je);
        assert_non_null(root);
        const char *path = cases[c].path;
        mutate(root, path, cases[c].value);
        if (cases[c].path2 != NULL)
            mutate(root, cases[c].path2, cases[c].value2);
        char *text = json_dumps(root, 0);
        tc_train_spec *s = NULL;
        tc_error err = {0};
        int rc = tc_train_spec_parse(text, strlen(text), "spec.json", f->cat, f->reasons, &s, &err);
        if (rc != TC_EMODEL || strcmp(err.msg, cases[c].message) != 0)
            fail_msg("case %zu (%s): got %d '%s', expected '%s'", c, path, rc, err.msg,
                     cases[c].message);
        assert_null(s);
        free(text);
        json_decref(root);
    }
}

/* --name, --version, --status as the trainer passes them: each checked, none half applied. */
static void test_set_identity(void **state)
{
    fx *f = *state;
    tc_train_spec *s = spec_of(f, base_spec);
    tc_error err = {0};
    assert_int_equal(tc_train_spec_set_identity(s, NULL, 0, 3, &err), TC_EINVAL);
    assert_msg(&err, "status 3 is not champion, challenger or retired");
    assert_int_equal(tc_train_spec_set_identity(s, "Bad", 0, -1, &err), TC_EINVAL);
    assert_int_equal(tc_train_spec_set_identity(s, NULL, 1000001, -1, &err), TC_EINVAL);
    tc_model_status before = s->status;
    assert_int_equal(tc_train_spec_set_identity(s, NULL, 0, -1, &err), TC_OK);
    assert_int_equal(s->status, before);
    assert_int_equal(tc_train_spec_set_identity(s, "other-card", 7, TC_STATUS_RETIRED, &err),
                     TC_OK);
    assert_string_equal(s->name, "other-card");
    assert_int_equal(s->version, 7);
    assert_int_equal(s->status, TC_STATUS_RETIRED);
    tc_train_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scorecard),        cmocka_unit_test(test_logistic),
        cmocka_unit_test(test_research_catalog), cmocka_unit_test(test_training_refusals),
        cmocka_unit_test(test_spec_refusals),    cmocka_unit_test(test_set_identity),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
