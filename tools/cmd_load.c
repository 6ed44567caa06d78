/* tinchap load — citizen attributes and consents from CSV into the database.
 *
 * Three phases, so that a bad file never leaves a half-loaded database:
 *   1 read and validate every row of every file, keeping the encoded rows in memory
 *     (about 110 bytes per citizen and per consent), sorted by key; duplicates and
 *     citizens without consent found here;
 *   2 if more rows were rejected than --max-errors allows, stop: nothing is written;
 *   3 write in batches of --batch-size rows, one LMDB transaction each, in key order: each
 *     citizen's record, then their consents.
 * A kill at any moment leaves every batch either fully old or fully new (LMDB transactions),
 * and loading is an upsert that skips identical rows, so re-running the same load completes it.
 *
 * No message names a citizen ID: rows are named by file, line and column.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "load.h"
#include "tc_time.h"

/* ---- the command ---- */

static const char help[] =
    "usage: tinchap load --db DIR [options] [population.csv]\n"
    "       tinchap load --db DIR --consents consents.csv [population.csv]\n"
    "\n"
    "Load citizen attributes (population.csv: citizen_id plus every catalog attribute, by\n"
    "header name, in any order) and consents (consents.csv: citizen_id, institution, purpose,\n"
    "consent_ref, granted_at, expires_at[, revoked_at]). Rows are upserts: a citizen already\n"
    "present is replaced, identical rows are skipped, so a load can be re-run. Attributes are\n"
    "kept only for citizens with a consent on record (in the database or in --consents).\n"
    "Every file is validated before anything is written: past --max-errors rejected rows,\n"
    "nothing is written at all. Reading '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  --db DIR           database directory, created if absent (required)\n"
    "  --consents FILE    consents to load first\n"
    "  --key FILE         secret key (default $TINCHAP_KEY)\n"
    "  --catalog FILE     attribute catalog (default $TINCHAP_CATALOG or the shipped one)\n"
    "  --max-errors N     rejected rows tolerated, a count or a share such as 1% of the rows\n"
    "                     read (default 0); rejected rows are not loaded\n"
    "  --rejects DIR      where to write <input>.rejects.csv files: each rejected row with\n"
    "                     its line and reasons (CSV, mode 0600); by default beside each\n"
    "                     input, when --max-errors > 0\n"
    "  --batch-size N     rows per transaction (default 50000)\n"
    "  --map-size SIZE    maximum database size, e.g. 64G (default 32G or the current size)\n"
    "  --dry-run          validate and report what would change; write nothing\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 loaded, 1 failed or too many rejected rows (nothing written), 2 bad usage.\n";

enum {
    O_DB = 1000,
    O_CONSENTS,
    O_KEY,
    O_CATALOG,
    O_MAX_ERRORS,
    O_REJECTS,
    O_BATCH,
    O_MAP,
    O_DRY_RUN
};

static void load_free(load *L)
{
    for (size_t i = 0; i < L->n_rejects; i++)
        free(L->rejects[i].reason);
    free(L->rejects);
    free(L->consent_arena.data);
    free(L->consent_off);
    free(L->consent_rejected);
    free(L->pop.data);
    free(L->pop_order);
    free(L->pop_rejected);
    if (L->reader != NULL)
        tc_reader_end(L->reader);
    tc_reader_free(L->reader);
    tc_hasher_free(L->hasher);
    cli_db_close(&L->db);
}

typedef struct load_opts {
    cli_db_options db;
    const char *consents, *population;
    int dry;
} load_opts;

