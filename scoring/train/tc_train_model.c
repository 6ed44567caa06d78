/* Writing a trained model as a model file: the layout of the shipped files (one bin per line,
 * one covariance row per line) so that a reviewer reads it and a diff between versions is
 * small, and numbers in their shortest form that reads back to the same double, so loading the
 * file gives exactly the model the trainer evaluated. */
#include "tc_train_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tc_buf.h"
#include "tc_schema.h"
#include "tc_time.h"


/* Shortest decimal that reads back as v (JSON: never inf or nan; -0 is written 0). */
/* A JSON string literal, escaped by jansson. */
static void sb_str(tc_buf *b, const char *s)
{
    json_t *j = json_string(s);
    char *t = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (t == NULL)
        b->failed = 1;
    else
        tc_buf_printf(b, "%s", t);
    free(t);
    json_decref(j);
}

double tc_train_round(double x, double unit)
{
    if (!(unit > 0))
        return x;
    double inv = 1.0 / unit, r = round(inv);
    if (fabs(inv - r) < 1e-9 * r) /* 1, 0.5, 0.1, 0.01: divide by a whole number, exactly */
        return round(x * r) / r;
    return unit * round(x / unit);
}

static void write_bin(tc_buf *b, const tc_train_char *c, size_t i, int last)
{
    const tc_bin_stat *bs = &c->bin.bins[i];
    const tc_attr *a = c->attr->attr;
    char n1[40], n2[40], n3[40];
    tc_buf_printf(b, "      {");
    switch (bs->kind) {
    case TC_BIN_INTERVAL:
        if (isinf(bs->lower) && isinf(bs->upper))
            tc_buf_printf(b, "\"lower\": null, ");
        if (!isinf(bs->lower))
            tc_buf_printf(b, "\"lower\": %s, ", tc_schema_num(n1, bs->lower));
        if (!isinf(bs->upper))
            tc_buf_printf(b, "\"upper\": %s, ", tc_schema_num(n1, bs->upper));
        break;
    case TC_BIN_LEVELS: {
        size_t nl = a->type == TC_ATTR_BOOL ? 2 : a->n_levels, k = 0;
        tc_buf_printf(b, "\"levels\": [");
        for (size_t l = 0; l < nl; l++) {
            if (!(bs->levels[l / 64] >> (l % 64) & 1))
                continue;
            tc_buf_printf(b, "%s", k++ ? ", " : "");
            if (a->type == TC_ATTR_BOOL)
                tc_buf_printf(b, "%s", l ? "true" : "false");
            else
                sb_str(b, a->levels[l]);
        }
        tc_buf_printf(b, "], ");
        break;
    }
    case TC_BIN_SPECIAL:
        tc_buf_printf(b, "\"special\": [%s], ", tc_schema_num(n1, bs->special));
        break;
    case TC_BIN_MISSING:
        tc_buf_printf(b, "\"missing\": true, ");
        break;
    }
    tc_buf_printf(b, "\"woe\": %s, \"points\": %s}%s\n", tc_schema_num(n2, bs->woe), tc_schema_num(n3, c->points[i]),
           last ? "" : ",");
}

static void write_logistic_char(tc_buf *b, const tc_train_result *r, const tc_train_char *c)
{
    const tc_attr *a = c->attr->attr;
    const double *coef = r->fit->coef;
    char n1[40];
    static const char *const tnames[] = {"", "identity", "log1p", "clip", "indicator"};
    tc_buf_printf(b, ", \"transform\": \"%s\"", tnames[c->attr->transform]);
    size_t p = c->param;
    if (c->attr->transform == TC_TRANSFORM_INDICATOR) {
        tc_buf_printf(b, ", \"levels\": [");
        for (size_t k = 0; k < c->n_levels; k++) {
            tc_buf_printf(b, "%s\n      {\"level\": ", k ? "," : "");
            sb_str(b, a->levels[c->levels[k]]);
            tc_buf_printf(b, ", \"coefficient\": %s}", tc_schema_num(n1, coef[p++]));
        }
        tc_buf_printf(b, "]");
    } else {
        tc_buf_printf(b, ", \"coefficient\": %s", tc_schema_num(n1, coef[p++]));
        if (c->attr->transform == TC_TRANSFORM_CLIP) {
            char n2[40];
            tc_buf_printf(b, ", \"clip\": {\"min\": %s, \"max\": %s}", tc_schema_num(n1, c->attr->clip_min),
                   tc_schema_num(n2, c->attr->clip_max));
        }
    }
    if (!a->missing_allowed)
        return;
    if (c->missing_term) {
        tc_buf_printf(b, ", \"missing\": {\"indicator\": %s}", tc_schema_num(n1, coef[p]));
    } else {
        tc_buf_printf(b, ", \"missing\": {\"impute\": ");
        if (a->type == TC_ATTR_BOOL)
            tc_buf_printf(b, "%s", c->attr->impute_value != 0 ? "true" : "false");
        else if (a->type == TC_ATTR_CATEGORY)
            sb_str(b, a->levels[(size_t)c->attr->impute_value]);
        else
            tc_buf_printf(b, "%s", tc_schema_num(n1, c->attr->impute_value));
        tc_buf_printf(b, "}");
    }
}

