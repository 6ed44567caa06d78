/* Loading the model fixtures of tests/fixtures/models: their catalog_hash is the placeholder
 * "@CATALOG_HASH@", replaced by the shipped catalog's hash, so a change to the catalog does not
 * orphan every fixture. Messages name the file as "models/<fixture>", the way a risk team sees
 * them. Header-only: included by the test files that need it. */
#ifndef TC_MODEL_FIXTURE_H
#define TC_MODEL_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_json.h"
#include "tc_model.h"
#include "tc_reasons.h"
#include "test_util.h"

#define FIXTURE_PLACEHOLDER "@CATALOG_HASH@"

/* actual within rel (relative to expected; absolute when expected is 0) of expected. */
#define assert_close(actual, expected, rel)                                                        \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected), r_ = (rel);                                         \
        double tol_ = e_ != 0 ? r_ * fabs(e_) : r_;                                                \
        if (!(a_ == e_ || fabs(a_ - e_) <= tol_))                                                  \
            fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #actual, a_, e_, r_);            \
    } while (0)

/* The fixture's text with the catalog hash filled in (free it). */
static inline char *fixture_text(const tc_catalog *cat, const char *name)
{
    char path[1024], *text = NULL;
    size_t len = 0;
    tc_error err = {0};
    snprintf(path, sizeof path, "%s/models/%s", TC_FIXTURES, name);
    if (tc_read_file(path, TC_MODEL_FILE_MAX, TC_EMODEL, &text, &len, &err) != TC_OK)
        fail_msg("%s", err.msg);
    char *out = malloc(len + TC_HASH_HEX_LEN + 1);
    if (out == NULL)
        fail_msg("out of memory");
    char *p = strstr(text, FIXTURE_PLACEHOLDER);
    if (p == NULL) {
        memcpy(out, text, len + 1);
    } else {
        size_t o = (size_t)(p - text);
        memcpy(out, text, o);
        memcpy(out + o, cat->hash_hex, TC_HASH_HEX_LEN);
        strcpy(out + o + TC_HASH_HEX_LEN, p + strlen(FIXTURE_PLACEHOLDER));
    }
    free(text);
    return out;
}

static inline int fixture_model(const tc_catalog *cat, const tc_reasons *reasons,
                                const char *name, tc_model **out, tc_error *err)
{
    char origin[256];
    char *text = fixture_text(cat, name);
    snprintf(origin, sizeof origin, "models/%s", name);
    int rc = tc_model_parse(text, strlen(text), origin, cat, reasons, out, err);
    free(text);
    return rc;
}

/* Write the fixture, hash filled in, to path. */
static inline void fixture_write(const tc_catalog *cat, const char *name, const char *path)
{
    char *text = fixture_text(cat, name);
    tu_write(path, text);
    free(text);
}

/* A scratch models directory as the registry reads one: the shipped reasons, catalog, v1 and v2,
 * and the golden scorecard and logistic fixtures (a product with a champion and a challenger).
 * Remove it with tu_rmtree; the name is malloc'ed. */
static inline char *fixture_models_dir(const tc_catalog *cat)
{
    static const char *const shipped[] = {"reasons.json", "catalog.json",
                                          "unsecured-consumer-v1.json",
                                          "unsecured-consumer-v2.json"};
    char *dir = strdup(tu_tempdir()), from[1024], to[1024];
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
        snprintf(from, sizeof from, "%s/%s", TC_MODELS, shipped[i]);
        snprintf(to, sizeof to, "%s/%s", dir, shipped[i]);
        tu_copy(from, to);
    }
    snprintf(to, sizeof to, "%s/golden-scorecard.json", dir);
    fixture_write(cat, "golden-scorecard.json", to);
    snprintf(to, sizeof to, "%s/golden-logistic.json", dir);
    fixture_write(cat, "golden-logistic.json", to);
    return dir;
}

static inline tc_reasons *shipped_reasons(void)
{
    tc_reasons *r = NULL;
    tc_error err = {0};
    if (tc_reasons_load(TC_MODELS "/reasons.json", &r, &err) != TC_OK)
        fail_msg("shipped reasons: %s", err.msg);
    return r;
}

#endif
