/* The consent feed's message codec (see tc_api_event.h). */
#include "tc_api_event.h"

#include <string.h>

#include "tc_text.h"

#include "tinchap/v1/consent_event.pb-c.h"

static int copy_text(char *dst, size_t size, const char *src, const char *field, tc_error *err)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (n >= size)
        return tc_errorf(err, TC_EINVAL, "field '%s': longer than %zu bytes", field, size - 1);
    memcpy(dst, src != NULL ? src : "", n + 1);
    return TC_OK;
}

int tc_api_event_decode(tc_hasher *h, const unsigned char *data, size_t len, tc_event *e,
                        tc_error *err)
{
    int rc = TC_OK;
    Tinchap__V1__ConsentEvent *m = tinchap__v1__consent_event__unpack(NULL, len, data);
    if (m == NULL)
        return tc_errorf(err, TC_EPARSE, "not a tinchap.v1.ConsentEvent");
    memset(e, 0, sizeof *e);
    e->kind = (tc_event_kind)m->kind;
    e->version = m->version;
    tc_consent *c = &e->consent;
    if (m->citizen_key.len != TC_CITIZEN_KEY_LEN) {
        rc = tc_errorf(err, TC_EINVAL, "field 'citizen_key': %zu bytes, not %d", m->citizen_key.len,
                       TC_CITIZEN_KEY_LEN);
        goto out;
    }
    memcpy(e->citizen, m->citizen_key.data, TC_CITIZEN_KEY_LEN);
    if ((rc = copy_text(c->institution, sizeof c->institution, m->institution, "institution",
                        err)) ||
        (rc = copy_text(c->purpose, sizeof c->purpose, m->purpose, "purpose", err)) ||
        (rc = copy_text(c->ref, sizeof c->ref, m->consent_ref, "consent_ref", err)))
        goto out;
    if (m->ref_hash.len != 0 && m->ref_hash.len != TC_TEXT_HASH_LEN) {
        rc = tc_errorf(err, TC_EINVAL, "field 'ref_hash': %zu bytes, not %d", m->ref_hash.len,
                       TC_TEXT_HASH_LEN);
        goto out;
    }
    c->ref_hashed = m->ref_hash.len != 0;
    if (c->ref_hashed)
        memcpy(c->ref_hash, m->ref_hash.data, TC_TEXT_HASH_LEN);
    c->granted_at = m->granted_at;
    c->expires_at = m->expires_at;
    c->revoked_at = m->revoked_at;
    if (e->kind != TC_EVENT_GRANT) { /* only a grant carries a reference: nothing else kept */
        memset(c->ref, 0, sizeof c->ref);
        c->ref_hashed = 0;
        goto out;
    }
    /* An upstream producer may send a reference as issued: it is never stored with an ID. One
     * that still holds an ID is the reference as issued, whatever ref_hash says: its hash is
     * made here, from it, as for a reference sent to the Steward API. */
    if (tc_text_has_id_run(c->ref, strlen(c->ref)))
        c->ref_hashed = 0;
    if ((rc = tc_consent_protect_ref(c, h)) != TC_OK)
        tc_errorf(err, rc, "hashing the consent reference failed");
out:
    tinchap__v1__consent_event__free_unpacked(m, NULL);
    return rc;
}

size_t tc_api_event_encode(const tc_event *e, const char *origin, unsigned char *buf, size_t cap)
{
    Tinchap__V1__ConsentEvent m = TINCHAP__V1__CONSENT_EVENT__INIT;
    m.kind = (Tinchap__V1__ConsentEvent__Kind)e->kind;
    m.citizen_key.data = (uint8_t *)e->citizen;
    m.citizen_key.len = TC_CITIZEN_KEY_LEN;
    m.version = e->version;
    m.origin = (char *)origin;
    if (e->kind != TC_EVENT_ERASE) {
        m.institution = (char *)e->consent.institution;
        m.purpose = (char *)e->consent.purpose;
    }
    if (e->kind == TC_EVENT_GRANT) {
        m.consent_ref = (char *)e->consent.ref;
        if (e->consent.ref_hashed) {
            m.ref_hash.data = (uint8_t *)e->consent.ref_hash;
            m.ref_hash.len = TC_TEXT_HASH_LEN;
        }
        m.granted_at = e->consent.granted_at;
        m.expires_at = e->consent.expires_at;
    }
    if (e->kind == TC_EVENT_REVOKE)
        m.revoked_at = e->consent.revoked_at;
    if (tinchap__v1__consent_event__get_packed_size(&m) > cap)
        return 0;
    return tinchap__v1__consent_event__pack(&m, buf);
}
