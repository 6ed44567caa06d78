/* population_csv — the one reader of a population CSV: citizen_id and every attribute of the
 * catalog, by header name, in any column order; each row checked field by field against the
 * catalog and its ID (tc_id_check_values). `tinchap load` and `tinchap call put` both read with
 * it, so a file one takes the other takes, with the same messages.
 *
 * Problems of a row are handed to the caller one by one (file, line, column, message); a
 * message never repeats a citizen ID. The caller decides: load rejects the row and goes on,
 * call put stops at the first. */
#ifndef TC_POPULATION_CSV_H
#define TC_POPULATION_CSV_H

#include "csv_reader.h"
#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_id.h"

/* One problem of a row: column is 1-based, 0 for the whole row. Return TC_OK to go on, or a
 * TC_E* code that population_csv_next returns at once. */
typedef int (*population_problem_fn)(void *ctx, const char *file, long line, int column,
                                     const char *msg);

typedef struct population_csv {
    const char *file;
    const tc_catalog *cat;
    csv_reader *rd;
    int cols[1 + TC_CATALOG_ATTRS_MAX]; /* the column of citizen_id, then of each attribute */
    size_t width;                       /* fields in the header */
    int year;                           /* this year, bounding birth years in IDs; 0: none */
} population_csv;

typedef struct population_row {
    long line;
    const char *id; /* the citizen_id field as read: hash it, never print it */
    tc_id_info info;
    tc_value values[TC_CATALOG_ATTRS_MAX]; /* in catalog order */
} population_row;

/* Open file and read its header. Errors name the file, line and column. */
int population_csv_open(population_csv *p, const char *file, const tc_catalog *cat, int year,
                        tc_error *err);

/* The next row: 1 with a row (*bad = 1 when it had a problem, each handed to fn), 0 at the end,
 * or a negative TC_E* code (a malformed file, or what fn returned). */
int population_csv_next(population_csv *p, population_row *row, int *bad, population_problem_fn fn,
                        void *ctx, tc_error *err);

void population_csv_close(population_csv *p);

#endif
