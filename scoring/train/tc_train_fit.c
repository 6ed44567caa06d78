/* The fits of the training pipeline (a part of tc_train.c's, not a contract): the scorecard's
 * selection and its logistic fit on weights of evidence, and the logistic model on raw
 * attributes. */
#include "tc_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "tc_record.h"
#include "tc_train_impl.h"

#define PARAM_NAME_MAX (2 * TC_NAME_MAX + TC_LEVEL_LEN_MAX + 8)

/* ---- scorecard: selection and fit ---- */

/* Development rows × (intercept, WoE of the listed characteristics), row-major. */
static double *woe_design(const job *jb, const size_t *which, size_t k)
{
    const tc_train_result *r = jb->r;
    size_t n = jb->ds->n_rows, p = k + 1;
    double *X = malloc((r->n_dev > 0 ? r->n_dev : 1) * p * sizeof *X);
    if (X == NULL)
        return NULL;
    double woe[TC_TRAIN_ATTRS_MAX][TC_MODEL_BINS_MAX];
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < r->chars[which[a]].bin.n_bins; b++)
            woe[a][b] = r->chars[which[a]].bin.bins[b].woe;
    size_t row = 0;
    for (size_t i = 0; i < n; i++) {
        if (!jb->use[i])
            continue;
        double *x = X + row * p;
        x[0] = 1.0;
        for (size_t a = 0; a < k; a++)
            x[a + 1] = woe[a][jb->bins[which[a] * n + i]];
        row++;
    }
    return X;
}

static double *dev_vector(const job *jb, const double *v)
{
    double *out = malloc((jb->r->n_dev > 0 ? jb->r->n_dev : 1) * sizeof *out);
    if (out == NULL)
        return NULL;
    size_t row = 0;
    for (size_t i = 0; i < jb->ds->n_rows; i++)
        if (jb->use[i])
            out[row++] = v != NULL ? v[i] : 1.0;
    return out;
}

static int cmp_iv_desc(const void *x, const void *y, void *arg)
{
    const tc_train_result *r = arg;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    double ia = r->chars[a].bin.iv, ib = r->chars[b].bin.iv;
    if (ia != ib)
        return ia > ib ? -1 : 1;
    return (a > b) - (a < b);
}

/* Of every pair of WoE columns correlated above the limit, keep the one with the higher IV:
 * candidates are taken by IV, strongest first, and one is dropped when it is too correlated
 * with one already kept (so every drop names a characteristic that stays). */
