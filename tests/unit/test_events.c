/* Consent events applied by version: every order of the same events ends in the same state, a
 * duplicate or a late older event changes nothing, an erasure bars older grants, a consent
 * loaded without a version counts by its own times, bad events are refused by field, and the
 * feed position is kept with the events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tc_events.h"

typedef struct fixture {
    tu_store st; /* the store and what opens it */
    tc_events *ev;
} fixture;

static const unsigned char CITIZEN[TC_CITIZEN_KEY_LEN] = {7, 7, 7};
#define T0 1800000000 /* a grant time; events are versioned from it, in microseconds */

static int open_all(fixture *f)
{
    tc_events_close(f->ev);
    tc_store_close(f->st.s);
    tc_store_options o = {.path = f->st.dir, .catalog = f->st.cat, .key = f->st.key, .create = 1};
    if (tc_store_open(&o, &f->st.s, NULL) != TC_OK)
        return -1;
    return tc_events_open(f->st.s, &f->ev, NULL) == TC_OK ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_store_init(&f->st);
    *state = f;
    return open_all(f);
}

static int teardown(void **state)
{
    fixture *f = *state;
    tc_events_close(f->ev);
    tu_store_fini(&f->st);
    free(f);
    return 0;
}

static tc_event grant(int64_t version, const char *ref)
{
    tc_event e = {.kind = TC_EVENT_GRANT, .version = version};
    memcpy(e.citizen, CITIZEN, sizeof CITIZEN);
    snprintf(e.consent.institution, sizeof e.consent.institution, "bank-a");
    snprintf(e.consent.purpose, sizeof e.consent.purpose, "loan-origination");
    snprintf(e.consent.ref, sizeof e.consent.ref, "%s", ref);
    e.consent.granted_at = T0;
    e.consent.expires_at = T0 + 86400;
    return e;
}

static tc_event revoke(int64_t version, int64_t at)
{
    tc_event e = grant(version, "");
    e.kind = TC_EVENT_REVOKE;
    e.consent.ref[0] = '\0';
    e.consent.revoked_at = at;
    return e;
}

static tc_event erase(int64_t version)
{
    tc_event e = {.kind = TC_EVENT_ERASE, .version = version};
    memcpy(e.citizen, CITIZEN, sizeof CITIZEN);
    return e;
}

static int apply(fixture *f, tc_event e, tc_event_result *r)
{
    tc_writer *w = NULL;
    tc_error err;
    int rc = tc_writer_begin(f->st.s, &w, &err);
    if (rc == TC_OK)
        rc = tc_events_apply(f->ev, w, &e, r, &err);
    if (rc == TC_OK)
        return tc_writer_commit(w, &err);
    tc_writer_abort(w);
    return rc;
}

/* The consent on record: 0 none, else 1 and *c. */
static int consent_of(fixture *f, tc_consent *c)
{
    tc_reader *r = NULL;
    assert_int_equal(tc_reader_new(f->st.s, &r, NULL), TC_OK);
    assert_int_equal(tc_reader_begin(r, NULL), TC_OK);
    int rc = tc_reader_consent(r, CITIZEN, "bank-a", "loan-origination", c, NULL);
    tc_reader_end(r);
    tc_reader_free(r);
    assert_true(rc == TC_OK || rc == TC_ENOTFOUND);
    return rc == TC_OK;
}

#define V(n) ((int64_t)T0 * 1000000 + (n))

