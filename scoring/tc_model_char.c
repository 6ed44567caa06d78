/* Characteristics: bins, levels, special values, missing rules, logistic terms (a part of the model
 * loader; tc_model.h is the contract). */
#include "tc_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_json.h"
#include "tc_model_impl.h"
#include "tc_schema.h"
#include "tc_record.h"

static const char *const transform_names[] = {"", "identity", "log1p", "clip", "indicator"};

/* ---- characteristics ---- */

/* The attribute a characteristic names: known, not protected, not derived from a protected one. */
static int resolve_attribute(const tc_jctx *c, json_t *obj, const tc_catalog *cat,
                             tc_characteristic *ch, tc_error *err)
{
    int rc = tc_json_get_string(c, obj, "attribute", 1, TC_NAME_MAX, &ch->attribute, err);
    if (rc != TC_OK)
        return rc;
    int i = tc_catalog_find(cat, ch->attribute);
    char q[TC_NAME_MAX + 8];
    if (i < 0)
        return tc_json_fail(c, "attribute", err, "'%s' is not an attribute of catalog '%s'",
                            tc_error_quote(q, sizeof q, ch->attribute, strlen(ch->attribute)),
                            cat->name);
    const tc_attr *a = &cat->attrs[i];
    if (a->protected_attr)
        return tc_json_fail(c, "attribute", err,
                            "'%s' is a protected attribute: no model may use it", a->name);
    if (a->derived_from != NULL) {
        int j = tc_catalog_find(cat, a->derived_from);
        if (j >= 0 && cat->attrs[j].protected_attr)
            return tc_json_fail(c, "attribute", err,
                                "'%s' is derived from protected '%s': no model may use it", a->name,
                                a->derived_from);
    }
    ch->attr_index = (size_t)i;
    ch->attr = a;
    return TC_OK;
}

static int find_or_add_reason(const tc_jctx *c, json_t *obj, model_impl *mi, const tc_reasons *dict,
                              tc_characteristic *ch, tc_error *err)
{
    const char *code = NULL;
    int rc = tc_json_get_string(c, obj, "reason_code", 1, 64, &code, err);
    if (rc != TC_OK)
        return rc;
    char q[80];
    const tc_reason_text *t = tc_reasons_find(dict, code);
    if (t == NULL)
        return tc_json_fail(c, "reason_code", err, "'%s' is not in the reason dictionary '%s'",
                            tc_error_quote(q, sizeof q, code, strlen(code)), dict->name);
    for (size_t g = 0; g < mi->pub.n_reasons; g++)
        if (strcmp(mi->reasons[g].code, code) == 0) {
            ch->reason = g;
            return TC_OK;
        }
    /* First use: the group takes the next place in the tie-break order. Texts are copied later. */
    tc_reason_group *g = &mi->reasons[mi->pub.n_reasons];
    g->code = t->code;
    g->vi = t->vi;
    g->en = t->en;
    ch->reason = mi->pub.n_reasons++;
    return TC_OK;
}

static int is_numeric(const tc_attr *a)
{
    return a->type == TC_ATTR_INT || a->type == TC_ATTR_REAL;
}

/* Per-characteristic bookkeeping while reading bins. */
typedef struct bin_check {
    int level_owner[TC_LEVELS_MAX + 1]; /* bin index + 1 that holds each level, 0 if none */
    double specials[TC_MODEL_SPECIALS_MAX];
    size_t special_owner[TC_MODEL_SPECIALS_MAX];
    size_t n_specials;
    size_t missing_bin; /* SIZE_MAX if none */
} bin_check;

static int parse_bound(const tc_jctx *c, json_t *b, const char *key, double open, double *out,
                       int *present, tc_error *err)
{
    json_t *v = json_object_get(b, key);
    *out = open;
    *present = v != NULL && !json_is_null(v);
    if (!*present)
        return TC_OK;
    tc_jctx kc = tc_jctx_key(c, key);
    return tc_json_number_value(&kc, v, out, err);
}

