/* make_seeds — writes the binary seeds of the fuzz corpus: stored citizen records, audit records
 * and consents (fuzz_record), and protobuf-encoded Score and Steward requests (fuzz_score_request,
 * fuzz_steward_request), each encoded by the same code that writes them for real (tc_record,
 * tc_audit, tc_consent, protobuf-c). Run once after a format change:
 *
 *   cmake --build build --target fuzz_make_seeds && build/tests/fuzz_make_seeds tests/fuzz/corpus
 *
 * Files are named after what they hold; the text seeds (IDs, JSON, CSV) are kept by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tc_audit.h"
#include "tc_consent.h"
#include "tc_record.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

static const char *out_dir;

static void write_seed(const char *target, const char *name, unsigned char selector,
                       const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (selector != 0xff && fputc(selector, f) == EOF) ||
        fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---- fuzz_record: selector 0 citizen record, 1 audit record, 2 consent ---- */

static void records(void)
{
    const tc_catalog *cat = fuzz_catalog();
    tc_value lo[TC_CATALOG_ATTRS_MAX], hi[TC_CATALOG_ATTRS_MAX], some[TC_CATALOG_ATTRS_MAX];
    unsigned char buf[TC_RECORD_MAX];
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        lo[i] = (tc_value){a->min, 1};
        hi[i] = (tc_value){a->max, 1};
        some[i] = (tc_value){a->type == TC_ATTR_REAL ? (a->min + a->max) / 3 : a->min + 1,
                             !a->missing_allowed};
    }
    size_t n = tc_record_encode(cat, lo, 1764000000u, buf);
    write_seed("record", "citizen-min", 0, buf, n);
    n = tc_record_encode(cat, hi, 1764000000u, buf);
    write_seed("record", "citizen-max", 0, buf, n);
    n = tc_record_encode(cat, some, 1764000000u, buf);
    write_seed("record", "citizen-missing", 0, buf, n);
    write_seed("record", "citizen-truncated", 0, buf, n - 1);
    buf[n] = 0;
    write_seed("record", "citizen-overlong", 0, buf, n + 1);
    /* slots holding what no loader writes: levels past the last, a NaN, all bits set */
    memset(buf + TC_RECORD_HEADER_LEN, 0, (cat->n_attrs + 7) / 8);
    memset(buf + TC_RECORD_HEADER_LEN + (cat->n_attrs + 7) / 8, 0xff, cat->values_len);
    write_seed("record", "citizen-corrupt-slots", 0, buf, n);
    buf[0] = 2;
    write_seed("record", "citizen-version2", 0, buf, n);
    buf[0] = TC_RECORD_VERSION;
    buf[1] ^= 0xff;
    write_seed("record", "citizen-other-catalog", 0, buf, n);

    tc_audit_record r;
    memset(&r, 0, sizeof r);
    r.seq = 42;
    r.time_us = 1764000000123456;
    snprintf(r.inquiry_id, sizeof r.inquiry_id, "0197c3a1b2f4c9e21d0a7b3c");
    snprintf(r.request_id, sizeof r.request_id, "req-0001");
    snprintf(r.institution, sizeof r.institution, "bank-a");
    r.has_citizen = 1;
    memset(r.citizen, 0x5a, sizeof r.citizen);
    snprintf(r.purpose, sizeof r.purpose, "loan-origination");
    snprintf(r.product, sizeof r.product, "unsecured-consumer");
    snprintf(r.consent_ref, sizeof r.consent_ref, "VNEID-00000001");
    snprintf(r.model, sizeof r.model, "unsecured-consumer-scorecard");
    r.model_version = 1;
    r.outcome = TC_AUDIT_SCORED;
    r.score = 642.5;
    r.pd = 0.031;
    r.pd_low = 0.025;
    r.pd_high = 0.038;
    snprintf(r.grade, sizeof r.grade, "B");
    r.n_reasons = 4;
    const char *codes[] = {"CIC01", "SI01", "TEL01", "RES01"};
    for (size_t i = 0; i < 4; i++)
        snprintf(r.reasons[i], sizeof r.reasons[i], "%s", codes[i]);
    r.n_challengers = 2;
    for (size_t i = 0; i < 2; i++) {
        snprintf(r.challengers[i].model, sizeof r.challengers[i].model, "challenger-%zu", i);
        r.challengers[i].version = (uint32_t)i + 2;
        r.challengers[i].score = 600 + (double)i;
        r.challengers[i].pd = 0.05;
        snprintf(r.challengers[i].grade, sizeof r.challengers[i].grade, "C");
    }
    r.loan_amount_vnd = 50000000;
    r.loan_term_months = 12;
    r.latency_us = 180;
    unsigned char ab[4096];
    n = tc_audit_encode(&r, ab, sizeof ab);
    write_seed("record", "audit-scored", 1, ab, n);
    write_seed("record", "audit-truncated", 1, ab, n - 3);
    r.outcome = TC_AUDIT_DENIED;
    r.status = 7;
    snprintf(r.status_text, sizeof r.status_text,
             "no consent valid now for this citizen, institution and purpose");
    r.n_reasons = r.n_challengers = 0;
    r.has_citizen = 0;
    r.grade[0] = r.model[0] = '\0';
    n = tc_audit_encode(&r, ab, sizeof ab);
    write_seed("record", "audit-denied", 1, ab, n);
    r.outcome = TC_AUDIT_REPLAYED;
    r.status = 0;
    r.time_us = -1;
    n = tc_audit_encode(&r, ab, sizeof ab);
    write_seed("record", "audit-replayed-negative-time", 1, ab, n);
    r.request_hashed = 1; /* a request ID with a digit run: format 2, with its keyed hash */
    memset(r.request_hash, 0x5a, sizeof r.request_hash);
    n = tc_audit_encode(&r, ab, sizeof ab);
    write_seed("record", "audit-request-hashed", 1, ab, n);

    tc_consent c = {.granted_at = 1767225600, .expires_at = 4070908800, .revoked_at = 0};
    snprintf(c.institution, sizeof c.institution, "bank-a");
    snprintf(c.purpose, sizeof c.purpose, "loan-origination");
    snprintf(c.ref, sizeof c.ref, "VNEID-00000001");
    unsigned char citizen[TC_CITIZEN_KEY_LEN], cb[1 + TC_CONSENT_KEY_MAX + TC_CONSENT_VALUE_MAX];
    memset(citizen, 0x33, sizeof citizen);
    size_t kl = tc_consent_key(citizen, c.institution, c.purpose, cb + 1);
    cb[0] = (unsigned char)kl;
    size_t vl = tc_consent_encode(&c, cb + 1 + kl);
    write_seed("record", "consent", 2, cb, 1 + kl + vl);
    c.revoked_at = 1770000000;
    vl = tc_consent_encode(&c, cb + 1 + kl);
    write_seed("record", "consent-revoked", 2, cb, 1 + kl + vl);
    cb[1 + kl] = 9; /* another format */
    write_seed("record", "consent-format9", 2, cb, 1 + kl + vl);
    c.ref_hashed = 1; /* a reference that held a digit run: redacted, then its keyed hash */
    snprintf(c.ref, sizeof c.ref, "CCCD-############");
    memset(c.ref_hash, 0x6b, sizeof c.ref_hash);
    vl = tc_consent_encode(&c, cb + 1 + kl);
    write_seed("record", "consent-ref-hashed", 2, cb, 1 + kl + vl);
}

