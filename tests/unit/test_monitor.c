/* Live monitoring without a server: the window's ring with a clock the test chooses, the
 * histogram's buckets against the grades, a reload that keeps a model's counters (same layout)
 * or starts them again (other development shares), slots running out and freed once every
 * worker has moved on, and workers counting while the set is reloaded and scraped (run under
 * ThreadSanitizer and AddressSanitizer in CI). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <jansson.h>

#include "model_fixture.h"
#include "tc_api_log.h"
#include "tc_api_monitor.h"
#include "tc_file.h"
#include "tc_perf.h"
#include "tc_model_dev.h"
#include "tc_registry.h"
#include "test_util.h"

#define V2 "unsecured-consumer-scorecard"

typedef struct fx {
    tc_catalog *cat;
    char *dir;
    tc_registry *reg;
} fx;

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fx *f = calloc(1, sizeof *f);
    f->cat = tu_catalog();
    f->dir = fixture_models_dir(f->cat);
    tc_registry_options opt = {.dir = f->dir, .catalog = f->cat};
    tc_error err = {0};
    if (tc_registry_open(&opt, &f->reg, &err) != TC_OK)
        fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tc_registry_close(f->reg);
    tu_rmtree(f->dir);
    free(f->dir);
    tc_catalog_free(f->cat);
    free(f);
    return 0;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A result as tc_model_eval would give it for score, every characteristic in its bin 0. */
static tc_score_result result_of(const tc_model *m, double score)
{
    tc_score_result r;
    memset(&r, 0, sizeof r);
    r.model = m;
    r.score = score;
    r.grade = tc_model_grade(m, score);
    r.n_chars = m->n_chars;
    for (size_t j = 0; j < m->n_chars; j++)
        r.bin[j] = m->kind == TC_MODEL_SCORECARD ? 0 : -1;
    return r;
}

static void record_n(tc_api_monitor *mon, size_t shard, const tc_model_set *set, const tc_model *m,
                     double score, int n)
{
    tc_score_result r = result_of(m, score);
    for (int i = 0; i < n; i++)
        tc_api_monitor_record(mon, shard, set, m, &r);
}

/* The models directory's v2 rewritten by edit, then reloaded (from any thread). */
static int rewrite_v2_file(fx *f, void (*edit)(json_t *root), tc_error *err)
{
    char path[1100], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/unsecured-consumer-v2.json", f->dir);
    int rc = tc_read_file(path, 1 << 22, TC_EIO, &text, &len, err);
    if (rc != TC_OK)
        return rc;
    json_t *root = json_loadb(text, len, 0, NULL);
    edit(root);
    char *out = json_dumps(root, JSON_INDENT(2));
    rc = tc_file_write(path, out, strlen(out), TC_FILE_REPLACE, 0644, err);
    free(out);
    free(text);
    json_decref(root);
    return rc != TC_OK ? rc : tc_registry_reload(f->reg, err);
}

static void rewrite_v2(fx *f, void (*edit)(json_t *root))
{
    tc_error err = {0};
    if (rewrite_v2_file(f, edit, &err) != TC_OK)
        fail_msg("%s", err.msg);
}

static void edit_description(json_t *root)
{
    json_object_set_new(json_object_get(root, "description"), "en", json_string("Renamed"));
}

static void swap_score_shares(json_t *root)
{
    json_t *dev = json_object_get(root, "development");
    json_t *shares = json_object_get(json_object_get(dev, "score"), "shares");
    json_t *a = json_incref(json_array_get(shares, 0)), *b = json_incref(json_array_get(shares, 1));
    json_array_set_new(shares, 0, b);
    json_array_set_new(shares, 1, a);
}

