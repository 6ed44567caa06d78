#include "tc_api_monitor.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tc_metrics.h"
#include "tc_model_dev.h"

#define CACHE_MAX TC_REGISTRY_MODELS_MAX

/* The counters of one model layout. Counter layout, per shard: [0] scores, [1] sum of scores in
 * thousandths (two's complement), then the histogram buckets (bounds + +Inf), the grades, the
 * development score bins, and each characteristic's bins. Everything but the counters is set
 * once, under the mutex, before the slot is published. */
typedef struct slot {
    int used;
    char name[TC_MODEL_NAME_MAX + 1];
    int version;
    size_t n_grades, n_bounds, n_score_bins, n_chars, n_bins[TC_MODEL_CHARS_MAX];
    double bounds[TC_MODEL_GRADES_MAX];
    size_t off_bucket, off_grade, off_score, off_char[TC_MODEL_CHARS_MAX], n_counters;
    atomic_uint_fast64_t *counters; /* n_shards × n_counters */
    /* window snapshots of the totals over shards (mutex) */
    uint64_t *ring; /* TC_MONITOR_RING × n_counters */
    double ring_t[TC_MONITOR_RING];
    size_t ring_n, ring_next;
} slot;

/* A worker's own: the slots of the models of the set it last scored with. */
typedef struct cache {
    uint64_t generation;
    size_t n;
    const tc_model *model[CACHE_MAX];
    slot *slot[CACHE_MAX];
} cache;

