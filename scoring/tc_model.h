/* tc_model — a credit model loaded from its JSON file (format: models/README.md), validated and
 * preprocessed for evaluation.
 *
 * Two kinds end in the log-odds of default η, PD = 1/(1+e^-η):
 *   scorecard  characteristics over catalog attributes, each a set of bins carrying a weight of
 *              evidence (WoE) and points; η = intercept + Σ coefficient_j · WoE_j(bin).
 *   logistic   η = intercept + Σ coefficient · transform(attribute value), with identity, log1p,
 *              clip and level-indicator transforms and a rule for missing values.
 * Scores use points-at-odds scaling: factor = pdo / ln 2, offset = points − factor · ln(odds),
 * score = offset − factor · η (η is the log-odds of *bad*, odds are good:bad).
 *
 * Loading refuses anything doubtful with a message "FILE: json.path: reason": unknown fields or
 * attributes, a protected attribute used in any way, type mismatches, gaps or overlaps in bins,
 * a possible missing value without a rule, points that do not follow from the WoE, a covariance
 * that is not square, symmetric and positive definite, unsorted grades, unknown reason codes,
 * and a model built for another catalog (catalog_hash).
 *
 * Everything that depends only on the model is computed here, once: the Cholesky factor of the
 * covariance (so the interval costs one triangular product), per-characteristic maxima, the
 * reason groups and their tie-break order, lookup tables that turn a raw record slot into a bin
 * without branching on the value (tc_model_plan). A loaded model is immutable and may be shared
 * by threads; every pointer in it lives until tc_model_free. Reason texts are copied from the
 * dictionary, so the model does not depend on it after loading.
 */
#ifndef TC_MODEL_H
#define TC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_matrix.h>

#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_reasons.h"

#define TC_MODEL_FORMAT 1                 /* format_version this code reads */
#define TC_MODEL_FILE_MAX (4u << 20)      /* bytes */
#define TC_MODEL_NAME_MAX 64              /* name and product: [a-z][a-z0-9-]* */
#define TC_MODEL_CHARS_MAX 64             /* characteristics */
#define TC_MODEL_BINS_MAX 32              /* bins of one characteristic */
#define TC_MODEL_SPECIALS_MAX 8           /* special values of one characteristic */
#define TC_MODEL_PARAMS_MAX 128           /* coefficients, i.e. covariance dimension */
#define TC_MODEL_GRADES_MAX 16
#define TC_MODEL_TABLE_SPAN_MAX 4096      /* int ranges up to this many values bin by table */
#define TC_MODEL_TABLE_POOL_MAX (1u << 20) /* bytes of all lookup tables of one model */
#define TC_REASONS_OUT_MAX 8              /* reasons returned at most */
#define TC_REASONS_DEFAULT 4              /* adverse-action convention */
#define TC_MODEL_CARD_TEXT_MAX 4096       /* bytes of one text of the model card */
#define TC_MODEL_CARD_LIMITATIONS_MAX 16  /* items of model_card.limitations */
#define TC_MODEL_LAYOUT_LEN 32            /* bytes of layout_sha256 (SHA-256) */

/* Two-sided 95 % normal quantile, Φ⁻¹(0.975). */
#define TC_Z95 1.959963984540054

typedef enum tc_model_kind { TC_MODEL_SCORECARD, TC_MODEL_LOGISTIC } tc_model_kind;

typedef enum tc_model_status {
    TC_STATUS_CHAMPION,
    TC_STATUS_CHALLENGER,
    TC_STATUS_RETIRED,
} tc_model_status;

/* How points lost are measured for reasons: below the characteristic's best possible points, or
 * below a baseline stored per characteristic (the JPMML convention). */
typedef enum tc_reason_method { TC_REASON_MAX, TC_REASON_BASELINE } tc_reason_method;

typedef enum tc_bin_kind { TC_BIN_INTERVAL, TC_BIN_LEVELS, TC_BIN_SPECIAL, TC_BIN_MISSING } tc_bin_kind;

typedef enum tc_transform {
    TC_TRANSFORM_NONE, /* scorecard characteristic */
    TC_TRANSFORM_IDENTITY,
    TC_TRANSFORM_LOG1P,
    TC_TRANSFORM_CLIP,
    TC_TRANSFORM_INDICATOR,
} tc_transform;

