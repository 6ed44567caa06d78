#include "tc_consent.h"

#include <string.h>

#include "tc_store.h"
#include "tc_text.h"

static int token_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int tc_consent_check_institution(const char *s, size_t len, tc_error *err)
{
    if (!token_ok(s, len, TC_INSTITUTION_MAX))
        return tc_errorf(err, TC_EINVAL,
                         "field 'institution': 1-%d characters of a-z, 0-9, '.', '_', '-', "
                         "starting with a letter or digit",
                         TC_INSTITUTION_MAX);
    if (tc_text_has_id_run(s, len))
        return tc_errorf(err, TC_EINVAL, "field 'institution': must not contain 12 or more "
                         "consecutive digits (it could be a citizen ID)");
    return TC_OK;
}

int tc_consent_check_purpose(const char *s, size_t len, tc_error *err)
{
    if (!token_ok(s, len, TC_PURPOSE_MAX))
        return tc_errorf(err, TC_EINVAL,
                         "field 'purpose': 1-%d characters of a-z, 0-9, '.', '_', '-', "
                         "starting with a letter or digit",
                         TC_PURPOSE_MAX);
    if (tc_text_has_id_run(s, len))
        return tc_errorf(err, TC_EINVAL, "field 'purpose': must not contain 12 or more "
                         "consecutive digits (it could be a citizen ID)");
    return TC_OK;
}

int tc_consent_ref_hash(tc_hasher *h, const char *ref, unsigned char out[TC_TEXT_HASH_LEN])
{
    size_t n = strlen(ref);
    if (!tc_text_has_id_run(ref, n))
        return 0;
    if (tc_hasher_text(h, "consent_ref", ref, n, out) != TC_OK)
        memset(out, 0, TC_TEXT_HASH_LEN); /* matches nothing stored */
    return 1;
}

int tc_consent_protect_ref(tc_consent *c, tc_hasher *h)
{
    size_t n = strnlen(c->ref, TC_CONSENT_REF_MAX);
    if (c->ref_hashed || !tc_text_has_id_run(c->ref, n))
        return TC_OK;
    if (tc_hasher_text(h, "consent_ref", c->ref, n, c->ref_hash) != TC_OK)
        return TC_EKEY;
    tc_text_redact_ids(c->ref);
    c->ref_hashed = 1;
    return TC_OK;
}

int tc_consent_check_ref(const char *s, size_t len, tc_error *err)
{
    int ok = len > 0 && len <= TC_CONSENT_REF_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = s[i] > 0x20 && s[i] < 0x7f;
    if (!ok)
        return tc_errorf(err, TC_EINVAL,
                         "field 'consent_ref': 1-%d printable ASCII characters, no spaces",
                         TC_CONSENT_REF_MAX);
    return TC_OK;
}

int tc_consent_validate(const tc_consent *c, tc_error *err)
{
    int rc;
    if ((rc = tc_consent_check_institution(c->institution, strlen(c->institution), err)) ||
        (rc = tc_consent_check_purpose(c->purpose, strlen(c->purpose), err)) ||
        (rc = tc_consent_check_ref(c->ref, strlen(c->ref), err)))
        return rc;
    if (c->granted_at <= 0)
        return tc_errorf(err, TC_EINVAL, "field 'granted_at': required");
    if (c->expires_at <= c->granted_at)
        return tc_errorf(err, TC_EINVAL, "field 'expires_at': must be after granted_at");
    if (c->revoked_at != 0 && c->revoked_at < c->granted_at)
        return tc_errorf(err, TC_EINVAL, "field 'revoked_at': must not be before granted_at");
    return TC_OK;
}

int tc_consent_valid_at(const tc_consent *c, int64_t now)
{
    if (now < c->granted_at || now >= c->expires_at)
        return 0;
    if (c->revoked_at != 0 && c->revoked_at <= now)
        return 0;
    return 1;
}

size_t tc_consent_key(const unsigned char citizen[TC_CITIZEN_KEY_LEN], const char *institution,
                      const char *purpose, unsigned char out[TC_CONSENT_KEY_MAX])
{
    size_t il = strnlen(institution, TC_INSTITUTION_MAX);
    size_t pl = strnlen(purpose, TC_PURPOSE_MAX);
    memcpy(out, citizen, TC_CITIZEN_KEY_LEN);
    memcpy(out + TC_CITIZEN_KEY_LEN, institution, il);
    out[TC_CITIZEN_KEY_LEN + il] = '\0';
    memcpy(out + TC_CITIZEN_KEY_LEN + il + 1, purpose, pl);
    return TC_CITIZEN_KEY_LEN + il + 1 + pl;
}

