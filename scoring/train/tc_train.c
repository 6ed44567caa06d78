/* The training pipeline: split, binning, selection, fit, model file, validation. The contract and
 * the conventions are in tc_train.h; the model file writer is tc_train_model.c. */
#include "tc_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_rng.h>

#include "tc_eval.h"
#include "tc_record.h"
#include "tc_time.h"
#include "tc_train_impl.h"

static const char *const status_names[] = {"selected", "one bin", "low IV", "correlated",
                                           "wrong sign"};

const char *tc_char_status_name(tc_char_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "?";
}

/* Elapsed time for the report only: it never reaches the model file. */
static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void phase(const tc_train_options *o, const char *what)
{
    if (o->progress != NULL)
        o->progress(o->progress_ctx, what);
}


/* ---- split ---- */

static int day_of(int64_t t)
{
    return (int)(t >= 0 ? t / 86400 : -((-t + 86399) / 86400));
}

static int split_rows(job *jb, tc_error *err)
{
    const tc_train_spec *s = jb->spec;
    const tc_dataset *ds = jb->ds;
    tc_train_result *r = jb->r;
    size_t n = ds->n_rows;
    r->is_val = calloc(n > 0 ? n : 1, 1);
    jb->use = malloc(n > 0 ? n : 1);
    if (r->is_val == NULL || jb->use == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    if (s->split == TC_SPLIT_RANDOM) {
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (rng == NULL)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
        gsl_rng_set(rng, s->seed);
        for (size_t i = 0; i < n; i++)
            r->is_val[i] = gsl_rng_uniform(rng) < s->validation_share;
        gsl_rng_free(rng);
        snprintf(r->split_text, sizeof r->split_text,
                 "random: %.4g %% of rows for validation, seed %u", 100 * s->validation_share,
                 s->seed);
    } else if (s->split == TC_SPLIT_DATE) {
        if (ds->day == NULL)
            return tc_errorf(err, TC_EINVAL, "the split is by date, but the data has no date");
        int from;
        if (s->has_validation_from) {
            from = day_of(s->validation_from);
        } else {
            /* The most recent share of rows: the earliest day from which at most that share
             * of rows remain (whole days, so one day's rows are never split). */
            int lo = ds->day[0], hi = ds->day[0];
            for (size_t i = 1; i < n; i++) {
                lo = ds->day[i] < lo ? ds->day[i] : lo;
                hi = ds->day[i] > hi ? ds->day[i] : hi;
            }
            size_t span = (size_t)(hi - lo) + 1;
            size_t *count = calloc(span, sizeof *count);
            if (count == NULL)
                return tc_errorf(err, TC_ENOMEM, "out of memory");
            for (size_t i = 0; i < n; i++)
                count[ds->day[i] - lo]++;
            size_t tail = 0, d = span;
            while (d > 1 && (double)(tail + count[d - 1]) <= s->validation_share * (double)n)
                tail += count[--d];
            from = lo + (int)d;
            free(count);
        }
        for (size_t i = 0; i < n; i++)
            r->is_val[i] = ds->day[i] >= from;
        char when[TC_TIME_TEXT_LEN];
        tc_time_format((int64_t)from * 86400, when);
        when[10] = '\0';
        snprintf(r->split_text, sizeof r->split_text, "out of time: validation from %s", when);
    } else {
        snprintf(r->split_text, sizeof r->split_text, "none: every row is development");
    }
    double ev[2] = {0, 0}, tot[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        jb->use[i] = !r->is_val[i];
        double w = tc_dataset_weight(ds, i);
        tot[r->is_val[i]] += w;
        ev[r->is_val[i]] += w * ds->y[i];
        if (r->is_val[i])
            r->n_val++;
        else
            r->n_dev++;
    }
    r->has_validation = r->n_val > 0;
    if (s->split != TC_SPLIT_NONE && !r->has_validation)
        return tc_errorf(err, TC_EINVAL, "the split (%s) leaves no validation rows", r->split_text);
    if (r->n_dev == 0 || !(ev[0] > 0) || !(ev[0] < tot[0]))
        return tc_errorf(err, TC_EINVAL,
                         "the development rows (%zu) need both outcomes of '%s' (events %g of "
                         "%g): nothing to train on",
                         r->n_dev, s->target, ev[0], tot[0]);
    if (r->has_validation && (!(ev[1] > 0) || !(ev[1] < tot[1])))
        return tc_errorf(err, TC_EINVAL, "the validation rows (%zu, %s) need both outcomes of '%s'",
                         r->n_val, r->split_text, s->target);
    return TC_OK;
}

static int created_at(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const char *c = jb->opt->created_at != NULL ? jb->opt->created_at : jb->spec->created_at;
    if (c != NULL) {
        int64_t t;
        if (tc_time_parse(c, strlen(c), &t) != TC_OK)
            return tc_errorf(err, TC_EINVAL, "created_at '%s' is not a UTC time like 2026-11-01",
                             c);
        snprintf(r->created_at, sizeof r->created_at, "%s", c);
        return TC_OK;
    }
    /* No clock: the model is as of the last day of its data. */
    if (jb->ds->day == NULL || jb->ds->n_rows == 0)
        return tc_errorf(err, TC_EINVAL,
                         "no created_at: give model.created_at in the spec, --created-at, or a "
                         "date column to take the last date from");
    int hi = jb->ds->day[0];
    for (size_t i = 1; i < jb->ds->n_rows; i++)
        hi = jb->ds->day[i] > hi ? jb->ds->day[i] : hi;
    char when[TC_TIME_TEXT_LEN];
    tc_time_format((int64_t)hi * 86400, when);
    when[10] = '\0';
    snprintf(r->created_at, sizeof r->created_at, "%s", when);
    return TC_OK;
}

/* ---- binning ---- */

static int bin_all(job *jb, tc_error *err)
{
    const tc_dataset *ds = jb->ds;
    tc_train_result *r = jb->r;
    size_t n = ds->n_rows;
    jb->bins = malloc((n > 0 ? n : 1) * r->n_chars);
    if (jb->bins == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    for (size_t j = 0; j < r->n_chars; j++) {
        tc_train_char *c = &r->chars[j];
        const tc_dataset_col *col = &ds->cols[jb->col[j]];
        int rc = tc_binning_fit(col->attr, col->v, col->missing, ds->y, ds->w, jb->use, n,
                                &c->attr->binning, &c->bin, err);
        if (rc != TC_OK) {
            tc_error_prefix(err, "%s: attributes[%zu] (%s)", jb->spec->origin, j, c->attr->name);
            return rc;
        }
        uint8_t *b = jb->bins + j * n;
        for (size_t i = 0; i < n; i++) {
            b[i] = (uint8_t)tc_binning_bin_of(&c->bin, col->v[i], !col->missing[i]);
            if (r->is_val[i]) {
                double w = tc_dataset_weight(ds, i);
                c->val_n[b[i]] += w;
                c->val_events[b[i]] += w * ds->y[i];
            }
        }
        double dev_n[TC_MODEL_BINS_MAX];
        for (size_t k = 0; k < c->bin.n_bins; k++)
            dev_n[k] = c->bin.bins[k].n;
        c->csi = r->has_validation ? tc_psi(dev_n, c->val_n, c->bin.n_bins) : NAN;
        c->model_index = -1;
        if (c->bin.iv > jb->spec->suspicious_iv) {
            c->suspicious = 1;
            snprintf(c->why, sizeof c->why,
                     "IV %.3f above %.3g: suspiciously strong (leakage or a proxy of the "
                     "target?)",
                     c->bin.iv, jb->spec->suspicious_iv);
        }
    }
    return TC_OK;
}

/* ---- the model, evaluated ---- */

/* η and the raw score of every row, with the engine's own arithmetic: the model's per-bin
 * tables (scorecard) or tc_model_char_terms (logistic), summed in model order. */
static int score_rows(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_model *m = r->model;
    const tc_dataset *ds = jb->ds;
    size_t n = ds->n_rows;
    r->eta = malloc((n > 0 ? n : 1) * sizeof(double));
    r->pd = malloc((n > 0 ? n : 1) * sizeof(double));
    r->score = malloc((n > 0 ? n : 1) * sizeof(double));
    if (r->eta == NULL || r->pd == NULL || r->score == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    size_t map[TC_MODEL_CHARS_MAX]; /* model characteristic -> spec attribute */
    for (size_t j = 0; j < r->n_chars; j++)
        if (r->chars[j].model_index >= 0)
            map[r->chars[j].model_index] = j;
    double x[TC_MODEL_PARAMS_MAX];
    for (size_t i = 0; i < n; i++) {
        double eta = m->intercept, points;
        if (m->kind == TC_MODEL_SCORECARD) {
            points = 0;
            for (size_t c = 0; c < m->n_chars; c++) {
                size_t k = (size_t)m->plan.chars[c].bin_base + jb->bins[map[c] * n + i];
                points += m->plan.points[k];
                eta += m->plan.eta[k];
            }
        } else {
            points = m->base_points;
            for (size_t c = 0; c < m->n_chars; c++) {
                const tc_dataset_col *col = &ds->cols[jb->col[map[c]]];
                double contrib =
                    tc_model_char_terms(&m->chars[c], (tc_value){col->v[i], !col->missing[i]}, x);
                points += -m->factor * contrib;
                eta += contrib;
            }
        }
        r->eta[i] = eta;
        r->pd[i] = 1.0 / (1.0 + exp(-eta));
        r->score[i] = points < m->score_min   ? m->score_min
                      : points > m->score_max ? m->score_max
                                              : points;
    }
    return TC_OK;
}

/* The engine scores a sample of rows from encoded records, exactly as the server would; its η
 * and score must equal the trainer's bit for bit. */
static int engine_check(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_model *m = r->model;
    const tc_dataset *ds = jb->ds;
    const tc_catalog *cat = ds->catalog;
    size_t n = ds->n_rows, step = n / TC_TRAIN_CHECK_ROWS + 1;
    tc_value *values = calloc(cat->n_attrs, sizeof *values);
    unsigned char *buf = malloc(tc_record_size(cat));
    tc_eval_workspace *ws = NULL;
    int rc = TC_OK;
    if (values == NULL || buf == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = tc_eval_workspace_new(&ws, err)) != TC_OK)
        goto out;
    for (size_t i = 0; i < n; i += step) {
        for (size_t j = 0; j < r->n_chars; j++) {
            const tc_dataset_col *col = &ds->cols[jb->col[j]];
            values[col->attr_index] = (tc_value){col->v[i], !col->missing[i]};
        }
        tc_record rec;
        size_t len = tc_record_encode(cat, values, 0, buf);
        if ((rc = tc_record_view(cat, buf, len, &rec, err)) != TC_OK)
            goto out;
        tc_score_result res;
        tc_eval_options eo = {.no_interval = 1};
        if ((rc = tc_model_eval(m, &rec, &eo, ws, &res)) != TC_OK) {
            rc = tc_errorf(err, rc, "the engine could not evaluate row %zu (line %ld): %s", i + 1,
                           ds->line[i], tc_strerror(rc));
            goto out;
        }
        double s = res.score;
        if (res.eta != r->eta[i] || s != r->score[i]) {
            rc = tc_errorf(err, TC_ENUMERIC,
                           "internal check failed: on row %zu (line %ld) the engine gives eta "
                           "%.17g and score %.17g, the trainer %.17g and %.17g",
                           i + 1, ds->line[i], res.eta, s, r->eta[i], r->score[i]);
            goto out;
        }
        r->check_rows++;
    }
out:
    tc_eval_workspace_free(ws);
    free(buf);
    free(values);
    return rc;
}

static int metrics_of(job *jb, int val, tc_perf *out, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_dataset *ds = jb->ds;
    size_t n = ds->n_rows, k = val ? r->n_val : r->n_dev;
    double *pd = malloc((k > 0 ? k : 1) * sizeof *pd), *y = malloc((k > 0 ? k : 1) * sizeof *y);
    double *w = ds->w != NULL ? malloc((k > 0 ? k : 1) * sizeof *w) : NULL;
    int rc;
    if (pd == NULL || y == NULL || (ds->w != NULL && w == NULL)) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (r->is_val[i] == val) {
            pd[m] = r->pd[i];
            y[m] = ds->y[i];
            if (w != NULL)
                w[m] = ds->w[i];
            m++;
        }
    rc = tc_perf_compute(pd, y, w, m, out, err);
out:
    free(w);
    free(y);
    free(pd);
    return rc;
}

static int validate(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    const tc_dataset *ds = jb->ds;
    int rc;
    if ((rc = metrics_of(jb, 0, &r->dev, err)) != TC_OK)
        return rc;
    r->psi_score = NAN;
    if (r->has_validation && (rc = metrics_of(jb, 1, &r->val, err)) != TC_OK)
        return rc;
    /* The score bins (deciles of the development scores) and the grades of the development
     * rows: the PSI below, and the development distribution the model file carries for live
     * monitoring. */
    double *dev_scores = malloc(r->n_dev * sizeof *dev_scores);
    if (dev_scores == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < ds->n_rows; i++)
        if (!r->is_val[i])
            dev_scores[m++] = r->score[i];
    r->n_psi_bins = tc_psi_cuts(dev_scores, m, TC_TRAIN_PSI_BINS, r->psi_cuts, err) + 1;
    free(dev_scores);
    for (size_t i = 0; i < ds->n_rows; i++) {
        size_t b = tc_psi_bin(r->psi_cuts, r->n_psi_bins - 1, r->score[i]);
        double w = tc_dataset_weight(ds, i);
        (r->is_val[i] ? r->psi_val : r->psi_dev)[b] += w;
        if (!r->is_val[i]) {
            r->grade_dev[tc_model_grade_index(r->model, tc_model_grade(r->model, r->score[i]))] +=
                w;
            r->dev_weight += w;
        }
    }
    if (r->has_validation)
        r->psi_score = tc_psi(r->psi_dev, r->psi_val, r->n_psi_bins);
    return TC_OK;
}

/* The file again, now with the model card carrying the figures just measured, loaded back as
 * strictly as the first time. The card is never read to score, so the rows scored above stand. */
static int add_model_card(job *jb, tc_error *err)
{
    tc_train_result *r = jb->r;
    char *text = NULL;
    size_t len = 0;
    tc_model *m = NULL;
    int rc = tc_train_model_text(r, jb->opt->fingerprint, 1, &text, &len, err);
    if (rc != TC_OK)
        return rc;
    if ((rc = tc_model_parse(text, len, "the trained model", jb->spec->catalog, jb->opt->reasons,
                             &m, err)) != TC_OK) {
        tc_error_prefix(err, "the engine refuses the trained model's card (check %s)",
                        jb->spec->origin);
        free(text);
        return rc;
    }
    free(r->model_json);
    tc_model_free(r->model);
    r->model_json = text;
    r->model_len = len;
    r->model = m;
    return TC_OK;
}

static int locate_columns(job *jb, tc_error *err)
{
    const tc_train_spec *s = jb->spec;
    const tc_dataset *ds = jb->ds;
    if (ds->catalog != s->catalog)
        return tc_errorf(err, TC_EINVAL, "the data and the spec use different catalogs");
    if (!(ds->flags & TC_DATASET_TARGET))
        return tc_errorf(err, TC_EINVAL, "the data has no target column '%s'", s->target);
    if (s->weight != NULL && !(ds->flags & TC_DATASET_WEIGHT))
        return tc_errorf(err, TC_EINVAL, "the data has no weight column '%s'", s->weight);
    if (s->weight == NULL && (ds->flags & TC_DATASET_WEIGHT))
        return tc_errorf(err, TC_EINVAL, "the data has weights the spec does not name");
    for (size_t j = 0; j < s->n_attrs; j++) {
        jb->col[j] = tc_dataset_find(ds, s->attrs[j].name);
        if (jb->col[j] < 0)
            return tc_errorf(err, TC_EINVAL, "the data has no column '%s' (%s: attributes[%zu])",
                             s->attrs[j].name, s->origin, j);
    }
    if (ds->n_rows == 0)
        return tc_errorf(err, TC_EINVAL, "the data has no rows");
    return TC_OK;
}

int tc_train_run(const tc_train_spec *spec, const tc_dataset *data, const tc_train_options *opt,
                 tc_train_result **out, tc_error *err)
{
    job jb = {.spec = spec, .ds = data, .opt = opt};
    tc_train_result *r = calloc(1, sizeof *r);
    int rc;
    if (r == NULL || (r->chars = calloc(spec->n_attrs, sizeof *r->chars)) == NULL) {
        free(r);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    jb.r = r;
    r->spec = spec;
    r->data = data;
    r->kind = opt->kind >= 0 ? (tc_model_kind)opt->kind : spec->kind;
    r->n_chars = spec->n_attrs;
    for (size_t j = 0; j < spec->n_attrs; j++)
        r->chars[j].attr = &spec->attrs[j];
    if (opt->reasons == NULL) {
        rc = tc_errorf(err, TC_EINVAL, "no reason dictionary");
        goto fail;
    }
    if ((rc = locate_columns(&jb, err)) != TC_OK || (rc = split_rows(&jb, err)) != TC_OK ||
        (rc = created_at(&jb, err)) != TC_OK)
        goto fail;
    double t0 = seconds();
    phase(opt, "binning");
    if ((rc = bin_all(&jb, err)) != TC_OK)
        goto fail;
    double t1 = seconds();
    r->t_binning = t1 - t0;
    if (r->kind == TC_MODEL_SCORECARD) {
        phase(opt, "selection");
        if ((rc = tc_train_select_scorecard(&jb, err)) != TC_OK)
            goto fail;
        double t2 = seconds();
        r->t_selection = t2 - t1;
        phase(opt, "fitting");
        rc = tc_train_fit_scorecard(&jb, err);
        r->t_fit = seconds() - t2;
    } else {
        phase(opt, "fitting");
        rc = tc_train_fit_logistic(&jb, err);
        r->t_fit = seconds() - t1;
    }
    if (rc != TC_OK)
        goto fail;
    double t3 = seconds();
    phase(opt, "validation");
    if ((rc = tc_train_model_text(r, opt->fingerprint, 0, &r->model_json, &r->model_len, err)) !=
        TC_OK)
        goto fail;
    if ((rc = tc_model_parse(r->model_json, r->model_len, "the trained model", spec->catalog,
                             opt->reasons, &r->model, err)) != TC_OK) {
        tc_error_prefix(err, "the engine refuses the trained model (check %s)", spec->origin);
        goto fail;
    }
    if ((rc = score_rows(&jb, err)) != TC_OK || (rc = engine_check(&jb, err)) != TC_OK ||
        (rc = validate(&jb, err)) != TC_OK || (rc = add_model_card(&jb, err)) != TC_OK)
        goto fail;
    r->t_validation = seconds() - t3;
    free(jb.use);
    free(jb.bins);
    *out = r;
    return TC_OK;
fail:
    free(jb.use);
    free(jb.bins);
    tc_train_result_free(r);
    return rc;
}

void tc_train_result_free(tc_train_result *r)
{
    if (r == NULL)
        return;
    free(r->model_json);
    tc_model_free(r->model);
    free(r->chars);
    tc_logit_result_free(r->fit);
    for (size_t p = 0; p < r->n_params; p++)
        free(r->param_names[p]);
    free(r->param_names);
    free(r->is_val);
    free(r->eta);
    free(r->pd);
    free(r->score);
    free(r);
}