typedef enum tc_missing_rule {
    TC_MISSING_NONE,      /* the attribute is never missing */
    TC_MISSING_BIN,       /* scorecard: the missing bin */
    TC_MISSING_IMPUTE,    /* logistic: use impute_value */
    TC_MISSING_INDICATOR, /* logistic: terms are 0, the missing indicator is 1 */
} tc_missing_rule;

typedef struct tc_bin {
    tc_bin_kind kind;
    double lower, upper;   /* interval [lower, upper); -INFINITY / INFINITY when open */
    size_t n_values;       /* special: the values; levels: level indices (bool: 0 false, 1 true) */
    const double *values;
    const char *label;     /* "" when the file gives none */
    double woe;
    double points;
} tc_bin;

typedef struct tc_level_term {
    size_t level; /* index into the attribute's levels */
    double coefficient;
} tc_level_term;

typedef struct tc_characteristic {
    const char *attribute;
    size_t attr_index;     /* into the catalog */
    const tc_attr *attr;
    const char *label;     /* "" when none */
    size_t reason;         /* index into tc_model.reasons */
    int has_baseline;
    double baseline;       /* points; only with has_baseline */
    double max_points;     /* best points this characteristic can give */
    double min_points;
    tc_missing_rule missing;
    size_t param;          /* first coefficient in the design vector (0 is the intercept) */
    size_t n_params;
    /* scorecard */
    double coefficient;    /* on WoE; also the only term of identity/log1p/clip */
    size_t n_bins;
    const tc_bin *bins;
    /* logistic */
    tc_transform transform;
    double clip_min, clip_max;
    size_t n_levels;       /* indicator terms */
    const tc_level_term *levels;
    double impute_value;   /* TC_MISSING_IMPUTE: a raw value (level index for categories) */
    double missing_coefficient; /* TC_MISSING_INDICATOR */
} tc_characteristic;

typedef struct tc_grade {
    double min_score; /* scores >= min_score (and below the previous grade's) get this grade */
    const char *letter;
    const char *vi, *en;
} tc_grade;

/* One reason code used by the model; groups are in tie-break order (first use in the file). */
typedef struct tc_reason_group {
    const char *code;
    const char *vi, *en; /* copied from the dictionary */
} tc_reason_group;

/* How one characteristic of a scorecard reads its slot; built at load for tc_eval. */
enum { TC_READ_U8, TC_READ_U16, TC_READ_U32, TC_READ_I8, TC_READ_I16, TC_READ_I32, TC_READ_F64 };

typedef struct tc_plan_char {
    uint32_t offset;     /* of the slot from the record's first byte */
    uint16_t miss_byte;  /* of the missing bitmap from the record's first byte */
    uint8_t miss_mask;
    uint8_t reader;      /* TC_READ_* */
    uint8_t use_table;   /* 1: bin = table[clamp(value - table_min)], else thresholds */
    uint8_t n_thr;       /* thresholds, padded with +inf to a multiple of 4 */
    uint8_t n_special;
    uint8_t has_missing; /* a missing bin exists */
    uint8_t missing_bin;
    uint8_t group;       /* reason group */
    uint16_t bin_base;   /* first bin in the flat per-bin arrays */
    int32_t table_min;
    uint32_t table_len;
    uint32_t table_off;  /* into plan.tables */
    uint32_t thr_off;    /* into plan.thresholds / plan.thr_bin */
    uint32_t special_off;/* into plan.specials / plan.special_bin */
} tc_plan_char;

/* The scorecard in the form evaluation wants: flat, contiguous, indexed by bin. */
typedef struct tc_model_plan {
    const tc_plan_char *chars;
    const uint8_t *tables;      /* bin per value for table characteristics */
    const double *thresholds;   /* interval lower bounds, ascending, +inf padded */
    const uint8_t *thr_bin;     /* interval ordinal -> bin */
    const double *specials;
    const uint8_t *special_bin;
    /* Per bin, over all characteristics (index bin_base + bin): */
    const double *points;
    const double *woe;
    const double *eta;          /* coefficient · WoE */
    const double *lost_max;     /* max_points − points */
    const double *lost_base;    /* max(baseline − points, 0) (0 when no baseline) */
    size_t n_groups;
} tc_model_plan;

