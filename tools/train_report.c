#include "train_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_buf.h"
#include "tc_schema.h"

#define HIST_BINS_MAX 80

/* Text into HTML or SVG, escaped. */
static void esc(tc_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            tc_buf_printf(b, "&amp;");
            break;
        case '<':
            tc_buf_printf(b, "&lt;");
            break;
        case '>':
            tc_buf_printf(b, "&gt;");
            break;
        case '"':
            tc_buf_printf(b, "&quot;");
            break;
        case '\'':
            tc_buf_printf(b, "&#39;");
            break;
        default:
            tc_buf_printf(b, "%c", *s);
        }
    }
}

int train_report_user_split(const tc_train_char *c, size_t i)
{
    const tc_bin_stat *b = &c->bin.bins[i];
    if (b->kind != TC_BIN_INTERVAL || isinf(b->lower))
        return 0;
    for (size_t s = 0; s < c->bin.n_splits; s++)
        if (c->bin.split_fate[s] == TC_SPLIT_KEPT && c->bin.splits[s] == b->lower)
            return 1;
    return 0;
}

/* A bin as a reviewer reads it: "< 1", "1 – 10", "≥ 90", "married, widowed", "= 0",
 * "missing". */
void train_report_bin_text(const tc_train_char *c, size_t i, char *buf, size_t size)
{
    const tc_bin_stat *b = &c->bin.bins[i];
    const tc_attr *a = c->attr->attr;
    char n1[40], n2[40];
    size_t o = 0;
    switch (b->kind) {
    case TC_BIN_INTERVAL:
        /* whole numbers read better as closed ranges: [1, 10) is 1 – 9 */
        if (isinf(b->lower) && isinf(b->upper))
            snprintf(buf, size, "any value");
        else if (isinf(b->lower))
            snprintf(buf, size, a->type == TC_ATTR_INT ? "\xe2\x89\xa4 %s" : "< %s",
                     tc_schema_num(n1, a->type == TC_ATTR_INT ? b->upper - 1 : b->upper));
        else if (isinf(b->upper))
            snprintf(buf, size, "\xe2\x89\xa5 %s", tc_schema_num(n1, b->lower));
        else if (a->type == TC_ATTR_INT && b->upper - b->lower == 1)
            snprintf(buf, size, "%s", tc_schema_num(n1, b->lower));
        else
            snprintf(buf, size, "%s \xe2\x80\x93 %s", tc_schema_num(n1, b->lower),
                     tc_schema_num(n2, a->type == TC_ATTR_INT ? b->upper - 1 : b->upper));
        return;
    case TC_BIN_SPECIAL:
        snprintf(buf, size, "= %s", tc_schema_num(n1, b->special));
        return;
    case TC_BIN_MISSING:
        snprintf(buf, size, "missing");
        return;
    case TC_BIN_LEVELS:
        buf[0] = '\0';
        for (size_t l = 0; l < (a->type == TC_ATTR_BOOL ? 2 : a->n_levels) && o + 1 < size; l++) {
            if (!(b->levels[l / 64] >> (l % 64) & 1))
                continue;
            const char *t = a->type == TC_ATTR_BOOL ? (l ? "true" : "false") : a->levels[l];
            int n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", t);
            if (n < 0)
                break;
            o += (size_t)n;
        }
        return;
    }
}

/* ---- SVG charts ---- */

typedef struct chart {
    tc_buf *b;
    double x0, x1, y0, y1;
    double W, H, L, R, T, B;
} chart;

static double px(const chart *c, double x)
{
    return c->L + (x - c->x0) / (c->x1 - c->x0) * (c->W - c->L - c->R);
}

static double py(const chart *c, double y)
{
    return c->H - c->B - (y - c->y0) / (c->y1 - c->y0) * (c->H - c->T - c->B);
}

