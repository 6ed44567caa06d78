/* tc_dataset — a table of observations in memory, column by column, for training and
 * validation: per catalog attribute the values and whether each is missing, plus the binary
 * target, optional sample weights and an optional date per row.
 *
 * Columnar because every statistic of training walks one attribute over all rows (quantiles,
 * bin counts, WoE columns); a row-major table would stride through memory for each.
 *
 * Values are in the engine's binary form (tc_value): int and real as numbers, bool 0/1, category
 * the level index; a missing value is 0 with its missing flag set, never confused with a zero.
 * Rows are appended by a reader (tools/train_data.c reads CSV) that has already checked every
 * value against the catalog with tc_attr_parse; the dataset trusts them.
 *
 * Lifetime: the dataset borrows the catalog (it must outlive the dataset) and owns every array;
 * pointers into it stay valid until the next tc_dataset_push (which may reallocate) or
 * tc_dataset_free. Not thread-safe while rows are pushed; read-only afterwards.
 */
#ifndef TC_DATASET_H
#define TC_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "tc_catalog.h"
#include "tc_error.h"

#define TC_DATASET_COLS_MAX TC_CATALOG_ATTRS_MAX
#define TC_DATASET_ROWS_MAX 200000000u /* 2·10^8 rows: ~1.6 GB per column of doubles */
#define TC_DATASET_NAME_MAX 64         /* target, weight and date column names */

/* Which per-row extras the dataset carries. */
enum {
    TC_DATASET_TARGET = 1u << 0, /* y: 0 or 1 */
    TC_DATASET_WEIGHT = 1u << 1, /* w: finite, >= 0 */
    TC_DATASET_DATE = 1u << 2,   /* day: days since 1970-01-01 */
};

typedef struct tc_dataset_col {
    const tc_attr *attr; /* borrowed from the catalog */
    size_t attr_index;   /* into the catalog */
    double *v;           /* n_rows values; 0 where missing */
    uint8_t *missing;    /* n_rows flags: 1 = no value */
} tc_dataset_col;

typedef struct tc_dataset {
    const tc_catalog *catalog;
    unsigned flags;
    size_t n_rows;
    size_t n_cols;
    tc_dataset_col *cols; /* in the order given to tc_dataset_new */
    double *y;            /* NULL without TC_DATASET_TARGET */
    double *w;            /* NULL without TC_DATASET_WEIGHT (every weight is 1) */
    int32_t *day;         /* NULL without TC_DATASET_DATE */
    long *line;           /* source line of each row, for messages (0 when unknown) */
    size_t cap;           /* rows allocated */
} tc_dataset;

/* An empty dataset with the given catalog attributes (indices into cat, no repeats, at most
 * TC_DATASET_COLS_MAX) and extras. */
int tc_dataset_new(const tc_catalog *cat, const size_t *attr_index, size_t n_cols, unsigned flags,
                   tc_dataset **out, tc_error *err);
void tc_dataset_free(tc_dataset *ds);

/* Append one row: values[0..n_cols) in column order; y, w, day are read only when the dataset
 * carries them. TC_ETOOMANY past TC_DATASET_ROWS_MAX rows, TC_EINVAL for a target other than
 * 0/1 or a negative or non-finite weight. */
int tc_dataset_push(tc_dataset *ds, const tc_value *values, double y, double w, int32_t day,
                    long line, tc_error *err);

/* Column of the attribute called name, or -1. */
int tc_dataset_find(const tc_dataset *ds, const char *name);

/* Weight of row i (1 without weights). */
static inline double tc_dataset_weight(const tc_dataset *ds, size_t i)
{
    return ds->w != NULL ? ds->w[i] : 1.0;
}

#endif