/* A figure for a reader: 4 significant digits, the precision validation reports use, so the
 * card shows 0.7817 rather than 0.78171893920452871. */
static const char *figure(char buf[40], double v)
{
    char t[40];
    snprintf(t, sizeof t, "%.4g", v);
    return tc_schema_num(buf, strtod(t, NULL));
}

static void write_sample(tc_buf *b, const char *key, const tc_perf *m, int last)
{
    char n1[40], n2[40], n3[40], n4[40], n5[40], n6[40];
    tc_buf_printf(b, "      \"%s\": {\"rows\": %zu, \"events\": %s, \"auc\": %s, \"gini\": %s, "
              "\"ks\": %s, \"brier\": %s",
           key, m->rows, tc_schema_num(n1, m->events), figure(n2, m->auc), figure(n3, m->gini),
           figure(n4, m->ks), figure(n5, m->brier));
    if (isfinite(m->hl_p))
        tc_buf_printf(b, ", \"hl_p\": %s", figure(n6, m->hl_p));
    tc_buf_printf(b, "}%s\n", last ? "" : ",");
}

static void day_text(int day, char out[TC_TIME_TEXT_LEN])
{
    tc_time_format((int64_t)day * 86400, out);
    out[10] = '\0';
}

/* The model card (models/README.md, "Model card"): the spec's words and the figures this run
 * measured, so what a bank's model-risk reviewer reads is what the trainer computed. */
static void write_card(tc_buf *b, const tc_train_result *r)
{
    const tc_train_spec *s = r->spec;
    const tc_dataset *ds = r->data;
    char n1[40];
    tc_buf_printf(b, "  \"model_card\": {\n    \"intended_use\": ");
    sb_str(b, s->card_intended_use != NULL ? s->card_intended_use : s->description_en);
    tc_buf_printf(b, ",\n    \"training_data\": {\"description\": ");
    if (s->card_training_data != NULL) {
        sb_str(b, s->card_training_data);
    } else {
        char d[128];
        snprintf(d, sizeof d, "%zu rows of loan history with outcome '%s'", ds->n_rows,
                 s->target);
        sb_str(b, d);
    }
    tc_buf_printf(b, ", \"rows\": %zu, \"events\": %s", ds->n_rows,
           tc_schema_num(n1, r->dev.events + (r->has_validation ? r->val.events : 0)));
    if (ds->day != NULL && ds->n_rows > 0) {
        int lo = ds->day[0], hi = ds->day[0];
        for (size_t i = 1; i < ds->n_rows; i++) {
            lo = ds->day[i] < lo ? ds->day[i] : lo;
            hi = ds->day[i] > hi ? ds->day[i] : hi;
        }
        char from[TC_TIME_TEXT_LEN], to[TC_TIME_TEXT_LEN];
        day_text(lo, from);
        day_text(hi, to);
        tc_buf_printf(b, ", \"from\": \"%s\", \"to\": \"%s\"", from, to);
    }
    tc_buf_printf(b, "},\n    \"validation\": {\n      \"method\": ");
    sb_str(b, r->split_text);
    tc_buf_printf(b, ", \"date\": ");
    sb_str(b, r->created_at);
    tc_buf_printf(b, ",\n");
    write_sample(b, "development", &r->dev, !r->has_validation);
    if (r->has_validation) {
        write_sample(b, "validation", &r->val, 0);
        tc_buf_printf(b, "      \"psi_score\": %s\n", figure(n1, r->psi_score));
    }
    tc_buf_printf(b, "    }");
    if (s->n_card_limitations > 0) {
        tc_buf_printf(b, ",\n    \"limitations\": [");
        for (size_t i = 0; i < s->n_card_limitations; i++) {
            tc_buf_printf(b, "%s\n      ", i ? "," : "");
            sb_str(b, s->card_limitations[i]);
        }
        tc_buf_printf(b, "\n    ]");
    }
    tc_buf_printf(b, "\n  },\n");
}

