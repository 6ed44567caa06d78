/* tc_train — offline model building: from a training spec and a dataset to a model file in the
 * engine's format (models/README.md), with everything a model validator asks for.
 *
 * Scorecard (kind "scorecard"), on the development rows:
 *   1 each attribute of the spec is binned (tc_binning) and gets WoE and IV;
 *   2 selection: an attribute with fewer than two bins holding rows (no information) is
 *     dropped; IV below selection.min_iv is dropped; IV above
 *     selection.suspicious_iv is kept but flagged (leakage or a target proxy is the usual cause);
 *     of every pair of WoE columns correlated above selection.max_correlation (|Pearson r|,
 *     pairs taken from the most correlated down) the one with the lower IV is dropped;
 *   3 logistic regression of the target on the WoE columns (tc_logit); a characteristic whose
 *     WoE coefficient comes out positive (against its own bins, a sign of collinearity) is
 *     dropped, the most positive z first, and the model refitted;
 *   4 scaling: factor = pdo/ln 2, offset = points − factor·ln(odds); per characteristic j of k,
 *     points_b = −factor·β_j·WoE_b + (offset − factor·α)/k, rounded to scaling.rounding
 *     (the Siddiqi convention: the intercept's points spread evenly), so score ≈ offset −
 *     factor·η, which is the engine's consistency rule;
 *   5 the file is written and loaded back with tc_model_parse (any refusal is an error), and
 *     the engine evaluates a sample of rows to confirm the trainer's η and score bit for bit.
 * Logistic (kind "logistic", "raw attributes"): every attribute of the spec enters as its
 *   transform (identity, log1p, clip; categories as indicators of every level seen in the
 *   development rows except the most frequent, the reference), with a missing indicator (or the
 *   spec's imputed value) for attributes that may be missing. No selection: the modeller chose
 *   the terms. IVs are still computed for the report.
 * Validation: the rows are split into development and validation — a seeded random split
 *   (MT19937, one uniform draw per row in file order) or out of time by the date column — and
 *   AUC, Gini, KS, Brier, Hosmer–Lemeshow and calibration by decile are computed on both, with
 *   the PSI of the score between them and the CSI of every characteristic (tc_perf).
 *
 * Determinism: the same dataset, spec and options give the same bytes: no clock is read (the
 * model's created_at comes from the options, the spec, or the last date of the data), sums run
 * in row order, ties are broken by position.
 *
 * Lifetimes: a spec borrows the catalog it was parsed against; a result borrows the spec and the
 * dataset (for the per-row outcome) and owns everything else.
 */
#ifndef TC_TRAIN_H
#define TC_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tc_binning.h"
#include "tc_catalog.h"
#include "tc_dataset.h"
#include "tc_error.h"
#include "tc_logit.h"
#include "tc_perf.h"
#include "tc_model.h"
#include "tc_reasons.h"

#define TC_TRAIN_FORMAT 1
#define TC_TRAIN_SPEC_FILE_MAX (1u << 20)
#define TC_TRAIN_ATTRS_MAX TC_MODEL_CHARS_MAX
#define TC_TRAIN_WHY_MAX 256
#define TC_TRAIN_CHECK_ROWS 2000 /* rows the engine re-evaluates to confirm the trainer */
#define TC_TRAIN_PSI_BINS 10     /* score bins for the PSI: deciles of the development scores */

typedef enum tc_split_method { TC_SPLIT_NONE, TC_SPLIT_RANDOM, TC_SPLIT_DATE } tc_split_method;

typedef enum tc_missing_term { TC_TERM_INDICATOR, TC_TERM_IMPUTE } tc_missing_term;

/* One attribute of the spec. */
typedef struct tc_train_attr {
    const char *name;
    size_t attr_index; /* in the catalog */
    const tc_attr *attr;
    const char *reason_code;
    const char *label;          /* "" when none */
    tc_binning_options binning; /* the spec's binning section with this attribute's overrides */
    /* logistic */
    tc_transform transform; /* identity, log1p, clip; indicator for categories */
    double clip_min, clip_max;
    tc_missing_term missing;
    double impute_value; /* raw value (level index, 0/1 for bools) */
} tc_train_attr;

typedef struct tc_train_spec {
    const char *origin;
    const tc_catalog *catalog;
    tc_model_kind kind;
    /* the model */
    const char *name, *product;
    int version;
    tc_model_status status;
    const char *created_at; /* NULL when not given */
    const char *description_vi, *description_en;
    /* model.card (optional): the words of the model card the trainer writes with its figures */
    const char *card_intended_use;  /* NULL: the English description */
    const char *card_training_data; /* NULL: a description made from the data's size */
    size_t n_card_limitations;
    const char *card_limitations[TC_MODEL_CARD_LIMITATIONS_MAX];
    /* the data */
    const char *target;
    const char *weight; /* NULL: unweighted */
    const char *date;   /* NULL: no date column */
    /* split */
    tc_split_method split;
    double validation_share; /* random; date when validation_from is absent */
    uint32_t seed;
    int has_validation_from;
    int64_t validation_from; /* seconds, date split */
    /* selection */
    double min_iv, suspicious_iv, max_correlation;
    /* fit */
    double l2;
    int max_iterations;
    double tolerance;
    /* scaling and presentation */
    double points, odds, pdo, rounding;
    double score_min, score_max;
    tc_reason_method reason_method;
    int reason_count;
    size_t n_grades;
    tc_grade grades[TC_MODEL_GRADES_MAX]; /* letter, min_score, vi, en */
    size_t n_attrs;
    tc_train_attr attrs[TC_TRAIN_ATTRS_MAX];
} tc_train_spec;

