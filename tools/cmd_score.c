/* tinchap score — batch scoring of a CSV file for risk teams, safe to rerun.
 *
 * Batch scoring uses the engine's one code path: each row's values are parsed with
 * tc_attr_parse, encoded as a citizen record, viewed and evaluated, exactly as the server
 * evaluates a record read from the database.
 *
 * Everything that can be checked before a row is read is checked first (the model, --method
 * against the model, the header's columns, the output name), and the output is written through
 * tc_file: it appears whole, or not at all. A row that cannot be scored is rejected with
 * FILE:LINE:COLUMN and its reason; up to --max-errors rejected rows are tolerated (they go to
 * the rejects file), past it nothing is written.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "csv_reader.h"
#include "model_cli.h"
#include "tc_file.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_text.h"

#define SCORE_PRINT_MAX 100 /* rejected rows named on stderr; the rejects file has them all */

static const char score_help[] =
    "usage: tinchap score --model FILE --input CSV --out CSV [options]\n"
    "\n"
    "Score every row of a CSV file offline with one model, as the server would score a\n"
    "citizen with those attribute values. For risk teams scoring their own data (loan\n"
    "history, a validation sample): no database, no consent, no audit.\n"
    "\n"
    "The input has a header row naming its columns; every attribute the model uses must be\n"
    "a column (other columns are ignored), with values written as 'tinchap load' reads them\n"
    "(empty = missing). The output has one row per input row scored:\n"
    "  row        1-based number of the data row in the input (the header is row 0)\n"
    "  ID         with --id-column ID, that column's value, passed through\n"
    "  score      clamped to the model's score bounds\n"
    "  pd, pd_low, pd_high   probability of default and its 95 % interval\n"
    "  grade      the grade letter\n"
    "  reasons    reason codes, most points lost first, separated by ';'\n"
    "With --detail also eta, eta_se, score_raw and points_<attribute> per characteristic.\n"
    "Numbers are written with enough digits to read back exactly.\n"
    "\n"
    "Safe to rerun: the model, the options and the header are checked before any row is\n"
    "read, and the output is written to a temporary file renamed into place at the end, so\n"
    "a failed run leaves no file behind (and standard output gets nothing). A bad value is\n"
    "reported as FILE:LINE:COLUMN: field 'x' value 'y': reason.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE     model file\n"
    "  -i, --input CSV      input file ('-' for standard input)\n"
    "  -o, --out CSV        output file ('-' for standard output); never replaced unless\n"
    "                       --force\n"
    "      --id-column NAME pass this input column through (an application or loan\n"
    "                       reference; a column of 12-digit citizen IDs is refused)\n"
    "      --max-errors N   rows that cannot be scored tolerated, a count or a share such as\n"
    "                       1% of the rows (default 0); past it no output is written\n"
    "      --rejects FILE   where the rejected rows go, as line, column[, ID], reason (default\n"
    "                       OUT.rejects.csv when --max-errors is above 0; with --out - name\n"
    "                       it). Every run that reads its input to the end replaces it with\n"
    "                       its own rejected rows (the header alone when there are none),\n"
    "                       mode 0600; a run stopped by an error leaves it as it was. Runs of\n"
    "                       12 digits in a reason are masked: a citizen ID is never repeated\n"
    "      --reasons-count N  reasons per row, 1 to 8 (default: the model's, usually 4)\n"
    "      --method M       reasons below each characteristic's max (default) or baseline\n"
    "      --detail         add eta, eta_se, score_raw and points per characteristic\n"
    "      --catalog FILE   attribute catalog (default: $TINCHAP_CATALOG or the shipped one)\n"
    "      --reasons FILE   reason dictionary (default: reasons.json of the models directory)\n"
    "  -f, --force          replace the output file\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 scored, 1 failed or too many rejected rows (nothing written), 2 bad usage.\n";