/* A share for the development distribution: six significant digits, enough for a PSI (whose
 * shares are floored at 10⁻⁴) and short enough to read. */
static const char *share(char buf[40], double part, double whole)
{
    char t[40];
    snprintf(t, sizeof t, "%.6g", whole > 0 ? part / whole : 0);
    return tc_schema_num(buf, strtod(t, NULL));
}

/* The development distribution (models/README.md, "Development distribution"): score deciles,
 * grades and each scorecard characteristic's bins, for live monitoring. */
static void write_development(tc_buf *b, const tc_train_result *r)
{
    const tc_train_spec *s = r->spec;
    char n1[40];
    tc_buf_printf(b, ",\n  \"development\": {\n    \"rows\": %s,\n    \"score\": {\"cuts\": [",
           tc_schema_num(n1, r->dev_weight));
    for (size_t k = 0; k + 1 < r->n_psi_bins; k++)
        tc_buf_printf(b, "%s%s", k ? ", " : "", tc_schema_num(n1, r->psi_cuts[k]));
    tc_buf_printf(b, "], \"shares\": [");
    for (size_t k = 0; k < r->n_psi_bins; k++)
        tc_buf_printf(b, "%s%s", k ? ", " : "", share(n1, r->psi_dev[k], r->dev_weight));
    tc_buf_printf(b, "]},\n    \"grades\": [");
    for (size_t g = 0; g < s->n_grades; g++)
        tc_buf_printf(b, "%s%s", g ? ", " : "", share(n1, r->grade_dev[g], r->dev_weight));
    tc_buf_printf(b, "]");
    if (r->kind == TC_MODEL_SCORECARD) {
        tc_buf_printf(b, ",\n    \"characteristics\": [");
        size_t written = 0;
        for (size_t j = 0; j < r->n_chars; j++) {
            const tc_train_char *c = &r->chars[j];
            if (c->model_index < 0)
                continue;
            tc_buf_printf(b, "%s\n      {\"attribute\": ", written++ ? "," : "");
            sb_str(b, c->attr->name);
            tc_buf_printf(b, ", \"shares\": [");
            for (size_t k = 0; k < c->bin.n_bins; k++)
                tc_buf_printf(b, "%s%s", k ? ", " : "", share(n1, c->bin.bins[k].n, c->bin.total_n));
            tc_buf_printf(b, "]}");
        }
        tc_buf_printf(b, "\n    ]");
    }
    tc_buf_printf(b, "\n  }");
}

