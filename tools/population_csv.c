/* The one reader of a population CSV; see population_csv.h. */
#include "population_csv.h"

#include <stdio.h>
#include <string.h>

int population_csv_open(population_csv *p, const char *file, const tc_catalog *cat, int year,
                        tc_error *err)
{
    const char *names[1 + TC_CATALOG_ATTRS_MAX];
    csv_row row;
    memset(p, 0, sizeof *p);
    p->file = file;
    p->cat = cat;
    p->year = year;
    names[0] = "citizen_id";
    for (size_t i = 0; i < cat->n_attrs; i++)
        names[i + 1] = cat->attrs[i].name;
    int rc = csv_reader_open(file, &p->rd, err);
    if (rc != TC_OK)
        return rc;
    rc = csv_reader_next(p->rd, &row, err);
    if (rc == 0)
        rc = tc_errorf(err, TC_EPARSE, "%s: empty file (expected a header row)", file);
    if (rc < 0)
        goto fail;
    char what[128];
    snprintf(what, sizeof what, "not citizen_id nor an attribute of catalog '%s'", cat->name);
    if ((rc = csv_map_header(file, &row, names, cat->n_attrs + 1, NULL, p->cols, what, err)) !=
        TC_OK)
        goto fail;
    p->width = row.n;
    return TC_OK;
fail:
    population_csv_close(p);
    return rc;
}

/* Every problem of the row to fn; the number found, or a negative code fn returned. */
static int check_row(population_csv *p, const csv_row *row, population_row *out,
                     population_problem_fn fn, void *ctx)
{
    tc_error verr; /* filled only on failure */
    char msg[TC_ERROR_MSG_MAX];
    int found = 0, rc;
    if (row->n != p->width) {
        snprintf(msg, sizeof msg, "%zu fields, the header has %zu", row->n, p->width);
        return (rc = fn(ctx, p->file, row->line, 0, msg)) != TC_OK ? rc : 1;
    }
    int id_col = p->cols[0];
    out->id = row->fields[id_col];
    if (tc_id_parse(row->fields[id_col], row->lens[id_col], p->year, &out->info, &verr) != TC_OK) {
        snprintf(msg, sizeof msg, "field 'citizen_id': %.400s", verr.msg);
        if ((rc = fn(ctx, p->file, row->line, id_col + 1, msg)) != TC_OK)
            return rc;
        found++;
    }
    for (size_t i = 0; i < p->cat->n_attrs; i++) {
        int c = p->cols[i + 1];
        if (tc_attr_parse(&p->cat->attrs[i], row->fields[c], row->lens[c], &out->values[i],
                          &verr) == TC_OK)
            continue;
        if ((rc = fn(ctx, p->file, row->line, c + 1, verr.msg)) != TC_OK)
            return rc;
        found++;
    }
    if (found > 0)
        return found;
    int attr = -1;
    if (tc_id_check_values(&out->info, p->cat, out->values, &attr, &verr) != TC_OK) {
        int col = attr >= 0 ? p->cols[attr + 1] + 1 : id_col + 1;
        return (rc = fn(ctx, p->file, row->line, col, verr.msg)) != TC_OK ? rc : 1;
    }
    return 0;
}

int population_csv_next(population_csv *p, population_row *out, int *bad, population_problem_fn fn,
                        void *ctx, tc_error *err)
{
    csv_row row;
    int rc = csv_reader_next(p->rd, &row, err);
    if (rc <= 0)
        return rc;
    out->line = row.line;
    int found = check_row(p, &row, out, fn, ctx);
    if (found < 0)
        return found;
    *bad = found > 0;
    return 1;
}

void population_csv_close(population_csv *p)
{
    csv_reader_close(p->rd);
    p->rd = NULL;
}
