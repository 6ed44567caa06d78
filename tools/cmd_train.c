/* tinchap train — a model file (and a validation report) from a history CSV and a training
 * spec, for risk teams. The statistics live in scoring/ (tc_train and what it uses); this
 * command reads the data, runs the pipeline, writes the files and prints a summary. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "tc_file.h"
#include "tc_registry.h"
#include "tc_train.h"
#include "train_data.h"
#include "train_report.h"
#include "train_summary.h"

static const char train_help[] =
    "usage: tinchap train --spec FILE --data CSV --out MODEL [options]\n"
    "\n"
    "Build a model file in the engine's format from loan history: bin every attribute of the\n"
    "spec (fine classes by quantiles, merged to minimum sizes and the requested WoE trend),\n"
    "select by information value and correlation, fit the logistic regression (IRLS), scale\n"
    "to points, and validate on a random or out-of-time split (AUC, Gini, KS, Brier,\n"
    "Hosmer-Lemeshow, calibration, PSI). The model is loaded back by the engine before it is\n"
    "written. The spec format is in models/README.md (\"Training spec\").\n"
    "\n"
    "The CSV has a header; the spec's attributes, its target (0/1) and, if it names them, its\n"
    "weight and date (YYYY-MM-DD) columns must be there; other columns are ignored. The\n"
    "model records the file's SHA-256 as its training fingerprint. Same data, spec and\n"
    "options: the same bytes.\n"
    "\n"
    "A new model never takes the identity (name and version) of a model in service: the\n"
    "models directory is read first, and such a name and version are refused unless\n"
    "--replace says the model is being rebuilt. A new model is a challenger until promoted.\n"
    "\n"
    "options:\n"
    "  -s, --spec FILE       training spec (JSON)\n"
    "  -d, --data CSV        training data\n"
    "  -o, --out FILE        model file to write; never replaced unless --force\n"
    "  -r, --report FILE     also write the validation report (one self-contained HTML file)\n"
    "      --summary FILE    also write the figures as JSON (for scripts; '-' for stdout)\n"
    "      --table FILE      also write the scorecard table as CSV: characteristic, bin,\n"
    "                        count, event_rate, woe, iv, points, user_split\n"
    "      --name NAME       the model's name (default: the spec's model.name)\n"
    "      --version N       its version (default: the spec's model.version)\n"
    "      --status S        challenger (the spec's default), champion or retired\n"
    "      --models DIR      the models directory in service (default: the shipped one):\n"
    "                        a name and version it already holds is refused, and so is\n"
    "                        a second champion for its product\n"
    "      --replace         rebuild a model in service under its own identity\n"
    "      --kind K          scorecard or logistic (raw attributes); default: the spec's\n"
    "      --created-at T    the model's created_at (default: the spec's, else the last date\n"
    "                        in the data)\n"
    "      --catalog FILE    attribute catalog the data follows (default: $TINCHAP_CATALOG or\n"
    "                        the shipped one); the model records its hash\n"
    "      --reasons FILE    reason dictionary (default: reasons.json of the models directory)\n"
    "  -f, --force           replace existing output files\n"
    "  -q, --quiet           no summary on stdout\n"
    "  -h, --help            this text\n";

typedef struct progress_ctx {
    double started;
    int enabled;
} progress_ctx;

static void on_phase(void *arg, const char *what)
{
    progress_ctx *p = arg;
    if (p->enabled)
        fprintf(stderr, "%-10s (%.1f s)\n", what, cli_now() - p->started);
}

/* The models directory in service, loaded by the registry's own code (what tinchapd would
 * serve): with the directory's catalog.json and reasons.json when it has them. A file the
 * service would refuse stops the run, since what is in service cannot be told without it; an
 * empty directory serves nothing. */