/* -1: go on; otherwise the exit status (help printed, or bad usage). */
static int parse_opts(int argc, char **argv, load_opts *lo, load *L)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"consents", required_argument, NULL, O_CONSENTS},
        {"key", required_argument, NULL, O_KEY},
        {"catalog", required_argument, NULL, O_CATALOG},
        {"max-errors", required_argument, NULL, O_MAX_ERRORS},
        {"rejects", required_argument, NULL, O_REJECTS},
        {"batch-size", required_argument, NULL, O_BATCH},
        {"map-size", required_argument, NULL, O_MAP},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    cli_db_options o = {.need_key = 1, .create = 1};
    const char *consents = NULL, *population = NULL;
    long batch = LOAD_DEFAULT_BATCH;
    int c, dry = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB:
            o.db = optarg;
            break;
        case O_CONSENTS:
            consents = optarg;
            break;
        case O_KEY:
            o.key = optarg;
            break;
        case O_CATALOG:
            o.catalog = optarg;
            break;
        case O_MAX_ERRORS:
            if (cli_parse_max_errors(optarg, &L->max_errors, &L->max_errors_pct) != 0)
                return cli_usage("load", "--max-errors: '%s' is not a count or a percentage",
                                 optarg);
            break;
        case O_REJECTS:
            L->rejects_path = optarg;
            break;
        case O_BATCH:
            if (cli_parse_count(optarg, 1, 10000000L, &batch) != 0)
                return cli_usage("load", "--batch-size: '%s' is not a count from 1", optarg);
            break;
        case O_MAP:
            if (cli_parse_size(optarg, &o.map_size) != 0)
                return cli_usage("load", "--map-size: '%s' is not a size like 64G", optarg);
            break;
        case O_DRY_RUN:
            dry = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return cli_usage("load", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (o.db == NULL)
        return cli_usage("load", "--db DIR is required");
    if (optind < argc)
        population = argv[optind++];
    if (optind < argc)
        return cli_usage("load", "one population file at most; got '%s' too", argv[optind]);
    if (population == NULL && consents == NULL)
        return cli_usage("load", "nothing to load: give population.csv and/or --consents FILE");
    L->batch = (size_t)batch;
    o.read_only = dry;
    o.create = !dry;
    lo->db = o;
    lo->consents = consents;
    lo->population = population;
    lo->dry = dry;
    return -1;
}

/* The population, read on a thread of its own while the consents are read and sorted: the two
 * files are independent until citizens are checked against consents, and each read is most of
 * a load's CPU time. */
typedef struct population_reader {
    load P; /* its rows and its problems (kept, see load.defer), nothing of the database's */
    const char *file;
    pthread_t thread;
    int started, rc;
    tc_error err;
} population_reader;

static void *read_population_main(void *arg)
{
    population_reader *r = arg;
    r->rc = load_read_population(&r->P, r->file, &r->err);
    return NULL;
}

static int population_start(population_reader *r, const load *L, const char *file, tc_error *err)
{
    r->P = (load){.cmd = L->cmd,
                  .db = L->db,
                  .year = L->year,
                  .pop_stride = L->pop_stride,
                  .pop = {.first = 1u << 20},
                  .defer = 1};
    r->file = file;
    int rc = tc_hasher_new(L->db.key, &r->P.hasher, err);
    if (rc != TC_OK)
        return rc;
    if (pthread_create(&r->thread, NULL, read_population_main, r) != 0)
        return tc_errorf(err, TC_ENOMEM, "cannot start a thread to read %s", file);
    r->started = 1;
    return TC_OK;
}

/* Wait for the reader; its rows move into L and its problems are reported there, after the
 * consents' (unless keep is 0: the load failed already). */
static int population_join(population_reader *r, load *L, int keep, tc_error *err)
{
    int rc = TC_OK;
    if (r->started)
        pthread_join(r->thread, NULL);
    if (keep && r->started) {
        L->rows_read += r->P.rows_read;
        L->pop = r->P.pop;
        L->n_pop = r->P.n_pop;
        r->P.pop = (tc_buf){0};
        if ((rc = load_replay(L, &r->P)) != TC_OK)
            tc_errorf(err, TC_ENOMEM, "out of memory");
        else if ((rc = r->rc) != TC_OK)
            *err = r->err;
    }
    deferred *d = (deferred *)r->P.deferred.data; /* not reported: the load failed before */
    for (size_t i = 0; i < r->P.deferred.len / sizeof *d; i++)
        free(d[i].msg);
    free(r->P.deferred.data);
    free(r->P.pop.data);
    tc_hasher_free(r->P.hasher);
    return rc;
}

