#include "train_summary.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "csv_reader.h"
#include "tc_file.h"
#include "tc_schema.h"
#include "train_report.h"

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *metrics_json(const tc_perf *m)
{
    json_t *groups = json_array();
    for (size_t g = 0; g < m->n_groups; g++)
        json_array_append_new(
            groups, json_pack("{s:o, s:o, s:o, s:o, s:o}", "rows", jreal(m->groups[g].n), "events",
                              jreal(m->groups[g].events), "mean_pd",
                              jreal(m->groups[g].expected / m->groups[g].n), "pd_min",
                              jreal(m->groups[g].pd_min), "pd_max", jreal(m->groups[g].pd_max)));
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "rows", jreal(m->n),
                     "events", jreal(m->events), "auc", jreal(m->auc), "gini", jreal(m->gini), "ks",
                     jreal(m->ks), "brier", jreal(m->brier), "hl_stat", jreal(m->hl_stat), "hl_p",
                     jreal(m->hl_p), "hl_df", m->hl_df, "ks_at", jreal(m->ks_at), "calibration",
                     groups);
}

int train_summary_json(const tc_train_result *r, const char *data_path, const char *fingerprint,
                       char **out, size_t *len, tc_error *err)
{
    const tc_train_spec *s = r->spec;
    json_t *params = json_array(), *attrs = json_array();
    for (size_t p = 0; p < r->n_params; p++)
        json_array_append_new(params,
                              json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", r->param_names[p],
                                        "coef", jreal(r->fit->coef[p]), "se", jreal(r->fit->se[p]),
                                        "z", jreal(r->fit->z[p]), "p", jreal(r->fit->pvalue[p])));
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        json_t *bins = json_array();
        for (size_t i = 0; i < c->bin.n_bins; i++) {
            char t[512];
            train_report_bin_text(c, i, t, sizeof t);
            const tc_bin_stat *bs = &c->bin.bins[i];
            json_t *o =
                json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "bin", t, "rows", jreal(bs->n),
                          "events", jreal(bs->events), "woe", jreal(bs->woe), "iv", jreal(bs->iv),
                          "val_rows", jreal(c->val_n[i]), "val_events", jreal(c->val_events[i]));
            if (c->model_index >= 0 && r->kind == TC_MODEL_SCORECARD)
                json_object_set_new(o, "points", jreal(c->points[i]));
            json_object_set_new(o, "user_split", json_boolean(train_report_user_split(c, i)));
            json_array_append_new(bins, o);
        }
        json_t *splits = json_array();
        for (size_t k = 0; k < c->bin.n_splits; k++)
            json_array_append_new(
                splits, json_pack("{s:o, s:s}", "at", jreal(c->bin.splits[k]), "fate",
                                  tc_split_fate_name((tc_split_fate)c->bin.split_fate[k])));
        json_array_append_new(attrs,
                              json_pack("{s:s, s:o, s:s, s:b, s:s, s:s, s:o, s:i, s:o, s:o}",
                                        "name", c->attr->name, "iv", jreal(c->bin.iv), "status",
                                        tc_char_status_name(c->status), "suspicious", c->suspicious,
                                        "why", c->why, "trend", tc_trend_name(c->bin.trend_used),
                                        "csi", jreal(c->csi), "model_index", c->model_index, "bins",
                                        bins, "splits", splits));
    }
    json_t *doc = json_pack(
        "{s:{s:s, s:i, s:s, s:s, s:s}, s:{s:s, s:s, s:I, s:I, s:I, s:s}, "
        "s:{s:i, s:o, s:o, s:o, s:o, s:o, s:o}, s:o, s:o, s:o, s:I, s:o}",
        "model", "name", s->name, "version", s->version, "kind", tc_model_kind_name(r->kind),
        "created_at", r->created_at, "catalog_hash", s->catalog->hash_hex, "data", "file",
        data_path, "fingerprint", fingerprint != NULL ? fingerprint : "none", "rows",
        (json_int_t)r->data->n_rows, "development_rows", (json_int_t)r->n_dev, "validation_rows",
        (json_int_t)r->n_val, "split", r->split_text, "fit", "iterations", r->fit->iterations,
        "loglik", jreal(r->fit->loglik), "loglik_null", jreal(r->fit->loglik_null), "aic",
        jreal(r->fit->aic), "bic", jreal(r->fit->bic), "nobs", jreal(r->fit->nobs), "parameters",
        params, "development", metrics_json(&r->dev), "validation",
        r->has_validation ? metrics_json(&r->val) : json_null(), "psi_score", jreal(r->psi_score),
        "check_rows", (json_int_t)r->check_rows, "attributes", attrs);
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    if (text == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory writing the summary");
    size_t n = strlen(text);
    char *t = realloc(text, n + 2);
    if (t == NULL) {
        free(text);
        return tc_errorf(err, TC_ENOMEM, "out of memory writing the summary");
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    *out = t;
    *len = n + 1;
    return TC_OK;
}

int train_summary_table(const tc_train_result *r, const char *path, unsigned flags, tc_error *err)
{
    tc_file o;
    int rc = tc_file_open(&o, path, flags, 0644, err);
    if (rc != TC_OK)
        return rc;
    fputs("characteristic,bin,count,event_rate,woe,iv,points,user_split\n", o.f);
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        if (c->model_index < 0)
            continue;
        for (size_t i = 0; i < c->bin.n_bins; i++) {
            const tc_bin_stat *b = &c->bin.bins[i];
            char text[512], n1[40], n2[40], n3[40], n4[40], n5[40];
            train_report_bin_text(c, i, text, sizeof text);
            csv_write_field(o.f, c->attr->name, strlen(c->attr->name));
            fputc(',', o.f);
            csv_write_field(o.f, text, strlen(text));
            fprintf(o.f, ",%s,%s,%s,%s,%s,%s\n", tc_schema_num(n1, b->n),
                    b->n > 0 ? tc_schema_num(n2, b->events / b->n) : "",
                    tc_schema_num(n3, b->woe), tc_schema_num(n4, b->iv),
                    r->kind == TC_MODEL_SCORECARD ? tc_schema_num(n5, c->points[i]) : "",
                    train_report_user_split(c, i) ? "yes" : "no");
        }
    }
    rc = tc_file_commit(&o, err);
    tc_file_discard(&o);
    return rc;
}
