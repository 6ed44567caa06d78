/* The model registry: a set from a directory, champion and challengers per product, reload that
 * refuses a bad file and keeps the old set, concurrent readers across reloads, and memory that
 * stays flat over 1 000 reloads. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <gsl/gsl_errno.h>

#include "model_fixture.h"
#include "tc_eval.h"
#include "tc_registry.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__)
/* From sanitizer/allocator_interface.h, which Debian's GCC does not install. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t live_bytes(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t live_bytes(void)
{
    return mallinfo2().uordblks;
}
#endif

typedef struct fx {
    tc_catalog *cat;
    char *dir;
    char path[1024];
} fx;

static const char *in_dir(fx *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fx *f = calloc(1, sizeof *f);
    f->cat = tu_catalog();
    f->dir = fixture_models_dir(f->cat);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    tc_catalog_free(f->cat);
    free(f);
    return 0;
}

static tc_registry *open_registry(fx *f)
{
    tc_registry *r = NULL;
    tc_error err = {0};
    tc_registry_options opt = {.dir = f->dir, .catalog = f->cat};
    if (tc_registry_open(&opt, &r, &err) != TC_OK)
        fail_msg("%s", err.msg);
    return r;
}

static void test_set_contents(void **state)
{
    fx *f = *state;
    tc_registry *r = open_registry(f);
    const tc_model_set *s = tc_registry_acquire(r);
    assert_int_equal(tc_model_set_count(s), 4);
    assert_int_equal(tc_model_set_generation(s), 1);
    const tc_model *c = tc_model_set_champion(s, "unsecured-consumer");
    assert_non_null(c);
    assert_string_equal(c->name, "unsecured-consumer-scorecard");
    /* the retired expert scorecard: loaded, addressable by version, never a default */
    assert_non_null(tc_model_set_find(s, "unsecured-consumer-expert", 1));
    assert_null(tc_model_set_find(s, "unsecured-consumer-expert", 0));
    c = tc_model_set_champion(s, "test-product");
    assert_non_null(c);
    assert_string_equal(c->name, "golden-scorecard");
    const tc_model *ch[4];
    assert_int_equal(tc_model_set_challengers(s, "test-product", ch, 4), 1);
    assert_string_equal(ch[0]->name, "golden-logistic");
    assert_int_equal(tc_model_set_challengers(s, "unsecured-consumer", ch, 4), 0);
    assert_ptr_equal(tc_model_set_find(s, "golden-logistic", 2), ch[0]);
    assert_ptr_equal(tc_model_set_find(s, "golden-logistic", 0), ch[0]);
    assert_null(tc_model_set_find(s, "golden-logistic", 1));
    assert_null(tc_model_set_champion(s, "mortgage"));
    tc_registry_release(r, s);
    tc_registry_close(r);
}

static void test_bad_reload_keeps_old_set(void **state)
{
    fx *f = *state;
    tc_registry *r = open_registry(f);
    tc_error err = {0};
    const tc_model_set *before = tc_registry_acquire(r);
    fixture_write(f->cat, "bad-overlap.json", in_dir(f, "bad-overlap.json"));
    assert_int_equal(tc_registry_reload(r, &err), TC_EMODEL);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "%s/bad-overlap.json: characteristics[0].bins[1].upper: 31.5 overlaps bins[2]",
             f->dir);
    assert_msg(&err, expected);
    const tc_model_set *after = tc_registry_acquire(r);
    assert_ptr_equal(before, after);
    tc_registry_release(r, after);
    remove(in_dir(f, "bad-overlap.json"));

    /* Two champions for one product: the set is refused as a whole. */
    tu_copy(TC_MODELS "/unsecured-consumer-v1.json", in_dir(f, "zz-copy.json"));
    assert_int_equal(tc_registry_reload(r, &err), TC_EMODEL);
    snprintf(expected, sizeof expected, "%s/zz-copy.json: model unsecured-consumer-expert version "
             "1 is also in %s/unsecured-consumer-v1.json", f->dir, f->dir);
    assert_msg(&err, expected);
    remove(in_dir(f, "zz-copy.json"));

    /* A good reload publishes a new generation; the old set lives on while held. */
    assert_int_equal(tc_registry_reload(r, &err), TC_OK);
    const tc_model_set *now = tc_registry_acquire(r);
    assert_ptr_not_equal(now, before);
    assert_int_equal(tc_model_set_generation(now), 2);
    assert_int_equal(tc_model_set_count(before), 4);
    assert_string_equal(tc_model_set_model(before, 0)->name, "golden-logistic");
    tc_registry_release(r, before);
    tc_registry_release(r, now);
    tc_registry_close(r);
}