static int parse_bin_levels(const tc_jctx *c, json_t *lv, const tc_attr *a, size_t bin_index,
                            tc_bin *bin, double *values, bin_check *bc, tc_error *err)
{
    tc_jctx lc = tc_jctx_key(c, "levels");
    if (!json_is_array(lv) || json_array_size(lv) == 0)
        return tc_json_fail(c, "levels", err, "expected a non-empty array of %s",
                            a->type == TC_ATTR_BOOL ? "true/false" : "level names");
    if (json_array_size(lv) > VALUES_PER_ARRAY_MAX)
        return tc_json_fail(c, "levels", err, "more than %d elements", VALUES_PER_ARRAY_MAX);
    for (size_t k = 0; k < json_array_size(lv); k++) {
        json_t *e = json_array_get(lv, k);
        tc_jctx ec = tc_jctx_index(&lc, k);
        int level;
        char q[TC_LEVEL_LEN_MAX + 8];
        if (a->type == TC_ATTR_BOOL) {
            if (!json_is_boolean(e))
                return tc_json_fail(&ec, NULL, err, "'%s' is a bool: list true or false", a->name);
            level = json_is_true(e);
        } else {
            if (!json_is_string(e))
                return tc_json_fail(&ec, NULL, err, "expected a level name of '%s'", a->name);
            const char *s = json_string_value(e);
            level = tc_attr_level(a, s, json_string_length(e));
            if (level < 0)
                return tc_json_fail(&ec, NULL, err, "'%s' is not a level of '%s'",
                                    tc_error_quote(q, sizeof q, s, json_string_length(e)), a->name);
        }
        if (bc->level_owner[level] != 0) {
            if (a->type == TC_ATTR_BOOL)
                return tc_json_fail(&ec, NULL, err, "%s is already in bins[%d]",
                                    level ? "true" : "false", bc->level_owner[level] - 1);
            return tc_json_fail(&ec, NULL, err, "'%s' is already in bins[%d]", a->levels[level],
                                bc->level_owner[level] - 1);
        }
        bc->level_owner[level] = (int)bin_index + 1;
        values[k] = level;
    }
    bin->kind = TC_BIN_LEVELS;
    bin->values = values;
    bin->n_values = json_array_size(lv);
    return TC_OK;
}

static int parse_bin_special(const tc_jctx *c, json_t *sv, const tc_attr *a, size_t bin_index,
                             tc_bin *bin, double *values, bin_check *bc, tc_error *err)
{
    tc_jctx sc = tc_jctx_key(c, "special");
    char n1[40], n2[40], n3[40];
    if (!json_is_array(sv) || json_array_size(sv) == 0)
        return tc_json_fail(c, "special", err, "expected a non-empty array of values");
    for (size_t k = 0; k < json_array_size(sv); k++) {
        tc_jctx ec = tc_jctx_index(&sc, k);
        double v;
        int rc = tc_json_number_value(&ec, json_array_get(sv, k), &v, err);
        if (rc != TC_OK)
            return rc;
        if (v < a->min || v > a->max)
            return tc_json_fail(&ec, NULL, err, "%s is outside the range of '%s' [%s, %s]",
                                tc_schema_num(n1, v), a->name, tc_schema_num(n2, a->min),
                                tc_schema_num(n3, a->max));
        if (a->type == TC_ATTR_INT && v != floor(v))
            return tc_json_fail(&ec, NULL, err, "%s is not a whole number, and '%s' is an int",
                                tc_schema_num(n1, v), a->name);
        for (size_t j = 0; j < bc->n_specials; j++)
            if (bc->specials[j] == v)
                return tc_json_fail(&ec, NULL, err, "%s is already a special value in bins[%zu]",
                                    tc_schema_num(n1, v), bc->special_owner[j]);
        if (bc->n_specials == TC_MODEL_SPECIALS_MAX)
            return tc_json_fail(&ec, NULL, err,
                                "more than %d special values in one "
                                "characteristic",
                                TC_MODEL_SPECIALS_MAX);
        bc->specials[bc->n_specials] = v;
        bc->special_owner[bc->n_specials++] = bin_index;
        values[k] = v;
    }
    bin->kind = TC_BIN_SPECIAL;
    bin->values = values;
    bin->n_values = json_array_size(sv);
    return TC_OK;
}

