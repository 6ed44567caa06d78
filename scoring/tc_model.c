#include "tc_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <openssl/evp.h>

#include "tc_json.h"
#include "tc_model_impl.h"
#include "tc_record.h"
#include "tc_time.h"

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

static const char *const kind_names[] = {"scorecard", "logistic"};
static const char *const status_names[] = {"champion", "challenger", "retired"};
static const char *const method_names[] = {"max", "baseline"};
static const char *const transform_names[] = {"", "identity", "log1p", "clip", "indicator"};

const char *tc_model_kind_name(tc_model_kind kind)
{
    return (unsigned)kind < 2 ? kind_names[kind] : "?";
}

const char *tc_model_status_name(tc_model_status status)
{
    return (unsigned)status < 3 ? status_names[status] : "?";
}

const char *tc_reason_method_name(tc_reason_method method)
{
    return (unsigned)method < 2 ? method_names[method] : "?";
}

/* Shortest text that reads back as v, for messages ("12.5", not "12.500000000000002"). */
static const char *num(char buf[40], double v)
{
    if (isinf(v)) {
        snprintf(buf, 40, "%s", v > 0 ? "+inf" : "-inf");
        return buf;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static int valid_model_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TC_MODEL_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static int get_enum(const tc_jctx *ctx, json_t *obj, const char *key, const char *const names[],
                    size_t n, const char *expect, int *out, tc_error *err)
{
    const char *s = NULL;
    int rc = tc_json_get_string(ctx, obj, key, 1, 32, &s, err);
    if (rc != TC_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (names[i][0] != '\0' && strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return TC_OK;
        }
    char q[64];
    return tc_json_fail(ctx, key, err, "'%s' is not one of %s",
                        tc_error_quote(q, sizeof q, s, strlen(s)), expect);
}

static int get_label(const tc_jctx *ctx, json_t *obj, const char **out, tc_error *err)
{
    *out = "";
    return tc_json_get_string(ctx, obj, "label", 0, LABEL_MAX, out, err);
}

/* ---- header fields ---- */

static int parse_fingerprint(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    int rc = tc_json_get_string(ctx, root, "training_fingerprint", 1, 80,
                                &m->training_fingerprint, err);
    if (rc != TC_OK)
        return rc;
    const char *f = m->training_fingerprint;
    if (strcmp(f, "none") == 0)
        return TC_OK;
    int ok = strncmp(f, "sha256:", 7) == 0 && strlen(f) == 7 + TC_HASH_HEX_LEN;
    for (size_t i = 7; ok && f[i] != '\0'; i++)
        ok = (f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f');
    if (!ok)
        return tc_json_fail(ctx, "training_fingerprint", err,
                            "expected \"sha256:\" and 64 lower-case hex digits, or \"none\" for a "
                            "model not fitted to data");
    return TC_OK;
}

static int parse_description(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    static const char *const keys[] = {"vi", "en", NULL};
    json_t *d = NULL;
    int rc = tc_json_get_object(ctx, root, "description", 1, &d, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "description");
    if ((rc = tc_json_expect_object(&c, d, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "vi", 1, 4096, &m->description_vi, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "en", 1, 4096, &m->description_en, err)) != TC_OK)
        return rc;
    if (m->description_vi[0] == '\0' || m->description_en[0] == '\0')
        return tc_json_fail(&c, m->description_vi[0] == '\0' ? "vi" : "en", err,
                            "must not be empty");
    return TC_OK;
}

/* ---- the model card ---- */

static int card_text(const tc_jctx *c, json_t *obj, const char *key, int required,
                     const char **out, tc_error *err)
{
    *out = NULL;
    int rc = tc_json_get_string(c, obj, key, required, TC_MODEL_CARD_TEXT_MAX, out, err);
    if (rc == TC_OK && *out != NULL && (*out)[0] == '\0')
        return tc_json_fail(c, key, err, "must not be empty");
    return rc;
}

/* A number in [lo, hi]; NAN when absent and not required. */
static int card_number(const tc_jctx *c, json_t *obj, const char *key, int required, double lo,
                       double hi, double *out, tc_error *err)
{
    char n1[40], n2[40], n3[40];
    *out = NAN;
    int rc = tc_json_get_number(c, obj, key, required, out, err);
    if (rc == TC_OK && !isnan(*out) && (*out < lo || *out > hi))
        return tc_json_fail(c, key, err, "%s is outside [%s, %s]", num(n1, *out), num(n2, lo),
                            num(n3, hi));
    return rc;
}

static int card_date(const tc_jctx *c, json_t *obj, const char *key, int required, int64_t *out,
                     tc_error *err)
{
    const char *t = NULL;
    *out = INT64_MIN;
    int rc = tc_json_get_string(c, obj, key, required, 32, &t, err);
    if (rc != TC_OK || t == NULL)
        return rc;
    if (tc_time_parse(t, strlen(t), out) != TC_OK)
        return tc_json_fail(c, key, err, "'%s' is not a UTC date like 2026-11-01", t);
    return TC_OK;
}

/* Figures of one sample: the statistics tc_metrics defines (see tc_metrics.h). */
static int parse_card_sample(const tc_jctx *parent, json_t *v, const char *key, int required,
                             tc_error *err)
{
    static const char *const keys[] = {"rows", "events", "auc", "gini", "ks", "brier", "hl_p",
                                       NULL};
    json_t *o = NULL;
    long rows = 0;
    double events, auc, gini, ks, brier, hl_p;
    char n1[40], n2[40];
    int rc = tc_json_get_object(parent, v, key, required, &o, err);
    if (rc != TC_OK || o == NULL)
        return rc;
    tc_jctx c = tc_jctx_key(parent, key);
    if ((rc = tc_json_expect_object(&c, o, keys, err)) != TC_OK ||
        (rc = tc_json_get_int(&c, o, "rows", 1, 1, 2000000000L, &rows, err)) != TC_OK ||
        (rc = card_number(&c, o, "events", 1, 0, INFINITY, &events, err)) != TC_OK ||
        (rc = card_number(&c, o, "auc", 1, 0, 1, &auc, err)) != TC_OK ||
        (rc = card_number(&c, o, "gini", 1, -1, 1, &gini, err)) != TC_OK ||
        (rc = card_number(&c, o, "ks", 1, 0, 1, &ks, err)) != TC_OK ||
        (rc = card_number(&c, o, "brier", 1, 0, 1, &brier, err)) != TC_OK ||
        (rc = card_number(&c, o, "hl_p", 0, 0, 1, &hl_p, err)) != TC_OK)
        return rc;
    /* Gini = 2·AUC − 1 by definition; 0.01 leaves room for figures rounded for print. */
    if (fabs(gini - (2 * auc - 1)) > 0.01)
        return tc_json_fail(&c, "gini", err, "%s does not match auc %s (gini = 2 x auc - 1)",
                            num(n1, gini), num(n2, auc));
    return TC_OK;
}

/* model_card: optional; what a model-risk reviewer reads first. Only checked and kept for
 * display: the engine never reads it to score. */
static int parse_model_card(const tc_jctx *ctx, json_t *root, model_impl *mi, tc_error *err)
{
    static const char *const keys[] = {"intended_use", "training_data", "validation",
                                       "limitations", NULL};
    static const char *const tkeys[] = {"description", "rows", "events", "from", "to", NULL};
    static const char *const vkeys[] = {"method", "date", "development", "validation",
                                        "psi_score", NULL};
    json_t *card = NULL, *td = NULL, *val = NULL, *lim = NULL;
    const char *text = NULL;
    long rows = 0;
    double number;
    int64_t from, to, date;
    int rc = tc_json_get_object(ctx, root, "model_card", 0, &card, err);
    if (rc != TC_OK || card == NULL)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "model_card");
    if ((rc = tc_json_expect_object(&c, card, keys, err)) != TC_OK ||
        (rc = card_text(&c, card, "intended_use", 1, &text, err)) != TC_OK ||
        (rc = tc_json_get_object(&c, card, "training_data", 1, &td, err)) != TC_OK)
        return rc;
    tc_jctx tc = tc_jctx_key(&c, "training_data");
    if ((rc = tc_json_expect_object(&tc, td, tkeys, err)) != TC_OK ||
        (rc = card_text(&tc, td, "description", 1, &text, err)) != TC_OK ||
        (rc = tc_json_get_int(&tc, td, "rows", 0, 1, 2000000000L, &rows, err)) != TC_OK ||
        (rc = card_number(&tc, td, "events", 0, 0, INFINITY, &number, err)) != TC_OK ||
        (rc = card_date(&tc, td, "from", 0, &from, err)) != TC_OK ||
        (rc = card_date(&tc, td, "to", 0, &to, err)) != TC_OK)
        return rc;
    if (from != INT64_MIN && to != INT64_MIN && from > to)
        return tc_json_fail(&tc, "to", err, "comes before \"from\"");
    if ((rc = tc_json_get_object(&c, card, "validation", 0, &val, err)) != TC_OK)
        return rc;
    if (val != NULL) {
        tc_jctx vc = tc_jctx_key(&c, "validation");
        if ((rc = tc_json_expect_object(&vc, val, vkeys, err)) != TC_OK ||
            (rc = card_text(&vc, val, "method", 1, &text, err)) != TC_OK ||
            (rc = card_date(&vc, val, "date", 1, &date, err)) != TC_OK ||
            (rc = parse_card_sample(&vc, val, "development", 1, err)) != TC_OK ||
            (rc = parse_card_sample(&vc, val, "validation", 0, err)) != TC_OK ||
            (rc = card_number(&vc, val, "psi_score", 0, 0, INFINITY, &number, err)) != TC_OK)
            return rc;
    }
    if ((rc = tc_json_get_array(&c, card, "limitations", 0, TC_MODEL_CARD_LIMITATIONS_MAX, &lim,
                                err)) != TC_OK)
        return rc;
    tc_jctx lc = tc_jctx_key(&c, "limitations");
    for (size_t i = 0; lim != NULL && i < json_array_size(lim); i++) {
        json_t *item = json_array_get(lim, i);
        tc_jctx ic = tc_jctx_index(&lc, i);
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) > TC_MODEL_CARD_TEXT_MAX)
            return tc_json_fail(&ic, NULL, err, "expected a text of 1 to %d bytes",
                                TC_MODEL_CARD_TEXT_MAX);
    }
    mi->card = json_dumps(card, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (mi->card == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    mi->pub.model_card = mi->card;
    return TC_OK;
}

static int parse_scaling(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    static const char *const keys[] = {"points", "odds", "pdo", NULL};
    static const char *const bkeys[] = {"min", "max", NULL};
    json_t *s = NULL, *b = NULL;
    int rc;
    char n1[40], n2[40];
    if ((rc = tc_json_get_object(ctx, root, "scaling", 1, &s, err)) != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "scaling");
    if ((rc = tc_json_expect_object(&c, s, keys, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, s, "points", 1, &m->scale_points, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, s, "odds", 1, &m->scale_odds, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, s, "pdo", 1, &m->scale_pdo, err)) != TC_OK)
        return rc;
    if (!(m->scale_odds > 0))
        return tc_json_fail(&c, "odds", err, "%s is not positive", num(n1, m->scale_odds));
    if (!(m->scale_pdo > 0))
        return tc_json_fail(&c, "pdo", err, "%s is not positive", num(n1, m->scale_pdo));
    m->factor = m->scale_pdo / M_LN2;
    m->offset = m->scale_points - m->factor * log(m->scale_odds);
    if ((rc = tc_json_get_object(ctx, root, "score_bounds", 1, &b, err)) != TC_OK)
        return rc;
    c = tc_jctx_key(ctx, "score_bounds");
    if ((rc = tc_json_expect_object(&c, b, bkeys, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, b, "min", 1, &m->score_min, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, b, "max", 1, &m->score_max, err)) != TC_OK)
        return rc;
    if (!(m->score_min < m->score_max))
        return tc_json_fail(&c, "max", err, "%s is not above min %s", num(n1, m->score_max),
                            num(n2, m->score_min));
    return TC_OK;
}

static int parse_reason_settings(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    static const char *const keys[] = {"method", "count", NULL};
    json_t *r = NULL;
    long count = TC_REASONS_DEFAULT;
    int method = TC_REASON_MAX;
    int rc = tc_json_get_object(ctx, root, "reasons", 1, &r, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "reasons");
    if ((rc = tc_json_expect_object(&c, r, keys, err)) != TC_OK)
        return rc;
    if (json_object_get(r, "method") != NULL &&
        (rc = get_enum(&c, r, "method", method_names, 2, "max, baseline", &method, err)) != TC_OK)
        return rc;
    if ((rc = tc_json_get_int(&c, r, "count", 0, 1, TC_REASONS_OUT_MAX, &count, err)) != TC_OK)
        return rc;
    m->reason_method = (tc_reason_method)method;
    m->max_reasons = (int)count;
    return TC_OK;
}

static int parse_grades(const tc_jctx *ctx, json_t *root, model_impl *mi, tc_error *err)
{
    static const char *const keys[] = {"grade", "min_score", "vi", "en", NULL};
    tc_model *m = &mi->pub;
    json_t *arr = NULL;
    char n1[40], n2[40];
    int rc = tc_json_get_array(ctx, root, "grades", 1, TC_MODEL_GRADES_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    size_t n = json_array_size(arr);
    if (n == 0)
        return tc_json_fail(ctx, "grades", err, "a model needs at least one grade");
    mi->grades = calloc(n, sizeof *mi->grades);
    if (mi->grades == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    tc_jctx gc = tc_jctx_key(ctx, "grades");
    for (size_t i = 0; i < n; i++) {
        tc_jctx c = tc_jctx_index(&gc, i);
        json_t *g = json_array_get(arr, i);
        tc_grade *gr = &mi->grades[i];
        if ((rc = tc_json_expect_object(&c, g, keys, err)) != TC_OK ||
            (rc = tc_json_get_string(&c, g, "grade", 1, 4, &gr->letter, err)) != TC_OK ||
            (rc = tc_json_get_number(&c, g, "min_score", 1, &gr->min_score, err)) != TC_OK ||
            (rc = tc_json_get_string(&c, g, "vi", 1, 256, &gr->vi, err)) != TC_OK ||
            (rc = tc_json_get_string(&c, g, "en", 1, 256, &gr->en, err)) != TC_OK)
            return rc;
        const char *l = gr->letter;
        int ok = l[0] >= 'A' && l[0] <= 'Z';
        for (size_t k = 1; ok && l[k] != '\0'; k++)
            ok = (l[k] >= 'A' && l[k] <= 'Z') || (l[k] >= '0' && l[k] <= '9') || l[k] == '+' ||
                 l[k] == '-';
        if (!ok)
            return tc_json_fail(&c, "grade", err,
                                "'%s' is not a grade: an upper-case letter, then up to 3 "
                                "letters, digits, '+' or '-'",
                                l);
        if (gr->vi[0] == '\0' || gr->en[0] == '\0')
            return tc_json_fail(&c, gr->vi[0] == '\0' ? "vi" : "en", err, "must not be empty");
        for (size_t j = 0; j < i; j++)
            if (strcmp(mi->grades[j].letter, l) == 0)
                return tc_json_fail(&c, "grade", err, "'%s' repeats grades[%zu]", l, j);
        if (i == 0 && gr->min_score > m->score_max)
            return tc_json_fail(&c, "min_score", err,
                                "%s is above score_bounds.max %s: no score reaches it",
                                num(n1, gr->min_score), num(n2, m->score_max));
        if (i > 0 && !(gr->min_score < mi->grades[i - 1].min_score))
            return tc_json_fail(&c, "min_score", err,
                                "%s is not below grades[%zu].min_score %s: cut-offs must "
                                "descend from the best grade",
                                num(n1, gr->min_score), i - 1,
                                num(n2, mi->grades[i - 1].min_score));
    }
    if (mi->grades[n - 1].min_score > m->score_min) {
        tc_jctx c = tc_jctx_index(&gc, n - 1);
        return tc_json_fail(&c, "min_score", err,
                            "%s is above score_bounds.min %s: the lowest grade must cover "
                            "every score",
                            num(n1, mi->grades[n - 1].min_score), num(n2, m->score_min));
    }
    m->grades = mi->grades;
    m->n_grades = n;
    return TC_OK;
}

/* ---- characteristics ---- */

/* The attribute a characteristic names: known, not protected, not derived from a protected one. */
static int resolve_attribute(const tc_jctx *c, json_t *obj, const tc_catalog *cat,
                             tc_characteristic *ch, tc_error *err)
{
    int rc = tc_json_get_string(c, obj, "attribute", 1, TC_NAME_MAX, &ch->attribute, err);
    if (rc != TC_OK)
        return rc;
    int i = tc_catalog_find(cat, ch->attribute);
    char q[TC_NAME_MAX + 8];
    if (i < 0)
        return tc_json_fail(c, "attribute", err, "'%s' is not an attribute of catalog '%s'",
                            tc_error_quote(q, sizeof q, ch->attribute, strlen(ch->attribute)),
                            cat->name);
    const tc_attr *a = &cat->attrs[i];
    if (a->protected_attr)
        return tc_json_fail(c, "attribute", err,
                            "'%s' is a protected attribute: no model may use it", a->name);
    if (a->derived_from != NULL) {
        int j = tc_catalog_find(cat, a->derived_from);
        if (j >= 0 && cat->attrs[j].protected_attr)
            return tc_json_fail(c, "attribute", err,
                                "'%s' is derived from protected '%s': no model may use it",
                                a->name, a->derived_from);
    }
    ch->attr_index = (size_t)i;
    ch->attr = a;
    return TC_OK;
}

static int find_or_add_reason(const tc_jctx *c, json_t *obj, model_impl *mi,
                              const tc_reasons *dict, tc_characteristic *ch, tc_error *err)
{
    const char *code = NULL;
    int rc = tc_json_get_string(c, obj, "reason_code", 1, 64, &code, err);
    if (rc != TC_OK)
        return rc;
    char q[80];
    const tc_reason_text *t = tc_reasons_find(dict, code);
    if (t == NULL)
        return tc_json_fail(c, "reason_code", err, "'%s' is not in the reason dictionary '%s'",
                            tc_error_quote(q, sizeof q, code, strlen(code)), dict->name);
    for (size_t g = 0; g < mi->pub.n_reasons; g++)
        if (strcmp(mi->reasons[g].code, code) == 0) {
            ch->reason = g;
            return TC_OK;
        }
    /* First use: the group takes the next place in the tie-break order. Texts are copied later. */
    tc_reason_group *g = &mi->reasons[mi->pub.n_reasons];
    g->code = t->code;
    g->vi = t->vi;
    g->en = t->en;
    ch->reason = mi->pub.n_reasons++;
    return TC_OK;
}

static int is_numeric(const tc_attr *a)
{
    return a->type == TC_ATTR_INT || a->type == TC_ATTR_REAL;
}

/* Per-characteristic bookkeeping while reading bins. */
typedef struct bin_check {
    int level_owner[TC_LEVELS_MAX + 1]; /* bin index + 1 that holds each level, 0 if none */
    double specials[TC_MODEL_SPECIALS_MAX];
    size_t special_owner[TC_MODEL_SPECIALS_MAX];
    size_t n_specials;
    size_t missing_bin; /* SIZE_MAX if none */
} bin_check;

static int parse_bound(const tc_jctx *c, json_t *b, const char *key, double open, double *out,
                       int *present, tc_error *err)
{
    json_t *v = json_object_get(b, key);
    *out = open;
    *present = v != NULL && !json_is_null(v);
    if (!*present)
        return TC_OK;
    tc_jctx kc = tc_jctx_key(c, key);
    return tc_json_number_value(&kc, v, out, err);
}

static int parse_bin_levels(const tc_jctx *c, json_t *lv, const tc_attr *a, size_t bin_index,
                            tc_bin *bin, double *values, bin_check *bc, tc_error *err)
{
    tc_jctx lc = tc_jctx_key(c, "levels");
    if (!json_is_array(lv) || json_array_size(lv) == 0)
        return tc_json_fail(c, "levels", err, "expected a non-empty array of %s",
                            a->type == TC_ATTR_BOOL ? "true/false" : "level names");
    if (json_array_size(lv) > VALUES_PER_ARRAY_MAX)
        return tc_json_fail(c, "levels", err, "more than %d elements", VALUES_PER_ARRAY_MAX);
    for (size_t k = 0; k < json_array_size(lv); k++) {
        json_t *e = json_array_get(lv, k);
        tc_jctx ec = tc_jctx_index(&lc, k);
        int level;
        char q[TC_LEVEL_LEN_MAX + 8];
        if (a->type == TC_ATTR_BOOL) {
            if (!json_is_boolean(e))
                return tc_json_fail(&ec, NULL, err, "'%s' is a bool: list true or false",
                                    a->name);
            level = json_is_true(e);
        } else {
            if (!json_is_string(e))
                return tc_json_fail(&ec, NULL, err, "expected a level name of '%s'", a->name);
            const char *s = json_string_value(e);
            level = tc_attr_level(a, s, json_string_length(e));
            if (level < 0)
                return tc_json_fail(&ec, NULL, err, "'%s' is not a level of '%s'",
                                    tc_error_quote(q, sizeof q, s, json_string_length(e)),
                                    a->name);
        }
        if (bc->level_owner[level] != 0) {
            if (a->type == TC_ATTR_BOOL)
                return tc_json_fail(&ec, NULL, err, "%s is already in bins[%d]",
                                    level ? "true" : "false", bc->level_owner[level] - 1);
            return tc_json_fail(&ec, NULL, err, "'%s' is already in bins[%d]",
                                a->levels[level], bc->level_owner[level] - 1);
        }
        bc->level_owner[level] = (int)bin_index + 1;
        values[k] = level;
    }
    bin->kind = TC_BIN_LEVELS;
    bin->values = values;
    bin->n_values = json_array_size(lv);
    return TC_OK;
}

static int parse_bin_special(const tc_jctx *c, json_t *sv, const tc_attr *a, size_t bin_index,
                             tc_bin *bin, double *values, bin_check *bc, tc_error *err)
{
    tc_jctx sc = tc_jctx_key(c, "special");
    char n1[40], n2[40], n3[40];
    if (!json_is_array(sv) || json_array_size(sv) == 0)
        return tc_json_fail(c, "special", err, "expected a non-empty array of values");
    for (size_t k = 0; k < json_array_size(sv); k++) {
        tc_jctx ec = tc_jctx_index(&sc, k);
        double v;
        int rc = tc_json_number_value(&ec, json_array_get(sv, k), &v, err);
        if (rc != TC_OK)
            return rc;
        if (v < a->min || v > a->max)
            return tc_json_fail(&ec, NULL, err, "%s is outside the range of '%s' [%s, %s]",
                                num(n1, v), a->name, num(n2, a->min), num(n3, a->max));
        if (a->type == TC_ATTR_INT && v != floor(v))
            return tc_json_fail(&ec, NULL, err, "%s is not a whole number, and '%s' is an int",
                                num(n1, v), a->name);
        for (size_t j = 0; j < bc->n_specials; j++)
            if (bc->specials[j] == v)
                return tc_json_fail(&ec, NULL, err, "%s is already a special value in bins[%zu]",
                                    num(n1, v), bc->special_owner[j]);
        if (bc->n_specials == TC_MODEL_SPECIALS_MAX)
            return tc_json_fail(&ec, NULL, err, "more than %d special values in one "
                                "characteristic", TC_MODEL_SPECIALS_MAX);
        bc->specials[bc->n_specials] = v;
        bc->special_owner[bc->n_specials++] = bin_index;
        values[k] = v;
    }
    bin->kind = TC_BIN_SPECIAL;
    bin->values = values;
    bin->n_values = json_array_size(sv);
    return TC_OK;
}

static int parse_bin(const tc_jctx *c, json_t *b, const tc_attr *a, size_t bin_index,
                     tc_bin *bin, double *values, bin_check *bc, tc_error *err)
{
    static const char *const keys[] = {"lower", "upper", "levels", "special",
                                       "missing", "woe", "points", "label", NULL};
    char n1[40], n2[40];
    int rc;
    if ((rc = tc_json_expect_object(c, b, keys, err)) != TC_OK)
        return rc;
    int has_interval = json_object_get(b, "lower") != NULL || json_object_get(b, "upper") != NULL;
    json_t *lv = json_object_get(b, "levels"), *sv = json_object_get(b, "special");
    json_t *mv = json_object_get(b, "missing");
    if (has_interval + (lv != NULL) + (sv != NULL) + (mv != NULL) > 1)
        return tc_json_fail(c, NULL, err,
                            "a bin is one of: an interval (lower/upper), levels, special "
                            "values, or missing");
    if ((rc = tc_json_get_number(c, b, "woe", 1, &bin->woe, err)) != TC_OK ||
        (rc = tc_json_get_number(c, b, "points", 1, &bin->points, err)) != TC_OK ||
        (rc = get_label(c, b, &bin->label, err)) != TC_OK)
        return rc;
    bin->lower = -INFINITY;
    bin->upper = INFINITY;
    if (mv != NULL) {
        if (!json_is_true(mv))
            return tc_json_fail(c, "missing", err, "write \"missing\": true, or leave it out");
        if (!a->missing_allowed)
            return tc_json_fail(c, "missing", err,
                                "'%s' is never missing, so it takes no missing bin", a->name);
        if (bc->missing_bin != SIZE_MAX)
            return tc_json_fail(c, "missing", err, "bins[%zu] is already the missing bin",
                                bc->missing_bin);
        bc->missing_bin = bin_index;
        bin->kind = TC_BIN_MISSING;
        return TC_OK;
    }
    if (!is_numeric(a)) {
        if (has_interval || sv != NULL)
            return tc_json_fail(c, has_interval ? (json_object_get(b, "lower") ? "lower" : "upper")
                                                : "special",
                                err, "'%s' is a %s: its bins list levels", a->name,
                                tc_attr_type_name(a->type));
        if (lv == NULL)
            return tc_json_fail(c, NULL, err, "'%s' is a %s: a bin needs levels", a->name,
                                tc_attr_type_name(a->type));
        return parse_bin_levels(c, lv, a, bin_index, bin, values, bc, err);
    }
    if (lv != NULL)
        return tc_json_fail(c, "levels", err,
                            "'%s' is %s %s: its bins are intervals, not levels", a->name,
                            a->type == TC_ATTR_INT ? "an" : "a", tc_attr_type_name(a->type));
    if (sv != NULL)
        return parse_bin_special(c, sv, a, bin_index, bin, values, bc, err);
    int has_lower, has_upper;
    if ((rc = parse_bound(c, b, "lower", -INFINITY, &bin->lower, &has_lower, err)) != TC_OK ||
        (rc = parse_bound(c, b, "upper", INFINITY, &bin->upper, &has_upper, err)) != TC_OK)
        return rc;
    if (!(bin->lower < bin->upper))
        return tc_json_fail(c, "upper", err, "%s is not above lower %s", num(n1, bin->upper),
                            num(n2, bin->lower));
    bin->kind = TC_BIN_INTERVAL;
    return TC_OK;
}

/* Intervals, in file order, must tile the attribute's range: the first open below or starting at
 * the minimum, each starting where the previous ends, the last open above or past the maximum. */
static int check_intervals(const tc_jctx *chc, const tc_characteristic *ch, tc_error *err)
{
    const tc_attr *a = ch->attr;
    tc_jctx bsc = tc_jctx_key(chc, "bins");
    char n1[40], n2[40];
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind != TC_BIN_INTERVAL)
            continue;
        tc_jctx c = tc_jctx_index(&bsc, i);
        if (prev == SIZE_MAX) {
            if (b->lower > a->min)
                return tc_json_fail(&c, "lower", err,
                                    "%s leaves values of '%s' from its minimum %s unbinned",
                                    num(n1, b->lower), a->name, num(n2, a->min));
        } else {
            const tc_bin *p = &ch->bins[prev];
            tc_jctx pc = tc_jctx_index(&bsc, prev);
            if (isinf(p->upper))
                return tc_json_fail(&pc, "upper", err,
                                    "open above, but bins[%zu] follows: list intervals in "
                                    "ascending order",
                                    i);
            if (isinf(b->lower))
                return tc_json_fail(&c, "lower", err,
                                    "only the first interval may be open below");
            if (p->upper > b->lower)
                return tc_json_fail(&pc, "upper", err, "%s overlaps bins[%zu]",
                                    num(n1, p->upper), i);
            if (p->upper < b->lower)
                return tc_json_fail(&pc, "upper", err, "%s leaves a gap before bins[%zu] (lower %s)",
                                    num(n1, p->upper), i, num(n2, b->lower));
        }
        prev = i;
    }
    if (prev == SIZE_MAX)
        return tc_json_fail(chc, "bins", err, "'%s' is %s %s: at least one interval bin is needed",
                            a->name, a->type == TC_ATTR_INT ? "an" : "a",
                            tc_attr_type_name(a->type));
    if (ch->bins[prev].upper <= a->max) {
        tc_jctx c = tc_jctx_index(&bsc, prev);
        return tc_json_fail(&c, "upper", err, "%s leaves values of '%s' up to its maximum %s "
                            "unbinned",
                            num(n1, ch->bins[prev].upper), a->name, num(n2, a->max));
    }
    return TC_OK;
}

/* The bin a present value falls in (specials first), or SIZE_MAX. */
static size_t bin_of_value(const tc_characteristic *ch, double v)
{
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind == TC_BIN_SPECIAL)
            for (size_t k = 0; k < b->n_values; k++)
                if (b->values[k] == v)
                    return i;
    }
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind == TC_BIN_INTERVAL && v >= b->lower && v < b->upper)
            return i;
        if (b->kind == TC_BIN_LEVELS)
            for (size_t k = 0; k < b->n_values; k++)
                if (b->values[k] == v)
                    return i;
    }
    return SIZE_MAX;
}

