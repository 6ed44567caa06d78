/* tinchap explain, tinchap model check — the scoring engine from the command line: the full
 * breakdown of one citizen's score for a data steward, and validation of a model file before it
 * is shipped (batch scoring is cmd_score.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "model_cli.h"
#include "tc_eval.h"
#include "tc_model.h"
#include "tc_reasons.h"
#include "tc_record.h"
#include "tc_registry.h"
#include "tc_time.h"

const char *fmt_num(char buf[40], double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

void loaded_model_free(loaded_model *lm)
{
    tc_model_free(lm->model);
    tc_reasons_free(lm->reasons);
    tc_catalog_free(lm->catalog);
    memset(lm, 0, sizeof *lm);
}

int load_model(const char *path, const char *catalog_path, const char *reasons_path,
                      const tc_catalog *cat, loaded_model *lm, tc_error *err)
{
    int rc;
    char reasons_default[4096];
    memset(lm, 0, sizeof *lm);
    if (cat == NULL) {
        if ((rc = tc_catalog_load(catalog_path != NULL ? catalog_path : cli_default_catalog(),
                                  &lm->catalog, err)) != TC_OK)
            return rc;
        cat = lm->catalog;
    }
    if (reasons_path == NULL) {
        snprintf(reasons_default, sizeof reasons_default, "%s", cli_models_file("reasons.json"));
        reasons_path = reasons_default;
    }
    if ((rc = tc_reasons_load(reasons_path, &lm->reasons, err)) != TC_OK ||
        (rc = tc_model_load(path, cat, lm->reasons, &lm->model, err)) != TC_OK)
        loaded_model_free(lm);
    return rc;
}

int parse_method(const char *cmd, const char *text, tc_eval_options *eo)
{
    eo->override_method = 1;
    if (strcmp(text, "max") == 0)
        eo->method = TC_REASON_MAX;
    else if (strcmp(text, "baseline") == 0)
        eo->method = TC_REASON_BASELINE;
    else
        return cli_usage(cmd, "--method takes max or baseline");
    return 0;
}

int eval_fail(const char *cmd, int rc, const char *what)
{
    if (rc == TC_EINVAL)
        return cli_failf(cmd, "%s: the model cannot use these options (--method baseline needs "
                              "a baseline for every characteristic)",
                         what);
    return cli_failf(cmd, "%s: %s", what, tc_strerror(rc));
}

/* ---- tinchap explain ---- */

static const char explain_help[] =
    "usage: tinchap explain --model FILE --db DIR [--key FILE] ID\n"
    "\n"
    "Print the full breakdown of one citizen's score as JSON, for a data steward answering\n"
    "the citizen: the points of every characteristic (with the bin and the points it lost),\n"
    "the score, the PD with its 95 % interval, the grade and the reasons. The citizen ID is\n"
    "read from the command line and never printed.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE     model file\n"
    "  -d, --db DIR         database directory\n"
    "  -k, --key FILE       secret key (default: $TINCHAP_KEY)\n"
    "      --reasons-count N  reasons, 1 to 8 (default: the model's)\n"
    "      --method M       reasons below each characteristic's max (default) or baseline\n"
    "      --catalog FILE   attribute catalog (default: $TINCHAP_CATALOG or the shipped one)\n"
    "      --reasons FILE   reason dictionary (default: reasons.json of the models directory)\n"
    "  -h, --help           this text\n";

static json_t *jnum(double v)
{
    return json_real(v);
}

/* Text of bin i, as a reviewer wrote it: its label, or its interval, levels or values. */
static void bin_text(const tc_characteristic *ch, size_t i, char *buf, size_t size)
{
    const tc_bin *b = &ch->bins[i];
    char b1[40], b2[40];
    size_t o = 0;
    switch (b->kind) {
    case TC_BIN_MISSING:
        snprintf(buf, size, "missing");
        return;
    case TC_BIN_INTERVAL:
        snprintf(buf, size, "[%s, %s)", isinf(b->lower) ? "-inf" : fmt_num(b1, b->lower),
                 isinf(b->upper) ? "+inf" : fmt_num(b2, b->upper));
        return;
    case TC_BIN_SPECIAL:
    case TC_BIN_LEVELS:
        buf[0] = '\0';
        for (size_t k = 0; k < b->n_values && o + 1 < size; k++) {
            const char *t = b->kind == TC_BIN_SPECIAL ? fmt_num(b1, b->values[k])
                            : ch->attr->type == TC_ATTR_BOOL
                                ? (b->values[k] != 0 ? "true" : "false")
                                : ch->attr->levels[(size_t)b->values[k]];
            int n = snprintf(buf + o, size - o, "%s%s", k ? ", " : "", t);
            if (n < 0)
                break;
            o += (size_t)n;
        }
        return;
    }
}

