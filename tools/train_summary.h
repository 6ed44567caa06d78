/* train_summary — the figures of `tinchap train` for scripts and spreadsheets, beside the HTML
 * report (train_report) that a validator reads:
 *
 *   summary JSON (--summary)  every figure of the report, numbers with 17 significant digits;
 *   scorecard table (--table) one CSV row per bin of each characteristic in the model:
 *                             characteristic, bin, count, event_rate, woe, iv, points, and
 *                             user_split (the bin starts at one of the spec's split points).
 *                             Scorecards only: a logistic model has no bins.
 */
#ifndef TC_TRAIN_SUMMARY_H
#define TC_TRAIN_SUMMARY_H

#include <stddef.h>

#include "tc_error.h"
#include "tc_train.h"

/* In memory: *out is malloc'ed, NUL-terminated, ends with a newline. */
int train_summary_json(const tc_train_result *r, const char *data_path, const char *fingerprint,
                       char **out, size_t *len, tc_error *err);

/* Written through tc_file (flags as tc_file_open's). */
int train_summary_table(const tc_train_result *r, const char *path, unsigned flags, tc_error *err);

#endif
