/* tc_consent — a citizen's consent for one institution to score them for one purpose.
 *
 * Consents come from VNeID through the population-data platform: a reference, when it was
 * granted, when it expires, and when (if ever) it was revoked. There is at most one consent per
 * (citizen, institution, purpose); granting again replaces it. Nothing is scored without a consent
 * valid now: granted_at <= now < expires_at and not revoked at or before now. tc_consent_check is
 * the one function that decides this; the service calls it before reading anything else.
 */
#ifndef TC_CONSENT_H
#define TC_CONSENT_H

#include <stddef.h>
#include <stdint.h>

#include "tc_error.h"
#include "tc_key.h"

#define TC_INSTITUTION_MAX 64 /* [a-z0-9][a-z0-9._-]* */
#define TC_PURPOSE_MAX 32     /* [a-z0-9][a-z0-9._-]* */
#define TC_CONSENT_REF_MAX 64 /* printable ASCII without spaces */
#define TC_CONSENT_KEY_MAX (TC_CITIZEN_KEY_LEN + TC_INSTITUTION_MAX + 1 + TC_PURPOSE_MAX)
#define TC_CONSENT_VALUE_MAX (1 + 3 * 8 + 1 + TC_CONSENT_REF_MAX)

typedef struct tc_consent {
    char institution[TC_INSTITUTION_MAX + 1];
    char purpose[TC_PURPOSE_MAX + 1];
    char ref[TC_CONSENT_REF_MAX + 1];
    int64_t granted_at; /* seconds since the epoch, UTC */
    int64_t expires_at;
    int64_t revoked_at; /* 0: not revoked */
} tc_consent;

/* Token checks; messages name the field and say what is allowed. */
int tc_consent_check_institution(const char *s, size_t len, tc_error *err);
int tc_consent_check_purpose(const char *s, size_t len, tc_error *err);
int tc_consent_check_ref(const char *s, size_t len, tc_error *err);

/* Check the fields of c together (tokens, granted < expires, revoked not before granted). */
int tc_consent_validate(const tc_consent *c, tc_error *err);

/* 1 if c is valid at now. */
int tc_consent_valid_at(const tc_consent *c, int64_t now);

/* Database key: citizen key, institution, NUL, purpose. Returns its length. The institution part
 * keeps every consent of one citizen adjacent, so erasure and listing are one range scan. */
size_t tc_consent_key(const unsigned char citizen[TC_CITIZEN_KEY_LEN], const char *institution,
                      const char *purpose, unsigned char out[TC_CONSENT_KEY_MAX]);

/* Value codec. encode returns the length; decode fills institution and purpose from the key. */
size_t tc_consent_encode(const tc_consent *c, unsigned char out[TC_CONSENT_VALUE_MAX]);
int tc_consent_decode(const void *key, size_t key_len, const void *value, size_t value_len,
                      tc_consent *out, tc_error *err);

struct tc_reader;

/* Is there consent valid at now for this citizen, institution and purpose, with this reference
 * (consent_ref NULL: any reference)? Returns TC_OK, or TC_ENOCONSENT for every kind of "no" —
 * unknown citizen, never granted, expired, revoked, other reference — so that callers cannot
 * tell them apart by accident. out (may be NULL) receives the consent when valid. */
int tc_consent_check(struct tc_reader *r, const unsigned char citizen[TC_CITIZEN_KEY_LEN],
                     const char *institution, const char *purpose, const char *consent_ref,
                     int64_t now, tc_consent *out);

#endif
