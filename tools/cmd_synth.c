/* tinchap synth — a synthetic population (population.csv, consents.csv) and loan history
 * (history.csv) from the process in synth.h, written in the formats `tinchap load` and
 * `tinchap train` read.
 *
 * Columns follow the catalog given at run time, matched by name to what the process draws, and
 * every value is formatted the way tc_attr_parse reads it. Each file is written through tc_file
 * under a temporary name in the output directory and renamed into place only when all three are
 * complete, so an interrupted run never leaves a truncated file under a final name.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "cli.h"
#include "commands.h"
#include "synth.h"
#include "tc_file.h"
#include "tc_id.h"
#include "tc_time.h"

static const char help[] =
    "usage: tinchap synth -n N [--seed S] [--out DIR] [--history N] [--as-of DATE]\n"
    "                     [--drift D] [--catalog FILE] [--force]\n"
    "\n"
    "Generate a synthetic population for demos, tests, benchmarks and model training:\n"
    "  DIR/population.csv  citizen_id and every catalog attribute, one citizen a row\n"
    "  DIR/consents.csv    their consents: bank-a for all, bank-b for about half\n"
    "  DIR/history.csv     past loan applications without IDs: the catalog attributes,\n"
    "                      default_12m (0/1) and application_date, for training\n"
    "The people are invented (see \"Synthetic data\" in models/README.md for how): their\n"
    "IDs are valid CCCD numbers and agree with gender and birth year, but belong to nobody.\n"
    "\n"
    "options:\n"
    "  -n, --count N      citizens in population.csv (suffixes k and M: 100k, 1M)\n"
    "  -s, --seed S       random seed, 0 to 4294967295 (default 1); the same seed, as-of,\n"
    "                     options and build give byte-identical files\n"
    "  -o, --out DIR      output directory, created if missing (default .)\n"
    "      --history N    rows in history.csv (default: the same as -n; 0 for none)\n"
    "      --as-of DATE   reference time, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (default:\n"
    "                     today, midnight UTC): attributes are as of then, consents are\n"
    "                     valid or not then, history spans the 24 months before it. Pass\n"
    "                     it to make the same files again on another day; without it the\n"
    "                     consents are valid now, so 'tinchap load' takes every citizen.\n"
    "      --drift D      a shifted population, -3 to 3 (default 0): everyone's latent\n"
    "                     creditworthiness is drawn D standard deviations lower (D > 0:\n"
    "                     riskier applicants, more defaults; D < 0: safer), so every\n"
    "                     attribute that follows it moves. For showing and testing drift:\n"
    "                     'tinchap validate' between a drifted and an undrifted history,\n"
    "                     or a drifted population scored by tinchapd (model PSI and CSI)\n"
    "      --catalog FILE attribute catalog (default: $TINCHAP_CATALOG or the shipped one)\n"
    "  -f, --force        replace existing output files\n"
    "  -h, --help         this text\n";

#define CMD "synth"
#define COUNT_MAX 100000000L   /* 100 M: national scale, about 33 GB of files */
#define FILE_BUFFER (4u << 20) /* stdio buffer per output file */
#define PROGRESS_EVERY 16384

/* --- catalog binding --------------------------------------------------------------------- */

typedef struct column {
    const tc_attr *attr;
    int field; /* index into the process's fields, or -1: not drawn, always empty */
} column;

typedef struct layout {
    const synth_field *fields;
    size_t n_cols;
    column cols[TC_CATALOG_ATTRS_MAX];
    size_t level_len[SYNTH_N_FIELDS][TC_PROVINCE_COUNT]; /* strlen of each category level */
    size_t row_max; /* bytes one formatted row can take, with its extra columns */
} layout;

static const char consents_header[] =
    "citizen_id,institution,purpose,consent_ref,granted_at,expires_at,revoked_at\n";

static const char *const extra_columns[] = {"citizen_id", "default_12m", "application_date"};