static void older_grant_never_undoes_a_revocation(void **state)
{
    fixture *f = *state;
    tc_event_result r;
    tc_consent c;
    assert_int_equal(apply(f, grant(V(10), "REF-1"), &r), TC_OK);
    assert_false(r.stale);
    assert_true(r.changed);
    assert_int_equal(apply(f, revoke(V(20), T0 + 5), &r), TC_OK);
    assert_false(r.stale);
    assert_true(r.has_consent);
    assert_int_equal(r.consent.revoked_at, T0 + 5);
    /* a late grant, older than the revocation: stale, the consent stays revoked */
    assert_int_equal(apply(f, grant(V(15), "REF-LATE"), &r), TC_OK);
    assert_true(r.stale);
    assert_false(r.changed);
    assert_int_equal(consent_of(f, &c), 1);
    assert_string_equal(c.ref, "REF-1");
    assert_int_equal(c.revoked_at, T0 + 5);
    /* the same revocation again: a duplicate */
    assert_int_equal(apply(f, revoke(V(20), T0 + 5), &r), TC_OK);
    assert_true(r.stale);
    /* at an equal version a revocation beats a grant */
    assert_int_equal(apply(f, grant(V(20), "REF-TIE"), &r), TC_OK);
    assert_true(r.stale);
    /* a newer grant replaces the revoked consent, which goes to the history */
    assert_int_equal(apply(f, grant(V(30), "REF-2"), &r), TC_OK);
    assert_false(r.stale);
    assert_true(r.has_previous);
    assert_string_equal(r.previous.ref, "REF-1");
    assert_int_equal(consent_of(f, &c), 1);
    assert_string_equal(c.ref, "REF-2");
    assert_int_equal(c.revoked_at, 0);
}

static void revocation_before_its_grant_bars_it(void **state)
{
    fixture *f = *state;
    tc_event_result r;
    tc_consent c;
    /* out of order: the revocation arrives first, with nothing to revoke */
    assert_int_equal(apply(f, revoke(V(20), T0 + 5), &r), TC_OK);
    assert_false(r.stale);
    assert_false(r.has_consent);
    assert_int_equal(apply(f, grant(V(10), "REF-1"), &r), TC_OK);
    assert_true(r.stale);
    assert_int_equal(consent_of(f, &c), 0);
}

static void erasure_bars_older_grants_not_newer(void **state)
{
    fixture *f = *state;
    tc_event_result r;
    tc_consent c;
    assert_int_equal(apply(f, grant(V(10), "REF-1"), &r), TC_OK);
    assert_int_equal(apply(f, erase(V(40)), &r), TC_OK);
    assert_false(r.stale);
    assert_true(r.changed);
    assert_int_equal(r.consents_erased, 1);
    assert_int_equal(consent_of(f, &c), 0);
    assert_int_equal(apply(f, grant(V(30), "REF-OLD"), &r), TC_OK);
    assert_true(r.stale);
    assert_int_equal(apply(f, revoke(V(35), T0), &r), TC_OK);
    assert_true(r.stale);
    assert_int_equal(apply(f, erase(V(40)), &r), TC_OK);
    assert_true(r.stale);
    assert_int_equal(consent_of(f, &c), 0);
    /* the citizen consents again after the erasure */
    assert_int_equal(apply(f, grant(V(50), "REF-NEW"), &r), TC_OK);
    assert_false(r.stale);
    assert_int_equal(consent_of(f, &c), 1);
    assert_string_equal(c.ref, "REF-NEW");
}

/* A consent written by a bulk load has no version: its own times stand for one. */
static void loaded_consent_counts_by_its_times(void **state)
{
    fixture *f = *state;
    tc_event_result r;
    tc_consent c = grant(0, "LOADED").consent;
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(f->st.s, &w, NULL), TC_OK);
    assert_int_equal(tc_writer_put_consent(w, CITIZEN, &c, T0, NULL, NULL, NULL), TC_OK);
    assert_int_equal(tc_writer_commit(w, NULL), TC_OK);
    /* granted at T0: a grant versioned before T0 is older */
    assert_int_equal(apply(f, grant(V(0) - 1, "EARLIER"), &r), TC_OK);
    assert_true(r.stale);
    assert_int_equal(apply(f, revoke(V(1), T0 + 1), &r), TC_OK);
    assert_false(r.stale);
    assert_int_equal(consent_of(f, &c), 1);
    assert_string_equal(c.ref, "LOADED");
    assert_int_equal(c.revoked_at, T0 + 1);
}

