/* The "development" member of a model file: parsed as strictly as the rest of the file. */
#include "tc_model_dev.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tc_model_impl.h"

/* An array of exactly n numbers, each in [lo, hi] (share arrays: [0, 1], adding up to 1). */
static int get_numbers(const tc_jctx *c, json_t *obj, const char *key, size_t n, int shares,
                       double *out, tc_error *err)
{
    json_t *arr = NULL;
    int rc = tc_json_get_array(c, obj, key, 1, 1024, &arr, err);
    if (rc != TC_OK)
        return rc;
    if (json_array_size(arr) != n)
        return tc_json_fail(c, key, err, "%zu numbers, expected %zu", json_array_size(arr), n);
    tc_jctx ac = tc_jctx_key(c, key);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        tc_jctx ec = tc_jctx_index(&ac, i);
        if ((rc = tc_json_number_value(&ec, json_array_get(arr, i), &out[i], err)) != TC_OK)
            return rc;
        if (shares && !(out[i] >= 0 && out[i] <= 1))
            return tc_json_fail(&ec, NULL, err, "%g is not a share in [0, 1]", out[i]);
        if (!shares && i > 0 && !(out[i] > out[i - 1]))
            return tc_json_fail(&ec, NULL, err, "%g is not above the cut before it", out[i]);
        sum += out[i];
    }
    if (shares && !(fabs(sum - 1) <= TC_DEV_SHARE_TOLERANCE))
        return tc_json_fail(c, key, err, "the shares add up to %.6g, not 1", sum);
    return TC_OK;
}

static int parse_chars(const tc_jctx *ctx, json_t *dev, const tc_model *m, tc_model_dev *d,
                       tc_error *err)
{
    static const char *const keys[] = {"attribute", "shares", NULL};
    json_t *arr = NULL;
    int rc = tc_json_get_array(ctx, dev, "characteristics", 0, TC_MODEL_CHARS_MAX, &arr, err);
    if (rc != TC_OK || arr == NULL)
        return rc;
    if (m->kind != TC_MODEL_SCORECARD)
        return tc_json_fail(ctx, "characteristics", err,
                            "only a scorecard's characteristics have bins to compare");
    if (json_array_size(arr) != m->n_chars)
        return tc_json_fail(ctx, "characteristics", err, "%zu entries for %zu characteristics",
                            json_array_size(arr), m->n_chars);
    size_t total = 0;
    for (size_t j = 0; j < m->n_chars; j++)
        total += m->chars[j].n_bins;
    if ((d->storage = calloc(total > 0 ? total : 1, sizeof *d->storage)) == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    tc_jctx cc = tc_jctx_key(ctx, "characteristics");
    double *p = d->storage;
    for (size_t j = 0; j < m->n_chars; j++) {
        tc_jctx ec = tc_jctx_index(&cc, j);
        json_t *o = json_array_get(arr, j);
        const char *attr = NULL;
        if ((rc = tc_json_expect_object(&ec, o, keys, err)) != TC_OK ||
            (rc = tc_json_get_string(&ec, o, "attribute", 1, 64, &attr, err)) != TC_OK)
            return rc;
        if (strcmp(attr, m->chars[j].attribute) != 0)
            return tc_json_fail(&ec, "attribute", err, "'%s' is not characteristics[%zu] '%s'",
                                attr, j, m->chars[j].attribute);
        if ((rc = get_numbers(&ec, o, "shares", m->chars[j].n_bins, 1, p, err)) != TC_OK)
            return rc;
        d->char_share[j] = p;
        p += m->chars[j].n_bins;
    }
    d->n_chars = m->n_chars;
    return TC_OK;
}

int tc_model_dev_parse(const tc_jctx *ctx, json_t *root, const tc_model *m, tc_model_dev **out,
                       tc_error *err)
{
    static const char *const keys[] = {"rows", "score", "grades", "characteristics", NULL};
    static const char *const skeys[] = {"cuts", "shares", NULL};
    json_t *dev = NULL, *score = NULL, *cuts = NULL;
    *out = NULL;
    int rc = tc_json_get_object(ctx, root, "development", 0, &dev, err);
    if (rc != TC_OK || dev == NULL)
        return rc;
    tc_model_dev *d = calloc(1, sizeof *d);
    if (d == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    tc_jctx c = tc_jctx_key(ctx, "development");
    if ((rc = tc_json_expect_object(&c, dev, keys, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, dev, "rows", 1, &d->rows, err)) != TC_OK)
        goto fail;
    if (!(d->rows > 0)) {
        rc = tc_json_fail(&c, "rows", err, "%g is not a positive number of rows", d->rows);
        goto fail;
    }
    tc_jctx sc = tc_jctx_key(&c, "score");
    if ((rc = tc_json_get_object(&c, dev, "score", 1, &score, err)) != TC_OK ||
        (rc = tc_json_expect_object(&sc, score, skeys, err)) != TC_OK ||
        (rc = tc_json_get_array(&sc, score, "cuts", 1, TC_DEV_SCORE_BINS_MAX - 1, &cuts, err)) !=
            TC_OK)
        goto fail;
    d->n_score_bins = json_array_size(cuts) + 1;
    if (d->n_score_bins < 2) {
        rc = tc_json_fail(&sc, "cuts", err, "at least one cut: one bin compares nothing");
        goto fail;
    }
    if ((rc = get_numbers(&sc, score, "cuts", d->n_score_bins - 1, 0, d->score_cuts, err)) !=
            TC_OK ||
        (rc = get_numbers(&sc, score, "shares", d->n_score_bins, 1, d->score_share, err)) !=
            TC_OK ||
        (rc = get_numbers(&c, dev, "grades", m->n_grades, 1, d->grade_share, err)) != TC_OK ||
        (rc = parse_chars(&c, dev, m, d, err)) != TC_OK)
        goto fail;
    *out = d;
    return TC_OK;
fail:
    tc_model_dev_free(d);
    return rc;
}

void tc_model_dev_free(tc_model_dev *d)
{
    if (d == NULL)
        return;
    free(d->storage);
    free(d);
}