typedef struct score_job {
    const char *cmd;
    const tc_model *model;
    int col[TC_MODEL_CHARS_MAX]; /* input column of each characteristic's attribute */
    const char *id_name;         /* --id-column, or NULL */
    int id_col;
    int detail, force;
    long max_errors;
    double max_errors_pct; /* < 0: max_errors is a count */
    const char *rejects_path;
    tc_eval_options eo;
    /* the run */
    long rows, scored, rejected;
    tc_file rejects;
    int rejects_open;
} score_job;

/* Before any row: a method the model cannot answer with fails now, not at row 1. */
static int check_model(score_job *job)
{
    const tc_model *m = job->model;
    tc_reason_method method = job->eo.override_method ? job->eo.method : m->reason_method;
    if (method != TC_REASON_BASELINE)
        return 0;
    for (size_t j = 0; j < m->n_chars; j++)
        if (!m->chars[j].has_baseline)
            return cli_failf(job->cmd,
                             "--method baseline: model %s version %d has no baseline for "
                             "characteristic '%s' (nothing was read or written)",
                             m->name, m->version, m->chars[j].attribute);
    return 0;
}

static int find_col(const csv_row *h, const char *name)
{
    for (size_t c = 0; c < h->n; c++)
        if (strcmp(h->fields[c], name) == 0)
            return (int)c;
    return -1;
}

static int score_header(score_job *job, csv_reader *in, tc_error *err)
{
    csv_row row;
    int rc = csv_reader_next(in, &row, err);
    if (rc < 0)
        return cli_fail(job->cmd, err);
    if (rc == 0)
        return cli_failf(job->cmd, "%s: empty file, expected a header row", csv_reader_path(in));
    const tc_model *m = job->model;
    for (size_t j = 0; j < m->n_chars; j++)
        if ((job->col[j] = find_col(&row, m->chars[j].attribute)) < 0)
            return cli_failf(job->cmd, "%s:%ld: no column '%s', which the model uses",
                             csv_reader_path(in), row.line, m->chars[j].attribute);
    job->id_col = -1;
    if (job->id_name != NULL && (job->id_col = find_col(&row, job->id_name)) < 0)
        return cli_failf(job->cmd, "%s:%ld: no column '%s' (--id-column)", csv_reader_path(in),
                         row.line, job->id_name);
    return 0;
}

static void write_header(const score_job *job, FILE *out)
{
    const tc_model *m = job->model;
    fputs("row", out);
    if (job->id_name != NULL) {
        fputc(',', out);
        csv_write_field(out, job->id_name, strlen(job->id_name));
    }
    fputs(",score,pd,pd_low,pd_high,grade,reasons", out);
    if (job->detail) {
        fputs(",eta,eta_se,score_raw", out);
        for (size_t j = 0; j < m->n_chars; j++)
            fprintf(out, ",points_%s", m->chars[j].attribute);
    }
    fputc('\n', out);
}

static void write_row(FILE *out, const score_job *job, long n, const csv_row *row,
                      const tc_score_result *r)
{
    char b1[40], b2[40], b3[40], b4[40];
    fprintf(out, "%ld,", n);
    if (job->id_col >= 0) {
        csv_write_field(out, row->fields[job->id_col], row->lens[job->id_col]);
        fputc(',', out);
    }
    fprintf(out, "%s,%s,%s,%s,%s,", fmt_num(b1, r->score), fmt_num(b2, r->pd),
            fmt_num(b3, r->pd_low), fmt_num(b4, r->pd_high), r->grade->letter);
    for (size_t i = 0; i < r->n_reasons; i++)
        fprintf(out, "%s%s", i ? ";" : "", r->reasons[i].code);
    if (job->detail) {
        fprintf(out, ",%s,%s,%s", fmt_num(b1, r->eta), fmt_num(b2, r->eta_se),
                fmt_num(b3, r->score_raw));
        for (size_t j = 0; j < r->n_chars; j++)
            fprintf(out, ",%s", fmt_num(b1, r->points[j]));
    }
    fputc('\n', out);
}

/* One row that cannot be scored: named on stderr (the first SCORE_PRINT_MAX) and, when rejects
 * are kept, written to the rejects file. column is 1-based, 0 for the row as a whole. A reason
 * quotes the value it refuses, which may be a citizen ID typed into the wrong column: runs of
 * 12 digits are masked in both. */