static int drop_correlated(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    size_t which[TC_TRAIN_ATTRS_MAX], k = 0;
    for (size_t j = 0; j < r->n_chars; j++)
        if (r->chars[j].status == TC_CHAR_SELECTED)
            which[k++] = j;
    if (k < 2)
        return TC_OK;
    double *X = woe_design(jb, which, k), *w = dev_vector(jb, jb->ds->w);
    double *C = calloc((k + 1) * (k + 1), sizeof *C);
    int rc = TC_OK;
    if (X == NULL || w == NULL || C == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    size_t p = k + 1, nd = r->n_dev;
    /* Weighted moments: scale rows by √w and form XᵀX; the intercept column gives the sums. */
    for (size_t i = 0; i < nd; i++) {
        double s = sqrt(w[i]);
        for (size_t a = 0; a < p; a++)
            X[i * p + a] *= s;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)p, (int)nd, 1.0, X, (int)p, 0.0, C,
                (int)p);
    double sw = C[0];
    size_t order[TC_TRAIN_ATTRS_MAX], pos[TC_TRAIN_ATTRS_MAX];
    for (size_t a = 0; a < k; a++) {
        order[a] = which[a];
        pos[a] = a;
    }
    qsort_r(order, k, sizeof *order, cmp_iv_desc, r);
    for (size_t a = 0; a < k; a++)
        for (size_t q = 0; q < k; q++)
            if (which[q] == order[a])
                pos[a] = q;
    for (size_t a = 1; a < k; a++) {
        size_t qa = pos[a], worst = SIZE_MAX;
        double worst_r = 0;
        for (size_t b = 0; b < a; b++) {
            if (r->chars[order[b]].status != TC_CHAR_SELECTED)
                continue;
            size_t qb = pos[b], lo = qa < qb ? qa : qb, hi = qa < qb ? qb : qa;
            double ml = C[lo + 1] / sw, mh = C[hi + 1] / sw;
            double vll = C[(lo + 1) * p + lo + 1] / sw - ml * ml;
            double vhh = C[(hi + 1) * p + hi + 1] / sw - mh * mh;
            double vlh = C[(lo + 1) * p + hi + 1] / sw - ml * mh;
            double corr = vll > 0 && vhh > 0 ? vlh / sqrt(vll * vhh) : 0;
            if (fabs(corr) > jb->spec->max_correlation && fabs(corr) > fabs(worst_r)) {
                worst = b;
                worst_r = corr;
            }
        }
        if (worst == SIZE_MAX)
            continue;
        tc_train_char *drop = &r->chars[order[a]], *keep = &r->chars[order[worst]];
        drop->status = TC_CHAR_CORRELATED;
        snprintf(drop->why, sizeof drop->why,
                 "WoE correlated %.3f with '%s' (above %.3g), whose IV %.4f is higher than "
                 "%.4f",
                 worst_r, keep->attr->name, jb->spec->max_correlation, keep->bin.iv, drop->bin.iv);
    }
out:
    free(C);
    free(w);
    free(X);
    return rc;
}

static int set_param_names(tc_train_result *r, size_t n, tc_error *err)
{
    for (size_t p = 0; p < r->n_params; p++)
        free(r->param_names[p]);
    free(r->param_names);
    r->n_params = 0;
    r->param_names = calloc(n, sizeof *r->param_names);
    if (r->param_names == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    for (size_t p = 0; p < n; p++)
        if ((r->param_names[p] = malloc(PARAM_NAME_MAX)) == NULL)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    r->n_params = n;
    snprintf(r->param_names[0], PARAM_NAME_MAX, "intercept");
    return TC_OK;
}

static void fit_options(const job *jb, tc_logit_options *o)
{
    memset(o, 0, sizeof *o);
    o->l2 = jb->spec->l2;
    o->intercept = 0;
    o->max_iterations = jb->spec->max_iterations;
    o->tolerance = jb->spec->tolerance;
    o->names = (const char *const *)jb->r->param_names;
}

int tc_train_fit_scorecard(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_train_spec *s = jb->spec;
    double *y = dev_vector(jb, jb->ds->y),
           *w = jb->ds->w != NULL ? dev_vector(jb, jb->ds->w) : NULL;
    int rc = TC_OK;
    if (y == NULL || (jb->ds->w != NULL && w == NULL)) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        size_t which[TC_TRAIN_ATTRS_MAX], k = 0;
        for (size_t j = 0; j < r->n_chars; j++)
            if (r->chars[j].status == TC_CHAR_SELECTED)
                which[k++] = j;
        if (k == 0) {
            rc = tc_errorf(err, TC_EINVAL,
                           "%s: no characteristic is left after selection (see each "
                           "attribute's reason in the report); lower selection.min_iv or add "
                           "attributes",
                           s->origin);
            goto out;
        }
        if ((rc = set_param_names(r, k + 1, err)) != TC_OK)
            goto out;
        for (size_t a = 0; a < k; a++) {
            snprintf(r->param_names[a + 1], PARAM_NAME_MAX, "%s", r->chars[which[a]].attr->name);
            r->chars[which[a]].param = a + 1;
            r->chars[which[a]].n_params = 1;
        }
        double *X = woe_design(jb, which, k);
        if (X == NULL) {
            rc = tc_errorf(err, TC_ENOMEM, "out of memory");
            goto out;
        }
        tc_logit_options lo;
        fit_options(jb, &lo);
        tc_logit_result_free(r->fit);
        r->fit = NULL;
        rc = tc_logit_fit(X, y, w, r->n_dev, k + 1, &lo, &r->fit, err);
        free(X);
        if (rc != TC_OK) {
            tc_error_prefix(err, "fitting the scorecard on %zu development rows", r->n_dev);
            goto out;
        }
        /* WoE is ln(%good/%bad), η the log-odds of bad: a coefficient at or above 0 turns the
         * characteristic's bins against themselves. */
        size_t worst = SIZE_MAX;
        for (size_t a = 0; a < k; a++)
            if (r->fit->coef[a + 1] >= 0 &&
                (worst == SIZE_MAX || r->fit->z[a + 1] > r->fit->z[worst + 1]))
                worst = a;
        if (worst == SIZE_MAX)
            break;
        tc_train_char *c = &r->chars[which[worst]];
        c->status = TC_CHAR_WRONG_SIGN;
        snprintf(c->why, sizeof c->why,
                 "coefficient %+.4f (z %.2f) with the others in the model: its WoE works "
                 "against its own bins, usually collinearity; refitted without it",
                 r->fit->coef[worst + 1], r->fit->z[worst + 1]);
    }
    /* Points: −factor·β·WoE plus the intercept's share, rounded. */
    double factor = s->pdo / M_LN2, offset = s->points - factor * log(s->odds);
    size_t k = r->n_params - 1;
    double share = (offset - factor * r->fit->coef[0]) / (double)k;
    int m = 0;
    for (size_t j = 0; j < r->n_chars; j++) {
        tc_train_char *c = &r->chars[j];
        if (c->status != TC_CHAR_SELECTED)
            continue;
        c->model_index = m++;
        double beta = r->fit->coef[c->param];
        for (size_t b = 0; b < c->bin.n_bins; b++)
            c->points[b] = tc_train_round(-factor * beta * c->bin.bins[b].woe + share, s->rounding);
    }
out:
    free(w);
    free(y);
    return rc;
}

