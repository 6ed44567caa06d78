#include "tc_perf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

typedef struct row {
    double risk, y, w;
    size_t i;
} row;

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->risk != y->risk)
        return x->risk < y->risk ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void hosmer_lemeshow(const row *r, size_t n, tc_perf *m)
{
    size_t G = TC_PERF_GROUPS;
    double stat = 0;
    int used = 0;
    m->n_groups = 0;
    for (size_t g = 0; g < G; g++) {
        size_t lo = g * n / G, hi = (g + 1) * n / G;
        if (hi <= lo)
            continue;
        tc_calibration_group *cg = &m->groups[m->n_groups++];
        memset(cg, 0, sizeof *cg);
        cg->pd_min = r[lo].risk;
        cg->pd_max = r[hi - 1].risk;
        for (size_t i = lo; i < hi; i++) {
            cg->n += r[i].w;
            cg->events += r[i].w * r[i].y;
            cg->expected += r[i].w * r[i].risk;
        }
        double var = cg->expected * (1 - cg->expected / cg->n);
        if (cg->n > 0 && var > 0) {
            double d = cg->events - cg->expected;
            stat += d * d / var;
            used++;
        }
    }
    m->hl_stat = stat;
    m->hl_df = used > 2 ? used - 2 : 0;
    m->hl_p = m->hl_df > 0 ? gsl_cdf_chisq_Q(stat, m->hl_df) : NAN;
}

int tc_perf_compute(const double *risk, const double *y, const double *w, size_t n,
                       tc_perf *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    row *r = malloc((n > 0 ? n : 1) * sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    double W1 = 0, W0 = 0, brier = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w != NULL ? w[i] : 1.0;
        if (!(y[i] == 0 || y[i] == 1) || !(wi >= 0) || !isfinite(wi) || !isfinite(risk[i])) {
            free(r);
            return tc_errorf(err, TC_EINVAL,
                             "row %zu: target %g, weight %g, risk %g: need a "
                             "0/1 target, a finite weight >= 0 and a finite risk",
                             i + 1, y[i], wi, risk[i]);
        }
        r[i] = (row){risk[i], y[i], wi, i};
        W1 += wi * y[i];
        W0 += wi * (1 - y[i]);
        double d = risk[i] - y[i];
        brier += wi * d * d;
    }
    if (!(W1 > 0) || !(W0 > 0)) {
        free(r);
        return tc_errorf(err, TC_EINVAL, "%zu rows with %s: AUC and KS need both outcomes", n,
                         W1 > 0 ? "no non-events" : "no events");
    }
    qsort(r, n, sizeof *r, cmp_row);
    out->rows = n;
    out->n = W1 + W0;
    out->events = W1;
    out->brier = brier / (W1 + W0);
    /* One walk over groups of equal risk, ascending: AUC, KS. */
    double below0 = 0, cum1 = 0, cum0 = 0, auc = 0, ks = 0, ks_at = r[0].risk;
    size_t n_groups = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double g1 = 0, g0 = 0;
        while (j < n && r[j].risk == r[i].risk) {
            g1 += r[j].w * r[j].y;
            g0 += r[j].w * (1 - r[j].y);
            j++;
        }
        auc += g1 * (below0 + 0.5 * g0);
        below0 += g0;
        cum1 += g1;
        cum0 += g0;
        double d = fabs(cum1 / W1 - cum0 / W0);
        if (d > ks) {
            ks = d;
            ks_at = r[i].risk;
        }
        n_groups++;
        i = j;
    }
    out->auc = auc / (W1 * W0);
    out->gini = 2 * out->auc - 1;
    out->ks = ks;
    out->ks_at = ks_at;
    /* ROC from the riskiest group down: after each group, (FPR, TPR); thinned evenly. */
    size_t keep = TC_PERF_ROC_MAX - 2, step = n_groups / keep + 1, k = 0, gi = 0;
    double tp = 0, fp = 0;
    out->roc_fpr[k] = 0;
    out->roc_tpr[k++] = 0;
    for (size_t i = n; i > 0;) {
        size_t j = i;
        while (j > 0 && r[j - 1].risk == r[i - 1].risk) {
            tp += r[j - 1].w * r[j - 1].y;
            fp += r[j - 1].w * (1 - r[j - 1].y);
            j--;
        }
        gi++;
        if (gi % step == 0 && j > 0 && k < TC_PERF_ROC_MAX - 1) {
            out->roc_fpr[k] = fp / W0;
            out->roc_tpr[k++] = tp / W1;
        }
        i = j;
    }
    out->roc_fpr[k] = 1;
    out->roc_tpr[k++] = 1;
    out->n_roc = k;
    hosmer_lemeshow(r, n, out);
    free(r);
    return TC_OK;
}

double tc_psi(const double *expected, const double *actual, size_t k)
{
    double te = 0, ta = 0, psi = 0;
    for (size_t i = 0; i < k; i++) {
        te += expected[i];
        ta += actual[i];
    }
    if (!(te > 0) || !(ta > 0))
        return 0;
    for (size_t i = 0; i < k; i++) {
        double e = fmax(expected[i] / te, TC_PSI_EPS), a = fmax(actual[i] / ta, TC_PSI_EPS);
        psi += (a - e) * log(a / e);
    }
    return psi;
}

const char *tc_psi_band(double psi)
{
    return psi < TC_PSI_WATCH ? "stable" : psi <= TC_PSI_ACT ? "watch" : "act";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

size_t tc_psi_cuts(const double *values, size_t n, size_t k, double *cuts, tc_error *err)
{
    if (n == 0 || k < 2)
        return 0;
    if (k > TC_PSI_BINS_MAX)
        k = TC_PSI_BINS_MAX;
    double *s = malloc(n * sizeof *s);
    if (s == NULL) {
        tc_errorf(err, TC_ENOMEM, "out of memory");
        return 0;
    }
    memcpy(s, values, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    size_t m = 0;
    for (size_t i = 1; i < k; i++) {
        double c = s[i * n / k];
        /* a cut at the smallest value would leave the first bin empty */
        if (c > s[0] && (m == 0 || c > cuts[m - 1]))
            cuts[m++] = c;
    }
    free(s);
    return m;
}

size_t tc_psi_bin(const double *cuts, size_t n_cuts, double v)
{
    size_t lo = 0, hi = n_cuts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cuts[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
