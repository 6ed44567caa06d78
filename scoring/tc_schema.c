/* What model files and training specs read alike; see tc_schema.h. */
#include "tc_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tc_schema_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TC_MODEL_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

int tc_schema_get_enum(const tc_jctx *ctx, json_t *obj, const char *key, int required,
                       const char *const names[], size_t n, const char *expect, int *out,
                       tc_error *err)
{
    const char *s = NULL;
    int rc = tc_json_get_string(ctx, obj, key, required, 32, &s, err);
    if (rc != TC_OK || s == NULL)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (names[i][0] != '\0' && strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return TC_OK;
        }
    char q[64];
    return tc_json_fail(ctx, key, err, "'%s' is not one of %s",
                        tc_error_quote(q, sizeof q, s, strlen(s)), expect);
}

const char *tc_schema_num(char buf[40], double v)
{
    if (isinf(v)) {
        snprintf(buf, 40, "%s", v > 0 ? "+inf" : "-inf");
        return buf;
    }
    if (v == 0) { /* -0 too */
        snprintf(buf, 40, "0");
        return buf;
    }
    if (v == floor(v) && fabs(v) < 1e15) { /* whole numbers without an exponent: 600 */
        snprintf(buf, 40, "%.0f", v);
        return buf;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* An upper-case letter, then up to 3 letters, digits, '+' or '-'. */
static int grade_letter_ok(const char *l)
{
    int ok = l[0] >= 'A' && l[0] <= 'Z';
    for (size_t k = 1; ok && l[k] != '\0'; k++)
        ok = (l[k] >= 'A' && l[k] <= 'Z') || (l[k] >= '0' && l[k] <= '9') || l[k] == '+' ||
             l[k] == '-';
    return ok;
}

static int one_grade(const tc_jctx *c, json_t *g, const tc_grade *before, size_t i,
                     double score_max, tc_grade *gr, tc_error *err)
{
    static const char *const keys[] = {"grade", "min_score", "vi", "en", NULL};
    char n1[40], n2[40];
    int rc;
    if ((rc = tc_json_expect_object(c, g, keys, err)) != TC_OK ||
        (rc = tc_json_get_string(c, g, "grade", 1, 4, &gr->letter, err)) != TC_OK ||
        (rc = tc_json_get_number(c, g, "min_score", 1, &gr->min_score, err)) != TC_OK ||
        (rc = tc_json_get_string(c, g, "vi", 1, 256, &gr->vi, err)) != TC_OK ||
        (rc = tc_json_get_string(c, g, "en", 1, 256, &gr->en, err)) != TC_OK)
        return rc;
    if (!grade_letter_ok(gr->letter))
        return tc_json_fail(c, "grade", err,
                            "'%s' is not a grade: an upper-case letter, then up to 3 letters, "
                            "digits, '+' or '-'",
                            gr->letter);
    if (gr->vi[0] == '\0' || gr->en[0] == '\0')
        return tc_json_fail(c, gr->vi[0] == '\0' ? "vi" : "en", err, "must not be empty");
    for (size_t j = 0; j < i; j++)
        if (strcmp(before[j].letter, gr->letter) == 0)
            return tc_json_fail(c, "grade", err, "'%s' repeats grades[%zu]", gr->letter, j);
    if (i == 0 && gr->min_score > score_max)
        return tc_json_fail(c, "min_score", err,
                            "%s is above score_bounds.max %s: no score reaches it",
                            tc_schema_num(n1, gr->min_score), tc_schema_num(n2, score_max));
    if (i > 0 && !(gr->min_score < before[i - 1].min_score))
        return tc_json_fail(c, "min_score", err,
                            "%s is not below grades[%zu].min_score %s: cut-offs must descend "
                            "from the best grade",
                            tc_schema_num(n1, gr->min_score), i - 1,
                            tc_schema_num(n2, before[i - 1].min_score));
    return TC_OK;
}

int tc_schema_grades(const tc_jctx *root, json_t *doc, double score_min, double score_max,
                     tc_grade *out, size_t *n, tc_error *err)
{
    json_t *arr = NULL;
    char n1[40], n2[40];
    int rc = tc_json_get_array(root, doc, "grades", 1, TC_MODEL_GRADES_MAX, &arr, err);
    if (rc != TC_OK)
        return rc;
    size_t count = json_array_size(arr);
    if (count == 0)
        return tc_json_fail(root, "grades", err, "a model needs at least one grade");
    tc_jctx gc = tc_jctx_key(root, "grades");
    for (size_t i = 0; i < count; i++) {
        tc_jctx c = tc_jctx_index(&gc, i);
        if ((rc = one_grade(&c, json_array_get(arr, i), out, i, score_max, &out[i], err)) != TC_OK)
            return rc;
    }
    if (out[count - 1].min_score > score_min) {
        tc_jctx c = tc_jctx_index(&gc, count - 1);
        return tc_json_fail(&c, "min_score", err,
                            "%s is above score_bounds.min %s: the lowest grade must cover every "
                            "score",
                            tc_schema_num(n1, out[count - 1].min_score),
                            tc_schema_num(n2, score_min));
    }
    *n = count;
    return TC_OK;
}

int tc_schema_limitations(const tc_jctx *card_ctx, json_t *card, const char **out, size_t *n,
                          tc_error *err)
{
    json_t *lim = NULL;
    *n = 0;
    int rc = tc_json_get_array(card_ctx, card, "limitations", 0, TC_MODEL_CARD_LIMITATIONS_MAX,
                               &lim, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx lc = tc_jctx_key(card_ctx, "limitations");
    for (size_t i = 0; lim != NULL && i < json_array_size(lim); i++) {
        json_t *item = json_array_get(lim, i);
        tc_jctx ic = tc_jctx_index(&lc, i);
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) > TC_MODEL_CARD_TEXT_MAX)
            return tc_json_fail(&ic, NULL, err, "expected a text of 1 to %d bytes",
                                TC_MODEL_CARD_TEXT_MAX);
        if (out != NULL)
            out[i] = json_string_value(item);
        (*n)++;
    }
    return TC_OK;
}
