/* tinchap train — a model file (and a validation report) from a history CSV and a training
 * spec, for risk teams. The statistics live in scoring/ (tc_train and what it uses); this
 * command reads the data, runs the pipeline, writes the files and prints a summary. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "csv_reader.h"
#include "tc_file.h"
#include "tc_train.h"
#include "train_data.h"
#include "train_report.h"

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

/* A model in service: a *.json file of the models directory that the registry would load. */
typedef struct served {
    char file[256];
    long version;
    char status[16];
} served;

/* What the models directory in service holds under name: the file of version (if any), the
 * highest version, and the product's champion. A model is identified by name and version, so
 * a newly trained one never takes an identity in service unless told to (--replace). */
static int scan_served(const char *dir, const tc_train_spec *s, served *same, long *max_version,
                       served *champion, tc_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return tc_errorf(err, TC_EIO, "models directory %s: %s", dir, strerror(errno));
    struct dirent *e;
    *max_version = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 ||
            strcmp(e->d_name, "catalog.json") == 0 || strcmp(e->d_name, "reasons.json") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *m = json_load_file(path, 0, NULL);
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *product = json_string_value(json_object_get(m, "product"));
        const char *status = json_string_value(json_object_get(m, "status"));
        long version = (long)json_integer_value(json_object_get(m, "version"));
        served here = {.version = version};
        snprintf(here.file, sizeof here.file, "%s", e->d_name);
        snprintf(here.status, sizeof here.status, "%s", status != NULL ? status : "?");
        if (name != NULL && strcmp(name, s->name) == 0) {
            if (version > *max_version)
                *max_version = version;
            if (version == s->version)
                *same = here;
        }
        if (product != NULL && status != NULL && strcmp(product, s->product) == 0 &&
            strcmp(status, "champion") == 0 &&
            !(name != NULL && strcmp(name, s->name) == 0 && version == s->version))
            *champion = here;
        json_decref(m);
    }
    closedir(d);
    return TC_OK;
}

static int check_identity(const char *cmd, const char *dir, const tc_train_spec *s, int replace)
{
    served same = {0}, champion = {0};
    long max_version = 0;
    tc_error err = {0};
    if (scan_served(dir, s, &same, &max_version, &champion, &err) != TC_OK)
        return cli_fail(cmd, &err);
    if (same.file[0] != '\0' && !replace)
        return cli_failf(cmd,
                         "%s version %d is in service (%s/%s, %s): a new model takes a new "
                         "identity, e.g. --version %ld, or --name; --replace rebuilds that "
                         "model under its own",
                         s->name, s->version, dir, same.file, same.status, max_version + 1);
    if (s->status == TC_STATUS_CHAMPION && champion.file[0] != '\0' && !replace)
        return cli_failf(cmd,
                         "product '%s' has a champion in service (%s/%s, version %ld): train "
                         "this one as a challenger and promote it with 'tinchap model promote' "
                         "once compared",
                         s->product, dir, champion.file, champion.version);
    return 0;
}

/* The scorecard table: one row per bin of each characteristic in the model, with the
 * development rows' count and event rate, WoE, IV and points; user_split says the bin starts at
 * one of the spec's split points. */
static int write_table(const tc_train_result *r, const char *path, int force, tc_error *err)
{
    tc_file o;
    int rc = tc_file_open(&o, path, force ? TC_FILE_REPLACE : 0, 0644, err);
    if (rc != TC_OK)
        return rc;
    fputs("characteristic,bin,count,event_rate,woe,iv,points,user_split\n", o.f);
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_train_char *c = &r->chars[j];
        if (c->model_index < 0)
            continue;
        for (size_t i = 0; i < c->bin.n_bins; i++) {
            const tc_bin_stat *b = &c->bin.bins[i];
            char text[512], n1[40], n2[40], n3[40], n4[40], n5[40];
            train_report_bin_text(c, i, text, sizeof text);
            csv_write_field(o.f, c->attr->name, strlen(c->attr->name));
            fputc(',', o.f);
            csv_write_field(o.f, text, strlen(text));
            fprintf(o.f, ",%s,%s,%s,%s,%s,%s\n", train_report_num(n1, b->n),
                    b->n > 0 ? train_report_num(n2, b->events / b->n) : "",
                    train_report_num(n3, b->woe), train_report_num(n4, b->iv),
                    r->kind == TC_MODEL_SCORECARD ? train_report_num(n5, c->points[i]) : "",
                    train_report_user_split(c, i) ? "yes" : "no");
        }
    }
    rc = tc_file_commit(&o, err);
    tc_file_discard(&o);
    return rc;
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