/* About five round ticks (1, 2, 5 × 10^k) over [lo, hi]. */
static double tick_step(double lo, double hi)
{
    double raw = (hi - lo) / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void chart_begin(chart *c, tc_buf *b, const char *id, const char *title, const char *xlab,
                        const char *ylab, double x0, double x1, double y0, double y1, int x_ticks)
{
    *c = (chart){b, x0, x1, y0, y1, 440, 300, 56, 14, 30, 44};
    tc_buf_printf(b,
        "<figure class=\"chart\"><svg id=\"%s\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
        "height=\"%.0f\" role=\"img\" aria-label=\"",
        id, c->W, c->H, c->W, c->H);
    esc(b, title);
    tc_buf_printf(b, "\"><text class=\"title\" x=\"%.1f\" y=\"18\">", c->W / 2);
    esc(b, title);
    tc_buf_printf(b, "</text>\n");
    double sx = tick_step(x0, x1), sy = tick_step(y0, y1);
    for (double t = ceil(x0 / sx) * sx; x_ticks && t <= x1 + 1e-9 * fabs(x1); t += sx) {
        tc_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px(c, t),
            py(c, y0), px(c, t), py(c, y1));
        tc_buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
            px(c, t), py(c, y0) + 14, fabs(t) < 1e-12 ? 0 : t);
    }
    for (double t = ceil(y0 / sy) * sy; t <= y1 + 1e-9 * fabs(y1); t += sy) {
        tc_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px(c, x0),
            py(c, t), px(c, x1), py(c, t));
        tc_buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            px(c, x0) - 4, py(c, t) + 4, fabs(t) < 1e-12 ? 0 : t);
    }
    tc_buf_printf(b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", c->L,
        c->T, c->W - c->L - c->R, c->H - c->T - c->B);
    tc_buf_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
        px(c, (x0 + x1) / 2), c->H - 8);
    esc(b, xlab);
    tc_buf_printf(b,
        "</text><text class=\"label\" transform=\"translate(14 %.1f) rotate(-90)\" "
        "text-anchor=\"middle\">",
        py(c, (y0 + y1) / 2));
    esc(b, ylab);
    tc_buf_printf(b, "</text>\n");
}

static void polyline(chart *c, const double *x, const double *y, size_t n, const char *cls)
{
    tc_buf_printf(c->b, "<polyline class=\"%s\" points=\"", cls);
    for (size_t i = 0; i < n; i++)
        tc_buf_printf(c->b, "%s%.1f,%.1f", i ? " " : "", px(c, x[i]), py(c, y[i]));
    tc_buf_printf(c->b, "\"/>\n");
}

/* Legend inside the plot: top left (where rising curves leave room) or bottom right. */
static void legend(chart *c, size_t k, const char *const *names, const char *const *cls,
                   int bottom_right)
{
    for (size_t i = 0; i < k; i++) {
        double y =
            bottom_right ? c->H - c->B - 8 - 16 * (double)(k - 1 - i) : c->T + 14 + 16 * (double)i;
        double x = bottom_right ? c->W - c->R - 120 : c->L + 8;
        tc_buf_printf(c->b, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", cls[i], x,
            y - 4, x + 18, y - 4);
        tc_buf_printf(c->b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">", x + 22, y);
        esc(c->b, names[i]);
        tc_buf_printf(c->b, "</text>\n");
    }
}

static void chart_end(chart *c, const char *caption)
{
    tc_buf_printf(c->b, "</svg><figcaption>");
    esc(c->b, caption);
    tc_buf_printf(c->b, "</figcaption></figure>\n");
}

static void roc_chart(tc_buf *b, const tc_train_result *r)
{
    chart c;
    chart_begin(&c, b, "roc", "ROC", "false positive rate", "true positive rate", 0, 1, 0, 1, 1);
    double d[2] = {0, 1};
    polyline(&c, d, d, 2, "ref");
    polyline(&c, r->dev.roc_fpr, r->dev.roc_tpr, r->dev.n_roc, "dev");
    const char *names[2] = {"development", "validation"}, *cls[2] = {"dev", "val"};
    if (r->has_validation)
        polyline(&c, r->val.roc_fpr, r->val.roc_tpr, r->val.n_roc, "val");
    legend(&c, r->has_validation ? 2 : 1, names, cls, 1);
    char cap[160];
    snprintf(cap, sizeof cap, "AUC %.4f development%s", r->dev.auc,
             r->has_validation ? "" : " (no validation rows)");
    if (r->has_validation)
        snprintf(cap + strlen(cap), sizeof cap - strlen(cap), ", %.4f validation", r->val.auc);
    chart_end(&c, cap);
}

