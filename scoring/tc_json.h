/* tc_json — strict reading of JSON documents (catalog, models, reasons, specs) with jansson.
 *
 * Every accessor names what is wrong by JSON path: "origin: path.field (subject): reason", so a
 * risk modeller can find the line to fix. Unknown fields are refused rather than ignored, because
 * a misspelt "protected" that is silently dropped is worse than a refused file. Duplicate keys
 * are refused at parse time.
 */
#ifndef TC_JSON_H
#define TC_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "tc_error.h"

#define TC_JSON_PATH_MAX 192

/* Where we are in a document, for messages. */
typedef struct tc_jctx {
    const char *origin;           /* file name or other source */
    char path[TC_JSON_PATH_MAX];  /* e.g. "characteristics[3].bins[2]"; "" at the root */
    const char *subject;          /* optional, e.g. the attribute name, shown in parentheses */
    int code;                     /* error code to report (TC_ECATALOG, TC_EMODEL, ...) */
} tc_jctx;

/* Read a whole file of at most max bytes into a new NUL-terminated buffer (free it). A larger
 * file fails with code. */
int tc_read_file(const char *path, size_t max, int code, char **out, size_t *len, tc_error *err);

/* Read a whole file (at most max bytes) and parse it. */
int tc_json_load_file(const char *path, size_t max, int code, json_t **out, tc_error *err);
int tc_json_load_buffer(const char *text, size_t len, const char *origin, int code, json_t **out,
                        tc_error *err);

/* ctx for the child path "parent.key" or "parent[index]". */
tc_jctx tc_jctx_key(const tc_jctx *parent, const char *key);
tc_jctx tc_jctx_index(const tc_jctx *parent, size_t index);

/* Report an error at ctx (optionally at its field `field`, may be NULL). Returns ctx->code. */
int tc_json_fail(const tc_jctx *ctx, const char *field, tc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* obj must be an object whose keys are all in allowed (NULL-terminated). */
int tc_json_expect_object(const tc_jctx *ctx, json_t *obj, const char *const allowed[],
                          tc_error *err);

/* Field accessors. When required is 0 and the field is absent, *out keeps its value and the
 * return is TC_OK; *present (may be NULL) tells which. */
int tc_json_get_string(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       size_t max_len, const char **out, tc_error *err);
int tc_json_get_number(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       double *out, tc_error *err);
int tc_json_get_int(const tc_jctx *ctx, json_t *obj, const char *key, int required, long min,
                    long max, long *out, tc_error *err);
int tc_json_get_bool(const tc_jctx *ctx, json_t *obj, const char *key, int required, int *out,
                     tc_error *err);
/* Array field; *out is borrowed from obj. max bounds its size. */
int tc_json_get_array(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                      size_t max, json_t **out, tc_error *err);
int tc_json_get_object(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       json_t **out, tc_error *err);

/* A finite number from a JSON value (integer or real). */
int tc_json_number_value(const tc_jctx *ctx, json_t *value, double *out, tc_error *err);

/* What a value is, for messages: "an object", "a string", "a number", "null", ... */
const char *tc_json_type_name(const json_t *v);

#endif
