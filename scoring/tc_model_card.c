/* The model card: what a model-risk review reads about the model (a part of the model loader;
 * tc_model.h is the contract). */
#include "tc_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_json.h"
#include "tc_model_impl.h"
#include "tc_schema.h"
#include "tc_time.h"

/* ---- the model card ---- */

static int card_text(const tc_jctx *c, json_t *obj, const char *key, int required, const char **out,
                     tc_error *err)
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
        return tc_json_fail(c, key, err, "%s is outside [%s, %s]", tc_schema_num(n1, *out),
                            tc_schema_num(n2, lo), tc_schema_num(n3, hi));
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

/* Figures of one sample: the statistics tc_perf defines (see tc_perf.h). */
static int parse_card_sample(const tc_jctx *parent, json_t *v, const char *key, int required,
                             tc_error *err)
{
    static const char *const keys[] = {"rows", "events", "auc",  "gini",
                                       "ks",   "brier",  "hl_p", NULL};
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
                            tc_schema_num(n1, gini), tc_schema_num(n2, auc));
    return TC_OK;
}

/* model_card: optional; what a model-risk reviewer reads first. Only checked and kept for
 * display: the engine never reads it to score. */
int tc_model_parse_card(const tc_jctx *ctx, json_t *root, model_impl *mi, tc_error *err)
{
    static const char *const keys[] = {"intended_use", "training_data", "validation", "limitations",
                                       NULL};
    static const char *const tkeys[] = {"description", "rows", "events", "from", "to", NULL};
    static const char *const vkeys[] = {"method",     "date",      "development",
                                        "validation", "psi_score", NULL};
    json_t *card = NULL, *td = NULL, *val = NULL;
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
    size_t n_limitations;
    if ((rc = tc_schema_limitations(&c, card, NULL, &n_limitations, err)) != TC_OK)
        return rc;
    mi->card = json_dumps(card, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (mi->card == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    mi->pub.model_card = mi->card;
    return TC_OK;
}