static void calibration_chart(tc_buf *b, const tc_train_result *r)
{
    double hi = 0;
    const tc_perf *ms[2] = {&r->dev, &r->val};
    for (int k = 0; k < 1 + r->has_validation; k++)
        for (size_t g = 0; g < ms[k]->n_groups; g++) {
            const tc_calibration_group *cg = &ms[k]->groups[g];
            hi = fmax(hi, fmax(cg->expected, cg->events) / cg->n);
        }
    hi = hi > 0 ? hi * 1.08 : 1;
    chart c;
    chart_begin(&c, b, "calibration", "Calibration by decile of PD", "mean predicted PD",
                "observed default rate", 0, hi, 0, hi, 1);
    double d[2] = {0, hi};
    polyline(&c, d, d, 2, "ref");
    static const char *const cls[2] = {"dev", "val"};
    for (int k = 0; k < 1 + r->has_validation; k++) {
        double x[TC_PERF_GROUPS], y[TC_PERF_GROUPS];
        for (size_t g = 0; g < ms[k]->n_groups; g++) {
            x[g] = ms[k]->groups[g].expected / ms[k]->groups[g].n;
            y[g] = ms[k]->groups[g].events / ms[k]->groups[g].n;
            tc_buf_printf(b, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>", cls[k], px(&c, x[g]),
                py(&c, y[g]));
        }
        polyline(&c, x, y, ms[k]->n_groups, cls[k]);
    }
    const char *names[2] = {"development", "validation"};
    legend(&c, r->has_validation ? 2 : 1, names, cls, 1);
    char cap[160];
    snprintf(cap, sizeof cap, "Hosmer\xe2\x80\x93Lemeshow p = %.3g (development)%s", r->dev.hl_p,
             r->has_validation ? "" : "");
    if (r->has_validation)
        snprintf(cap + strlen(cap), sizeof cap - strlen(cap), ", %.3g (validation)", r->val.hl_p);
    chart_end(&c, cap);
}

typedef struct hist {
    double lo, width;
    size_t k;
    double good[HIST_BINS_MAX], bad[HIST_BINS_MAX];
    double total_good, total_bad;
} hist;

/* Scores of the validation rows (development without a split) by outcome. */
static void score_hist(const tc_train_result *r, hist *h)
{
    const tc_dataset *ds = r->data;
    int val = r->has_validation;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < ds->n_rows; i++)
        if (r->is_val[i] == val) {
            lo = fmin(lo, r->score[i]);
            hi = fmax(hi, r->score[i]);
        }
    memset(h, 0, sizeof *h);
    double span = hi - lo, w = span <= 50 ? 2 : span <= 150 ? 5 : span <= 400 ? 10 : 20;
    h->width = w;
    h->lo = floor(lo / w) * w;
    h->k = (size_t)((hi - h->lo) / w) + 1;
    if (h->k > HIST_BINS_MAX)
        h->k = HIST_BINS_MAX;
    for (size_t i = 0; i < ds->n_rows; i++) {
        if (r->is_val[i] != val)
            continue;
        size_t k = (size_t)((r->score[i] - h->lo) / w);
        k = k >= h->k ? h->k - 1 : k;
        double wt = tc_dataset_weight(ds, i);
        if (ds->y[i] > 0.5) {
            h->bad[k] += wt;
            h->total_bad += wt;
        } else {
            h->good[k] += wt;
            h->total_good += wt;
        }
    }
}

static void distribution_chart(tc_buf *b, const tc_train_result *r, const hist *h)
{
    double top = 0;
    for (size_t k = 0; k < h->k; k++)
        top = fmax(top, fmax(h->good[k] / h->total_good, h->bad[k] / h->total_bad));
    chart c;
    chart_begin(&c, b, "distribution", "Score distribution", "score", "share of rows", h->lo,
                h->lo + h->width * (double)h->k, 0, top * 1.1, 1);
    for (size_t k = 0; k < h->k; k++) {
        double x0 = h->lo + h->width * (double)k, bw = px(&c, x0 + h->width) - px(&c, x0);
        double g = h->good[k] / h->total_good, d = h->bad[k] / h->total_bad;
        tc_buf_printf(b, "<rect class=\"goodbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
            px(&c, x0), py(&c, g), bw / 2, py(&c, 0) - py(&c, g));
        tc_buf_printf(b, "<rect class=\"badbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
            px(&c, x0) + bw / 2, py(&c, d), bw / 2, py(&c, 0) - py(&c, d));
    }
    const char *names[2] = {"non-default", "default"}, *cls[2] = {"good", "bad"};
    legend(&c, 2, names, cls, 0);
    chart_end(&c, r->has_validation ? "validation rows, each outcome's distribution"
                                    : "development rows, each outcome's distribution");
}

