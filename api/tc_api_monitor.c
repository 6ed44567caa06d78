#include "tc_api_monitor.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tc_perf.h"
#include "tc_model_dev.h"

#define CACHE_MAX TC_REGISTRY_MODELS_MAX /* models of one set */
#define LINE 64                          /* bytes of a cache line */
#define NEVER UINT64_MAX                 /* a cache that has never counted: holds no slot */

typedef atomic_uint_fast64_t counter;

/* The counters of one model layout. Counter layout, per shard (a row of `stride` counters, on
 * its own cache lines): [0] sum of scores in thousandths (two's complement), then the histogram
 * buckets (bounds + +Inf), the grades, the development score bins, and each characteristic's
 * bins. Everything but the counters is set under the mutex, before the slot is published. */
typedef struct slot {
    int used;
    char name[TC_MODEL_NAME_MAX + 1];
    int version;
    unsigned char layout[TC_MODEL_LAYOUT_LEN];
    uint64_t last_gen; /* newest set generation in which a worker's cache took this slot */
    size_t n_grades, n_bounds, n_score_bins, n_chars, n_bins[TC_MODEL_CHARS_MAX];
    double bounds[TC_MODEL_GRADES_MAX];
    size_t off_bucket, off_grade, off_score, off_char[TC_MODEL_CHARS_MAX], n_counters, stride;
    counter *counters; /* n_shards × stride */
    /* window snapshots of the totals over shards (mutex) */
    uint64_t *ring; /* TC_MONITOR_RING × n_counters */
    double ring_t[TC_MONITOR_RING];
    size_t ring_n, ring_next;
} slot;

/* A worker's own: the slots of the models of the set it last scored with. slot NULL: not
 * monitored, until the monitor's `freed` count moves past freed. */
typedef struct entry {
    const tc_model *model;
    slot *slot;
    uint64_t freed;
} entry;

typedef struct cache {
    _Alignas(LINE) atomic_uint_fast64_t generation; /* its worker writes, reclaim reads */
    size_t n;
    entry e[CACHE_MAX];
} cache;