/* The window: totals less the newest snapshot at least window old; snapshots every window/12. */
static void test_window_ring(void **state)
{
    fx *f = *state;
    tc_api_monitor *mon = NULL;
    tc_error err = {0};
    assert_int_equal(tc_api_monitor_open(2, 120, 8, NULL, &mon, &err), TC_OK);
    const tc_model_set *set = tc_registry_acquire(f->reg);
    const tc_model *m = tc_model_set_find(set, V2, 2);
    tc_api_monitor_view v;
    double t0 = mono();
    record_n(mon, 0, set, m, 600, 10);
    record_n(mon, 1, set, m, 600, 5);
    tc_api_monitor_view_at(mon, m, t0 + 1, &v);
    assert_int_equal(v.total, 15);
    assert_int_equal(v.window_scores, 15);
    assert_true(v.window_seconds > 0.5 && v.window_seconds <= 1);
    record_n(mon, 1, set, m, 600, 5);
    tc_api_monitor_view_at(mon, m, t0 + 20, &v); /* a snapshot: 20 */
    assert_int_equal(v.window_scores, 20);
    tc_api_monitor_view_at(mon, m, t0 + 130, &v); /* the window reaches back to the start */
    assert_int_equal(v.window_scores, 20);
    assert_true(v.window_seconds > 129 && v.window_seconds <= 130);
    record_n(mon, 0, set, m, 600, 7);
    tc_api_monitor_view_at(mon, m, t0 + 145, &v); /* base: the snapshot at t0 + 20 */
    assert_int_equal(v.total, 27);
    assert_int_equal(v.window_scores, 7);
    assert_close(v.window_seconds, 125, 1e-9);
    /* around the ring many times: a score and a view every 10.5 s (a snapshot each time: at
     * exactly window/12 apart rounding could skip one), so the base is the snapshot 126 s
     * back, and the window holds the 12 scores since */
    for (int k = 0; k <= 40; k++) {
        record_n(mon, (size_t)k % 2, set, m, 600, 1);
        tc_api_monitor_view_at(mon, m, t0 + 200 + 10.5 * k, &v);
    }
    assert_int_equal(v.total, 27 + 41);
    assert_int_equal(v.window_scores, 12);
    assert_close(v.window_seconds, 126, 1e-9);
    /* every score in one development bin: PSI recomputed here from the formula */
    const tc_model_dev *d = m->dev;
    size_t hit = tc_psi_bin(d->score_cuts, d->n_score_bins - 1, 600);
    double psi = 0, shares = 0;
    for (size_t b = 0; b < d->n_score_bins; b++)
        shares += d->score_share[b]; /* 1 within the file's six digits */
    for (size_t b = 0; b < d->n_score_bins; b++) {
        double e = fmax(d->score_share[b] / shares, 1e-4), a = b == hit ? 1 : 1e-4;
        psi += (a - e) * log(a / e);
    }
    assert_close(v.psi, psi, 1e-12);
    assert_int_equal(v.n_csi, m->n_chars);
    tc_registry_release(f->reg, set);
    tc_api_monitor_close(mon);
}

/* Scores at a cut-off have the higher grade: the buckets are the grades' counts exactly. */
static void test_buckets_are_grades(void **state)
{
    fx *f = *state;
    tc_api_monitor *mon = NULL;
    tc_error err = {0};
    assert_int_equal(tc_api_monitor_open(1, 3600, 8, NULL, &mon, &err), TC_OK);
    const tc_model_set *set = tc_registry_acquire(f->reg);
    const tc_model *m = tc_model_set_find(set, V2, 2);
    for (size_t g = 0; g < m->n_grades; g++) {
        double cut = m->grades[g].min_score;
        record_n(mon, 0, set, m, fmax(cut, m->score_min), 2);
        record_n(mon, 0, set, m, fmax(nextafter(cut, -INFINITY), m->score_min), 1);
    }
    tc_api_monitor_view v;
    tc_api_monitor_view_of(mon, m, &v);
    assert_int_equal(v.total, 3 * m->n_grades);
    uint64_t below = 0;
    size_t b = 0;
    for (size_t g = m->n_grades; g-- > 0;) {
        if (m->grades[g].min_score <= m->score_min) {
            below += v.grades[g];
            continue;
        }
        assert_true(v.bounds[b] == nextafter(m->grades[g].min_score, -INFINITY));
        assert_int_equal(v.le[b], below); /* every score below this cut-off, no more */
        below += v.grades[g];
        b++;
    }
    assert_int_equal(b, v.n_bounds);
    assert_int_equal(v.le[v.n_bounds], v.total);
    /* the exposition prints the bounds with every digit */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    tc_api_monitor_render(mon, set, out);
    fclose(out);
    char want[160];
    snprintf(want, sizeof want, "le=\"%.17g\"} %llu", v.bounds[0], (unsigned long long)v.le[0]);
    assert_non_null(strstr(text, want));
    free(text);
    tc_registry_release(f->reg, set);
    tc_api_monitor_close(mon);
}

/* A reload keeps a model's counters while its layout is the same, and starts them again when
 * its development shares change (a rebuild under its own name). */
