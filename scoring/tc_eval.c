#include "tc_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_vector.h>

struct tc_eval_workspace {
    gsl_vector *x; /* design vector, then Lᵀx in place */
};

int tc_eval_workspace_new(tc_eval_workspace **out, tc_error *err)
{
    tc_eval_workspace *ws = calloc(1, sizeof *ws);
    if (ws == NULL || (ws->x = gsl_vector_calloc(TC_MODEL_PARAMS_MAX)) == NULL) {
        free(ws);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    *out = ws;
    return TC_OK;
}

void tc_eval_workspace_free(tc_eval_workspace *ws)
{
    if (ws == NULL)
        return;
    gsl_vector_free(ws->x);
    free(ws);
}

/* Little-endian slot reads, as tc_record writes them. */
static inline uint64_t le16(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8;
}

static inline uint64_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

static inline int64_t read_int(const unsigned char *s, unsigned reader)
{
    switch (reader) {
    case TC_READ_U8:
        return s[0];
    case TC_READ_U16:
        return (int64_t)le16(s);
    case TC_READ_U32:
        return (int64_t)le32(s);
    case TC_READ_I8:
        return (int8_t)s[0];
    case TC_READ_I16:
        return (int16_t)(uint16_t)le16(s);
    default:
        return (int32_t)(uint32_t)le32(s);
    }
}

static inline double read_real(const unsigned char *s)
{
    uint64_t bits = le32(s) | le32(s + 4) << 32;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* The scorecard loop: every lookup was prepared at load (tc_model_plan), so per characteristic
 * this is a slot read, one table load or a branch-free threshold count, and a few adds. The only
 * branches depend on the model (reader kind, table or not), which the predictor learns. */
static unsigned eval_scorecard(const tc_model *m, const unsigned char *bytes, const double *lost,
                               double *x, double *group_lost, tc_score_result *out)
{
    const tc_model_plan *p = &m->plan;
    double points = 0, eta = m->intercept;
    unsigned bad = 0;
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_plan_char *pc = &p->chars[j];
        unsigned miss = (bytes[pc->miss_byte] & pc->miss_mask) != 0;
        const unsigned char *s = bytes + pc->offset;
        unsigned bin;
        if (pc->use_table) {
            int64_t idx = read_int(s, pc->reader) - pc->table_min;
            /* In-range values need no clamp; a corrupt slot must not read outside the table. */
            idx = idx < 0 ? 0 : idx;
            idx = idx >= (int64_t)pc->table_len ? (int64_t)pc->table_len - 1 : idx;
            bin = p->tables[pc->table_off + (size_t)idx];
        } else {
            double v = pc->reader == TC_READ_F64 ? read_real(s) : (double)read_int(s, pc->reader);
            const double *thr = p->thresholds + pc->thr_off;
            unsigned ord = 0;
            for (unsigned k = 0; k < pc->n_thr; k += 4)
                ord += (unsigned)(v >= thr[k]) + (unsigned)(v >= thr[k + 1]) +
                       (unsigned)(v >= thr[k + 2]) + (unsigned)(v >= thr[k + 3]);
            bin = p->thr_bin[pc->thr_off + ord];
            for (unsigned k = 0; k < pc->n_special; k++)
                bin = v == p->specials[pc->special_off + k] ? p->special_bin[pc->special_off + k]
                                                            : bin;
        }
        bad |= miss & !pc->has_missing;
        /* Missing values are common (no credit history): select without a branch. */
        bin ^= (bin ^ pc->missing_bin) & (0u - miss);
        size_t k = (size_t)pc->bin_base + bin;
        double pts = p->points[k];
        out->points[j] = pts;
        out->bin[j] = (int16_t)bin;
        points += pts;
        eta += p->eta[k];
        x[1 + j] = p->woe[k];
        group_lost[pc->group] += lost[k]; /* clamped at load: only losses count */
    }
    out->score_raw = points;
    out->eta = eta;
    return bad;
}

static unsigned eval_logistic(const tc_model *m, const tc_record *rec, int baseline, double *x,
                              double *group_lost, tc_score_result *out)
{
    double points = m->base_points, eta = m->intercept;
    unsigned bad = 0;
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *c = &m->chars[j];
        tc_value v = tc_record_get(rec, c->attr_index);
        bad |= !v.present && c->missing == TC_MISSING_NONE;
        double contrib = tc_model_char_terms(c, v, x + c->param);
        double pts = -m->factor * contrib;
        out->points[j] = pts;
        out->bin[j] = -1;
        points += pts;
        eta += contrib;
        double l = (baseline ? c->baseline : c->max_points) - pts;
        group_lost[c->reason] += l > 0 ? l : 0;
    }
    out->score_raw = points;
    out->eta = eta;
    return bad;
}

/* The n largest groups, in order, ties to the earlier group (the model's tie-break order).
 *
 * Points lost are never negative, so their IEEE bit patterns order like the values and can be
 * compared as integers: the selection below is compare-and-select on integers, without a branch
 * that depends on the data. A branchy insertion sort cost some 60 ns here in mispredictions,
 * because whether a group enters the top list is a coin toss on real records. Groups arrive in
 * tie-break order, so a later group moves up only past strictly smaller values. */
