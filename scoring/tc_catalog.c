#include "tc_catalog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tc_json.h"

/* The public struct first, so a tc_catalog * is also a catalog_impl *. */
typedef struct catalog_impl {
    tc_catalog pub;
    json_t *root;  /* owns every string the attributes point to */
    tc_attr *attrs;
    const char **level_arrays; /* one block holding levels and labels of all attributes */
    uint8_t *level_orders;     /* one block of sorted level indices, TC_LEVELS_MAX per attr */
} catalog_impl;

/* Compare two level names by bytes, shorter first on a common prefix. */
static int level_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

/* Insertion sort: at most 255 levels, once per catalog load. */
static void sort_levels(const tc_attr *a, uint8_t *order)
{
    for (size_t i = 0; i < a->n_levels; i++)
        order[i] = (uint8_t)i;
    for (size_t i = 1; i < a->n_levels; i++) {
        uint8_t x = order[i];
        size_t j = i;
        while (j > 0 && level_cmp(a->levels[order[j - 1]], strlen(a->levels[order[j - 1]]),
                                  a->levels[x], strlen(a->levels[x])) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
}

static const char *const type_names[] = {"int", "real", "bool", "category"};

const char *tc_attr_type_name(tc_attr_type type)
{
    return (unsigned)type < 4 ? type_names[type] : "?";
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TC_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static int parse_description(const tc_jctx *ctx, json_t *obj, tc_attr *a, tc_error *err)
{
    static const char *const keys[] = {"vi", "en", NULL};
    json_t *d = NULL;
    int rc = tc_json_get_object(ctx, obj, "description", 1, &d, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "description");
    if ((rc = tc_json_expect_object(&c, d, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "vi", 1, 1024, &a->description_vi, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "en", 1, 1024, &a->description_en, err)) != TC_OK)
        return rc;
    if (a->description_vi[0] == '\0')
        return tc_json_fail(&c, "vi", err, "must not be empty");
    if (a->description_en[0] == '\0')
        return tc_json_fail(&c, "en", err, "must not be empty");
    return TC_OK;
}

static int parse_levels(const tc_jctx *ctx, json_t *obj, tc_attr *a, const char **slots,
                        tc_error *err)
{
    json_t *levels = NULL, *labels = NULL;
    int rc = tc_json_get_array(ctx, obj, "levels", 1, TC_LEVELS_MAX, &levels, err);
    if (rc != TC_OK)
        return rc;
    size_t n = json_array_size(levels);
    if (n < 2)
        return tc_json_fail(ctx, "levels", err, "a category needs at least 2 levels");
    tc_jctx lc = tc_jctx_key(ctx, "levels");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(levels, i);
        tc_jctx ic = tc_jctx_index(&lc, i);
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > TC_LEVEL_LEN_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))
            return tc_json_fail(&ic, NULL, err, "a level must be a non-empty string of at most %d bytes",
                                TC_LEVEL_LEN_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(slots[j], json_string_value(v)) == 0)
                return tc_json_fail(&ic, NULL, err, "level '%s' repeats levels[%zu]",
                                    json_string_value(v), j);
        slots[i] = json_string_value(v);
    }
    a->n_levels = n;
    a->levels = slots;
    if ((rc = tc_json_get_array(ctx, obj, "labels", 0, TC_LEVELS_MAX, &labels, err)) != TC_OK)
        return rc;
    if (labels != NULL) {
        if (json_array_size(labels) != n)
            return tc_json_fail(ctx, "labels", err, "has %zu entries for %zu levels",
                                json_array_size(labels), n);
        static const char *const keys[] = {"vi", "en", NULL};
        tc_jctx bc = tc_jctx_key(ctx, "labels");
        for (size_t i = 0; i < n; i++) {
            tc_jctx ic = tc_jctx_index(&bc, i);
            json_t *l = json_array_get(labels, i);
            if ((rc = tc_json_expect_object(&ic, l, keys, err)) != TC_OK ||
                (rc = tc_json_get_string(&ic, l, "vi", 1, 256, &slots[n + i], err)) != TC_OK ||
                (rc = tc_json_get_string(&ic, l, "en", 1, 256, &slots[2 * n + i], err)) != TC_OK)
                return rc;
        }
        a->level_vi = slots + n;
        a->level_en = slots + 2 * n;
    }
    a->min = 0;
    a->max = (double)(n - 1);
    return TC_OK;
}