/* Read, check and sort the inputs, with the consent check on one snapshot of the database. */
static int read_inputs(load *L, const load_opts *lo, tc_error *err)
{
    population_reader pr = {0};
    if (tc_hasher_new(L->db.key, &L->hasher, err) != TC_OK ||
        tc_reader_new(L->db.store, &L->reader, err) != TC_OK ||
        tc_reader_begin(L->reader, err) != TC_OK)
        return cli_fail("load", err);
    L->pop_stride = PE_REC + tc_record_size(L->db.catalog);
    {
        char today[TC_TIME_TEXT_LEN];
        tc_time_format(tc_time_now(), today);
        L->year = atoi(today);
    }
    int beside = lo->consents != NULL && lo->population != NULL;
    if (beside && population_start(&pr, L, lo->population, err) != TC_OK) {
        population_join(&pr, L, 0, err);
        return cli_fail("load", err);
    }
    if (lo->consents != NULL && (load_read_consents(L, lo->consents, err) != TC_OK ||
                                 load_sort_consents(L, lo->consents) != TC_OK)) {
        if (err->code == TC_OK)
            tc_errorf(err, TC_ENOMEM, "out of memory");
        population_join(&pr, L, 0, err);
        return cli_fail("load", err);
    }
    if (lo->population != NULL &&
        ((beside ? population_join(&pr, L, 1, err)
                 : load_read_population(L, lo->population, err)) != TC_OK ||
         load_sort_population(L, lo->population, err) != TC_OK))
        return cli_fail("load", err);
    /* The snapshot used for the consent check is over: writers must not wait on it. */
    tc_reader_end(L->reader);
    tc_reader_free(L->reader);
    L->reader = NULL;
    return 0;
}

int cmd_load(int argc, char **argv)
{
    load L = {.cmd = "load",
              .batch = LOAD_DEFAULT_BATCH,
              .max_errors_pct = -1,
              .pop = {.first = 1u << 20},
              .consent_arena = {.first = 1u << 20}};
    load_opts lo;
    int rc = parse_opts(argc, argv, &lo, &L);
    if (rc >= 0)
        return rc;
    tc_error err = {0};
    rc = CLI_EXIT_FAIL;
    double t0 = cli_now();
    const int dry = lo.dry;
    if (cli_db_open(&lo.db, &L.db, &err) != TC_OK)
        return cli_fail("load", &err);
    if (read_inputs(&L, &lo, &err) != 0)
        goto out;
    if (L.messages > L.printed)
        fprintf(stderr, "... and %zu more problems\n", L.messages - L.printed);
    size_t rejected = load_settle_rejects(&L);
    if (L.max_errors_pct >= 0)
        L.max_errors = (long)(L.max_errors_pct / 100.0 * (double)(L.rows_read));
    if (rejected > 0 && (L.rejects_path != NULL || L.max_errors > 0) &&
        load_write_rejects(&L, L.rejects_path, &err) != TC_OK) {
        cli_fail("load", &err);
        goto out;
    }
    if ((long)rejected > L.max_errors) {
        cli_failf("load",
                  "%zu rows rejected, more than --max-errors %ld allows: nothing was "
                  "written",
                  rejected, L.max_errors);
        goto out;
    }
    if (dry) {
        if (load_dry_run(&L, &err) != TC_OK) {
            cli_fail("load", &err);
            goto out;
        }
        printf("dry run, nothing written: citizens %zu new, %zu updated, %zu unchanged; "
               "consents %zu new or changed, %zu unchanged; %zu rows rejected\n",
               L.new_citizens, L.updated_citizens, L.unchanged_citizens, L.new_consents,
               L.unchanged_consents, rejected);
        rc = 0;
        goto out;
    }
    if (load_check_space(&L, &err) != TC_OK || load_write(&L, &err) != TC_OK) {
        cli_fail("load", &err);
        if (L.commits > 0)
            fprintf(stderr, "tinchap load: batches committed before the failure are kept; "
                            "re-running the same load completes it\n");
        goto out;
    }
    double el = cli_now() - t0;
    size_t total = L.n_pop + L.n_consents;
    printf("loaded in %.2f s (%.0f rows/s): citizens %zu new, %zu updated, %zu unchanged; "
           "consents %zu written, %zu unchanged; %zu rows rejected\n",
           el, el > 0 ? (double)total / el : 0, L.new_citizens, L.updated_citizens,
           L.unchanged_citizens, L.new_consents, L.unchanged_consents, rejected);
    rc = 0;
out:
    load_free(&L);
    return rc;
}