static json_t *explain_json(const tc_model *m, const tc_record *rec, const tc_score_result *r,
                            const tc_eval_options *eo)
{
    tc_reason_method method = eo->override_method ? eo->method : m->reason_method;
    json_t *chars = json_array(), *reasons = json_array();
    for (size_t j = 0; j < r->n_chars; j++) {
        const tc_characteristic *ch = &m->chars[j];
        char value[128], bin[512];
        tc_attr_format(ch->attr, tc_record_get(rec, ch->attr_index), value, sizeof value);
        double ref = method == TC_REASON_BASELINE ? ch->baseline : ch->max_points;
        double lost = ref - r->points[j];
        json_t *o = json_pack("{s:s, s:s?, s:o, s:o, s:o, s:s}", "attribute", ch->attribute,
                              "value", tc_record_get(rec, ch->attr_index).present ? value : NULL,
                              "points", jnum(r->points[j]), "max_points", jnum(ch->max_points),
                              "points_lost", jnum(lost > 0 ? lost : 0), "reason_code",
                              m->reasons[ch->reason].code);
        if (ch->has_baseline)
            json_object_set_new(o, "baseline", jnum(ch->baseline));
        if (r->bin[j] >= 0) {
            bin_text(ch, (size_t)r->bin[j], bin, sizeof bin);
            json_object_set_new(o, "bin", json_integer(r->bin[j]));
            json_object_set_new(o, "bin_range", json_string(bin));
            if (ch->bins[r->bin[j]].label[0] != '\0')
                json_object_set_new(o, "bin_label", json_string(ch->bins[r->bin[j]].label));
            json_object_set_new(o, "woe", jnum(ch->bins[r->bin[j]].woe));
        }
        json_array_append_new(chars, o);
    }
    for (size_t i = 0; i < r->n_reasons; i++)
        json_array_append_new(reasons,
                              json_pack("{s:s, s:s, s:s, s:o}", "code", r->reasons[i].code, "vi",
                                        r->reasons[i].vi, "en", r->reasons[i].en, "points_lost",
                                        jnum(r->reasons[i].points_lost)));
    char updated[TC_TIME_TEXT_LEN];
    tc_time_format(tc_record_updated_at(rec), updated);
    return json_pack("{s:{s:s, s:i, s:s, s:s, s:s}, s:s, s:o, s:o, s:o, s:[o, o], s:o, s:o, "
                     "s:{s:s, s:s, s:s}, s:s, s:o, s:o}",
                     "model", "name", m->name, "version", m->version, "kind",
                     tc_model_kind_name(m->kind), "product", m->product, "status",
                     tc_model_status_name(m->status), "record_updated_at", updated, "score",
                     jnum(r->score), "score_raw", jnum(r->score_raw), "pd", jnum(r->pd),
                     "pd_interval_95", jnum(r->pd_low), jnum(r->pd_high), "eta", jnum(r->eta),
                     "eta_se", jnum(r->eta_se), "grade", "grade", r->grade->letter, "vi",
                     r->grade->vi, "en", r->grade->en, "reason_method",
                     tc_reason_method_name(method), "reasons", reasons, "characteristics",
                     chars);
}

