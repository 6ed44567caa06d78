/* tc_model_impl — between the parts of the model loader (tc_model.c, tc_model_dev.c), not a
 * contract for anyone else: tc_model.h and tc_model_dev.h are. */
#ifndef TC_MODEL_IMPL_H
#define TC_MODEL_IMPL_H

#include <jansson.h>

#include "tc_json.h"
#include "tc_model_dev.h"

/* Parse root's "development" member against model m (grades and characteristics loaded): *out
 * is NULL when the member is absent. Errors name the JSON path (TC_EMODEL). */
int tc_model_dev_parse(const tc_jctx *ctx, json_t *root, const tc_model *m, tc_model_dev **out,
                       tc_error *err);
void tc_model_dev_free(tc_model_dev *d);

#endif