static void ks_chart(tc_buf *b, const tc_train_result *r, const hist *h)
{
    double x[HIST_BINS_MAX + 1], fb[HIST_BINS_MAX + 1], fg[HIST_BINS_MAX + 1], cb = 0, cg = 0;
    double ks = 0, ks_x = h->lo, ks_b = 0, ks_g = 0;
    x[0] = h->lo;
    fb[0] = fg[0] = 0;
    for (size_t k = 0; k < h->k; k++) {
        cb += h->bad[k];
        cg += h->good[k];
        x[k + 1] = h->lo + h->width * (double)(k + 1);
        fb[k + 1] = cb / h->total_bad;
        fg[k + 1] = cg / h->total_good;
        if (fabs(fb[k + 1] - fg[k + 1]) > ks) {
            ks = fabs(fb[k + 1] - fg[k + 1]);
            ks_x = x[k + 1];
            ks_b = fb[k + 1];
            ks_g = fg[k + 1];
        }
    }
    chart c;
    chart_begin(&c, b, "ks", "KS: cumulative share by score", "score", "cumulative share", x[0],
                x[h->k], 0, 1, 1);
    polyline(&c, x, fb, h->k + 1, "bad");
    polyline(&c, x, fg, h->k + 1, "good");
    double kx[2] = {ks_x, ks_x}, ky[2] = {ks_g, ks_b};
    polyline(&c, kx, ky, 2, "ksline");
    const char *names[2] = {"default", "non-default"}, *cls[2] = {"bad", "good"};
    legend(&c, 2, names, cls, 0);
    char cap[200];
    const tc_perf *m = r->has_validation ? &r->val : &r->dev;
    snprintf(cap, sizeof cap,
             "KS %.4f on PD (%s); %.4f on the %g-point score bins drawn, widest near %g", m->ks,
             r->has_validation ? "validation" : "development", ks, h->width, ks_x);
    chart_end(&c, cap);
}

static void woe_chart(tc_buf *b, const tc_train_char *c, size_t idx)
{
    size_t k = c->bin.n_bins;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < k; i++) {
        lo = fmin(lo, c->bin.bins[i].woe);
        hi = fmax(hi, c->bin.bins[i].woe);
    }
    double pad = fmax(0.1, 0.1 * (hi - lo));
    chart ch;
    char id[32], title[160];
    snprintf(id, sizeof id, "woe-%zu", idx);
    snprintf(title, sizeof title, "WoE by bin: %s", c->attr->name);
    chart_begin(&ch, b, id, title, "bin", "WoE", 0, (double)k, lo - pad, hi + pad, 0);
    for (size_t i = 0; i < k; i++) {
        double w = c->bin.bins[i].woe, x0 = px(&ch, (double)i + 0.15),
               x1 = px(&ch, (double)i + 0.85);
        double y0 = py(&ch, fmax(w, 0)), y1 = py(&ch, fmin(w, 0));
        tc_buf_printf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
            w >= 0 ? "goodbar" : "badbar", x0, y0, x1 - x0, fmax(y1 - y0, 0.5));
        char t[512];
        train_report_bin_text(c, i, t, sizeof t);
        esc(b, t);
        tc_buf_printf(b,
            "</title></rect><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"middle\">%zu</text>\n",
            (x0 + x1) / 2, py(&ch, lo - pad) + 14, i);
    }
    double zx[2] = {0, (double)k}, zy[2] = {0, 0};
    polyline(&ch, zx, zy, 2, "axis");
    char cap[200];
    snprintf(cap, sizeof cap, "IV %.4f, %zu bins (trend %s); bins numbered as in the table",
             c->bin.iv, k, tc_trend_name(c->bin.trend_used));
    chart_end(&ch, cap);
}

/* ---- tables ---- */

/* digits after the point, or significant digits when general */
static void metric_row(tc_buf *b, const char *name, int digits, int general, double dev, double val,
                       int has_val)
{
    tc_buf_printf(b, "<tr><th>%s</th><td>", name);
    if (general)
        tc_buf_printf(b, "%.*g", digits, dev);
    else
        tc_buf_printf(b, "%.*f", digits, dev);
    tc_buf_printf(b, "</td><td>");
    if (!has_val)
        tc_buf_printf(b, "\xe2\x80\x94");
    else if (general)
        tc_buf_printf(b, "%.*g", digits, val);
    else
        tc_buf_printf(b, "%.*f", digits, val);
    tc_buf_printf(b, "</td></tr>\n");
}