int tc_train_select_scorecard(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_train_spec *s = jb->spec;
    for (size_t j = 0; j < r->n_chars; j++) {
        tc_train_char *c = &r->chars[j];
        c->status = TC_CHAR_SELECTED;
        if (tc_binning_nonempty(&c->bin) < 2) {
            c->status = TC_CHAR_ONE_BIN;
            snprintf(c->why, sizeof c->why,
                     "one bin with data after merging (%zu fine classes): no information",
                     c->bin.n_fine);
        } else if (c->bin.iv < s->min_iv) {
            c->status = TC_CHAR_LOW_IV;
            snprintf(c->why, sizeof c->why, "IV %.4f below %.3g: too weak to carry points",
                     c->bin.iv, s->min_iv);
        }
    }
    return drop_correlated(jb, err);
}

/* ---- logistic on raw attributes ---- */

/* The design entries of attribute value v for characteristic c, as tc_model_char_terms will
 * compute them from the model file. */
static void raw_terms(const tc_train_char *c, double v, int present, double *x)
{
    const tc_train_attr *ta = c->attr;
    size_t main_n = c->n_params - (c->missing_term ? 1 : 0);
    if (!present && c->missing_term) {
        for (size_t k = 0; k < main_n; k++)
            x[k] = 0;
        x[main_n] = 1;
        return;
    }
    if (!present)
        v = ta->impute_value;
    switch (ta->transform) {
    case TC_TRANSFORM_INDICATOR:
        for (size_t k = 0; k < main_n; k++)
            x[k] = v == (double)c->levels[k] ? 1.0 : 0.0;
        break;
    case TC_TRANSFORM_LOG1P:
        x[0] = log1p(v);
        break;
    case TC_TRANSFORM_CLIP:
        x[0] = fmin(fmax(v, ta->clip_min), ta->clip_max);
        break;
    default:
        x[0] = v;
        break;
    }
    if (c->missing_term)
        x[main_n] = 0;
}

