#include "tc_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <openssl/evp.h>

#include "tc_json.h"
#include "tc_model_impl.h"
#include "tc_schema.h"
#include "tc_record.h"
#include "tc_time.h"

static const char *const kind_names[] = {"scorecard", "logistic"};
static const char *const status_names[] = {"champion", "challenger", "retired"};
static const char *const method_names[] = {"max", "baseline"};

const char *tc_model_kind_name(tc_model_kind kind)
{
    return (unsigned)kind < 2 ? kind_names[kind] : "?";
}

const char *tc_model_status_name(tc_model_status status)
{
    return (unsigned)status < 3 ? status_names[status] : "?";
}

const char *tc_reason_method_name(tc_reason_method method)
{
    return (unsigned)method < 2 ? method_names[method] : "?";
}

int tc_model_get_label(const tc_jctx *ctx, json_t *obj, const char **out, tc_error *err)
{
    *out = "";
    return tc_json_get_string(ctx, obj, "label", 0, LABEL_MAX, out, err);
}

/* ---- header fields ---- */

static int parse_fingerprint(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    int rc =
        tc_json_get_string(ctx, root, "training_fingerprint", 1, 80, &m->training_fingerprint, err);
    if (rc != TC_OK)
        return rc;
    const char *f = m->training_fingerprint;
    if (strcmp(f, "none") == 0)
        return TC_OK;
    int ok = strncmp(f, "sha256:", 7) == 0 && strlen(f) == 7 + TC_HASH_HEX_LEN;
    for (size_t i = 7; ok && f[i] != '\0'; i++)
        ok = (f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f');
    if (!ok)
        return tc_json_fail(ctx, "training_fingerprint", err,
                            "expected \"sha256:\" and 64 lower-case hex digits, or \"none\" for a "
                            "model not fitted to data");
    return TC_OK;
}

static int parse_description(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    static const char *const keys[] = {"vi", "en", NULL};
    json_t *d = NULL;
    int rc = tc_json_get_object(ctx, root, "description", 1, &d, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "description");
    if ((rc = tc_json_expect_object(&c, d, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "vi", 1, 4096, &m->description_vi, err)) != TC_OK ||
        (rc = tc_json_get_string(&c, d, "en", 1, 4096, &m->description_en, err)) != TC_OK)
        return rc;
    if (m->description_vi[0] == '\0' || m->description_en[0] == '\0')
        return tc_json_fail(&c, m->description_vi[0] == '\0' ? "vi" : "en", err,
                            "must not be empty");
    return TC_OK;
}

static int parse_scaling(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    static const char *const keys[] = {"points", "odds", "pdo", NULL};
    static const char *const bkeys[] = {"min", "max", NULL};
    json_t *s = NULL, *b = NULL;
    int rc;
    char n1[40], n2[40];
    if ((rc = tc_json_get_object(ctx, root, "scaling", 1, &s, err)) != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "scaling");
    if ((rc = tc_json_expect_object(&c, s, keys, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, s, "points", 1, &m->scale_points, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, s, "odds", 1, &m->scale_odds, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, s, "pdo", 1, &m->scale_pdo, err)) != TC_OK)
        return rc;
    if (!(m->scale_odds > 0))
        return tc_json_fail(&c, "odds", err, "%s is not positive",
                            tc_schema_num(n1, m->scale_odds));
    if (!(m->scale_pdo > 0))
        return tc_json_fail(&c, "pdo", err, "%s is not positive", tc_schema_num(n1, m->scale_pdo));
    m->factor = m->scale_pdo / M_LN2;
    m->offset = m->scale_points - m->factor * log(m->scale_odds);
    if ((rc = tc_json_get_object(ctx, root, "score_bounds", 1, &b, err)) != TC_OK)
        return rc;
    c = tc_jctx_key(ctx, "score_bounds");
    if ((rc = tc_json_expect_object(&c, b, bkeys, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, b, "min", 1, &m->score_min, err)) != TC_OK ||
        (rc = tc_json_get_number(&c, b, "max", 1, &m->score_max, err)) != TC_OK)
        return rc;
    if (!(m->score_min < m->score_max))
        return tc_json_fail(&c, "max", err, "%s is not above min %s",
                            tc_schema_num(n1, m->score_max), tc_schema_num(n2, m->score_min));
    return TC_OK;
}

static int parse_reason_settings(const tc_jctx *ctx, json_t *root, tc_model *m, tc_error *err)
{
    static const char *const keys[] = {"method", "count", NULL};
    json_t *r = NULL;
    long count = TC_REASONS_DEFAULT;
    int method = TC_REASON_MAX;
    int rc = tc_json_get_object(ctx, root, "reasons", 1, &r, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx c = tc_jctx_key(ctx, "reasons");
    if ((rc = tc_json_expect_object(&c, r, keys, err)) != TC_OK)
        return rc;
    if (json_object_get(r, "method") != NULL &&
        (rc = tc_schema_get_enum(&c, r, "method", 1, method_names, 2, "max, baseline", &method,
                                 err)) != TC_OK)
        return rc;
    if ((rc = tc_json_get_int(&c, r, "count", 0, 1, TC_REASONS_OUT_MAX, &count, err)) != TC_OK)
        return rc;
    m->reason_method = (tc_reason_method)method;
    m->max_reasons = (int)count;
    return TC_OK;
}

static int parse_grades(const tc_jctx *ctx, json_t *root, model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    size_t n = 0;
    mi->grades = calloc(TC_MODEL_GRADES_MAX, sizeof *mi->grades);
    if (mi->grades == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    int rc = tc_schema_grades(ctx, root, m->score_min, m->score_max, mi->grades, &n, err);
    if (rc != TC_OK)
        return rc;
    m->grades = mi->grades;
    m->n_grades = n;
    return TC_OK;
}

static int copy_reason_texts(model_impl *mi, tc_error *err)
{
    tc_model *m = &mi->pub;
    size_t total = 0;
    for (size_t g = 0; g < m->n_reasons; g++)
        total +=
            strlen(mi->reasons[g].code) + strlen(mi->reasons[g].vi) + strlen(mi->reasons[g].en) + 3;
    mi->reason_texts = malloc(total + 1);
    if (mi->reason_texts == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    char *p = mi->reason_texts;
    for (size_t g = 0; g < m->n_reasons; g++) {
        const char **fields[3] = {&mi->reasons[g].code, &mi->reasons[g].vi, &mi->reasons[g].en};
        for (size_t f = 0; f < 3; f++) {
            size_t len = strlen(*fields[f]);
            memcpy(p, *fields[f], len + 1);
            *fields[f] = p;
            p += len + 1;
        }
    }
    return TC_OK;
}

/* SHA-256 over the members that decide how live monitoring counts the model's scores, each as
 * its name and its compact JSON with sorted keys (what jansson prints is a function of the
 * parsed values, so formatting, key order and the other members do not enter). */
static int layout_digest(model_impl *mi, tc_error *err)
{
    static const char *const members[] = {
        "kind",      "catalog_hash", "scaling",         "score_bounds",
        "intercept", "grades",       "characteristics", "development"};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < sizeof members / sizeof *members; i++) {
        json_t *v = json_object_get(mi->root, members[i]);
        char *text =
            v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        ok = (v == NULL || text != NULL) &&
             EVP_DigestUpdate(ctx, members[i], strlen(members[i]) + 1) == 1 &&
             (text == NULL || EVP_DigestUpdate(ctx, text, strlen(text) + 1) == 1);
        free(text);
    }
    unsigned int n = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, mi->pub.layout_sha256, &n) == 1 && n == TC_MODEL_LAYOUT_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? TC_OK : tc_errorf(err, TC_ENOMEM, "hashing the model's layout failed");
}

int tc_model_parse(const char *text, size_t len, const char *origin, const tc_catalog *catalog,
                   const tc_reasons *reasons, tc_model **out, tc_error *err)
{
    static const char *const keys[] = {"format_version",
                                       "name",
                                       "version",
                                       "kind",
                                       "product",
                                       "status",
                                       "created_at",
                                       "description",
                                       "training_fingerprint",
                                       "catalog_hash",
                                       "scaling",
                                       "score_bounds",
                                       "grades",
                                       "reasons",
                                       "intercept",
                                       "characteristics",
                                       "covariance",
                                       "model_card",
                                       "development",
                                       NULL};
    model_impl *mi = calloc(1, sizeof *mi);
    tc_model *m = mi != NULL ? &mi->pub : NULL;
    long format = 0, version = 0;
    int kind = 0, status = 0, rc;
    const char *hash = NULL;
    if (mi == NULL || (mi->path = strdup(origin)) == NULL) {
        free(mi);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    m->path = mi->path;
    m->catalog = catalog;
    tc_jctx root = {.origin = mi->path, .code = TC_EMODEL};
    if ((rc = tc_json_load_buffer(text, len, mi->path, TC_EMODEL, &mi->root, err)) != TC_OK ||
        (rc = tc_json_expect_object(&root, mi->root, keys, err)) != TC_OK ||
        (rc = tc_json_get_int(&root, mi->root, "format_version", 1, 1, 1000, &format, err)) !=
            TC_OK)
        goto fail;
    if (format != TC_MODEL_FORMAT) {
        rc = tc_json_fail(&root, "format_version", err,
                          "%ld is not supported (this build reads %d)", format, TC_MODEL_FORMAT);
        goto fail;
    }
    if ((rc = tc_json_get_string(&root, mi->root, "name", 1, TC_MODEL_NAME_MAX, &m->name, err)) !=
        TC_OK)
        goto fail;
    if (!tc_schema_name_ok(m->name)) {
        rc = tc_json_fail(&root, "name", err,
                          "'%s' is not a name: a lower-case letter, then letters, digits, '-'",
                          m->name);
        goto fail;
    }
    if ((rc = tc_json_get_int(&root, mi->root, "version", 1, 1, 1000000, &version, err)) != TC_OK ||
        (rc = tc_schema_get_enum(&root, mi->root, "kind", 1, kind_names, 2, "scorecard, logistic",
                                 &kind, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, mi->root, "product", 1, TC_MODEL_NAME_MAX, &m->product,
                                 err)) != TC_OK)
        goto fail;
    m->version = (int)version;
    m->kind = (tc_model_kind)kind;
    if (!tc_schema_name_ok(m->product)) {
        rc = tc_json_fail(&root, "product", err,
                          "'%s' is not a product: a lower-case letter, then letters, digits, '-'",
                          m->product);
        goto fail;
    }
    if ((rc = tc_schema_get_enum(&root, mi->root, "status", 1, status_names, 3,
                                 "champion, challenger, retired", &status, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, mi->root, "created_at", 1, 32, &m->created_at, err)) !=
            TC_OK)
        goto fail;
    m->status = (tc_model_status)status;
    if (tc_time_parse(m->created_at, strlen(m->created_at), &m->created_at_s) != TC_OK) {
        rc = tc_json_fail(&root, "created_at", err,
                          "'%s' is not a UTC time like 2025-06-01T00:00:00Z", m->created_at);
        goto fail;
    }
    if ((rc = parse_description(&root, mi->root, m, err)) != TC_OK ||
        (rc = parse_fingerprint(&root, mi->root, m, err)) != TC_OK ||
        (rc = tc_json_get_string(&root, mi->root, "catalog_hash", 1, TC_HASH_HEX_LEN + 8, &hash,
                                 err)) != TC_OK)
        goto fail;
    /* Before any attribute is looked up: under another catalog every name may mean another
     * thing. */
    if (strcmp(hash, catalog->hash_hex) != 0) {
        char q[TC_HASH_HEX_LEN + 16];
        rc = tc_json_fail(&root, "catalog_hash", err,
                          "the model was built for catalog %s, but catalog '%s' has hash %s",
                          tc_error_quote(q, sizeof q, hash, strlen(hash)), catalog->name,
                          catalog->hash_hex);
        goto fail;
    }
    if ((rc = tc_model_parse_card(&root, mi->root, mi, err)) != TC_OK ||
        (rc = parse_scaling(&root, mi->root, m, err)) != TC_OK ||
        (rc = parse_reason_settings(&root, mi->root, m, err)) != TC_OK ||
        (rc = tc_json_get_number(&root, mi->root, "intercept", 1, &m->intercept, err)) != TC_OK ||
        (rc = tc_model_parse_chars(&root, mi->root, mi, reasons, err)) != TC_OK ||
        (rc = parse_grades(&root, mi->root, mi, err)) != TC_OK ||
        (rc = tc_model_build_param_names(mi, err)) != TC_OK ||
        (rc = tc_model_parse_covariance(&root, mi->root, mi, err)) != TC_OK ||
        (rc = copy_reason_texts(mi, err)) != TC_OK)
        goto fail;
    if (m->kind == TC_MODEL_SCORECARD && (rc = tc_model_build_plan(mi, err)) != TC_OK)
        goto fail;
    if ((rc = tc_model_dev_parse(&root, mi->root, m, &mi->dev, err)) != TC_OK ||
        (rc = layout_digest(mi, err)) != TC_OK)
        goto fail;
    m->dev = mi->dev;
    *out = m;
    return TC_OK;
fail:
    tc_model_free(m);
    return rc;
}

int tc_model_load(const char *path, const tc_catalog *catalog, const tc_reasons *reasons,
                  tc_model **out, tc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tc_read_file(path, TC_MODEL_FILE_MAX, TC_EMODEL, &text, &len, err);
    if (rc == TC_OK)
        rc = tc_model_parse(text, len, path, catalog, reasons, out, err);
    free(text);
    return rc;
}

void tc_model_free(tc_model *m)
{
    if (m == NULL)
        return;
    model_impl *mi = (model_impl *)m;
    free(mi->pchars);
    free(mi->tables);
    free(mi->thresholds);
    free(mi->thr_bin);
    free(mi->specials);
    free(mi->special_bin);
    free(mi->bin_points);
    free(mi->bin_woe);
    free(mi->bin_eta);
    free(mi->bin_lost_max);
    free(mi->bin_lost_base);
    gsl_matrix_free(mi->chol);
    free(mi->packed);
    gsl_matrix_free(mi->cov);
    free(mi->param_names);
    free(mi->param_name_buf);
    free(mi->reason_texts);
    free(mi->reasons);
    free(mi->grades);
    free(mi->terms);
    free(mi->values);
    free(mi->bins);
    free(mi->chars);
    tc_model_dev_free(mi->dev);
    json_decref(mi->root);
    free(mi->card);
    free(mi->path);
    free(mi);
}

const tc_grade *tc_model_grade(const tc_model *m, double score)
{
    for (size_t g = 0; g + 1 < m->n_grades; g++)
        if (score >= m->grades[g].min_score)
            return &m->grades[g];
    return &m->grades[m->n_grades - 1];
}

size_t tc_model_grade_index(const tc_model *m, const tc_grade *grade)
{
    return (size_t)(grade - m->grades);
}

double tc_model_score_of_eta(const tc_model *m, double eta)
{
    return m->offset - m->factor * eta;
}

double tc_model_pd_at_score(const tc_model *m, double score)
{
    double eta = (m->offset - score) / m->factor;
    return 1.0 / (1.0 + exp(-eta));
}

int tc_model_find_char(const tc_model *m, const char *attribute)
{
    for (size_t j = 0; j < m->n_chars; j++)
        if (strcmp(m->chars[j].attribute, attribute) == 0)
            return (int)j;
    return -1;
}