/* An int attribute's bins are reachable if some whole value of its range lands in them. */
static int check_reachable(const tc_jctx *chc, const tc_characteristic *ch, tc_error *err)
{
    const tc_attr *a = ch->attr;
    tc_jctx bsc = tc_jctx_key(chc, "bins");
    char n1[40], n2[40];
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind != TC_BIN_INTERVAL)
            continue;
        int reachable = b->lower <= a->max && b->upper > a->min;
        if (reachable && a->type == TC_ATTR_INT) {
            /* Whole values in [lower, upper) ∩ [min, max], skipping special values. */
            double lo = fmax(ceil(b->lower), a->min), hi = fmin(b->upper, a->max + 1);
            reachable = 0;
            for (double v = lo; v < hi && !reachable; v++)
                reachable = bin_of_value(ch, v) == i;
        }
        if (!reachable) {
            tc_jctx c = tc_jctx_index(&bsc, i);
            return tc_json_fail(&c, NULL, err, "no value of '%s' in [%s, %s] falls in this bin",
                                a->name, num(n1, a->min), num(n2, a->max));
        }
    }
    return TC_OK;
}

static int parse_scorecard_char(const tc_jctx *c, json_t *obj, model_impl *mi,
                                tc_characteristic *ch, tc_bin *bins, double *values,
                                size_t *n_values, tc_error *err)
{
    json_t *arr = NULL;
    int rc = tc_json_get_array(c, obj, "bins", 1, TC_MODEL_BINS_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    if ((rc = tc_json_get_number(c, obj, "coefficient", 1, &ch->coefficient, err)) != TC_OK)
        return rc;
    size_t n = json_array_size(arr);
    if (n < 2)
        return tc_json_fail(c, "bins", err, "a characteristic needs at least 2 bins");
    bin_check *bc = calloc(1, sizeof *bc);
    if (bc == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    bc->missing_bin = SIZE_MAX;
    tc_jctx bsc = tc_jctx_key(c, "bins");
    const tc_attr *a = ch->attr;
    for (size_t i = 0; i < n; i++) {
        tc_jctx bcx = tc_jctx_index(&bsc, i);
        if ((rc = parse_bin(&bcx, json_array_get(arr, i), a, i, &bins[i], values + *n_values, bc,
                            err)) != TC_OK)
            goto out;
        *n_values += bins[i].n_values;
    }
    ch->bins = bins;
    ch->n_bins = n;
    ch->transform = TC_TRANSFORM_NONE;
    ch->n_params = 1;
    if (!is_numeric(a)) {
        size_t n_levels = a->type == TC_ATTR_BOOL ? 2 : a->n_levels;
        for (size_t l = 0; l < n_levels; l++)
            if (bc->level_owner[l] == 0) {
                if (a->type == TC_ATTR_BOOL)
                    rc = tc_json_fail(c, "bins", err, "%s of '%s' is in no bin",
                                      l ? "true" : "false", a->name);
                else
                    rc = tc_json_fail(c, "bins", err, "level '%s' of '%s' is in no bin",
                                      a->levels[l], a->name);
                goto out;
            }
    } else if ((rc = check_intervals(c, ch, err)) != TC_OK ||
               (rc = check_reachable(c, ch, err)) != TC_OK) {
        goto out;
    }
    if (a->missing_allowed && bc->missing_bin == SIZE_MAX) {
        rc = tc_json_fail(c, "bins", err,
                          "'%s' may be missing, but no bin has \"missing\": true", a->name);
        goto out;
    }
    ch->missing = bc->missing_bin != SIZE_MAX ? TC_MISSING_BIN : TC_MISSING_NONE;
    ch->max_points = -INFINITY;
    ch->min_points = INFINITY;
    for (size_t i = 0; i < n; i++) {
        ch->max_points = fmax(ch->max_points, bins[i].points);
        ch->min_points = fmin(ch->min_points, bins[i].points);
    }
    (void)mi;
out:
    free(bc);
    return rc;
}

/* A raw value for impute: a number in range, a level name, or true/false. */
static int parse_impute(const tc_jctx *c, json_t *v, const tc_attr *a, double *out, tc_error *err)
{
    char n1[40], n2[40], n3[40], q[TC_LEVEL_LEN_MAX + 8];
    switch (a->type) {
    case TC_ATTR_BOOL:
        if (!json_is_boolean(v))
            return tc_json_fail(c, NULL, err, "'%s' is a bool: impute true or false", a->name);
        *out = json_is_true(v);
        return TC_OK;
    case TC_ATTR_CATEGORY: {
        if (!json_is_string(v))
            return tc_json_fail(c, NULL, err, "'%s' is a category: impute one of its levels",
                                a->name);
        int l = tc_attr_level(a, json_string_value(v), json_string_length(v));
        if (l < 0)
            return tc_json_fail(c, NULL, err, "'%s' is not a level of '%s'",
                                tc_error_quote(q, sizeof q, json_string_value(v),
                                               json_string_length(v)),
                                a->name);
        *out = l;
        return TC_OK;
    }
    default: {
        int rc = tc_json_number_value(c, v, out, err);
        if (rc != TC_OK)
            return rc;
        if (*out < a->min || *out > a->max)
            return tc_json_fail(c, NULL, err, "%s is outside the range of '%s' [%s, %s]",
                                num(n1, *out), a->name, num(n2, a->min), num(n3, a->max));
        return TC_OK;
    }
    }
}

static int parse_missing_rule(const tc_jctx *c, json_t *obj, tc_characteristic *ch,
                              tc_error *err)
{
    static const char *const keys[] = {"impute", "indicator", NULL};
    const tc_attr *a = ch->attr;
    json_t *mv = json_object_get(obj, "missing");
    if (mv == NULL) {
        if (a->missing_allowed)
            return tc_json_fail(c, "missing", err,
                                "'%s' may be missing: give {\"impute\": value} or "
                                "{\"indicator\": coefficient}",
                                a->name);
        ch->missing = TC_MISSING_NONE;
        return TC_OK;
    }
    if (!a->missing_allowed)
        return tc_json_fail(c, "missing", err,
                            "'%s' is never missing, so it takes no missing rule", a->name);
    tc_jctx mc = tc_jctx_key(c, "missing");
    int rc = tc_json_expect_object(&mc, mv, keys, err);
    if (rc != TC_OK)
        return rc;
    json_t *imp = json_object_get(mv, "impute"), *ind = json_object_get(mv, "indicator");
    if ((imp != NULL) == (ind != NULL))
        return tc_json_fail(&mc, NULL, err, "give exactly one of impute or indicator");
    if (imp != NULL) {
        tc_jctx ic = tc_jctx_key(&mc, "impute");
        ch->missing = TC_MISSING_IMPUTE;
        return parse_impute(&ic, imp, a, &ch->impute_value, err);
    }
    ch->missing = TC_MISSING_INDICATOR;
    ch->n_params++;
    return tc_json_get_number(&mc, mv, "indicator", 1, &ch->missing_coefficient, err);
}

static int parse_logistic_char(const tc_jctx *c, json_t *obj, tc_characteristic *ch,
                               tc_level_term *terms, size_t *n_terms, tc_error *err)
{
    static const char *const clip_keys[] = {"min", "max", NULL};
    static const char *const term_keys[] = {"level", "coefficient", NULL};
    const tc_attr *a = ch->attr;
    int t = 0, rc;
    char n1[40], n2[40];
    if ((rc = get_enum(c, obj, "transform", transform_names, 5,
                       "identity, log1p, clip, indicator", &t, err)) != TC_OK)
        return rc;
    ch->transform = (tc_transform)t;
    int numeric = is_numeric(a);
    int ok = (ch->transform == TC_TRANSFORM_IDENTITY && a->type != TC_ATTR_CATEGORY) ||
             ((ch->transform == TC_TRANSFORM_LOG1P || ch->transform == TC_TRANSFORM_CLIP) &&
              numeric) ||
             (ch->transform == TC_TRANSFORM_INDICATOR && a->type == TC_ATTR_CATEGORY);
    if (!ok)
        return tc_json_fail(c, "transform", err, "%s does not apply to '%s', %s %s",
                            transform_names[t], a->name,
                            a->type == TC_ATTR_INT ? "an" : "a", tc_attr_type_name(a->type));
    json_t *clip = json_object_get(obj, "clip"), *levels = json_object_get(obj, "levels");
    if (clip != NULL && ch->transform != TC_TRANSFORM_CLIP)
        return tc_json_fail(c, "clip", err, "only the clip transform takes a clip range");
    if (levels != NULL && ch->transform != TC_TRANSFORM_INDICATOR)
        return tc_json_fail(c, "levels", err, "only the indicator transform takes levels");
    if (ch->transform == TC_TRANSFORM_INDICATOR) {
        if (json_object_get(obj, "coefficient") != NULL)
            return tc_json_fail(c, "coefficient", err,
                                "an indicator transform has one coefficient per level, in "
                                "levels");
        json_t *arr = NULL;
        if ((rc = tc_json_get_array(c, obj, "levels", 1, TC_LEVELS_MAX, &arr, err)) != TC_OK)
            return rc;
        if (json_array_size(arr) == 0)
            return tc_json_fail(c, "levels", err, "list at least one level");
        tc_jctx lc = tc_jctx_key(c, "levels");
        for (size_t k = 0; k < json_array_size(arr); k++) {
            tc_jctx ec = tc_jctx_index(&lc, k);
            json_t *e = json_array_get(arr, k);
            const char *level = NULL;
            char q[TC_LEVEL_LEN_MAX + 8];
            if ((rc = tc_json_expect_object(&ec, e, term_keys, err)) != TC_OK ||
                (rc = tc_json_get_string(&ec, e, "level", 1, TC_LEVEL_LEN_MAX, &level, err)) !=
                    TC_OK ||
                (rc = tc_json_get_number(&ec, e, "coefficient", 1, &terms[k].coefficient,
                                         err)) != TC_OK)
                return rc;
            int l = tc_attr_level(a, level, strlen(level));
            if (l < 0)
                return tc_json_fail(&ec, "level", err, "'%s' is not a level of '%s'",
                                    tc_error_quote(q, sizeof q, level, strlen(level)), a->name);
            for (size_t j = 0; j < k; j++)
                if (terms[j].level == (size_t)l)
                    return tc_json_fail(&ec, "level", err, "'%s' repeats levels[%zu]", level, j);
            terms[k].level = (size_t)l;
        }
        ch->levels = terms;
        ch->n_levels = json_array_size(arr);
        *n_terms += ch->n_levels;
        ch->n_params = ch->n_levels;
    } else {
        if ((rc = tc_json_get_number(c, obj, "coefficient", 1, &ch->coefficient, err)) != TC_OK)
            return rc;
        ch->n_params = 1;
        if (ch->transform == TC_TRANSFORM_LOG1P && !(a->min > -1))
            return tc_json_fail(c, "transform", err,
                                "log1p needs values above -1, and '%s' goes down to %s",
                                a->name, num(n1, a->min));
        if (ch->transform == TC_TRANSFORM_CLIP) {
            if (clip == NULL)
                return tc_json_fail(c, "clip", err, "the clip transform needs {\"min\", \"max\"}");
            tc_jctx cc = tc_jctx_key(c, "clip");
            if ((rc = tc_json_expect_object(&cc, clip, clip_keys, err)) != TC_OK ||
                (rc = tc_json_get_number(&cc, clip, "min", 1, &ch->clip_min, err)) != TC_OK ||
                (rc = tc_json_get_number(&cc, clip, "max", 1, &ch->clip_max, err)) != TC_OK)
                return rc;
            if (!(ch->clip_min < ch->clip_max))
                return tc_json_fail(&cc, "max", err, "%s is not above min %s",
                                    num(n1, ch->clip_max), num(n2, ch->clip_min));
        }
    }
    if ((rc = parse_missing_rule(c, obj, ch, err)) != TC_OK)
        return rc;
    /* The best and worst points over the attribute's whole domain, missing included. */
    double cand[TC_LEVELS_MAX + 3];
    size_t nc = 0;
    double x[TC_LEVELS_MAX + 1];
    if (a->type == TC_ATTR_CATEGORY || a->type == TC_ATTR_BOOL) {
        size_t nl = a->type == TC_ATTR_BOOL ? 2 : a->n_levels;
        for (size_t l = 0; l < nl; l++)
            cand[nc++] = tc_model_char_terms(ch, (tc_value){(double)l, 1}, x);
    } else {
        /* Every transform is monotone, so the extremes are at the ends of the range. */
        cand[nc++] = tc_model_char_terms(ch, (tc_value){a->min, 1}, x);
        cand[nc++] = tc_model_char_terms(ch, (tc_value){a->max, 1}, x);
    }
    if (ch->missing != TC_MISSING_NONE)
        cand[nc++] = tc_model_char_terms(ch, (tc_value){0, 0}, x);
    ch->max_points = -INFINITY;
    ch->min_points = INFINITY;
    for (size_t k = 0; k < nc; k++) {
        /* points = −factor·contribution; the factor is applied by the caller (parse order). */
        ch->max_points = fmax(ch->max_points, -cand[k]);
        ch->min_points = fmin(ch->min_points, -cand[k]);
    }
    return TC_OK;
}

double tc_model_char_terms(const tc_characteristic *c, tc_value v, double *x)
{
    size_t main_n = c->missing == TC_MISSING_INDICATOR ? c->n_params - 1 : c->n_params;
    double eta = 0;
    if (!v.present) {
        if (c->missing == TC_MISSING_INDICATOR) {
            for (size_t k = 0; k < main_n; k++)
                x[k] = 0;
            x[main_n] = 1;
            for (size_t k = 0; k < main_n; k++)
                eta += (c->transform == TC_TRANSFORM_INDICATOR ? c->levels[k].coefficient
                                                               : c->coefficient) *
                       x[k];
            eta += c->missing_coefficient * x[main_n];
            return eta;
        }
        v.v = c->missing == TC_MISSING_IMPUTE ? c->impute_value : 0;
    }
    switch (c->transform) {
    case TC_TRANSFORM_INDICATOR:
        for (size_t k = 0; k < main_n; k++) {
            x[k] = v.v == (double)c->levels[k].level ? 1.0 : 0.0;
            eta += c->levels[k].coefficient * x[k];
        }
        break;
    case TC_TRANSFORM_LOG1P:
        x[0] = log1p(v.v);
        eta += c->coefficient * x[0];
        break;
    case TC_TRANSFORM_CLIP:
        x[0] = fmin(fmax(v.v, c->clip_min), c->clip_max);
        eta += c->coefficient * x[0];
        break;
    default:
        x[0] = v.v;
        eta += c->coefficient * x[0];
        break;
    }
    if (c->missing == TC_MISSING_INDICATOR) {
        x[main_n] = 0;
        eta += c->missing_coefficient * x[main_n];
    }
    return eta;
}

/* Upper bounds on arrays the characteristics need, from the raw JSON (before validation). */
static void count_parts(json_t *chars, size_t *bins, size_t *values, size_t *terms)
{
    *bins = *values = *terms = 0;
    for (size_t i = 0; i < json_array_size(chars) && i < TC_MODEL_CHARS_MAX; i++) {
        json_t *ch = json_array_get(chars, i);
        json_t *b = json_object_get(ch, "bins");
        size_t nb = json_is_array(b) ? json_array_size(b) : 0;
        nb = nb > TC_MODEL_BINS_MAX ? TC_MODEL_BINS_MAX : nb;
        *bins += nb;
        for (size_t k = 0; k < nb; k++) {
            json_t *bin = json_array_get(b, k);
            json_t *l = json_object_get(bin, "levels"), *s = json_object_get(bin, "special");
            size_t nl = json_is_array(l) ? json_array_size(l) : 0;
            size_t ns = json_is_array(s) ? json_array_size(s) : 0;
            *values += (nl > VALUES_PER_ARRAY_MAX ? VALUES_PER_ARRAY_MAX : nl) +
                       (ns > TC_MODEL_SPECIALS_MAX ? TC_MODEL_SPECIALS_MAX : ns);
        }
        json_t *lv = json_object_get(ch, "levels");
        size_t nt = json_is_array(lv) ? json_array_size(lv) : 0;
        *terms += nt > TC_LEVELS_MAX ? TC_LEVELS_MAX : nt;
    }
}

/* Points are the WoE scaled by −factor·coefficient, plus a constant per characteristic, rounded:
 * so within a characteristic points + factor·coefficient·WoE may vary by at most one point, and
 * the constants must add up to offset − factor·intercept within half a point each. Anything else
 * means the points and the PD would tell different stories. */
static int check_points(const tc_jctx *root, model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    tc_jctx cc = tc_jctx_key(root, "characteristics");
    char n1[40], n2[40], n3[40];
    double sum_mid = 0;
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *ch = &mi->chars[j];
        tc_jctx c = tc_jctx_index(&cc, j);
        tc_jctx bsc = tc_jctx_key(&c, "bins");
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < ch->n_bins; i++) {
            double implied = ch->bins[i].points + m->factor * ch->coefficient * ch->bins[i].woe;
            lo = fmin(lo, implied);
            hi = fmax(hi, implied);
            if (hi - lo > 1.0 + 1e-9 * fmax(fabs(lo), fabs(hi))) {
                tc_jctx bc = tc_jctx_index(&bsc, i);
                return tc_json_fail(&bc, "points", err,
                                    "%s does not follow from coefficient x woe: the bins imply "
                                    "offsets from %.2f to %.2f, more than the 1 point rounding "
                                    "allows",
                                    num(n1, ch->bins[i].points), lo, hi);
            }
        }
        sum_mid += (lo + hi) / 2;
    }
    double want = m->offset - m->factor * m->intercept;
    double tol = 0.5 * (double)m->n_chars + 1e-6;
    if (fabs(sum_mid - want) > tol)
        return tc_json_fail(root, "intercept", err,
                            "%s gives offset - factor x intercept = %s, but the points add up to "
                            "%s (at most %.1f apart from rounding)",
                            num(n1, m->intercept), num(n2, want), num(n3, sum_mid), tol);
    return TC_OK;
}

