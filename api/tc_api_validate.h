/* tc_api_validate — the checks a request passes before the service acts on it.
 *
 * Kept apart from the handlers so that exactly the code the service runs can be fuzzed and
 * tested without a server: nothing here touches gRPC, the database or the secret key, only the
 * decoded protobuf-c message, the catalog and the engine's own parsers. Each check returns 0
 * when the request may proceed, or 1 with the message the service answers with (always
 * INVALID_ARGUMENT) in msg; the handler passes it on unchanged. Messages name fields and record
 * indices, never a citizen ID's digits.
 *
 * Checks run in field order and stop at the first problem, so a client sees one actionable
 * message at a time.
 */
#ifndef TC_API_VALIDATE_H
#define TC_API_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "tc_catalog.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

/* Every string field of an encoded message, and of the messages inside it, must be
 * well-formed UTF-8 without a NUL byte (checked on the wire: protobuf-c hands over C strings, so
 * "loan-origination\0marketing" would arrive as "loan-origination", and bytes that are not
 * UTF-8 would reach the logs). 0, or 1 with "field 'attributes.level' holds a NUL byte". A
 * broken encoding passes here and is refused by the decoder. */
int tc_api_strings_check(const ProtobufCMessageDescriptor *d, const void *data, size_t len,
                         char *msg, size_t size);

/* NULL when request_id is acceptable (1-64 of A-Z a-z 0-9 . _ : - { }, so every UUID form),
 * else what is wrong, to follow "field 'request_id' ". */
const char *tc_api_request_id_problem(const char *v);

/* Score: every field but the model choice (which needs the registry). The citizen ID is parsed
 * against this year. */
int tc_api_score_check(const Tinchap__V1__ScoreRequest *q, char *msg, size_t size);

/* A time field: RFC 3339 UTC (fractional seconds are dropped) or a bare date. */
int tc_api_time_parse(const char *field, const char *v, int64_t *out, char *msg, size_t size);

/* GrantConsent after its citizen ID: the times, field lengths and the consent as a whole; on
 * success *c holds the consent to store. */
int tc_api_grant_check(const Tinchap__V1__GrantConsentRequest *q, tc_consent *c, char *msg,
                       size_t size);

/* RevokeConsent after its citizen ID: *at keeps its value unless revoked_at is given. */
int tc_api_revoke_check(const Tinchap__V1__RevokeConsentRequest *q, int64_t *at, char *msg,
                        size_t size);

/* One PutCitizens record (the idx-th of the stream, for messages): the citizen ID, every catalog
 * attribute exactly once with a value of its type and range, and values that agree with the
 * ID's digits. On success values[0..cat->n_attrs) and *info are filled. */
int tc_api_record_check(const tc_catalog *cat, const Tinchap__V1__CitizenRecord *r, size_t idx,
                        tc_id_info *info, tc_value values[TC_CATALOG_ATTRS_MAX], char *msg,
                        size_t size);

#endif