static void test_reload(void **state)
{
    fx *f = *state;
    tc_api_monitor *mon = NULL;
    tc_error err = {0};
    assert_int_equal(tc_api_monitor_open(1, 3600, 8, NULL, &mon, &err), TC_OK);
    const tc_model_set *set = tc_registry_acquire(f->reg);
    record_n(mon, 0, set, tc_model_set_find(set, V2, 2), 600, 5);
    tc_registry_release(f->reg, set);
    rewrite_v2(f, edit_description);
    set = tc_registry_acquire(f->reg);
    const tc_model *m = tc_model_set_find(set, V2, 2);
    record_n(mon, 0, set, m, 600, 3);
    tc_api_monitor_view v;
    tc_api_monitor_view_of(mon, m, &v);
    assert_int_equal(v.total, 8);
    assert_int_equal(v.window_scores, 8);
    tc_registry_release(f->reg, set);
    rewrite_v2(f, swap_score_shares);
    set = tc_registry_acquire(f->reg);
    m = tc_model_set_find(set, V2, 2);
    tc_api_monitor_view_of(mon, m, &v);
    assert_false(v.monitored);
    assert_int_equal(v.total, 0);
    record_n(mon, 0, set, m, 600, 2);
    tc_api_monitor_view_of(mon, m, &v);
    assert_int_equal(v.total, 2);
    tc_registry_release(f->reg, set);
    tc_api_monitor_close(mon);
}

static size_t unmonitored(tc_api_monitor *mon, const tc_model_set *set)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    tc_api_monitor_render(mon, set, out);
    fclose(out);
    static const char needle[] = "\ntinchap_monitor_unmonitored_models ";
    const char *at = strstr(text, needle);
    assert_non_null(at);
    size_t n = strtoul(at + sizeof needle - 1, NULL, 10);
    free(text);
    return n;
}

/* The monitor's warnings in the log so far (events are written at once). */
static int warnings(FILE *logf)
{
    char line[512];
    int n = 0;
    rewind(logf);
    while (fgets(line, sizeof line, logf) != NULL)
        n += strstr(line, "\"event\":\"monitor_slots_exhausted\"") != NULL &&
             strstr(line, "\"slots\":2") != NULL;
    return n;
}

/* Two slots for four models: two are not monitored (counted, logged once); slots of a model
 * gone from the set are freed only once every worker has scored with the new set. */
static void test_slots_run_out(void **state)
{
    fx *f = *state;
    tc_api_monitor *mon = NULL;
    tc_api_log *log = NULL;
    tc_error err = {0};
    FILE *logf = tmpfile();
    assert_int_equal(tc_api_log_open(fileno(logf), 0, 2, &log, &err), TC_OK);
    assert_int_equal(tc_api_monitor_open(2, 3600, 2, log, &mon, &err), TC_OK);
    const tc_model_set *set = tc_registry_acquire(f->reg);
    const tc_model *v1 = tc_model_set_find(set, "unsecured-consumer-expert", 1);
    const tc_model *v2 = tc_model_set_find(set, V2, 2);
    const tc_model *golden = tc_model_set_find(set, "golden-scorecard", 1);
    assert_non_null(v1);
    assert_non_null(golden);
    record_n(mon, 0, set, v2, 600, 1);
    record_n(mon, 1, set, v1, 600, 1);
    record_n(mon, 0, set, golden, 600, 3); /* no slot left */
    tc_api_monitor_view v;
    tc_api_monitor_view_of(mon, golden, &v);
    assert_false(v.monitored);
    assert_int_equal(unmonitored(mon, set), 2);
    assert_int_equal(warnings(logf), 1);
    tc_registry_release(f->reg, set);

    /* v1 leaves the set; shard 1's cache still holds its slot until shard 1 scores again */
    assert_int_equal(unlink(tu_in(f->dir, "unsecured-consumer-v1.json")), 0);
    assert_int_equal(tc_registry_reload(f->reg, &err), TC_OK);
    set = tc_registry_acquire(f->reg);
    golden = tc_model_set_find(set, "golden-scorecard", 1);
    v2 = tc_model_set_find(set, V2, 2);
    record_n(mon, 0, set, golden, 600, 2);
    tc_api_monitor_view_of(mon, golden, &v);
    assert_false(v.monitored);
    assert_int_equal(unmonitored(mon, set), 2);
    record_n(mon, 1, set, v2, 600, 1);     /* shard 1 moves on: v1's slot can go, */
    record_n(mon, 1, set, golden, 600, 1); /* and golden takes it */
    record_n(mon, 0, set, golden, 600, 4); /* shard 0's cached refusal retries after the free */
    tc_api_monitor_view_of(mon, golden, &v);
    assert_true(v.monitored);
    assert_int_equal(v.total, 5);
    assert_int_equal(unmonitored(mon, set), 1); /* golden-logistic */
    tc_api_monitor_view_of(mon, v2, &v);
    assert_int_equal(v.total, 2); /* kept through it all */
    tc_registry_release(f->reg, set);
    tc_api_monitor_close(mon);
    tc_api_log_close(log);
    assert_int_equal(warnings(logf), 2); /* once per set that refused a slot */
    fclose(logf);
    tu_copy(TC_MODELS "/unsecured-consumer-v1.json", tu_in(f->dir, "unsecured-consumer-v1.json"));
    assert_int_equal(tc_registry_reload(f->reg, &err), TC_OK);
}