static void key_figures(tc_buf *b, const tc_train_result *r)
{
    const tc_perf *d = &r->dev, *v = &r->val;
    int hv = r->has_validation;
    tc_buf_printf(b, "<table class=\"figures\"><tr><th></th><th>development</th><th>validation</th></tr>\n");
    metric_row(b, "rows", 0, 0, (double)d->rows, (double)v->rows, hv);
    metric_row(b, "defaults", 0, 0, d->events, v->events, hv);
    metric_row(b, "default rate", 4, 0, d->events / d->n, hv ? v->events / v->n : 0, hv);
    metric_row(b, "AUC", 4, 0, d->auc, v->auc, hv);
    metric_row(b, "Gini", 4, 0, d->gini, v->gini, hv);
    metric_row(b, "KS", 4, 0, d->ks, v->ks, hv);
    metric_row(b, "Brier", 5, 0, d->brier, v->brier, hv);
    metric_row(b, "Hosmer\xe2\x80\x93Lemeshow C", 2, 0, d->hl_stat, v->hl_stat, hv);
    metric_row(b, "Hosmer\xe2\x80\x93Lemeshow p", 3, 1, d->hl_p, v->hl_p, hv);
    tc_buf_printf(b, "<tr><th>PSI of the score</th><td colspan=\"2\">");
    if (hv)
        tc_buf_printf(b, "%.4f (%s)", r->psi_score, tc_psi_band(r->psi_score));
    else
        tc_buf_printf(b, "\xe2\x80\x94");
    tc_buf_printf(b, "</td></tr></table>\n");
}

static void fit_table(tc_buf *b, const tc_train_result *r)
{
    const tc_logit_result *f = r->fit;
    tc_buf_printf(b, "<table><tr><th>parameter</th><th>estimate</th><th>std. error</th><th>z</th>"
           "<th>p</th></tr>\n");
    for (size_t p = 0; p < r->n_params; p++) {
        tc_buf_printf(b, "<tr><td>");
        esc(b, r->param_names[p]);
        tc_buf_printf(b, "</td><td>%.6f</td><td>%.6f</td><td>%.2f</td><td>%.3g</td></tr>\n", f->coef[p],
            f->se[p], f->z[p], f->pvalue[p]);
    }
    tc_buf_printf(b,
        "</table>\n<p>log-likelihood %.3f (intercept only %.3f, McFadden R\xc2\xb2 %.4f); "
        "AIC %.2f; BIC %.2f; %d IRLS iterations on %.0f rows%s.</p>\n",
        f->loglik, f->loglik_null, f->loglik_null != 0 ? 1 - f->loglik / f->loglik_null : 0, f->aic,
        f->bic, f->iterations, f->nobs, r->spec->l2 > 0 ? " (with an L2 penalty)" : "");
}

static void iv_table(tc_buf *b, const tc_train_result *r)
{
    tc_buf_printf(b, "<table><tr><th>attribute</th><th>IV</th><th>bins</th><th>trend</th>"
           "<th>CSI</th><th>status</th><th>why</th></tr>\n");
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        tc_buf_printf(b, "<tr class=\"%s\"><td><a href=\"#char-%zu\">", c->model_index >= 0 ? "in" : "out",
            j);
        esc(b, c->attr->name);
        tc_buf_printf(b, "</a></td><td>%.4f%s</td><td>%zu</td><td>%s</td><td>", c->bin.iv,
            c->suspicious ? " \xe2\x9a\xa0" : "", c->bin.n_bins, tc_trend_name(c->bin.trend_used));
        if (isnan(c->csi))
            tc_buf_printf(b, "\xe2\x80\x94");
        else
            tc_buf_printf(b, "%.4f", c->csi);
        tc_buf_printf(b, "</td><td>%s</td><td class=\"why\">", tc_char_status_name(c->status));
        esc(b, c->why);
        tc_buf_printf(b, "</td></tr>\n");
    }
    tc_buf_printf(b, "</table>\n");
}