static int parse_range(const tc_jctx *ctx, json_t *obj, tc_attr *a, tc_error *err)
{
    int rc;
    if ((rc = tc_json_get_number(ctx, obj, "min", 1, &a->min, err)) != TC_OK ||
        (rc = tc_json_get_number(ctx, obj, "max", 1, &a->max, err)) != TC_OK)
        return rc;
    if (a->min > a->max)
        return tc_json_fail(ctx, "max", err, "%.17g is below min %.17g", a->max, a->min);
    if (a->type == TC_ATTR_INT) {
        if (a->min != floor(a->min) || a->min < -2147483648.0)
            return tc_json_fail(ctx, "min", err, "an int range needs a 32-bit integer bound");
        if (a->max != floor(a->max) || a->max > 2147483647.0)
            return tc_json_fail(ctx, "max", err, "an int range needs a 32-bit integer bound");
    }
    return TC_OK;
}

/* Smallest slot that holds every value of the attribute. */
static void choose_slot(tc_attr *a)
{
    switch (a->type) {
    case TC_ATTR_REAL:
        a->width = 8;
        break;
    case TC_ATTR_BOOL:
    case TC_ATTR_CATEGORY:
        a->width = 1;
        break;
    case TC_ATTR_INT:
        a->is_signed = a->min < 0;
        if (a->is_signed)
            a->width = (a->min >= -128 && a->max <= 127)       ? 1
                       : (a->min >= -32768 && a->max <= 32767) ? 2
                                                               : 4;
        else
            a->width = a->max <= 255 ? 1 : a->max <= 65535 ? 2 : 4;
        break;
    }
}

static int parse_attr(const tc_jctx *ctx, json_t *obj, tc_attr *a, const char **level_slots,
                      tc_error *err)
{
    static const char *const keys[] = {"name",      "type",         "unit",   "min",
                                       "max",       "levels",       "labels", "missing",
                                       "protected", "derived_from", "source", "description",
                                       NULL};
    int rc;
    const char *type = NULL;
    tc_jctx c = *ctx;
    if (!json_is_object(obj))
        return tc_json_expect_object(&c, obj, keys, err);
    /* The name first, so every later message can say which attribute it is about. */
    if ((rc = tc_json_get_string(&c, obj, "name", 1, TC_NAME_MAX, &a->name, err)) != TC_OK)
        return rc;
    if (!valid_name(a->name))
        return tc_json_fail(&c, "name", err,
                            "'%s' is not a name: lower-case letter, then letters, digits, '_'",
                            a->name);
    c.subject = a->name;
    if ((rc = tc_json_expect_object(&c, obj, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, obj, "type", 1, 16, &type, err)) != TC_OK)
        return rc;
    int t;
    for (t = 0; t < 4; t++)
        if (strcmp(type, type_names[t]) == 0)
            break;
    if (t == 4)
        return tc_json_fail(&c, "type", err, "'%s' is not one of int, real, bool, category",
                            type);
    a->type = (tc_attr_type)t;
    a->unit = "";
    a->derived_from = NULL;
    if ((rc = tc_json_get_string(&c, obj, "unit", 0, 64, &a->unit, err)) != TC_OK ||
        (rc = tc_json_get_bool(&c, obj, "missing", 1, &a->missing_allowed, err)) != TC_OK ||
        (rc = tc_json_get_bool(&c, obj, "protected", 1, &a->protected_attr, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, obj, "derived_from", 0, TC_NAME_MAX, &a->derived_from,
                                 err)) != TC_OK ||
        (rc = tc_json_get_string(&c, obj, "source", 1, 256, &a->source, err)) != TC_OK)
        return rc;
    if (a->source[0] == '\0')
        return tc_json_fail(&c, "source", err, "must name the register that supplies it");
    if ((rc = parse_description(&c, obj, a, err)) != TC_OK)
        return rc;
    int has_range = json_object_get(obj, "min") != NULL || json_object_get(obj, "max") != NULL;
    int has_levels = json_object_get(obj, "levels") != NULL ||
                     json_object_get(obj, "labels") != NULL;
    switch (a->type) {
    case TC_ATTR_INT:
    case TC_ATTR_REAL:
        if (has_levels)
            return tc_json_fail(&c, "levels", err, "only a category has levels");
        rc = parse_range(&c, obj, a, err);
        break;
    case TC_ATTR_BOOL:
        if (has_range || has_levels)
            return tc_json_fail(&c, has_range ? "min" : "levels", err,
                                "a bool takes no range or levels");
        a->min = 0;
        a->max = 1;
        break;
    case TC_ATTR_CATEGORY:
        if (has_range)
            return tc_json_fail(&c, "min", err, "a category takes levels, not a range");
        rc = parse_levels(&c, obj, a, level_slots, err);
        break;
    }
    if (rc != TC_OK)
        return rc;
    choose_slot(a);
    return TC_OK;
}