/* ---- readers under reloads ---- */

typedef struct shared {
    tc_registry *r;
    fx *f;
    atomic_int stop;
    atomic_long evaluations, failures;
    double expected; /* the champion's score of the reader's record */
} shared;

static void *reader_main(void *arg)
{
    shared *sh = arg;
    tc_eval_workspace *ws = NULL;
    tc_value values[TC_CATALOG_ATTRS_MAX];
    unsigned char buf[TC_RECORD_MAX];
    const tc_catalog *cat = sh->f->cat;
    if (tc_eval_workspace_new(&ws, NULL) != TC_OK) {
        atomic_fetch_add(&sh->failures, 1);
        return NULL;
    }
    memset(values, 0, sizeof values);
    for (size_t i = 0; i < cat->n_attrs; i++)
        values[i] = (tc_value){cat->attrs[i].min, 1};
    size_t len = tc_record_encode(cat, values, 0, buf);
    tc_record rec;
    if (tc_record_view(cat, buf, len, &rec, NULL) != TC_OK)
        atomic_fetch_add(&sh->failures, 1);
    while (!atomic_load(&sh->stop)) {
        const tc_model_set *s = tc_registry_acquire(sh->r);
        const tc_model *m = tc_model_set_champion(s, "unsecured-consumer");
        const tc_model *shadow[4];
        size_t n = tc_model_set_challengers(s, "test-product", shadow, 4);
        tc_score_result res;
        /* The same record scores the same under every generation (the files do not change). */
        if (m == NULL || n != 1 || tc_model_eval(m, &rec, NULL, ws, &res) != TC_OK ||
            res.score != sh->expected || tc_model_eval(shadow[0], &rec, NULL, ws, &res) != TC_OK)
            atomic_fetch_add(&sh->failures, 1);
        tc_registry_release(sh->r, s);
        atomic_fetch_add(&sh->evaluations, 1);
    }
    tc_eval_workspace_free(ws);
    return NULL;
}

/* Under valgrind (TC_TEST_QUICK=1 in .ci/run) every reload costs some 40 times more and the
 * threads run one at a time: a tenth of the rounds still covers every path, leaks included. */
static int rounds(int n)
{
    const char *q = getenv("TC_TEST_QUICK");
    return q != NULL && q[0] == '1' ? n / 10 : n;
}

static void test_concurrent_readers(void **state)
{
    fx *f = *state;
    shared sh = {.r = open_registry(f), .f = f};
    /* Every attribute at its minimum (nothing missing): score it once, single-threaded. */
    {
        tc_value values[TC_CATALOG_ATTRS_MAX];
        unsigned char buf[TC_RECORD_MAX];
        tc_eval_workspace *ws = NULL;
        tc_record rec;
        tc_score_result res;
        for (size_t i = 0; i < f->cat->n_attrs; i++)
            values[i] = (tc_value){f->cat->attrs[i].min, 1};
        size_t len = tc_record_encode(f->cat, values, 0, buf);
        const tc_model_set *s = tc_registry_acquire(sh.r);
        assert_int_equal(tc_eval_workspace_new(&ws, NULL), TC_OK);
        assert_int_equal(tc_record_view(f->cat, buf, len, &rec, NULL), TC_OK);
        assert_int_equal(tc_model_eval(tc_model_set_champion(s, "unsecured-consumer"), &rec, NULL,
                                       ws, &res),
                         TC_OK);
        sh.expected = res.score;
        tc_eval_workspace_free(ws);
        tc_registry_release(sh.r, s);
    }
    pthread_t readers[3];
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, reader_main, &sh), 0);
    int good = 0, bad = 0, n = rounds(300);
    for (int i = 0; i < n; i++) {
        tc_error err = {0};
        int with_bad = i % 5 == 3;
        if (with_bad)
            fixture_write(f->cat, "bad-cov-not-pd.json", in_dir(f, "bad.json"));
        int rc = tc_registry_reload(sh.r, &err);
        if (with_bad) {
            assert_int_equal(rc, TC_EMODEL);
            assert_non_null(strstr(err.msg, "bad.json: covariance.matrix: not positive definite"));
            remove(in_dir(f, "bad.json"));
            bad++;
        } else {
            assert_int_equal(rc, TC_OK);
            good++;
        }
    }
    atomic_store(&sh.stop, 1);
    for (size_t i = 0; i < 3; i++)
        pthread_join(readers[i], NULL);
    assert_int_equal(atomic_load(&sh.failures), 0);
    assert_true(atomic_load(&sh.evaluations) > 0);
    const tc_model_set *s = tc_registry_acquire(sh.r);
    assert_int_equal(tc_model_set_generation(s), (uint64_t)good + 1);
    assert_int_equal(bad, n / 5);
    tc_registry_release(sh.r, s);
    tc_registry_close(sh.r);
}

