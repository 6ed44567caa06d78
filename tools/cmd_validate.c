/* tinchap validate — has the population a model scores drifted from the one it was built on?
 * PSI of the score and CSI of every characteristic between a baseline and a current CSV, with
 * the usual bands, and an exit status a scheduled job can gate on. Also a fairness check for
 * the risk team: score and approval rates by gender and by province (attributes the model does
 * not use), with the adverse-impact ratio of the four-fifths rule — information, not a verdict.
 *
 * Rows are scored by the engine exactly as the server would (tc_attr_parse, a citizen record,
 * tc_model_eval), so the distributions are those of the served scores.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "csv_reader.h"
#include "tc_eval.h"
#include "tc_perf.h"
#include "tc_model.h"
#include "tc_record.h"
#include "train_data.h"

#define VALIDATE_EXIT_DRIFT 3
#define FAIRNESS_MAX 8
#define FOUR_FIFTHS 0.8 /* US EEOC Uniform Guidelines, 29 CFR 1607.4(D): the four-fifths rule */
#define MIN_GROUP_DEFAULT 100

static const char validate_help[] =
    "usage: tinchap validate --model FILE --baseline CSV --current CSV [options]\n"
    "\n"
    "Compare the distributions a model sees between a baseline (usually its development\n"
    "data) and a current sample: the PSI of the score (ten bins at the baseline's deciles)\n"
    "and the CSI of every characteristic (its bins; deciles of its points for a logistic\n"
    "model). Bands: below 0.1 stable, 0.1 to 0.25 watch, above 0.25 act.\n"
    "\n"
    "Fairness (information for the risk team, not an automatic verdict): on the current\n"
    "sample, the mean score, the approval rate (score at or above the cut-off) and, when the\n"
    "target column is there, the observed default rate per group of each --fairness\n"
    "attribute, with the adverse-impact ratio: a group's approval rate over the highest\n"
    "group's; below 0.8 (the four-fifths rule) is flagged. Groups with fewer rows than\n"
    "--min-group are listed but not rated.\n"
    "\n"
    "Exit status: 0 when nothing is past 0.25, 3 when the score or any characteristic is\n"
    "(so it can gate a job), 1 on an error, 2 on bad usage.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE      model file\n"
    "  -b, --baseline CSV    baseline rows (the model's attributes, by column name)\n"
    "  -c, --current CSV     current rows\n"
    "  -j, --json FILE       also write the results as JSON ('-': stdout, instead of text)\n"
    "      --cutoff SCORE    approval cut-off (default: the lowest score of the model's\n"
    "                        second-worst grade: every grade but the worst is approved)\n"
    "      --fairness ATTR   a category or bool attribute to compare groups by (repeatable;\n"
    "                        default: gender and province_code when the current file has them)\n"
    "      --target NAME     outcome column for default rates (default: default_12m if there)\n"
    "      --min-group N     smallest group rated (default 100)\n"
    "      --catalog FILE    attribute catalog (default: $TINCHAP_CATALOG or the shipped one)\n"
    "      --reasons FILE    reason dictionary (default: reasons.json of the models directory)\n"
    "  -h, --help            this text\n";

/* One file, scored. */
typedef struct sample {
    const char *path;
    tc_dataset *ds;
    double *score; /* per row */
    double *stat;  /* per row and characteristic (row-major): bin index or points */
} sample;

static void sample_free(sample *s)
{
    tc_dataset_free(s->ds);
    free(s->score);
    free(s->stat);
}

/* Does the CSV's header have column name? */
static int has_column(const char *path, const char *name, int *found, tc_error *err)
{
    csv_reader *in = NULL;
    csv_row row;
    int rc = csv_reader_open(path, &in, err);
    *found = 0;
    if (rc != TC_OK)
        return rc;
    if ((rc = csv_reader_next(in, &row, err)) > 0) {
        for (size_t c = 0; c < row.n; c++)
            *found |= strcmp(row.fields[c], name) == 0;
        rc = TC_OK;
    } else if (rc == 0) {
        rc = tc_errorf(err, TC_EPARSE, "%s: empty file, expected a header row", path);
    }
    csv_reader_close(in);
    return rc;
}