static int parse_bin(const tc_jctx *c, json_t *b, const tc_attr *a, size_t bin_index, tc_bin *bin,
                     double *values, bin_check *bc, tc_error *err)
{
    static const char *const keys[] = {"lower", "upper",  "levels", "special", "missing",
                                       "woe",   "points", "label",  NULL};
    char n1[40], n2[40];
    int rc;
    if ((rc = tc_json_expect_object(c, b, keys, err)) != TC_OK)
        return rc;
    int has_interval = json_object_get(b, "lower") != NULL || json_object_get(b, "upper") != NULL;
    json_t *lv = json_object_get(b, "levels"), *sv = json_object_get(b, "special");
    json_t *mv = json_object_get(b, "missing");
    if (has_interval + (lv != NULL) + (sv != NULL) + (mv != NULL) > 1)
        return tc_json_fail(c, NULL, err,
                            "a bin is one of: an interval (lower/upper), levels, special "
                            "values, or missing");
    if ((rc = tc_json_get_number(c, b, "woe", 1, &bin->woe, err)) != TC_OK ||
        (rc = tc_json_get_number(c, b, "points", 1, &bin->points, err)) != TC_OK ||
        (rc = tc_model_get_label(c, b, &bin->label, err)) != TC_OK)
        return rc;
    bin->lower = -INFINITY;
    bin->upper = INFINITY;
    if (mv != NULL) {
        if (!json_is_true(mv))
            return tc_json_fail(c, "missing", err, "write \"missing\": true, or leave it out");
        if (!a->missing_allowed)
            return tc_json_fail(c, "missing", err,
                                "'%s' is never missing, so it takes no missing bin", a->name);
        if (bc->missing_bin != SIZE_MAX)
            return tc_json_fail(c, "missing", err, "bins[%zu] is already the missing bin",
                                bc->missing_bin);
        bc->missing_bin = bin_index;
        bin->kind = TC_BIN_MISSING;
        return TC_OK;
    }
    if (!is_numeric(a)) {
        if (has_interval || sv != NULL)
            return tc_json_fail(
                c, has_interval ? (json_object_get(b, "lower") ? "lower" : "upper") : "special",
                err, "'%s' is a %s: its bins list levels", a->name, tc_attr_type_name(a->type));
        if (lv == NULL)
            return tc_json_fail(c, NULL, err, "'%s' is a %s: a bin needs levels", a->name,
                                tc_attr_type_name(a->type));
        return parse_bin_levels(c, lv, a, bin_index, bin, values, bc, err);
    }
    if (lv != NULL)
        return tc_json_fail(c, "levels", err, "'%s' is %s %s: its bins are intervals, not levels",
                            a->name, a->type == TC_ATTR_INT ? "an" : "a",
                            tc_attr_type_name(a->type));
    if (sv != NULL)
        return parse_bin_special(c, sv, a, bin_index, bin, values, bc, err);
    int has_lower, has_upper;
    if ((rc = parse_bound(c, b, "lower", -INFINITY, &bin->lower, &has_lower, err)) != TC_OK ||
        (rc = parse_bound(c, b, "upper", INFINITY, &bin->upper, &has_upper, err)) != TC_OK)
        return rc;
    if (!(bin->lower < bin->upper))
        return tc_json_fail(c, "upper", err, "%s is not above lower %s",
                            tc_schema_num(n1, bin->upper), tc_schema_num(n2, bin->lower));
    bin->kind = TC_BIN_INTERVAL;
    return TC_OK;
}

/* Intervals, in file order, must tile the attribute's range: the first open below or starting at
 * the minimum, each starting where the previous ends, the last open above or past the maximum. */
static int check_intervals(const tc_jctx *chc, const tc_characteristic *ch, tc_error *err)
{
    const tc_attr *a = ch->attr;
    tc_jctx bsc = tc_jctx_key(chc, "bins");
    char n1[40], n2[40];
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind != TC_BIN_INTERVAL)
            continue;
        tc_jctx c = tc_jctx_index(&bsc, i);
        if (prev == SIZE_MAX) {
            if (b->lower > a->min)
                return tc_json_fail(
                    &c, "lower", err, "%s leaves values of '%s' from its minimum %s unbinned",
                    tc_schema_num(n1, b->lower), a->name, tc_schema_num(n2, a->min));
        } else {
            const tc_bin *p = &ch->bins[prev];
            tc_jctx pc = tc_jctx_index(&bsc, prev);
            if (isinf(p->upper))
                return tc_json_fail(&pc, "upper", err,
                                    "open above, but bins[%zu] follows: list intervals in "
                                    "ascending order",
                                    i);
            if (isinf(b->lower))
                return tc_json_fail(&c, "lower", err, "only the first interval may be open below");
            if (p->upper > b->lower)
                return tc_json_fail(&pc, "upper", err, "%s overlaps bins[%zu]",
                                    tc_schema_num(n1, p->upper), i);
            if (p->upper < b->lower)
                return tc_json_fail(&pc, "upper", err,
                                    "%s leaves a gap before bins[%zu] (lower %s)",
                                    tc_schema_num(n1, p->upper), i, tc_schema_num(n2, b->lower));
        }
        prev = i;
    }
    if (prev == SIZE_MAX)
        return tc_json_fail(chc, "bins", err, "'%s' is %s %s: at least one interval bin is needed",
                            a->name, a->type == TC_ATTR_INT ? "an" : "a",
                            tc_attr_type_name(a->type));
    if (ch->bins[prev].upper <= a->max) {
        tc_jctx c = tc_jctx_index(&bsc, prev);
        return tc_json_fail(&c, "upper", err,
                            "%s leaves values of '%s' up to its maximum %s "
                            "unbinned",
                            tc_schema_num(n1, ch->bins[prev].upper), a->name,
                            tc_schema_num(n2, a->max));
    }
    return TC_OK;
}

