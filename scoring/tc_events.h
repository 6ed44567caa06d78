/* tc_events — consent events (grant, revoke, erase) applied to the store, idempotently and in
 * order per citizen, whatever order they arrive in.
 *
 * Every event carries a version that its producer makes grow with each change of one citizen's
 * consent (the time of the change in microseconds; api/tinchap/v1/consent_event.proto). The
 * store keeps, per (citizen, institution, purpose), the highest (version, kind) applied, and per
 * citizen the version of their last erasure, in a named database of its own ("feed_versions");
 * an event that is not above both is stale and changes nothing. So a duplicate is a no-op, and a
 * late older grant can undo neither a newer revocation nor an erasure. At equal versions erase
 * beats revoke beats grant. A consent written without a version (bulk load) counts as versioned
 * by its own times: granted_at, or revoked_at when revoked, in microseconds.
 *
 * An erasure deletes the citizen's record, every consent and their versions, and keeps only the
 * citizen's pseudonymous key and the erasure's version, so that nothing older can bring them
 * back.
 *
 * The feed's position (the last stream entry applied) is kept in the same database
 * ("feed_state") and written in the same transaction as the events up to it: after a crash a
 * node resumes exactly after the last event it committed, and a snapshot carries the position
 * of the database it copies, so a replica started from it resumes from there.
 *
 * Threads: tc_events is shared and immutable after open; apply and set_position run inside the
 * caller's writer transaction (one writer at a time, tc_store.h).
 */
#ifndef TC_EVENTS_H
#define TC_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "tc_consent.h"
#include "tc_error.h"
#include "tc_store.h"

/* Stream positions are Redis stream IDs, "<ms>-<seq>": at most 20 + 1 + 20 digits. */
#define TC_EVENT_POSITION_MAX 48

typedef enum tc_event_kind {
    TC_EVENT_GRANT = 1,
    TC_EVENT_REVOKE = 2,
    TC_EVENT_ERASE = 3,
} tc_event_kind;

typedef struct tc_event {
    tc_event_kind kind;
    unsigned char citizen[TC_CITIZEN_KEY_LEN];
    int64_t version;    /* > 0 */
    tc_consent consent; /* GRANT: all of it; REVOKE: institution, purpose and revoked_at */
} tc_event;

/* What applying one event did. */
typedef struct tc_event_result {
    int stale;        /* not above what the store holds: nothing changed */
    int changed;      /* the store changed (a grant of the same consent does not) */
    int has_previous; /* GRANT: a consent was replaced, it is in previous */
    tc_consent previous;
    int has_consent; /* REVOKE: the consent as revoked is in consent */
    tc_consent consent;
    size_t consents_erased; /* ERASE: current and replaced */
} tc_event_result;

typedef struct tc_events tc_events;

/* Open (creating) the feed's tables in s. Call before any reader or writer of s exists. */
int tc_events_open(tc_store *s, tc_events **out, tc_error *err);
void tc_events_close(tc_events *ev);

/* Check an event's fields (kind, version, tokens, times); messages name the field. */
int tc_event_validate(const tc_event *e, tc_error *err);

/* Apply e in w's transaction (see above). r may be NULL. */
int tc_events_apply(tc_events *ev, tc_writer *w, const tc_event *e, tc_event_result *r,
                    tc_error *err);

/* The feed position as of txn ("" when none yet); out has TC_EVENT_POSITION_MAX + 1 bytes. */
int tc_events_position(tc_events *ev, MDB_txn *txn, char *out, tc_error *err);

/* Record the feed position in w's transaction. */
int tc_events_set_position(tc_events *ev, tc_writer *w, const char *pos, tc_error *err);

/* Compare two stream positions "<ms>-<seq>": <0, 0, >0. "" is below every position. */
int tc_event_position_cmp(const char *a, const char *b);

#endif