int cmd_explain(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"reasons-count", required_argument, NULL, 'n'},
                                         {"method", required_argument, NULL, 'M'},
                                         {"catalog", required_argument, NULL, 'c'},
                                         {"reasons", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *cmd = "explain", *model = NULL, *reasons = NULL;
    cli_db_options dbo = {.read_only = 1, .need_key = 1};
    tc_eval_options eo = {0};
    int c, status = 0;
    long count;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:d:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'd':
            dbo.db = optarg;
            break;
        case 'k':
            dbo.key = optarg;
            break;
        case 'n':
            if (cli_parse_count(optarg, 1, TC_REASONS_OUT_MAX, &count) != 0)
                return cli_usage(cmd, "--reasons-count takes 1 to %d", TC_REASONS_OUT_MAX);
            eo.max_reasons = (int)count;
            break;
        case 'M':
            if ((status = parse_method(cmd, optarg, &eo)) != 0)
                return status;
            break;
        case 'c':
            dbo.catalog = optarg;
            break;
        case 'r':
            reasons = optarg;
            break;
        case 'h':
            fputs(explain_help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option");
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "expected one citizen ID");
    if (model == NULL || dbo.db == NULL)
        return cli_usage(cmd, "--model and --db are required");

    tc_error err = {0};
    cli_db db;
    loaded_model lm;
    tc_reader *reader = NULL;
    tc_eval_workspace *ws = NULL;
    unsigned char key[TC_CITIZEN_KEY_LEN];
    int begun = 0;
    memset(&lm, 0, sizeof lm);
    if (cli_db_open(&dbo, &db, &err) != TC_OK)
        return cli_fail(cmd, &err);
    if (load_model(model, NULL, reasons, db.catalog, &lm, &err) != TC_OK ||
        cli_citizen_key(&db, argv[optind], key, &err) != TC_OK ||
        tc_eval_workspace_new(&ws, &err) != TC_OK ||
        tc_reader_new(db.store, &reader, &err) != TC_OK ||
        tc_reader_begin(reader, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    begun = 1;
    tc_record rec;
    int rc = tc_reader_citizen(reader, key, &rec, &err);
    if (rc == TC_ENOTFOUND) {
        status = cli_failf(cmd, "no such citizen in %s", dbo.db);
        goto out;
    }
    if (rc != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    tc_score_result res;
    if ((rc = tc_model_eval(lm.model, &rec, &eo, ws, &res)) != TC_OK) {
        status = eval_fail(cmd, rc, "the citizen's record");
        goto out;
    }
    json_t *doc = explain_json(lm.model, &rec, &res, &eo);
    if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        status = cli_failf(cmd, "writing the JSON failed");
    } else {
        fputc('\n', stdout);
    }
    json_decref(doc);
out:
    if (begun)
        tc_reader_end(reader);
    tc_reader_free(reader);
    tc_eval_workspace_free(ws);
    loaded_model_free(&lm);
    cli_db_close(&db);
    return status;
}

/* ---- tinchap model check ---- */

static const char model_help[] =
    "usage: tinchap model check [--catalog FILE] [--reasons FILE] FILE...\n"
    "       tinchap model check [--catalog FILE] [--reasons FILE] --dir DIR\n"
    "       tinchap model promote | retire ...   (tinchap model promote --help)\n"
    "\n"
    "Validate model files as the server would load them, against the catalog and the reason\n"
    "dictionary, and print a summary of each: identity, scaling, the score range the model\n"
    "can reach with the PD at each end, characteristics with their bins and points, reason\n"
    "codes, grades and the model card. Exits 1 if any file is refused, with the reason naming\n"
    "the JSON field. The format is documented in models/README.md.\n"
    "\n"
    "With --dir, the whole models directory is loaded by the service's own code (the load\n"
    "tinchapd does at start and on reload): every model file, then the set's rules (name and\n"
    "version unique, one champion per product, challengers only beside a champion), with\n"
    "DIR/reasons.json unless --reasons. Exit 0 means tinchapd would serve that directory.\n"
    "\n"
    "options:\n"
    "      --catalog FILE   attribute catalog (default: $TINCHAP_CATALOG or the shipped one)\n"
    "      --reasons FILE   reason dictionary (default: reasons.json of the models directory)\n"
    "      --dir DIR        check a whole models directory as the service loads it\n"
    "  -q, --quiet          print only the refusals\n"
    "  -h, --help           this text\n";

static double pd_of_score(const tc_model *m, double score)
{
    return 1.0 / (1.0 + exp((score - m->offset) / m->factor));
}

/* The card's headline figures, as a model-risk reviewer would quote them. */
static void model_card_summary(const tc_model *m)
{
    json_t *card = m->model_card != NULL ? json_loads(m->model_card, 0, NULL) : NULL;
    json_t *val = json_object_get(card, "validation");
    json_t *fig = json_object_get(val, "validation");
    if (fig == NULL)
        fig = json_object_get(val, "development");
    if (card == NULL)
        printf("  model card       none\n");
    else if (fig == NULL)
        printf("  model card       intended use and training data; no validation figures\n");
    else
        printf("  model card       %s rows: AUC %g, Gini %g, KS %g, Brier %g (%s, %s)\n",
               json_object_get(val, "validation") != NULL ? "validation" : "development",
               json_number_value(json_object_get(fig, "auc")),
               json_number_value(json_object_get(fig, "gini")),
               json_number_value(json_object_get(fig, "ks")),
               json_number_value(json_object_get(fig, "brier")),
               json_string_value(json_object_get(val, "method")),
               json_string_value(json_object_get(val, "date")));
    json_decref(card);
}

static void model_summary(const tc_model *m)
{
    char b1[40], b2[40], b3[40];
    size_t n_bins = 0;
    for (size_t j = 0; j < m->n_chars; j++)
        n_bins += m->chars[j].n_bins;
    printf("%s: ok\n", m->path);
    printf("  model            %s version %d (%s, %s)\n", m->name, m->version,
           tc_model_kind_name(m->kind), tc_model_status_name(m->status));
    printf("  product          %s\n", m->product);
    printf("  created          %s; training data %s\n", m->created_at, m->training_fingerprint);
    model_card_summary(m);
    printf("  catalog          %s %s\n", m->catalog->name, m->catalog->hash_hex);
    printf("  scaling          %s points at %s:1 good:bad, PDO %s (factor %.4f, offset %.4f)\n",
           fmt_num(b1, m->scale_points), fmt_num(b2, m->scale_odds), fmt_num(b3, m->scale_pdo),
           m->factor, m->offset);
    printf("  score bounds     [%s, %s]\n", fmt_num(b1, m->score_min), fmt_num(b2, m->score_max));
    printf("  points reachable [%.2f, %.2f]: PD %.4g%% at the lowest, %.4g%% at the highest\n",
           m->points_min, m->points_max, 100 * pd_of_score(m, m->points_min),
           100 * pd_of_score(m, m->points_max));
    printf("  coefficients     %zu (intercept %.6g), covariance %zux%zu positive definite\n",
           m->n_params, m->intercept, m->n_params, m->n_params);
    printf("  reasons          method %s, at most %d; codes in tie-break order:",
           tc_reason_method_name(m->reason_method), m->max_reasons);
    for (size_t g = 0; g < m->n_reasons; g++)
        printf(" %s", m->reasons[g].code);
    printf("\n  grades          ");
    for (size_t g = 0; g < m->n_grades; g++)
        printf(" %s>=%s (PD<=%.3g%%)", m->grades[g].letter, fmt_num(b1, m->grades[g].min_score),
               100 * pd_of_score(m, m->grades[g].min_score));
    printf("\n  characteristics  %zu", m->n_chars);
    if (m->kind == TC_MODEL_SCORECARD)
        printf(", %zu bins", n_bins);
    printf("\n");
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *ch = &m->chars[j];
        printf("    %-30s %-6s points %7.2f .. %-7.2f", ch->attribute, m->reasons[ch->reason].code,
               ch->min_points, ch->max_points);
        if (m->kind == TC_MODEL_SCORECARD)
            printf(" %zu bins%s", ch->n_bins, ch->missing == TC_MISSING_BIN ? " (one missing)" : "");
        else
            printf(" %s%s", ch->transform == TC_TRANSFORM_IDENTITY    ? "identity"
                            : ch->transform == TC_TRANSFORM_LOG1P     ? "log1p"
                            : ch->transform == TC_TRANSFORM_CLIP      ? "clip"
                                                                      : "indicator",
                   ch->missing == TC_MISSING_IMPUTE      ? ", missing imputed"
                   : ch->missing == TC_MISSING_INDICATOR ? ", missing indicator"
                                                         : "");
        printf("\n");
    }
}

int cmd_model(int argc, char **argv)
{
    static const struct option opts[] = {{"catalog", required_argument, NULL, 'c'},
                                         {"reasons", required_argument, NULL, 'r'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *cmd = "model", *catalog = NULL, *reasons = NULL, *dir = NULL;
    int c, quiet = 0;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(model_help, stdout);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "promote") == 0 || strcmp(argv[1], "retire") == 0))
        return cmd_model_governance(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "check") != 0)
        return cli_usage(cmd, "expected 'model check FILE...', 'model promote' or 'model retire'");
    cmd = "model check";
    argc--, argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            catalog = optarg;
            break;
        case 'r':
            reasons = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(model_help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option");
        }
    }
    if (dir != NULL && optind < argc)
        return cli_usage(cmd, "give model FILEs or --dir DIR, not both");
    if (dir == NULL && optind >= argc)
        return cli_usage(cmd, "expected at least one model FILE, or --dir DIR");
    tc_error err = {0};
    tc_catalog *cat = NULL;
    int status = 0;
    if (tc_catalog_load(catalog != NULL ? catalog : cli_default_catalog(), &cat, &err) != TC_OK)
        return cli_fail(cmd, &err);
    if (dir != NULL) {
        tc_registry_options ro = {.dir = dir, .catalog = cat, .reasons_path = reasons};
        tc_model_set *set = NULL;
        if (tc_registry_load_set(&ro, NULL, 0, &set, &err) != TC_OK) {
            status = cli_fail(cmd, &err);
        } else {
            for (size_t i = 0; !quiet && i < tc_model_set_count(set); i++)
                model_summary(tc_model_set_model(set, i));
            printf("%s: %zu models, as tinchapd would serve them:\n", dir,
                   tc_model_set_count(set));
            for (size_t i = 0; i < tc_model_set_count(set); i++) {
                const tc_model *m = tc_model_set_model(set, i);
                printf("  %-10s %s version %d (%s) of %s\n", tc_model_status_name(m->status),
                       m->name, m->version, tc_model_set_file(set, i), m->product);
            }
        }
        tc_model_set_free(set);
        tc_catalog_free(cat);
        return status;
    }
    for (int i = optind; i < argc; i++) {
        loaded_model lm;
        if (load_model(argv[i], NULL, reasons, cat, &lm, &err) != TC_OK) {
            status = cli_fail(cmd, &err);
            continue;
        }
        if (!quiet)
            model_summary(lm.model);
        loaded_model_free(&lm);
    }
    tc_catalog_free(cat);
    return status;
}