static void test_memory_flat_over_reloads(void **state)
{
    fx *f = *state;
    tc_registry *r = open_registry(f);
    tc_error err = {0};
    for (int i = 0; i < 10; i++) /* let the allocator reach its steady state */
        assert_int_equal(tc_registry_reload(r, &err), TC_OK);
    size_t before = live_bytes();
    for (int i = 0; i < rounds(1000); i++) {
        const tc_model_set *held = tc_registry_acquire(r);
        if (i % 100 == 50)
            fixture_write(f->cat, "bad-gap.json", in_dir(f, "bad.json"));
        int rc = tc_registry_reload(r, &err);
        if (i % 100 == 50) {
            assert_int_equal(rc, TC_EMODEL);
            remove(in_dir(f, "bad.json"));
        } else {
            assert_int_equal(rc, TC_OK);
        }
        tc_registry_release(r, held); /* the last reader out frees the old set */
    }
    size_t after = live_bytes();
    /* Three models are some 300 KB; a leak of one set per reload would be 300 MB. */
    if (after > before + 64 * 1024)
        fail_msg("live heap grew from %zu to %zu bytes over 1000 reloads", before, after);
    tc_registry_close(r);
}

/* ---- a reload parses what changed ---- */

/* Replace the first `from` in the file by `to` of the same length, and give the file back its
 * size and modification time: a change only the bytes show. */
