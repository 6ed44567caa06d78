#include "tc_binning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_SPAN_MAX (1 << 16) /* int attributes up to this many values are counted, not sorted  \
                                  */

static const char *const trend_names[] = {"auto", "ascending", "descending",
                                          "peak", "valley",    "none"};

static const char *const fate_names[] = {"kept", "no rows", "merged by the trend",
                                         "merged by the minimum shares", "merged by max_bins"};

const char *tc_split_fate_name(tc_split_fate f)
{
    return (unsigned)f < 5 ? fate_names[f] : "?";
}

const char *tc_trend_name(tc_trend t)
{
    return (unsigned)t < 6 ? trend_names[t] : "?";
}

int tc_trend_parse(const char *name, tc_trend *out)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(name, trend_names[i]) == 0) {
            *out = (tc_trend)i;
            return 0;
        }
    return -1;
}

void tc_binning_options_default(tc_binning_options *o)
{
    memset(o, 0, sizeof *o);
    o->fine_classes = TC_BINNING_FINE_DEFAULT;
    o->min_bin_share = TC_BINNING_MIN_SHARE_DEFAULT;
    o->min_event_share = TC_BINNING_MIN_EVENT_SHARE_DEFAULT;
    o->max_bins = TC_BINNING_MAX_BINS_DEFAULT;
    o->smoothing = TC_BINNING_SMOOTHING_DEFAULT;
    o->trend = TC_TREND_AUTO;
}

/* A class of adjacent values (numeric) or a group of levels (categorical) while merging. */
typedef struct cls {
    double lo;       /* numeric: the smallest value in the class */
    double n, e;     /* weighted rows and events */
    uint64_t lv[4];  /* categorical: levels */
    int first_level; /* categorical: smallest level index */
} cls;

typedef struct work {
    const tc_binning_options *opt;
    double N, E;    /* totals over all usable rows (values, specials and missing) */
    size_t k_other; /* non-empty special and missing bins, for the smoothing's k */
    uint8_t *fate;  /* user splits of the candidate being shaped, or NULL */
} work;

/* User splits no longer a class bound after a step are marked with that step. */
static void mark_splits(const work *w, const cls *c, size_t k, tc_split_fate step)
{
    if (w->fate == NULL)
        return;
    for (size_t s = 0; s < w->opt->n_splits; s++) {
        if (w->fate[s] != TC_SPLIT_KEPT)
            continue;
        int bound = 0;
        for (size_t i = 1; i < k && !bound; i++)
            bound = c[i].lo == w->opt->splits[s];
        if (!bound)
            w->fate[s] = (uint8_t)step;
    }
}

static void merge(cls *c, size_t *k, size_t i)
{
    c[i].n += c[i + 1].n;
    c[i].e += c[i + 1].e;
    for (int b = 0; b < 4; b++)
        c[i].lv[b] |= c[i + 1].lv[b];
    if (c[i + 1].first_level < c[i].first_level)
        c[i].first_level = c[i + 1].first_level;
    memmove(c + i + 1, c + i + 2, (*k - i - 2) * sizeof *c);
    (*k)--;
}

/* rate(a) > rate(b), without dividing (n > 0 for every class that reaches here). */
static int rate_gt(const cls *a, const cls *b)
{
    return a->e * b->n > b->e * a->n;
}

/* Pool adjacent violators over c[lo..hi) so that the event rate strictly decreases (WoE
 * ascending) or strictly increases (WoE descending) from left to right. */
static void pava(cls *c, size_t *k, size_t lo, size_t hi, int woe_ascending)
{
    size_t top = lo; /* c[lo..top) is the monotone stack */
    for (size_t i = lo; i < hi; i++) {
        c[top++] = c[i];
        while (top - lo >= 2) {
            cls *a = &c[top - 2], *b = &c[top - 1];
            int ok = woe_ascending ? rate_gt(a, b) : rate_gt(b, a);
            if (ok)
                break;
            a->n += b->n;
            a->e += b->e;
            top--;
        }
    }
    memmove(c + top, c + hi, (*k - hi) * sizeof *c);
    *k -= hi - top;
}