static void grade_table(tc_buf *b, const tc_train_result *r)
{
    const tc_model *m = r->model;
    const tc_dataset *ds = r->data;
    double n[2][TC_MODEL_GRADES_MAX] = {{0}}, e[2][TC_MODEL_GRADES_MAX] = {{0}};
    double pd[2][TC_MODEL_GRADES_MAX] = {{0}}, tot[2] = {0, 0};
    for (size_t i = 0; i < ds->n_rows; i++) {
        size_t g = (size_t)(tc_model_grade(m, r->score[i]) - m->grades);
        int v = r->is_val[i];
        double w = tc_dataset_weight(ds, i);
        n[v][g] += w;
        e[v][g] += w * ds->y[i];
        pd[v][g] += w * r->pd[i];
        tot[v] += w;
    }
    tc_buf_printf(b, "<table><tr><th>grade</th><th>scores</th>");
    for (int v = 0; v < 2; v++)
        tc_buf_printf(b, "<th>share (%s)</th><th>default rate</th><th>mean PD</th>", v ? "val" : "dev");
    tc_buf_printf(b, "</tr>\n");
    for (size_t g = 0; g < m->n_grades; g++) {
        tc_buf_printf(b, "<tr><td>");
        esc(b, m->grades[g].letter);
        tc_buf_printf(b, " \xe2\x80\x94 ");
        esc(b, m->grades[g].en);
        if (g == 0)
            tc_buf_printf(b, "</td><td>\xe2\x89\xa5 %g</td>", m->grades[g].min_score);
        else
            tc_buf_printf(b, "</td><td>%g \xe2\x80\x93 %g</td>", m->grades[g].min_score,
                m->grades[g - 1].min_score);
        for (int v = 0; v < 2; v++) {
            if ((v == 1 && !r->has_validation) || !(n[v][g] > 0)) {
                tc_buf_printf(b, "<td>%s</td><td>\xe2\x80\x94</td><td>\xe2\x80\x94</td>",
                    v == 1 && !r->has_validation ? "\xe2\x80\x94" : "0 %");
                continue;
            }
            tc_buf_printf(b, "<td>%.2f %%</td><td>%.2f %%</td><td>%.2f %%</td>", 100 * n[v][g] / tot[v],
                100 * e[v][g] / n[v][g], 100 * pd[v][g] / n[v][g]);
        }
        tc_buf_printf(b, "</tr>\n");
    }
    tc_buf_printf(b, "</table>\n");
}

static void char_section(tc_buf *b, const tc_train_result *r, size_t j)
{
    const tc_train_char *c = &r->chars[j];
    tc_buf_printf(b, "<section class=\"char\" id=\"char-%zu\"><h3>", j);
    esc(b, c->attr->name);
    tc_buf_printf(b, " <small>");
    esc(b, c->attr->label[0] != '\0' ? c->attr->label : c->attr->attr->description_en);
    tc_buf_printf(b, " \xe2\x80\x94 %s, reason code ", tc_char_status_name(c->status));
    esc(b, c->attr->reason_code);
    tc_buf_printf(b, "</small></h3>\n<div class=\"pair\">");
    woe_chart(b, c, j);
    tc_buf_printf(b,
        "<table><tr><th>#</th><th>bin</th><th>rows (dev)</th><th>share</th><th>defaults</th>"
        "<th>default rate</th><th>WoE</th><th>IV</th>%s<th>share (val)</th></tr>\n",
        c->model_index >= 0 && r->kind == TC_MODEL_SCORECARD ? "<th>points</th>" : "");
    double val_tot = 0;
    for (size_t i = 0; i < c->bin.n_bins; i++)
        val_tot += c->val_n[i];
    for (size_t i = 0; i < c->bin.n_bins; i++) {
        const tc_bin_stat *bs = &c->bin.bins[i];
        char t[512];
        train_report_bin_text(c, i, t, sizeof t);
        tc_buf_printf(b, "<tr><td>%zu</td><td>", i);
        esc(b, t);
        if (train_report_user_split(c, i))
            tc_buf_printf(b, " <span class=\"split-kept\" title=\"starts at a user split point\">"
                   "\xe2\x9c\x82 user split</span>");
        tc_buf_printf(b, "</td><td>%.0f</td><td>%.2f %%</td><td>%.0f</td><td>", bs->n,
            100 * bs->n / c->bin.total_n, bs->events);
        if (bs->n > 0)
            tc_buf_printf(b, "%.2f %%", 100 * bs->events / bs->n);
        else
            tc_buf_printf(b, "\xe2\x80\x94");
        tc_buf_printf(b, "</td><td>%.4f</td><td>%.4f</td>", bs->woe, bs->iv);
        if (c->model_index >= 0 && r->kind == TC_MODEL_SCORECARD)
            tc_buf_printf(b, "<td>%g</td>", c->points[i]);
        if (val_tot > 0)
            tc_buf_printf(b, "<td>%.2f %%</td>", 100 * c->val_n[i] / val_tot);
        else
            tc_buf_printf(b, "<td>\xe2\x80\x94</td>");
        tc_buf_printf(b, "</tr>\n");
    }
    tc_buf_printf(b, "</table></div>\n");
    if (c->bin.n_splits > 0) {
        /* where the modeller's split points went: applied, or merged away and why */
        tc_buf_printf(b, "<p class=\"splits\">User split points: ");
        for (size_t k = 0; k < c->bin.n_splits; k++) {
            char n1[40];
            int kept = c->bin.split_fate[k] == TC_SPLIT_KEPT;
            tc_buf_printf(b, "%s<span class=\"%s\">%s (%s)</span>", k ? ", " : "",
                kept ? "split-kept" : "split-gone", tc_schema_num(n1, c->bin.splits[k]),
                kept ? "applied" : tc_split_fate_name((tc_split_fate)c->bin.split_fate[k]));
        }
        tc_buf_printf(b, ".</p>\n");
    }
    if (c->why[0] != '\0') {
        tc_buf_printf(b, "<p class=\"why\">");
        esc(b, c->why);
        tc_buf_printf(b, "</p>\n");
    }
    tc_buf_printf(b, "</section>\n");
}

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#222;max-width:1200px}"
    "h1{font-size:1.5em;margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ccc}"
    "h3 small{font-weight:normal;color:#555}"
    "table{border-collapse:collapse;margin:8px 0;font-size:0.9em}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
    "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
    "tr.out td{color:#888}.meta td,td.why{text-align:left}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}.pair{display:flex;flex-wrap:wrap;gap:16px;"
    "align-items:flex-start}"
    "figure{margin:0}figcaption{font-size:0.8em;color:#555;max-width:440px}"
    "svg text{font-size:11px;fill:#333}svg .title{font-size:13px;font-weight:bold;"
    "text-anchor:middle}"
    ".grid{stroke:#eee}.frame{fill:none;stroke:#999}.axis{stroke:#333;fill:none}"
    ".ref{stroke:#aaa;stroke-dasharray:4 3;fill:none}"
    "polyline.dev,line.dev{stroke:#1f5fa8;stroke-width:2;fill:none}circle.dev{fill:#1f5fa8}"
    "polyline.val,line.val{stroke:#e07b00;stroke-width:2;fill:none}circle.val{fill:#e07b00}"
    "polyline.bad,line.bad{stroke:#c0392b;stroke-width:2;fill:none}"
    "polyline.good,line.good{stroke:#27864a;stroke-width:2;fill:none}"
    ".ksline{stroke:#333;stroke-width:1.5;stroke-dasharray:3 2}"
    ".goodbar{fill:#27864a;opacity:0.8}.badbar{fill:#c0392b;opacity:0.8}"
    ".why{color:#8a5a00}.note{color:#555;font-size:0.9em}"
    ".split-kept{color:#1f5fa8;font-size:0.85em;white-space:nowrap}.split-gone{color:#8a5a00}";