static void reject(score_job *job, const char *file, const csv_row *row, int column,
                   const char *reason)
{
    char text[TC_ERROR_MSG_MAX];
    snprintf(text, sizeof text, "%s", reason);
    tc_text_redact_ids(text);
    job->rejected++;
    if (job->rejected <= SCORE_PRINT_MAX) {
        if (column > 0)
            fprintf(stderr, "%s:%ld:%d: %s\n", file, row->line, column, text);
        else
            fprintf(stderr, "%s:%ld: %s\n", file, row->line, text);
    }
    if (!job->rejects_open)
        return;
    FILE *f = job->rejects.f;
    fprintf(f, "%ld,%d,", row->line, column);
    if (job->id_col >= 0 && (size_t)job->id_col < row->n) {
        csv_write_field(f, row->fields[job->id_col], row->lens[job->id_col]);
        fputc(',', f);
    } else if (job->id_name != NULL) {
        fputc(',', f);
    }
    csv_write_field(f, text, strlen(text));
    fputc('\n', f);
}

/* Parse the model's columns of one row into values: 0 parsed, 1 rejected. */
static int parse_row(score_job *job, const char *file, const csv_row *row, tc_value *values)
{
    const tc_model *m = job->model;
    char msg[64];
    for (size_t j = 0; j < m->n_chars; j++) {
        size_t c = (size_t)job->col[j];
        const tc_characteristic *ch = &m->chars[j];
        tc_error verr = {0};
        if (c >= row->n) {
            snprintf(msg, sizeof msg, "%zu fields, the header has more", row->n);
            reject(job, file, row, 0, msg);
            return 1;
        }
        if (tc_attr_parse(ch->attr, row->fields[c], row->lens[c], &values[ch->attr_index], &verr) !=
            TC_OK) {
            reject(job, file, row, (int)c + 1, verr.msg);
            return 1;
        }
    }
    return 0;
}

/* A 12-digit pass-through value is a citizen ID in all likelihood: never written out. */
static int id_is_citizen(const csv_row *row, int col)
{
    if ((size_t)col >= row->n || row->lens[col] != TC_ID_LEN)
        return 0;
    return strspn(row->fields[col], "0123456789") == TC_ID_LEN;
}

static int score_rows(score_job *job, csv_reader *in, FILE *out, tc_error *err)
{
    const tc_model *m = job->model;
    const tc_catalog *cat = m->catalog;
    const char *file = csv_reader_path(in);
    tc_value values[TC_CATALOG_ATTRS_MAX];
    unsigned char buf[TC_RECORD_MAX];
    tc_eval_workspace *ws = NULL;
    tc_score_result res;
    cli_progress prog;
    int status = 0, rc;
    if (tc_record_size(cat) > sizeof buf)
        return cli_failf(job->cmd, "the catalog's records exceed %d bytes", TC_RECORD_MAX);
    if (tc_eval_workspace_new(&ws, err) != TC_OK)
        return cli_fail(job->cmd, err);
    /* Attributes the model does not use stay missing: the model never reads them. */
    memset(values, 0, sizeof values);
    cli_progress_start(&prog, "scoring", (double)csv_reader_size(in));
    csv_row row;
    while ((rc = csv_reader_next(in, &row, err)) > 0) {
        job->rows++;
        if (job->id_col >= 0 && id_is_citizen(&row, job->id_col)) {
            status = cli_failf(job->cmd,
                               "%s:%ld:%d: column '%s' holds a 12-digit citizen ID: score "
                               "passes an application or loan reference through, never a "
                               "citizen ID (nothing was written)",
                               file, row.line, job->id_col + 1, job->id_name);
            goto out;
        }
        if (parse_row(job, file, &row, values) != 0)
            continue;
        size_t len = tc_record_encode(cat, values, 0, buf);
        tc_record rec;
        if (tc_record_view(cat, buf, len, &rec, err) != TC_OK) {
            status = cli_fail(job->cmd, err);
            goto out;
        }
        if ((rc = tc_model_eval(m, &rec, &job->eo, ws, &res)) != TC_OK) {
            char what[TC_ERROR_MSG_MAX];
            snprintf(what, sizeof what, "%s:%ld", file, row.line);
            status = eval_fail(job->cmd, rc, what);
            goto out;
        }
        write_row(out, job, job->rows, &row, &res);
        job->scored++;
        if ((job->rows & 1023) == 0)
            cli_progress_update(&prog, (double)csv_reader_offset(in), (size_t)job->rows);
    }
    if (rc < 0)
        status = cli_fail(job->cmd, err);
out:
    cli_progress_finish(&prog);
    tc_eval_workspace_free(ws);
    return status;
}

