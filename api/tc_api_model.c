/* Scoring/ListModels and Scoring/GetModel: the models in service as a partner bank sees them.
 * GetModel is the whole scorecard — every bin with its values, unit and points, every grade
 * with the probabilities of default it stands for, the reason texts, and the model card as
 * typed fields — so that a model-risk review needs nothing but this answer. Answered on the
 * worker; everything is built in the worker's arena from the registry's immutable set. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_api_internal.h"
#include "tc_time.h"
#include "tinchap/v1/scoring.pb-c.h"

#define MODELS_OUT_MAX TC_REGISTRY_MODELS_MAX

typedef Tinchap__V1__Bin pb_bin;

static char *text(const char *v)
{
    return (char *)(v != NULL ? v : "");
}

static char *arena_strdup(tc_api_worker *w, const char *v)
{
    size_t n = strlen(v) + 1;
    char *out = tc_api_arena_alloc(w, n);
    if (out != NULL)
        memcpy(out, v, n);
    return out != NULL ? out : (char *)"";
}

/* A Timestamp in the arena for a date or time the model file wrote ("2026-11-01"), or NULL
 * (unset) when there is none. */
static Google__Protobuf__Timestamp *file_time(tc_api_worker *w, const char *v)
{
    int64_t t;
    if (v == NULL || tc_time_parse(v, strlen(v), &t) != TC_OK)
        return NULL;
    Google__Protobuf__Timestamp *ts = tc_api_arena_alloc(w, sizeof *ts);
    if (ts != NULL)
        tc_api_timestamp(ts, t * 1000000);
    return ts;
}

int tc_api_model_status(tc_model_status st)
{
    switch (st) {
    case TC_STATUS_CHAMPION:
        return TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_CHAMPION;
    case TC_STATUS_CHALLENGER:
        return TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_CHALLENGER;
    case TC_STATUS_RETIRED:
        return TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_RETIRED;
    }
    return TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_UNSPECIFIED;
}

static void fill_summary(tc_api_worker *w, Tinchap__V1__ModelSummary *o, const tc_model *m)
{
    tinchap__v1__model_summary__init(o);
    o->name = (char *)m->name;
    o->version = (uint32_t)m->version;
    o->product = (char *)m->product;
    o->status = (Tinchap__V1__ModelStatus)tc_api_model_status(m->status);
    o->kind = m->kind == TC_MODEL_SCORECARD ? TINCHAP__V1__MODEL_KIND__MODEL_KIND_SCORECARD
                                            : TINCHAP__V1__MODEL_KIND__MODEL_KIND_LOGISTIC;
    o->created_at = file_time(w, m->created_at);
}

void tc_api_handle_list_models(tc_api_slot *s)
{
    Tinchap__V1__ListModelsRequest *q = (Tinchap__V1__ListModelsRequest *)tc_api_request(
        s, &tinchap__v1__list_models_request__descriptor);
    if (q == NULL)
        return;
    tc_registry *reg = s->w->srv->registry;
    const tc_model_set *set = tc_registry_acquire(reg);
    Tinchap__V1__ModelSummary items[MODELS_OUT_MAX], *ptrs[MODELS_OUT_MAX];
    Tinchap__V1__ListModelsResponse r = TINCHAP__V1__LIST_MODELS_RESPONSE__INIT;
    for (size_t i = 0; i < tc_model_set_count(set) && r.n_models < MODELS_OUT_MAX; i++) {
        const tc_model *m = tc_model_set_model(set, i);
        if (q->product[0] != '\0' && strcmp(q->product, m->product) != 0)
            continue;
        fill_summary(s->w, &items[r.n_models], m);
        ptrs[r.n_models] = &items[r.n_models];
        r.n_models++;
    }
    r.models = ptrs;
    r.generation = tc_model_set_generation(set);
    tc_api_reply(s, &r.base);
    tc_registry_release(reg, set);
}

/* ---- the bins ---- */

