/* train_data — a CSV file of observations into a tc_dataset, for `tinchap train`,
 * `tinchap validate` and the training benchmarks.
 *
 * The header names the columns; the attributes asked for, the target and the optional weight
 * and date columns must be there (other columns are ignored, so a history file with every
 * catalog attribute trains a model on a few). Every value is checked as `tinchap load` checks
 * it (tc_attr_parse: type, range, whether missing is allowed); the first bad value stops the
 * read with "FILE:LINE:COLUMN: field 'name' value 'text': reason". The target is 0 or 1, a
 * weight a finite number >= 0, a date YYYY-MM-DD.
 *
 * With a fingerprint buffer, the file's bytes are hashed (SHA-256) on a second thread while the
 * rows are parsed: the training fingerprint a model records.
 */
#ifndef TC_TRAIN_DATA_H
#define TC_TRAIN_DATA_H

#include <stddef.h>

#include "tc_catalog.h"
#include "tc_dataset.h"
#include "tc_error.h"

#define TRAIN_FINGERPRINT_LEN (7 + 64) /* "sha256:" + 64 hex digits */

typedef struct train_data_options {
    const tc_catalog *catalog;
    const char *const *attrs; /* catalog attribute names to load */
    size_t n_attrs;
    const char *target;   /* NULL: none */
    int target_optional;  /* 1: load the target only when the file has it */
    const char *weight;   /* NULL: none */
    const char *date;     /* NULL: none */
    const char *progress; /* label for the progress bar on a terminal, or NULL */
} train_data_options;

/* Read path ("-" is standard input, which cannot be fingerprinted). fingerprint may be NULL;
 * else it receives "sha256:…" and a NUL. */
int train_data_load(const char *path, const train_data_options *o, tc_dataset **out,
                    char fingerprint[TRAIN_FINGERPRINT_LEN + 1], tc_error *err);

#endif
