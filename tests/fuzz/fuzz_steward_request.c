/* Steward request decoding and validation as the service does them: protobuf-c unpacking, then
 * the checks of tc_api_checks.c that tc_api_steward.c runs, after the citizen ID check every
 * steward method starts with (tc_id_parse).
 *
 * The first input byte chooses the message: 0 a PutCitizens CitizenRecord, checked against the
 * shipped catalog; 1 GrantConsentRequest; 2 RevokeConsentRequest; 3 EraseCitizenRequest;
 * 4 ListInquiriesRequest. The rest is the encoded message. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_api_checks.h"
#include "tc_text.h"
#include "tc_time.h"

static void start(tc_api_error *e)
{
    tc_api_error_set(e, 3, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST, "%s", "");
}

/* citizen_key() of tc_api_steward.c without the hashing. */
static int citizen_ok(const char *id)
{
    tc_error err;
    if (tc_id_parse(id, strlen(id), 0, NULL, &err) == TC_OK)
        return 1;
    FUZZ_CHECK(!fuzz_shows_id(err.msg, id, strlen(id)));
    return 0;
}

static void put_record(const uint8_t *data, size_t size)
{
    const tc_catalog *cat = fuzz_catalog();
    tc_api_error e;
    start(&e);
    if (tc_api_check_strings(&tinchap__v1__citizen_record__descriptor, data, size, "records[7]",
                             &e) > 0) {
        FUZZ_CHECK(strncmp(e.violations[0].field, "records[7].", 11) == 0);
        return;
    }
    Tinchap__V1__CitizenRecord *r = tinchap__v1__citizen_record__unpack(NULL, size, data);
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_attributes; i++)
        FUZZ_CHECK(tc_utf8_valid(r->attributes[i]->name, strlen(r->attributes[i]->name)));
    tc_id_info info;
    tc_value values[TC_CATALOG_ATTRS_MAX];
    if (tc_api_check_record(cat, r, 7, &info, values, &e) == 0) {
        for (size_t i = 0; i < cat->n_attrs; i++)
            fuzz_check_value_text(&cat->attrs[i], values[i]);
        fuzz_check_record_roundtrip(cat, values);
        FUZZ_CHECK(r->n_attributes == cat->n_attrs);
    } else {
        for (size_t i = 0; i < e.n_violations && i < TC_API_ERROR_VIOLATIONS_MAX; i++) {
            FUZZ_CHECK(strncmp(e.violations[i].field, "records[7]", 10) == 0);
            FUZZ_CHECK(!fuzz_shows_id(e.violations[i].why, r->citizen_id,
                                      strlen(r->citizen_id)));
        }
    }
    tinchap__v1__citizen_record__free_unpacked(r, NULL);
}

static void grant(const uint8_t *data, size_t size)
{
    Tinchap__V1__GrantConsentRequest *q =
        tinchap__v1__grant_consent_request__unpack(NULL, size, data);
    if (q == NULL)
        return;
    tc_consent c;
    tc_error err;
    tc_api_error e;
    start(&e);
    if (citizen_ok(q->citizen_id) && tc_api_check_grant(q, &c, &e) == 0) {
        FUZZ_CHECK(tc_consent_validate(&c, &err) == TC_OK);
        FUZZ_CHECK(strcmp(c.institution, q->institution) == 0);
        FUZZ_CHECK(strcmp(c.ref, q->consent_ref) == 0);
        unsigned char v[TC_CONSENT_VALUE_MAX];
        FUZZ_CHECK(tc_consent_encode(&c, v) <= sizeof v);
    }
    tinchap__v1__grant_consent_request__free_unpacked(q, NULL);
}

static void revoke(const uint8_t *data, size_t size)
{
    Tinchap__V1__RevokeConsentRequest *q =
        tinchap__v1__revoke_consent_request__unpack(NULL, size, data);
    if (q == NULL)
        return;
    int64_t at = 1764000000;
    tc_api_error e;
    start(&e);
    if (citizen_ok(q->citizen_id) && tc_api_check_revoke(q, &at, &e) == 0) {
        FUZZ_CHECK(strlen(q->institution) <= TC_INSTITUTION_MAX);
        FUZZ_CHECK(strlen(q->purpose) <= TC_PURPOSE_MAX);
        FUZZ_CHECK(q->revoked_at != NULL ? at == q->revoked_at->seconds : at == 1764000000);
    }
    tinchap__v1__revoke_consent_request__free_unpacked(q, NULL);
}

static void erase(const uint8_t *data, size_t size)
{
    Tinchap__V1__EraseCitizenRequest *q =
        tinchap__v1__erase_citizen_request__unpack(NULL, size, data);
    if (q == NULL)
        return;
    (void)citizen_ok(q->citizen_id);
    tinchap__v1__erase_citizen_request__free_unpacked(q, NULL);
}

static void inquiries(const uint8_t *data, size_t size)
{
    Tinchap__V1__ListInquiriesRequest *q =
        tinchap__v1__list_inquiries_request__unpack(NULL, size, data);
    if (q == NULL)
        return;
    (void)citizen_ok(q->citizen_id);
    tinchap__v1__list_inquiries_request__free_unpacked(q, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0:
        put_record(data + 1, size - 1);
        break;
    case 1:
        grant(data + 1, size - 1);
        break;
    case 2:
        revoke(data + 1, size - 1);
        break;
    case 3:
        erase(data + 1, size - 1);
        break;
    default:
        inquiries(data + 1, size - 1);
        break;
    }
    return 0;
}
