/* The consent feed's messages as every node decodes them off the broker (tc_api_event.c), then
 * checks them (tc_event_validate): any producer with access to the stream writes these bytes.
 * Properties: no crash; an error names a field and never shows a citizen ID the input carried;
 * an event that decodes and validates re-encodes to bytes that decode to the same event; a
 * reference that holds an ID never comes out with it. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_api_event.h"
#include "tc_text.h"

static void check_message(const char *msg)
{
    FUZZ_CHECK(strncmp(msg, "field '", 7) == 0 ||
               strcmp(msg, "not a tinchap.v1.ConsentEvent") == 0 ||
               strcmp(msg, "hashing the consent reference failed") == 0);
    FUZZ_CHECK(!tc_text_has_id_run(msg, strlen(msg)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_event e, again;
    tc_error err;
    unsigned char buf[TC_API_EVENT_MAX_BYTES];
    if (tc_api_event_decode(fuzz_hasher(), data, size, &e, &err) != TC_OK) {
        check_message(err.msg);
        return 0;
    }
    FUZZ_CHECK(!tc_text_has_id_run(e.consent.ref, strlen(e.consent.ref)));
    if (tc_event_validate(&e, &err) != TC_OK) {
        FUZZ_CHECK(!tc_text_has_id_run(err.msg, strlen(err.msg)));
        return 0;
    }
    size_t n = tc_api_event_encode(&e, "fuzz", buf, sizeof buf);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(tc_api_event_decode(fuzz_hasher(), buf, n, &again, &err) == TC_OK);
    FUZZ_CHECK(again.kind == e.kind && again.version == e.version &&
               memcmp(again.citizen, e.citizen, sizeof e.citizen) == 0);
    if (e.kind != TC_EVENT_ERASE) {
        FUZZ_CHECK(strcmp(again.consent.institution, e.consent.institution) == 0);
        FUZZ_CHECK(strcmp(again.consent.purpose, e.consent.purpose) == 0);
    }
    if (e.kind == TC_EVENT_GRANT)
        FUZZ_CHECK(strcmp(again.consent.ref, e.consent.ref) == 0 &&
                   again.consent.ref_hashed == e.consent.ref_hashed &&
                   again.consent.granted_at == e.consent.granted_at &&
                   again.consent.expires_at == e.consent.expires_at);
    if (e.kind == TC_EVENT_REVOKE)
        FUZZ_CHECK(again.consent.revoked_at == e.consent.revoked_at);
    return 0;
}