/* ---- fuzz_score_request ---- */

static void score_seed(const char *name, const Tinchap__V1__ScoreRequest *q)
{
    unsigned char buf[1024];
    size_t n = tinchap__v1__score_request__pack(q, buf);
    write_seed("score_request", name, 0xff, buf, n);
}

static void score_requests(void)
{
    Tinchap__V1__ScoreRequest ok = TINCHAP__V1__SCORE_REQUEST__INIT, q;
    ok.request_id = "req-0001";
    ok.citizen_id = "001085000001";
    ok.consent_ref = "VNEID-00000001";
    ok.purpose = "loan-origination";
    ok.product = "unsecured-consumer";
    ok.max_reasons = 4;
    ok.loan_amount_vnd = 50000000;
    ok.loan_term_months = 12;
    score_seed("valid", &ok);
    q = ok;
    q.model_name = "unsecured-consumer-scorecard";
    q.model_version = 1;
    score_seed("valid-model", &q);
    q = ok;
    q.request_id = "order:2026-11-24:000000000001";
    score_seed("request-id-12-digits", &q);
    q = ok;
    q.citizen_id = "00108500000";
    score_seed("citizen-short", &q);
    q = ok;
    q.citizen_id = "003085000001";
    score_seed("citizen-bad-province", &q);
    q = ok;
    q.consent_ref = "VNEID 1";
    score_seed("consent-ref-space", &q);
    q = ok;
    q.purpose = "Loan";
    score_seed("purpose-upper", &q);
    q = ok;
    q.max_reasons = 9;
    score_seed("max-reasons-9", &q);
    q = ok;
    q.loan_amount_vnd = -1;
    score_seed("loan-negative", &q);
    q = ok;
    q.loan_term_months = 601;
    score_seed("term-601", &q);
    Tinchap__V1__ScoreRequest empty = TINCHAP__V1__SCORE_REQUEST__INIT;
    score_seed("empty", &empty);
}

/* ---- fuzz_steward_request: selector 0 CitizenRecord ... 4 ListInquiriesRequest ---- */

static void steward_seed(const char *name, unsigned char selector, const ProtobufCMessage *m)
{
    unsigned char buf[8192];
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > sizeof buf) {
        fprintf(stderr, "%s: too large\n", name);
        exit(1);
    }
    n = protobuf_c_message_pack(m, buf);
    write_seed("steward_request", name, selector, buf, n);
}