struct tc_api_monitor {
    size_t n_shards, slots_max;
    unsigned window_s;
    tc_api_log *log;
    pthread_mutex_t mu;
    slot *slots;
    cache *caches;              /* one per shard */
    atomic_uint_fast64_t freed; /* reclaims that freed a slot, since start */
    uint64_t warned_gen;        /* set generation whose refusal was logged (mutex) */
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int tc_api_monitor_open(size_t n_shards, unsigned window_s, size_t slots_max, tc_api_log *log,
                        tc_api_monitor **out, tc_error *err)
{
    tc_api_monitor *m = calloc(1, sizeof *m);
    size_t cache_bytes = (n_shards > 0 ? n_shards : 1) * sizeof(cache);
    if (m == NULL || (m->slots = calloc(slots_max > 0 ? slots_max : 1, sizeof *m->slots)) == NULL ||
        (m->caches = aligned_alloc(LINE, cache_bytes)) == NULL) {
        if (m != NULL)
            free(m->slots);
        free(m);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    memset(m->caches, 0, cache_bytes);
    for (size_t i = 0; i < n_shards; i++)
        atomic_init(&m->caches[i].generation, NEVER);
    atomic_init(&m->freed, 0);
    m->n_shards = n_shards;
    m->slots_max = slots_max;
    m->window_s = window_s;
    m->log = log;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return TC_OK;
}

static void slot_free(slot *s)
{
    free(s->counters);
    free(s->ring);
    memset(s, 0, sizeof *s);
}

void tc_api_monitor_close(tc_api_monitor *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->slots_max; i++)
        slot_free(&m->slots[i]);
    pthread_mutex_destroy(&m->mu);
    free(m->caches);
    free(m->slots);
    free(m);
}

unsigned tc_api_monitor_window(const tc_api_monitor *m)
{
    return m->window_s;
}

/* The histogram's le bounds: just below each grade cut-off above the lowest score, ascending. A
 * score at a cut-off has the higher grade, and le is "at most": the largest double below the
 * cut-off makes each bucket exactly the grades below it. */
static size_t grade_bounds(const tc_model *model, double *out)
{
    size_t n = 0;
    for (size_t g = model->n_grades; g-- > 0;)
        if (model->grades[g].min_score > model->score_min)
            out[n++] = nextafter(model->grades[g].min_score, -INFINITY);
    return n;
}

static int same_model(const slot *s, const tc_model *model)
{
    return s->used && s->version == model->version && strcmp(s->name, model->name) == 0 &&
           memcmp(s->layout, model->layout_sha256, sizeof s->layout) == 0;
}

static slot *find_slot(tc_api_monitor *m, const tc_model *model)
{
    for (size_t i = 0; i < m->slots_max; i++)
        if (same_model(&m->slots[i], model))
            return &m->slots[i];
    return NULL;
}

static void snapshot(tc_api_monitor *m, slot *s, double now);

/* Under the mutex: counters for model in a free slot, or NULL when none is free. */
static slot *make_slot(tc_api_monitor *m, const tc_model *model)
{
    slot *s = NULL;
    for (size_t i = 0; i < m->slots_max && s == NULL; i++)
        if (!m->slots[i].used)
            s = &m->slots[i];
    if (s == NULL)
        return NULL;
    const tc_model_dev *d = model->dev;
    snprintf(s->name, sizeof s->name, "%s", model->name);
    s->version = model->version;
    memcpy(s->layout, model->layout_sha256, sizeof s->layout);
    s->last_gen = 0;
    s->n_grades = model->n_grades;
    s->n_bounds = grade_bounds(model, s->bounds);
    s->n_score_bins = d != NULL ? d->n_score_bins : 0;
    s->n_chars = d != NULL ? d->n_chars : 0;
    s->off_bucket = 1;
    s->off_grade = s->off_bucket + s->n_bounds + 1;
    s->off_score = s->off_grade + s->n_grades;
    size_t o = s->off_score + s->n_score_bins;
    for (size_t c = 0; c < s->n_chars; c++) {
        s->n_bins[c] = model->chars[c].n_bins;
        s->off_char[c] = o;
        o += s->n_bins[c];
    }
    s->n_counters = o;
    size_t per_line = LINE / sizeof(counter);
    s->stride = (o + per_line - 1) / per_line * per_line;
    size_t bytes = m->n_shards * s->stride * sizeof(counter);
    s->counters = aligned_alloc(LINE, bytes > 0 ? bytes : LINE);
    s->ring = calloc(TC_MONITOR_RING * o, sizeof *s->ring);
    if (s->counters == NULL || s->ring == NULL) {
        slot_free(s);
        return NULL;
    }
    for (size_t i = 0; i < m->n_shards * s->stride; i++)
        atomic_init(&s->counters[i], 0);
    s->used = 1;
    snapshot(m, s, mono_now()); /* the window starts here */
    return s;
}

static int in_set(const tc_model_set *set, const slot *s)
{
    for (size_t i = 0; i < tc_model_set_count(set); i++)
        if (same_model(s, tc_model_set_model(set, i)))
            return 1;
    return 0;
}

/* Under the mutex: free the slots of models not in set (the newest) that no worker's cache can
 * hold — every cache has been reset for a generation newer than the slot's last_gen (a cache's
 * entries all come from its current generation, and taking a slot raises the slot's last_gen
 * to it). The acquire load pairs with the worker's release store of its new generation, which
 * follows its last writes into the old slots. Returns how many were freed. */
static size_t reclaim(tc_api_monitor *m, const tc_model_set *set)
{
    uint64_t oldest = NEVER, newest = 0;
    for (size_t i = 0; i < m->n_shards; i++) {
        uint64_t g = atomic_load_explicit(&m->caches[i].generation, memory_order_acquire);
        oldest = g < oldest ? g : oldest;
        newest = g != NEVER && g > newest ? g : newest;
    }
    /* a caller holding an older set than a worker's cannot say what is still in service */
    if (tc_model_set_generation(set) < newest)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < m->slots_max; i++) {
        slot *s = &m->slots[i];
        if (s->used && s->last_gen < oldest && !in_set(set, s)) {
            slot_free(s);
            n++;
        }
    }
    if (n > 0)
        atomic_fetch_add_explicit(&m->freed, 1, memory_order_relaxed);
    return n;
}

/* Under the mutex: model's slot, made (freeing unreachable ones if need be) when it has none. */
static slot *slot_for(tc_api_monitor *m, const tc_model_set *set, const tc_model *model)
{
    slot *s = find_slot(m, model);
    if (s == NULL && (s = make_slot(m, model)) == NULL && reclaim(m, set) > 0)
        s = make_slot(m, model);
    return s;
}

/* The first Score of model in this generation of a worker's cache (or a retry after slots were
 * freed): find or make its slot under the mutex, and cache the answer either way. */
static slot *take_slot(tc_api_monitor *m, cache *c, uint64_t gen, const tc_model_set *set,
                       const tc_model *model, entry *e)
{
    pthread_mutex_lock(&m->mu);
    slot *s = slot_for(m, set, model);
    if (s != NULL && s->last_gen < gen)
        s->last_gen = gen;
    if (s == NULL && m->warned_gen != gen) {
        m->warned_gen = gen;
        char fields[256];
        snprintf(fields, sizeof fields, "\"slots\":%zu,\"model\":\"%s\",\"version\":%d",
                 m->slots_max, model->name, model->version);
        if (m->log != NULL)
            tc_api_log_event(m->log, "warn", "monitor_slots_exhausted", fields);
    }
    uint64_t freed = atomic_load_explicit(&m->freed, memory_order_relaxed);
    pthread_mutex_unlock(&m->mu);
    if (e == NULL && c->n < CACHE_MAX)
        e = &c->e[c->n++];
    if (e != NULL)
        *e = (entry){.model = model, .slot = s, .freed = freed};
    return s;
}

