/* Score request decoding and validation as the service does them: the strings on the wire
 * (tc_api_strings_check), protobuf-c unpacking of a tinchap.v1.ScoreRequest, then
 * tc_api_score_check (the code tc_api_score.c runs). A request
 * that passes must fit the audit record's fields; a refusal must name a field and must not
 * repeat the citizen ID. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_api_validate.h"
#include "tc_audit.h"
#include "tc_text.h"

static int utf8(const char *s)
{
    return tc_utf8_valid(s, strlen(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[TC_AUDIT_STATUS_TEXT_MAX + 1];
    /* the service checks the strings on the wire first, and answers a refusal at once */
    if (tc_api_strings_check(&tinchap__v1__score_request__descriptor, data, size, msg,
                             sizeof msg)) {
        FUZZ_CHECK(strncmp(msg, "field '", 7) == 0);
        return 0;
    }
    Tinchap__V1__ScoreRequest *q = tinchap__v1__score_request__unpack(NULL, size, data);
    if (q == NULL)
        return 0;
    /* what passed the wire check decodes to well-formed text, every field of it */
    FUZZ_CHECK(utf8(q->request_id) && utf8(q->citizen_id) && utf8(q->consent_ref) &&
               utf8(q->purpose) && utf8(q->product) && utf8(q->model_name));
    int bad = tc_api_score_check(q, msg, sizeof msg);
    int id_problem = tc_api_request_id_problem(q->request_id) != NULL;
    if (bad) {
        FUZZ_CHECK(bad == 1 && msg[0] != '\0');
        FUZZ_CHECK(!fuzz_shows_id(msg, q->citizen_id, strlen(q->citizen_id)));
        /* the request_id is echoed into logs only once it passed its own check */
        FUZZ_CHECK(id_problem || strstr(msg, "request_id") == NULL);
    } else {
        FUZZ_CHECK(!id_problem);
        FUZZ_CHECK(strlen(q->request_id) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->citizen_id) == TC_ID_LEN);
        FUZZ_CHECK(strlen(q->consent_ref) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->purpose) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->product) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(strlen(q->model_name) <= TC_AUDIT_TEXT_MAX);
        FUZZ_CHECK(q->max_reasons <= TC_REASONS_OUT_MAX);
        FUZZ_CHECK(q->loan_amount_vnd >= 0);
    }
    tinchap__v1__score_request__free_unpacked(q, NULL);
    return 0;
}