static int score_sample(const tc_model *m, const char *const *names, size_t n_names,
                        const char *target, sample *s, tc_error *err)
{
    const tc_catalog *cat = m->catalog;
    train_data_options o = {.catalog = cat,
                            .attrs = names,
                            .n_attrs = n_names,
                            .target = target,
                            .target_optional = 1,
                            .progress = "reading"};
    int rc = train_data_load(s->path, &o, &s->ds, NULL, err);
    if (rc != TC_OK)
        return rc;
    size_t n = s->ds->n_rows, k = m->n_chars;
    if (n == 0)
        return tc_errorf(err, TC_EPARSE, "%s: no rows", s->path);
    s->score = malloc(n * sizeof *s->score);
    s->stat = malloc(n * k * sizeof *s->stat);
    tc_value *values = calloc(cat->n_attrs, sizeof *values);
    unsigned char *buf = malloc(tc_record_size(cat));
    tc_eval_workspace *ws = NULL;
    if (s->score == NULL || s->stat == NULL || values == NULL || buf == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = tc_eval_workspace_new(&ws, err)) != TC_OK)
        goto out;
    tc_eval_options eo = {.no_interval = 1};
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < s->ds->n_cols; j++) {
            const tc_dataset_col *col = &s->ds->cols[j];
            values[col->attr_index] = (tc_value){col->v[i], !col->missing[i]};
        }
        tc_record rec;
        size_t len = tc_record_encode(cat, values, 0, buf);
        tc_score_result res;
        if ((rc = tc_record_view(cat, buf, len, &rec, err)) != TC_OK)
            goto out;
        if ((rc = tc_model_eval(m, &rec, &eo, ws, &res)) != TC_OK) {
            rc = tc_errorf(err, rc, "%s:%ld: the model cannot score this row (%s)", s->path,
                           s->ds->line[i], tc_strerror(rc));
            goto out;
        }
        s->score[i] = res.score;
        for (size_t j = 0; j < k; j++)
            s->stat[i * k + j] = m->kind == TC_MODEL_SCORECARD ? res.bin[j] : res.points[j];
    }
out:
    tc_eval_workspace_free(ws);
    free(buf);
    free(values);
    return rc;
}

/* PSI of one column of values between the samples: over given bins (n_bins > 0, values are bin
 * indices) or over deciles of the baseline (n_bins == 0). */
static double drift(const sample *b, const sample *c, size_t stride, size_t off, size_t n_bins,
                    const double *bv, const double *cv, size_t *bins_used, double *cuts,
                    tc_error *err)
{
    double eb[TC_PSI_BINS_MAX] = {0}, ec[TC_PSI_BINS_MAX] = {0};
    size_t nb = b->ds->n_rows, nc = c->ds->n_rows, n_cuts = 0;
    int deciles = n_bins == 0;
    if (deciles) {
        double *tmp = malloc(nb * sizeof *tmp);
        if (tmp == NULL)
            return NAN;
        for (size_t i = 0; i < nb; i++)
            tmp[i] = bv[i * stride + off];
        n_cuts = tc_psi_cuts(tmp, nb, 10, cuts, err);
        free(tmp);
        n_bins = n_cuts + 1;
    }
    for (size_t i = 0; i < nb; i++) {
        double v = bv[i * stride + off];
        eb[deciles ? tc_psi_bin(cuts, n_cuts, v) : (size_t)v] += tc_dataset_weight(b->ds, i);
    }
    for (size_t i = 0; i < nc; i++) {
        double v = cv[i * stride + off];
        ec[deciles ? tc_psi_bin(cuts, n_cuts, v) : (size_t)v] += tc_dataset_weight(c->ds, i);
    }
    *bins_used = n_bins;
    return tc_psi(eb, ec, n_bins);
}

typedef struct group_stat {
    double n, approved, score_sum, events;
} group_stat;

static const char *band_of(double v)
{
    return tc_psi_band(v);
}