static int bind_catalog(const tc_catalog *cat, const char *path, const synth_field *fields,
                        layout *lay, tc_error *err)
{
    memset(lay, 0, sizeof *lay);
    lay->fields = fields;
    for (size_t f = 0; f < SYNTH_N_FIELDS; f++) {
        if (tc_catalog_find(cat, fields[f].name) < 0)
            return tc_errorf(err, TC_ECATALOG,
                             "%s: no attribute '%s', which synth generates (is this the catalog "
                             "synth was written for?)",
                             path, fields[f].name);
    }
    lay->n_cols = cat->n_attrs;
    lay->row_max = 64 + 2 * TC_TIME_TEXT_LEN;
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        column *c = &lay->cols[i];
        c->attr = a;
        c->field = -1;
        for (size_t e = 0; e < sizeof extra_columns / sizeof extra_columns[0]; e++)
            if (strcmp(a->name, extra_columns[e]) == 0)
                return tc_errorf(err, TC_ECATALOG,
                                 "%s: attribute '%s' clashes with a column synth adds", path,
                                 a->name);
        for (size_t f = 0; f < SYNTH_N_FIELDS; f++)
            if (strcmp(fields[f].name, a->name) == 0)
                c->field = (int)f;
        if (c->field < 0) {
            if (!a->missing_allowed)
                return tc_errorf(err, TC_ECATALOG,
                                 "%s: attribute '%s' is required but synth does not generate it",
                                 path, a->name);
            fprintf(stderr, "tinchap %s: attribute '%s' is not generated; its column is empty\n",
                    CMD, a->name);
            lay->row_max += 1;
            continue;
        }
        const synth_field *sf = &fields[c->field];
        if (a->type != sf->type)
            return tc_errorf(err, TC_ECATALOG, "%s: attribute '%s' is %s, synth generates %s", path,
                             a->name, tc_attr_type_name(a->type), tc_attr_type_name(sf->type));
        if (sf->may_be_missing && !a->missing_allowed)
            return tc_errorf(err, TC_ECATALOG,
                             "%s: attribute '%s' may not be missing, but synth leaves it empty "
                             "for some citizens",
                             path, a->name);
        if (sf->type == TC_ATTR_CATEGORY) {
            size_t longest = 0;
            for (size_t l = 0; l < sf->n_levels; l++) {
                const char *name = sf->levels[l];
                if (tc_attr_level(a, name, strlen(name)) < 0)
                    return tc_errorf(err, TC_ECATALOG, "%s: attribute '%s' lacks level '%s'", path,
                                     a->name, name);
                lay->level_len[c->field][l] = strlen(name);
                if (strlen(name) > longest)
                    longest = strlen(name);
            }
            lay->row_max += longest + 1;
        } else {
            if (sf->lo < a->min || sf->hi > a->max)
                return tc_errorf(err, TC_ECATALOG,
                                 "%s: attribute '%s' allows %g to %g, synth generates %g to %g",
                                 path, a->name, a->min, a->max, sf->lo, sf->hi);
            lay->row_max += 24;
        }
    }
    return TC_OK;
}

/* --- formatting ---------------------------------------------------------------------------- */

/* Decimal digits of v at p; returns the end. A few times faster than snprintf, which matters
 * at tens of millions of fields. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

/* v / 10^decimals as a plain decimal without trailing zeros: 1250 with 2 -> "12.5". */
static char *put_scaled(char *p, int64_t v, int decimals)
{
    static const int64_t pow10[] = {1, 10, 100, 1000};
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    int64_t unit = pow10[decimals];
    p = put_u64(p, (uint64_t)(v / unit));
    int64_t frac = v % unit;
    if (frac == 0)
        return p;
    *p++ = '.';
    for (int d = decimals - 1; d >= 0 && frac != 0; d--) {
        int64_t u = pow10[d];
        *p++ = (char)('0' + frac / u);
        frac %= u;
    }
    return p;
}

static char *put_str(char *p, const char *s, size_t len)
{
    memcpy(p, s, len);
    return p + len;
}