/* After the rows: within --max-errors, the output and the rejects are committed; past it, the
 * rejects alone (to fix the input by) and the output is discarded. */
static int settle(score_job *job, tc_file *out, const char *input, tc_error *err)
{
    long allowed = job->max_errors_pct >= 0
                       ? (long)(job->max_errors_pct / 100.0 * (double)job->rows)
                       : job->max_errors;
    if (job->rejects_open) {
        job->rejects_open = 0;
        if (tc_file_commit(&job->rejects, err) != TC_OK) {
            tc_file_discard(out);
            return cli_fail(job->cmd, err);
        }
    }
    if (job->rejected > allowed) {
        tc_file_discard(out);
        return cli_failf(job->cmd,
                         "%ld of %ld rows of %s cannot be scored, more than --max-errors %ld "
                         "allows: nothing was written%s%s",
                         job->rejected, job->rows, input, allowed,
                         job->rejects_path != NULL ? "; the rows are listed in " : "",
                         job->rejects_path != NULL ? job->rejects_path : "");
    }
    if (tc_file_commit(out, err) != TC_OK)
        return cli_fail(job->cmd, err);
    fprintf(stderr, "scored %ld rows with %s version %d", job->scored, job->model->name,
            job->model->version);
    if (job->rejected > 0)
        fprintf(stderr, "; %ld rejected%s%s", job->rejected,
                job->rejects_path != NULL ? ", listed in " : "",
                job->rejects_path != NULL ? job->rejects_path : "");
    fputc('\n', stderr);
    return 0;
}