int train_report_html(const tc_train_result *r, const char *data_path, const char *fingerprint,
                      char **out, size_t *len, tc_error *err)
{
    const tc_train_spec *s = r->spec;
    const tc_model *m = r->model;
    tc_buf b = {.first = 1 << 16};
    tc_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    esc(&b, s->name);
    tc_buf_printf(&b, " version %d \xe2\x80\x94 training report</title>\n<style>%s</style></head><body>\n",
        s->version, css);
    tc_buf_printf(&b, "<h1>");
    esc(&b, s->name);
    tc_buf_printf(&b, " version %d</h1>\n<p>", s->version);
    esc(&b, s->description_en);
    tc_buf_printf(&b, "</p>\n<table class=\"meta\">");
    tc_buf_printf(&b, "<tr><th>kind</th><td>%s</td></tr>", tc_model_kind_name(r->kind));
    tc_buf_printf(&b, "<tr><th>product, status</th><td>");
    esc(&b, s->product);
    tc_buf_printf(&b, ", %s</td></tr><tr><th>created at</th><td>", tc_model_status_name(s->status));
    esc(&b, r->created_at);
    tc_buf_printf(&b, "</td></tr><tr><th>training data</th><td>");
    esc(&b, data_path);
    tc_buf_printf(&b, " (%zu rows), ", r->data->n_rows);
    esc(&b, fingerprint != NULL ? fingerprint : "no fingerprint");
    tc_buf_printf(&b, "</td></tr><tr><th>catalog</th><td>");
    esc(&b, s->catalog->name);
    tc_buf_printf(&b, " %s</td></tr><tr><th>spec</th><td>", s->catalog->hash_hex);
    esc(&b, s->origin);
    tc_buf_printf(&b, "</td></tr><tr><th>split</th><td>");
    esc(&b, r->split_text);
    tc_buf_printf(&b, "; %zu development, %zu validation rows</td></tr>", r->n_dev, r->n_val);
    tc_buf_printf(&b,
        "<tr><th>scaling</th><td>%g points at %g:1, PDO %g (factor %.4f, offset %.4f); "
        "bounds [%g, %g]; points rounded to %g</td></tr>",
        s->points, s->odds, s->pdo, m->factor, m->offset, s->score_min, s->score_max, s->rounding);
    tc_buf_printf(&b,
        "<tr><th>engine check</th><td>the model file loads; the engine re-scored %zu rows "
        "with the trainer's result, bit for bit</td></tr></table>\n",
        r->check_rows);

    tc_buf_printf(&b, "<h2>Key figures</h2>\n");
    key_figures(&b, r);
    tc_buf_printf(&b, "<div class=\"charts\">\n");
    hist h;
    score_hist(r, &h);
    roc_chart(&b, r);
    ks_chart(&b, r, &h);
    calibration_chart(&b, r);
    distribution_chart(&b, r, &h);
    tc_buf_printf(&b, "</div>\n");

    tc_buf_printf(&b, "<h2>Calibration by decile of PD</h2>\n<table><tr><th>decile</th><th>PD range</th>"
            "<th>rows (dev)</th><th>mean PD</th><th>default rate</th>");
    if (r->has_validation)
        tc_buf_printf(&b, "<th>rows (val)</th><th>mean PD</th><th>default rate</th>");
    tc_buf_printf(&b, "</tr>\n");
    for (size_t g = 0; g < r->dev.n_groups; g++) {
        const tc_calibration_group *d = &r->dev.groups[g];
        tc_buf_printf(&b,
            "<tr><td>%zu</td><td>%.4f \xe2\x80\x93 %.4f</td><td>%.0f</td><td>%.4f</td>"
            "<td>%.4f</td>",
            g + 1, d->pd_min, d->pd_max, d->n, d->expected / d->n, d->events / d->n);
        if (r->has_validation && g < r->val.n_groups) {
            const tc_calibration_group *v = &r->val.groups[g];
            tc_buf_printf(&b, "<td>%.0f</td><td>%.4f</td><td>%.4f</td>", v->n, v->expected / v->n,
                v->events / v->n);
        }
        tc_buf_printf(&b, "</tr>\n");
    }
    tc_buf_printf(&b, "</table>\n");

    tc_buf_printf(&b, "<h2>Grades</h2>\n");
    grade_table(&b, r);

    tc_buf_printf(&b, "<h2>Fit</h2>\n");
    fit_table(&b, r);

    tc_buf_printf(&b, "<h2>Characteristics: information value and selection</h2>\n");
    tc_buf_printf(&b,
        "<p class=\"note\">Selection keeps IV \xe2\x89\xa5 %g, flags IV above %g, and drops "
        "the weaker of any two WoE columns correlated above %g.%s</p>\n",
        s->min_iv, s->suspicious_iv, s->max_correlation,
        r->kind == TC_MODEL_LOGISTIC ? " (A logistic model on raw attributes keeps every "
                                       "attribute of the spec; the IVs are for information.)"
                                     : "");
    iv_table(&b, r);

    tc_buf_printf(&b, "<h2>WoE by bin</h2>\n");
    for (size_t j = 0; j < r->n_chars; j++)
        char_section(&b, r, j);

    tc_buf_printf(&b,
        "<h2>Conventions</h2>\n<ul class=\"note\">"
        "<li>WoE = ln(%%good/%%bad) per bin with additive smoothing %g on every cell "
        "(empty bins get WoE 0); IV = \xce\xa3 (%%good \xe2\x88\x92 %%bad)\xc2\xb7WoE.</li>"
        "<li>AUC counts ties as one half (mid-ranks); Gini = 2\xc2\xb7"
        "AUC \xe2\x88\x92 1; KS "
        "is the largest distance between the two outcomes' PD distributions.</li>"
        "<li>Hosmer\xe2\x80\x93Lemeshow: ten groups of equal row count by PD, \xcf\x87\xc2\xb2 "
        "with 8 degrees of freedom.</li>"
        "<li>PSI: ten bins at the deciles of the development scores; shares below %g are "
        "raised to %g. Bands: below %g stable, %g\xe2\x80\x93%g watch, above %g act.</li>"
        "</ul>\n</body></html>\n",
        s->attrs[0].binning.smoothing, TC_PSI_EPS, TC_PSI_EPS, TC_PSI_WATCH, TC_PSI_WATCH,
        TC_PSI_ACT, TC_PSI_ACT);
    *len = b.len;
    if ((*out = tc_buf_take(&b)) == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory writing the report");
    return TC_OK;
}