#define CONSENT_FORMAT 1        /* the reference as issued */
#define CONSENT_FORMAT_HASHED 2 /* the reference redacted, then its keyed hash */

static void put_i64(unsigned char *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

size_t tc_consent_encode(const tc_consent *c, unsigned char out[TC_CONSENT_VALUE_MAX])
{
    size_t rl = strnlen(c->ref, TC_CONSENT_REF_MAX);
    out[0] = c->ref_hashed ? CONSENT_FORMAT_HASHED : CONSENT_FORMAT;
    put_i64(out + 1, c->granted_at);
    put_i64(out + 9, c->expires_at);
    put_i64(out + 17, c->revoked_at);
    out[25] = (unsigned char)rl;
    memcpy(out + 26, c->ref, rl);
    out[26 + rl] = '\0';
    /* Never a digit run as it came, whatever the consent claims: an unprotected one matches
     * nothing once redacted, and a protected one has none left to redact. */
    tc_text_redact_ids((char *)out + 26);
    if (!c->ref_hashed)
        return 26 + rl;
    memcpy(out + 26 + rl, c->ref_hash, TC_TEXT_HASH_LEN);
    return 26 + rl + TC_TEXT_HASH_LEN;
}

int tc_consent_decode(const void *key, size_t key_len, const void *value, size_t value_len,
                      tc_consent *out, tc_error *err)
{
    const unsigned char *k = key, *v = value;
    if (key_len <= TC_CITIZEN_KEY_LEN + 1 || key_len > TC_CONSENT_KEY_MAX)
        return tc_errorf(err, TC_ERECORD, "consent key of %zu bytes", key_len);
    const unsigned char *names = k + TC_CITIZEN_KEY_LEN;
    size_t names_len = key_len - TC_CITIZEN_KEY_LEN;
    const unsigned char *nul = memchr(names, '\0', names_len);
    if (nul == NULL || (size_t)(nul - names) > TC_INSTITUTION_MAX ||
        names_len - (size_t)(nul - names) - 1 > TC_PURPOSE_MAX)
        return tc_errorf(err, TC_ERECORD, "consent key is malformed");
    int hashed = value_len > 0 && v[0] == CONSENT_FORMAT_HASHED;
    if (value_len < 26 || (v[0] != CONSENT_FORMAT && !hashed) || v[25] > TC_CONSENT_REF_MAX ||
        value_len != 26u + v[25] + (hashed ? TC_TEXT_HASH_LEN : 0))
        return tc_errorf(err, TC_ERECORD, "consent value is malformed");
    size_t il = (size_t)(nul - names);
    memcpy(out->institution, names, il);
    out->institution[il] = '\0';
    size_t pl = names_len - il - 1;
    memcpy(out->purpose, nul + 1, pl);
    out->purpose[pl] = '\0';
    out->granted_at = get_i64(v + 1);
    out->expires_at = get_i64(v + 9);
    out->revoked_at = get_i64(v + 17);
    memcpy(out->ref, v + 26, v[25]);
    out->ref[v[25]] = '\0';
    out->ref_hashed = hashed;
    if (hashed)
        memcpy(out->ref_hash, v + 26 + v[25], TC_TEXT_HASH_LEN);
    else
        memset(out->ref_hash, 0, TC_TEXT_HASH_LEN);
    return TC_OK;
}

int tc_consent_accepts(const tc_consent *c, const char *consent_ref, const unsigned char *ref_hash,
                       int64_t now)
{
    if (!tc_consent_valid_at(c, now))
        return TC_ENOCONSENT;
    /* a reference with a digit run was stored as its hash, any other as it is */
    if (consent_ref != NULL &&
        (ref_hash != NULL ? !c->ref_hashed || memcmp(ref_hash, c->ref_hash, TC_TEXT_HASH_LEN) != 0
                          : c->ref_hashed || strcmp(consent_ref, c->ref) != 0))
        return TC_ENOCONSENT;
    return TC_OK;
}

int tc_consent_check(struct tc_reader *r, const unsigned char citizen[TC_CITIZEN_KEY_LEN],
                     const char *institution, const char *purpose, const char *consent_ref,
                     const unsigned char *ref_hash, int64_t now, tc_consent *out)
{
    tc_consent c;
    if (tc_reader_consent(r, citizen, institution, purpose, &c, NULL) != TC_OK ||
        tc_consent_accepts(&c, consent_ref, ref_hash, now) != TC_OK)
        return TC_ENOCONSENT;
    if (out != NULL)
        *out = c;
    return TC_OK;
}