/* WoE up to a constant shared by all bins: ln((g + α)/(e + α)). */
static double woe_key(const cls *c, double alpha)
{
    return log((c->n - c->e + alpha) / (c->e + alpha));
}

static void minimum_sizes(const work *w, cls *c, size_t *k)
{
    double min_n = w->opt->min_bin_share * w->N, min_e = w->opt->min_event_share * w->E;
    while (*k > 1) {
        size_t worst = SIZE_MAX;
        for (size_t i = 0; i < *k; i++)
            if ((c[i].n < min_n || c[i].e < min_e) && (worst == SIZE_MAX || c[i].n < c[worst].n))
                worst = i;
        if (worst == SIZE_MAX)
            return;
        size_t into;
        if (worst == 0)
            into = 0;
        else if (worst == *k - 1)
            into = worst - 1;
        else {
            /* The neighbour with the closer event rate loses the least information. */
            double r = c[worst].e / c[worst].n;
            double dl = fabs(c[worst - 1].e / c[worst - 1].n - r);
            double dr = fabs(c[worst + 1].e / c[worst + 1].n - r);
            into = dl <= dr ? worst - 1 : worst;
        }
        merge(c, k, into);
    }
}

static double iv_term(const work *w, double n, double e, size_t k)
{
    double a = w->opt->smoothing;
    double G = w->N - w->E;
    double pg = (n - e + a) / (G + (double)k * a), pe = (e + a) / (w->E + (double)k * a);
    return (pg - pe) * log(pg / pe);
}

static void maximum_bins(const work *w, cls *c, size_t *k)
{
    while (*k > (size_t)w->opt->max_bins) {
        size_t kk = *k + w->k_other, best = 0;
        double best_loss = INFINITY;
        for (size_t i = 0; i + 1 < *k; i++) {
            double loss = iv_term(w, c[i].n, c[i].e, kk) + iv_term(w, c[i + 1].n, c[i + 1].e, kk) -
                          iv_term(w, c[i].n + c[i + 1].n, c[i].e + c[i + 1].e, kk - 1);
            if (loss < best_loss) {
                best_loss = loss;
                best = i;
            }
        }
        merge(c, k, best);
    }
}

/* First adjacent pair (i, i+1) whose smoothed WoE breaks the trend, or SIZE_MAX. */
static size_t violation(const cls *c, size_t k, tc_trend t, double alpha)
{
    if (t == TC_TREND_NONE || k < 2)
        return SIZE_MAX;
    size_t turn = 0;
    if (t == TC_TREND_PEAK || t == TC_TREND_VALLEY)
        for (size_t i = 1; i < k; i++) {
            double a = woe_key(&c[i], alpha), b = woe_key(&c[turn], alpha);
            if (t == TC_TREND_PEAK ? a > b : a < b)
                turn = i;
        }
    for (size_t i = 0; i + 1 < k; i++) {
        double a = woe_key(&c[i], alpha), b = woe_key(&c[i + 1], alpha);
        int up = t == TC_TREND_ASCENDING || (t == TC_TREND_PEAK && i < turn) ||
                 (t == TC_TREND_VALLEY && i >= turn);
        if (up ? !(a < b) : !(a > b))
            return i;
    }
    return SIZE_MAX;
}

static void shape(const work *w, cls *c, size_t *k, tc_trend t)
{
    minimum_sizes(w, c, k);
    mark_splits(w, c, *k, TC_SPLIT_MIN_SHARE);
    maximum_bins(w, c, k);
    mark_splits(w, c, *k, TC_SPLIT_MAX_BINS);
    size_t i;
    while ((i = violation(c, *k, t, w->opt->smoothing)) != SIZE_MAX)
        merge(c, k, i);
    mark_splits(w, c, *k, TC_SPLIT_TREND);
}