static json_t *fairness(const tc_model *m, const sample *cur, const char *attr_name, double cutoff,
                        long min_group, int text, tc_error *err)
{
    int col = tc_dataset_find(cur->ds, attr_name);
    const tc_attr *a = cur->ds->cols[col].attr;
    size_t n_levels = a->type == TC_ATTR_BOOL ? 2 : a->n_levels;
    group_stat *g = calloc(n_levels + 1, sizeof *g); /* last: missing */
    if (g == NULL) {
        tc_errorf(err, TC_ENOMEM, "out of memory");
        return NULL;
    }
    const tc_dataset *ds = cur->ds;
    int has_y = ds->y != NULL;
    for (size_t i = 0; i < ds->n_rows; i++) {
        size_t l = ds->cols[col].missing[i] ? n_levels : (size_t)ds->cols[col].v[i];
        double w = tc_dataset_weight(ds, i);
        g[l].n += w;
        g[l].approved += w * (cur->score[i] >= cutoff);
        g[l].score_sum += w * cur->score[i];
        if (has_y)
            g[l].events += w * ds->y[i];
    }
    double best = 0;
    for (size_t l = 0; l <= n_levels; l++)
        if (g[l].n >= (double)min_group && g[l].n > 0)
            best = fmax(best, g[l].approved / g[l].n);
    json_t *groups = json_array();
    if (text)
        printf("\n  %s\n    %-12s %9s %10s %9s %8s %s\n", attr_name, "group", "rows", "mean score",
               "approved", "AIR", has_y ? " default rate" : "");
    for (size_t l = 0; l <= n_levels; l++) {
        if (!(g[l].n > 0))
            continue;
        const char *name = l == n_levels             ? "(missing)"
                           : a->type == TC_ATTR_BOOL ? (l ? "true" : "false")
                                                     : a->levels[l];
        int rated = g[l].n >= (double)min_group && best > 0;
        double rate = g[l].approved / g[l].n, air = rated ? rate / best : NAN;
        json_t *o =
            json_pack("{s:s, s:f, s:f, s:f, s:b}", "group", name, "rows", g[l].n, "mean_score",
                      g[l].score_sum / g[l].n, "approval_rate", rate, "rated", rated);
        json_object_set_new(o, "adverse_impact_ratio", rated ? json_real(air) : json_null());
        json_object_set_new(o, "below_four_fifths", json_boolean(rated && air < FOUR_FIFTHS));
        json_object_set_new(o, "default_rate",
                            has_y ? json_real(g[l].events / g[l].n) : json_null());
        json_array_append_new(groups, o);
        if (text) {
            printf("    %-12s %9.0f %10.1f %8.2f%% ", name, g[l].n, g[l].score_sum / g[l].n,
                   100 * rate);
            if (rated)
                printf("%8.3f", air);
            else
                printf("%8s", "(small)");
            if (has_y)
                printf("  %11.2f%%", 100 * g[l].events / g[l].n);
            if (rated && air < FOUR_FIFTHS)
                printf("  below four-fifths");
            printf("\n");
        }
    }
    free(g);
    (void)m;
    return json_pack("{s:s, s:o}", "attribute", attr_name, "groups", groups);
}

typedef struct validate_opts {
    const char *model_path, *json_path, *target, *catalog_path, *reasons_path;
    const char *base_path, *cur_path;
    const char *fair[FAIRNESS_MAX];
    size_t n_fair;
    int fair_given, has_cutoff;
    double cutoff;
    long min_group;
} validate_opts;

static const char *const cmd = "validate";

/* -1: go on; otherwise the exit status (help printed, or bad usage). */
static int parse_opts(int argc, char **argv, validate_opts *o)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"baseline", required_argument, NULL, 'b'},
        {"current", required_argument, NULL, 'c'}, {"json", required_argument, NULL, 'j'},
        {"cutoff", required_argument, NULL, 'C'},  {"fairness", required_argument, NULL, 'F'},
        {"target", required_argument, NULL, 'T'},  {"min-group", required_argument, NULL, 'G'},
        {"catalog", required_argument, NULL, 'K'}, {"reasons", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},          {0, 0, 0, 0}};
    int c;
    memset(o, 0, sizeof *o);
    o->min_group = MIN_GROUP_DEFAULT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:b:c:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model_path = optarg; break;
        case 'b': o->base_path = optarg; break;
        case 'c': o->cur_path = optarg; break;
        case 'j': o->json_path = optarg; break;
        case 'C': {
            char *end = NULL;
            o->cutoff = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !isfinite(o->cutoff))
                return cli_usage(cmd, "--cutoff takes a score");
            o->has_cutoff = 1;
            break;
        }
        case 'F':
            if (o->n_fair == FAIRNESS_MAX)
                return cli_usage(cmd, "at most %d --fairness attributes", FAIRNESS_MAX);
            o->fair[o->n_fair++] = optarg;
            o->fair_given = 1;
            break;
        case 'T': o->target = optarg; break;
        case 'G':
            if (cli_parse_count(optarg, 1, 1000000000, &o->min_group) != 0)
                return cli_usage(cmd, "--min-group takes a positive count");
            break;
        case 'K': o->catalog_path = optarg; break;
        case 'R': o->reasons_path = optarg; break;
        case 'h':
            fputs(validate_help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->model_path == NULL || o->base_path == NULL || o->cur_path == NULL)
        return cli_usage(cmd, "--model, --baseline and --current are required");
    return -1;
}

