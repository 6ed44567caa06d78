#include "tc_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tc_json_load_buffer(const char *text, size_t len, const char *origin, int code, json_t **out,
                        tc_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return tc_errorf(err, code, "%s:%d:%d: %s", origin, je.line, je.column, je.text);
    *out = root;
    return TC_OK;
}

int tc_read_file(const char *path, size_t max, int code, char **out, size_t *len, tc_error *err)
{
    int rc = TC_OK;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tc_errorf(err, errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "%s: %s", path,
                         strerror(errno));
    buf = malloc(max + 1);
    if (buf == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        rc = tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (n > max) {
        rc = tc_errorf(err, code, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

int tc_json_load_file(const char *path, size_t max, int code, json_t **out, tc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tc_read_file(path, max, code, &text, &len, err);
    if (rc == TC_OK)
        rc = tc_json_load_buffer(text, len, path, code, out, err);
    free(text);
    return rc;
}

/* A path that does not fit ends in "..." rather than silently naming another field. */
static void path_fit(tc_jctx *c, int n)
{
    if (n < 0 || (size_t)n >= sizeof c->path)
        memcpy(c->path + sizeof c->path - 4, "...", 4);
}

tc_jctx tc_jctx_key(const tc_jctx *parent, const char *key)
{
    tc_jctx c = *parent;
    int n;
    if (parent->path[0] == '\0')
        n = snprintf(c.path, sizeof c.path, "%s", key);
    else
        n = snprintf(c.path, sizeof c.path, "%s.%s", parent->path, key);
    path_fit(&c, n);
    return c;
}

tc_jctx tc_jctx_index(const tc_jctx *parent, size_t index)
{
    tc_jctx c = *parent;
    int n = snprintf(c.path, sizeof c.path, "%s[%zu]", parent->path, index);
    path_fit(&c, n);
    return c;
}

int tc_json_fail(const tc_jctx *ctx, const char *field, tc_error *err, const char *fmt, ...)
{
    char reason[TC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    char where[TC_JSON_PATH_MAX + 96];
    if (field != NULL && ctx->path[0] != '\0')
        snprintf(where, sizeof where, "%s.%s", ctx->path, field);
    else if (field != NULL)
        snprintf(where, sizeof where, "%s", field);
    else
        snprintf(where, sizeof where, "%s", ctx->path[0] ? ctx->path : "(document)");
    if (ctx->subject != NULL)
        return tc_errorf(err, ctx->code, "%s: %s (%s): %s", ctx->origin, where, ctx->subject,
                         reason);
    return tc_errorf(err, ctx->code, "%s: %s: %s", ctx->origin, where, reason);
}

const char *tc_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

int tc_json_expect_object(const tc_jctx *ctx, json_t *obj, const char *const allowed[],
                          tc_error *err)
{
    if (!json_is_object(obj))
        return tc_json_fail(ctx, NULL, err, "expected an object, got %s", tc_json_type_name(obj));
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        (void)value;
        int known = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(allowed[i], key) == 0)
                known = 1;
        if (!known) {
            char q[96];
            return tc_json_fail(ctx, NULL, err, "unknown field '%s'",
                                tc_error_quote(q, sizeof q, key, strlen(key)));
        }
    }
    return TC_OK;
}

static int get_field(const tc_jctx *ctx, json_t *obj, const char *key, int required, json_t **v,
                     tc_error *err)
{
    *v = json_object_get(obj, key);
    if (*v == NULL && required)
        return tc_json_fail(ctx, key, err, "required field is missing");
    return TC_OK;
}

int tc_json_get_string(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       size_t max_len, const char **out, tc_error *err)
{
    json_t *v;
    int rc = get_field(ctx, obj, key, required, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    if (!json_is_string(v))
        return tc_json_fail(ctx, key, err, "expected a string, got %s", tc_json_type_name(v));
    if (json_string_length(v) > max_len)
        return tc_json_fail(ctx, key, err, "longer than %zu bytes", max_len);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return tc_json_fail(ctx, key, err, "contains a NUL character");
    *out = json_string_value(v);
    return TC_OK;
}

int tc_json_number_value(const tc_jctx *ctx, json_t *v, double *out, tc_error *err)
{
    if (!json_is_number(v))
        return tc_json_fail(ctx, NULL, err, "expected a number, got %s", tc_json_type_name(v));
    double d = json_number_value(v);
    if (!isfinite(d))
        return tc_json_fail(ctx, NULL, err, "not a finite number");
    *out = d;
    return TC_OK;
}

int tc_json_get_number(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       double *out, tc_error *err)
{
    json_t *v;
    int rc = get_field(ctx, obj, key, required, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, key);
    return tc_json_number_value(&c, v, out, err);
}

int tc_json_get_int(const tc_jctx *ctx, json_t *obj, const char *key, int required, long min,
                    long max, long *out, tc_error *err)
{
    json_t *v;
    int rc = get_field(ctx, obj, key, required, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    if (!json_is_integer(v))
        return tc_json_fail(ctx, key, err, "expected an integer, got %s", tc_json_type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return tc_json_fail(ctx, key, err, "%lld is outside [%ld, %ld]", (long long)i, min, max);
    *out = (long)i;
    return TC_OK;
}

int tc_json_get_bool(const tc_jctx *ctx, json_t *obj, const char *key, int required, int *out,
                     tc_error *err)
{
    json_t *v;
    int rc = get_field(ctx, obj, key, required, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    if (!json_is_boolean(v))
        return tc_json_fail(ctx, key, err, "expected true or false, got %s", tc_json_type_name(v));
    *out = json_is_true(v);
    return TC_OK;
}

int tc_json_get_array(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                      size_t max, json_t **out, tc_error *err)
{
    json_t *v;
    int rc = get_field(ctx, obj, key, required, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    if (!json_is_array(v))
        return tc_json_fail(ctx, key, err, "expected an array, got %s", tc_json_type_name(v));
    if (json_array_size(v) > max)
        return tc_json_fail(ctx, key, err, "more than %zu elements", max);
    *out = v;
    return TC_OK;
}

int tc_json_get_object(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       json_t **out, tc_error *err)
{
    json_t *v;
    int rc = get_field(ctx, obj, key, required, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    if (!json_is_object(v))
        return tc_json_fail(ctx, key, err, "expected an object, got %s", tc_json_type_name(v));
    *out = v;
    return TC_OK;
}