static int load_served(const char *dir, const char *reasons, tc_catalog **cat, tc_model_set **set,
                       tc_error *err)
{
    char cpath[PATH_MAX], rpath[PATH_MAX];
    snprintf(cpath, sizeof cpath, "%s/catalog.json", dir);
    snprintf(rpath, sizeof rpath, "%s/reasons.json", dir);
    int rc = tc_catalog_load(access(cpath, F_OK) == 0 ? cpath : cli_default_catalog(), cat, err);
    if (rc == TC_OK) {
        tc_registry_options ro = {.dir = dir,
                                  .catalog = *cat,
                                  .reasons_path = access(rpath, F_OK) == 0 ? rpath : reasons,
                                  .allow_empty = 1};
        rc = tc_registry_load_set(&ro, NULL, 0, set, err);
    }
    if (rc != TC_OK)
        tc_error_prefix(err, "the models directory in service (--models)");
    return rc;
}

static const char *file_of(const tc_model_set *set, const tc_model *m)
{
    for (size_t i = 0; i < tc_model_set_count(set); i++)
        if (tc_model_set_model(set, i) == m)
            return tc_model_set_file(set, i);
    return "?";
}

/* A model is identified by name and version, so a newly trained one never takes an identity in
 * service unless told to (--replace); nor is it a second champion for its product. */