/* ---- statistics of the usable rows ---- */

typedef struct triple {
    double v, n, e;
} triple;

static int cmp_triple(const void *a, const void *b)
{
    double x = ((const triple *)a)->v, y = ((const triple *)b)->v;
    return (x > y) - (x < y);
}

static int is_special(const tc_binning_options *o, double v, size_t *which)
{
    for (size_t s = 0; s < o->n_special; s++)
        if (o->special[s] == v) {
            *which = s;
            return 1;
        }
    return 0;
}

/* A row of weight wi and outcome yi counted as missing, or as the special value it is: 1 if it
 * was, 0 when it belongs with the ordinary values. */
static int count_aside(const tc_binning_options *o, int is_missing, double v, double wi,
                       double yi, double sp_n[], double sp_e[], double *miss_n, double *miss_e)
{
    size_t s;
    if (is_missing) {
        *miss_n += wi;
        *miss_e += wi * yi;
        return 1;
    }
    if (o->n_special > 0 && is_special(o, v, &s)) {
        sp_n[s] += wi;
        sp_e[s] += wi * yi;
        return 1;
    }
    return 0;
}

/* Distinct non-special values with their counts, ascending; specials and missing counted apart.
 * *d is malloc'ed (free it). */
static int numeric_table(const tc_attr *attr, const double *v, const uint8_t *missing,
                         const double *y, const double *wt, const uint8_t *use, size_t n,
                         const tc_binning_options *o, triple **d, size_t *m, double sp_n[],
                         double sp_e[], double *miss_n, double *miss_e, tc_error *err)
{
    *d = NULL;
    *m = 0;
    double span = attr->max - attr->min + 1;
    if (attr->type == TC_ATTR_INT && span <= COUNT_SPAN_MAX) {
        size_t len = (size_t)span;
        triple *t = calloc(len, sizeof *t);
        if (t == NULL)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            if (use != NULL && !use[i])
                continue;
            double wi = wt != NULL ? wt[i] : 1.0;
            if (count_aside(o, missing[i], v[i], wi, y[i], sp_n, sp_e, miss_n, miss_e))
                continue;
            /* the dataset holds checked values; a caller's stray one must not index out */
            if (!(v[i] >= attr->min && v[i] <= attr->max)) {
                free(t);
                return tc_errorf(err, TC_EINVAL,
                                 "'%s': value %g is outside the catalog range [%g, %g]",
                                 attr->name, v[i], attr->min, attr->max);
            }
            triple *c = &t[(size_t)(v[i] - attr->min)];
            c->n += wi;
            c->e += wi * y[i];
        }
        size_t k = 0;
        for (size_t i = 0; i < len; i++)
            if (t[i].n > 0) {
                t[k].v = attr->min + (double)i;
                t[k].n = t[i].n;
                t[k].e = t[i].e;
                k++;
            }
        *d = t;
        *m = k;
        return TC_OK;
    }
    triple *t = malloc((n > 0 ? n : 1) * sizeof *t);
    if (t == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (use != NULL && !use[i])
            continue;
        double wi = wt != NULL ? wt[i] : 1.0;
        if (!count_aside(o, missing[i], v[i], wi, y[i], sp_n, sp_e, miss_n, miss_e) && wi > 0) {
            t[k].v = v[i];
            t[k].n = wi;
            t[k].e = wi * y[i];
            k++;
        }
    }
    qsort(t, k, sizeof *t, cmp_triple);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u > 0 && t[u - 1].v == t[i].v) {
            t[u - 1].n += t[i].n;
            t[u - 1].e += t[i].e;
        } else {
            t[u++] = t[i];
        }
    }
    *d = t;
    *m = u;
    return TC_OK;
}

/* Fine classes by quantiles of the weighted row count: a class closes after the value at which
 * the cumulative count passes the next k/F of the total (several at once for a heavy value). */