int tc_train_fit_logistic(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_dataset *ds = jb->ds;
    size_t n = ds->n_rows, p = 1;
    int rc = TC_OK;
    double *X = NULL, *y = NULL, *w = NULL;
    for (size_t j = 0; j < r->n_chars; j++) {
        tc_train_char *c = &r->chars[j];
        const tc_train_attr *ta = c->attr;
        const tc_dataset_col *col = &ds->cols[jb->col[j]];
        c->status = TC_CHAR_SELECTED;
        c->model_index = (int)j;
        c->param = p;
        c->n_levels = 0;
        if (ta->transform == TC_TRANSFORM_INDICATOR) {
            /* Every level seen in development but the most frequent (the reference). */
            double cnt[TC_LEVELS_MAX + 1] = {0};
            for (size_t i = 0; i < n; i++)
                if (jb->use[i] && !col->missing[i])
                    cnt[(size_t)col->v[i]] += tc_dataset_weight(ds, i);
            size_t ref = 0;
            for (size_t l = 1; l < ta->attr->n_levels; l++)
                if (cnt[l] > cnt[ref])
                    ref = l;
            for (size_t l = 0; l < ta->attr->n_levels; l++)
                if (l != ref && cnt[l] > 0)
                    c->levels[c->n_levels++] = (uint8_t)l;
            c->n_params = c->n_levels;
        } else {
            c->n_params = 1;
        }
        c->missing_term = ta->attr->missing_allowed && ta->missing == TC_TERM_INDICATOR;
        c->n_params += (size_t)c->missing_term;
        p += c->n_params;
    }
    if (p > TC_MODEL_PARAMS_MAX)
        return tc_errorf(err, TC_EINVAL,
                         "%s: the terms need %zu coefficients, more than the %d "
                         "a model may have",
                         jb->spec->origin, p, TC_MODEL_PARAMS_MAX);
    if ((rc = set_param_names(r, p, err)) != TC_OK)
        return rc;
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        const tc_attr *a = c->attr->attr;
        size_t q = c->param;
        if (c->attr->transform == TC_TRANSFORM_INDICATOR)
            for (size_t k = 0; k < c->n_levels; k++)
                snprintf(r->param_names[q++], PARAM_NAME_MAX, "%s=%s", a->name,
                         a->levels[c->levels[k]]);
        else
            snprintf(r->param_names[q++], PARAM_NAME_MAX, "%s", a->name);
        if (c->missing_term)
            snprintf(r->param_names[q], PARAM_NAME_MAX, "%s:missing", a->name);
    }
    X = malloc((r->n_dev > 0 ? r->n_dev : 1) * p * sizeof *X);
    y = dev_vector(jb, ds->y);
    w = ds->w != NULL ? dev_vector(jb, ds->w) : NULL;
    if (X == NULL || y == NULL || (ds->w != NULL && w == NULL)) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    size_t row = 0;
    for (size_t i = 0; i < n; i++) {
        if (!jb->use[i])
            continue;
        double *x = X + row++ * p;
        x[0] = 1;
        for (size_t j = 0; j < r->n_chars; j++) {
            const tc_train_char *c = &r->chars[j];
            const tc_dataset_col *col = &ds->cols[jb->col[j]];
            raw_terms(c, col->v[i], !col->missing[i], x + c->param);
        }
    }
    tc_logit_options lo;
    fit_options(jb, &lo);
    if ((rc = tc_logit_fit(X, y, w, r->n_dev, p, &lo, &r->fit, err)) != TC_OK)
        tc_error_prefix(err, "fitting the logistic model on %zu development rows", r->n_dev);
out:
    free(w);
    free(y);
    free(X);
    return rc;
}
