/* model_cli — what the commands that score offline share (cmd_model.c): one model loaded with
 * its catalog and reason dictionary, the --method option, and numbers written exactly. */
#ifndef TC_MODEL_CLI_H
#define TC_MODEL_CLI_H

#include "tc_eval.h"
#include "tc_model.h"
#include "tc_reasons.h"

/* Catalog, reason dictionary and one model, loaded together. */
typedef struct loaded_model {
    tc_catalog *catalog; /* NULL when borrowed */
    tc_reasons *reasons;
    tc_model *model;
} loaded_model;

/* cat may be NULL: then the catalog is loaded from catalog_path (or the default). */
int load_model(const char *path, const char *catalog_path, const char *reasons_path,
               const tc_catalog *cat, loaded_model *lm, tc_error *err);
void loaded_model_free(loaded_model *lm);

/* --method max|baseline into eo; 0, or the usage exit status. */
int parse_method(const char *cmd, const char *text, tc_eval_options *eo);

/* An evaluation that failed, as a message; returns the failure exit status. */
int eval_fail(const char *cmd, int rc, const char *what);

/* Shortest decimal text that reads back as v, so output files round-trip exactly. */
const char *fmt_num(char buf[40], double v);

#endif