/* ---- workers counting while the set is reloaded and scraped ---- */

#define RELOADS 40

typedef struct worker_arg {
    fx *f;
    tc_api_monitor *mon;
    size_t shard;
    atomic_int *stop;
    uint64_t scored; /* golden-scorecard results recorded */
} worker_arg;

/* One worker until told to stop: v2 and golden-scorecard counted, a set acquired per Score. */
static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; !atomic_load(a->stop); i++) {
        const tc_model_set *set = tc_registry_acquire(a->f->reg);
        const tc_model *m = tc_model_set_find(set, V2, 2);
        tc_score_result r = result_of(m, 500 + i % 200);
        tc_api_monitor_record(a->mon, a->shard, set, m, &r);
        const tc_model *g = tc_model_set_find(set, "golden-scorecard", 1);
        tc_score_result rg = result_of(g, 600);
        tc_api_monitor_record(a->mon, a->shard, set, g, &rg);
        a->scored++;
        tc_registry_release(a->f->reg, set);
    }
    return NULL;
}

typedef struct reloader_arg {
    fx *f;
    tc_api_monitor *mon;
    int rebuild; /* every other reload a rebuilt v2 (its shares swapped) */
    int failed;
} reloader_arg;

/* RELOADS reloads, each followed by a scrape (no cmocka assertion off the main thread). */
static void *reloader(void *p)
{
    reloader_arg *a = p;
    for (int round = 0; round < RELOADS && !a->failed; round++) {
        tc_error err = {0};
        int rc = a->rebuild && round % 2 == 0 ? rewrite_v2_file(a->f, swap_score_shares, &err)
                                              : tc_registry_reload(a->f->reg, &err);
        if (rc != TC_OK) {
            fprintf(stderr, "reload: %s\n", err.msg);
            a->failed = 1;
        }
        const tc_model_set *set = tc_registry_acquire(a->f->reg);
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        tc_api_monitor_render(a->mon, set, out);
        fclose(out);
        free(text);
        tc_registry_release(a->f->reg, set);
    }
    return NULL;
}

/* Two workers count while a third thread reloads and scrapes: golden-scorecard, in every set,
 * must have counted every one of its results. */
static void run_concurrent(fx *f, size_t slots, int rebuild)
{
    tc_api_monitor *mon = NULL;
    tc_error err = {0};
    assert_int_equal(tc_api_monitor_open(2, 3600, slots, NULL, &mon, &err), TC_OK);
    atomic_int stop;
    atomic_init(&stop, 0);
    worker_arg w[2] = {{.f = f, .mon = mon, .shard = 0, .stop = &stop},
                       {.f = f, .mon = mon, .shard = 1, .stop = &stop}};
    reloader_arg r = {.f = f, .mon = mon, .rebuild = rebuild};
    pthread_t t[3];
    pthread_create(&t[0], NULL, worker, &w[0]);
    pthread_create(&t[1], NULL, worker, &w[1]);
    pthread_create(&t[2], NULL, reloader, &r);
    pthread_join(t[2], NULL);
    atomic_store(&stop, 1);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    assert_false(r.failed);
    assert_true(w[0].scored > 0 && w[1].scored > 0);
    const tc_model_set *set = tc_registry_acquire(f->reg);
    tc_api_monitor_view v;
    tc_api_monitor_view_of(mon, tc_model_set_find(set, "golden-scorecard", 1), &v);
    assert_int_equal(v.total, w[0].scored + w[1].scored);
    tc_registry_release(f->reg, set);
    tc_api_monitor_close(mon);
}

static void test_concurrent(void **state)
{
    fx *f = *state;
    /* reloads of the same files: the counters survive every one, none is lost */
    run_concurrent(f, TC_MONITOR_SLOTS_MAX, 0);
    /* v2 rebuilt every other reload, four slots for the four models: the old v2's slot is
     * freed and another made while workers count (the sanitizers watch); golden-scorecard,
     * in every set, keeps its slot and its count */
    run_concurrent(f, 4, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_ring), cmocka_unit_test(test_buckets_are_grades),
        cmocka_unit_test(test_reload),      cmocka_unit_test(test_slots_run_out),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
