/* Decoding what the database holds: citizen records (tc_record_view and every value read, then
 * the shipped model evaluated on the record, as Score does), audit records (tc_audit_decode,
 * and the time formatting that listing them uses) and consents (tc_consent_decode). The bytes
 * come from LMDB pages, so a damaged or foreign database file must give an error, never a read
 * out of bounds.
 *
 * The first input byte chooses the codec (0: citizen record, 1: audit record, 2: consent, whose
 * second byte is the key's length); the rest is the stored value. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tc_audit.h"
#include "tc_text.h"
#include "tc_consent.h"
#include "tc_eval.h"
#include "tc_record.h"
#include "tc_time.h"

static void citizen_record(const uint8_t *data, size_t size)
{
    const tc_catalog *cat = fuzz_catalog();
    static tc_eval_workspace *ws;
    tc_record rec;
    tc_error err;
    tc_score_result res;
    if (ws == NULL && tc_eval_workspace_new(&ws, &err) != TC_OK)
        abort();
    if (tc_record_view(cat, data, size, &rec, &err) != TC_OK) {
        FUZZ_CHECK(err.code == TC_ERECORD);
        return;
    }
    FUZZ_CHECK(size == tc_record_size(cat));
    (void)tc_record_updated_at(&rec);
    tc_value values[TC_CATALOG_ATTRS_MAX];
    int all_valid = 1;
    for (size_t i = 0; i < cat->n_attrs; i++) {
        char text[TC_LEVEL_LEN_MAX + 64];
        values[i] = tc_record_get(&rec, i);
        /* A slot can hold anything, and the tools print what they read (tinchap model explain
         * formats a stored record as it is) ... */
        tc_attr_format(&cat->attrs[i], values[i], text, sizeof text);
        /* ... while what passes the catalog's check must print as text that reads back. */
        if (tc_attr_check(&cat->attrs[i], values[i], &err) == TC_OK)
            fuzz_check_value_text(&cat->attrs[i], values[i]);
        else
            all_valid = 0;
    }
    /* What was read, encoded again, reads back the same. */
    if (all_valid)
        fuzz_check_record_roundtrip(cat, values);
    int rc = tc_model_eval(fuzz_model(), &rec, NULL, ws, &res);
    FUZZ_CHECK(rc == TC_OK || rc == TC_ERECORD || rc == TC_ENUMERIC);
    if (all_valid)
        FUZZ_CHECK(rc == TC_OK);
    if (rc == TC_OK) {
        FUZZ_CHECK(res.grade != NULL);
        FUZZ_CHECK(res.n_reasons <= TC_REASONS_OUT_MAX);
        FUZZ_CHECK(!all_valid || (res.pd >= 0 && res.pd <= 1));
    }
}

static void audit_record(const uint8_t *data, size_t size)
{
    tc_audit_record r, again;
    tc_error err;
    unsigned char buf[4096], buf2[4096];
    char t[TC_TIME_US_TEXT_LEN];
    if (tc_audit_decode(data, size, &r, &err) != TC_OK) {
        FUZZ_CHECK(err.code == TC_ERECORD);
        return;
    }
    FUZZ_CHECK(r.n_reasons <= TC_AUDIT_REASONS_MAX);
    FUZZ_CHECK(r.n_challengers <= TC_AUDIT_CHALLENGERS_MAX);
    FUZZ_CHECK(r.outcome <= TC_AUDIT_REPLAYED);
    FUZZ_CHECK(strlen(r.status_text) <= TC_AUDIT_STATUS_TEXT_MAX);
    (void)tc_audit_outcome_name(r.outcome);
    /* Listing the trail (tinchap audit, ListInquiries) formats the time of every record. */
    tc_time_format_us(r.time_us, t);
    FUZZ_CHECK(strlen(t) < sizeof t);
    /* Encoding what was decoded gives a record that decodes, and is canonical: a second round
     * gives the same bytes. (The first need not: a decoded string ends at its first NUL.) */
    size_t n = tc_audit_encode(&r, buf, sizeof buf);
    FUZZ_CHECK(n > 0 && n <= size);
    FUZZ_CHECK(tc_audit_decode(buf, n, &again, &err) == TC_OK);
    FUZZ_CHECK(tc_audit_encode(&again, buf2, sizeof buf2) == n);
    FUZZ_CHECK(memcmp(buf, buf2, n) == 0);
}

static void consent(const uint8_t *data, size_t size)
{
    tc_consent c, again;
    tc_error err;
    if (size < 1)
        return;
    size_t key_len = data[0] < size - 1 ? data[0] : size - 1;
    const uint8_t *key = data + 1, *value = data + 1 + key_len;
    size_t value_len = size - 1 - key_len;
    if (tc_consent_decode(key, key_len, value, value_len, &c, &err) != TC_OK) {
        FUZZ_CHECK(err.code == TC_ERECORD);
        return;
    }
    FUZZ_CHECK(strlen(c.institution) <= TC_INSTITUTION_MAX);
    FUZZ_CHECK(strlen(c.purpose) <= TC_PURPOSE_MAX);
    FUZZ_CHECK(strlen(c.ref) <= TC_CONSENT_REF_MAX);
    (void)tc_consent_valid_at(&c, 1764000000);
    if (tc_consent_validate(&c, &err) != TC_OK)
        return; /* e.g. an empty purpose: nothing the loader or the service would write */
    /* A valid consent, encoded again and decoded, is the same consent, but for a reference
     * that kept a digit run unprotected (as databases did before references were protected):
     * the encoder never writes one back, it redacts it. */
    unsigned char k[TC_CONSENT_KEY_MAX], v[TC_CONSENT_VALUE_MAX];
    size_t kl = tc_consent_key(key, c.institution, c.purpose, k);
    size_t vl = tc_consent_encode(&c, v);
    FUZZ_CHECK(tc_consent_decode(k, kl, v, vl, &again, &err) == TC_OK);
    FUZZ_CHECK(!tc_text_has_id_run(again.ref, strlen(again.ref)));
    tc_text_redact_ids(c.ref);
    FUZZ_CHECK(strcmp(c.institution, again.institution) == 0 &&
               strcmp(c.purpose, again.purpose) == 0 && strcmp(c.ref, again.ref) == 0 &&
               c.granted_at == again.granted_at && c.expires_at == again.expires_at &&
               c.revoked_at == again.revoked_at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The value alone in an exact-size copy, so that a read past its end is caught. */
    size_t n = size - 1;
    uint8_t *value = malloc(n ? n : 1);
    if (value == NULL)
        abort();
    memcpy(value, data + 1, n);
    switch (data[0] % 3) {
    case 0:
        citizen_record(value, n);
        break;
    case 1:
        audit_record(value, n);
        break;
    default:
        consent(value, n);
        break;
    }
    free(value);
    return 0;
}