static int parse_opts(int argc, char **argv, score_job *job, const char **paths)
{
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"id-column", required_argument, NULL, 'I'},
                                         {"max-errors", required_argument, NULL, 'E'},
                                         {"rejects", required_argument, NULL, 'j'},
                                         {"reasons-count", required_argument, NULL, 'n'},
                                         {"method", required_argument, NULL, 'M'},
                                         {"detail", no_argument, NULL, 'd'},
                                         {"catalog", required_argument, NULL, 'c'},
                                         {"reasons", required_argument, NULL, 'r'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *cmd = job->cmd;
    long count;
    int c, status;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:i:o:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
        case 'i':
        case 'o':
        case 'c':
        case 'r':
            paths[c == 'm' ? 0 : c == 'i' ? 1 : c == 'o' ? 2 : c == 'c' ? 3 : 4] = optarg;
            break;
        case 'I':
            if (optarg[0] == '\0')
                return cli_usage(cmd, "--id-column wants a column name");
            job->id_name = optarg;
            break;
        case 'E':
            if (cli_parse_max_errors(optarg, &job->max_errors, &job->max_errors_pct) != 0)
                return cli_usage(cmd, "--max-errors: '%s' is not a count or a percentage", optarg);
            break;
        case 'j':
            job->rejects_path = optarg;
            break;
        case 'n':
            if (cli_parse_count(optarg, 1, TC_REASONS_OUT_MAX, &count) != 0)
                return cli_usage(cmd, "--reasons-count takes 1 to %d", TC_REASONS_OUT_MAX);
            job->eo.max_reasons = (int)count;
            break;
        case 'M':
            if ((status = parse_method(cmd, optarg, &job->eo)) != 0)
                return status;
            break;
        case 'd':
            job->detail = 1;
            break;
        case 'f':
            job->force = 1;
            break;
        case 'h':
            fputs(score_help, stdout);
            return -1;
        default:
            return cli_usage(cmd, "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (paths[0] == NULL || paths[1] == NULL || paths[2] == NULL)
        return cli_usage(cmd, "--model, --input and --out are required");
    return 0;
}

/* The rejects file is part of every run's output: checked with the output before anything is
 * read, replaced by each run that reads its input to the end. It never names the input or the
 * output. */
static int check_rejects(const score_job *job, const char *input, const char *output)
{
    tc_error err = {0};
    struct stat r, o;
    const char *path = job->rejects_path;
    if (path == NULL)
        return 0;
    if (tc_file_check(path, TC_FILE_REPLACE, &err) != TC_OK)
        return cli_fail(job->cmd, &err);
    if (strcmp(path, output) == 0 || strcmp(path, input) == 0 ||
        (stat(path, &r) == 0 &&
         ((stat(input, &o) == 0 && r.st_dev == o.st_dev && r.st_ino == o.st_ino) ||
          (stat(output, &o) == 0 && r.st_dev == o.st_dev && r.st_ino == o.st_ino))))
        return cli_usage(job->cmd, "--rejects %s names the input or the output file", path);
    return 0;
}

static int open_rejects(score_job *job, tc_error *err)
{
    if (job->rejects_path == NULL)
        return 0;
    /* 0600: a rejected row's reference and reason are the risk team's, not everyone's */
    if (tc_file_open(&job->rejects, job->rejects_path, TC_FILE_REPLACE, 0600, err) != TC_OK)
        return cli_fail(job->cmd, err);
    job->rejects_open = 1;
    fprintf(job->rejects.f, "line,column%s%s,reason\n", job->id_name != NULL ? "," : "",
            job->id_name != NULL ? job->id_name : "");
    return 0;
}

int cmd_score(int argc, char **argv)
{
    const char *paths[5] = {NULL}; /* model, input, out, catalog, reasons */
    char rejects_default[PATH_MAX];
    score_job job = {.cmd = "score", .max_errors_pct = -1};
    int status = parse_opts(argc, argv, &job, paths);
    if (status != 0)
        return status < 0 ? 0 : status;
    const char *input = paths[1], *output = paths[2];
    if (job.rejects_path == NULL && (job.max_errors > 0 || job.max_errors_pct > 0)) {
        if (strcmp(output, "-") == 0)
            return cli_usage(job.cmd, "--max-errors with --out -: name the rejects file with "
                                      "--rejects FILE");
        if ((size_t)snprintf(rejects_default, sizeof rejects_default, "%s.rejects.csv", output) >=
            sizeof rejects_default)
            return cli_usage(job.cmd, "--out %s: name too long", output);
        job.rejects_path = rejects_default;
    }

    tc_error err = {0};
    loaded_model lm;
    csv_reader *in = NULL;
    tc_file out = {0};
    if (load_model(paths[0], paths[3], paths[4], NULL, &lm, &err) != TC_OK)
        return cli_fail(job.cmd, &err);
    job.model = lm.model;
    if ((status = check_model(&job)) != 0 ||
        (status = cli_check_out(job.cmd, output, job.force)) != 0 ||
        (status = check_rejects(&job, input, output)) != 0)
        goto out;
    if (csv_reader_open(input, &in, &err) != TC_OK) {
        status = cli_fail(job.cmd, &err);
        goto out;
    }
    if ((status = score_header(&job, in, &err)) != 0)
        goto out;
    if (tc_file_open(&out, output, TC_FILE_STDOUT | (job.force ? TC_FILE_REPLACE : 0), 0644,
                     &err) != TC_OK) {
        status = cli_fail(job.cmd, &err);
        goto out;
    }
    if ((status = open_rejects(&job, &err)) != 0)
        goto out;
    write_header(&job, out.f);
    if ((status = score_rows(&job, in, out.f, &err)) != 0)
        goto out;
    status = settle(&job, &out, input, &err);
out:
    tc_file_discard(&out);
    if (job.rejects_open)
        tc_file_discard(&job.rejects);
    csv_reader_close(in);
    loaded_model_free(&lm);
    return status;
}
