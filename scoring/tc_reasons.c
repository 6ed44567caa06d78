#include "tc_reasons.h"

#include <stdlib.h>
#include <string.h>

#include "tc_json.h"

typedef struct reasons_impl {
    tc_reasons pub; /* first, so a tc_reasons * is a reasons_impl * */
    json_t *root;   /* owns every string */
    tc_reason_text *items;
} reasons_impl;

int tc_reason_code_valid(const char *code)
{
    size_t n = strlen(code);
    if (n < 2 || n > TC_REASON_CODE_MAX || code[0] < 'A' || code[0] > 'Z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9')))
            return 0;
    return 1;
}

static int parse_item(const tc_jctx *ctx, json_t *obj, tc_reason_text *it, tc_error *err)
{
    static const char *const keys[] = {"code", "vi", "en", NULL};
    int rc;
    tc_jctx c = *ctx;
    if ((rc = tc_json_expect_object(&c, obj, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, obj, "code", 1, TC_REASON_CODE_MAX, &it->code, err)) !=
            TC_OK)
        return rc;
    if (!tc_reason_code_valid(it->code))
        return tc_json_fail(&c, "code", err,
                            "'%s' is not a reason code: an upper-case letter, then 1 to %d "
                            "upper-case letters or digits",
                            it->code, TC_REASON_CODE_MAX - 1);
    c.subject = it->code;
    if ((rc = tc_json_get_string(&c, obj, "vi", 1, TC_REASON_TEXT_MAX, &it->vi, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, obj, "en", 1, TC_REASON_TEXT_MAX, &it->en, err)) != TC_OK)
        return rc;
    if (it->vi[0] == '\0')
        return tc_json_fail(&c, "vi", err, "must not be empty");
    if (it->en[0] == '\0')
        return tc_json_fail(&c, "en", err, "must not be empty");
    return TC_OK;
}

int tc_reasons_parse(const char *text, size_t len, const char *origin, tc_reasons **out,
                     tc_error *err)
{
    static const char *const keys[] = {"reasons", "version", "description", "codes", NULL};
    reasons_impl *ri = calloc(1, sizeof *ri);
    json_t *codes = NULL, *desc = NULL;
    long version = 0;
    int rc;
    if (ri == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    if ((rc = tc_json_load_buffer(text, len, origin, TC_EMODEL, &ri->root, err)) != TC_OK)
        goto fail;
    tc_jctx root = {.origin = origin, .code = TC_EMODEL};
    if ((rc = tc_json_expect_object(&root, ri->root, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, ri->root, "reasons", 1, 64, &ri->pub.name, err)) !=
            TC_OK ||
        (rc = tc_json_get_int(&root, ri->root, "version", 1, 1, 1000000, &version, err)) !=
            TC_OK ||
        (rc = tc_json_get_object(&root, ri->root, "description", 0, &desc, err)) != TC_OK ||
        (rc = tc_json_get_array(&root, ri->root, "codes", 1, TC_REASONS_MAX, &codes, err)) !=
            TC_OK)
        goto fail;
    ri->pub.version = (int)version;
    size_t n = json_array_size(codes);
    if (n == 0) {
        rc = tc_json_fail(&root, "codes", err, "the dictionary has no codes");
        goto fail;
    }
    ri->items = calloc(n, sizeof *ri->items);
    if (ri->items == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    tc_jctx cc = tc_jctx_key(&root, "codes");
    for (size_t i = 0; i < n; i++) {
        tc_jctx ic = tc_jctx_index(&cc, i);
        if ((rc = parse_item(&ic, json_array_get(codes, i), &ri->items[i], err)) != TC_OK)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ri->items[j].code, ri->items[i].code) == 0) {
                rc = tc_json_fail(&ic, "code", err, "'%s' repeats codes[%zu]",
                                  ri->items[i].code, j);
                goto fail;
            }
    }
    ri->pub.n = n;
    ri->pub.items = ri->items;
    *out = &ri->pub;
    return TC_OK;
fail:
    tc_reasons_free(&ri->pub);
    return rc;
}

int tc_reasons_load(const char *path, tc_reasons **out, tc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tc_read_file(path, TC_REASONS_FILE_MAX, TC_EMODEL, &text, &len, err);
    if (rc == TC_OK)
        rc = tc_reasons_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void tc_reasons_free(tc_reasons *r)
{
    if (r == NULL)
        return;
    reasons_impl *ri = (reasons_impl *)r;
    free(ri->items);
    json_decref(ri->root);
    free(ri);
}

const tc_reason_text *tc_reasons_find(const tc_reasons *r, const char *code)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].code, code) == 0)
            return &r->items[i];
    return NULL;
}
