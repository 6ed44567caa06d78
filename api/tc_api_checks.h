/* tc_api_checks — the checks a request passes before the service acts on it.
 *
 * Kept apart from the handlers so that exactly the code the service runs can be fuzzed and
 * tested without a server: nothing here touches gRPC, the database or the secret key, only the
 * decoded protobuf-c message, the catalog and the engine's own parsers. Each check adds to e a
 * violation for every field that is wrong — not just the first, so that a client fixes its
 * request in one go (google.rpc.BadRequest) — and returns how many it added; 0 lets the request
 * proceed. Fields are named as in the .proto files, with their path inside the request
 * ("attributes[3]"); reasons never repeat a citizen ID's digits. tc_api_invalid then gives e
 * its status (INVALID_ARGUMENT, INVALID_REQUEST) and a message that sums the violations up.
 */
#ifndef TC_API_CHECKS_H
#define TC_API_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "tc_api_error.h"
#include "tc_catalog.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

/* The documented bounds of a ScoreRequest's loan (api/tinchap/v1/scoring.proto): far above any
 * unsecured consumer loan, so that a unit slip (dong for hundreds of dong) is caught. */
#define TC_API_LOAN_AMOUNT_MAX 10000000000LL /* VND */
#define TC_API_LOAN_TERM_MAX 600             /* months */

/* e as the refusal of an invalid request: INVALID_ARGUMENT, reason INVALID_REQUEST, and a
 * message naming the only violation, or counting them and naming the first; context (e.g.
 * "record 3", or "") opens it. */
void tc_api_invalid(tc_api_error *e, const char *context);

/* Every string field of an encoded message, and of the messages inside it, must be
 * well-formed UTF-8 without a NUL byte (checked on the wire: protobuf-c hands over C strings, so
 * "loan-origination\0marketing" would arrive as "loan-origination", and bytes that are not
 * UTF-8 would reach the logs). A violation per such field ("attributes[2].level holds a NUL
 * byte"), its path after prefix ("" for a request, "records[3]" for a streamed record). A broken encoding passes here and is refused by the decoder. */
int tc_api_check_strings(const ProtobufCMessageDescriptor *d, const void *data, size_t len,
                         const char *prefix, tc_api_error *e);

/* NULL when request_id is acceptable (1-64 of A-Z a-z 0-9 . _ : - { }, so every UUID form),
 * else what is wrong with it. */
const char *tc_api_request_id_problem(const char *v);

/* Score: every field but the model choice (which needs the registry). The citizen ID is parsed
 * against this year. */
int tc_api_check_score(const Tinchap__V1__ScoreRequest *q, tc_api_error *e);

/* n written with its thousands grouped ("10,000,000,000") into out, for a refusal that echoes a
 * number: easier to read, and no run of its digits is long enough to be, or to hold, a citizen
 * ID the caller also sent. Returns out. */
#define TC_API_GROUPED_LEN 32
const char *tc_api_grouped(unsigned long long n, char out[TC_API_GROUPED_LEN]);

/* A time field into *out (seconds): required or not, within 1970–9999. */
int tc_api_time_of(const char *field, const Google__Protobuf__Timestamp *t, int required,
                   int64_t *out, tc_api_error *e);

/* GrantConsent after its citizen ID: the times, the fields and the consent as a whole; with no
 * violation *c holds the consent to store. */
int tc_api_check_grant(const Tinchap__V1__GrantConsentRequest *q, tc_consent *c, tc_api_error *e);

/* RevokeConsent after its citizen ID: *at keeps its value unless revoked_at is given. */
int tc_api_check_revoke(const Tinchap__V1__RevokeConsentRequest *q, int64_t *at, tc_api_error *e);

/* One PutCitizens record (the idx-th of the stream, "records[idx]" in paths): the citizen ID,
 * every catalog attribute exactly once with a value of its type and range, and values that agree
 * with the ID's digits. With no violation values[0..cat->n_attrs) and *info are filled. */
int tc_api_check_record(const tc_catalog *cat, const Tinchap__V1__CitizenRecord *r, size_t idx,
                        tc_id_info *info, tc_value values[TC_CATALOG_ATTRS_MAX], tc_api_error *e);

#endif
