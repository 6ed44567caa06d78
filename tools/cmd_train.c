/* tinchap train — a model file (and a validation report) from a history CSV and a training
 * spec, for risk teams. The statistics live in scoring/ (tc_train and what it uses); this
 * command reads the data, runs the pipeline, writes the files and prints a summary. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
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
    "options:\n"
    "  -s, --spec FILE       training spec (JSON)\n"
    "  -d, --data CSV        training data\n"
    "  -o, --out FILE        model file to write; never replaced unless --force\n"
    "  -r, --report FILE     also write the validation report (one self-contained HTML file)\n"
    "      --summary FILE    also write the figures as JSON (for scripts; '-' for stdout)\n"
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

/* Write text to path through a temporary file and a rename, so a reader never sees half a
 * model; without force an existing file is kept. */
static int write_file(const char *cmd, const char *path, const char *text, size_t len, int force)
{
    char tmp[4096];
    if (!force && access(path, F_OK) == 0)
        return cli_failf(cmd, "%s: exists (use --force to replace it)", path);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return cli_failf(cmd, "%s: path too long", path);
    FILE *f = fopen(tmp, "wx");
    if (f == NULL)
        return cli_failf(cmd, "%s: %s", tmp, strerror(errno));
    int ok = fwrite(text, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cli_failf(cmd, "%s: %s", path, strerror(e));
    }
    return 0;
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
                                         {"force", no_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *cmd = "train", *spec_path = NULL, *data_path = NULL, *out_path = NULL;
    const char *report_path = NULL, *summary_path = NULL, *catalog_path = NULL;
    const char *reasons_path = NULL;
    tc_train_options to = {.kind = -1};
    int force = 0, quiet = 0, c;
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
    progress_ctx pc = {.started = started,
                       .enabled = isatty(STDERR_FILENO) && getenv("TINCHAP_NO_PROGRESS") == NULL};
    if (tc_catalog_load(catalog_path != NULL ? catalog_path : cli_default_catalog(), &cat, &err) !=
            TC_OK ||
        tc_reasons_load(reasons_path != NULL ? reasons_path : cli_models_file("reasons.json"),
                        &reasons, &err) != TC_OK ||
        tc_train_spec_load(spec_path, cat, reasons, &spec, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if (!force && access(out_path, F_OK) == 0) {
        status = cli_failf(cmd, "%s: exists (use --force to replace it)", out_path);
        goto out;
    }
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
    if ((status = write_file(cmd, out_path, res->model_json, res->model_len, force)) != 0)
        goto out;
    if (report_path != NULL) {
        if (pc.enabled)
            fprintf(stderr, "%-10s (%.1f s)\n", "report", cli_now() - started);
        char *html = NULL;
        size_t len = 0;
        if (train_report_html(res, data_path, fingerprint, &html, &len, &err) != TC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
        status = write_file(cmd, report_path, html, len, force);
        free(html);
        if (status != 0)
            goto out;
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
        } else {
            status = write_file(cmd, summary_path, text, len, force);
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
