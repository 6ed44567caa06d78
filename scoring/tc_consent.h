/* tc_consent — a citizen's consent for one institution to score them for one purpose.
 *
 * Consents come from VNeID through the population-data platform: a reference, when it was
 * granted, when it expires, and when (if ever) it was revoked. There is at most one consent per
 * (citizen, institution, purpose); granting again replaces it (the replaced one stays in the
 * consent history, tc_store.h). Nothing is scored without a consent
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
#define TC_CONSENT_VALUE_MAX (1 + 3 * 8 + 1 + TC_CONSENT_REF_MAX + TC_TEXT_HASH_LEN)

/* A consent reference is opaque text from the consent system, and may embed a citizen ID
 * ("CCCD-001085000001"). One that holds a run of 12 or more digits is never stored as it is:
 * tc_consent_protect_ref keeps it redacted ("CCCD-############"), for people to read, and its
 * keyed hash, which is what Score compares a presented reference with. */
typedef struct tc_consent {
    char institution[TC_INSTITUTION_MAX + 1];
    char purpose[TC_PURPOSE_MAX + 1];
    char ref[TC_CONSENT_REF_MAX + 1];   /* as issued, or redacted when ref_hashed */
    int ref_hashed;                     /* the reference held a digit run: ref_hash names it */
    unsigned char ref_hash[TC_TEXT_HASH_LEN];
    int64_t granted_at; /* seconds since the epoch, UTC */
    int64_t expires_at;
    int64_t revoked_at; /* 0: not revoked */
} tc_consent;

/* Token checks; messages name the field and say what is allowed. Institutions and purposes may
 * not hold 12 consecutive digits (they are kept in keys, logs and the audit trail as they are). */
int tc_consent_check_institution(const char *s, size_t len, tc_error *err);
int tc_consent_check_purpose(const char *s, size_t len, tc_error *err);
int tc_consent_check_ref(const char *s, size_t len, tc_error *err);

/* The keyed hash of a presented consent reference, for tc_consent_check, when it holds a digit
 * run (returns 1 and fills out); 0 when it does not (compare it as text). */
int tc_consent_ref_hash(tc_hasher *h, const char *ref, unsigned char out[TC_TEXT_HASH_LEN]);

/* Make c fit to store: a reference with a digit run becomes its redacted form and its hash
 * (nothing changes otherwise). Call before encoding; the encoder redacts an unprotected run
 * itself as a last resort, which then matches no presented reference. TC_EKEY if hashing
 * fails. */
int tc_consent_protect_ref(tc_consent *c, tc_hasher *h);

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
 * (consent_ref NULL: any reference; ref_hash: its tc_consent_ref_hash when it has one, else
 * NULL)? Returns TC_OK, or TC_ENOCONSENT for every kind of "no" — unknown citizen, never
 * granted, expired, revoked, other reference — so that callers cannot tell them apart by
 * accident. out (may be NULL) receives the consent when valid. */
int tc_consent_check(struct tc_reader *r, const unsigned char citizen[TC_CITIZEN_KEY_LEN],
                     const char *institution, const char *purpose, const char *consent_ref,
                     const unsigned char *ref_hash, int64_t now, tc_consent *out);

/* The same test of a consent already read (tc_reader_view): TC_OK or TC_ENOCONSENT. */
int tc_consent_accepts(const tc_consent *c, const char *consent_ref, const unsigned char *ref_hash,
                       int64_t now);

#endif