/* The bin a present value falls in (specials first), or SIZE_MAX. */
size_t tc_model_bin_of_value(const tc_characteristic *ch, double v)
{
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind == TC_BIN_SPECIAL)
            for (size_t k = 0; k < b->n_values; k++)
                if (b->values[k] == v)
                    return i;
    }
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind == TC_BIN_INTERVAL && v >= b->lower && v < b->upper)
            return i;
        if (b->kind == TC_BIN_LEVELS)
            for (size_t k = 0; k < b->n_values; k++)
                if (b->values[k] == v)
                    return i;
    }
    return SIZE_MAX;
}

/* An int attribute's bins are reachable if some whole value of its range lands in them. */
static int check_reachable(const tc_jctx *chc, const tc_characteristic *ch, tc_error *err)
{
    const tc_attr *a = ch->attr;
    tc_jctx bsc = tc_jctx_key(chc, "bins");
    char n1[40], n2[40];
    for (size_t i = 0; i < ch->n_bins; i++) {
        const tc_bin *b = &ch->bins[i];
        if (b->kind != TC_BIN_INTERVAL)
            continue;
        int reachable = b->lower <= a->max && b->upper > a->min;
        if (reachable && a->type == TC_ATTR_INT) {
            /* Whole values in [lower, upper) ∩ [min, max], skipping special values. */
            double lo = fmax(ceil(b->lower), a->min), hi = fmin(b->upper, a->max + 1);
            reachable = 0;
            for (double v = lo; v < hi && !reachable; v++)
                reachable = tc_model_bin_of_value(ch, v) == i;
        }
        if (!reachable) {
            tc_jctx c = tc_jctx_index(&bsc, i);
            return tc_json_fail(&c, NULL, err, "no value of '%s' in [%s, %s] falls in this bin",
                                a->name, tc_schema_num(n1, a->min), tc_schema_num(n2, a->max));
        }
    }
    return TC_OK;
}