static int check_identity(const char *cmd, const char *dir, const char *reasons,
                          const tc_train_spec *s, int replace)
{
    tc_catalog *cat = NULL;
    tc_model_set *set = NULL;
    tc_error err = {0};
    int status = 0;
    if (load_served(dir, reasons, &cat, &set, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    const tc_model *same = tc_model_set_find(set, s->name, s->version);
    const tc_model *champion = tc_model_set_champion(set, s->product);
    int max_version = 0;
    for (size_t i = 0; i < tc_model_set_count(set); i++) {
        const tc_model *m = tc_model_set_model(set, i);
        if (strcmp(m->name, s->name) == 0 && m->version > max_version)
            max_version = m->version;
    }
    if (same != NULL && !replace)
        status = cli_failf(cmd,
                           "%s version %d is in service (%s/%s, %s): a new model takes a new "
                           "identity, e.g. --version %d, or --name; --replace rebuilds that "
                           "model under its own",
                           s->name, s->version, dir, file_of(set, same),
                           tc_model_status_name(same->status), max_version + 1);
    else if (s->status == TC_STATUS_CHAMPION && champion != NULL && champion != same && !replace)
        status = cli_failf(cmd,
                           "product '%s' has a champion in service (%s/%s, version %d): train "
                           "this one as a challenger and promote it with 'tinchap model promote' "
                           "once compared",
                           s->product, dir, file_of(set, champion), champion->version);
out:
    tc_model_set_free(set);
    tc_catalog_free(cat);
    return status;
}

static void print_summary(const tc_train_result *r, const char *out, double elapsed)
{
    const tc_train_spec *s = r->spec;
    printf("model      %s version %d (%s, %s) -> %s\n", s->name, s->version,
           r->kind == TC_MODEL_SCORECARD ? "scorecard" : "logistic",
           tc_model_status_name(s->status), out);
    printf("data       %zu rows: %zu development, %zu validation (%s)\n", r->data->n_rows, r->n_dev,
           r->n_val, r->split_text);
    printf("fit        %zu coefficients, %d iterations, log-likelihood %.2f, AIC %.1f\n",
           r->n_params, r->fit->iterations, r->fit->loglik, r->fit->aic);
    printf("           development AUC %.4f  Gini %.4f  KS %.4f  Brier %.5f\n", r->dev.auc,
           r->dev.gini, r->dev.ks, r->dev.brier);
    if (r->has_validation)
        printf("           validation  AUC %.4f  Gini %.4f  KS %.4f  Brier %.5f  HL p %.3g  "
               "PSI %.4f\n",
               r->val.auc, r->val.gini, r->val.ks, r->val.brier, r->val.hl_p, r->psi_score);
    printf("attributes %zu in the spec:\n", r->n_chars);
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        printf("  %-30s IV %6.4f  %-10s%s%s\n", c->attr->name, c->bin.iv,
               tc_char_status_name(c->status), c->why[0] ? "  " : "", c->why);
    }
    printf("engine     loaded the model and re-scored %zu rows identically\n", r->check_rows);
    printf("time       %.2f s (binning %.2f, selection %.2f, fit %.2f, validation %.2f)\n", elapsed,
           r->t_binning, r->t_selection, r->t_fit, r->t_validation);
}

typedef struct train_opts {
    const char *spec, *data, *out, *report, *summary, *catalog, *reasons, *table, *name, *models;
    tc_train_options to;
    int force, quiet, replace, version, status;
} train_opts;

/* 0 to run, -1 after --help, else the usage exit status. */
static int parse_opts(int argc, char **argv, const char *cmd, train_opts *o)
{
    static const struct option opts[] = {{"spec", required_argument, NULL, 's'},
                                         {"data", required_argument, NULL, 'd'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"report", required_argument, NULL, 'r'},
                                         {"summary", required_argument, NULL, 'S'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"created-at", required_argument, NULL, 'C'},
                                         {"catalog", required_argument, NULL, 'c'},
                                         {"reasons", required_argument, NULL, 'R'},
                                         {"table", required_argument, NULL, 'T'},
                                         {"name", required_argument, NULL, 'N'},
                                         {"version", required_argument, NULL, 'V'},
                                         {"status", required_argument, NULL, 'A'},
                                         {"models", required_argument, NULL, 'M'},
                                         {"replace", no_argument, NULL, 'P'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    long lv;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:d:o:r:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 's': o->spec = optarg; break;
        case 'd': o->data = optarg; break;
        case 'o': o->out = optarg; break;
        case 'r': o->report = optarg; break;
        case 'S': o->summary = optarg; break;
        case 'C': o->to.created_at = optarg; break;
        case 'c': o->catalog = optarg; break;
        case 'R': o->reasons = optarg; break;
        case 'T': o->table = optarg; break;
        case 'N': o->name = optarg; break;
        case 'M': o->models = optarg; break;
        case 'P': o->replace = 1; break;
        case 'f': o->force = 1; break;
        case 'q': o->quiet = 1; break;
        case 'k':
            if (strcmp(optarg, "scorecard") == 0)
                o->to.kind = TC_MODEL_SCORECARD;
            else if (strcmp(optarg, "logistic") == 0)
                o->to.kind = TC_MODEL_LOGISTIC;
            else
                return cli_usage(cmd, "--kind takes scorecard or logistic");
            break;
        case 'V':
            if (cli_parse_count(optarg, 1, 1000000, &lv) != 0)
                return cli_usage(cmd, "--version takes 1 to 1000000");
            o->version = (int)lv;
            break;
        case 'A':
            for (int k = TC_STATUS_CHAMPION; k <= TC_STATUS_RETIRED; k++)
                if (strcmp(optarg, tc_model_status_name((tc_model_status)k)) == 0)
                    o->status = k;
            if (o->status < 0)
                return cli_usage(cmd, "--status takes champion, challenger or retired");
            break;
        case 'h':
            fputs(train_help, stdout);
            return -1;
        default:
            return cli_usage(cmd, "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->spec == NULL || o->data == NULL || o->out == NULL)
        return cli_usage(cmd, "--spec, --data and --out are required");
    return 0;
}

/* The model file, then the table, the report and the summary, each whole or not at all. */
static int write_outputs(const char *cmd, const train_opts *o, const tc_train_result *res,
                         const char *fingerprint, const progress_ctx *pc)
{
    tc_error err = {0};
    unsigned flags = o->force ? TC_FILE_REPLACE : 0;
    char *text = NULL;
    size_t len = 0;
    int rc = tc_file_write(o->out, res->model_json, res->model_len, flags, 0644, &err);
    if (rc == TC_OK && o->table != NULL)
        rc = train_summary_table(res, o->table, flags, &err);
    if (rc == TC_OK && o->report != NULL) {
        if (pc->enabled)
            fprintf(stderr, "%-10s (%.1f s)\n", "report", cli_now() - pc->started);
        if ((rc = train_report_html(res, o->data, fingerprint, &text, &len, &err)) == TC_OK)
            rc = tc_file_write(o->report, text, len, flags, 0644, &err);
        free(text);
        text = NULL;
    }
    if (rc == TC_OK && o->summary != NULL) {
        if ((rc = train_summary_json(res, o->data, fingerprint, &text, &len, &err)) == TC_OK)
            rc = tc_file_write(o->summary, text, len, flags | TC_FILE_STDOUT, 0644, &err);
        free(text);
    }
    return rc == TC_OK ? 0 : cli_fail(cmd, &err);
}

static int run(const char *cmd, train_opts *o)
{
    double started = cli_now();
    tc_error err = {0};
    tc_catalog *cat = NULL;
    tc_reasons *reasons = NULL;
    tc_train_spec *spec = NULL;
    tc_dataset *ds = NULL;
    tc_train_result *res = NULL;
    char fingerprint[TRAIN_FINGERPRINT_LEN + 1];
    const char *reasons_path = o->reasons != NULL ? o->reasons : cli_models_file("reasons.json");
    int status = 0;
    progress_ctx pc = {.started = started,
                       .enabled = isatty(STDERR_FILENO) && getenv("TINCHAP_NO_PROGRESS") == NULL};
    if (tc_catalog_load(o->catalog != NULL ? o->catalog : cli_default_catalog(), &cat, &err) !=
            TC_OK ||
        tc_reasons_load(reasons_path, &reasons, &err) != TC_OK ||
        tc_train_spec_load(o->spec, cat, reasons, &spec, &err) != TC_OK ||
        tc_train_spec_set_identity(spec, o->name, o->version, o->status, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    int kind = o->to.kind >= 0 ? o->to.kind : (int)spec->kind;
    if (o->table != NULL && kind != TC_MODEL_SCORECARD) {
        status = cli_usage(cmd, "--table: a logistic model has no bins to tabulate (the summary "
                                "has its coefficients)");
        goto out;
    }
    if ((status = check_identity(cmd, o->models != NULL ? o->models : cli_models_dir(),
                                 reasons_path, spec, o->replace)) != 0 ||
        (o->table != NULL && (status = cli_check_out(cmd, o->table, o->force)) != 0) ||
        (o->report != NULL && (status = cli_check_out(cmd, o->report, o->force)) != 0) ||
        (o->summary != NULL && (status = cli_check_out(cmd, o->summary, o->force)) != 0) ||
        (status = cli_check_out(cmd, o->out, o->force)) != 0)
        goto out;
    const char *names[TC_TRAIN_ATTRS_MAX];
    for (size_t j = 0; j < spec->n_attrs; j++)
        names[j] = spec->attrs[j].name;
    train_data_options dopt = {.catalog = cat,
                               .attrs = names,
                               .n_attrs = spec->n_attrs,
                               .target = spec->target,
                               .weight = spec->weight,
                               .date = spec->date,
                               .progress = "reading"};
    if (train_data_load(o->data, &dopt, &ds, fingerprint, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if (pc.enabled)
        fprintf(stderr, "read %zu rows of %s (%.1f s)\n", ds->n_rows, o->data,
                cli_now() - started);
    o->to.fingerprint = fingerprint;
    o->to.reasons = reasons;
    o->to.progress = on_phase;
    o->to.progress_ctx = &pc;
    if (tc_train_run(spec, ds, &o->to, &res, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if ((status = write_outputs(cmd, o, res, fingerprint, &pc)) != 0)
        goto out;
    if (!o->quiet && (o->summary == NULL || strcmp(o->summary, "-") != 0))
        print_summary(res, o->out, cli_now() - started);
out:
    tc_train_result_free(res);
    tc_dataset_free(ds);
    tc_train_spec_free(spec);
    tc_reasons_free(reasons);
    tc_catalog_free(cat);
    return status;
}

int cmd_train(int argc, char **argv)
{
    train_opts o = {.to = {.kind = -1}, .status = -1};
    int status = parse_opts(argc, argv, "train", &o);
    if (status != 0)
        return status < 0 ? 0 : status;
    return run("train", &o);
}