/* Parse and validate a spec (format: models/README.md, "Training spec"), strictly: unknown
 * fields, unknown or protected attributes, reason codes missing from reasons, bad ranges are
 * refused with "ORIGIN: json.path: reason" (TC_EMODEL). */
int tc_train_spec_load(const char *path, const tc_catalog *cat, const tc_reasons *reasons,
                       tc_train_spec **out, tc_error *err);
int tc_train_spec_parse(const char *text, size_t len, const char *origin, const tc_catalog *cat,
                        const tc_reasons *reasons, tc_train_spec **out, tc_error *err);
void tc_train_spec_free(tc_train_spec *spec);

/* The model's identity as the trainer was told it (tinchap train --name, --version, --status):
 * name NULL, version 0 or a negative status keep the spec's. name is borrowed and must outlive
 * the spec. TC_EINVAL for a bad name, version or status (not a tc_model_status). */
int tc_train_spec_set_identity(tc_train_spec *spec, const char *name, int version, int status,
                               tc_error *err);

typedef enum tc_char_status {
    TC_CHAR_SELECTED,
    TC_CHAR_ONE_BIN,
    TC_CHAR_LOW_IV,
    TC_CHAR_CORRELATED,
    TC_CHAR_WRONG_SIGN,
} tc_char_status;

const char *tc_char_status_name(tc_char_status s);

/* What training did with one attribute of the spec. */
typedef struct tc_train_char {
    const tc_train_attr *attr;       /* borrowed from the spec */
    tc_binning bin;                  /* development rows */
    double val_n[TC_MODEL_BINS_MAX]; /* validation rows per bin */
    double val_events[TC_MODEL_BINS_MAX];
    tc_char_status status;
    int suspicious;                   /* IV above suspicious_iv */
    char why[TC_TRAIN_WHY_MAX];       /* why it was dropped or flagged; "" otherwise */
    double csi;                       /* development vs validation bins; NAN without validation */
    int model_index;                  /* characteristic in the model, -1 when not in it */
    size_t param, n_params;           /* its coefficients in the fit (param 0 is the intercept) */
    double points[TC_MODEL_BINS_MAX]; /* scorecard, per bin */
    /* logistic: the levels with an indicator term (categories), whether a missing indicator
     * term follows */
    size_t n_levels;
    uint8_t levels[TC_LEVELS_MAX];
    int missing_term;
} tc_train_char;

typedef struct tc_train_options {
    int kind;                  /* -1: the spec's, else a tc_model_kind */
    const char *created_at;    /* overrides the spec's */
    const char *fingerprint;   /* "sha256:…" of the training data, or NULL for "none" */
    const tc_reasons *reasons; /* reason texts for the model (required) */
    /* Called at each phase ("binning", "selection", …) for progress on a terminal; may be NULL. */
    void (*progress)(void *ctx, const char *phase);
    void *progress_ctx;
} tc_train_options;

typedef struct tc_train_result {
    const tc_train_spec *spec;
    const tc_dataset *data;
    tc_model_kind kind;
    char *model_json; /* the model file's text (NUL-terminated) */
    size_t model_len;
    tc_model *model; /* that text loaded by the engine */
    char created_at[32];
    size_t n_chars;
    tc_train_char *chars; /* every attribute of the spec, in spec order */
    tc_logit_result *fit;
    size_t n_params;
    char **param_names; /* fit parameter names, as in the model's covariance */
    /* the split */
    int has_validation;
    char split_text[128]; /* e.g. "random, 30 % validation, seed 1" */
    size_t n_dev, n_val;
    uint8_t *is_val; /* per row: 1 validation, 0 development */
    /* per row, every row of the dataset */
    double *eta, *pd, *score;
    tc_perf dev, val; /* val only with has_validation */
    double psi_score;    /* NAN without validation */
    size_t n_psi_bins;
    double psi_cuts[TC_PSI_BINS_MAX];
    double psi_dev[TC_PSI_BINS_MAX], psi_val[TC_PSI_BINS_MAX];
    double grade_dev[TC_MODEL_GRADES_MAX]; /* development rows per grade (weighted) */
    double dev_weight;                      /* all development rows (weighted) */
    size_t check_rows; /* rows the engine re-evaluated */
    /* seconds spent per phase */
    double t_binning, t_selection, t_fit, t_validation;
} tc_train_result;

/* Train. The dataset must carry the spec's target (and weight and date when the spec names
 * them) and every attribute of the spec. Errors: TC_EINVAL for data that cannot train (no
 * events, no rows), TC_ENUMERIC from the fit (separation, rank deficiency: the message names
 * the columns), TC_EMODEL when the model does not load (the message is the engine's). */
int tc_train_run(const tc_train_spec *spec, const tc_dataset *data, const tc_train_options *opt,
                 tc_train_result **out, tc_error *err);
void tc_train_result_free(tc_train_result *r);

#endif
