/* The training spec: parsed as strictly as a model file (unknown fields refused, messages with
 * the JSON path). Format: models/README.md, "Training spec (`tinchap train`)". */
#include "tc_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_json.h"
#include "tc_schema.h"
#include "tc_time.h"

typedef struct spec_impl {
    tc_train_spec pub; /* first: a tc_train_spec * is a spec_impl * */
    json_t *root;      /* owns the strings */
    char *origin;
} spec_impl;

/* tc_schema_get_enum over a NULL-terminated list of names. */
static int get_choice(const tc_jctx *c, json_t *obj, const char *key, int required,
                      const char *const names[], const char *expect, int *out, tc_error *err)
{
    size_t n = 0;
    while (names[n] != NULL)
        n++;
    return tc_schema_get_enum(c, obj, key, required, names, n, expect, out, err);
}

/* A number field within [lo, hi] (open ends when lo_open / hi_open). */
static int get_range(const tc_jctx *c, json_t *obj, const char *key, double lo, int lo_open,
                     double hi, int hi_open, double *out, tc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TC_OK;
    double d = *out;
    int rc = tc_json_get_number(c, obj, key, 0, &d, err);
    if (rc != TC_OK)
        return rc;
    if ((lo_open ? !(d > lo) : !(d >= lo)) || (hi_open ? !(d < hi) : !(d <= hi)))
        return tc_json_fail(c, key, err, "%g is outside %s%g, %g%s", d, lo_open ? "(" : "[", lo, hi,
                            hi_open ? ")" : "]");
    *out = d;
    return TC_OK;
}

static int get_int_field(const tc_jctx *c, json_t *obj, const char *key, long lo, long hi, int *out,
                         tc_error *err)
{
    long v = *out;
    int rc = tc_json_get_int(c, obj, key, 0, lo, hi, &v, err);
    if (rc == TC_OK)
        *out = (int)v;
    return rc;
}