static void edit_in_place(const char *path, const char *from, const char *to)
{
    char *text = NULL;
    size_t len = 0;
    tc_error err = {0};
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(tc_read_file(path, TC_MODEL_FILE_MAX, TC_EMODEL, &text, &len, &err), TC_OK);
    char *at = strstr(text, from);
    if (at == NULL || strlen(from) != strlen(to))
        fail_msg("%s: no '%s' to replace by a text of its length", path, from);
    memcpy(at, to, strlen(to));
    tu_write(path, text);
    free(text);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static const tc_model *model_named(const tc_model_set *s, const char *name)
{
    const tc_model *m = tc_model_set_find(s, name, 0);
    if (m == NULL)
        fail_msg("no model %s in the set", name);
    return m;
}

static const char *reason_en(const tc_model *m, const char *code)
{
    for (size_t i = 0; i < m->n_reasons; i++)
        if (strcmp(m->reasons[i].code, code) == 0)
            return m->reasons[i].en;
    fail_msg("%s has no reason %s", m->name, code);
    return NULL;
}

static void test_reload_parses_only_changes(void **state)
{
    fx *f = *state;
    tc_registry *r = open_registry(f);
    tc_error err = {0};
    const tc_model_set *s1 = tc_registry_acquire(r);

    /* Nothing changed: a new generation of the very same models. */
    assert_int_equal(tc_registry_reload(r, &err), TC_OK);
    const tc_model_set *s2 = tc_registry_acquire(r);
    assert_int_equal(tc_model_set_generation(s2), 2);
    assert_int_equal(tc_model_set_count(s2), 4);
    for (size_t i = 0; i < 4; i++)
        assert_ptr_equal(tc_model_set_model(s2, i), tc_model_set_model(s1, i));

    /* One file's bytes change, its size and time do not: that model alone is new. */
    const tc_model *logistic = model_named(s2, "golden-logistic");
    edit_in_place(in_dir(f, "golden-logistic.json"), "hand-computed", "HAND-computed");
    assert_int_equal(tc_registry_reload(r, &err), TC_OK);
    const tc_model_set *s3 = tc_registry_acquire(r);
    const tc_model *now = model_named(s3, "golden-logistic");
    assert_ptr_not_equal(now, logistic);
    assert_string_equal(now->description_en, "Test logistic model with HAND-computed results");
    assert_string_equal(logistic->description_en, "Test logistic model with hand-computed results");
    for (size_t i = 0; i < 4; i++)
        if (tc_model_set_model(s3, i) != now)
            assert_ptr_equal(tc_model_set_model(s3, i), tc_model_set_model(s2, i));

    /* The sets that shared them go; the models the newest one still holds stay whole. */
    tc_registry_release(r, s1);
    tc_registry_release(r, s2);
    assert_string_equal(model_named(s3, "golden-logistic")->name, "golden-logistic");
    assert_string_equal(reason_en(model_named(s3, "unsecured-consumer-scorecard"), "CIC01"),
                        "Loan payments past due in the last 12 months");

    /* The dictionary changes: every model takes its texts again. */
    edit_in_place(in_dir(f, "reasons.json"), "Loan payments past due", "Loan repayments missed");
    assert_int_equal(tc_registry_reload(r, &err), TC_OK);
    const tc_model_set *s4 = tc_registry_acquire(r);
    for (size_t i = 0; i < 4; i++)
        assert_ptr_not_equal(tc_model_set_model(s4, i), tc_model_set_model(s3, i));
    assert_string_equal(reason_en(model_named(s4, "unsecured-consumer-scorecard"), "CIC01"),
                        "Loan repayments missed in the last 12 months");

    /* A broken dictionary fails the reload even though no model file changed. */
    edit_in_place(in_dir(f, "reasons.json"), "\"codes\"", "\"codez\"");
    assert_int_equal(tc_registry_reload(r, &err), TC_EMODEL);
    assert_non_null(strstr(err.msg, "reasons.json"));
    const tc_model_set *s5 = tc_registry_acquire(r);
    assert_ptr_equal(s5, s4);
    tc_registry_release(r, s5);
    tc_registry_release(r, s4);
    tc_registry_release(r, s3);
    tc_registry_close(r);
}

static void test_open_failures(void **state)
{
    fx *f = *state;
    tc_registry *r = NULL;
    tc_error err = {0};
    tc_registry_options opt = {.dir = "/nonexistent/models", .catalog = f->cat};
    assert_int_equal(tc_registry_open(&opt, &r, &err), TC_ENOTFOUND);
    assert_msg(&err, "/nonexistent/models: No such file or directory");
    /* A challenger without its champion. */
    char *dir = strdup(tu_tempdir());
    char path[1024];
    snprintf(path, sizeof path, "%s/reasons.json", dir);
    tu_copy(TC_MODELS "/reasons.json", path);
    snprintf(path, sizeof path, "%s/golden-logistic.json", dir);
    fixture_write(f->cat, "golden-logistic.json", path);
    opt.dir = dir;
    assert_int_equal(tc_registry_open(&opt, &r, &err), TC_EMODEL);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "%s/golden-logistic.json: challenger for product 'test-product', which has no "
             "champion in %s",
             dir, dir);
    assert_msg(&err, expected);
    tu_rmtree(dir);
    free(dir);
}

/* An empty directory: nothing to serve (an error), but an empty set to a tool that asks what a
 * directory in service holds (and then no reason dictionary is needed either). */
static void test_empty_directory(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    tc_model_set *set = NULL;
    char *dir = strdup(tu_tempdir());
    tc_registry_options opt = {.dir = dir, .catalog = f->cat};
    assert_int_equal(tc_registry_load_set(&opt, NULL, 0, &set, &err), TC_EMODEL);
    char expected[1100];
    snprintf(expected, sizeof expected, "%s: no model files (*.json)", dir);
    assert_msg(&err, expected);
    opt.allow_empty = 1;
    assert_int_equal(tc_registry_load_set(&opt, NULL, 0, &set, &err), TC_OK);
    assert_int_equal(tc_model_set_count(set), 0);
    assert_null(tc_model_set_find(set, "unsecured-consumer-scorecard", 0));
    tc_model_set_free(set);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_contents),
        cmocka_unit_test(test_bad_reload_keeps_old_set),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_memory_flat_over_reloads),
        cmocka_unit_test(test_reload_parses_only_changes),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_empty_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