static char *put_attrs(char *p, const layout *lay, const synth_person *person)
{
    for (size_t i = 0; i < lay->n_cols; i++) {
        int f = lay->cols[i].field;
        if (i > 0)
            *p++ = ',';
        if (f < 0 || !person->present[f])
            continue;
        const synth_field *sf = &lay->fields[f];
        int64_t v = person->value[f];
        switch (sf->type) {
        case TC_ATTR_INT:
        case TC_ATTR_BOOL:
            p = put_i64(p, v);
            break;
        case TC_ATTR_REAL:
            p = put_scaled(p, v, sf->decimals);
            break;
        case TC_ATTR_CATEGORY:
            p = put_str(p, sf->levels[v], lay->level_len[f][v]);
            break;
        }
    }
    return p;
}

/* Dates of the days around as-of, formatted once by tc_time_format: consents and history only
 * fall in this window, and formatting each of millions of times anew would dominate the run. */
#define DAYS_BEFORE (2 * SYNTH_HISTORY_DAYS)
#define DAYS_AFTER 800

typedef struct day_cache {
    int64_t first_day;
    char date[DAYS_BEFORE + DAYS_AFTER][10];
} day_cache;

static void day_cache_init(day_cache *dc, int64_t as_of)
{
    char buf[TC_TIME_TEXT_LEN];
    dc->first_day = as_of / 86400 - DAYS_BEFORE;
    for (int64_t d = 0; d < DAYS_BEFORE + DAYS_AFTER; d++) {
        tc_time_format((dc->first_day + d) * 86400, buf);
        memcpy(dc->date[d], buf, 10);
    }
}

