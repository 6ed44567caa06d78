/* The covariance of the parameters, and the evaluation plan a scorecard is run by (a part of the
 * model loader; tc_model.h is the contract). */
#include "tc_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "tc_json.h"
#include "tc_model_impl.h"
#include "tc_schema.h"
#include "tc_record.h"

/* ---- covariance ---- */

int tc_model_build_param_names(model_impl *mi, tc_error *err)
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

int tc_model_parse_covariance(const tc_jctx *root, json_t *doc, model_impl *mi, tc_error *err)
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
            return tc_json_fail(
                &ic, NULL, err, "'%s', but the model's coefficient %zu is '%s'",
                tc_error_quote(q, sizeof q, json_string_value(v), json_string_length(v)), p,
                m->param_names[p]);
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
                                    tc_schema_num(n1, a), j, i, tc_schema_num(n2, b));
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

int tc_model_build_plan(model_impl *mi, tc_error *err)
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
    if (mi->pchars == NULL || mi->tables == NULL || mi->thresholds == NULL || mi->thr_bin == NULL ||
        mi->specials == NULL || mi->special_bin == NULL || mi->bin_points == NULL ||
        mi->bin_woe == NULL || mi->bin_eta == NULL || mi->bin_lost_max == NULL ||
        mi->bin_lost_base == NULL)
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
                size_t b = tc_model_bin_of_value(ch, a->min + (double)v);
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