int cmd_train(int argc, char **argv)
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
    const char *cmd = "train", *spec_path = NULL, *data_path = NULL, *out_path = NULL;
    const char *report_path = NULL, *summary_path = NULL, *catalog_path = NULL;
    const char *reasons_path = NULL, *table_path = NULL, *name = NULL, *models_dir = NULL;
    tc_train_options to = {.kind = -1};
    int force = 0, quiet = 0, replace = 0, version = 0, status_opt = -1, c;
    long lv;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:d:o:r:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            spec_path = optarg;
            break;
        case 'd':
            data_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'r':
            report_path = optarg;
            break;
        case 'S':
            summary_path = optarg;
            break;
        case 'k':
            if (strcmp(optarg, "scorecard") == 0)
                to.kind = TC_MODEL_SCORECARD;
            else if (strcmp(optarg, "logistic") == 0)
                to.kind = TC_MODEL_LOGISTIC;
            else
                return cli_usage(cmd, "--kind takes scorecard or logistic");
            break;
        case 'C':
            to.created_at = optarg;
            break;
        case 'c':
            catalog_path = optarg;
            break;
        case 'R':
            reasons_path = optarg;
            break;
        case 'T':
            table_path = optarg;
            break;
        case 'N':
            name = optarg;
            break;
        case 'V':
            if (cli_parse_count(optarg, 1, 1000000, &lv) != 0)
                return cli_usage(cmd, "--version takes 1 to 1000000");
            version = (int)lv;
            break;
        case 'A':
            for (int k = TC_STATUS_CHAMPION; k <= TC_STATUS_RETIRED; k++)
                if (strcmp(optarg, tc_model_status_name((tc_model_status)k)) == 0)
                    status_opt = k;
            if (status_opt < 0)
                return cli_usage(cmd, "--status takes champion, challenger or retired");
            break;
        case 'M':
            models_dir = optarg;
            break;
        case 'P':
            replace = 1;
            break;
        case 'f':
            force = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(train_help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (spec_path == NULL || data_path == NULL || out_path == NULL)
        return cli_usage(cmd, "--spec, --data and --out are required");

    double started = cli_now();
    tc_error err = {0};
    tc_catalog *cat = NULL;
    tc_reasons *reasons = NULL;
    tc_train_spec *spec = NULL;
    tc_dataset *ds = NULL;
    tc_train_result *res = NULL;
    char fingerprint[TRAIN_FINGERPRINT_LEN + 1];
    int status = 0;
    unsigned wflags = force ? TC_FILE_REPLACE : 0;
    progress_ctx pc = {.started = started,
                       .enabled = isatty(STDERR_FILENO) && getenv("TINCHAP_NO_PROGRESS") == NULL};
    if (tc_catalog_load(catalog_path != NULL ? catalog_path : cli_default_catalog(), &cat, &err) !=
            TC_OK ||
        tc_reasons_load(reasons_path != NULL ? reasons_path : cli_models_file("reasons.json"),
                        &reasons, &err) != TC_OK ||
        tc_train_spec_load(spec_path, cat, reasons, &spec, &err) != TC_OK ||
        tc_train_spec_set_identity(spec, name, version, status_opt, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if ((status = check_identity(cmd, models_dir != NULL ? models_dir : cli_models_dir(), spec,
                                 replace)) != 0)
        goto out;
    if ((table_path != NULL && (status = cli_check_out(cmd, table_path, force)) != 0) ||
        (status = cli_check_out(cmd, out_path, force)) != 0)
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
    if (train_data_load(data_path, &dopt, &ds, fingerprint, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if (pc.enabled)
        fprintf(stderr, "read %zu rows of %s (%.1f s)\n", ds->n_rows, data_path,
                cli_now() - started);
    to.fingerprint = fingerprint;
    to.reasons = reasons;
    to.progress = on_phase;
    to.progress_ctx = &pc;
    if (tc_train_run(spec, ds, &to, &res, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if (tc_file_write(out_path, res->model_json, res->model_len, wflags, 0644, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if (table_path != NULL && write_table(res, table_path, force, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if (report_path != NULL) {
        if (pc.enabled)
            fprintf(stderr, "%-10s (%.1f s)\n", "report", cli_now() - started);
        char *html = NULL;
        size_t len = 0;
        if (train_report_html(res, data_path, fingerprint, &html, &len, &err) != TC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
        int wrc = tc_file_write(report_path, html, len, wflags, 0644, &err);
        free(html);
        if (wrc != TC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
    }
    if (summary_path != NULL) {
        char *text = NULL;
        size_t len = 0;
        if (train_report_json(res, data_path, fingerprint, &text, &len, &err) != TC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
        if (strcmp(summary_path, "-") == 0) {
            fwrite(text, 1, len, stdout);
        } else if (tc_file_write(summary_path, text, len, wflags, 0644, &err) != TC_OK) {
            status = cli_fail(cmd, &err);
        }
        free(text);
        if (status != 0)
            goto out;
    }
    if (!quiet && (summary_path == NULL || strcmp(summary_path, "-") != 0))
        print_summary(res, out_path, cli_now() - started);
out:
    tc_train_result_free(res);
    tc_dataset_free(ds);
    tc_train_spec_free(spec);
    tc_reasons_free(reasons);
    tc_catalog_free(cat);
    return status;
}