static void steward_requests(void)
{
    const tc_catalog *cat = fuzz_catalog();
    Tinchap__V1__AttributeValue vals[TC_CATALOG_ATTRS_MAX], *pv[TC_CATALOG_ATTRS_MAX];
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        tinchap__v1__attribute_value__init(&vals[i]);
        vals[i].name = (char *)a->name;
        pv[i] = &vals[i];
        if (strcmp(a->name, "birth_year") == 0) {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_INT_VALUE;
            vals[i].int_value = 1985;
        } else if (strcmp(a->name, "gender") == 0) {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_LEVEL;
            vals[i].level = "male";
        } else if (a->missing_allowed && i % 2) {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_MISSING;
            vals[i].missing = 1;
        } else if (a->type == TC_ATTR_INT) {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_INT_VALUE;
            vals[i].int_value = (int64_t)a->min;
        } else if (a->type == TC_ATTR_REAL) {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_REAL_VALUE;
            vals[i].real_value = (a->min + a->max) / 2;
        } else if (a->type == TC_ATTR_BOOL) {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_BOOL_VALUE;
            vals[i].bool_value = 1;
        } else {
            vals[i].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_LEVEL;
            vals[i].level = (char *)a->levels[a->n_levels - 1];
        }
    }
    Tinchap__V1__CitizenRecord r = TINCHAP__V1__CITIZEN_RECORD__INIT;
    r.citizen_id = "001085000001";
    r.n_attributes = cat->n_attrs;
    r.attributes = pv;
    steward_seed("put-valid", 0, &r.base);
    r.citizen_id = "079190000002"; /* a woman born in 1990: disagrees with the values */
    steward_seed("put-disagrees-with-id", 0, &r.base);
    r.citizen_id = "001085000001";
    r.n_attributes = cat->n_attrs - 1;
    steward_seed("put-attribute-missing", 0, &r.base);
    r.n_attributes = cat->n_attrs;
    Tinchap__V1__AttributeValue saved = vals[3];
    vals[3].name = "no_such_attribute";
    steward_seed("put-unknown-attribute", 0, &r.base);
    vals[3] = saved;
    vals[3].value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_REAL_VALUE;
    vals[3].real_value = 0.5;
    steward_seed("put-wrong-type", 0, &r.base);
    vals[3] = saved;
    pv[4] = &vals[3];
    steward_seed("put-repeated", 0, &r.base);
    pv[4] = &vals[4];

    Tinchap__V1__GrantConsentRequest g = TINCHAP__V1__GRANT_CONSENT_REQUEST__INIT;
    g.citizen_id = "001085000001";
    g.institution = "bank-a";
    g.purpose = "loan-origination";
    g.consent_ref = "VNEID-00000001";
    Google__Protobuf__Timestamp granted = GOOGLE__PROTOBUF__TIMESTAMP__INIT,
                                expires = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    granted.seconds = 1767225600; /* 2026-01-01 */
    expires.seconds = 4070908800; /* 2099-01-01 */
    g.granted_at = &granted;
    g.expires_at = &expires;
    steward_seed("grant-valid", 1, &g.base);
    granted.nanos = 250000000;
    steward_seed("grant-fraction", 1, &g.base);
    expires.seconds = 1767139200; /* 2025-12-31: before the grant */
    steward_seed("grant-expires-first", 1, &g.base);
    expires.seconds = -5; /* before 1970 */
    steward_seed("grant-bad-date", 1, &g.base);
    g.expires_at = NULL;
    steward_seed("grant-no-expiry", 1, &g.base);

    Tinchap__V1__RevokeConsentRequest v = TINCHAP__V1__REVOKE_CONSENT_REQUEST__INIT;
    v.citizen_id = "079190000002";
    v.institution = "bank-b";
    v.purpose = "loan-origination";
    steward_seed("revoke-now", 2, &v.base);
    Google__Protobuf__Timestamp revoked = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    revoked.seconds = 1780317000; /* 2026-06-01T12:30:00Z */
    revoked.nanos = 123456000;
    v.revoked_at = &revoked;
    steward_seed("revoke-at", 2, &v.base);
    v.institution = "Bank B";
    steward_seed("revoke-bad-institution", 2, &v.base);

    Tinchap__V1__EraseCitizenRequest e = TINCHAP__V1__ERASE_CITIZEN_REQUEST__INIT;
    e.citizen_id = "001085000001";
    steward_seed("erase", 3, &e.base);

    Tinchap__V1__ListInquiriesRequest l = TINCHAP__V1__LIST_INQUIRIES_REQUEST__INIT;
    l.citizen_id = "001085000001";
    l.limit = 10;
    steward_seed("inquiries", 4, &l.base);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    records();
    score_requests();
    steward_requests();
    return 0;
}