static int parse_characteristics(const tc_jctx *root, json_t *doc, model_impl *mi,
                                 const tc_reasons *dict, tc_error *err)
{
    static const char *const sc_keys[] = {"attribute", "reason_code", "label",  "baseline",
                                          "coefficient", "bins",      NULL};
    static const char *const lr_keys[] = {"attribute", "reason_code", "label",  "baseline",
                                          "transform", "coefficient", "clip",   "levels",
                                          "missing",   NULL};
    tc_model *m = &mi->pub;
    json_t *arr = NULL;
    int rc = tc_json_get_array(root, doc, "characteristics", 1, TC_MODEL_CHARS_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    size_t n = json_array_size(arr);
    if (n == 0)
        return tc_json_fail(root, "characteristics", err, "a model needs a characteristic");
    size_t n_bins, n_values, n_terms;
    count_parts(arr, &n_bins, &n_values, &n_terms);
    mi->chars = calloc(n, sizeof *mi->chars);
    mi->bins = calloc(n_bins + 1, sizeof *mi->bins);
    mi->values = calloc(n_values + 1, sizeof *mi->values);
    mi->terms = calloc(n_terms + 1, sizeof *mi->terms);
    mi->reasons = calloc(n, sizeof *mi->reasons);
    if (mi->chars == NULL || mi->bins == NULL || mi->values == NULL || mi->terms == NULL ||
        mi->reasons == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    m->chars = mi->chars;
    m->reasons = mi->reasons;
    tc_jctx cc = tc_jctx_key(root, "characteristics");
    size_t used_bins = 0, used_values = 0, used_terms = 0, param = 1;
    for (size_t j = 0; j < n; j++) {
        tc_jctx c = tc_jctx_index(&cc, j);
        json_t *obj = json_array_get(arr, j);
        tc_characteristic *ch = &mi->chars[j];
        if ((rc = tc_json_expect_object(&c, obj, m->kind == TC_MODEL_SCORECARD ? sc_keys : lr_keys,
                                        err)) != TC_OK ||
            (rc = resolve_attribute(&c, obj, m->catalog, ch, err)) != TC_OK)
            return rc;
        for (size_t k = 0; k < j; k++)
            if (mi->chars[k].attr_index == ch->attr_index)
                return tc_json_fail(&c, "attribute", err, "'%s' is already used by "
                                    "characteristics[%zu]",
                                    ch->attribute, k);
        if ((rc = find_or_add_reason(&c, obj, mi, dict, ch, err)) != TC_OK ||
            (rc = get_label(&c, obj, &ch->label, err)) != TC_OK)
            return rc;
        ch->has_baseline = json_object_get(obj, "baseline") != NULL;
        if ((rc = tc_json_get_number(&c, obj, "baseline", 0, &ch->baseline, err)) != TC_OK)
            return rc;
        if (m->reason_method == TC_REASON_BASELINE && !ch->has_baseline)
            return tc_json_fail(&c, "baseline", err,
                                "reasons.method is baseline, so every characteristic needs one");
        if (m->kind == TC_MODEL_SCORECARD) {
            if ((rc = parse_scorecard_char(&c, obj, mi, ch, mi->bins + used_bins, mi->values,
                                           &used_values, err)) != TC_OK)
                return rc;
            used_bins += ch->n_bins;
        } else {
            if ((rc = parse_logistic_char(&c, obj, ch, mi->terms + used_terms, &used_terms,
                                          err)) != TC_OK)
                return rc;
            ch->max_points *= m->factor;
            ch->min_points *= m->factor;
        }
        ch->param = param;
        param += ch->n_params;
        if (param > TC_MODEL_PARAMS_MAX)
            return tc_json_fail(&c, NULL, err, "the model has more than %d coefficients",
                                TC_MODEL_PARAMS_MAX);
        m->n_chars = j + 1;
    }
    m->n_params = param;
    m->base_points = m->kind == TC_MODEL_LOGISTIC ? m->offset - m->factor * m->intercept : 0;
    m->points_min = m->points_max = m->base_points;
    for (size_t j = 0; j < n; j++) {
        m->points_min += mi->chars[j].min_points;
        m->points_max += mi->chars[j].max_points;
    }
    if (m->kind == TC_MODEL_SCORECARD)
        return check_points(root, mi, err);
    return TC_OK;
}

/* ---- covariance ---- */

static int build_param_names(model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    mi->param_names = calloc(m->n_params, sizeof *mi->param_names);
    mi->param_name_buf = calloc(m->n_params, sizeof *mi->param_name_buf);
    if (mi->param_names == NULL || mi->param_name_buf == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    snprintf(mi->param_name_buf[0], PARAM_NAME_MAX, "intercept");
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *ch = &m->chars[j];
        size_t p = ch->param;
        if (ch->transform == TC_TRANSFORM_INDICATOR)
            for (size_t k = 0; k < ch->n_levels; k++)
                snprintf(mi->param_name_buf[p++], PARAM_NAME_MAX, "%s=%s", ch->attribute,
                         ch->attr->levels[ch->levels[k].level]);
        else
            snprintf(mi->param_name_buf[p++], PARAM_NAME_MAX, "%s", ch->attribute);
        if (ch->missing == TC_MISSING_INDICATOR)
            snprintf(mi->param_name_buf[p++], PARAM_NAME_MAX, "%s:missing", ch->attribute);
    }
    for (size_t p = 0; p < m->n_params; p++)
        mi->param_names[p] = mi->param_name_buf[p];
    m->param_names = mi->param_names;
    return TC_OK;
}

static int parse_covariance(const tc_jctx *root, json_t *doc, model_impl *mi, tc_error *err)
{
    static const char *const keys[] = {"parameters", "matrix", NULL};
    tc_model *m = &mi->pub;
    json_t *cov = NULL, *names = NULL, *rows = NULL;
    char n1[40], n2[40], q[PARAM_NAME_MAX + 8];
    int rc;
    size_t n = m->n_params;
    if ((rc = tc_json_get_object(root, doc, "covariance", 1, &cov, err)) != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(root, "covariance");
    if ((rc = tc_json_expect_object(&c, cov, keys, err)) != TC_OK ||
        (rc = tc_json_get_array(&c, cov, "parameters", 1, TC_MODEL_PARAMS_MAX, &names, err)) !=
            TC_OK ||
        (rc = tc_json_get_array(&c, cov, "matrix", 1, TC_MODEL_PARAMS_MAX, &rows, err)) != TC_OK)
        return rc;
    if (json_array_size(names) != n)
        return tc_json_fail(&c, "parameters", err, "%zu names for the model's %zu coefficients",
                            json_array_size(names), n);
    tc_jctx pc = tc_jctx_key(&c, "parameters");
    for (size_t p = 0; p < n; p++) {
        json_t *v = json_array_get(names, p);
        tc_jctx ic = tc_jctx_index(&pc, p);
        if (!json_is_string(v))
            return tc_json_fail(&ic, NULL, err, "expected a parameter name");
        if (strcmp(json_string_value(v), m->param_names[p]) != 0)
            return tc_json_fail(&ic, NULL, err, "'%s', but the model's coefficient %zu is '%s'",
                                tc_error_quote(q, sizeof q, json_string_value(v),
                                               json_string_length(v)),
                                p, m->param_names[p]);
    }
    if (json_array_size(rows) != n)
        return tc_json_fail(&c, "matrix", err, "%zu rows, expected %zu (one per parameter)",
                            json_array_size(rows), n);
    mi->cov = gsl_matrix_calloc(n, n);
    mi->chol = gsl_matrix_calloc(n, n);
    if (mi->cov == NULL || mi->chol == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    tc_jctx mc = tc_jctx_key(&c, "matrix");
    for (size_t i = 0; i < n; i++) {
        tc_jctx rc_ = tc_jctx_index(&mc, i);
        json_t *row = json_array_get(rows, i);
        if (!json_is_array(row))
            return tc_json_fail(&rc_, NULL, err, "expected an array of numbers");
        if (json_array_size(row) != n)
            return tc_json_fail(&rc_, NULL, err,
                                "%zu entries, expected %zu: the matrix must be square",
                                json_array_size(row), n);
        for (size_t j = 0; j < n; j++) {
            tc_jctx ec = tc_jctx_index(&rc_, j);
            double v;
            if ((rc = tc_json_number_value(&ec, json_array_get(row, j), &v, err)) != TC_OK)
                return rc;
            gsl_matrix_set(mi->cov, i, j, v);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double a = gsl_matrix_get(mi->cov, i, j), b = gsl_matrix_get(mi->cov, j, i);
            if (fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b))) {
                tc_jctx rc_ = tc_jctx_index(&mc, i);
                tc_jctx ec = tc_jctx_index(&rc_, j);
                return tc_json_fail(&ec, NULL, err,
                                    "%s differs from matrix[%zu][%zu] %s: the matrix must be "
                                    "symmetric",
                                    num(n1, a), j, i, num(n2, b));
            }
        }
    if (gsl_matrix_memcpy(mi->chol, mi->cov) != GSL_SUCCESS)
        return tc_errorf(err, TC_ENUMERIC, "%s: copying the covariance failed", m->path);
    int st = gsl_linalg_cholesky_decomp1(mi->chol);
    if (st == GSL_EDOM)
        return tc_json_fail(&c, "matrix", err, "not positive definite (Cholesky failed)");
    if (st != GSL_SUCCESS)
        return tc_json_fail(&c, "matrix", err, "Cholesky factorisation failed: %s",
                            gsl_strerror(st));
    /* Keep U = Lᵀ alone in the upper triangle: tc_eval forms U·x with dtrmv. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            gsl_matrix_set(mi->chol, i, j, j >= i ? gsl_matrix_get(mi->chol, j, i) : 0.0);
    mi->packed = malloc(n * (n + 1) / 2 * sizeof *mi->packed);
    if (mi->packed == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    for (size_t i = 0, k = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            mi->packed[k++] = gsl_matrix_get(mi->chol, i, j);
    m->covariance = mi->cov;
    m->chol_upper = mi->chol;
    m->chol_packed = mi->packed;
    return TC_OK;
}

/* ---- the evaluation plan (scorecards) ---- */

static uint8_t reader_of(const tc_attr *a)
{
    if (a->type == TC_ATTR_REAL)
        return TC_READ_F64;
    if (a->is_signed)
        return a->width == 1 ? TC_READ_I8 : a->width == 2 ? TC_READ_I16 : TC_READ_I32;
    return a->width == 1 ? TC_READ_U8 : a->width == 2 ? TC_READ_U16 : TC_READ_U32;
}

static int build_plan(model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    const tc_catalog *cat = m->catalog;
    size_t n_bins = 0, table_len = 0, n_thr = 0, n_spec = 0;
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *ch = &m->chars[j];
        const tc_attr *a = ch->attr;
        n_bins += ch->n_bins;
        if (a->type != TC_ATTR_REAL && a->max - a->min + 1 <= TC_MODEL_TABLE_SPAN_MAX)
            table_len += (size_t)(a->max - a->min + 1);
        n_thr += ch->n_bins + 4;
        n_spec += TC_MODEL_SPECIALS_MAX;
    }
    if (table_len > TC_MODEL_TABLE_POOL_MAX)
        return tc_errorf(err, TC_EMODEL, "%s: lookup tables would exceed %u bytes", m->path,
                         TC_MODEL_TABLE_POOL_MAX);
    mi->pchars = calloc(m->n_chars, sizeof *mi->pchars);
    mi->tables = calloc(table_len + 1, 1);
    mi->thresholds = calloc(n_thr, sizeof *mi->thresholds);
    mi->thr_bin = calloc(n_thr, 1);
    mi->specials = calloc(n_spec, sizeof *mi->specials);
    mi->special_bin = calloc(n_spec, 1);
    mi->bin_points = calloc(n_bins, sizeof(double));
    mi->bin_woe = calloc(n_bins, sizeof(double));
    mi->bin_eta = calloc(n_bins, sizeof(double));
    mi->bin_lost_max = calloc(n_bins, sizeof(double));
    mi->bin_lost_base = calloc(n_bins, sizeof(double));
    if (mi->pchars == NULL || mi->tables == NULL || mi->thresholds == NULL ||
        mi->thr_bin == NULL || mi->specials == NULL || mi->special_bin == NULL ||
        mi->bin_points == NULL || mi->bin_woe == NULL || mi->bin_eta == NULL ||
        mi->bin_lost_max == NULL || mi->bin_lost_base == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    size_t bitmap = (cat->n_attrs + 7) / 8, bin_base = 0, toff = 0, thoff = 0, soff = 0;
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *ch = &m->chars[j];
        const tc_attr *a = ch->attr;
        tc_plan_char *pc = &mi->pchars[j];
        pc->offset = (uint32_t)(TC_RECORD_HEADER_LEN + bitmap + a->offset);
        pc->miss_byte = (uint16_t)(TC_RECORD_HEADER_LEN + ch->attr_index / 8);
        pc->miss_mask = (uint8_t)(1u << (ch->attr_index % 8));
        pc->reader = reader_of(a);
        pc->group = (uint8_t)ch->reason;
        pc->bin_base = (uint16_t)bin_base;
        pc->has_missing = ch->missing == TC_MISSING_BIN;
        for (size_t i = 0; i < ch->n_bins; i++) {
            const tc_bin *b = &ch->bins[i];
            size_t k = bin_base + i;
            mi->bin_points[k] = b->points;
            mi->bin_woe[k] = b->woe;
            mi->bin_eta[k] = ch->coefficient * b->woe;
            mi->bin_lost_max[k] = ch->max_points - b->points;
            mi->bin_lost_base[k] = ch->has_baseline ? fmax(ch->baseline - b->points, 0) : 0;
            if (b->kind == TC_BIN_MISSING)
                pc->missing_bin = (uint8_t)i;
        }
        if (a->type != TC_ATTR_REAL && a->max - a->min + 1 <= TC_MODEL_TABLE_SPAN_MAX) {
            /* Every whole value of the range gets its bin now; evaluation is one load. */
            size_t span = (size_t)(a->max - a->min + 1);
            pc->use_table = 1;
            pc->table_min = (int32_t)a->min;
            pc->table_len = (uint32_t)span;
            pc->table_off = (uint32_t)toff;
            for (size_t v = 0; v < span; v++) {
                size_t b = bin_of_value(ch, a->min + (double)v);
                mi->tables[toff + v] = (uint8_t)(b == SIZE_MAX ? 0 : b);
            }
            toff += span;
        } else {
            size_t n_int = 0;
            pc->thr_off = (uint32_t)thoff;
            for (size_t i = 0; i < ch->n_bins; i++) {
                if (ch->bins[i].kind != TC_BIN_INTERVAL)
                    continue;
                /* ordinal = number of lower bounds (after the first) at or below the value */
                if (n_int > 0)
                    mi->thresholds[thoff + n_int - 1] = ch->bins[i].lower;
                mi->thr_bin[thoff + n_int] = (uint8_t)i;
                n_int++;
            }
            size_t nt = n_int - 1, padded = (nt + 3) / 4 * 4;
            for (size_t k = nt; k < padded; k++)
                mi->thresholds[thoff + k] = INFINITY;
            pc->n_thr = (uint8_t)padded;
            thoff += padded > n_int ? padded : n_int;
            pc->special_off = (uint32_t)soff;
            for (size_t i = 0; i < ch->n_bins; i++)
                if (ch->bins[i].kind == TC_BIN_SPECIAL)
                    for (size_t k = 0; k < ch->bins[i].n_values; k++) {
                        mi->specials[soff + pc->n_special] = ch->bins[i].values[k];
                        mi->special_bin[soff + pc->n_special] = (uint8_t)i;
                        pc->n_special++;
                    }
            soff += pc->n_special;
        }
        bin_base += ch->n_bins;
    }
    tc_model_plan *p = &m->plan;
    p->chars = mi->pchars;
    p->tables = mi->tables;
    p->thresholds = mi->thresholds;
    p->thr_bin = mi->thr_bin;
    p->specials = mi->specials;
    p->special_bin = mi->special_bin;
    p->points = mi->bin_points;
    p->woe = mi->bin_woe;
    p->eta = mi->bin_eta;
    p->lost_max = mi->bin_lost_max;
    p->lost_base = mi->bin_lost_base;
    p->n_groups = m->n_reasons;
    return TC_OK;
}

/* Reason texts are copied so the model outlives the dictionary it was loaded with. */
static int copy_reason_texts(model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    size_t total = 0;
    for (size_t g = 0; g < m->n_reasons; g++)
        total += strlen(mi->reasons[g].code) + strlen(mi->reasons[g].vi) +
                 strlen(mi->reasons[g].en) + 3;
    mi->reason_texts = malloc(total + 1);
    if (mi->reason_texts == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    char *p = mi->reason_texts;
    for (size_t g = 0; g < m->n_reasons; g++) {
        const char **fields[3] = {&mi->reasons[g].code, &mi->reasons[g].vi, &mi->reasons[g].en};
        for (size_t f = 0; f < 3; f++) {
            size_t len = strlen(*fields[f]);
            memcpy(p, *fields[f], len + 1);
            *fields[f] = p;
            p += len + 1;
        }
    }
    return TC_OK;
}

/* SHA-256 over the members that decide how live monitoring counts the model's scores, each as
 * its name and its compact JSON with sorted keys (what jansson prints is a function of the
 * parsed values, so formatting, key order and the other members do not enter). */
static int layout_digest(model_impl *mi, tc_error *err)
{
    static const char *const members[] = {
        "kind",      "catalog_hash", "scaling",         "score_bounds",
        "intercept", "grades",       "characteristics", "development"};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < sizeof members / sizeof *members; i++) {
        json_t *v = json_object_get(mi->root, members[i]);
        char *text =
            v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        ok = (v == NULL || text != NULL) &&
             EVP_DigestUpdate(ctx, members[i], strlen(members[i]) + 1) == 1 &&
             (text == NULL || EVP_DigestUpdate(ctx, text, strlen(text) + 1) == 1);
        free(text);
    }
    unsigned int n = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, mi->pub.layout_sha256, &n) == 1 && n == TC_MODEL_LAYOUT_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? TC_OK : tc_errorf(err, TC_ENOMEM, "hashing the model's layout failed");
}

int tc_model_parse(const char *text, size_t len, const char *origin, const tc_catalog *catalog,
                   const tc_reasons *reasons, tc_model **out, tc_error *err)
{
    static const char *const keys[] = {
        "format_version", "name",         "version",         "kind",
        "product",        "status",       "created_at",      "description",
        "training_fingerprint", "catalog_hash", "scaling",   "score_bounds",
        "grades",         "reasons",      "intercept",       "characteristics",
        "covariance",     "model_card",   "development",     NULL};
    model_impl *mi = calloc(1, sizeof *mi);
    tc_model *m = mi != NULL ? &mi->pub : NULL;
    long format = 0, version = 0;
    int kind = 0, status = 0, rc;
    const char *hash = NULL;
    if (mi == NULL || (mi->path = strdup(origin)) == NULL) {
        free(mi);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    m->path = mi->path;
    m->catalog = catalog;
    tc_jctx root = {.origin = mi->path, .code = TC_EMODEL};
    if ((rc = tc_json_load_buffer(text, len, mi->path, TC_EMODEL, &mi->root, err)) != TC_OK ||
        (rc = tc_json_expect_object(&root, mi->root, keys, err)) != TC_OK ||
        (rc = tc_json_get_int(&root, mi->root, "format_version", 1, 1, 1000, &format, err)) !=
            TC_OK)
        goto fail;
    if (format != TC_MODEL_FORMAT) {
        rc = tc_json_fail(&root, "format_version", err, "%ld is not supported (this build reads %d)",
                          format, TC_MODEL_FORMAT);
        goto fail;
    }
    if ((rc = tc_json_get_string(&root, mi->root, "name", 1, TC_MODEL_NAME_MAX, &m->name, err)) !=
        TC_OK)
        goto fail;
    if (!valid_model_name(m->name)) {
        rc = tc_json_fail(&root, "name", err,
                          "'%s' is not a name: a lower-case letter, then letters, digits, '-'",
                          m->name);
        goto fail;
    }
    if ((rc = tc_json_get_int(&root, mi->root, "version", 1, 1, 1000000, &version, err)) != TC_OK ||
        (rc = get_enum(&root, mi->root, "kind", kind_names, 2, "scorecard, logistic", &kind,
                       err)) != TC_OK ||
        (rc = tc_json_get_string(&root, mi->root, "product", 1, TC_MODEL_NAME_MAX, &m->product,
                                 err)) != TC_OK)
        goto fail;
    m->version = (int)version;
    m->kind = (tc_model_kind)kind;
    if (!valid_model_name(m->product)) {
        rc = tc_json_fail(&root, "product", err,
                          "'%s' is not a product: a lower-case letter, then letters, digits, '-'",
                          m->product);
        goto fail;
    }
    if ((rc = get_enum(&root, mi->root, "status", status_names, 3,
                       "champion, challenger, retired", &status, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, mi->root, "created_at", 1, 32, &m->created_at, err)) !=
            TC_OK)
        goto fail;
    m->status = (tc_model_status)status;
    if (tc_time_parse(m->created_at, strlen(m->created_at), &m->created_at_s) != TC_OK) {
        rc = tc_json_fail(&root, "created_at", err,
                          "'%s' is not a UTC time like 2025-06-01T00:00:00Z", m->created_at);
        goto fail;
    }
    if ((rc = parse_description(&root, mi->root, m, err)) != TC_OK ||
        (rc = parse_fingerprint(&root, mi->root, m, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, mi->root, "catalog_hash", 1, TC_HASH_HEX_LEN + 8, &hash,
                                 err)) != TC_OK)
        goto fail;
    /* Before any attribute is looked up: under another catalog every name may mean another
     * thing. */
    if (strcmp(hash, catalog->hash_hex) != 0) {
        char q[TC_HASH_HEX_LEN + 16];
        rc = tc_json_fail(&root, "catalog_hash", err,
                          "the model was built for catalog %s, but catalog '%s' has hash %s",
                          tc_error_quote(q, sizeof q, hash, strlen(hash)), catalog->name,
                          catalog->hash_hex);
        goto fail;
    }
    if ((rc = parse_model_card(&root, mi->root, mi, err)) != TC_OK ||
        (rc = parse_scaling(&root, mi->root, m, err)) != TC_OK ||
        (rc = parse_reason_settings(&root, mi->root, m, err)) != TC_OK ||
        (rc = tc_json_get_number(&root, mi->root, "intercept", 1, &m->intercept, err)) != TC_OK ||
        (rc = parse_characteristics(&root, mi->root, mi, reasons, err)) != TC_OK ||
        (rc = parse_grades(&root, mi->root, mi, err)) != TC_OK ||
        (rc = build_param_names(mi, err)) != TC_OK ||
        (rc = parse_covariance(&root, mi->root, mi, err)) != TC_OK ||
        (rc = copy_reason_texts(mi, err)) != TC_OK)
        goto fail;
    if (m->kind == TC_MODEL_SCORECARD && (rc = build_plan(mi, err)) != TC_OK)
        goto fail;
    if ((rc = tc_model_dev_parse(&root, mi->root, m, &mi->dev, err)) != TC_OK ||
        (rc = layout_digest(mi, err)) != TC_OK)
        goto fail;
    m->dev = mi->dev;
    *out = m;
    return TC_OK;
fail:
    tc_model_free(m);
    return rc;
}

int tc_model_load(const char *path, const tc_catalog *catalog, const tc_reasons *reasons,
                  tc_model **out, tc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tc_read_file(path, TC_MODEL_FILE_MAX, TC_EMODEL, &text, &len, err);
    if (rc == TC_OK)
        rc = tc_model_parse(text, len, path, catalog, reasons, out, err);
    free(text);
    return rc;
}

void tc_model_free(tc_model *m)
{
    if (m == NULL)
        return;
    model_impl *mi = (model_impl *)m;
    free(mi->pchars);
    free(mi->tables);
    free(mi->thresholds);
    free(mi->thr_bin);
    free(mi->specials);
    free(mi->special_bin);
    free(mi->bin_points);
    free(mi->bin_woe);
    free(mi->bin_eta);
    free(mi->bin_lost_max);
    free(mi->bin_lost_base);
    gsl_matrix_free(mi->chol);
    free(mi->packed);
    gsl_matrix_free(mi->cov);
    free(mi->param_names);
    free(mi->param_name_buf);
    free(mi->reason_texts);
    free(mi->reasons);
    free(mi->grades);
    free(mi->terms);
    free(mi->values);
    free(mi->bins);
    free(mi->chars);
    tc_model_dev_free(mi->dev);
    json_decref(mi->root);
    free(mi->card);
    free(mi->path);
    free(mi);
}

const tc_grade *tc_model_grade(const tc_model *m, double score)
{
    for (size_t g = 0; g + 1 < m->n_grades; g++)
        if (score >= m->grades[g].min_score)
            return &m->grades[g];
    return &m->grades[m->n_grades - 1];
}

size_t tc_model_grade_index(const tc_model *m, const tc_grade *grade)
{
    return (size_t)(grade - m->grades);
}

double tc_model_score_of_eta(const tc_model *m, double eta)
{
    return m->offset - m->factor * eta;
}

double tc_model_pd_at_score(const tc_model *m, double score)
{
    double eta = (m->offset - score) / m->factor;
    return 1.0 / (1.0 + exp(-eta));
}

int tc_model_find_char(const tc_model *m, const char *attribute)
{
    for (size_t j = 0; j < m->n_chars; j++)
        if (strcmp(m->chars[j].attribute, attribute) == 0)
            return (int)j;
    return -1;
}