/* The development distribution of a model (tc_model_dev.h). */
typedef struct tc_model_dev tc_model_dev;

typedef struct tc_model {
    const char *path;          /* where it was loaded from (for messages) */
    const char *name;
    int version;
    const char *product;
    tc_model_kind kind;
    tc_model_status status;
    const char *created_at;    /* as written */
    int64_t created_at_s;
    const char *training_fingerprint;
    const char *description_vi, *description_en;
    /* The file's model_card (intended use, training data, validation figures, limitations) as
     * compact JSON with its keys in file order, for a partner bank's model-risk review; NULL
     * when the file has none. Validated like every other field; never used to score. */
    const char *model_card;
    const tc_catalog *catalog; /* borrowed: must outlive the model */
    /* scaling */
    double scale_points, scale_odds, scale_pdo;
    double factor, offset;     /* factor = pdo/ln 2, offset = points − factor·ln(odds) */
    double score_min, score_max;
    double intercept;
    double base_points;        /* logistic: offset − factor·intercept, added to the sum */
    size_t n_chars;
    const tc_characteristic *chars;
    size_t n_grades;
    const tc_grade *grades;    /* min_score descending */
    size_t n_reasons;
    const tc_reason_group *reasons;
    tc_reason_method reason_method;
    int max_reasons;
    /* covariance of the coefficients, in design-vector order (intercept first) */
    size_t n_params;
    const char *const *param_names;
    const gsl_matrix *covariance;
    const gsl_matrix *chol_upper; /* U = Lᵀ with Σ = L·Lᵀ; var(η) = ‖U·x‖² */
    const double *chol_packed;    /* U's upper triangle, row by row (BLAS packed storage) */
    tc_model_plan plan;           /* scorecards only */
    /* The development sample's distribution (the file's "development"), for live monitoring;
     * NULL when the file has none. */
    const tc_model_dev *dev;
    double points_min, points_max; /* total points any record can get, before clamping */
    /* SHA-256 of what decides how live monitoring counts this model's scores: kind, catalog
     * hash, scaling, score bounds, intercept, grades, characteristics (bins, points) and the
     * development distribution, as parsed (layout, key order and every other member — status,
     * descriptions, model card, covariance — leave it unchanged). Two files with the same name,
     * version and digest are one model to the monitor, whose counters survive a reload. */
    unsigned char layout_sha256[TC_MODEL_LAYOUT_LEN];
} tc_model;

/* Load and validate path for catalog, taking reason texts from reasons (both borrowed; the
 * catalog must outlive the model, the dictionary need not). */
int tc_model_load(const char *path, const tc_catalog *catalog, const tc_reasons *reasons,
                  tc_model **out, tc_error *err);

/* Same from memory; origin names the source in messages. */
int tc_model_parse(const char *text, size_t len, const char *origin, const tc_catalog *catalog,
                   const tc_reasons *reasons, tc_model **out, tc_error *err);

void tc_model_free(tc_model *m);

const char *tc_model_kind_name(tc_model_kind kind);
const char *tc_model_status_name(tc_model_status status);
const char *tc_reason_method_name(tc_reason_method method);

/* The grade of a (clamped) score. */
const tc_grade *tc_model_grade(const tc_model *m, double score);

/* Index in m->grades of a grade of m (a pointer tc_model_grade returned). */
size_t tc_model_grade_index(const tc_model *m, const tc_grade *grade);

/* Score for a log-odds of default, before clamping: offset − factor·η. */
double tc_model_score_of_eta(const tc_model *m, double eta);

/* The probability of default the scaling gives a score: the inverse of tc_model_score_of_eta
 * through pd = 1 / (1 + e^−η). What a grade's score range means in PD. */
double tc_model_pd_at_score(const tc_model *m, double score);

/* Index of the characteristic on attribute name, or -1. */
int tc_model_find_char(const tc_model *m, const char *attribute);

/* Logistic characteristic c at value v: writes its c->n_params design entries to x and returns
 * its contribution to η, Σ coefficient·x in parameter order. Missing values follow c->missing.
 * Used by evaluation and, at load, to find each characteristic's maximum. */
double tc_model_char_terms(const tc_characteristic *c, tc_value v, double *x);

#endif
