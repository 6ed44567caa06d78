/* bench_engine — in-process cost of one evaluation: points, score, PD with its 95 % interval,
 * grade and reasons, for a model on many random synthetic records.
 *
 * Records are drawn so that every bin of every characteristic is equally likely (a random bin,
 * then a random value inside it), in random order: the bin lookups and the reason ranking see
 * unpredictable data, as they do in service, and the branch predictor cannot learn the inputs.
 * Time is measured over batches of evaluations with CLOCK_MONOTONIC; a repetition reports the
 * median batch, and the figure is the median over repetitions.
 *
 * With --db, --key and --ids it measures the whole in-process path instead: renew a read
 * transaction, look up the citizen by pseudonymous key, view the record, evaluate, end — for
 * random IDs of a loaded database (the IDs are hashed before timing starts).
 *
 * The model is --model FILE, or by default the champion among the shipped models (the file in
 * models/ whose status is "champion"), which is what the service scores with. --json prints one
 * JSON object for benchmarks/report.py instead of text.
 */
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "tc_eval.h"
#include "tc_key.h"
#include "tc_model.h"
#include "tc_reasons.h"
#include "tc_record.h"
#include "tc_store.h"

#ifndef TC_MODELS_DIR
#error "TC_MODELS_DIR must be defined by the build"
#endif

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double unif(void)
{
    return (double)(rnd() >> 11) * 0x1.0p-53;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A value inside bin b of characteristic ch (NaN-free, within the attribute's range). */
static tc_value value_in_bin(const tc_characteristic *ch, const tc_bin *b)
{
    const tc_attr *a = ch->attr;
    tc_value v = {0, 1};
    switch (b->kind) {
    case TC_BIN_MISSING:
        v.present = 0;
        break;
    case TC_BIN_SPECIAL:
    case TC_BIN_LEVELS:
        v.v = b->values[rnd() % b->n_values];
        break;
    case TC_BIN_INTERVAL: {
        double lo = fmax(b->lower, a->min), hi = fmin(b->upper, a->max + (a->type == TC_ATTR_INT));
        for (int tries = 0; tries < 100; tries++) {
            double x = lo + (hi - lo) * unif();
            if (a->type == TC_ATTR_INT)
                x = floor(x);
            x = fmin(x, a->max);
            v.v = x;
            int special = 0;
            for (size_t i = 0; i < ch->n_bins; i++)
                if (ch->bins[i].kind == TC_BIN_SPECIAL)
                    for (size_t k = 0; k < ch->bins[i].n_values; k++)
                        special |= ch->bins[i].values[k] == x;
            if (!special && x >= b->lower && x < b->upper)
                break;
        }
        break;
    }
    }
    return v;
}

static tc_value random_value(const tc_attr *a)
{
    tc_value v = {0, 1};
    if (a->missing_allowed && unif() < 0.1)
        return (tc_value){0, 0};
    double x = a->min + (a->max - a->min) * unif();
    v.v = a->type == TC_ATTR_REAL ? x : floor(x);
    return v;
}

static const char help[] =
    "usage: bench_engine [--model FILE] [--records N] [--batch B] [--reps R] [--reasons N]\n"
    "                    [--no-interval] [--db DIR --key FILE --ids population.csv] [--json]\n";

/* The shipped champion: the first model file of TC_MODELS_DIR, in name order, whose status is
 * champion. Returns 0 and *out, or TC_ENOTFOUND (files that fail to load are skipped). */
static int load_champion(const tc_catalog *cat, const tc_reasons *reasons, tc_model **out,
                         char *path, size_t path_size, tc_error *err)
{
    struct dirent **names = NULL;
    int n = scandir(TC_MODELS_DIR, &names, NULL, alphasort);
    int rc = tc_errorf(err, TC_ENOTFOUND, "%s: no model file with status champion", TC_MODELS_DIR);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        tc_model *m = NULL;
        tc_error e;
        if (*out == NULL && len > 5 && strcmp(name + len - 5, ".json") == 0 &&
            strcmp(name, "catalog.json") != 0 && strcmp(name, "reasons.json") != 0) {
            snprintf(path, path_size, "%s/%s", TC_MODELS_DIR, name);
            if (tc_model_load(path, cat, reasons, &m, &e) == TC_OK) {
                if (m->status == TC_STATUS_CHAMPION) {
                    *out = m;
                    rc = TC_OK;
                } else {
                    tc_model_free(m);
                }
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* What one run times, and where its figures go. */
typedef struct bench_run {
    const tc_catalog *cat;
    const tc_model *m;
    const tc_eval_options *eo;
    tc_eval_workspace *ws;
    size_t n;
    long batch, reps;
    double *batches, *rep_medians;
    volatile double *sink;
} bench_run;

/* Evaluation alone, on n random records held in memory. 0, or 1 on an error. */
static int time_in_memory(const bench_run *b)
{
    const tc_catalog *cat = b->cat;
    const tc_model *m = b->m;
    const tc_eval_options *eo = b->eo;
    tc_eval_workspace *ws = b->ws;
    size_t n = b->n, size = tc_record_size(cat);
    long batch = b->batch, reps = b->reps;
    double *batches = b->batches, *rep_medians = b->rep_medians;
    volatile double *sink = b->sink;
    tc_score_result r;
    tc_error err = {0};
    unsigned char *recs = malloc(n * size);
    tc_value values[TC_CATALOG_ATTRS_MAX];
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; a < cat->n_attrs; a++)
            values[a] = random_value(&cat->attrs[a]);
        for (size_t j = 0; j < m->n_chars; j++) {
            const tc_characteristic *ch = &m->chars[j];
            if (ch->n_bins > 0)
                values[ch->attr_index] = value_in_bin(ch, &ch->bins[rnd() % ch->n_bins]);
        }
        tc_record_encode(cat, values, 0, recs + i * size);
    }
    tc_record *views = malloc(n * sizeof *views);
    for (size_t i = 0; i < n; i++)
        if (tc_record_view(cat, recs + i * size, size, &views[i], &err) != TC_OK) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 1;
        }
    for (size_t i = 0; i < n; i++) /* warm caches and predictors on the model */
        *sink += tc_model_eval(m, &views[i], eo, ws, &r) == TC_OK ? r.pd : 0;
    for (long rep = 0; rep < reps; rep++) {
        size_t nb = 0;
        for (size_t i = 0; i + (size_t)batch <= n; i += (size_t)batch) {
            double t0 = now_ns();
            for (size_t k = i; k < i + (size_t)batch; k++) {
                if (tc_model_eval(m, &views[k], eo, ws, &r) != TC_OK)
                    abort();
                *sink += r.pd_high;
            }
            batches[nb++] = (now_ns() - t0) / (double)batch;
        }
        rep_medians[rep] = median(batches, nb);
    }
    free(views);
    free(recs);
    return 0;
}

/* Lookup, decode and evaluation of n random citizens of the database db (IDs from the file
 * ids, hashed before the clock starts). 0, or 1 on an error. */
static int time_from_db(const bench_run *b, const char *db, const char *key_path, const char *ids,
                        int json)
{
    const tc_catalog *cat = b->cat;
    const tc_model *m = b->m;
    const tc_eval_options *eo = b->eo;
    tc_eval_workspace *ws = b->ws;
    size_t n = b->n;
    long batch = b->batch, reps = b->reps;
    double *batches = b->batches, *rep_medians = b->rep_medians;
    volatile double *sink = b->sink;
    tc_score_result r;
    tc_error err = {0};
    tc_key *key = NULL;
    tc_store *store = NULL;
    tc_reader *reader = NULL;
    tc_hasher *h = NULL;
    tc_store_options so = {.path = db, .catalog = cat, .read_only = 1};
    if (tc_key_load(key_path, &key, &err) || (so.key = key, tc_store_open(&so, &store, &err)) ||
        tc_reader_new(store, &reader, &err) || tc_hasher_new(key, &h, &err)) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    /* All IDs of the file, then n of them at random, hashed before the clock starts. */
    FILE *f = fopen(ids, "r");
    char line[8192];
    size_t cap = 1 << 20, n_ids = 0;
    char(*all)[13] = malloc(cap * 13);
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        fprintf(stderr, "bench_engine: cannot read %s\n", ids);
        return 1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (n_ids == cap)
            all = realloc(all, (cap *= 2) * 13);
        memcpy(all[n_ids], line, 12);
        all[n_ids++][12] = '\0';
    }
    fclose(f);
    unsigned char(*keys)[TC_CITIZEN_KEY_LEN] = malloc(n * TC_CITIZEN_KEY_LEN);
    for (size_t i = 0; i < n; i++)
        tc_hasher_citizen(h, all[rnd() % n_ids], keys[i]);
    free(all);
    if (!json)
        fprintf(stderr, "%zu IDs in %s; timing %zu random lookups\n", n_ids, ids, n);
    for (long rep = 0; rep < reps; rep++) {
        size_t nb = 0;
        for (size_t i = 0; i + (size_t)batch <= n; i += (size_t)batch) {
            double t0 = now_ns();
            for (size_t k = i; k < i + (size_t)batch; k++) {
                tc_record rec;
                if (tc_reader_begin(reader, NULL) != TC_OK ||
                    tc_reader_citizen(reader, keys[k], &rec, NULL) != TC_OK ||
                    tc_model_eval(m, &rec, eo, ws, &r) != TC_OK)
                    abort();
                *sink += r.pd_high;
                tc_reader_end(reader);
            }
            batches[nb++] = (now_ns() - t0) / (double)batch;
        }
        rep_medians[rep] = median(batches, nb);
    }
    free(keys);
    tc_hasher_free(h);
    tc_reader_free(reader);
    tc_store_close(store);
    tc_key_free(key);
    return 0;
}

/* The timings of b, as JSON or as text; model_path names the file, db the path timed. */
static void print_result(const bench_run *b, const char *model_path, const char *db, int json)
{
    const tc_model *m = b->m;
    const tc_eval_options *eo = b->eo;
    size_t n = b->n;
    long batch = b->batch, reps = b->reps;
    double *rep_medians = b->rep_medians;
    if (json) {
        printf("{\"model\": \"%s\", \"version\": %d, \"status\": \"%s\", \"file\": \"%s\", "
               "\"characteristics\": %zu, \"coefficients\": %zu, \"interval\": %s, "
               "\"reasons\": %d, \"path\": \"%s\", \"records\": %zu, \"batch\": %ld, "
               "\"reps_ns\": [",
               m->name, m->version, tc_model_status_name(m->status), model_path, m->n_chars,
               m->n_params, eo->no_interval ? "false" : "true",
               eo->max_reasons ? eo->max_reasons : m->max_reasons,
               db ? "lookup+decode+evaluate" : "evaluate", n, batch);
        for (long rep = 0; rep < reps; rep++)
            printf("%s%.1f", rep ? ", " : "", rep_medians[rep]);
        printf("], \"median_ns\": %.1f}\n", median(rep_medians, (size_t)reps));
        return;
    }
    printf("model %s version %d: %zu characteristics, %zu coefficients, interval %s, "
           "reasons %d\n",
           m->name, m->version, m->n_chars, m->n_params, eo->no_interval ? "off" : "on",
           eo->max_reasons ? eo->max_reasons : m->max_reasons);
    printf("%s: median ns per evaluation by repetition (batches of %ld over %zu records):",
           db ? "lookup + decode + evaluate" : "evaluate", batch, n);
    for (long rep = 0; rep < reps; rep++)
        printf(" %.1f", rep_medians[rep]);
    printf("\nmedian of repetitions: %.1f ns\n", median(rep_medians, (size_t)reps));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"records", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'b'},   {"reps", required_argument, NULL, 'r'},
        {"reasons", required_argument, NULL, 'k'}, {"no-interval", no_argument, NULL, 'I'},
        {"db", required_argument, NULL, 'd'},      {"key", required_argument, NULL, 'K'},
        {"ids", required_argument, NULL, 'i'},     {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},          {0, 0, 0, 0}};
    const char *model_path = NULL;
    char champion_path[4096];
    int json = 0;
    const char *db = NULL, *key_path = NULL, *ids = NULL;
    long n_records = 100000, batch = 1000, reps = 7;
    tc_eval_options eo = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'n':
            n_records = atol(optarg);
            break;
        case 'b':
            batch = atol(optarg);
            break;
        case 'r':
            reps = atol(optarg);
            break;
        case 'k':
            eo.max_reasons = atoi(optarg);
            break;
        case 'I':
            eo.no_interval = 1;
            break;
        case 'd':
            db = optarg;
            break;
        case 'K':
            key_path = optarg;
            break;
        case 'i':
            ids = optarg;
            break;
        case 'j':
            json = 1;
            break;
        default:
            fputs(help, c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (n_records < batch || batch < 1 || reps < 1) {
        fputs(help, stderr);
        return 2;
    }
    gsl_set_error_handler_off();
    tc_error err = {0};
    tc_catalog *cat = NULL;
    tc_reasons *reasons = NULL;
    tc_model *m = NULL;
    tc_eval_workspace *ws = NULL;
    if (tc_catalog_load(TC_MODELS_DIR "/catalog.json", &cat, &err) ||
        tc_reasons_load(TC_MODELS_DIR "/reasons.json", &reasons, &err) ||
        (model_path != NULL
             ? tc_model_load(model_path, cat, reasons, &m, &err)
             : load_champion(cat, reasons, &m, champion_path, sizeof champion_path, &err)) ||
        tc_eval_workspace_new(&ws, &err)) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    size_t n = (size_t)n_records;
    double *batches = malloc(sizeof(double) * (n / (size_t)batch));
    double *rep_medians = malloc(sizeof(double) * (size_t)reps);
    volatile double sink = 0;

    bench_run b = {.cat = cat,
                   .m = m,
                   .eo = &eo,
                   .ws = ws,
                   .n = n,
                   .batch = batch,
                   .reps = reps,
                   .batches = batches,
                   .rep_medians = rep_medians,
                   .sink = &sink};
    if ((db == NULL ? time_in_memory(&b) : time_from_db(&b, db, key_path, ids, json)) != 0)
        return 1;
    print_result(&b, model_path != NULL ? model_path : champion_path, db, json);
    free(batches);
    free(rep_medians);
    tc_eval_workspace_free(ws);
    tc_model_free(m);
    tc_reasons_free(reasons);
    tc_catalog_free(cat);
    return sink == 12345.678 ? 3 : 0;
}