struct tc_api_monitor {
    size_t n_shards;
    unsigned window_s;
    pthread_mutex_t mu;
    slot slots[TC_MONITOR_SLOTS_MAX];
    cache *caches; /* one per shard */
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int tc_api_monitor_open(size_t n_shards, unsigned window_s, tc_api_monitor **out, tc_error *err)
{
    tc_api_monitor *m = calloc(1, sizeof *m);
    if (m == NULL || (m->caches = calloc(n_shards, sizeof *m->caches)) == NULL) {
        free(m);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    m->n_shards = n_shards;
    m->window_s = window_s;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return TC_OK;
}

void tc_api_monitor_close(tc_api_monitor *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < TC_MONITOR_SLOTS_MAX; i++) {
        free(m->slots[i].counters);
        free(m->slots[i].ring);
    }
    pthread_mutex_destroy(&m->mu);
    free(m->caches);
    free(m);
}

unsigned tc_api_monitor_window(const tc_api_monitor *m)
{
    return m->window_s;
}

/* The histogram's le bounds: the grade cut-offs above the lowest score, ascending. */
static size_t grade_bounds(const tc_model *model, double *out)
{
    size_t n = 0;
    for (size_t g = model->n_grades; g-- > 0;)
        if (model->grades[g].min_score > model->score_min)
            out[n++] = model->grades[g].min_score;
    return n;
}

static int same_layout(const slot *s, const tc_model *model)
{
    const tc_model_dev *d = model->dev;
    double bounds[TC_MODEL_GRADES_MAX];
    size_t nb = grade_bounds(model, bounds);
    if (strcmp(s->name, model->name) != 0 || s->version != model->version ||
        s->n_grades != model->n_grades || s->n_bounds != nb ||
        memcmp(s->bounds, bounds, nb * sizeof *bounds) != 0 ||
        s->n_score_bins != (d != NULL ? d->n_score_bins : 0) ||
        s->n_chars != (d != NULL ? d->n_chars : 0))
        return 0;
    for (size_t c = 0; c < s->n_chars; c++)
        if (s->n_bins[c] != model->chars[c].n_bins)
            return 0;
    return 1;
}

static void snapshot(tc_api_monitor *m, slot *s, double now);

/* Under the mutex: the slot of model's layout, made if new; NULL when none is left. */
static slot *find_slot(tc_api_monitor *m, const tc_model *model, int make)
{
    slot *free_slot = NULL;
    for (size_t i = 0; i < TC_MONITOR_SLOTS_MAX; i++) {
        slot *s = &m->slots[i];
        if (s->used && same_layout(s, model))
            return s;
        if (!s->used && free_slot == NULL)
            free_slot = s;
    }
    if (!make || free_slot == NULL)
        return NULL;
    slot *s = free_slot;
    const tc_model_dev *d = model->dev;
    snprintf(s->name, sizeof s->name, "%s", model->name);
    s->version = model->version;
    s->n_grades = model->n_grades;
    s->n_bounds = grade_bounds(model, s->bounds);
    s->n_score_bins = d != NULL ? d->n_score_bins : 0;
    s->n_chars = d != NULL ? d->n_chars : 0;
    s->off_bucket = 2;
    s->off_grade = s->off_bucket + s->n_bounds + 1;
    s->off_score = s->off_grade + s->n_grades;
    size_t o = s->off_score + s->n_score_bins;
    for (size_t c = 0; c < s->n_chars; c++) {
        s->n_bins[c] = model->chars[c].n_bins;
        s->off_char[c] = o;
        o += s->n_bins[c];
    }
    s->n_counters = o;
    s->counters = calloc(m->n_shards * o, sizeof *s->counters);
    s->ring = calloc(TC_MONITOR_RING * o, sizeof *s->ring);
    if (s->counters == NULL || s->ring == NULL) {
        free(s->counters);
        free(s->ring);
        memset(s, 0, sizeof *s);
        return NULL;
    }
    s->used = 1;
    snapshot(m, s, mono_now()); /* the window starts here */
    return s;
}

static void bump(atomic_uint_fast64_t *c, uint64_t by)
{
    /* single writer: a load and a store, no locked instruction */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

void tc_api_monitor_record(tc_api_monitor *m, size_t shard, const tc_model_set *set,
                           const tc_model *model, const tc_score_result *r)
{
    if (m == NULL || shard >= m->n_shards)
        return;
    cache *c = &m->caches[shard];
    uint64_t gen = tc_model_set_generation(set);
    if (c->generation != gen) {
        c->generation = gen;
        c->n = 0;
    }
    slot *s = NULL;
    for (size_t i = 0; i < c->n && s == NULL; i++)
        if (c->model[i] == model)
            s = c->slot[i];
    if (s == NULL) { /* the first Score of this model since the set was loaded */
        pthread_mutex_lock(&m->mu);
        s = find_slot(m, model, 1);
        pthread_mutex_unlock(&m->mu);
        if (s == NULL)
            return;
        if (c->n < CACHE_MAX) {
            c->model[c->n] = model;
            c->slot[c->n++] = s;
        }
    }
    atomic_uint_fast64_t *k = s->counters + shard * s->n_counters;
    double score = r->score;
    bump(&k[0], 1);
    bump(&k[1], (uint64_t)llround(score * 1000));
    size_t b = 0;
    while (b < s->n_bounds && score > s->bounds[b])
        b++;
    bump(&k[s->off_bucket + b], 1);
    bump(&k[s->off_grade + tc_model_grade_index(model, r->grade)], 1);
    const tc_model_dev *d = model->dev;
    if (s->n_score_bins > 0)
        bump(&k[s->off_score + tc_psi_bin(d->score_cuts, d->n_score_bins - 1, score)], 1);
    for (size_t ch = 0; ch < s->n_chars; ch++)
        if (r->bin[ch] >= 0)
            bump(&k[s->off_char[ch] + (size_t)r->bin[ch]], 1);
}

/* ---- reading (under the mutex) ---- */

static void totals(const tc_api_monitor *m, const slot *s, uint64_t *out)
{
    memset(out, 0, s->n_counters * sizeof *out);
    for (size_t sh = 0; sh < m->n_shards; sh++)
        for (size_t i = 0; i < s->n_counters; i++)
            out[i] +=
                atomic_load_explicit(&s->counters[sh * s->n_counters + i], memory_order_relaxed);
}

static void snapshot(tc_api_monitor *m, slot *s, double now)
{
    if (s->ring_n > 0) {
        size_t last = (s->ring_next + TC_MONITOR_RING - 1) % TC_MONITOR_RING;
        if (now - s->ring_t[last] < (double)m->window_s / (TC_MONITOR_RING - 1))
            return;
    }
    totals(m, s, s->ring + s->ring_next * s->n_counters);
    s->ring_t[s->ring_next] = now;
    s->ring_next = (s->ring_next + 1) % TC_MONITOR_RING;
    if (s->ring_n < TC_MONITOR_RING)
        s->ring_n++;
}

/* The window's base: the newest snapshot at least window old, else the oldest. */
static size_t window_base(const tc_api_monitor *m, const slot *s, double now)
{
    size_t oldest = (s->ring_next + TC_MONITOR_RING - s->ring_n) % TC_MONITOR_RING, base = oldest;
    for (size_t k = 0; k < s->ring_n; k++) {
        size_t i = (oldest + k) % TC_MONITOR_RING;
        if (now - s->ring_t[i] >= (double)m->window_s)
            base = i;
    }
    return base;
}

static void view_slot(tc_api_monitor *m, slot *s, const tc_model *model, double now,
                      tc_api_monitor_view *v)
{
    uint64_t *cur = calloc(s->n_counters, sizeof *cur);
    if (cur == NULL)
        return;
    snapshot(m, s, now);
    totals(m, s, cur);
    size_t base = window_base(m, s, now);
    const uint64_t *old = s->ring + base * s->n_counters;
    v->total = cur[0];
    v->score_sum = (double)(int64_t)cur[1] / 1000.0;
    uint64_t cum = 0;
    for (size_t b = 0; b <= s->n_bounds; b++) {
        cum += cur[s->off_bucket + b];
        v->le[b] = cum;
    }
    v->window_seconds = now - s->ring_t[base];
    v->window_scores = cur[0] - old[0];
    for (size_t g = 0; g < s->n_grades; g++) {
        v->grades[g] = cur[s->off_grade + g];
        v->window_grades[g] = cur[s->off_grade + g] - old[s->off_grade + g];
    }
    const tc_model_dev *d = model->dev;
    double
        live[TC_MODEL_BINS_MAX > TC_DEV_SCORE_BINS_MAX ? TC_MODEL_BINS_MAX : TC_DEV_SCORE_BINS_MAX];
    if (s->n_score_bins > 0 && v->window_scores > 0) {
        for (size_t b = 0; b < s->n_score_bins; b++)
            live[b] = (double)(cur[s->off_score + b] - old[s->off_score + b]);
        v->psi = tc_psi(d->score_share, live, s->n_score_bins);
        for (size_t c = 0; c < s->n_chars; c++) {
            for (size_t b = 0; b < s->n_bins[c]; b++)
                live[b] = (double)(cur[s->off_char[c] + b] - old[s->off_char[c] + b]);
            v->csi[c] = tc_psi(d->char_share[c], live, s->n_bins[c]);
        }
    }
    free(cur);
}

static void view_at(tc_api_monitor *m, const tc_model *model, double now_s, tc_api_monitor_view *v)
{
    memset(v, 0, sizeof *v);
    v->psi = NAN;
    v->n_bounds = grade_bounds(model, v->bounds);
    v->n_csi = model->dev != NULL ? model->dev->n_chars : 0;
    for (size_t c = 0; c < v->n_csi; c++)
        v->csi[c] = NAN;
    pthread_mutex_lock(&m->mu);
    slot *s = find_slot(m, model, 0);
    if (s != NULL)
        view_slot(m, s, model, now_s, v);
    pthread_mutex_unlock(&m->mu);
}

/* ---- Prometheus text (scrape time) ---- */

/* Prometheus spells a missing value NaN. */
static void gauge(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN\n", f);
    else
        fprintf(f, "%.6g\n", v);
}

static void labels(FILE *f, const tc_model *model)
{
    fprintf(f, "name=\"%s\",version=\"%d\"", model->name, model->version);
}

static void render_counts(FILE *f, const tc_model_set *set, const tc_api_monitor_view *views)
{
    size_t n = tc_model_set_count(set);
    fputs("# HELP tinchap_model_score Scores given by each model in service (shadow scores of "
          "challengers included), bucketed on the model's grade cut-offs.\n"
          "# TYPE tinchap_model_score histogram\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const tc_model *model = tc_model_set_model(set, i);
        const tc_api_monitor_view *v = &views[i];
        for (size_t b = 0; b <= v->n_bounds; b++) {
            fputs("tinchap_model_score_bucket{", f);
            labels(f, model);
            if (b < v->n_bounds)
                fprintf(f, ",le=\"%g\"} %llu\n", v->bounds[b], (unsigned long long)v->le[b]);
            else
                fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)v->le[b]);
        }
        fputs("tinchap_model_score_sum{", f);
        labels(f, model);
        fprintf(f, "} %.3f\ntinchap_model_score_count{", v->score_sum);
        labels(f, model);
        fprintf(f, "} %llu\n", (unsigned long long)v->total);
    }
    fputs("# HELP tinchap_model_grades_total Grades given by each model in service.\n"
          "# TYPE tinchap_model_grades_total counter\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const tc_model *model = tc_model_set_model(set, i);
        for (size_t g = 0; g < model->n_grades; g++) {
            fputs("tinchap_model_grades_total{", f);
            labels(f, model);
            fprintf(f, ",grade=\"%s\"} %llu\n", model->grades[g].letter,
                    (unsigned long long)views[i].grades[g]);
        }
    }
}