static size_t top4(const double *group_lost, size_t n_groups, size_t *idx, double *val)
{
    uint64_t v0 = 0, v1 = 0, v2 = 0, v3 = 0;
    size_t g0 = 0, g1 = 0, g2 = 0, g3 = 0;
    for (size_t g = 0; g < n_groups; g++) {
        uint64_t v;
        memcpy(&v, &group_lost[g], sizeof v);
        int c0 = v > v0, c1 = v > v1, c2 = v > v2, c3 = v > v3; /* c0 ⇒ c1 ⇒ c2 ⇒ c3 */
        v3 = c2 ? v2 : c3 ? v : v3;
        g3 = c2 ? g2 : c3 ? g : g3;
        v2 = c1 ? v1 : c2 ? v : v2;
        g2 = c1 ? g1 : c2 ? g : g2;
        v1 = c0 ? v0 : c1 ? v : v1;
        g1 = c0 ? g0 : c1 ? g : g1;
        v0 = c0 ? v : v0;
        g0 = c0 ? g : g0;
    }
    uint64_t vs[4] = {v0, v1, v2, v3};
    size_t gs[4] = {g0, g1, g2, g3}, nr = 0;
    for (; nr < 4 && vs[nr] != 0; nr++) {
        memcpy(&val[nr], &vs[nr], sizeof val[nr]);
        idx[nr] = gs[nr];
    }
    return nr;
}

/* More than 4 reasons (up to TC_REASONS_OUT_MAX): the same network over TC_REASONS_OUT_MAX slots,
 * slot 0 a sentinel no value exceeds, so every slot has a slot above it. */
__attribute__((noinline)) static size_t top_n(const double *group_lost, size_t n_groups, size_t n, size_t *idx,
                    double *val)
{
    uint64_t vs[TC_REASONS_OUT_MAX + 1] = {UINT64_MAX};
    size_t gs[TC_REASONS_OUT_MAX + 1] = {0}, nr = 0;
    for (size_t g = 0; g < n_groups; g++) {
        uint64_t v;
        memcpy(&v, &group_lost[g], sizeof v);
#pragma GCC unroll 8
        for (size_t k = TC_REASONS_OUT_MAX; k > 0; k--) {
            int here = v > vs[k], above = v > vs[k - 1];
            vs[k] = above ? vs[k - 1] : here ? v : vs[k];
            gs[k] = above ? gs[k - 1] : here ? g : gs[k];
        }
    }
    for (; nr < n && vs[nr + 1] != 0; nr++) {
        memcpy(&val[nr], &vs[nr + 1], sizeof val[nr]);
        idx[nr] = gs[nr + 1];
    }
    return nr;
}

static size_t top_reasons(const double *group_lost, size_t n_groups, size_t n, size_t *idx,
                          double *val)
{
    if (n <= 4) {
        size_t nr = top4(group_lost, n_groups, idx, val);
        return nr < n ? nr : n;
    }
    return top_n(group_lost, n_groups, n, idx, val);
}

int tc_model_eval(const tc_model *m, const tc_record *rec, const tc_eval_options *opt,
                  tc_eval_workspace *ws, tc_score_result *out)
{
    static const tc_eval_options defaults = {0};
    if (opt == NULL)
        opt = &defaults;
    if (rec->cat != m->catalog &&
        memcmp(rec->cat->hash, m->catalog->hash, TC_HASH_LEN) != 0)
        return TC_EINVAL;
    if (opt->max_reasons < 0 || opt->max_reasons > TC_REASONS_OUT_MAX)
        return TC_EINVAL;
    size_t n_reasons = opt->max_reasons > 0 ? (size_t)opt->max_reasons : (size_t)m->max_reasons;
    tc_reason_method method = opt->override_method ? opt->method : m->reason_method;
    int baseline = method == TC_REASON_BASELINE;
    if (baseline && opt->override_method)
        for (size_t j = 0; j < m->n_chars; j++)
            if (!m->chars[j].has_baseline)
                return TC_EINVAL;

    double group_lost[TC_MODEL_CHARS_MAX];
    memset(group_lost, 0, m->n_reasons * sizeof group_lost[0]);
    double *x = ws->x->data;
    x[0] = 1.0;
    out->model = m;
    out->n_chars = m->n_chars;
    unsigned bad;
    if (m->kind == TC_MODEL_SCORECARD)
        bad = eval_scorecard(m, rec->bytes, baseline ? m->plan.lost_base : m->plan.lost_max, x,
                             group_lost, out);
    else
        bad = eval_logistic(m, rec, baseline, x, group_lost, out);
    if (bad)
        return TC_ERECORD;

    double s = out->score_raw;
    s = s < m->score_min ? m->score_min : s;
    s = s > m->score_max ? m->score_max : s;
    out->score = s;
    /* One exp for PD and two for the interval would do; e^-(η±z·se) = e^-η · e^∓z·se needs
     * two in all. */
    double e = exp(-out->eta);
    out->pd = 1.0 / (1.0 + e);
    if (opt->no_interval) {
        out->eta_se = 0;
        out->pd_low = out->pd_high = out->pd;
    } else {
        double var = 0;
        cblas_dtpmv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)m->n_params,
                    m->chol_packed, x, 1);
        var = cblas_ddot((int)m->n_params, x, 1, x, 1);
        if (!(var >= 0))
            return TC_ENUMERIC;
        double se = sqrt(var), f = exp(TC_Z95 * se);
        out->eta_se = se;
        out->pd_low = 1.0 / (1.0 + e * f);
        out->pd_high = 1.0 / (1.0 + e / f);
    }
    out->grade = tc_model_grade(m, s);

    size_t idx[TC_REASONS_OUT_MAX];
    double val[TC_REASONS_OUT_MAX];
    size_t nr = top_reasons(group_lost, m->n_reasons, n_reasons, idx, val);
    out->n_reasons = nr;
    for (size_t i = 0; i < nr; i++) {
        const tc_reason_group *g = &m->reasons[idx[i]];
        out->reasons[i].code = g->code;
        out->reasons[i].vi = g->vi;
        out->reasons[i].en = g->en;
        out->reasons[i].points_lost = val[i];
        out->reasons[i].group = idx[i];
    }
    return TC_OK;
}
