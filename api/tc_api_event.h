/* tc_api_event — tinchap.v1.ConsentEvent (api/tinchap/v1/consent_event.proto) to and from the
 * engine's tc_event: the one codec of the consent feed's messages, apart from the broker so
 * that it can be fuzzed without one (tests/fuzz/fuzz_consent_event.c).
 *
 * What comes off the stream is untrusted (any producer with access to the broker): decoding
 * checks sizes and lengths and names the field that is wrong, never echoing a value; the event's
 * own rules are tc_event_validate's. A reference that holds a citizen ID is protected on
 * decoding (redacted, with its keyed hash), so it is never stored as sent.
 */
#ifndef TC_API_EVENT_H
#define TC_API_EVENT_H

#include <stddef.h>

#include "tc_error.h"
#include "tc_events.h"
#include "tc_key.h"

#define TC_API_EVENT_MAX_BYTES 4096 /* an encoded event is about 150 bytes */

/* Decode data[0..len) into e; h protects a reference that holds an ID. TC_EPARSE when it is not
 * a ConsentEvent, TC_EINVAL naming the field when a size is wrong. Does not validate. */
int tc_api_event_decode(tc_hasher *h, const unsigned char *data, size_t len, tc_event *e,
                        tc_error *err);

/* Encode e, published by origin, into buf (cap bytes); returns the length, 0 if it does not
 * fit (it always fits TC_API_EVENT_MAX_BYTES). */
size_t tc_api_event_encode(const tc_event *e, const char *origin, unsigned char *buf, size_t cap);

#endif