static void bad_events_are_refused_by_field(void **state)
{
    fixture *f = *state;
    tc_error err;
    tc_event e = grant(V(1), "REF");
    e.kind = (tc_event_kind)9;
    assert_int_equal(tc_event_validate(&e, &err), TC_EINVAL);
    assert_string_equal(err.msg, "field 'kind': 9 is not GRANT, REVOKE or ERASE");
    e = grant(0, "REF");
    assert_int_equal(tc_event_validate(&e, &err), TC_EINVAL);
    assert_string_equal(err.msg, "field 'version': must be positive");
    e = grant(V(1), "REF");
    e.consent.expires_at = e.consent.granted_at;
    assert_int_equal(tc_event_validate(&e, &err), TC_EINVAL);
    assert_string_equal(err.msg, "field 'expires_at': must be after granted_at");
    e = revoke(V(1), 0);
    assert_int_equal(tc_event_validate(&e, &err), TC_EINVAL);
    assert_string_equal(err.msg, "field 'revoked_at': required");
    e = revoke(V(1), T0);
    snprintf(e.consent.institution, sizeof e.consent.institution, "Bank A");
    assert_int_equal(tc_event_validate(&e, &err), TC_EINVAL);
    /* and nothing of a refused event is written */
    e = grant(V(1), "REF");
    e.version = -5;
    assert_int_equal(apply(f, e, NULL), TC_EINVAL);
    tc_consent c;
    assert_int_equal(consent_of(f, &c), 0);
    tc_event x = erase(V(1));
    assert_int_equal(tc_event_validate(&x, &err), TC_OK);
}

static void position_is_kept_with_the_events(void **state)
{
    fixture *f = *state;
    char pos[TC_EVENT_POSITION_MAX + 1];
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(f->st.s, &w, NULL), TC_OK);
    assert_int_equal(tc_events_position(f->ev, tc_writer_txn(w), pos, NULL), TC_OK);
    assert_string_equal(pos, "");
    tc_event g = grant(V(1), "REF");
    assert_int_equal(tc_events_apply(f->ev, w, &g, NULL, NULL), TC_OK);
    assert_int_equal(tc_events_set_position(f->ev, w, "1764780000000-3", NULL), TC_OK);
    tc_writer_abort(w); /* neither the event nor the position */
    assert_int_equal(tc_writer_begin(f->st.s, &w, NULL), TC_OK);
    assert_int_equal(tc_events_position(f->ev, tc_writer_txn(w), pos, NULL), TC_OK);
    assert_string_equal(pos, "");
    assert_int_equal(tc_events_set_position(f->ev, w, "1764780000000-4", NULL), TC_OK);
    assert_int_equal(tc_writer_commit(w, NULL), TC_OK);
    assert_int_equal(open_all(f), 0); /* as after a restart */
    assert_int_equal(tc_writer_begin(f->st.s, &w, NULL), TC_OK);
    assert_int_equal(tc_events_position(f->ev, tc_writer_txn(w), pos, NULL), TC_OK);
    assert_string_equal(pos, "1764780000000-4");
    assert_int_equal(tc_events_set_position(f->ev, w, "", NULL), TC_EINVAL);
    tc_writer_abort(w);
    /* positions compare as numbers, not text */
    assert_true(tc_event_position_cmp("999-0", "1000-0") < 0);
    assert_true(tc_event_position_cmp("1000-10", "1000-9") > 0);
    assert_true(tc_event_position_cmp("1000-9", "1000-9") == 0);
    assert_true(tc_event_position_cmp("", "0-1") < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(older_grant_never_undoes_a_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(revocation_before_its_grant_bars_it, setup, teardown),
        cmocka_unit_test_setup_teardown(erasure_bars_older_grants_not_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(loaded_consent_counts_by_its_times, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_events_are_refused_by_field, setup, teardown),
        cmocka_unit_test_setup_teardown(position_is_kept_with_the_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