/* The fairness attributes (given, or gender and province_code when the current file has them)
 * and the target column (given, or default_12m when it is there). 0, or the exit status. */
static int groups_and_target(validate_opts *o, const tc_catalog *cat, tc_error *err)
{
    if (!o->fair_given) {
        static const char *const defaults[] = {"gender", "province_code"};
        for (size_t i = 0; i < 2; i++) {
            int found = 0;
            if (tc_catalog_find(cat, defaults[i]) < 0)
                continue;
            if (has_column(o->cur_path, defaults[i], &found, err) != TC_OK)
                return cli_fail(cmd, err);
            if (found)
                o->fair[o->n_fair++] = defaults[i];
        }
    }
    for (size_t f = 0; f < o->n_fair; f++) {
        int i = tc_catalog_find(cat, o->fair[f]);
        if (i < 0)
            return cli_usage(cmd, "--fairness: '%s' is not an attribute of catalog '%s'",
                             o->fair[f], cat->name);
        if (cat->attrs[i].type != TC_ATTR_CATEGORY && cat->attrs[i].type != TC_ATTR_BOOL)
            return cli_usage(cmd, "--fairness: '%s' is %s %s; groups need a category or a bool",
                             o->fair[f], cat->attrs[i].type == TC_ATTR_INT ? "an" : "a",
                             tc_attr_type_name(cat->attrs[i].type));
    }
    if (o->target == NULL) {
        int found = 0;
        if (has_column(o->cur_path, "default_12m", &found, err) != TC_OK)
            return cli_fail(cmd, err);
        o->target = found ? "default_12m" : NULL;
    }
    return 0;
}

/* Drift of the score and of every characteristic, fairness by group; printed and/or written
 * as JSON. The exit status. */