/* "[12, 24) months", "[-inf, 3) loans", "married, single", "missing", "special 999". */
static void describe_bin(const tc_characteristic *c, const tc_bin *b, char *buf, size_t size)
{
    size_t o = 0;
    const char *unit = c->attr->unit != NULL ? c->attr->unit : "";
    switch (b->kind) {
    case TC_BIN_INTERVAL:
        snprintf(buf, size, "[%s%g, %s%g)%s%s", isinf(b->lower) ? "-" : "",
                 isinf(b->lower) ? INFINITY : b->lower, isinf(b->upper) ? "+" : "",
                 isinf(b->upper) ? INFINITY : b->upper, unit[0] ? " " : "", unit);
        break;
    case TC_BIN_MISSING:
        snprintf(buf, size, "missing");
        break;
    case TC_BIN_SPECIAL:
        o = (size_t)snprintf(buf, size, "special");
        for (size_t i = 0; i < b->n_values && o < size; i++)
            o += (size_t)snprintf(buf + o, size - o, " %g", b->values[i]);
        break;
    case TC_BIN_LEVELS:
        buf[0] = '\0';
        for (size_t i = 0; i < b->n_values && o < size; i++)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
                                  tc_attr_level_name(c->attr, (size_t)b->values[i]));
        break;
    }
    if (b->label != NULL && b->label[0] != '\0') {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " (%s)", b->label);
    }
}

static const Tinchap__V1__BinKind bin_kinds[] = {
    [TC_BIN_INTERVAL] = TINCHAP__V1__BIN_KIND__BIN_KIND_INTERVAL,
    [TC_BIN_LEVELS] = TINCHAP__V1__BIN_KIND__BIN_KIND_LEVELS,
    [TC_BIN_SPECIAL] = TINCHAP__V1__BIN_KIND__BIN_KIND_SPECIAL,
    [TC_BIN_MISSING] = TINCHAP__V1__BIN_KIND__BIN_KIND_MISSING,
};

static int fill_bin(tc_api_worker *w, pb_bin *o, const tc_characteristic *c, const tc_bin *b)
{
    char buf[512];
    tinchap__v1__bin__init(o);
    o->kind = bin_kinds[b->kind];
    describe_bin(c, b, buf, sizeof buf);
    o->description = arena_strdup(w, buf);
    o->points = b->points;
    o->label = text(b->label);
    if (b->kind == TC_BIN_INTERVAL) {
        o->has_lower = !isinf(b->lower);
        o->lower = o->has_lower ? b->lower : 0;
        o->has_upper = !isinf(b->upper);
        o->upper = o->has_upper ? b->upper : 0;
    } else if (b->kind == TC_BIN_SPECIAL && b->n_values > 0) {
        o->special_values = (double *)b->values;
        o->n_special_values = b->n_values;
    } else if (b->kind == TC_BIN_LEVELS && b->n_values > 0) {
        char **levels = tc_api_arena_alloc(w, b->n_values * sizeof *levels);
        if (levels == NULL)
            return -1;
        for (size_t i = 0; i < b->n_values; i++)
            levels[i] = (char *)tc_attr_level_name(c->attr, (size_t)b->values[i]);
        o->levels = levels;
        o->n_levels = b->n_values;
    }
    return 0;
}

static int fill_characteristic(tc_api_worker *w, const tc_model *m, const tc_characteristic *c,
                               Tinchap__V1__Characteristic *o)
{
    tinchap__v1__characteristic__init(o);
    o->attribute = (char *)c->attribute;
    o->label = (char *)(c->label != NULL && c->label[0] ? c->label : c->attr->description_en);
    o->description_vi = (char *)c->attr->description_vi;
    o->description_en = (char *)c->attr->description_en;
    o->unit = text(c->attr->unit);
    o->reason_code = (char *)m->reasons[c->reason].code;
    o->max_points = c->max_points;
    o->min_points = c->min_points;
    o->coefficient = c->coefficient;
    if (c->n_bins == 0)
        return 0;
    pb_bin *bins = tc_api_arena_alloc(w, c->n_bins * sizeof *bins);
    pb_bin **ptrs = tc_api_arena_alloc(w, c->n_bins * sizeof *ptrs);
    if (bins == NULL || ptrs == NULL)
        return -1;
    for (size_t b = 0; b < c->n_bins; b++) {
        if (fill_bin(w, &bins[b], c, &c->bins[b]) != 0)
            return -1;
        ptrs[b] = &bins[b];
    }
    o->bins = ptrs;
    o->n_bins = c->n_bins;
    return 0;
}

