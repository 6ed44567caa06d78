/* tc_schema — what a model file (tc_model) and a training spec (tc_train_spec) read alike, so
 * that a spec can never accept what the model it trains would refuse: model and product names,
 * enumerations, the grade table, the model card's limitations, and numbers in messages. */
#ifndef TC_SCHEMA_H
#define TC_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "tc_json.h"
#include "tc_model.h"

/* 1 when s is a model or product name: 1-TC_MODEL_NAME_MAX of a-z, 0-9, '-', first a letter. */
int tc_schema_name_ok(const char *s);

/* obj[key] as the index of one of names[0..n) (an empty name is never matched); expect lists
 * them for the message. Absent and not required: TC_OK with *out unchanged. */
int tc_schema_get_enum(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       const char *const names[], size_t n, const char *expect, int *out,
                       tc_error *err);

/* doc's "grades": 1 to TC_MODEL_GRADES_MAX of {grade, min_score, vi, en}, best first, cut-offs
 * descending, the first reachable below score_max and the last covering score_min. The strings
 * point into doc. out has room for TC_MODEL_GRADES_MAX. */
int tc_schema_grades(const tc_jctx *root, json_t *doc, double score_min, double score_max,
                     tc_grade *out, size_t *n, tc_error *err);

/* card's optional "limitations": texts of 1 to TC_MODEL_CARD_TEXT_MAX bytes, at most
 * TC_MODEL_CARD_LIMITATIONS_MAX; each kept in out when out is not NULL. */
int tc_schema_limitations(const tc_jctx *card_ctx, json_t *card, const char **out, size_t *n,
                          tc_error *err);

/* Shortest text that reads back as v ("12.5", not "12.500000000000002"; whole numbers without
 * an exponent, "600"; "+inf", "-inf"): for messages, model files and reports alike. */
const char *tc_schema_num(char buf[40], double v);

#endif