static int parse_description(const tc_jctx *c, json_t *model, tc_train_spec *s, tc_error *err)
{
    static const char *const keys[] = {"vi", "en", NULL};
    json_t *d = NULL;
    int rc = tc_json_get_object(c, model, "description", 1, &d, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx dc = tc_jctx_key(c, "description");
    if ((rc = tc_json_expect_object(&dc, d, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&dc, d, "vi", 1, 4096, &s->description_vi, err)) != TC_OK ||
        (rc = tc_json_get_string(&dc, d, "en", 1, 4096, &s->description_en, err)) != TC_OK)
        return rc;
    if (s->description_vi[0] == '\0' || s->description_en[0] == '\0')
        return tc_json_fail(&dc, s->description_vi[0] == '\0' ? "vi" : "en", err,
                            "must not be empty");
    return TC_OK;
}

/* model.card: the model card's words; the trainer adds the figures it measures. */
static int parse_card(const tc_jctx *c, json_t *model, tc_train_spec *s, tc_error *err)
{
    static const char *const keys[] = {"intended_use", "training_data", "limitations", NULL};
    static const char *const fields[] = {"intended_use", "training_data"};
    const char **out[] = {&s->card_intended_use, &s->card_training_data};
    json_t *card = NULL;
    int rc = tc_json_get_object(c, model, "card", 0, &card, err);
    if (rc != TC_OK || card == NULL)
        return rc;
    tc_jctx cc = tc_jctx_key(c, "card");
    if ((rc = tc_json_expect_object(&cc, card, keys, err)) != TC_OK)
        return rc;
    for (size_t i = 0; i < 2; i++) {
        if ((rc = tc_json_get_string(&cc, card, fields[i], 0, TC_MODEL_CARD_TEXT_MAX, out[i],
                                     err)) != TC_OK)
            return rc;
        if (*out[i] != NULL && (*out[i])[0] == '\0')
            return tc_json_fail(&cc, fields[i], err, "must not be empty");
    }
    if ((rc = tc_schema_limitations(&cc, card, s->card_limitations, &s->n_card_limitations, err)) !=
        TC_OK)
        return rc;
    return TC_OK;
}

static int parse_model(const tc_jctx *root, json_t *doc, tc_train_spec *s, tc_error *err)
{
    static const char *const keys[] = {"name",       "version",     "product", "status",
                                       "created_at", "description", "card",    NULL};
    static const char *const statuses[] = {"champion", "challenger", "retired", NULL};
    json_t *m = NULL;
    long version = 0;
    int status = TC_STATUS_CHALLENGER, rc;
    if ((rc = tc_json_get_object(root, doc, "model", 1, &m, err)) != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(root, "model");
    if ((rc = tc_json_expect_object(&c, m, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, m, "name", 1, TC_MODEL_NAME_MAX, &s->name, err)) != TC_OK)
        return rc;
    if (!tc_schema_name_ok(s->name))
        return tc_json_fail(&c, "name", err,
                            "'%s' is not a name: a lower-case letter, then letters, digits, '-'",
                            s->name);
    if ((rc = tc_json_get_int(&c, m, "version", 1, 1, 1000000, &version, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, m, "product", 1, TC_MODEL_NAME_MAX, &s->product, err)) !=
            TC_OK)
        return rc;
    s->version = (int)version;
    if (!tc_schema_name_ok(s->product))
        return tc_json_fail(&c, "product", err,
                            "'%s' is not a product: a lower-case letter, then letters, digits, "
                            "'-'",
                            s->product);
    if ((rc = get_choice(&c, m, "status", 0, statuses, "champion, challenger, retired", &status,
                         err)) != TC_OK)
        return rc;
    s->status = (tc_model_status)status;
    s->created_at = NULL;
    if ((rc = tc_json_get_string(&c, m, "created_at", 0, 32, &s->created_at, err)) != TC_OK)
        return rc;
    int64_t t;
    if (s->created_at != NULL && tc_time_parse(s->created_at, strlen(s->created_at), &t) != TC_OK)
        return tc_json_fail(&c, "created_at", err,
                            "'%s' is not a UTC time like 2026-11-01 or 2026-11-01T00:00:00Z",
                            s->created_at);
    if ((rc = parse_description(&c, m, s, err)) != TC_OK)
        return rc;
    return parse_card(&c, m, s, err);
}

static int parse_data(const tc_jctx *root, json_t *doc, tc_train_spec *s, tc_error *err)
{
    static const char *const keys[] = {"target", "weight", "date", NULL};
    json_t *d = NULL;
    int rc;
    if ((rc = tc_json_get_object(root, doc, "data", 1, &d, err)) != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(root, "data");
    if ((rc = tc_json_expect_object(&c, d, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "target", 1, TC_DATASET_NAME_MAX, &s->target, err)) !=
            TC_OK ||
        (rc = tc_json_get_string(&c, d, "weight", 0, TC_DATASET_NAME_MAX, &s->weight, err)) !=
            TC_OK ||
        (rc = tc_json_get_string(&c, d, "date", 0, TC_DATASET_NAME_MAX, &s->date, err)) != TC_OK)
        return rc;
    const char *cols[3] = {s->target, s->weight, s->date};
    const char *keyname[3] = {"target", "weight", "date"};
    for (int i = 0; i < 3; i++) {
        if (cols[i] == NULL)
            continue;
        if (cols[i][0] == '\0')
            return tc_json_fail(&c, keyname[i], err, "must not be empty");
        if (tc_catalog_find(s->catalog, cols[i]) >= 0)
            return tc_json_fail(&c, keyname[i], err,
                                "'%s' is an attribute of catalog '%s', not a %s column", cols[i],
                                s->catalog->name, keyname[i]);
        for (int j = 0; j < i; j++)
            if (cols[j] != NULL && strcmp(cols[i], cols[j]) == 0)
                return tc_json_fail(&c, keyname[i], err, "'%s' is already the %s column", cols[i],
                                    keyname[j]);
    }
    return TC_OK;
}

static int parse_split(const tc_jctx *root, json_t *doc, tc_train_spec *s, tc_error *err)
{
    static const char *const keys[] = {"method", "validation_share", "seed", "validation_from",
                                       NULL};
    static const char *const methods[] = {"none", "random", "date", NULL};
    json_t *sp = NULL;
    int method = TC_SPLIT_RANDOM, rc;
    s->split = TC_SPLIT_RANDOM;
    s->validation_share = 0.3;
    s->seed = 1;
    if ((rc = tc_json_get_object(root, doc, "split", 0, &sp, err)) != TC_OK || sp == NULL)
        return rc;
    tc_jctx c = tc_jctx_key(root, "split");
    if ((rc = tc_json_expect_object(&c, sp, keys, err)) != TC_OK ||
        (rc = get_choice(&c, sp, "method", 1, methods, "none, random, date", &method, err)) !=
            TC_OK)
        return rc;
    s->split = (tc_split_method)method;
    if ((rc = get_range(&c, sp, "validation_share", 0, 1, 1, 1, &s->validation_share, err)) !=
        TC_OK)
        return rc;
    long seed = 1;
    if ((rc = tc_json_get_int(&c, sp, "seed", 0, 0, 4294967295L, &seed, err)) != TC_OK)
        return rc;
    s->seed = (uint32_t)seed;
    const char *from = NULL;
    if ((rc = tc_json_get_string(&c, sp, "validation_from", 0, 32, &from, err)) != TC_OK)
        return rc;
    if (s->split != TC_SPLIT_RANDOM && json_object_get(sp, "seed") != NULL)
        return tc_json_fail(&c, "seed", err, "only a random split takes a seed");
    if (s->split == TC_SPLIT_NONE && json_object_get(sp, "validation_share") != NULL)
        return tc_json_fail(&c, "validation_share", err,
                            "method none keeps every row for "
                            "development");
    if (from != NULL) {
        if (s->split != TC_SPLIT_DATE)
            return tc_json_fail(&c, "validation_from", err, "only a date split takes a date");
        if (json_object_get(sp, "validation_share") != NULL)
            return tc_json_fail(&c, "validation_from", err,
                                "give validation_from or validation_share, not both");
        if (tc_time_parse(from, strlen(from), &s->validation_from) != TC_OK)
            return tc_json_fail(&c, "validation_from", err, "'%s' is not a date like 2026-05-01",
                                from);
        s->has_validation_from = 1;
    }
    if (s->split == TC_SPLIT_DATE && s->date == NULL)
        return tc_json_fail(&c, "method", err, "a date split needs data.date, the date column");
    return TC_OK;
}

static int parse_binning_opts(const tc_jctx *c, json_t *obj, tc_binning_options *b, tc_error *err)
{
    int rc;
    if ((rc = get_int_field(c, obj, "fine_classes", 2, TC_BINNING_FINE_MAX, &b->fine_classes,
                            err)) != TC_OK ||
        (rc = get_range(c, obj, "min_bin_share", 0, 0, 0.5, 0, &b->min_bin_share, err)) != TC_OK ||
        (rc = get_range(c, obj, "min_event_share", 0, 0, 0.5, 0, &b->min_event_share, err)) !=
            TC_OK ||
        (rc = get_int_field(c, obj, "max_bins", 2, TC_BINNING_VALUE_BINS_MAX, &b->max_bins, err)) !=
            TC_OK)
        return rc;
    return TC_OK;
}

static int parse_sections(const tc_jctx *root, json_t *doc, tc_train_spec *s,
                          tc_binning_options *bin_defaults, tc_error *err)
{
    static const char *const bkeys[] = {"fine_classes", "min_bin_share", "min_event_share",
                                        "max_bins",     "smoothing",     NULL};
    static const char *const skeys[] = {"min_iv", "suspicious_iv", "max_correlation", NULL};
    static const char *const fkeys[] = {"l2", "max_iterations", "tolerance", NULL};
    json_t *o = NULL;
    int rc;
    tc_binning_options_default(bin_defaults);
    if ((rc = tc_json_get_object(root, doc, "binning", 0, &o, err)) != TC_OK)
        return rc;
    if (o != NULL) {
        tc_jctx c = tc_jctx_key(root, "binning");
        if ((rc = tc_json_expect_object(&c, o, bkeys, err)) != TC_OK ||
            (rc = parse_binning_opts(&c, o, bin_defaults, err)) != TC_OK ||
            (rc = get_range(&c, o, "smoothing", 0, 1, 100, 0, &bin_defaults->smoothing, err)) !=
                TC_OK)
            return rc;
    }
    s->min_iv = 0.02;
    s->suspicious_iv = 0.5;
    s->max_correlation = 0.7;
    o = NULL;
    if ((rc = tc_json_get_object(root, doc, "selection", 0, &o, err)) != TC_OK)
        return rc;
    if (o != NULL) {
        tc_jctx c = tc_jctx_key(root, "selection");
        if ((rc = tc_json_expect_object(&c, o, skeys, err)) != TC_OK ||
            (rc = get_range(&c, o, "min_iv", 0, 0, 10, 0, &s->min_iv, err)) != TC_OK ||
            (rc = get_range(&c, o, "suspicious_iv", 0, 1, 100, 0, &s->suspicious_iv, err)) !=
                TC_OK ||
            (rc = get_range(&c, o, "max_correlation", 0, 1, 1, 0, &s->max_correlation, err)) !=
                TC_OK)
            return rc;
    }
    s->l2 = 0;
    s->max_iterations = TC_LOGIT_ITER_DEFAULT;
    s->tolerance = TC_LOGIT_TOL_DEFAULT;
    o = NULL;
    if ((rc = tc_json_get_object(root, doc, "fit", 0, &o, err)) != TC_OK)
        return rc;
    if (o != NULL) {
        tc_jctx c = tc_jctx_key(root, "fit");
        if ((rc = tc_json_expect_object(&c, o, fkeys, err)) != TC_OK ||
            (rc = get_range(&c, o, "l2", 0, 0, 1e6, 0, &s->l2, err)) != TC_OK ||
            (rc = get_int_field(&c, o, "max_iterations", 1, TC_LOGIT_ITER_MAX, &s->max_iterations,
                                err)) != TC_OK ||
            (rc = get_range(&c, o, "tolerance", 0, 1, 1e-2, 0, &s->tolerance, err)) != TC_OK)
            return rc;
    }
    return TC_OK;
}

static int parse_scaling(const tc_jctx *root, json_t *doc, tc_train_spec *s, tc_error *err)
{
    static const char *const keys[] = {"points", "odds", "pdo", "rounding", NULL};
    static const char *const bkeys[] = {"min", "max", NULL};
    static const char *const rkeys[] = {"method", "count", NULL};
    static const char *const methods[] = {"max", "baseline", NULL};
    json_t *o = NULL;
    int rc;
    s->points = 600;
    s->odds = 50;
    s->pdo = 20;
    s->rounding = 1;
    if ((rc = tc_json_get_object(root, doc, "scaling", 0, &o, err)) != TC_OK)
        return rc;
    if (o != NULL) {
        tc_jctx c = tc_jctx_key(root, "scaling");
        if ((rc = tc_json_expect_object(&c, o, keys, err)) != TC_OK ||
            (rc = get_range(&c, o, "points", -1e6, 0, 1e6, 0, &s->points, err)) != TC_OK ||
            (rc = get_range(&c, o, "odds", 0, 1, 1e9, 0, &s->odds, err)) != TC_OK ||
            (rc = get_range(&c, o, "pdo", 0, 1, 1e6, 0, &s->pdo, err)) != TC_OK ||
            (rc = get_range(&c, o, "rounding", 0, 0, 1, 0, &s->rounding, err)) != TC_OK)
            return rc;
    }
    s->score_min = 300;
    s->score_max = 850;
    o = NULL;
    if ((rc = tc_json_get_object(root, doc, "score_bounds", 0, &o, err)) != TC_OK)
        return rc;
    if (o != NULL) {
        tc_jctx c = tc_jctx_key(root, "score_bounds");
        if ((rc = tc_json_expect_object(&c, o, bkeys, err)) != TC_OK ||
            (rc = tc_json_get_number(&c, o, "min", 1, &s->score_min, err)) != TC_OK ||
            (rc = tc_json_get_number(&c, o, "max", 1, &s->score_max, err)) != TC_OK)
            return rc;
        if (!(s->score_min < s->score_max))
            return tc_json_fail(&c, "max", err, "%g is not above min %g", s->score_max,
                                s->score_min);
    }
    s->reason_method = TC_REASON_MAX;
    s->reason_count = TC_REASONS_DEFAULT;
    o = NULL;
    if ((rc = tc_json_get_object(root, doc, "reasons", 0, &o, err)) != TC_OK)
        return rc;
    if (o != NULL) {
        tc_jctx c = tc_jctx_key(root, "reasons");
        int method = TC_REASON_MAX;
        if ((rc = tc_json_expect_object(&c, o, rkeys, err)) != TC_OK ||
            (rc = get_choice(&c, o, "method", 0, methods, "max", &method, err)) != TC_OK ||
            (rc = get_int_field(&c, o, "count", 1, TC_REASONS_OUT_MAX, &s->reason_count, err)) !=
                TC_OK)
            return rc;
        if (method != TC_REASON_MAX)
            return tc_json_fail(&c, "method", err,
                                "a trained model uses \"max\": baselines are not estimated");
    }
    return TC_OK;
}

static int parse_grades(const tc_jctx *root, json_t *doc, tc_train_spec *s, tc_error *err)
{
    return tc_schema_grades(root, doc, s->score_min, s->score_max, s->grades, &s->n_grades, err);
}

static int parse_special(const tc_jctx *c, json_t *obj, tc_train_attr *ta, tc_error *err)
{
    json_t *arr = NULL;
    const tc_attr *a = ta->attr;
    int rc = tc_json_get_array(c, obj, "special", 0, TC_MODEL_SPECIALS_MAX, &arr, err);
    if (rc != TC_OK || arr == NULL)
        return rc;
    if (a->type != TC_ATTR_INT && a->type != TC_ATTR_REAL)
        return tc_json_fail(c, "special", err, "'%s' is a %s: special values are for numbers",
                            a->name, tc_attr_type_name(a->type));
    tc_jctx sc = tc_jctx_key(c, "special");
    for (size_t k = 0; k < json_array_size(arr); k++) {
        tc_jctx ec = tc_jctx_index(&sc, k);
        double v;
        if ((rc = tc_json_number_value(&ec, json_array_get(arr, k), &v, err)) != TC_OK)
            return rc;
        if (v < a->min || v > a->max)
            return tc_json_fail(&ec, NULL, err, "%g is outside the range of '%s' [%g, %g]", v,
                                a->name, a->min, a->max);
        if (a->type == TC_ATTR_INT && v != floor(v))
            return tc_json_fail(&ec, NULL, err, "%g is not a whole number, and '%s' is an int", v,
                                a->name);
        for (size_t j = 0; j < k; j++)
            if (ta->binning.special[j] == v)
                return tc_json_fail(&ec, NULL, err, "%g repeats special[%zu]", v, j);
        ta->binning.special[k] = v;
    }
    ta->binning.n_special = json_array_size(arr);
    return TC_OK;
}

/* splits: the user's split points of a numeric attribute, ascending, inside its range. */
static int parse_splits(const tc_jctx *c, json_t *obj, tc_train_attr *ta, tc_error *err)
{
    json_t *arr = NULL;
    const tc_attr *a = ta->attr;
    int rc = tc_json_get_array(c, obj, "splits", 0, TC_BINNING_SPLITS_MAX, &arr, err);
    if (rc != TC_OK || arr == NULL)
        return rc;
    if (a->type != TC_ATTR_INT && a->type != TC_ATTR_REAL)
        return tc_json_fail(c, "splits", err,
                            "'%s' is a %s: split points are for numbers (levels are grouped by "
                            "WoE)",
                            a->name, tc_attr_type_name(a->type));
    if (json_array_size(arr) == 0)
        return tc_json_fail(c, "splits", err, "list at least one split point");
    tc_jctx sc = tc_jctx_key(c, "splits");
    for (size_t k = 0; k < json_array_size(arr); k++) {
        tc_jctx ec = tc_jctx_index(&sc, k);
        double v;
        if ((rc = tc_json_number_value(&ec, json_array_get(arr, k), &v, err)) != TC_OK)
            return rc;
        /* a split at or below the minimum would leave a bin no value can reach */
        if (!(v > a->min && v <= a->max))
            return tc_json_fail(&ec, NULL, err,
                                "%g is outside (%g, %g]: '%s' has no value below it to bin", v,
                                a->min, a->max, a->name);
        if (a->type == TC_ATTR_INT && v != floor(v))
            return tc_json_fail(&ec, NULL, err, "%g is not a whole number, and '%s' is an int", v,
                                a->name);
        if (k > 0 && !(v > ta->binning.splits[k - 1]))
            return tc_json_fail(&ec, NULL, err,
                                "%g is not above splits[%zu] %g: list them "
                                "ascending, each once",
                                v, k - 1, ta->binning.splits[k - 1]);
        ta->binning.splits[k] = v;
    }
    ta->binning.n_splits = json_array_size(arr);
    return TC_OK;
}

static int parse_impute(const tc_jctx *c, json_t *v, tc_train_attr *ta, tc_error *err)
{
    const tc_attr *a = ta->attr;
    char q[TC_LEVEL_LEN_MAX + 8];
    if (a->type == TC_ATTR_BOOL) {
        if (!json_is_boolean(v))
            return tc_json_fail(c, NULL, err, "'%s' is a bool: impute true or false", a->name);
        ta->impute_value = json_is_true(v);
        return TC_OK;
    }
    if (a->type == TC_ATTR_CATEGORY) {
        int l =
            json_is_string(v) ? tc_attr_level(a, json_string_value(v), json_string_length(v)) : -1;
        if (l < 0)
            return tc_json_fail(
                c, NULL, err, "%s is not a level of '%s'",
                json_is_string(v)
                    ? tc_error_quote(q, sizeof q, json_string_value(v), json_string_length(v))
                    : "the value",
                a->name);
        ta->impute_value = l;
        return TC_OK;
    }
    int rc = tc_json_number_value(c, v, &ta->impute_value, err);
    if (rc != TC_OK)
        return rc;
    if (ta->impute_value < a->min || ta->impute_value > a->max)
        return tc_json_fail(c, NULL, err, "%g is outside the range of '%s' [%g, %g]",
                            ta->impute_value, a->name, a->min, a->max);
    return TC_OK;
}

static int parse_terms(const tc_jctx *c, json_t *obj, tc_train_attr *ta, tc_error *err)
{
    static const char *const transforms[] = {"identity", "log1p", "clip", NULL};
    static const char *const ckeys[] = {"min", "max", NULL};
    static const char *const mkeys[] = {"impute", NULL};
    const tc_attr *a = ta->attr;
    int numeric = a->type == TC_ATTR_INT || a->type == TC_ATTR_REAL;
    int t = 0, rc;
    ta->transform = a->type == TC_ATTR_CATEGORY ? TC_TRANSFORM_INDICATOR : TC_TRANSFORM_IDENTITY;
    if (json_object_get(obj, "transform") != NULL) {
        if ((rc = get_choice(c, obj, "transform", 1, transforms, "identity, log1p, clip", &t,
                             err)) != TC_OK)
            return rc;
        if (a->type == TC_ATTR_CATEGORY)
            return tc_json_fail(c, "transform", err,
                                "'%s' is a category: it enters as indicators of its levels",
                                a->name);
        if (t > 0 && !numeric)
            return tc_json_fail(c, "transform", err, "%s does not apply to '%s', a bool",
                                transforms[t], a->name);
        ta->transform = t == 0   ? TC_TRANSFORM_IDENTITY
                        : t == 1 ? TC_TRANSFORM_LOG1P
                                 : TC_TRANSFORM_CLIP;
        if (ta->transform == TC_TRANSFORM_LOG1P && !(a->min > -1))
            return tc_json_fail(c, "transform", err,
                                "log1p needs values above -1, and '%s' goes down to %g", a->name,
                                a->min);
    }
    json_t *clip = json_object_get(obj, "clip");
    if (clip != NULL && ta->transform != TC_TRANSFORM_CLIP)
        return tc_json_fail(c, "clip", err, "only the clip transform takes a clip range");
    if (ta->transform == TC_TRANSFORM_CLIP) {
        if (clip == NULL)
            return tc_json_fail(c, "clip", err, "the clip transform needs {\"min\", \"max\"}");
        tc_jctx cc = tc_jctx_key(c, "clip");
        if ((rc = tc_json_expect_object(&cc, clip, ckeys, err)) != TC_OK ||
            (rc = tc_json_get_number(&cc, clip, "min", 1, &ta->clip_min, err)) != TC_OK ||
            (rc = tc_json_get_number(&cc, clip, "max", 1, &ta->clip_max, err)) != TC_OK)
            return rc;
        if (!(ta->clip_min < ta->clip_max))
            return tc_json_fail(&cc, "max", err, "%g is not above min %g", ta->clip_max,
                                ta->clip_min);
    }
    json_t *mv = json_object_get(obj, "missing");
    ta->missing = TC_TERM_INDICATOR;
    if (mv == NULL)
        return TC_OK;
    if (!a->missing_allowed)
        return tc_json_fail(c, "missing", err, "'%s' is never missing, so it takes no missing rule",
                            a->name);
    if (json_is_string(mv) && strcmp(json_string_value(mv), "indicator") == 0)
        return TC_OK;
    tc_jctx mc = tc_jctx_key(c, "missing");
    if (!json_is_object(mv))
        return tc_json_fail(c, "missing", err, "expected \"indicator\" or {\"impute\": value}");
    if ((rc = tc_json_expect_object(&mc, mv, mkeys, err)) != TC_OK)
        return rc;
    json_t *imp = json_object_get(mv, "impute");
    if (imp == NULL)
        return tc_json_fail(&mc, "impute", err, "required field is missing");
    tc_jctx ic = tc_jctx_key(&mc, "impute");
    ta->missing = TC_TERM_IMPUTE;
    return parse_impute(&ic, imp, ta, err);
}

static int parse_attribute(const tc_jctx *c, json_t *obj, const tc_reasons *reasons,
                           const tc_binning_options *defaults, tc_train_spec *s, size_t idx,
                           tc_error *err)
{
    static const char *const keys[] = {"name",
                                       "reason_code",
                                       "label",
                                       "trend",
                                       "special",
                                       "fine_classes",
                                       "max_bins",
                                       "min_bin_share",
                                       "min_event_share",
                                       "transform",
                                       "clip",
                                       "missing",
                                       "splits",
                                       NULL};
    tc_train_attr *ta = &s->attrs[idx];
    const tc_catalog *cat = s->catalog;
    char q[TC_NAME_MAX + 8];
    int rc;
    if ((rc = tc_json_expect_object(c, obj, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(c, obj, "name", 1, TC_NAME_MAX, &ta->name, err)) != TC_OK)
        return rc;
    int i = tc_catalog_find(cat, ta->name);
    if (i < 0)
        return tc_json_fail(c, "name", err, "'%s' is not an attribute of catalog '%s'",
                            tc_error_quote(q, sizeof q, ta->name, strlen(ta->name)), cat->name);
    const tc_attr *a = &cat->attrs[i];
    if (a->protected_attr)
        return tc_json_fail(c, "name", err, "'%s' is a protected attribute: no model may use it",
                            a->name);
    if (a->derived_from != NULL) {
        int j = tc_catalog_find(cat, a->derived_from);
        if (j >= 0 && cat->attrs[j].protected_attr)
            return tc_json_fail(c, "name", err,
                                "'%s' is derived from protected '%s': no model may use it", a->name,
                                a->derived_from);
    }
    for (size_t k = 0; k < idx; k++)
        if (s->attrs[k].attr_index == (size_t)i)
            return tc_json_fail(c, "name", err, "'%s' is already attributes[%zu]", a->name, k);
    ta->attr_index = (size_t)i;
    ta->attr = a;
    const char *code = NULL;
    if ((rc = tc_json_get_string(c, obj, "reason_code", 1, 64, &code, err)) != TC_OK)
        return rc;
    if (tc_reasons_find(reasons, code) == NULL)
        return tc_json_fail(c, "reason_code", err, "'%s' is not in the reason dictionary '%s'",
                            tc_error_quote(q, sizeof q, code, strlen(code)), reasons->name);
    ta->reason_code = code;
    ta->label = "";
    if ((rc = tc_json_get_string(c, obj, "label", 0, 256, &ta->label, err)) != TC_OK)
        return rc;
    ta->binning = *defaults;
    if ((rc = parse_binning_opts(c, obj, &ta->binning, err)) != TC_OK)
        return rc;
    int numeric = a->type == TC_ATTR_INT || a->type == TC_ATTR_REAL;
    const char *trend = NULL;
    if ((rc = tc_json_get_string(c, obj, "trend", 0, 32, &trend, err)) != TC_OK)
        return rc;
    if (trend != NULL) {
        tc_trend t;
        if (tc_trend_parse(trend, &t) != 0)
            return tc_json_fail(c, "trend", err,
                                "'%s' is not one of auto, ascending, descending, peak, valley, "
                                "none",
                                tc_error_quote(q, sizeof q, trend, strlen(trend)));
        if (!numeric && t != TC_TREND_AUTO)
            return tc_json_fail(c, "trend", err,
                                "'%s' is a %s: its levels are grouped by WoE, without a trend",
                                a->name, tc_attr_type_name(a->type));
        ta->binning.trend = t;
    }
    if ((rc = parse_special(c, obj, ta, err)) != TC_OK ||
        (rc = parse_splits(c, obj, ta, err)) != TC_OK)
        return rc;
    return parse_terms(c, obj, ta, err);
}

static int parse_attributes(const tc_jctx *root, json_t *doc, const tc_reasons *reasons,
                            const tc_binning_options *defaults, tc_train_spec *s, tc_error *err)
{
    json_t *arr = NULL;
    int rc = tc_json_get_array(root, doc, "attributes", 1, TC_TRAIN_ATTRS_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    if (json_array_size(arr) == 0)
        return tc_json_fail(root, "attributes", err, "list at least one attribute");
    tc_jctx ac = tc_jctx_key(root, "attributes");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        tc_jctx c = tc_jctx_index(&ac, i);
        if ((rc = parse_attribute(&c, json_array_get(arr, i), reasons, defaults, s, i, err)) !=
            TC_OK)
            return rc;
        s->n_attrs = i + 1;
    }
    return TC_OK;
}

int tc_train_spec_parse(const char *text, size_t len, const char *origin, const tc_catalog *cat,
                        const tc_reasons *reasons, tc_train_spec **out, tc_error *err)
{
    static const char *const keys[] = {
        "format_version", "kind",      "model",      "data",    "split",
        "binning",        "selection", "fit",        "scaling", "score_bounds",
        "reasons",        "grades",    "attributes", NULL};
    static const char *const kinds[] = {"scorecard", "logistic", NULL};
    spec_impl *si = calloc(1, sizeof *si);
    if (si == NULL || (si->origin = strdup(origin)) == NULL) {
        free(si);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    tc_train_spec *s = &si->pub;
    s->origin = si->origin;
    s->catalog = cat;
    tc_jctx root = {.origin = si->origin, .code = TC_EMODEL};
    long format = 0;
    int kind = TC_MODEL_SCORECARD, rc;
    tc_binning_options defaults;
    if ((rc = tc_json_load_buffer(text, len, si->origin, TC_EMODEL, &si->root, err)) != TC_OK ||
        (rc = tc_json_expect_object(&root, si->root, keys, err)) != TC_OK ||
        (rc = tc_json_get_int(&root, si->root, "format_version", 1, 1, 1000, &format, err)) !=
            TC_OK)
        goto fail;
    if (format != TC_TRAIN_FORMAT) {
        rc = tc_json_fail(&root, "format_version", err,
                          "%ld is not supported (this build reads %d)", format, TC_TRAIN_FORMAT);
        goto fail;
    }
    if ((rc = get_choice(&root, si->root, "kind", 0, kinds, "scorecard, logistic", &kind, err)) !=
            TC_OK ||
        (rc = parse_model(&root, si->root, s, err)) != TC_OK ||
        (rc = parse_data(&root, si->root, s, err)) != TC_OK ||
        (rc = parse_split(&root, si->root, s, err)) != TC_OK ||
        (rc = parse_sections(&root, si->root, s, &defaults, err)) != TC_OK ||
        (rc = parse_scaling(&root, si->root, s, err)) != TC_OK ||
        (rc = parse_grades(&root, si->root, s, err)) != TC_OK ||
        (rc = parse_attributes(&root, si->root, reasons, &defaults, s, err)) != TC_OK)
        goto fail;
    s->kind = (tc_model_kind)kind;
    *out = s;
    return TC_OK;
fail:
    tc_train_spec_free(s);
    return rc;
}

int tc_train_spec_set_identity(tc_train_spec *s, const char *name, int version, int status,
                               tc_error *err)
{
    if (name != NULL) {
        if (!tc_schema_name_ok(name))
            return tc_errorf(err, TC_EINVAL,
                             "name '%.64s' is not a model name: a lower-case letter, then "
                             "letters, digits, '-' (at most %d bytes)",
                             name, TC_MODEL_NAME_MAX);
        s->name = name;
    }
    if (version != 0) {
        if (version < 1 || version > 1000000)
            return tc_errorf(err, TC_EINVAL, "version %d is outside 1 to 1000000", version);
        s->version = version;
    }
    if (status >= 0) {
        if (status > TC_STATUS_RETIRED)
            return tc_errorf(err, TC_EINVAL, "status %d is not champion, challenger or retired",
                             status);
        s->status = (tc_model_status)status;
    }
    return TC_OK;
}

int tc_train_spec_load(const char *path, const tc_catalog *cat, const tc_reasons *reasons,
                       tc_train_spec **out, tc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tc_read_file(path, TC_TRAIN_SPEC_FILE_MAX, TC_EMODEL, &text, &len, err);
    if (rc == TC_OK)
        rc = tc_train_spec_parse(text, len, path, cat, reasons, out, err);
    free(text);
    return rc;
}

void tc_train_spec_free(tc_train_spec *s)
{
    if (s == NULL)
        return;
    spec_impl *si = (spec_impl *)s;
    json_decref(si->root);
    free(si->origin);
    free(si);
}
