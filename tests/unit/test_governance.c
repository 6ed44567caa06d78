/* Model governance: the model card is validated like every other field; a status change
 * rewrites one value and nothing else; the set after a change is checked by the registry's own
 * code; a promotion writes the new champion first and can be undone; governance records go to
 * the audit trail in order. */
#include <gsl/gsl_errno.h>

#include "model_fixture.h"
#include "tc_audit.h"
#include "tc_governance.h"
#include "tc_registry.h"
#include "test_util.h"

typedef struct fx {
    tc_catalog *cat;
    tc_reasons *reasons;
    char *dir;
    char path[1024];
} fx;

static const char *in_dir(fx *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static char *slurp(const char *path, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    if (tc_read_file(path, 1 << 22, TC_EIO, &text, &n, NULL) != TC_OK)
        fail_msg("cannot read %s", path);
    if (len != NULL)
        *len = n;
    return text;
}

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fx *f = calloc(1, sizeof *f);
    f->cat = tu_catalog();
    f->reasons = shipped_reasons();
    f->dir = strdup(tu_tempdir());
    static const char *const files[] = {"reasons.json", "unsecured-consumer-v1.json",
                                        "unsecured-consumer-v2.json"};
    for (size_t i = 0; i < 3; i++) {
        char from[1024];
        snprintf(from, sizeof from, "%s/%s", TC_MODELS, files[i]);
        char *text = slurp(from, NULL);
        tu_write(in_dir(f, files[i]), text);
        free(text);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    tc_reasons_free(f->reasons);
    tc_catalog_free(f->cat);
    free(f);
    return 0;
}

/* ---- the model card ---- */

static const char card_ok[] =
    "\"model_card\": {\"intended_use\": \"Unsecured consumer loans at origination.\", "
    "\"training_data\": {\"description\": \"Synthetic applications\", \"rows\": 1000, "
    "\"events\": 70, \"from\": \"2025-01-01\", \"to\": \"2025-12-31\"}, "
    "\"validation\": {\"method\": \"out of time\", \"date\": \"2026-01-15\", "
    "\"development\": {\"rows\": 700, \"events\": 49, \"auc\": 0.78, \"gini\": 0.56, \"ks\": 0.42, "
    "\"brier\": 0.057, \"hl_p\": 0.2}, "
    "\"validation\": {\"rows\": 300, \"events\": 21, \"auc\": 0.77, \"gini\": 0.54, \"ks\": 0.4, "
    "\"brier\": 0.058}, \"psi_score\": 0.0004}, "
    "\"limitations\": [\"Synthetic data only.\"]},";

/* The golden scorecard with `member` inserted as its first member. */
static int card_model(fx *f, const char *member, tc_model **out, tc_error *err)
{
    char *base = fixture_text(f->cat, "golden-scorecard.json");
    char *p = strchr(base, '{');
    size_t head = (size_t)(p - base) + 1;
    char *text = malloc(strlen(base) + strlen(member) + 2);
    memcpy(text, base, head);
    strcpy(text + head, member);
    strcat(text, base + head);
    int rc = tc_model_parse(text, strlen(text), "models/card.json", f->cat, f->reasons, out, err);
    free(text);
    free(base);
    return rc;
}

static void test_model_card(void **state)
{
    fx *f = *state;
    tc_model *m = NULL;
    tc_error err = {0};
    assert_int_equal(card_model(f, "", &m, &err), TC_OK);
    assert_null(m->model_card); /* optional */
    tc_model_free(m);
    m = NULL;
    assert_int_equal(card_model(f, card_ok, &m, &err), TC_OK);
    assert_non_null(m->model_card);
    json_t *card = json_loads(m->model_card, 0, NULL);
    assert_non_null(card);
    assert_string_equal(json_string_value(json_object_get(card, "intended_use")),
                        "Unsecured consumer loans at origination.");
    json_t *val = json_object_get(json_object_get(card, "validation"), "validation");
    assert_true(json_number_value(json_object_get(val, "auc")) == 0.77);
    /* keys stay in file order, so the card reads as its author wrote it */
    const char *first = json_object_iter_key(json_object_iter(card));
    assert_string_equal(first, "intended_use");
    json_decref(card);
    tc_model_free(m);

    static const struct {
        const char *member, *message;
    } bad[] = {
        {"\"model_card\": {\"intended_use\": \"x\"},",
         "models/card.json: model_card.training_data: required field is missing"},
        {"\"model_card\": {\"intended_use\": \"\", \"training_data\": {\"description\": \"d\"}},",
         "models/card.json: model_card.intended_use: must not be empty"},
        {"\"model_card\": {\"intended_use\": \"x\", \"owner\": \"y\", "
         "\"training_data\": {\"description\": \"d\"}},",
         "models/card.json: model_card: unknown field 'owner'"},
        {"\"model_card\": {\"intended_use\": \"x\", \"training_data\": {\"description\": \"d\", "
         "\"from\": \"2026-01-02\", \"to\": \"2026-01-01\"}},",
         "models/card.json: model_card.training_data.to: comes before \"from\""},
        {"\"model_card\": {\"intended_use\": \"x\", \"training_data\": {\"description\": \"d\"}, "
         "\"validation\": {\"method\": \"m\", \"date\": \"2026-01-01\", \"development\": "
         "{\"rows\": 10, \"events\": 1, \"auc\": 1.2, \"gini\": 0.4, \"ks\": 0.1, "
         "\"brier\": 0.1}}},",
         "models/card.json: model_card.validation.development.auc: 1.2 is outside [0, 1]"},
        {"\"model_card\": {\"intended_use\": \"x\", \"training_data\": {\"description\": \"d\"}, "
         "\"validation\": {\"method\": \"m\", \"date\": \"2026-01-01\", \"development\": "
         "{\"rows\": 10, \"events\": 1, \"auc\": 0.78, \"gini\": 0.78, \"ks\": 0.1, "
         "\"brier\": 0.1}}},",
         "models/card.json: model_card.validation.development.gini: 0.78 does not match auc 0.78 "
         "(gini = 2 x auc - 1)"},
        {"\"model_card\": {\"intended_use\": \"x\", \"training_data\": {\"description\": \"d\"}, "
         "\"validation\": {\"method\": \"m\", \"date\": \"yesterday\", \"development\": "
         "{\"rows\": 10, \"events\": 1, \"auc\": 0.78, \"gini\": 0.56, \"ks\": 0.1, "
         "\"brier\": 0.1}}},",
         "models/card.json: model_card.validation.date: 'yesterday' is not a UTC date like "
         "2026-11-01"},
        {"\"model_card\": {\"intended_use\": \"x\", \"training_data\": {\"description\": \"d\"}, "
         "\"limitations\": [\"ok\", \"\"]},",
         "models/card.json: model_card.limitations[1]: expected a text of 1 to 4096 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_error e = {0};
        tc_model *bm = NULL;
        int rc = card_model(f, bad[i].member, &bm, &e);
        if (rc != TC_EMODEL)
            fail_msg("case %zu: expected TC_EMODEL, got %s (%s)", i, tc_err_name(rc), e.msg);
        assert_null(bm);
        assert_msg(&e, bad[i].message);
    }
}

/* ---- the one-member rewrite ---- */

static void test_status_text(void **state)
{
    (void)state;
    /* decoys: the key inside a string, and a nested member of that name */
    const char doc[] =
        "{\n  \"description\": {\"en\": \"a \\\"status\\\": \\\"champion\\\" text\", "
        "\"status\": \"x\"},\n  \"status\"  :  \"challenger\",\n  \"n\": 1.50\n}\n";
    const char want[] =
        "{\n  \"description\": {\"en\": \"a \\\"status\\\": \\\"champion\\\" text\", "
        "\"status\": \"x\"},\n  \"status\"  :  \"champion\",\n  \"n\": 1.50\n}\n";
    char *out = NULL;
    size_t len = 0;
    tc_error err = {0};
    assert_int_equal(tc_governance_status_text(doc, strlen(doc), TC_STATUS_CHAMPION, &out, &len,
                                               &err),
                     TC_OK);
    assert_int_equal(len, strlen(want));
    assert_string_equal(out, want);
    free(out);
    const char no_status[] = "{\"name\": \"m\"}";
    assert_int_equal(tc_governance_status_text(no_status, strlen(no_status), TC_STATUS_RETIRED,
                                               &out, &len, &err),
                     TC_EMODEL);
    assert_msg(&err, "cannot change the \"status\" member without rewriting the file");
}

/* ---- the set after a change ---- */

static void test_registry_override(void **state)
{
    fx *f = *state;
    tc_registry_options ro = {.dir = f->dir, .catalog = f->cat};
    tc_model_set *set = NULL;
    tc_error err = {0};
    assert_int_equal(tc_registry_load_set(&ro, NULL, 0, &set, &err), TC_OK);
    assert_int_equal(tc_model_set_count(set), 2);
    assert_string_equal(tc_model_set_file(set, 0), "unsecured-consumer-v1.json");
    assert_int_equal(tc_model_set_generation(set), 0);
    tc_model_set_free(set);

    size_t len;
    char *v1 = slurp(in_dir(f, "unsecured-consumer-v1.json"), &len), *champ = NULL;
    size_t clen = 0;
    assert_int_equal(tc_governance_status_text(v1, len, TC_STATUS_CHAMPION, &champ, &clen, &err),
                     TC_OK);
    tc_registry_override over = {"unsecured-consumer-v1.json", champ, clen};
    set = NULL;
    assert_int_equal(tc_registry_load_set(&ro, &over, 1, &set, &err), TC_EMODEL);
    assert_null(set);
    assert_non_null(strstr(err.msg, "a second champion for product 'unsecured-consumer'"));
    tc_registry_override ghost = {"nope.json", champ, clen};
    assert_int_equal(tc_registry_load_set(&ro, &ghost, 1, &set, &err), TC_EINVAL);
    free(champ);
    free(v1);
}

static void test_plan_apply_undo(void **state)
{
    fx *f = *state;
    size_t l1, l2;
    char *v1 = slurp(in_dir(f, "unsecured-consumer-v1.json"), &l1);
    char *v2 = slurp(in_dir(f, "unsecured-consumer-v2.json"), &l2);
    tc_governance_request rq = {.models_dir = f->dir, .catalog = f->cat,
                                .model = "unsecured-consumer-expert:1",
                                .action = TC_GOV_PROMOTE, .to = TC_STATUS_CHAMPION};
    tc_governance_plan *p = NULL;
    tc_error err = {0};
    assert_int_equal(tc_governance_plan_make(&rq, &p, &err), TC_OK);
    assert_int_equal(p->n, 2);
    /* the new champion first: in between, two champions, which a reload refuses */
    assert_string_equal(p->changes[0].file, "unsecured-consumer-v1.json");
    assert_int_equal(p->changes[0].from, TC_STATUS_RETIRED);
    assert_int_equal(p->changes[0].to, TC_STATUS_CHAMPION);
    assert_string_equal(p->changes[1].file, "unsecured-consumer-v2.json");
    assert_int_equal(p->changes[1].to, TC_STATUS_CHALLENGER);
    assert_int_equal(tc_governance_apply(p, &err), TC_OK);
    tc_registry_options ro = {.dir = f->dir, .catalog = f->cat};
    tc_model_set *set = NULL;
    assert_int_equal(tc_registry_load_set(&ro, NULL, 0, &set, &err), TC_OK);
    const tc_model *c = tc_model_set_champion(set, "unsecured-consumer");
    assert_string_equal(c->name, "unsecured-consumer-expert");
    tc_model_set_free(set);

    char *rec = tc_governance_record(p, "alice", NULL, 1767225600000000LL, "host-1");
    json_t *j = json_loads(rec, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "time")),
                        "2026-01-01T00:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(j, "action")), "promote");
    assert_string_equal(json_string_value(json_object_get(j, "by")), "alice");
    assert_true(json_is_null(json_object_get(j, "reason")));
    json_t *ch = json_array_get(json_object_get(j, "changes"), 1);
    assert_string_equal(json_string_value(json_object_get(ch, "from")), "champion");
    assert_string_equal(json_string_value(json_object_get(ch, "sha256_before")),
                        p->changes[1].sha256_before);
    json_decref(j);
    free(rec);

    assert_int_equal(tc_governance_undo(p, &err), TC_OK);
    size_t n1, n2;
    char *a1 = slurp(in_dir(f, "unsecured-consumer-v1.json"), &n1);
    char *a2 = slurp(in_dir(f, "unsecured-consumer-v2.json"), &n2);
    assert_true(n1 == l1 && memcmp(a1, v1, l1) == 0);
    assert_true(n2 == l2 && memcmp(a2, v2, l2) == 0);
    free(a1);
    free(a2);
    tc_governance_plan_free(p);

    /* refusals: the only champion, and a name that is not there */
    tc_governance_request rt = {.models_dir = f->dir, .catalog = f->cat,
                                .model = "unsecured-consumer-v2.json", .action = TC_GOV_RETIRE};
    p = NULL;
    assert_int_equal(tc_governance_plan_make(&rt, &p, &err), TC_EINVAL);
    assert_msg(&err, "unsecured-consumer-scorecard version 2 is the only model serving "
                     "'unsecured-consumer': Score calls for that product would fail; promote "
                     "another model instead, or --force");
    rt.model = "unsecured-consumer-scorecard:9";
    assert_int_equal(tc_governance_plan_make(&rt, &p, &err), TC_ENOTFOUND);
    /* a retired model to challenger beside no champion: the registry's own refusal */
    rt.model = "unsecured-consumer-v2.json";
    rt.force = 1;
    assert_int_equal(tc_governance_plan_make(&rt, &p, &err), TC_OK);
    assert_int_equal(tc_governance_apply(p, &err), TC_OK);
    tc_governance_plan_free(p);
    p = NULL;
    tc_governance_request rc = {.models_dir = f->dir, .catalog = f->cat,
                                .model = "unsecured-consumer-expert:1", .action = TC_GOV_PROMOTE,
                                .to = TC_STATUS_CHALLENGER};
    assert_int_equal(tc_governance_plan_make(&rc, &p, &err), TC_EINVAL);
    assert_non_null(strstr(err.msg, "refused: the service would not load the models directory "
                                    "after this change"));
    assert_non_null(strstr(err.msg, "which has no champion"));
    tu_write(in_dir(f, "unsecured-consumer-v2.json"), v2);
    free(v1);
    free(v2);
}

/* ---- records in the trail ---- */

static int collect(uint64_t seq, const char *record, size_t len, void *arg)
{
    char *out = arg;
    size_t o = strlen(out);
    snprintf(out + o, 256 - o, "%llu:%.*s;", (unsigned long long)seq, (int)len, record);
    return 0;
}

static void test_audit_records(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_audit *a = NULL;
    tc_audit_reader *r = NULL;
    tc_error err = {0};
    uint64_t seq = 0;
    /* 64 MiB: the default map (64 GiB of address space) is more than valgrind can map */
    tc_audit_options ao = {.dir = dir, .map_size = (size_t)64 << 20};
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    assert_int_equal(tc_audit_governance_append(a, "{\"a\":1}", 7, &seq, &err), TC_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(tc_audit_governance_append(a, "{\"a\":2}", 7, &seq, &err), TC_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(tc_audit_governance_append(a, "", 0, &seq, &err), TC_EINVAL);
    tc_audit_close(a);
    /* read-only, as tinchap audit reads it beside a serving tinchapd */
    ao.read_only = 1;
    a = NULL;
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    assert_int_equal(tc_audit_reader_new(a, &r, &err), TC_OK);
    char out[256] = "";
    assert_int_equal(tc_audit_governance_scan(r, collect, out, &err), TC_OK);
    assert_string_equal(out, "1:{\"a\":1};2:{\"a\":2};");
    assert_int_equal(tc_audit_count(r), 0); /* not Score records */
    assert_int_equal(tc_audit_governance_append(a, "{}", 2, &seq, &err), TC_EINVAL);
    tc_audit_reader_free(r);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_card),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_registry_override),
        cmocka_unit_test(test_plan_apply_undo),
        cmocka_unit_test(test_audit_records),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
