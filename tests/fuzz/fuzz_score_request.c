/* Score request decoding and validation as the service does them: the strings on the wire
 * (tc_api_check_strings), protobuf-c unpacking of a tinchap.v1.ScoreRequest, then
 * tc_api_check_score (the code tc_api_score.c runs). A request that passes must fit the audit
 * record's fields; a refusal names a field in each of its violations, none of which repeats
 * the citizen ID, and sums them up in a message that does not either. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_api_checks.h"
#include "tc_audit.h"
#include "tc_text.h"

static int utf8(const char *s)
{
    return tc_utf8_valid(s, strlen(s));
}

/* Every violation names a field and keeps the ID's digits out, and so does the summary. */
static void check_refusal(tc_api_error *e, const char *id)
{
    FUZZ_CHECK(e->n_violations > 0);
    for (size_t i = 0; i < e->n_violations && i < TC_API_ERROR_VIOLATIONS_MAX; i++) {
        FUZZ_CHECK(e->violations[i].field[0] != '\0' && e->violations[i].why[0] != '\0');
        FUZZ_CHECK(!fuzz_shows_id(e->violations[i].why, id, strlen(id)));
    }
    tc_api_invalid(e, "");
    FUZZ_CHECK(e->code == 3 && e->reason == TINCHAP__V1__ERROR_REASON__INVALID_REQUEST);
    FUZZ_CHECK(strncmp(e->message, "field '", 7) == 0 || strstr(e->message, "fields are wrong"));
    FUZZ_CHECK(!fuzz_shows_id(e->message, id, strlen(id)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_api_error e;
    tc_api_error_set(&e, 3, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%s", "");
    /* the service checks the strings on the wire first, and answers a refusal at once */
    if (tc_api_check_strings(&tinchap__v1__score_request__descriptor, data, size, "", &e) > 0) {
        check_refusal(&e, "");
        return 0;
    }
    Tinchap__V1__ScoreRequest *q = tinchap__v1__score_request__unpack(NULL, size, data);
    if (q == NULL)
        return 0;
    /* what passed the wire check decodes to well-formed text, every field of it */
    FUZZ_CHECK(utf8(q->request_id) && utf8(q->citizen_id) && utf8(q->consent_ref) &&
               utf8(q->purpose) && utf8(q->product) && utf8(q->model_name));
    int bad = tc_api_check_score(q, &e);
    int id_problem = tc_api_request_id_problem(q->request_id) != NULL;
    if (bad) {
        FUZZ_CHECK((size_t)bad == e.n_violations);
        int named = 0; /* the request_id is a violation only when it failed its own check */
        for (size_t i = 0; i < e.n_violations && i < TC_API_ERROR_VIOLATIONS_MAX; i++)
            named |= strcmp(e.violations[i].field, "request_id") == 0;
        FUZZ_CHECK(named == id_problem || e.n_violations > TC_API_ERROR_VIOLATIONS_MAX);
        check_refusal(&e, q->citizen_id);
    } else {
        FUZZ_CHECK(!id_problem);
        FUZZ_CHECK(strlen(q->request_id) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->citizen_id) == TC_ID_LEN);
        FUZZ_CHECK(strlen(q->consent_ref) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->purpose) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->product) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->model_name) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(q->max_reasons <= TC_REASONS_OUT_MAX);
        FUZZ_CHECK(q->loan_amount_vnd >= 0 && q->loan_amount_vnd <= TC_API_LOAN_AMOUNT_MAX);
        FUZZ_CHECK(q->model_version == 0 || q->model_name[0] != '\0');
    }
    tinchap__v1__score_request__free_unpacked(q, NULL);
    return 0;
}