static char *put_2(char *p, int64_t v)
{
    *p++ = (char)('0' + v / 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* "YYYY-MM-DD", or with time "YYYY-MM-DDTHH:MM:SSZ", exactly as tc_time_format writes it. */
static char *put_time(char *p, const day_cache *dc, int64_t t, int with_time)
{
    int64_t day = t / 86400, sec = t % 86400;
    if (t < 0 || day < dc->first_day || day >= dc->first_day + DAYS_BEFORE + DAYS_AFTER) {
        char buf[TC_TIME_TEXT_LEN];
        tc_time_format(t, buf);
        return put_str(p, buf, with_time ? TC_TIME_TEXT_LEN - 1 : 10);
    }
    p = put_str(p, dc->date[day - dc->first_day], 10);
    if (!with_time)
        return p;
    *p++ = 'T';
    p = put_2(p, sec / 3600);
    *p++ = ':';
    p = put_2(p, sec / 60 % 60);
    *p++ = ':';
    p = put_2(p, sec % 60);
    *p++ = 'Z';
    return p;
}

/* --- output files ---------------------------------------------------------------------------- */

typedef struct out_file {
    tc_file file;
    char *buf;
} out_file;

enum { OUT_POPULATION, OUT_CONSENTS, OUT_HISTORY, N_OUT };

/* Temporary files to remove if the run is interrupted; written before the handlers are set. */
static const char *volatile tmp_paths[N_OUT];

#define N_SIGNALS 3
static const int signals[N_SIGNALS] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int sig)
{
    for (size_t i = 0; i < N_OUT; i++)
        if (tmp_paths[i] != NULL)
            unlink(tmp_paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* mkdir -p: each missing component of dir, in order. */
static int make_dirs(const char *dir, tc_error *err)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return tc_errorf(err, TC_EINVAL, "output directory name is empty or too long");
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return tc_errorf(err, TC_EIO, "cannot create directory %s: %s", path, strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tc_errorf(err, TC_EIO, "%s is not a directory", dir);
    return TC_OK;
}

static int out_open(out_file *o, const char *dir, const char *name, int force, tc_error *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return tc_errorf(err, TC_EINVAL, "output directory name is too long");
    int rc = tc_file_open(&o->file, path, force ? TC_FILE_REPLACE : 0, 0666, err);
    if (rc != TC_OK)
        return rc;
    if ((o->buf = malloc(FILE_BUFFER)) != NULL)
        setvbuf(o->file.f, o->buf, _IOFBF, FILE_BUFFER);
    return TC_OK;
}

static int out_write(out_file *o, const char *data, size_t len, tc_error *err)
{
    if (fwrite(data, 1, len, o->file.f) != len)
        return tc_errorf(err, TC_EIO, "cannot write %s: %s", o->file.path, strerror(errno));
    return TC_OK;
}

/* Complete under its temporary name, not yet in place. */
static int out_finish(out_file *o, tc_error *err)
{
    int rc = tc_file_finish(&o->file, err);
    free(o->buf);
    o->buf = NULL;
    return rc;
}

static void out_discard(out_file *o)
{
    tc_file_discard(&o->file);
    free(o->buf);
    o->buf = NULL;
}

/* --- the run ----------------------------------------------------------------------------- */

typedef struct options {
    long count, history;
    uint32_t seed;
    const char *out, *catalog;
    int64_t as_of;
    double drift;
    int force;
} options;

typedef struct totals {
    size_t consents;
} totals;

/* The history file, written by a thread of its own. */
typedef struct history_job {
    const synth *s;
    gsl_rng *rng;
    const layout *lay;
    const day_cache *dc;
    out_file *out;
    int64_t as_of;
    long rows;
    char *row;
    atomic_long done; /* rows written, for progress */
    atomic_int stop;  /* set when the other writer failed */
    atomic_int finished;
    int rc;
    tc_error err;
} history_job;

static void *history_main(void *arg)
{
    history_job *job = arg;
    synth_person person;
    job->rc = TC_OK;
    for (long i = 0; i < job->rows; i++) {
        /* Applications spread evenly over the days before as-of; attributes as of that day. */
        int64_t day =
            job->as_of / 86400 - 1 - (int64_t)gsl_rng_uniform_int(job->rng, SYNTH_HISTORY_DAYS);
        synth_draw(job->s, job->rng, day * 86400, &person);
        char *p = put_attrs(job->row, job->lay, &person);
        *p++ = ',';
        *p++ = (char)('0' + person.default_12m);
        *p++ = ',';
        p = put_time(p, job->dc, day * 86400, 0);
        *p++ = '\n';
        if ((job->rc = out_write(job->out, job->row, (size_t)(p - job->row), &job->err)) != TC_OK)
            break;
        if ((i + 1) % PROGRESS_EVERY == 0) {
            atomic_store(&job->done, i + 1);
            if (atomic_load(&job->stop))
                break;
        }
    }
    atomic_store(&job->done, job->rows);
    atomic_store(&job->finished, 1);
    return NULL;
}

static int write_header(out_file *o, const layout *lay, const char *before, const char *after,
                        tc_error *err)
{
    int rc = TC_OK;
    if (before != NULL && (rc = out_write(o, before, strlen(before), err)) != TC_OK)
        return rc;
    for (size_t i = 0; i < lay->n_cols && rc == TC_OK; i++) {
        const char *name = lay->cols[i].attr->name;
        if (i > 0)
            rc = out_write(o, ",", 1, err);
        if (rc == TC_OK)
            rc = out_write(o, name, strlen(name), err);
    }
    if (rc == TC_OK && after != NULL)
        rc = out_write(o, after, strlen(after), err);
    if (rc == TC_OK)
        rc = out_write(o, "\n", 1, err);
    return rc;
}

/* One citizen drawn: their population row, and their consents' rows. */
static int write_citizen(synth *s, gsl_rng *rng, int64_t as_of, int as_of_year,
                         const layout *lay, day_cache *dc, out_file out[N_OUT], char *row,
                         totals *tot, tc_error *err)
{
    synth_person person;
    synth_consent consents[SYNTH_MAX_CONSENTS];
    char id[TC_ID_LEN + 1];
    int rc;
    synth_draw(s, rng, as_of, &person);
    if ((rc = synth_assign_id(s, &person, id, err)) != TC_OK)
        return rc;
    /* Cheap insurance that the process and the ID rules never drift apart. */
    if (tc_id_parse(id, TC_ID_LEN, as_of_year, NULL, NULL) != TC_OK)
        return tc_errorf(err, TC_EINVAL, "generated an invalid citizen ID (a bug in synth)");
    char *p = put_str(row, id, TC_ID_LEN);
    *p++ = ',';
    p = put_attrs(p, lay, &person);
    *p++ = '\n';
    if ((rc = out_write(&out[OUT_POPULATION], row, (size_t)(p - row), err)) != TC_OK)
        return rc;
    size_t n = synth_draw_consents(s, rng, consents);
    p = row;
    for (size_t c = 0; c < n; c++) {
        p = put_str(p, id, TC_ID_LEN);
        *p++ = ',';
        p = put_str(p, consents[c].institution, strlen(consents[c].institution));
        *p++ = ',';
        p = put_str(p, consents[c].purpose, strlen(consents[c].purpose));
        *p++ = ',';
        p = put_str(p, consents[c].ref, SYNTH_REF_LEN);
        *p++ = ',';
        p = put_time(p, dc, consents[c].granted_at, 1);
        *p++ = ',';
        p = put_time(p, dc, consents[c].expires_at, 1);
        *p++ = ',';
        if (consents[c].revoked_at != 0)
            p = put_time(p, dc, consents[c].revoked_at, 1);
        *p++ = '\n';
    }
    tot->consents += n;
    return out_write(&out[OUT_CONSENTS], row, (size_t)(p - row), err);
}

/* Refuse before writing anything if any final name is taken; then catch the signals that
 * would leave temporary files behind, and open the three outputs' temporary files. */
static int open_outputs(const options *opt, out_file out[N_OUT],
                        void (*old_handlers[N_SIGNALS])(int), tc_error *err)
{
    static const char *const names[N_OUT] = {"population.csv", "consents.csv", "history.csv"};
    int rc;
    for (size_t i = 0; i < N_OUT; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", opt->out, names[i]);
        if ((rc = tc_file_check(path, opt->force ? TC_FILE_REPLACE : 0, err)) != TC_OK) {
            if (rc == TC_EEXIST)
                tc_errorf(err, rc, "%s exists: pass --force to replace it", path);
            return rc;
        }
    }
    for (size_t i = 0; i < N_SIGNALS; i++) {
        /* A signal the caller ignores (nohup) stays ignored. */
        old_handlers[i] = signal(signals[i], SIG_IGN);
        if (old_handlers[i] != SIG_IGN)
            signal(signals[i], on_signal);
    }
    for (size_t i = 0; i < N_OUT; i++) {
        if ((rc = out_open(&out[i], opt->out, names[i], opt->force, err)) != TC_OK)
            return rc;
        tmp_paths[i] = out[i].file.tmp;
    }
    return TC_OK;
}

/* Wait for the history rows (drawn on thread, or here when no thread could start), still
 * showing progress. */
static void wait_history(history_job *job, pthread_t *thread, long count, cli_progress *progress)
{
    if (thread == NULL) {
        history_main(job);
        return;
    }
    while (!atomic_load(&job->finished)) {
        cli_progress_update(progress, (double)count + (double)atomic_load(&job->done),
                            (size_t)count + (size_t)atomic_load(&job->done));
        nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
    }
    pthread_join(*thread, NULL);
}

static int run(const options *opt, const tc_catalog *cat, const char *cat_path, totals *tot,
               tc_error *err)
{
    int rc;
    synth *s = NULL;
    gsl_rng *pop_rng = NULL, *hist_rng = NULL;
    layout *lay = NULL;
    day_cache *dc = NULL;
    char *row = NULL;
    out_file out[N_OUT];
    cli_progress progress = {0};
    history_job job;
    pthread_t thread;
    int started = 0;
    void (*old_handlers[N_SIGNALS])(int) = {SIG_ERR, SIG_ERR, SIG_ERR};
    memset(out, 0, sizeof out);
    memset(&job, 0, sizeof job);
    atomic_init(&job.done, 0);
    atomic_init(&job.stop, 0);
    atomic_init(&job.finished, 0);

    if ((rc = synth_new(opt->as_of, opt->seed, &s, err)) != TC_OK ||
        (rc = synth_set_drift(s, opt->drift, err)) != TC_OK)
        goto out;
    lay = malloc(sizeof *lay);
    dc = malloc(sizeof *dc);
    pop_rng = synth_rng_new(s, 0);
    hist_rng = synth_rng_new(s, 1);
    if (lay == NULL || dc == NULL || pop_rng == NULL || hist_rng == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = bind_catalog(cat, cat_path, synth_fields(s), lay, err)) != TC_OK)
        goto out;
    day_cache_init(dc, opt->as_of);
    size_t row_cap = lay->row_max + SYNTH_MAX_CONSENTS * (TC_ID_LEN + 160);
    if ((row = malloc(row_cap)) == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = make_dirs(opt->out, err)) != TC_OK)
        goto out;
    if ((rc = open_outputs(opt, out, old_handlers, err)) != TC_OK)
        goto out;

    if ((rc = write_header(&out[OUT_POPULATION], lay, "citizen_id,", NULL, err)) != TC_OK ||
        (rc = out_write(&out[OUT_CONSENTS], consents_header, strlen(consents_header), err)) !=
            TC_OK ||
        (rc = write_header(&out[OUT_HISTORY], lay, NULL, ",default_12m,application_date", err)) !=
            TC_OK)
        goto out;

    double total = (double)opt->count + (double)opt->history;
    cli_progress_start(&progress, "synth", total);
    /* History rows come from their own random stream, so they can be drawn and written on the
     * second core while this thread writes the population: same bytes, about half the time. */
    job.s = s;
    job.rng = hist_rng;
    job.lay = lay;
    job.dc = dc;
    job.out = &out[OUT_HISTORY];
    job.as_of = opt->as_of;
    job.rows = opt->history;
    if ((job.row = malloc(row_cap)) == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    started = pthread_create(&thread, NULL, history_main, &job) == 0;
    int as_of_year = atoi(dc->date[opt->as_of / 86400 - dc->first_day]);
    for (long i = 0; i < opt->count; i++) {
        if ((rc = write_citizen(s, pop_rng, opt->as_of, as_of_year, lay, dc, out, row, tot,
                                err)) != TC_OK)
            goto out;
        if ((i + 1) % PROGRESS_EVERY == 0) {
            long done = i + 1 + atomic_load(&job.done);
            cli_progress_update(&progress, (double)done, (size_t)done);
        }
    }

    wait_history(&job, started ? &thread : NULL, opt->count, &progress);
    started = 0;
    if (job.rc != TC_OK) {
        rc = job.rc;
        *err = job.err;
        goto out;
    }
    /* all three complete before any is published */
    for (size_t i = 0; i < N_OUT; i++)
        if ((rc = out_finish(&out[i], err)) != TC_OK)
            goto out;
    for (size_t i = 0; i < N_OUT; i++) {
        if ((rc = tc_file_commit(&out[i].file, err)) != TC_OK)
            goto out;
        tmp_paths[i] = NULL;
    }
    rc = TC_OK;
out:
    if (started) {
        atomic_store(&job.stop, 1);
        pthread_join(thread, NULL);
    }
    cli_progress_finish(&progress);
    free(job.row);
    for (size_t i = 0; i < N_OUT; i++) {
        tmp_paths[i] = NULL;
        out_discard(&out[i]);
    }
    for (size_t i = 0; i < N_SIGNALS; i++)
        if (old_handlers[i] != SIG_ERR)
            signal(signals[i], old_handlers[i]);
    free(row);
    free(dc);
    free(lay);
    gsl_rng_free(hist_rng);
    gsl_rng_free(pop_rng);
    synth_free(s);
    return rc;
}

static int parse_seed(const char *text, uint32_t *out)
{
    if (text[0] < '0' || text[0] > '9' || strlen(text) > 10)
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int cmd_synth(int argc, char **argv)
{
    enum { OPT_HISTORY = 256, OPT_AS_OF, OPT_CATALOG, OPT_DRIFT };
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        {"catalog", required_argument, NULL, OPT_CATALOG},
        {"drift", required_argument, NULL, OPT_DRIFT},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    options opt = {.count = -1, .history = -1, .seed = 1, .out = "."};
    const char *as_of = NULL; /* today, midnight UTC */
    int c;
    optind = 1;
    opterr = 0; /* our own messages, naming the option */
    while ((c = getopt_long(argc, argv, ":n:s:o:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_count(optarg, 1, COUNT_MAX, &opt.count) != 0)
                return cli_usage(CMD, "-n wants a count from 1 to %ld (e.g. 1000, 100k, 1M)",
                                 COUNT_MAX);
            break;
        case 's':
            if (parse_seed(optarg, &opt.seed) != 0)
                return cli_usage(CMD, "--seed wants an integer from 0 to 4294967295");
            break;
        case 'o':
            opt.out = optarg;
            break;
        case OPT_HISTORY:
            if (strcmp(optarg, "0") == 0)
                opt.history = 0;
            else if (cli_parse_count(optarg, 1, COUNT_MAX, &opt.history) != 0)
                return cli_usage(CMD, "--history wants a count from 0 to %ld", COUNT_MAX);
            break;
        case OPT_AS_OF:
            as_of = optarg;
            break;
        case OPT_CATALOG:
            opt.catalog = optarg;
            break;
        case OPT_DRIFT: {
            char *end = NULL;
            opt.drift = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(fabs(opt.drift) <= SYNTH_DRIFT_MAX))
                return cli_usage(CMD, "--drift wants a number from -%g to %g", SYNTH_DRIFT_MAX,
                                 SYNTH_DRIFT_MAX);
            break;
        }
        case 'f':
            opt.force = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        case ':':
            return cli_usage(CMD, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (opt.count < 0)
        return cli_usage(CMD, "-n N is required");
    if (opt.history < 0)
        opt.history = opt.count;
    if (opt.out[0] == '\0')
        return cli_usage(CMD, "--out wants a directory");
    /* The default reads the clock once: the day's data then loads today, whatever the day. */
    char today[TC_TIME_TEXT_LEN];
    if (as_of == NULL) {
        int64_t now = tc_time_now();
        tc_time_format(now - now % 86400, today);
        today[10] = '\0'; /* the date alone, as it is printed below */
        as_of = today;
    }
    if (tc_time_parse(as_of, strlen(as_of), &opt.as_of) != TC_OK)
        return cli_usage(CMD, "--as-of wants YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    /* tc_time_parse takes only 4-digit years, so the first four characters are the year. */
    int year = atoi(as_of);
    if (year < SYNTH_AS_OF_MIN_YEAR || year > SYNTH_AS_OF_MAX_YEAR)
        return cli_usage(CMD, "--as-of must fall in the years %d to %d", SYNTH_AS_OF_MIN_YEAR,
                         SYNTH_AS_OF_MAX_YEAR);

    tc_error err = {0};
    tc_catalog *cat = NULL;
    const char *cat_path = opt.catalog != NULL ? opt.catalog : cli_default_catalog();
    if (tc_catalog_load(cat_path, &cat, &err) != TC_OK)
        return cli_fail(CMD, &err);
    totals tot = {0};
    double started = cli_now();
    int rc = run(&opt, cat, cat_path, &tot, &err);
    tc_catalog_free(cat);
    if (rc != TC_OK)
        return cli_fail(CMD, &err);
    char drift[48] = "";
    if (opt.drift != 0)
        snprintf(drift, sizeof drift, ", drifted by %g", opt.drift);
    printf("wrote %ld citizens, %zu consents, %ld history rows as of %s%s to %s in %.1f s\n",
           opt.count, tot.consents, opt.history, as_of, drift, opt.out, cli_now() - started);
    return 0;
}