static size_t fine_classes(const triple *d, size_t m, int F, cls *c)
{
    size_t k = 0;
    if (m <= (size_t)F) {
        for (size_t i = 0; i < m; i++)
            c[k++] = (cls){.lo = d[i].v, .n = d[i].n, .e = d[i].e};
        return k;
    }
    double total = 0, cum = 0;
    for (size_t i = 0; i < m; i++)
        total += d[i].n;
    size_t next = 1;
    int open_new = 1;
    for (size_t i = 0; i < m; i++) {
        if (open_new) {
            c[k++] = (cls){.lo = d[i].v};
            open_new = 0;
        }
        c[k - 1].n += d[i].n;
        c[k - 1].e += d[i].e;
        cum += d[i].n;
        size_t before = next;
        while (next < (size_t)F && cum * F >= (double)next * total)
            next++;
        open_new = next > before;
    }
    return k;
}

/* Classes at the user's split points: [−∞, s1), [s1, s2), …, [sk, +∞), each starting at its
 * split (the first at its smallest value); an interval without rows makes no class. */
static size_t split_classes(const triple *d, size_t m, const tc_binning_options *o, cls *c)
{
    size_t k = 0, interval = SIZE_MAX;
    for (size_t i = 0; i < m; i++) {
        size_t s = 0;
        while (s < o->n_splits && d[i].v >= o->splits[s])
            s++;
        if (s != interval) {
            c[k++] = (cls){.lo = s == 0 ? d[i].v : o->splits[s - 1]};
            interval = s;
        }
        c[k - 1].n += d[i].n;
        c[k - 1].e += d[i].e;
    }
    return k;
}

/* ---- assembling the result ---- */

static void finish(const work *w, const tc_attr *attr, const cls *c, size_t k, const double sp_n[],
                   const double sp_e[], double miss_n, double miss_e, tc_binning *out)
{
    const tc_binning_options *o = w->opt;
    int numeric = attr->type == TC_ATTR_INT || attr->type == TC_ATTR_REAL;
    size_t nb = 0;
    for (size_t i = 0; i < k; i++) {
        tc_bin_stat *b = &out->bins[nb++];
        memset(b, 0, sizeof *b);
        b->n = c[i].n;
        b->events = c[i].e;
        if (numeric) {
            b->kind = TC_BIN_INTERVAL;
            b->lower = i == 0 ? -INFINITY : c[i].lo;
            b->upper = i + 1 == k ? INFINITY : c[i + 1].lo;
        } else {
            b->kind = TC_BIN_LEVELS;
            memcpy(b->levels, c[i].lv, sizeof b->levels);
        }
    }
    out->n_value_bins = nb;
    for (size_t s = 0; s < o->n_special; s++) {
        tc_bin_stat *b = &out->bins[nb++];
        memset(b, 0, sizeof *b);
        b->kind = TC_BIN_SPECIAL;
        b->special = o->special[s];
        b->n = sp_n[s];
        b->events = sp_e[s];
    }
    out->missing_bin = SIZE_MAX;
    if (attr->missing_allowed) {
        tc_bin_stat *b = &out->bins[nb];
        memset(b, 0, sizeof *b);
        b->kind = TC_BIN_MISSING;
        b->n = miss_n;
        b->events = miss_e;
        out->missing_bin = nb++;
    }
    out->n_bins = nb;
    size_t nonempty = 0;
    for (size_t i = 0; i < nb; i++)
        nonempty += out->bins[i].n > 0;
    double a = o->smoothing, G = w->N - w->E, E = w->E, kk = (double)nonempty;
    out->iv = 0;
    for (size_t i = 0; i < nb; i++) {
        tc_bin_stat *b = &out->bins[i];
        if (!(b->n > 0)) {
            b->woe = 0;
            b->iv = 0;
            continue;
        }
        double pg = (b->n - b->events + a) / (G + kk * a), pe = (b->events + a) / (E + kk * a);
        b->woe = log(pg / pe);
        b->iv = (pg - pe) * b->woe;
        out->iv += b->iv;
    }
    out->total_n = w->N;
    out->total_events = w->E;
}