static void bump(counter *c, uint64_t by)
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
    if (atomic_load_explicit(&c->generation, memory_order_relaxed) != gen) {
        c->n = 0;
        atomic_store_explicit(&c->generation, gen, memory_order_release);
    }
    entry *e = NULL;
    for (size_t i = 0; i < c->n && e == NULL; i++)
        if (c->e[i].model == model)
            e = &c->e[i];
    slot *s = e != NULL ? e->slot : NULL;
    if (e == NULL ||
        (s == NULL && e->freed != atomic_load_explicit(&m->freed, memory_order_relaxed)))
        s = take_slot(m, c, gen, set, model, e);
    if (s == NULL)
        return;
    counter *k = s->counters + shard * s->stride;
    double score = r->score;
    bump(&k[0], (uint64_t)llround(score * 1000));
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
            out[i] += atomic_load_explicit(&s->counters[sh * s->stride + i], memory_order_relaxed);
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

static uint64_t sum(const uint64_t *cur, const uint64_t *old, size_t off, size_t n)
{
    uint64_t t = 0;
    for (size_t i = off; i < off + n; i++)
        t += cur[i] - old[i];
    return t;
}

/* Totals and window of one slot, all from one reading of the counters: the count is the
 * buckets' sum, so _count and the +Inf bucket agree even while workers count. */
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
    v->monitored = 1;
    v->score_sum = (double)(int64_t)cur[0] / 1000.0;
    uint64_t cum = 0;
    for (size_t b = 0; b <= s->n_bounds; b++) {
        cum += cur[s->off_bucket + b];
        v->le[b] = cum;
    }
    v->total = cum;
    v->window_seconds = now - s->ring_t[base];
    v->window_scores = sum(cur, old, s->off_bucket, s->n_bounds + 1);
    for (size_t g = 0; g < s->n_grades; g++) {
        v->grades[g] = cur[s->off_grade + g];
        v->window_grades[g] = sum(cur, old, s->off_grade + g, 1);
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

static void view_init(const tc_model *model, tc_api_monitor_view *v)
{
    memset(v, 0, sizeof *v);
    v->psi = NAN;
    v->n_bounds = grade_bounds(model, v->bounds);
    v->n_csi = model->dev != NULL ? model->dev->n_chars : 0;
    for (size_t c = 0; c < v->n_csi; c++)
        v->csi[c] = NAN;
}

/* now < 0: read the clock under the mutex, so that it is never behind a snapshot. */
static void view(tc_api_monitor *m, const tc_model *model, double now, tc_api_monitor_view *v)
{
    view_init(model, v);
    pthread_mutex_lock(&m->mu);
    slot *s = find_slot(m, model);
    if (s != NULL)
        view_slot(m, s, model, now >= 0 ? now : mono_now(), v);
    pthread_mutex_unlock(&m->mu);
}

void tc_api_monitor_view_of(tc_api_monitor *m, const tc_model *model, tc_api_monitor_view *out)
{
    view(m, model, -1, out);
}

void tc_api_monitor_view_at(tc_api_monitor *m, const tc_model *model, double now_s,
                            tc_api_monitor_view *out)
{
    view(m, model, now_s, out);
}

/* ---- Prometheus text (scrape time) ---- */

/* Every digit a double has, so a bound or a PSI reads back as the value computed; Prometheus
 * spells a missing value NaN. */
static void gauge(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN\n", f);
    else
        fprintf(f, "%.17g\n", v);
}

static void labels(FILE *f, const tc_model *model)
{
    fprintf(f, "name=\"%s\",version=\"%d\"", model->name, model->version);
}

static void render_counts(FILE *f, const tc_model_set *set, const tc_api_monitor_view *views)
{
    size_t n = tc_model_set_count(set);
    fputs("# HELP tinchap_model_score Scores given by each model in service (shadow scores of "
          "challengers included), bucketed just below the model's grade cut-offs.\n"
          "# TYPE tinchap_model_score histogram\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const tc_model *model = tc_model_set_model(set, i);
        const tc_api_monitor_view *v = &views[i];
        for (size_t b = 0; b <= v->n_bounds; b++) {
            fputs("tinchap_model_score_bucket{", f);
            labels(f, model);
            if (b < v->n_bounds)
                fprintf(f, ",le=\"%.17g\"} %llu\n", v->bounds[b], (unsigned long long)v->le[b]);
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
    size_t n = tc_model_set_count(set), unmonitored = 0;
    tc_api_monitor_view *views = calloc(n > 0 ? n : 1, sizeof *views);
    if (views == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    double now = mono_now();
    for (size_t i = 0; i < n; i++) {
        const tc_model *model = tc_model_set_model(set, i);
        view_init(model, &views[i]);
        slot *s = slot_for(m, set, model);
        if (s != NULL)
            view_slot(m, s, model, now, &views[i]);
        else
            unmonitored++;
    }
    pthread_mutex_unlock(&m->mu);
    render_counts(f, set, views);
    render_window(f, set, views, m->window_s);
    fprintf(f,
            "# HELP tinchap_monitor_unmonitored_models Models in service without live monitoring "
            "(more model layouts than the monitor's %zu slots, until a reload frees some).\n"
            "# TYPE tinchap_monitor_unmonitored_models gauge\n"
            "tinchap_monitor_unmonitored_models %zu\n",
            m->slots_max, unmonitored);
    free(views);
}