/* Grades are best first; each covers [min_score, the better one's min_score). */
static void fill_grade(const tc_model *m, size_t i, Tinchap__V1__Grade *o)
{
    const tc_grade *g = &m->grades[i];
    tinchap__v1__grade__init(o);
    o->grade = (char *)g->letter;
    o->min_score = g->min_score;
    o->max_score = i == 0 ? m->score_max : m->grades[i - 1].min_score;
    o->label_vi = (char *)g->vi;
    o->label_en = (char *)g->en;
    o->pd_low = i == 0 ? 0.0 : tc_model_pd_at_score(m, o->max_score);
    o->pd_high = i + 1 == m->n_grades ? 1.0 : tc_model_pd_at_score(m, g->min_score);
}

/* ---- the model card, from the JSON the model file gave (validated at load) ---- */

static Tinchap__V1__SampleStatistics *sample(tc_api_worker *w, json_t *j)
{
    if (!json_is_object(j))
        return NULL;
    Tinchap__V1__SampleStatistics *o = tc_api_arena_alloc(w, sizeof *o);
    if (o == NULL)
        return NULL;
    tinchap__v1__sample_statistics__init(o);
    o->rows = (uint64_t)json_integer_value(json_object_get(j, "rows"));
    o->events = json_number_value(json_object_get(j, "events"));
    o->auc = json_number_value(json_object_get(j, "auc"));
    o->gini = json_number_value(json_object_get(j, "gini"));
    o->ks = json_number_value(json_object_get(j, "ks"));
    o->brier = json_number_value(json_object_get(j, "brier"));
    json_t *hl = json_object_get(j, "hl_p");
    o->has_hl_p = json_is_number(hl);
    o->hl_p = json_number_value(hl);
    return o;
}

static char *json_text(tc_api_worker *w, json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v != NULL ? arena_strdup(w, v) : (char *)"";
}

static Tinchap__V1__ModelCard *model_card(tc_api_worker *w, const tc_model *m)
{
    json_t *card = m->model_card != NULL ? json_loads(m->model_card, 0, NULL) : NULL;
    Tinchap__V1__ModelCard *o = card != NULL ? tc_api_arena_alloc(w, sizeof *o) : NULL;
    Tinchap__V1__TrainingData *td = o != NULL ? tc_api_arena_alloc(w, sizeof *td) : NULL;
    if (td == NULL) {
        json_decref(card);
        return NULL;
    }
    tinchap__v1__model_card__init(o);
    o->intended_use = json_text(w, card, "intended_use");
    json_t *t = json_object_get(card, "training_data");
    tinchap__v1__training_data__init(td);
    td->description = json_text(w, t, "description");
    td->rows = (uint64_t)json_integer_value(json_object_get(t, "rows"));
    td->events = json_number_value(json_object_get(t, "events"));
    td->from = file_time(w, json_string_value(json_object_get(t, "from")));
    td->to = file_time(w, json_string_value(json_object_get(t, "to")));
    o->training_data = td;
    json_t *v = json_object_get(card, "validation");
    Tinchap__V1__ModelValidation *mv = json_is_object(v) ? tc_api_arena_alloc(w, sizeof *mv) : NULL;
    if (mv != NULL) {
        tinchap__v1__model_validation__init(mv);
        mv->method = json_text(w, v, "method");
        mv->date = file_time(w, json_string_value(json_object_get(v, "date")));
        mv->development = sample(w, json_object_get(v, "development"));
        mv->validation = sample(w, json_object_get(v, "validation"));
        mv->psi_score = json_number_value(json_object_get(v, "psi_score"));
        o->validation = mv;
    }
    json_t *lim = json_object_get(card, "limitations");
    size_t n = json_array_size(lim);
    char **items = n > 0 ? tc_api_arena_alloc(w, n * sizeof *items) : NULL;
    for (size_t i = 0; items != NULL && i < n; i++)
        items[i] = arena_strdup(w, text(json_string_value(json_array_get(lim, i))));
    o->limitations = items;
    o->n_limitations = items != NULL ? n : 0;
    json_decref(card);
    return o;
}