static int check_options(const tc_attr *attr, const tc_binning_options *o, tc_error *err)
{
    if (o->fine_classes < 2 || o->fine_classes > TC_BINNING_FINE_MAX)
        return tc_errorf(err, TC_EINVAL, "fine_classes %d is outside [2, %d]", o->fine_classes,
                         TC_BINNING_FINE_MAX);
    if (!(o->min_bin_share >= 0 && o->min_bin_share <= 0.5))
        return tc_errorf(err, TC_EINVAL, "min_bin_share %g is outside [0, 0.5]", o->min_bin_share);
    if (!(o->min_event_share >= 0 && o->min_event_share <= 0.5))
        return tc_errorf(err, TC_EINVAL, "min_event_share %g is outside [0, 0.5]",
                         o->min_event_share);
    if (o->max_bins < 2 || o->max_bins > TC_BINNING_VALUE_BINS_MAX)
        return tc_errorf(err, TC_EINVAL, "max_bins %d is outside [2, %d]", o->max_bins,
                         TC_BINNING_VALUE_BINS_MAX);
    if (!(o->smoothing > 0 && o->smoothing <= 100))
        return tc_errorf(err, TC_EINVAL, "smoothing %g is outside (0, 100]", o->smoothing);
    if (o->n_special > TC_MODEL_SPECIALS_MAX)
        return tc_errorf(err, TC_EINVAL, "more than %d special values", TC_MODEL_SPECIALS_MAX);
    if (o->n_special > 0 && attr->type != TC_ATTR_INT && attr->type != TC_ATTR_REAL)
        return tc_errorf(err, TC_EINVAL, "'%s' is a %s: special values are for numbers", attr->name,
                         tc_attr_type_name(attr->type));
    if (o->n_splits > TC_BINNING_SPLITS_MAX ||
        (o->n_splits > 0 && attr->type != TC_ATTR_INT && attr->type != TC_ATTR_REAL))
        return tc_errorf(err, TC_EINVAL, "'%s': split points are for numbers, at most %d",
                         attr->name, TC_BINNING_SPLITS_MAX);
    for (size_t s = 0; s < o->n_splits; s++)
        if (!(o->splits[s] > attr->min && o->splits[s] <= attr->max) ||
            (s > 0 && !(o->splits[s] > o->splits[s - 1])))
            return tc_errorf(err, TC_EINVAL,
                             "'%s': split %g is not above the one before and inside (%g, %g]",
                             attr->name, o->splits[s], attr->min, attr->max);
    return TC_OK;
}