/* Canonical JSON of the layout-defining content, hashed with SHA-256. */
static int compute_hash(catalog_impl *ci, tc_error *err)
{
    int rc = TC_OK;
    char *text = NULL;
    json_t *attrs = json_array();
    json_t *doc = json_pack("{s:s, s:o}", "catalog", ci->pub.name, "attributes", attrs);
    if (doc == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    for (size_t i = 0; i < ci->pub.n_attrs; i++) {
        const tc_attr *a = &ci->attrs[i];
        json_t *o = json_pack("{s:s, s:s, s:b, s:b}", "name", a->name, "type",
                              type_names[a->type], "missing", a->missing_allowed, "protected",
                              a->protected_attr);
        if (o == NULL) {
            rc = tc_errorf(err, TC_ENOMEM, "out of memory");
            goto out;
        }
        if (a->type == TC_ATTR_INT || a->type == TC_ATTR_REAL) {
            json_object_set_new(o, "min", json_real(a->min));
            json_object_set_new(o, "max", json_real(a->max));
        }
        if (a->type == TC_ATTR_CATEGORY) {
            json_t *lv = json_array();
            for (size_t j = 0; j < a->n_levels; j++)
                json_array_append_new(lv, json_string(a->levels[j]));
            json_object_set_new(o, "levels", lv);
        }
        if (a->derived_from != NULL)
            json_object_set_new(o, "derived_from", json_string(a->derived_from));
        json_array_append_new(attrs, o);
    }
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    if (text == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    unsigned int len = 0;
    if (!EVP_Digest(text, strlen(text), ci->pub.hash, &len, EVP_sha256(), NULL)) {
        rc = tc_errorf(err, TC_ECATALOG, "SHA-256 is not available from libcrypto");
        goto out;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < TC_HASH_LEN; i++) {
        ci->pub.hash_hex[2 * i] = hex[ci->pub.hash[i] >> 4];
        ci->pub.hash_hex[2 * i + 1] = hex[ci->pub.hash[i] & 15];
    }
    ci->pub.hash_hex[TC_HASH_HEX_LEN] = '\0';
out:
    free(text);
    json_decref(doc);
    return rc;
}

static int check_derivations(catalog_impl *ci, const tc_jctx *root, tc_error *err)
{
    tc_jctx ac = tc_jctx_key(root, "attributes");
    for (size_t i = 0; i < ci->pub.n_attrs; i++) {
        tc_attr *a = &ci->attrs[i];
        if (a->derived_from == NULL)
            continue;
        tc_jctx c = tc_jctx_index(&ac, i);
        c.subject = a->name;
        int j = tc_catalog_find(&ci->pub, a->derived_from);
        if (j < 0 || (size_t)j == i)
            return tc_json_fail(&c, "derived_from", err, "'%s' is not another attribute",
                                a->derived_from);
        if (ci->attrs[j].protected_attr && !a->protected_attr)
            return tc_json_fail(&c, "protected", err,
                                "derived from protected '%s', so it must be protected too",
                                a->derived_from);
    }
    return TC_OK;
}

int tc_catalog_parse(const char *text, size_t len, const char *origin, tc_catalog **out,
                     tc_error *err)
{
    static const char *const keys[] = {"catalog", "version", "description", "attributes", NULL};
    catalog_impl *ci = calloc(1, sizeof *ci);
    json_t *attrs = NULL;
    long version = 0;
    int rc;
    if (ci == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    if ((rc = tc_json_load_buffer(text, len, origin, TC_ECATALOG, &ci->root, err)) != TC_OK)
        goto fail;
    tc_jctx root = {.origin = origin, .code = TC_ECATALOG};
    if ((rc = tc_json_expect_object(&root, ci->root, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, ci->root, "catalog", 1, TC_NAME_MAX, &ci->pub.name,
                                 err)) != TC_OK ||
        (rc = tc_json_get_int(&root, ci->root, "version", 1, 1, 1000000, &version, err)) !=
            TC_OK ||
        (rc = tc_json_get_array(&root, ci->root, "attributes", 1, TC_CATALOG_ATTRS_MAX, &attrs,
                                err)) != TC_OK)
        goto fail;
    ci->pub.version = (int)version;
    size_t n = json_array_size(attrs);
    if (n == 0) {
        rc = tc_json_fail(&root, "attributes", err, "the catalog has no attributes");
        goto fail;
    }
    size_t n_level_slots = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *lv = json_object_get(json_array_get(attrs, i), "levels");
        size_t k = json_is_array(lv) ? json_array_size(lv) : 0;
        n_level_slots += 3 * (k > TC_LEVELS_MAX ? TC_LEVELS_MAX : k);
    }
    ci->attrs = calloc(n, sizeof *ci->attrs);
    ci->level_arrays = calloc(n_level_slots + 1, sizeof *ci->level_arrays);
    ci->level_orders = calloc(n * TC_LEVELS_MAX, 1);
    if (ci->attrs == NULL || ci->level_arrays == NULL || ci->level_orders == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    ci->pub.attrs = ci->attrs;
    tc_jctx ac = tc_jctx_key(&root, "attributes");
    size_t slot = 0, offset = 0;
    for (size_t i = 0; i < n; i++) {
        tc_jctx c = tc_jctx_index(&ac, i);
        if ((rc = parse_attr(&c, json_array_get(attrs, i), &ci->attrs[i],
                             ci->level_arrays + slot, err)) != TC_OK)
            goto fail;
        slot += 3 * ci->attrs[i].n_levels;
        if (ci->attrs[i].type == TC_ATTR_CATEGORY) {
            sort_levels(&ci->attrs[i], ci->level_orders + i * TC_LEVELS_MAX);
            ci->attrs[i].level_order = ci->level_orders + i * TC_LEVELS_MAX;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(ci->attrs[j].name, ci->attrs[i].name) == 0) {
                c.subject = ci->attrs[i].name;
                rc = tc_json_fail(&c, "name", err, "repeats attributes[%zu]", j);
                goto fail;
            }
        ci->attrs[i].offset = (uint16_t)offset;
        offset += ci->attrs[i].width;
        ci->pub.n_attrs = i + 1;
    }
    ci->pub.values_len = offset;
    if ((rc = check_derivations(ci, &root, err)) != TC_OK ||
        (rc = compute_hash(ci, err)) != TC_OK)
        goto fail;
    *out = &ci->pub;
    return TC_OK;
fail:
    tc_catalog_free(&ci->pub);
    return rc;
}

int tc_catalog_load(const char *path, tc_catalog **out, tc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tc_read_file(path, TC_CATALOG_FILE_MAX, TC_ECATALOG, &text, &len, err);
    if (rc == TC_OK)
        rc = tc_catalog_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void tc_catalog_free(tc_catalog *cat)
{
    if (cat == NULL)
        return;
    catalog_impl *ci = (catalog_impl *)cat;
    free(ci->attrs);
    free(ci->level_arrays);
    free(ci->level_orders);
    json_decref(ci->root);
    free(ci);
}

int tc_catalog_find(const tc_catalog *cat, const char *name)
{
    for (size_t i = 0; i < cat->n_attrs; i++)
        if (strcmp(cat->attrs[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *tc_attr_level_name(const tc_attr *attr, size_t i)
{
    if (attr->type == TC_ATTR_BOOL)
        return i ? "true" : "false";
    return attr->type == TC_ATTR_CATEGORY && i < attr->n_levels ? attr->levels[i] : "?";
}

int tc_attr_level(const tc_attr *attr, const char *level, size_t len)
{
    /* Binary search over the sorted order: loads parse a category value per row. */
    size_t lo = 0, hi = attr->n_levels;
    if (attr->level_order == NULL)
        return -1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *name = attr->levels[attr->level_order[mid]];
        int c = level_cmp(name, strlen(name), level, len);
        if (c == 0)
            return attr->level_order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Strict decimal integer: optional '-', digits only, no spaces, no '+', no leading zeros beyond
 * a single "0" are fine either way (CSV exports write "007" for codes, but ints are quantities). */
static int parse_int(const char *s, size_t len, double *out)
{
    size_t i = 0;
    int neg = 0;
    if (len > 0 && s[0] == '-')
        neg = 1, i = 1;
    if (i == len || len - i > 10)
        return 0;
    long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = (double)(neg ? -v : v);
    return 1;
}

/* Plain decimal number: digits, one optional '.', optional exponent. No hex, inf or nan. */
static int parse_real(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
              c == 'E'))
            return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    /* Only overflow (an infinite result) is refused. strtod reports underflow with ERANGE too,
     * but then gives the nearest double, subnormal or zero: a value tc_attr_check accepts and
     * tc_attr_format writes, so the text form of every valid value reads back. */
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int parse_bool(const char *s, size_t len, double *out)
{
    if ((len == 1 && s[0] == '1') || (len == 4 && memcmp(s, "true", 4) == 0))
        return *out = 1, 1;
    if ((len == 1 && s[0] == '0') || (len == 5 && memcmp(s, "false", 5) == 0))
        return *out = 0, 1;
    return 0;
}

static int range_error(const tc_attr *a, const char *shown, tc_error *err)
{
    if (a->type == TC_ATTR_INT)
        return tc_errorf(err, TC_EPARSE, "field '%s' value '%s': out of range [%.0f, %.0f]",
                         a->name, shown, a->min, a->max);
    return tc_errorf(err, TC_EPARSE, "field '%s' value '%s': out of range [%g, %g]", a->name,
                     shown, a->min, a->max);
}

int tc_attr_parse(const tc_attr *a, const char *text, size_t len, tc_value *out, tc_error *err)
{
    char shown[80];
    out->v = 0;
    out->present = 0;
    if (len == 0) {
        if (!a->missing_allowed)
            return tc_errorf(err, TC_EPARSE, "field '%s' value '': a value is required", a->name);
        return TC_OK;
    }
    double v = 0;
    int ok = 0;
    const char *expect = "";
    switch (a->type) {
    case TC_ATTR_INT:
        ok = parse_int(text, len, &v);
        expect = "not an integer";
        break;
    case TC_ATTR_REAL:
        ok = parse_real(text, len, &v);
        expect = "not a decimal number";
        break;
    case TC_ATTR_BOOL:
        ok = parse_bool(text, len, &v);
        expect = "not a boolean (0, 1, true, false)";
        break;
    case TC_ATTR_CATEGORY: {
        int level = tc_attr_level(a, text, len);
        ok = level >= 0;
        v = level;
        expect = "not a level of this category";
        break;
    }
    }
    if (!ok || v < a->min || v > a->max) {
        tc_error_quote(shown, sizeof shown, text, len);
        if (!ok)
            return tc_errorf(err, TC_EPARSE, "field '%s' value '%s': %s", a->name, shown,
                             expect);
        return range_error(a, shown, err);
    }
    out->v = v;
    out->present = 1;
    return TC_OK;
}

int tc_attr_check(const tc_attr *a, tc_value value, tc_error *err)
{
    if (!value.present) {
        if (!a->missing_allowed)
            return tc_errorf(err, TC_EPARSE, "field '%s': a value is required", a->name);
        return TC_OK;
    }
    int finite = isfinite(value.v);
    int whole = a->type == TC_ATTR_REAL || (finite && value.v == floor(value.v));
    if (finite && whole && value.v >= a->min && value.v <= a->max)
        return TC_OK;
    char shown[40];
    snprintf(shown, sizeof shown, "%.17g", value.v);
    if (!finite)
        return tc_errorf(err, TC_EPARSE, "field '%s' value '%s': not a finite number", a->name,
                         shown);
    if (!whole)
        return tc_errorf(err, TC_EPARSE, "field '%s' value '%s': not a whole number", a->name,
                         shown);
    return range_error(a, shown, err);
}

void tc_attr_format(const tc_attr *a, tc_value value, char *buf, size_t size)
{
    if (!value.present) {
        snprintf(buf, size, "%s", "");
        return;
    }
    switch (a->type) {
    case TC_ATTR_INT:
        snprintf(buf, size, "%.0f", value.v);
        break;
    case TC_ATTR_REAL:
        /* Shortest form that reads back to the same double, so files stay readable. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, value.v);
            if (strtod(buf, NULL) == value.v)
                break;
        }
        break;
    case TC_ATTR_BOOL:
        snprintf(buf, size, "%d", value.v != 0);
        break;
    case TC_ATTR_CATEGORY:
        /* A damaged record can hold a byte past the last level: show it, never read past the
         * levels. */
        if (value.v >= 0 && value.v < (double)a->n_levels)
            snprintf(buf, size, "%s", a->levels[(size_t)value.v]);
        else
            snprintf(buf, size, "?%.0f", value.v);
        break;
    }
}