static int report(validate_opts *o, const tc_model *m, sample *base, sample *cur, tc_error *err)
{
    int status = 0, text = o->json_path == NULL || strcmp(o->json_path, "-") != 0;
    double cutoff = o->has_cutoff ? o->cutoff
                    : m->n_grades >= 2 ? m->grades[m->n_grades - 2].min_score
                                       : m->score_min;
    size_t bins_used = 0, score_bins = 0; /* set by drift(); gcc -O2 cannot tell */
    double cuts[TC_PSI_BINS_MAX];
    double psi = drift(base, cur, 1, 0, 0, base->score, cur->score, &score_bins, cuts, err);
    int act = psi > TC_PSI_ACT, watch = psi >= TC_PSI_WATCH;
    json_t *chars = json_array();
    if (text) {
        printf("model     %s version %d (%s)\n", m->name, m->version, tc_model_kind_name(m->kind));
        printf("baseline  %s: %zu rows\ncurrent   %s: %zu rows\n", base->path, base->ds->n_rows,
               cur->path, cur->ds->n_rows);
        printf("\npopulation stability (below 0.1 stable, 0.1-0.25 watch, above 0.25 act)\n");
        printf("  %-32s PSI %7.4f  %s\n", "score", psi, band_of(psi));
    }
    for (size_t j = 0; j < m->n_chars; j++) {
        double ccuts[TC_PSI_BINS_MAX];
        size_t nb = m->kind == TC_MODEL_SCORECARD ? m->chars[j].n_bins : 0;
        double csi =
            drift(base, cur, m->n_chars, j, nb, base->stat, cur->stat, &bins_used, ccuts, err);
        act |= csi > TC_PSI_ACT;
        watch |= csi >= TC_PSI_WATCH;
        json_array_append_new(chars, json_pack("{s:s, s:f, s:s, s:I}", "attribute",
                                               m->chars[j].attribute, "csi", csi, "band",
                                               band_of(csi), "bins", (json_int_t)bins_used));
        if (text)
            printf("  %-32s CSI %7.4f  %s\n", m->chars[j].attribute, csi, band_of(csi));
    }
    const char *verdict = act ? "act" : watch ? "watch" : "stable";
    json_t *fair_arr = json_array();
    if (text && o->n_fair > 0) {
        printf("\nfairness on the current rows: information for the risk team, not a verdict\n");
        printf("  approval: score >= %g; AIR = a group's approval rate over the highest rated "
               "group's (four-fifths rule: below 0.8 flagged); groups under %ld rows not rated\n",
               cutoff, o->min_group);
    }
    for (size_t f = 0; f < o->n_fair; f++) {
        json_t *g = fairness(m, cur, o->fair[f], cutoff, o->min_group, text, err);
        if (g == NULL) {
            json_decref(chars);
            json_decref(fair_arr);
            return cli_fail(cmd, err);
        }
        json_array_append_new(fair_arr, g);
    }
    if (text)
        printf("\ndrift: %s%s\n", verdict, act ? " (exit status 3)" : "");
    status = act ? VALIDATE_EXIT_DRIFT : 0;
    json_t *doc = json_pack(
        "{s:{s:s, s:i, s:s}, s:{s:s, s:I}, s:{s:s, s:I}, s:{s:f, s:f}, "
        "s:{s:f, s:s, s:I}, s:o, s:{s:f, s:s, s:s, s:I, s:o}, s:s, s:i}",
        "model", "name", m->name, "version", m->version, "kind", tc_model_kind_name(m->kind),
        "baseline", "file", base->path, "rows", (json_int_t)base->ds->n_rows, "current", "file",
        cur->path, "rows", (json_int_t)cur->ds->n_rows, "bands", "watch", TC_PSI_WATCH, "act",
        TC_PSI_ACT, "score", "psi", psi, "band", band_of(psi), "bins", (json_int_t)score_bins,
        "characteristics", chars, "fairness", "cutoff", cutoff, "note",
        "information for the risk team, not an automatic verdict: approval rates "
        "by group with the adverse-impact ratio (four-fifths rule)",
        "target", o->target != NULL ? o->target : "", "min_group", (json_int_t)o->min_group, "by",
        fair_arr, "status", verdict, "exit", status);
    if (o->json_path != NULL) {
        int bad = doc == NULL;
        if (!bad) {
            if (strcmp(o->json_path, "-") == 0)
                bad = json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0 ||
                      fputc('\n', stdout) == EOF;
            else
                bad = json_dump_file(doc, o->json_path,
                                     JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0;
        }
        if (bad)
            status = cli_failf(cmd, "%s: writing the JSON failed", o->json_path);
    }
    json_decref(doc);
    return status;
}

int cmd_validate(int argc, char **argv)
{
    validate_opts o;
    int status = parse_opts(argc, argv, &o);
    if (status >= 0)
        return status;
    status = 0;
    tc_error err = {0};
    tc_catalog *cat = NULL;
    tc_reasons *reasons = NULL;
    tc_model *m = NULL;
    sample base = {.path = o.base_path}, cur = {.path = o.cur_path};
    if (tc_catalog_load(o.catalog_path != NULL ? o.catalog_path : cli_default_catalog(), &cat,
                        &err) != TC_OK ||
        tc_reasons_load(o.reasons_path != NULL ? o.reasons_path : cli_models_file("reasons.json"),
                        &reasons, &err) != TC_OK ||
        tc_model_load(o.model_path, cat, reasons, &m, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    if ((status = groups_and_target(&o, cat, &err)) != 0)
        goto out;
    const char *names[TC_MODEL_CHARS_MAX + FAIRNESS_MAX];
    size_t n_names = 0;
    for (size_t j = 0; j < m->n_chars; j++)
        names[n_names++] = m->chars[j].attribute;
    for (size_t f = 0; f < o.n_fair; f++) {
        int dup = 0;
        for (size_t k = 0; k < n_names; k++)
            dup |= strcmp(names[k], o.fair[f]) == 0;
        if (!dup)
            names[n_names++] = o.fair[f];
    }
    /* Fairness columns are read from the current file only; the baseline needs the model's. */
    if (score_sample(m, names, m->n_chars, NULL, &base, &err) != TC_OK ||
        score_sample(m, names, n_names, o.target, &cur, &err) != TC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    status = report(&o, m, &base, &cur, &err);
out:
    sample_free(&cur);
    sample_free(&base);
    tc_model_free(m);
    tc_reasons_free(reasons);
    tc_catalog_free(cat);
    return status;
}