static void render_window(FILE *f, const tc_model_set *set, const tc_api_monitor_view *views,
                          unsigned window_s)
{
    size_t n = tc_model_set_count(set);
    fprintf(f,
            "# HELP tinchap_model_window_scores Scores in the monitoring window (about %u s) "
            "that the PSI and CSI are computed on.\n"
            "# TYPE tinchap_model_window_scores gauge\n",
            window_s);
    for (size_t i = 0; i < n; i++) {
        fputs("tinchap_model_window_scores{", f);
        labels(f, tc_model_set_model(set, i));
        fprintf(f, "} %llu\n", (unsigned long long)views[i].window_scores);
    }
    fputs("# HELP tinchap_model_window_seconds Length of the monitoring window the figures "
          "cover.\n# TYPE tinchap_model_window_seconds gauge\n",
          f);
    for (size_t i = 0; i < n; i++) {
        fputs("tinchap_model_window_seconds{", f);
        labels(f, tc_model_set_model(set, i));
        fprintf(f, "} %.0f\n", views[i].window_seconds);
    }
    fputs("# HELP tinchap_model_psi Population stability index of the window's scores against "
          "the model's development distribution (above 0.1 watch, above 0.25 act).\n"
          "# TYPE tinchap_model_psi gauge\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const tc_model *model = tc_model_set_model(set, i);
        if (model->dev == NULL)
            continue;
        fputs("tinchap_model_psi{", f);
        labels(f, model);
        fputs("} ", f);
        gauge(f, views[i].psi);
    }
    fputs("# HELP tinchap_model_csi Characteristic stability index of each scorecard "
          "characteristic's bins in the window against development.\n"
          "# TYPE tinchap_model_csi gauge\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const tc_model *model = tc_model_set_model(set, i);
        for (size_t c = 0; c < views[i].n_csi; c++) {
            fputs("tinchap_model_csi{", f);
            labels(f, model);
            fprintf(f, ",characteristic=\"%s\"} ", model->chars[c].attribute);
            gauge(f, views[i].csi[c]);
        }
    }
}

void tc_api_monitor_render(tc_api_monitor *m, const tc_model_set *set, FILE *f)
{
    size_t n = tc_model_set_count(set);
    tc_api_monitor_view *views = calloc(n > 0 ? n : 1, sizeof *views);
    if (views == NULL)
        return;
    double now = mono_now();
    for (size_t i = 0; i < n; i++)
        view_at(m, tc_model_set_model(set, i), now, &views[i]);
    render_counts(f, set, views);
    render_window(f, set, views, m->window_s);
    free(views);
}

void tc_api_monitor_view_of(tc_api_monitor *m, const tc_model *model, tc_api_monitor_view *out)
{
    view_at(m, model, mono_now(), out);
}
