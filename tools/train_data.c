#include "train_data.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "csv_reader.h"
#include "tc_time.h"

typedef struct hash_job {
    const char *path;
    char out[TRAIN_FINGERPRINT_LEN + 1];
    int ok;
    char msg[256];
} hash_job;

static void *hash_main(void *arg)
{
    hash_job *h = arg;
    FILE *f = fopen(h->path, "rb");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    size_t cap = 1u << 20;
    unsigned char *buf = malloc(cap);
    h->ok = 0;
    if (f == NULL || ctx == NULL || buf == NULL ||
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        snprintf(h->msg, sizeof h->msg, "%s: %s", h->path,
                 f == NULL ? strerror(errno) : "cannot start SHA-256");
        goto out;
    }
    size_t n;
    while ((n = fread(buf, 1, cap, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            break;
    if (ferror(f) || EVP_DigestFinal_ex(ctx, md, &len) != 1) {
        snprintf(h->msg, sizeof h->msg, "%s: reading for the fingerprint failed", h->path);
        goto out;
    }
    memcpy(h->out, "sha256:", 7);
    for (unsigned i = 0; i < len; i++)
        snprintf(h->out + 7 + 2 * i, 3, "%02x", md[i]);
    h->ok = 1;
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    if (f != NULL)
        fclose(f);
    return NULL;
}

enum { EXTRA_TARGET, EXTRA_WEIGHT, EXTRA_DATE, EXTRA_N };

typedef struct layout {
    int attr_col[TC_DATASET_COLS_MAX];
    int extra_col[EXTRA_N];
    size_t n_fields;
} layout;

static int map_header(const char *path, const csv_row *h, const train_data_options *o, layout *l,
                      tc_error *err)
{
    const char *extra[EXTRA_N] = {o->target, o->weight, o->date};
    static const char *const what[EXTRA_N] = {"target", "weight", "date"};
    l->n_fields = h->n;
    for (size_t c = 0; c < h->n; c++)
        for (size_t d = 0; d < c; d++)
            if (strcmp(h->fields[c], h->fields[d]) == 0) {
                char q[96];
                return tc_errorf(err, TC_EPARSE, "%s:%ld:%zu: column '%s' repeats column %zu", path,
                                 h->line, c + 1,
                                 tc_error_quote(q, sizeof q, h->fields[c], h->lens[c]), d + 1);
            }
    for (size_t j = 0; j < o->n_attrs; j++) {
        l->attr_col[j] = -1;
        for (size_t c = 0; c < h->n; c++)
            if (strcmp(h->fields[c], o->attrs[j]) == 0)
                l->attr_col[j] = (int)c;
        if (l->attr_col[j] < 0)
            return tc_errorf(err, TC_EPARSE, "%s:%ld: no column '%s'", path, h->line, o->attrs[j]);
    }
    for (int e = 0; e < EXTRA_N; e++) {
        l->extra_col[e] = -1;
        if (extra[e] == NULL)
            continue;
        for (size_t c = 0; c < h->n; c++)
            if (strcmp(h->fields[c], extra[e]) == 0)
                l->extra_col[e] = (int)c;
        if (l->extra_col[e] < 0 && !(e == EXTRA_TARGET && o->target_optional))
            return tc_errorf(err, TC_EPARSE, "%s:%ld: no %s column '%s'", path, h->line, what[e],
                             extra[e]);
    }
    return TC_OK;
}

static int bad_extra(const char *path, const csv_row *row, int col, const char *what,
                     const char *name, const char *expect, tc_error *err)
{
    char q[80];
    return tc_errorf(err, TC_EPARSE, "%s:%ld:%d: %s '%s' value '%s': %s", path, row->line, col + 1,
                     what, name, tc_error_quote(q, sizeof q, row->fields[col], row->lens[col]),
                     expect);
}

static int parse_row(const char *path, const csv_row *row, const train_data_options *o,
                     const layout *l, tc_dataset *ds, tc_value *values, tc_error *err)
{
    if (row->n != l->n_fields)
        return tc_errorf(err, TC_EPARSE, "%s:%ld: %zu fields, the header has %zu", path, row->line,
                         row->n, l->n_fields);
    for (size_t j = 0; j < o->n_attrs; j++) {
        int c = l->attr_col[j];
        if (tc_attr_parse(ds->cols[j].attr, row->fields[c], row->lens[c], &values[j], err) !=
            TC_OK) {
            tc_error_prefix(err, "%s:%ld:%d", path, row->line, c + 1);
            return TC_EPARSE;
        }
    }
    double y = 0, w = 1;
    int32_t day = 0;
    int c = l->extra_col[EXTRA_TARGET];
    if (c >= 0) {
        const char *f = row->fields[c];
        if (row->lens[c] == 1 && (f[0] == '0' || f[0] == '1'))
            y = f[0] - '0';
        else
            return bad_extra(path, row, c, "target", o->target, "expected 0 or 1", err);
    }
    if ((c = l->extra_col[EXTRA_WEIGHT]) >= 0) {
        char *end = NULL;
        errno = 0;
        w = strtod(row->fields[c], &end);
        if (row->lens[c] == 0 || end != row->fields[c] + row->lens[c] || errno != 0 ||
            !isfinite(w) || w < 0)
            return bad_extra(path, row, c, "weight", o->weight, "expected a finite number >= 0",
                             err);
    }
    if ((c = l->extra_col[EXTRA_DATE]) >= 0) {
        int64_t t;
        if (row->lens[c] != 10 || tc_time_parse(row->fields[c], row->lens[c], &t) != TC_OK)
            return bad_extra(path, row, c, "date", o->date, "expected a date like 2026-05-01", err);
        day = (int32_t)(t / 86400);
    }
    int rc = tc_dataset_push(ds, values, y, w, day, row->line, err);
    if (rc != TC_OK)
        tc_error_prefix(err, "%s:%ld", path, row->line);
    return rc;
}

int train_data_load(const char *path, const train_data_options *o, tc_dataset **out,
                    char fingerprint[TRAIN_FINGERPRINT_LEN + 1], tc_error *err)
{
    size_t idx[TC_DATASET_COLS_MAX];
    tc_value values[TC_DATASET_COLS_MAX];
    csv_reader *in = NULL;
    tc_dataset *ds = NULL;
    layout l;
    hash_job hj = {.path = path};
    pthread_t thread;
    int hashing = 0, rc;
    cli_progress prog;
    int prog_started = 0;
    if (o->n_attrs > TC_DATASET_COLS_MAX)
        return tc_errorf(err, TC_EINVAL, "more than %d attributes", TC_DATASET_COLS_MAX);
    for (size_t j = 0; j < o->n_attrs; j++) {
        int i = tc_catalog_find(o->catalog, o->attrs[j]);
        if (i < 0)
            return tc_errorf(err, TC_EINVAL, "'%s' is not an attribute of catalog '%s'",
                             o->attrs[j], o->catalog->name);
        idx[j] = (size_t)i;
    }
    if (fingerprint != NULL && strcmp(path, "-") == 0)
        return tc_errorf(err, TC_EINVAL,
                         "standard input cannot be fingerprinted: give the data as a file");
    if ((rc = csv_reader_open(path, &in, err)) != TC_OK)
        return rc;
    if (fingerprint != NULL) {
        if (pthread_create(&thread, NULL, hash_main, &hj) == 0)
            hashing = 1;
        else
            hash_main(&hj);
    }
    csv_row row;
    if ((rc = csv_reader_next(in, &row, err)) <= 0) {
        if (rc == 0)
            rc = tc_errorf(err, TC_EPARSE, "%s: empty file, expected a header row", path);
        goto out;
    }
    if ((rc = map_header(path, &row, o, &l, err)) != TC_OK)
        goto out;
    unsigned flags = 0;
    if (l.extra_col[EXTRA_TARGET] >= 0)
        flags |= TC_DATASET_TARGET;
    if (l.extra_col[EXTRA_WEIGHT] >= 0)
        flags |= TC_DATASET_WEIGHT;
    if (l.extra_col[EXTRA_DATE] >= 0)
        flags |= TC_DATASET_DATE;
    if ((rc = tc_dataset_new(o->catalog, idx, o->n_attrs, flags, &ds, err)) != TC_OK)
        goto out;
    if (o->progress != NULL) {
        cli_progress_start(&prog, o->progress, (double)csv_reader_size(in));
        prog_started = 1;
    }
    while ((rc = csv_reader_next(in, &row, err)) > 0) {
        if ((rc = parse_row(path, &row, o, &l, ds, values, err)) != TC_OK)
            goto out;
        if (prog_started && (ds->n_rows & 8191) == 0)
            cli_progress_update(&prog, (double)csv_reader_offset(in), ds->n_rows);
    }
    if (rc < 0)
        goto out;
    rc = TC_OK;
out:
    if (prog_started)
        cli_progress_finish(&prog);
    if (hashing)
        pthread_join(thread, NULL);
    if (rc == TC_OK && fingerprint != NULL) {
        if (!hj.ok)
            rc = tc_errorf(err, TC_EIO, "%s", hj.msg);
        else
            memcpy(fingerprint, hj.out, TRAIN_FINGERPRINT_LEN + 1);
    }
    csv_reader_close(in);
    if (rc != TC_OK) {
        tc_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return TC_OK;
}
