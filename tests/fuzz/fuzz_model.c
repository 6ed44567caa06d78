/* Model file loading (tc_model_parse) against the shipped catalog and reason dictionary. A model
 * that loads is evaluated on records at the edges of every attribute's range, since load-time
 * preprocessing (bin lookup tables, thresholds, the Cholesky factor, reason groups) is where a
 * model that passed validation could still make evaluation read out of bounds.
 *
 * The text "@CATALOG_HASH@" in an input stands for the shipped catalog's hash (as in
 * tests/fixtures/models), so the corpus keeps working when the catalog changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tc_eval.h"

#define PLACEHOLDER "@CATALOG_HASH@"

static tc_eval_workspace *ws;

/* The input with the placeholder replaced; NULL when it has none (use the input as it is). */
static char *with_hash(const uint8_t *data, size_t size, const tc_catalog *cat, size_t *len)
{
    const size_t pl = sizeof PLACEHOLDER - 1;
    const uint8_t *p = memmem(data, size, PLACEHOLDER, pl);
    if (p == NULL)
        return NULL;
    size_t before = (size_t)(p - data), after = size - before - pl;
    char *text = malloc(before + TC_HASH_HEX_LEN + after);
    if (text == NULL)
        abort();
    memcpy(text, data, before);
    memcpy(text + before, cat->hash_hex, TC_HASH_HEX_LEN);
    memcpy(text + before + TC_HASH_HEX_LEN, p + pl, after);
    *len = before + TC_HASH_HEX_LEN + after;
    return text;
}

static void evaluate(const tc_model *m, const tc_value *values, int max_reasons)
{
    const tc_catalog *cat = m->catalog;
    unsigned char buf[TC_RECORD_MAX];
    tc_record rec;
    tc_error err;
    tc_score_result res;
    tc_eval_options opt = {.max_reasons = max_reasons};
    size_t len = tc_record_encode(cat, values, 1764000000u, buf);
    FUZZ_CHECK(tc_record_view(cat, buf, len, &rec, &err) == TC_OK);
    int rc = tc_model_eval(m, &rec, &opt, ws, &res);
    /* Every value is valid for the catalog and the model has a rule for each missing one. */
    FUZZ_CHECK(rc == TC_OK || rc == TC_ENUMERIC);
    if (rc != TC_OK)
        return;
    FUZZ_CHECK(res.model == m && res.n_chars == m->n_chars);
    FUZZ_CHECK(res.score >= m->score_min && res.score <= m->score_max);
    FUZZ_CHECK(res.pd >= 0 && res.pd <= 1);
    FUZZ_CHECK(res.pd_low <= res.pd && res.pd <= res.pd_high);
    FUZZ_CHECK(res.grade != NULL);
    FUZZ_CHECK(res.grade >= m->grades && res.grade < m->grades + m->n_grades);
    size_t want = max_reasons > 0 ? (size_t)max_reasons : (size_t)m->max_reasons;
    FUZZ_CHECK(res.n_reasons <= want && res.n_reasons <= TC_REASONS_OUT_MAX);
    for (size_t i = 0; i < res.n_reasons; i++) {
        FUZZ_CHECK(res.reasons[i].group < m->n_reasons);
        FUZZ_CHECK(res.reasons[i].points_lost > 0);
        FUZZ_CHECK(i == 0 || res.reasons[i].points_lost <= res.reasons[i - 1].points_lost);
        FUZZ_CHECK(res.reasons[i].code != NULL && res.reasons[i].en != NULL);
    }
    for (size_t j = 0; j < m->n_chars; j++)
        if (m->kind == TC_MODEL_SCORECARD)
            FUZZ_CHECK(res.bin[j] >= 0 && (size_t)res.bin[j] < m->chars[j].n_bins);
}

static void use_model(const tc_model *m)
{
    const tc_catalog *cat = m->catalog;
    tc_value lo[TC_CATALOG_ATTRS_MAX], hi[TC_CATALOG_ATTRS_MAX], mid[TC_CATALOG_ATTRS_MAX],
        gone[TC_CATALOG_ATTRS_MAX];
    FUZZ_CHECK(m->n_chars >= 1 && m->n_chars <= TC_MODEL_CHARS_MAX);
    FUZZ_CHECK(m->n_grades >= 1 && m->n_grades <= TC_MODEL_GRADES_MAX);
    FUZZ_CHECK(m->n_params >= 1 && m->n_params <= TC_MODEL_PARAMS_MAX);
    for (size_t i = 1; i < m->n_grades; i++)
        FUZZ_CHECK(m->grades[i].min_score < m->grades[i - 1].min_score);
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *c = &m->chars[j];
        FUZZ_CHECK(c->attr_index < cat->n_attrs && c->attr == &cat->attrs[c->attr_index]);
        FUZZ_CHECK(!c->attr->protected_attr);
        FUZZ_CHECK(c->reason < m->n_reasons);
        FUZZ_CHECK(tc_model_find_char(m, c->attribute) == (int)j);
    }
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        double middle = a->type == TC_ATTR_REAL ? (a->min + a->max) / 2
                                                : floor(a->min / 2 + a->max / 2);
        lo[i] = (tc_value){a->min, 1};
        hi[i] = (tc_value){a->max, 1};
        mid[i] = (tc_value){middle, 1};
        gone[i] = (tc_value){a->min, !a->missing_allowed};
    }
    evaluate(m, lo, 0);
    evaluate(m, hi, TC_REASONS_OUT_MAX);
    evaluate(m, mid, 1);
    evaluate(m, gone, 5);
    for (double s = m->score_min; s <= m->score_max; s += (m->score_max - m->score_min) / 7 + 1)
        FUZZ_CHECK(tc_model_grade(m, s) != NULL);
    FUZZ_CHECK(isfinite(tc_model_score_of_eta(m, 0)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tc_catalog *cat = fuzz_catalog();
    const tc_reasons *reasons = fuzz_reasons();
    tc_model *m = NULL;
    tc_error err;
    if (ws == NULL && tc_eval_workspace_new(&ws, &err) != TC_OK)
        abort();
    size_t len = size;
    char *text = with_hash(data, size, cat, &len);
    int rc = tc_model_parse(text != NULL ? text : (const char *)data, len, "fuzz.json", cat,
                            reasons, &m, &err);
    if (rc == TC_OK) {
        use_model(m);
        tc_model_free(m);
    } else {
        FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
    }
    free(text);
    return 0;
}