/* ---- GetModel ---- */

static int describe(tc_api_worker *w, const tc_model *m, Tinchap__V1__ModelDescription *r)
{
    Tinchap__V1__ModelSummary *summary = tc_api_arena_alloc(w, sizeof *summary);
    Tinchap__V1__Characteristic *chars = tc_api_arena_alloc(w, m->n_chars * sizeof *chars);
    Tinchap__V1__Characteristic **cp = tc_api_arena_alloc(w, m->n_chars * sizeof *cp);
    Tinchap__V1__Grade *grades = tc_api_arena_alloc(w, m->n_grades * sizeof *grades);
    Tinchap__V1__Grade **gp = tc_api_arena_alloc(w, m->n_grades * sizeof *gp);
    Tinchap__V1__ReasonText *reasons = tc_api_arena_alloc(w, (m->n_reasons + 1) * sizeof *reasons);
    Tinchap__V1__ReasonText **rp = tc_api_arena_alloc(w, (m->n_reasons + 1) * sizeof *rp);
    if (summary == NULL || chars == NULL || cp == NULL || grades == NULL || gp == NULL ||
        reasons == NULL || rp == NULL)
        return -1;
    fill_summary(w, summary, m);
    r->summary = summary;
    r->description_vi = text(m->description_vi);
    r->description_en = text(m->description_en);
    r->catalog_hash = (char *)m->catalog->hash_hex;
    r->training_fingerprint = text(m->training_fingerprint);
    r->score_min = m->score_min;
    r->score_max = m->score_max;
    r->points_at_odds = m->scale_points;
    r->odds = m->scale_odds;
    r->pdo = m->scale_pdo;
    r->intercept = m->intercept;
    r->reason_method = m->reason_method == TC_REASON_BASELINE
                           ? TINCHAP__V1__REASON_METHOD__REASON_METHOD_BASELINE
                           : TINCHAP__V1__REASON_METHOD__REASON_METHOD_MAX;
    r->max_reasons = (uint32_t)m->max_reasons;
    r->model_card = model_card(w, m);
    for (size_t i = 0; i < m->n_chars; i++) {
        if (fill_characteristic(w, m, &m->chars[i], &chars[i]) != 0)
            return -1;
        cp[i] = &chars[i];
    }
    r->characteristics = cp;
    r->n_characteristics = m->n_chars;
    for (size_t i = 0; i < m->n_grades; i++) {
        fill_grade(m, i, &grades[i]);
        gp[i] = &grades[i];
    }
    r->grades = gp;
    r->n_grades = m->n_grades;
    for (size_t i = 0; i < m->n_reasons; i++) {
        tinchap__v1__reason_text__init(&reasons[i]);
        reasons[i].code = (char *)m->reasons[i].code;
        reasons[i].text_vi = (char *)m->reasons[i].vi;
        reasons[i].text_en = (char *)m->reasons[i].en;
        rp[i] = &reasons[i];
    }
    r->reasons = rp;
    r->n_reasons = m->n_reasons;
    return 0;
}

void tc_api_handle_get_model(tc_api_slot *s)
{
    Tinchap__V1__GetModelRequest *q = (Tinchap__V1__GetModelRequest *)tc_api_request(
        s, &tinchap__v1__get_model_request__descriptor);
    if (q == NULL)
        return;
    tc_registry *reg = s->w->srv->registry;
    const tc_model_set *set = tc_registry_acquire(reg);
    const tc_model *m = tc_model_set_find(set, q->name, (int)q->version);
    Tinchap__V1__ModelDescription r = TINCHAP__V1__MODEL_DESCRIPTION__INIT;
    if (m == NULL)
        tc_api_fail(s, GRPC_STATUS_NOT_FOUND, TINCHAP__V1__ERROR_REASON__MODEL_NOT_FOUND,
                    "no model '%s' version %u in service", text(q->name), q->version);
    else if (describe(s->w, m, &r) != 0)
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "the description is larger than the server's scratch memory");
    else
        tc_api_reply(s, &r.base);
    tc_registry_release(reg, set);
}