static int parse_scorecard_char(const tc_jctx *c, json_t *obj, model_impl *mi,
                                tc_characteristic *ch, tc_bin *bins, double *values,
                                size_t *n_values, tc_error *err)
{
    json_t *arr = NULL;
    int rc = tc_json_get_array(c, obj, "bins", 1, TC_MODEL_BINS_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    if ((rc = tc_json_get_number(c, obj, "coefficient", 1, &ch->coefficient, err)) != TC_OK)
        return rc;
    size_t n = json_array_size(arr);
    if (n < 2)
        return tc_json_fail(c, "bins", err, "a characteristic needs at least 2 bins");
    bin_check *bc = calloc(1, sizeof *bc);
    if (bc == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    bc->missing_bin = SIZE_MAX;
    tc_jctx bsc = tc_jctx_key(c, "bins");
    const tc_attr *a = ch->attr;
    for (size_t i = 0; i < n; i++) {
        tc_jctx bcx = tc_jctx_index(&bsc, i);
        if ((rc = parse_bin(&bcx, json_array_get(arr, i), a, i, &bins[i], values + *n_values, bc,
                            err)) != TC_OK)
            goto out;
        *n_values += bins[i].n_values;
    }
    ch->bins = bins;
    ch->n_bins = n;
    ch->transform = TC_TRANSFORM_NONE;
    ch->n_params = 1;
    if (!is_numeric(a)) {
        size_t n_levels = a->type == TC_ATTR_BOOL ? 2 : a->n_levels;
        for (size_t l = 0; l < n_levels; l++)
            if (bc->level_owner[l] == 0) {
                if (a->type == TC_ATTR_BOOL)
                    rc = tc_json_fail(c, "bins", err, "%s of '%s' is in no bin",
                                      l ? "true" : "false", a->name);
                else
                    rc = tc_json_fail(c, "bins", err, "level '%s' of '%s' is in no bin",
                                      a->levels[l], a->name);
                goto out;
            }
    } else if ((rc = check_intervals(c, ch, err)) != TC_OK ||
               (rc = check_reachable(c, ch, err)) != TC_OK) {
        goto out;
    }
    if (a->missing_allowed && bc->missing_bin == SIZE_MAX) {
        rc = tc_json_fail(c, "bins", err, "'%s' may be missing, but no bin has \"missing\": true",
                          a->name);
        goto out;
    }
    ch->missing = bc->missing_bin != SIZE_MAX ? TC_MISSING_BIN : TC_MISSING_NONE;
    ch->max_points = -INFINITY;
    ch->min_points = INFINITY;
    for (size_t i = 0; i < n; i++) {
        ch->max_points = fmax(ch->max_points, bins[i].points);
        ch->min_points = fmin(ch->min_points, bins[i].points);
    }
    (void)mi;
out:
    free(bc);
    return rc;
}

/* A raw value for impute: a number in range, a level name, or true/false. */
static int parse_impute(const tc_jctx *c, json_t *v, const tc_attr *a, double *out, tc_error *err)
{
    char n1[40], n2[40], n3[40], q[TC_LEVEL_LEN_MAX + 8];
    switch (a->type) {
    case TC_ATTR_BOOL:
        if (!json_is_boolean(v))
            return tc_json_fail(c, NULL, err, "'%s' is a bool: impute true or false", a->name);
        *out = json_is_true(v);
        return TC_OK;
    case TC_ATTR_CATEGORY: {
        if (!json_is_string(v))
            return tc_json_fail(c, NULL, err, "'%s' is a category: impute one of its levels",
                                a->name);
        int l = tc_attr_level(a, json_string_value(v), json_string_length(v));
        if (l < 0)
            return tc_json_fail(
                c, NULL, err, "'%s' is not a level of '%s'",
                tc_error_quote(q, sizeof q, json_string_value(v), json_string_length(v)), a->name);
        *out = l;
        return TC_OK;
    }
    default: {
        int rc = tc_json_number_value(c, v, out, err);
        if (rc != TC_OK)
            return rc;
        if (*out < a->min || *out > a->max)
            return tc_json_fail(c, NULL, err, "%s is outside the range of '%s' [%s, %s]",
                                tc_schema_num(n1, *out), a->name, tc_schema_num(n2, a->min),
                                tc_schema_num(n3, a->max));
        return TC_OK;
    }
    }
}

static int parse_missing_rule(const tc_jctx *c, json_t *obj, tc_characteristic *ch, tc_error *err)
{
    static const char *const keys[] = {"impute", "indicator", NULL};
    const tc_attr *a = ch->attr;
    json_t *mv = json_object_get(obj, "missing");
    if (mv == NULL) {
        if (a->missing_allowed)
            return tc_json_fail(c, "missing", err,
                                "'%s' may be missing: give {\"impute\": value} or "
                                "{\"indicator\": coefficient}",
                                a->name);
        ch->missing = TC_MISSING_NONE;
        return TC_OK;
    }
    if (!a->missing_allowed)
        return tc_json_fail(c, "missing", err, "'%s' is never missing, so it takes no missing rule",
                            a->name);
    tc_jctx mc = tc_jctx_key(c, "missing");
    int rc = tc_json_expect_object(&mc, mv, keys, err);
    if (rc != TC_OK)
        return rc;
    json_t *imp = json_object_get(mv, "impute"), *ind = json_object_get(mv, "indicator");
    if ((imp != NULL) == (ind != NULL))
        return tc_json_fail(&mc, NULL, err, "give exactly one of impute or indicator");
    if (imp != NULL) {
        tc_jctx ic = tc_jctx_key(&mc, "impute");
        ch->missing = TC_MISSING_IMPUTE;
        return parse_impute(&ic, imp, a, &ch->impute_value, err);
    }
    ch->missing = TC_MISSING_INDICATOR;
    ch->n_params++;
    return tc_json_get_number(&mc, mv, "indicator", 1, &ch->missing_coefficient, err);
}

static int parse_logistic_char(const tc_jctx *c, json_t *obj, tc_characteristic *ch,
                               tc_level_term *terms, size_t *n_terms, tc_error *err)
{
    static const char *const clip_keys[] = {"min", "max", NULL};
    static const char *const term_keys[] = {"level", "coefficient", NULL};
    const tc_attr *a = ch->attr;
    int t = 0, rc;
    char n1[40], n2[40];
    if ((rc = tc_schema_get_enum(c, obj, "transform", 1, transform_names, 5,
                                 "identity, log1p, clip, indicator", &t, err)) != TC_OK)
        return rc;
    ch->transform = (tc_transform)t;
    int numeric = is_numeric(a);
    int ok =
        (ch->transform == TC_TRANSFORM_IDENTITY && a->type != TC_ATTR_CATEGORY) ||
        ((ch->transform == TC_TRANSFORM_LOG1P || ch->transform == TC_TRANSFORM_CLIP) && numeric) ||
        (ch->transform == TC_TRANSFORM_INDICATOR && a->type == TC_ATTR_CATEGORY);
    if (!ok)
        return tc_json_fail(c, "transform", err, "%s does not apply to '%s', %s %s",
                            transform_names[t], a->name, a->type == TC_ATTR_INT ? "an" : "a",
                            tc_attr_type_name(a->type));
    json_t *clip = json_object_get(obj, "clip"), *levels = json_object_get(obj, "levels");
    if (clip != NULL && ch->transform != TC_TRANSFORM_CLIP)
        return tc_json_fail(c, "clip", err, "only the clip transform takes a clip range");
    if (levels != NULL && ch->transform != TC_TRANSFORM_INDICATOR)
        return tc_json_fail(c, "levels", err, "only the indicator transform takes levels");
    if (ch->transform == TC_TRANSFORM_INDICATOR) {
        if (json_object_get(obj, "coefficient") != NULL)
            return tc_json_fail(c, "coefficient", err,
                                "an indicator transform has one coefficient per level, in "
                                "levels");
        json_t *arr = NULL;
        if ((rc = tc_json_get_array(c, obj, "levels", 1, TC_LEVELS_MAX, &arr, err)) != TC_OK)
            return rc;
        if (json_array_size(arr) == 0)
            return tc_json_fail(c, "levels", err, "list at least one level");
        tc_jctx lc = tc_jctx_key(c, "levels");
        for (size_t k = 0; k < json_array_size(arr); k++) {
            tc_jctx ec = tc_jctx_index(&lc, k);
            json_t *e = json_array_get(arr, k);
            const char *level = NULL;
            char q[TC_LEVEL_LEN_MAX + 8];
            if ((rc = tc_json_expect_object(&ec, e, term_keys, err)) != TC_OK ||
                (rc = tc_json_get_string(&ec, e, "level", 1, TC_LEVEL_LEN_MAX, &level, err)) !=
                    TC_OK ||
                (rc = tc_json_get_number(&ec, e, "coefficient", 1, &terms[k].coefficient, err)) !=
                    TC_OK)
                return rc;
            int l = tc_attr_level(a, level, strlen(level));
            if (l < 0)
                return tc_json_fail(&ec, "level", err, "'%s' is not a level of '%s'",
                                    tc_error_quote(q, sizeof q, level, strlen(level)), a->name);
            for (size_t j = 0; j < k; j++)
                if (terms[j].level == (size_t)l)
                    return tc_json_fail(&ec, "level", err, "'%s' repeats levels[%zu]", level, j);
            terms[k].level = (size_t)l;
        }
        ch->levels = terms;
        ch->n_levels = json_array_size(arr);
        *n_terms += ch->n_levels;
        ch->n_params = ch->n_levels;
    } else {
        if ((rc = tc_json_get_number(c, obj, "coefficient", 1, &ch->coefficient, err)) != TC_OK)
            return rc;
        ch->n_params = 1;
        if (ch->transform == TC_TRANSFORM_LOG1P && !(a->min > -1))
            return tc_json_fail(c, "transform", err,
                                "log1p needs values above -1, and '%s' goes down to %s", a->name,
                                tc_schema_num(n1, a->min));
        if (ch->transform == TC_TRANSFORM_CLIP) {
            if (clip == NULL)
                return tc_json_fail(c, "clip", err, "the clip transform needs {\"min\", \"max\"}");
            tc_jctx cc = tc_jctx_key(c, "clip");
            if ((rc = tc_json_expect_object(&cc, clip, clip_keys, err)) != TC_OK ||
                (rc = tc_json_get_number(&cc, clip, "min", 1, &ch->clip_min, err)) != TC_OK ||
                (rc = tc_json_get_number(&cc, clip, "max", 1, &ch->clip_max, err)) != TC_OK)
                return rc;
            if (!(ch->clip_min < ch->clip_max))
                return tc_json_fail(&cc, "max", err, "%s is not above min %s",
                                    tc_schema_num(n1, ch->clip_max),
                                    tc_schema_num(n2, ch->clip_min));
        }
    }
    if ((rc = parse_missing_rule(c, obj, ch, err)) != TC_OK)
        return rc;
    /* The best and worst points over the attribute's whole domain, missing included. */
    double cand[TC_LEVELS_MAX + 3];
    size_t nc = 0;
    double x[TC_LEVELS_MAX + 1];
    if (a->type == TC_ATTR_CATEGORY || a->type == TC_ATTR_BOOL) {
        size_t nl = a->type == TC_ATTR_BOOL ? 2 : a->n_levels;
        for (size_t l = 0; l < nl; l++)
            cand[nc++] = tc_model_char_terms(ch, (tc_value){(double)l, 1}, x);
    } else {
        /* Every transform is monotone, so the extremes are at the ends of the range. */
        cand[nc++] = tc_model_char_terms(ch, (tc_value){a->min, 1}, x);
        cand[nc++] = tc_model_char_terms(ch, (tc_value){a->max, 1}, x);
    }
    if (ch->missing != TC_MISSING_NONE)
        cand[nc++] = tc_model_char_terms(ch, (tc_value){0, 0}, x);
    ch->max_points = -INFINITY;
    ch->min_points = INFINITY;
    for (size_t k = 0; k < nc; k++) {
        /* points = −factor·contribution; the factor is applied by the caller (parse order). */
        ch->max_points = fmax(ch->max_points, -cand[k]);
        ch->min_points = fmin(ch->min_points, -cand[k]);
    }
    return TC_OK;
}

double tc_model_char_terms(const tc_characteristic *c, tc_value v, double *x)
{
    size_t main_n = c->missing == TC_MISSING_INDICATOR ? c->n_params - 1 : c->n_params;
    double eta = 0;
    if (!v.present) {
        if (c->missing == TC_MISSING_INDICATOR) {
            for (size_t k = 0; k < main_n; k++)
                x[k] = 0;
            x[main_n] = 1;
            for (size_t k = 0; k < main_n; k++)
                eta += (c->transform == TC_TRANSFORM_INDICATOR ? c->levels[k].coefficient
                                                               : c->coefficient) *
                       x[k];
            eta += c->missing_coefficient * x[main_n];
            return eta;
        }
        v.v = c->missing == TC_MISSING_IMPUTE ? c->impute_value : 0;
    }
    switch (c->transform) {
    case TC_TRANSFORM_INDICATOR:
        for (size_t k = 0; k < main_n; k++) {
            x[k] = v.v == (double)c->levels[k].level ? 1.0 : 0.0;
            eta += c->levels[k].coefficient * x[k];
        }
        break;
    case TC_TRANSFORM_LOG1P:
        x[0] = log1p(v.v);
        eta += c->coefficient * x[0];
        break;
    case TC_TRANSFORM_CLIP:
        x[0] = fmin(fmax(v.v, c->clip_min), c->clip_max);
        eta += c->coefficient * x[0];
        break;
    default:
        x[0] = v.v;
        eta += c->coefficient * x[0];
        break;
    }
    if (c->missing == TC_MISSING_INDICATOR) {
        x[main_n] = 0;
        eta += c->missing_coefficient * x[main_n];
    }
    return eta;
}

/* Upper bounds on arrays the characteristics need, from the raw JSON (before validation). */
static void count_parts(json_t *chars, size_t *bins, size_t *values, size_t *terms)
{
    *bins = *values = *terms = 0;
    for (size_t i = 0; i < json_array_size(chars) && i < TC_MODEL_CHARS_MAX; i++) {
        json_t *ch = json_array_get(chars, i);
        json_t *b = json_object_get(ch, "bins");
        size_t nb = json_is_array(b) ? json_array_size(b) : 0;
        nb = nb > TC_MODEL_BINS_MAX ? TC_MODEL_BINS_MAX : nb;
        *bins += nb;
        for (size_t k = 0; k < nb; k++) {
            json_t *bin = json_array_get(b, k);
            json_t *l = json_object_get(bin, "levels"), *s = json_object_get(bin, "special");
            size_t nl = json_is_array(l) ? json_array_size(l) : 0;
            size_t ns = json_is_array(s) ? json_array_size(s) : 0;
            *values += (nl > VALUES_PER_ARRAY_MAX ? VALUES_PER_ARRAY_MAX : nl) +
                       (ns > TC_MODEL_SPECIALS_MAX ? TC_MODEL_SPECIALS_MAX : ns);
        }
        json_t *lv = json_object_get(ch, "levels");
        size_t nt = json_is_array(lv) ? json_array_size(lv) : 0;
        *terms += nt > TC_LEVELS_MAX ? TC_LEVELS_MAX : nt;
    }
}

/* Points are the WoE scaled by −factor·coefficient, plus a constant per characteristic, rounded:
 * so within a characteristic points + factor·coefficient·WoE may vary by at most one point, and
 * the constants must add up to offset − factor·intercept within half a point each. Anything else
 * means the points and the PD would tell different stories. */
static int check_points(const tc_jctx *root, model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    tc_jctx cc = tc_jctx_key(root, "characteristics");
    char n1[40], n2[40], n3[40];
    double sum_mid = 0;
    for (size_t j = 0; j < m->n_chars; j++) {
        const tc_characteristic *ch = &mi->chars[j];
        tc_jctx c = tc_jctx_index(&cc, j);
        tc_jctx bsc = tc_jctx_key(&c, "bins");
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < ch->n_bins; i++) {
            double implied = ch->bins[i].points + m->factor * ch->coefficient * ch->bins[i].woe;
            lo = fmin(lo, implied);
            hi = fmax(hi, implied);
            if (hi - lo > 1.0 + 1e-9 * fmax(fabs(lo), fabs(hi))) {
                tc_jctx bc = tc_jctx_index(&bsc, i);
                return tc_json_fail(&bc, "points", err,
                                    "%s does not follow from coefficient x woe: the bins imply "
                                    "offsets from %.2f to %.2f, more than the 1 point rounding "
                                    "allows",
                                    tc_schema_num(n1, ch->bins[i].points), lo, hi);
            }
        }
        sum_mid += (lo + hi) / 2;
    }
    double want = m->offset - m->factor * m->intercept;
    double tol = 0.5 * (double)m->n_chars + 1e-6;
    if (fabs(sum_mid - want) > tol)
        return tc_json_fail(root, "intercept", err,
                            "%s gives offset - factor x intercept = %s, but the points add up to "
                            "%s (at most %.1f apart from rounding)",
                            tc_schema_num(n1, m->intercept), tc_schema_num(n2, want),
                            tc_schema_num(n3, sum_mid), tol);
    return TC_OK;
}

int tc_model_parse_chars(const tc_jctx *root, json_t *doc, model_impl *mi, const tc_reasons *dict,
                         tc_error *err)
{
    static const char *const sc_keys[] = {"attribute",   "reason_code", "label", "baseline",
                                          "coefficient", "bins",        NULL};
    static const char *const lr_keys[] = {"attribute", "reason_code", "label", "baseline",
                                          "transform", "coefficient", "clip",  "levels",
                                          "missing",   NULL};
    tc_model *m = &mi->pub;
    json_t *arr = NULL;
    int rc = tc_json_get_array(root, doc, "characteristics", 1, TC_MODEL_CHARS_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    size_t n = json_array_size(arr);
    if (n == 0)
        return tc_json_fail(root, "characteristics", err, "a model needs a characteristic");
    size_t n_bins, n_values, n_terms;
    count_parts(arr, &n_bins, &n_values, &n_terms);
    mi->chars = calloc(n, sizeof *mi->chars);
    mi->bins = calloc(n_bins + 1, sizeof *mi->bins);
    mi->values = calloc(n_values + 1, sizeof *mi->values);
    mi->terms = calloc(n_terms + 1, sizeof *mi->terms);
    mi->reasons = calloc(n, sizeof *mi->reasons);
    if (mi->chars == NULL || mi->bins == NULL || mi->values == NULL || mi->terms == NULL ||
        mi->reasons == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    m->chars = mi->chars;
    m->reasons = mi->reasons;
    tc_jctx cc = tc_jctx_key(root, "characteristics");
    size_t used_bins = 0, used_values = 0, used_terms = 0, param = 1;
    for (size_t j = 0; j < n; j++) {
        tc_jctx c = tc_jctx_index(&cc, j);
        json_t *obj = json_array_get(arr, j);
        tc_characteristic *ch = &mi->chars[j];
        if ((rc = tc_json_expect_object(&c, obj, m->kind == TC_MODEL_SCORECARD ? sc_keys : lr_keys,
                                        err)) != TC_OK ||
            (rc = resolve_attribute(&c, obj, m->catalog, ch, err)) != TC_OK)
            return rc;
        for (size_t k = 0; k < j; k++)
            if (mi->chars[k].attr_index == ch->attr_index)
                return tc_json_fail(&c, "attribute", err,
                                    "'%s' is already used by "
                                    "characteristics[%zu]",
                                    ch->attribute, k);
        if ((rc = find_or_add_reason(&c, obj, mi, dict, ch, err)) != TC_OK ||
            (rc = tc_model_get_label(&c, obj, &ch->label, err)) != TC_OK)
            return rc;
        ch->has_baseline = json_object_get(obj, "baseline") != NULL;
        if ((rc = tc_json_get_number(&c, obj, "baseline", 0, &ch->baseline, err)) != TC_OK)
            return rc;
        if (m->reason_method == TC_REASON_BASELINE && !ch->has_baseline)
            return tc_json_fail(&c, "baseline", err,
                                "reasons.method is baseline, so every characteristic needs one");
        if (m->kind == TC_MODEL_SCORECARD) {
            if ((rc = parse_scorecard_char(&c, obj, mi, ch, mi->bins + used_bins, mi->values,
                                           &used_values, err)) != TC_OK)
                return rc;
            used_bins += ch->n_bins;
        } else {
            if ((rc = parse_logistic_char(&c, obj, ch, mi->terms + used_terms, &used_terms, err)) !=
                TC_OK)
                return rc;
            ch->max_points *= m->factor;
            ch->min_points *= m->factor;
        }
        ch->param = param;
        param += ch->n_params;
        if (param > TC_MODEL_PARAMS_MAX)
            return tc_json_fail(&c, NULL, err, "the model has more than %d coefficients",
                                TC_MODEL_PARAMS_MAX);
        m->n_chars = j + 1;
    }
    m->n_params = param;
    m->base_points = m->kind == TC_MODEL_LOGISTIC ? m->offset - m->factor * m->intercept : 0;
    m->points_min = m->points_max = m->base_points;
    for (size_t j = 0; j < n; j++) {
        m->points_min += mi->chars[j].min_points;
        m->points_max += mi->chars[j].max_points;
    }
    if (m->kind == TC_MODEL_SCORECARD)
        return check_points(root, mi, err);
    return TC_OK;
}