int tc_train_model_text(const tc_train_result *r, const char *fingerprint, int with_card,
                        char **text, size_t *len, tc_error *err)
{
    const tc_train_spec *s = r->spec;
    tc_buf b = {.first = 1 << 16};
    char n1[40], n2[40], n3[40];
    static const char *const statuses[] = {"champion", "challenger", "retired"};
    tc_buf_printf(&b, "{\n  \"format_version\": 1,\n  \"name\": ");
    sb_str(&b, s->name);
    tc_buf_printf(&b, ",\n  \"version\": %d,\n  \"kind\": \"%s\",\n  \"product\": ", s->version,
           r->kind == TC_MODEL_SCORECARD ? "scorecard" : "logistic");
    sb_str(&b, s->product);
    tc_buf_printf(&b, ",\n  \"status\": \"%s\",\n  \"created_at\": ", statuses[s->status]);
    sb_str(&b, r->created_at);
    tc_buf_printf(&b, ",\n  \"description\": {\"vi\": ");
    sb_str(&b, s->description_vi);
    tc_buf_printf(&b, ", \"en\": ");
    sb_str(&b, s->description_en);
    tc_buf_printf(&b, "},\n  \"training_fingerprint\": ");
    sb_str(&b, fingerprint != NULL ? fingerprint : "none");
    tc_buf_printf(&b, ",\n  \"catalog_hash\": \"%s\",\n", s->catalog->hash_hex);
    if (with_card)
        write_card(&b, r);
    tc_buf_printf(&b, "  \"scaling\": {\"points\": %s, \"odds\": %s, \"pdo\": %s},\n", tc_schema_num(n1, s->points),
           tc_schema_num(n2, s->odds), tc_schema_num(n3, s->pdo));
    tc_buf_printf(&b, "  \"score_bounds\": {\"min\": %s, \"max\": %s},\n", tc_schema_num(n1, s->score_min),
           tc_schema_num(n2, s->score_max));
    tc_buf_printf(&b, "  \"reasons\": {\"method\": \"max\", \"count\": %d},\n", s->reason_count);
    tc_buf_printf(&b, "  \"intercept\": %s,\n  \"grades\": [\n", tc_schema_num(n1, r->fit->coef[0]));
    for (size_t g = 0; g < s->n_grades; g++) {
        tc_buf_printf(&b, "    {\"grade\": ");
        sb_str(&b, s->grades[g].letter);
        tc_buf_printf(&b, ", \"min_score\": %s, \"vi\": ", tc_schema_num(n1, s->grades[g].min_score));
        sb_str(&b, s->grades[g].vi);
        tc_buf_printf(&b, ", \"en\": ");
        sb_str(&b, s->grades[g].en);
        tc_buf_printf(&b, "}%s\n", g + 1 < s->n_grades ? "," : "");
    }
    tc_buf_printf(&b, "  ],\n  \"characteristics\": [\n");
    size_t written = 0, n_model = 0;
    for (size_t j = 0; j < r->n_chars; j++)
        n_model += r->chars[j].model_index >= 0;
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        if (c->model_index < 0)
            continue;
        tc_buf_printf(&b, "    {\"attribute\": ");
        sb_str(&b, c->attr->name);
        tc_buf_printf(&b, ", \"reason_code\": ");
        sb_str(&b, c->attr->reason_code);
        if (c->attr->label[0] != '\0') {
            tc_buf_printf(&b, ", \"label\": ");
            sb_str(&b, c->attr->label);
        }
        if (r->kind == TC_MODEL_SCORECARD) {
            tc_buf_printf(&b, ", \"coefficient\": %s, \"bins\": [\n", tc_schema_num(n1, r->fit->coef[c->param]));
            for (size_t i = 0; i < c->bin.n_bins; i++)
                write_bin(&b, c, i, i + 1 == c->bin.n_bins);
            tc_buf_printf(&b, "    ]}");
        } else {
            write_logistic_char(&b, r, c);
            tc_buf_printf(&b, "}");
        }
        tc_buf_printf(&b, "%s\n", ++written < n_model ? "," : "");
    }
    tc_buf_printf(&b, "  ],\n  \"covariance\": {\"parameters\": [");
    for (size_t p = 0; p < r->n_params; p++) {
        tc_buf_printf(&b, "%s", p ? ", " : "");
        sb_str(&b, r->param_names[p]);
    }
    tc_buf_printf(&b, "],\n    \"matrix\": [\n");
    for (size_t p = 0; p < r->n_params; p++) {
        tc_buf_printf(&b, "      [");
        for (size_t q = 0; q < r->n_params; q++)
            tc_buf_printf(&b, "%s%s", q ? ", " : "", tc_schema_num(n1, gsl_matrix_get(r->fit->cov, p, q)));
        tc_buf_printf(&b, "]%s\n", p + 1 < r->n_params ? "," : "");
    }
    tc_buf_printf(&b, "    ]}");
    if (with_card && r->n_psi_bins >= 2)
        write_development(&b, r);
    tc_buf_printf(&b, "\n}\n");
    *len = b.len;
    if ((*text = tc_buf_take(&b)) == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory writing the model");
    return TC_OK;
}