static int fit_numeric(work *w, const tc_attr *attr, const triple *d, size_t m, const double sp_n[],
                       const double sp_e[], double miss_n, double miss_e, tc_binning *out,
                       tc_error *err)
{
    const tc_binning_options *o = w->opt;
    cls *fine = calloc(m + 1, sizeof *fine), *c = calloc(m + 1, sizeof *c);
    tc_binning *cand = malloc(sizeof *cand);
    uint8_t fate[TC_BINNING_SPLITS_MAX];
    int rc = TC_OK;
    w->fate = o->n_splits > 0 ? fate : NULL;
    if (fine == NULL || c == NULL || cand == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    size_t nf = m == 0 ? 0
                : o->n_splits > 0 ? split_classes(d, m, o, fine)
                                  : fine_classes(d, m, o->fine_classes, fine);
    if (nf == 0) { /* every row missing or special: one open interval, empty */
        fine[0] = (cls){.lo = 0};
        nf = 1;
    }
    out->n_fine = nf;
    /* Candidate shapes: (trend, turning point). Keep the highest IV; earlier wins ties. */
    tc_trend shapes[2];
    size_t n_shapes = 0;
    if (o->trend == TC_TREND_AUTO) {
        shapes[n_shapes++] = TC_TREND_ASCENDING;
        shapes[n_shapes++] = TC_TREND_DESCENDING;
    } else {
        shapes[n_shapes++] = o->trend;
    }
    double best = -INFINITY;
    for (size_t si = 0; si < n_shapes; si++) {
        tc_trend t = shapes[si];
        int unimodal = t == TC_TREND_PEAK || t == TC_TREND_VALLEY;
        size_t turns = unimodal ? nf : 1;
        for (size_t turn = 0; turn < turns; turn++) {
            size_t k = nf;
            memcpy(c, fine, nf * sizeof *c);
            memset(fate, TC_SPLIT_KEPT, sizeof fate);
            mark_splits(w, c, k, TC_SPLIT_NO_ROWS);
            if (t == TC_TREND_ASCENDING || t == TC_TREND_DESCENDING) {
                pava(c, &k, 0, k, t == TC_TREND_ASCENDING);
            } else if (unimodal) {
                /* peak: WoE up to the turning class, down after it */
                size_t before = k;
                pava(c, &k, 0, turn + 1, t == TC_TREND_PEAK);
                size_t left = turn + 1 - (before - k);
                pava(c, &k, left, k, t != TC_TREND_PEAK);
            }
            mark_splits(w, c, k, TC_SPLIT_TREND);
            shape(w, c, &k, t);
            *cand = *out;
            finish(w, attr, c, k, sp_n, sp_e, miss_n, miss_e, cand);
            cand->n_splits = o->n_splits;
            memcpy(cand->splits, o->splits, sizeof cand->splits);
            memcpy(cand->split_fate, fate, sizeof cand->split_fate);
            if (cand->iv > best) {
                best = cand->iv;
                cand->trend_used = t;
                *out = *cand;
            }
        }
    }
out:
    w->fate = NULL; /* it points into this frame */
    free(cand);
    free(c);
    free(fine);
    return rc;
}

static int cmp_rate_desc(const void *a, const void *b)
{
    const cls *x = a, *y = b;
    /* worst first; equal rates by level */
    if (rate_gt(x, y))
        return -1;
    if (rate_gt(y, x))
        return 1;
    return (x->first_level > y->first_level) - (x->first_level < y->first_level);
}

static int cmp_first_level(const void *a, const void *b)
{
    const cls *x = a, *y = b;
    return (x->first_level > y->first_level) - (x->first_level < y->first_level);
}

static int fit_categorical(work *w, const tc_attr *attr, const double *v, const uint8_t *missing,
                           const double *y, const double *wt, const uint8_t *use, size_t n,
                           tc_binning *out, tc_error *err)
{
    size_t n_levels = attr->type == TC_ATTR_BOOL ? 2 : attr->n_levels;
    cls c[TC_LEVELS_MAX + 1];
    double miss_n = 0, miss_e = 0;
    memset(c, 0, sizeof c);
    for (size_t l = 0; l < n_levels; l++) {
        c[l].first_level = (int)l;
        c[l].lv[l / 64] = 1ull << (l % 64);
    }
    for (size_t i = 0; i < n; i++) {
        if (use != NULL && !use[i])
            continue;
        double wi = wt != NULL ? wt[i] : 1.0;
        if (missing[i]) {
            miss_n += wi;
            miss_e += wi * y[i];
            continue;
        }
        size_t l = (size_t)v[i];
        if (l >= n_levels)
            return tc_errorf(err, TC_EINVAL, "'%s': level %zu outside the catalog", attr->name, l);
        c[l].n += wi;
        c[l].e += wi * y[i];
    }
    w->k_other = miss_n > 0;
    /* Unseen levels wait aside and join the largest group at the end. */
    cls unseen[TC_LEVELS_MAX + 1];
    size_t k = 0, n_unseen = 0;
    for (size_t l = 0; l < n_levels; l++) {
        if (c[l].n > 0)
            c[k++] = c[l];
        else
            unseen[n_unseen++] = c[l];
    }
    out->n_fine = k;
    if (k == 0) { /* no value at all: one group with every level, empty */
        memset(&c[0], 0, sizeof c[0]);
        for (size_t u = 0; u < n_unseen; u++)
            for (int b = 0; b < 4; b++)
                c[0].lv[b] |= unseen[u].lv[b];
        c[0].first_level = 0;
        k = 1;
        n_unseen = 0;
    }
    qsort(c, k, sizeof *c, cmp_rate_desc);
    shape(w, c, &k, TC_TREND_ASCENDING);
    size_t largest = 0;
    for (size_t i = 1; i < k; i++)
        if (c[i].n > c[largest].n)
            largest = i;
    for (size_t u = 0; u < n_unseen; u++) {
        for (int b = 0; b < 4; b++)
            c[largest].lv[b] |= unseen[u].lv[b];
        if (unseen[u].first_level < c[largest].first_level)
            c[largest].first_level = unseen[u].first_level;
    }
    qsort(c, k, sizeof *c, cmp_first_level);
    finish(w, attr, c, k, NULL, NULL, miss_n, miss_e, out);
    out->trend_used = TC_TREND_NONE;
    for (size_t b = 0; b < out->n_value_bins; b++)
        for (size_t l = 0; l < n_levels; l++)
            if (out->bins[b].levels[l / 64] >> (l % 64) & 1)
                out->level_bin[l] = (uint8_t)b;
    return TC_OK;
}

int tc_binning_fit(const tc_attr *attr, const double *v, const uint8_t *missing, const double *y,
                   const double *wt, const uint8_t *use, size_t n, const tc_binning_options *opt,
                   tc_binning *out, tc_error *err)
{
    int rc = check_options(attr, opt, err);
    if (rc != TC_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->attr = attr;
    out->trend = opt->trend;
    out->missing_bin = SIZE_MAX;
    work w = {.opt = opt};
    for (size_t i = 0; i < n; i++) {
        if (use != NULL && !use[i])
            continue;
        double wi = wt != NULL ? wt[i] : 1.0;
        w.N += wi;
        w.E += wi * y[i];
    }
    if (!(w.N > 0))
        return tc_errorf(err, TC_EINVAL, "'%s': no development rows (with a positive weight)",
                         attr->name);
    if (attr->type == TC_ATTR_CATEGORY || attr->type == TC_ATTR_BOOL)
        return fit_categorical(&w, attr, v, missing, y, wt, use, n, out, err);
    triple *d = NULL;
    size_t m = 0;
    double sp_n[TC_MODEL_SPECIALS_MAX] = {0}, sp_e[TC_MODEL_SPECIALS_MAX] = {0};
    double miss_n = 0, miss_e = 0;
    if ((rc = numeric_table(attr, v, missing, y, wt, use, n, opt, &d, &m, sp_n, sp_e, &miss_n,
                            &miss_e, err)) != TC_OK)
        return rc;
    w.k_other = miss_n > 0;
    for (size_t s = 0; s < opt->n_special; s++)
        w.k_other += sp_n[s] > 0;
    rc = fit_numeric(&w, attr, d, m, sp_n, sp_e, miss_n, miss_e, out, err);
    free(d);
    return rc;
}

size_t tc_binning_bin_of(const tc_binning *b, double v, int present)
{
    if (!present)
        return b->missing_bin != SIZE_MAX ? b->missing_bin : 0;
    if (b->n_value_bins > 0 && b->bins[0].kind == TC_BIN_LEVELS)
        return b->level_bin[(size_t)v & 0xff];
    for (size_t i = b->n_value_bins; i < b->n_bins; i++)
        if (b->bins[i].kind == TC_BIN_SPECIAL && b->bins[i].special == v)
            return i;
    /* intervals ascending: the last whose lower bound is at or below v */
    size_t lo = 0, hi = b->n_value_bins;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (v >= b->bins[mid].lower)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

size_t tc_binning_nonempty(const tc_binning *b)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n_bins; i++)
        k += b->bins[i].n > 0;
    return k;
}
