#include "tc_dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tc_dataset_new(const tc_catalog *cat, const size_t *attr_index, size_t n_cols, unsigned flags,
                   tc_dataset **out, tc_error *err)
{
    if (n_cols > TC_DATASET_COLS_MAX)
        return tc_errorf(err, TC_EINVAL, "more than %d columns", TC_DATASET_COLS_MAX);
    for (size_t j = 0; j < n_cols; j++) {
        if (attr_index[j] >= cat->n_attrs)
            return tc_errorf(err, TC_EINVAL, "attribute %zu is not in catalog '%s'", attr_index[j],
                             cat->name);
        for (size_t k = 0; k < j; k++)
            if (attr_index[k] == attr_index[j])
                return tc_errorf(err, TC_EINVAL, "attribute '%s' is listed twice",
                                 cat->attrs[attr_index[j]].name);
    }
    tc_dataset *ds = calloc(1, sizeof *ds);
    if (ds == NULL || (n_cols > 0 && (ds->cols = calloc(n_cols, sizeof *ds->cols)) == NULL)) {
        free(ds);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    ds->catalog = cat;
    ds->flags = flags;
    ds->n_cols = n_cols;
    for (size_t j = 0; j < n_cols; j++) {
        ds->cols[j].attr_index = attr_index[j];
        ds->cols[j].attr = &cat->attrs[attr_index[j]];
    }
    *out = ds;
    return TC_OK;
}

void tc_dataset_free(tc_dataset *ds)
{
    if (ds == NULL)
        return;
    for (size_t j = 0; j < ds->n_cols; j++) {
        free(ds->cols[j].v);
        free(ds->cols[j].missing);
    }
    free(ds->cols);
    free(ds->y);
    free(ds->w);
    free(ds->day);
    free(ds->line);
    free(ds);
}

/* realloc that leaves *p untouched on failure, so the dataset stays consistent. */
static int grow(void **p, size_t n, size_t size)
{
    void *q = realloc(*p, n * size);
    if (q == NULL)
        return -1;
    *p = q;
    return 0;
}

static int reserve(tc_dataset *ds, size_t want, tc_error *err)
{
    if (want <= ds->cap)
        return TC_OK;
    size_t cap = ds->cap ? ds->cap : 4096;
    while (cap < want)
        cap *= 2;
    if (cap > TC_DATASET_ROWS_MAX)
        cap = TC_DATASET_ROWS_MAX;
    for (size_t j = 0; j < ds->n_cols; j++)
        if (grow((void **)&ds->cols[j].v, cap, sizeof(double)) ||
            grow((void **)&ds->cols[j].missing, cap, 1))
            goto nomem;
    if ((ds->flags & TC_DATASET_TARGET) && grow((void **)&ds->y, cap, sizeof(double)))
        goto nomem;
    if ((ds->flags & TC_DATASET_WEIGHT) && grow((void **)&ds->w, cap, sizeof(double)))
        goto nomem;
    if ((ds->flags & TC_DATASET_DATE) && grow((void **)&ds->day, cap, sizeof(int32_t)))
        goto nomem;
    if (grow((void **)&ds->line, cap, sizeof(long)))
        goto nomem;
    ds->cap = cap;
    return TC_OK;
nomem:
    return tc_errorf(err, TC_ENOMEM, "out of memory for %zu rows", cap);
}

int tc_dataset_push(tc_dataset *ds, const tc_value *values, double y, double w, int32_t day,
                    long line, tc_error *err)
{
    if (ds->n_rows >= TC_DATASET_ROWS_MAX)
        return tc_errorf(err, TC_ETOOMANY, "more than %u rows", TC_DATASET_ROWS_MAX);
    if ((ds->flags & TC_DATASET_TARGET) && !(y == 0 || y == 1))
        return tc_errorf(err, TC_EINVAL, "target %g is not 0 or 1", y);
    if ((ds->flags & TC_DATASET_WEIGHT) && !(isfinite(w) && w >= 0))
        return tc_errorf(err, TC_EINVAL, "weight %g is not a finite number >= 0", w);
    int rc = reserve(ds, ds->n_rows + 1, err);
    if (rc != TC_OK)
        return rc;
    size_t i = ds->n_rows;
    for (size_t j = 0; j < ds->n_cols; j++) {
        ds->cols[j].v[i] = values[j].present ? values[j].v : 0.0;
        ds->cols[j].missing[i] = values[j].present ? 0 : 1;
    }
    if (ds->y != NULL)
        ds->y[i] = y;
    if (ds->w != NULL)
        ds->w[i] = w;
    if (ds->day != NULL)
        ds->day[i] = day;
    ds->line[i] = line;
    ds->n_rows++;
    return TC_OK;
}

int tc_dataset_find(const tc_dataset *ds, const char *name)
{
    for (size_t j = 0; j < ds->n_cols; j++)
        if (strcmp(ds->cols[j].attr->name, name) == 0)
            return (int)j;
    return -1;
}
