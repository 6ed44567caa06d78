/* bench_logit — the logistic fit alone (tc_logit_fit), timed on a numeric CSV: the first
 * column the 0/1 target, every other a regressor; an intercept is added. Reading the file is
 * not timed. Prints one JSON object: rows, columns, seconds (best of --repeat runs),
 * iterations, coefficients, standard errors — for benchmarks/logit_vs_statsmodels.py, which
 * times statsmodels on the same file in the same run.
 *
 *   bench_logit FILE.csv [--repeat N]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "csv_reader.h"
#include "tc_logit.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int number(const char *s, size_t len, double *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    return len > 0 && end == s + len && errno == 0 && isfinite(*out);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc < 2) {
        fprintf(stderr, "usage: bench_logit FILE.csv [--repeat N]\n");
        return 2;
    }
    int repeat = argc >= 4 && strcmp(argv[2], "--repeat") == 0 ? atoi(argv[3]) : 1;
    repeat = repeat < 1 ? 1 : repeat;
    tc_error err = {0};
    csv_reader *in = NULL;
    csv_row row;
    if (csv_reader_open(argv[1], &in, &err) != TC_OK || csv_reader_next(in, &row, &err) <= 0) {
        fprintf(stderr, "bench_logit: %s\n", err.msg[0] ? err.msg : "empty file");
        return 1;
    }
    size_t p = row.n, cap = 1 << 20, n = 0; /* intercept + (columns − target) */
    double *X = malloc(cap * p * sizeof *X), *y = malloc(cap * sizeof *y);
    int rc;
    while (X != NULL && y != NULL && (rc = csv_reader_next(in, &row, &err)) > 0) {
        if (row.n != p) {
            fprintf(stderr, "bench_logit: %s:%ld: %zu fields, the header has %zu\n", argv[1],
                    row.line, row.n, p);
            return 1;
        }
        if (n == cap) {
            cap *= 2;
            double *nx = realloc(X, cap * p * sizeof *X), *ny = realloc(y, cap * sizeof *y);
            if (nx == NULL || ny == NULL) {
                fprintf(stderr, "bench_logit: out of memory\n");
                return 1;
            }
            X = nx;
            y = ny;
        }
        double *x = X + n * p;
        x[0] = 1;
        for (size_t c = 0; c < p; c++) {
            double v;
            if (!number(row.fields[c], row.lens[c], &v)) {
                fprintf(stderr, "bench_logit: %s:%ld:%zu: not a number\n", argv[1], row.line,
                        c + 1);
                return 1;
            }
            if (c == 0)
                y[n] = v;
            else
                x[c] = v;
        }
        n++;
    }
    csv_reader_close(in);
    if (X == NULL || y == NULL) {
        fprintf(stderr, "bench_logit: out of memory\n");
        return 1;
    }
    tc_logit_options o = {.intercept = 0};
    tc_logit_result *r = NULL;
    double best = INFINITY;
    for (int k = 0; k < repeat; k++) {
        tc_logit_result_free(r);
        r = NULL;
        double t0 = now();
        if (tc_logit_fit(X, y, NULL, n, p, &o, &r, &err) != TC_OK) {
            fprintf(stderr, "bench_logit: %s\n", err.msg);
            return 1;
        }
        best = fmin(best, now() - t0);
    }
    printf("{\"rows\": %zu, \"columns\": %zu, \"seconds\": %.6f, \"iterations\": %d, \"coef\": [",
           n, p, best, r->iterations);
    for (size_t j = 0; j < p; j++)
        printf("%s%.17g", j ? ", " : "", r->coef[j]);
    printf("], \"se\": [");
    for (size_t j = 0; j < p; j++)
        printf("%s%.17g", j ? ", " : "", r->se[j]);
    printf("]}\n");
    tc_logit_result_free(r);
    free(X);
    free(y);
    return 0;
}
