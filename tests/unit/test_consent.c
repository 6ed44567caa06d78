/* Consent: validity across grant, expiry and revocation, and that the one check says "no" the
 * same way for another institution, another purpose, another reference or an unknown citizen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tc_consent.h"
#include "tc_store.h"
#include "tc_time.h"

static int64_t t(const char *s)
{
    int64_t v = 0;
    if (tc_time_parse(s, strlen(s), &v) != TC_OK)
        fail_msg("bad time %s", s);
    return v;
}

static void validity_window(void **state)
{
    (void)state;
    tc_consent c = {.institution = "bank-a", .purpose = "loan-origination", .ref = "R1"};
    c.granted_at = t("2026-01-01T00:00:00Z");
    c.expires_at = t("2027-01-01T00:00:00Z");
    assert_false(tc_consent_valid_at(&c, t("2025-12-31T23:59:59Z")));
    assert_true(tc_consent_valid_at(&c, t("2026-01-01T00:00:00Z")));
    assert_true(tc_consent_valid_at(&c, t("2026-12-31T23:59:59Z")));
    assert_false(tc_consent_valid_at(&c, t("2027-01-01T00:00:00Z")));
    c.revoked_at = t("2026-06-01T00:00:00Z");
    assert_true(tc_consent_valid_at(&c, t("2026-05-31T23:59:59Z")));
    assert_false(tc_consent_valid_at(&c, t("2026-06-01T00:00:00Z")));
    assert_false(tc_consent_valid_at(&c, t("2026-07-01T00:00:00Z")));
}

static void field_rules(void **state)
{
    (void)state;
    tc_error err = {0};
    tc_consent c = {.institution = "bank-a", .purpose = "loan-origination", .ref = "VNEID-1"};
    c.granted_at = 100;
    c.expires_at = 200;
    assert_int_equal(tc_consent_validate(&c, &err), TC_OK);
    c.expires_at = 100;
    assert_int_equal(tc_consent_validate(&c, &err), TC_EINVAL);
    assert_msg(&err, "field 'expires_at': must be after granted_at");
    c.expires_at = 200;
    c.revoked_at = 50;
    assert_int_equal(tc_consent_validate(&c, &err), TC_EINVAL);
    assert_msg(&err, "field 'revoked_at': must not be before granted_at");
    assert_int_equal(tc_consent_check_institution("Bank-A", 6, &err), TC_EINVAL);
    assert_msg(&err, "field 'institution': 1-64 characters of a-z, 0-9, '.', '_', '-', starting "
                     "with a letter or digit");
    assert_int_equal(tc_consent_check_purpose("", 0, &err), TC_EINVAL);
    assert_int_equal(tc_consent_check_ref("has space", 9, &err), TC_EINVAL);
    assert_msg(&err, "field 'consent_ref': 1-64 printable ASCII characters, no spaces");
}

static void codec_round_trip(void **state)
{
    (void)state;
    unsigned char citizen[TC_CITIZEN_KEY_LEN];
    memset(citizen, 0xab, sizeof citizen);
    tc_consent c = {.institution = "bank-b", .purpose = "p", .ref = "VNEID-ABCDEF"};
    c.granted_at = 1;
    c.expires_at = 2;
    c.revoked_at = 3;
    unsigned char k[TC_CONSENT_KEY_MAX], v[TC_CONSENT_VALUE_MAX];
    size_t kl = tc_consent_key(citizen, c.institution, c.purpose, k);
    size_t vl = tc_consent_encode(&c, v);
    tc_consent d;
    assert_int_equal(tc_consent_decode(k, kl, v, vl, &d, NULL), TC_OK);
    assert_string_equal(d.institution, "bank-b");
    assert_string_equal(d.purpose, "p");
    assert_string_equal(d.ref, "VNEID-ABCDEF");
    assert_true(d.granted_at == 1 && d.expires_at == 2 && d.revoked_at == 3);
    assert_int_equal(tc_consent_decode(k, kl, v, vl - 1, &d, NULL), TC_ERECORD);
    assert_int_equal(tc_consent_decode(k, TC_CITIZEN_KEY_LEN, v, vl, &d, NULL), TC_ERECORD);
}

/* A fresh store in a scratch directory, and what it needs. */
typedef struct store_fixture {
    char *dir;
    tc_catalog *cat;
    tc_key *key;
    tc_store *s;
} store_fixture;

static void store_open(store_fixture *f)
{
    unsigned char secret[TC_SECRET_LEN] = {7};
    tc_error err = {0};
    f->dir = strdup(tu_tempdir());
    f->cat = tu_catalog();
    assert_int_equal(tc_key_from_bytes(secret, &f->key, NULL), TC_OK);
    tc_store_options o = {.path = f->dir, .catalog = f->cat, .key = f->key, .create = 1};
    assert_int_equal(tc_store_open(&o, &f->s, &err), TC_OK);
}

static void store_close(store_fixture *f)
{
    tc_store_close(f->s);
    tc_key_free(f->key);
    tc_catalog_free(f->cat);
    tu_rmtree(f->dir);
    free(f->dir);
}

/* Through the store: every kind of "no" is the same TC_ENOCONSENT. */
static void check_through_store(void **state)
{
    (void)state;
    store_fixture f;
    store_open(&f);
    tc_store *s = f.s;
    tc_error err = {0};
    unsigned char alice[32], bob[32], nobody[32];
    memset(alice, 1, 32);
    memset(bob, 2, 32);
    memset(nobody, 3, 32);
    int64_t now = t("2026-11-24T00:00:00Z");
    tc_consent c = {.institution = "bank-a", .purpose = "loan-origination", .ref = "R-A"};
    c.granted_at = t("2026-01-01");
    c.expires_at = t("2027-01-01");
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_put_consent(w, alice, &c, now, NULL, NULL, &err), TC_OK);
    tc_consent expired = c;
    snprintf(expired.ref, sizeof expired.ref, "R-B");
    expired.expires_at = t("2026-11-01");
    assert_int_equal(tc_writer_put_consent(w, bob, &expired, now, NULL, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);

    tc_reader *r = NULL;
    assert_int_equal(tc_reader_new(s, &r, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    tc_consent got;
    assert_int_equal(
        tc_consent_check(r, alice, "bank-a", "loan-origination", "R-A", NULL, now, &got), TC_OK);
    assert_string_equal(got.ref, "R-A");
    assert_int_equal(
        tc_consent_check(r, alice, "bank-a", "loan-origination", NULL, NULL, now, NULL), TC_OK);
    assert_int_equal(
        tc_consent_check(r, alice, "bank-b", "loan-origination", "R-A", NULL, now, NULL),
        TC_ENOCONSENT);
    assert_int_equal(tc_consent_check(r, alice, "bank-a", "marketing", "R-A", NULL, now, NULL),
                     TC_ENOCONSENT);
    assert_int_equal(
        tc_consent_check(r, alice, "bank-a", "loan-origination", "R-X", NULL, now, NULL),
        TC_ENOCONSENT);
    assert_int_equal(
        tc_consent_check(r, bob, "bank-a", "loan-origination", "R-B", NULL, now, NULL),
        TC_ENOCONSENT);
    assert_int_equal(
        tc_consent_check(r, nobody, "bank-a", "loan-origination", NULL, NULL, now, NULL),
        TC_ENOCONSENT);
    /* before the grant */
    assert_int_equal(tc_consent_check(r, alice, "bank-a", "loan-origination", "R-A", NULL,
                                      t("2025-06-01"), NULL),
                     TC_ENOCONSENT);
    tc_reader_end(r);

    /* revocation takes effect from its time on, and keeps the first revocation time */
    assert_int_equal(tc_writer_begin(s, &w, &err), TC_OK);
    assert_int_equal(
        tc_writer_revoke_consent(w, alice, "bank-a", "loan-origination", now - 10, NULL, &err),
        TC_OK);
    assert_int_equal(
        tc_writer_revoke_consent(w, alice, "bank-a", "loan-origination", now + 10, NULL, &err),
        TC_OK);
    assert_int_equal(
        tc_writer_revoke_consent(w, nobody, "bank-a", "loan-origination", now, NULL, &err),
        TC_ENOTFOUND);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    assert_int_equal(
        tc_consent_check(r, alice, "bank-a", "loan-origination", "R-A", NULL, now, NULL),
        TC_ENOCONSENT);
    assert_int_equal(tc_reader_consent(r, alice, "bank-a", "loan-origination", &got, &err), TC_OK);
    assert_true(got.revoked_at == now - 10);
    assert_int_equal(tc_consent_check(r, alice, "bank-a", "loan-origination", "R-A", NULL, now - 11,
                                      NULL),
                     TC_OK);
    tc_reader_end(r);
    tc_reader_free(r);
    store_close(&f);
}

/* A reference that embeds a citizen ID is stored redacted with its keyed hash: the stored
 * bytes hold no such digits, and only the same reference matches it. */
static void reference_with_an_id(void **state)
{
    (void)state;
    unsigned char secret[TC_SECRET_LEN] = {9}, citizen[TC_CITIZEN_KEY_LEN] = {4};
    tc_key *key = NULL;
    tc_hasher *h = NULL;
    assert_int_equal(tc_key_from_bytes(secret, &key, NULL), TC_OK);
    assert_int_equal(tc_hasher_new(key, &h, NULL), TC_OK);
    tc_consent c = {.institution = "bank-b", .purpose = "p", .ref = "CCCD-001085000001"};
    c.granted_at = 1;
    c.expires_at = 2;
    assert_int_equal(tc_consent_protect_ref(&c, h), TC_OK);
    assert_true(c.ref_hashed);
    assert_string_equal(c.ref, "CCCD-############");
    unsigned char k[TC_CONSENT_KEY_MAX], v[TC_CONSENT_VALUE_MAX];
    size_t kl = tc_consent_key(citizen, c.institution, c.purpose, k);
    size_t vl = tc_consent_encode(&c, v);
    assert_null(memmem(v, vl, "001085000001", 12));
    tc_consent d;
    assert_int_equal(tc_consent_decode(k, kl, v, vl, &d, NULL), TC_OK);
    assert_true(d.ref_hashed);
    assert_memory_equal(d.ref_hash, c.ref_hash, TC_TEXT_HASH_LEN);
    unsigned char same[TC_TEXT_HASH_LEN], other[TC_TEXT_HASH_LEN];
    assert_int_equal(tc_consent_ref_hash(h, "CCCD-001085000001", same), 1);
    assert_int_equal(tc_consent_ref_hash(h, "CCCD-001085000002", other), 1);
    assert_int_equal(tc_consent_ref_hash(h, "VNEID-ABC", other), 0);
    assert_memory_equal(same, d.ref_hash, TC_TEXT_HASH_LEN);
    /* an unprotected reference with a digit run is redacted by the encoder all the same */
    tc_consent raw = {.institution = "bank-b", .purpose = "p", .ref = "X001085000001"};
    raw.granted_at = 1;
    raw.expires_at = 2;
    vl = tc_consent_encode(&raw, v);
    assert_null(memmem(v, vl, "001085000001", 12));
    /* institutions and purposes with a digit run are refused */
    assert_int_equal(tc_consent_check_institution("bank001085000001", 16, NULL), TC_EINVAL);
    assert_int_equal(tc_consent_check_purpose("p-001085000001", 14, NULL), TC_EINVAL);
    tc_hasher_free(h);
    tc_key_free(key);
}

static int collect_history(const tc_consent *c, int64_t at, void *arg)
{
    tc_consent *seen = arg;
    assert_true(at > 0);
    seen[seen[0].granted_at == 0 ? 0 : 1] = *c;
    return 0;
}

static int count_consents(const tc_consent *c, void *arg)
{
    (void)c;
    (*(int *)arg)++;
    return 0;
}

/* A grant replaces a consent without forgetting it; a revocation keeps the consent, revoked;
 * an erasure removes the citizen's consents and history alike. */
static void history(void **state)
{
    (void)state;
    unsigned char alice[TC_CITIZEN_KEY_LEN] = {1};
    store_fixture f;
    store_open(&f);
    tc_store *s = f.s;
    tc_error err = {0};
    tc_consent first = {.institution = "bank-a", .purpose = "loan-origination", .ref = "R-1"};
    first.granted_at = t("2026-01-01");
    first.expires_at = t("2027-01-01");
    tc_consent second = first, prev;
    snprintf(second.ref, sizeof second.ref, "R-2");
    int changed = -1;
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_put_consent(w, alice, &first, 100, &changed, &prev, &err), TC_OK);
    assert_true(changed == 1 && prev.granted_at == 0);
    assert_int_equal(tc_writer_put_consent(w, alice, &first, 150, &changed, &prev, &err), TC_OK);
    assert_true(changed == 0); /* the same grant again: nothing kept twice */
    assert_int_equal(tc_writer_put_consent(w, alice, &second, 200, &changed, &prev, &err), TC_OK);
    assert_true(changed == 1);
    assert_string_equal(prev.ref, "R-1");
    tc_consent revoked;
    int64_t at = t("2026-06-01");
    assert_int_equal(tc_writer_revoke_consent(w, alice, "bank-a", "loan-origination", at,
                                              &revoked, &err),
                     TC_OK);
    assert_true(revoked.revoked_at == at && strcmp(revoked.ref, "R-2") == 0);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    tc_reader *r = NULL;
    assert_int_equal(tc_reader_new(s, &r, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    tc_consent seen[2];
    memset(seen, 0, sizeof seen);
    assert_int_equal(tc_reader_consent_history(r, alice, collect_history, seen, &err), TC_OK);
    assert_string_equal(seen[0].ref, "R-1");
    assert_true(seen[1].granted_at == 0); /* one replaced consent */
    tc_reader_end(r);
    size_t erased = 0;
    int found = 0;
    assert_int_equal(tc_writer_begin(s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_erase_citizen(w, alice, &found, &erased, &err), TC_OK);
    assert_true(found && erased == 2);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    memset(seen, 0, sizeof seen);
    int current = 0;
    assert_int_equal(tc_reader_consent_history(r, alice, collect_history, seen, &err), TC_OK);
    assert_int_equal(tc_reader_consents(r, alice, count_consents, &current, &err), TC_OK);
    assert_true(seen[0].granted_at == 0 && current == 0);
    tc_reader_end(r);
    tc_reader_free(r);
    store_close(&f);
}

/* A database written before references were protected keeps "CCCD-<ID>" as it came: the first
 * read-write opening with the secret protects it, and the reference still matches. */
static void old_references_protected(void **state)
{
    (void)state;
    store_fixture f;
    store_open(&f);
    unsigned char alice[TC_CITIZEN_KEY_LEN] = {5};
    tc_consent c = {.institution = "bank-a", .purpose = "loan-origination",
                    .ref = "CCCD-001085000001"};
    c.granted_at = t("2026-01-01");
    c.expires_at = t("2027-01-01");
    /* the value as the old encoder wrote it: format 1, the reference as it came */
    unsigned char kb[TC_CONSENT_KEY_MAX], vb[TC_CONSENT_VALUE_MAX];
    size_t kl = tc_consent_key(alice, c.institution, c.purpose, kb);
    size_t vl = tc_consent_encode(&c, vb);
    memcpy(vb + 26, c.ref, strlen(c.ref));
    MDB_dbi consents, meta; /* consents are kept in the citizens table (store format 2) */
    tc_error err = {0};
    assert_int_equal(tc_store_dbi(f.s, "citizens", 0, &consents, &err), TC_OK);
    assert_int_equal(tc_store_dbi(f.s, "meta", 0, &meta, &err), TC_OK);
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(f.s, &w, &err), TC_OK);
    MDB_val k = {kl, kb}, v = {vl, vb};
    assert_int_equal(mdb_put(tc_writer_txn(w), consents, &k, &v, 0), MDB_SUCCESS);
    MDB_val flag = {14, (void *)"refs_protected"};
    assert_int_equal(mdb_del(tc_writer_txn(w), meta, &flag, NULL), MDB_SUCCESS);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    tc_store_close(f.s);
    tc_store_options o = {.path = f.dir, .catalog = f.cat, .key = f.key};
    assert_int_equal(tc_store_open(&o, &f.s, &err), TC_OK);
    tc_reader *r = NULL;
    tc_consent got;
    tc_hasher *h = NULL;
    unsigned char hash[TC_TEXT_HASH_LEN];
    assert_int_equal(tc_hasher_new(f.key, &h, NULL), TC_OK);
    assert_int_equal(tc_consent_ref_hash(h, "CCCD-001085000001", hash), 1);
    assert_int_equal(tc_reader_new(f.s, &r, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    assert_int_equal(tc_reader_consent(r, alice, "bank-a", "loan-origination", &got, &err), TC_OK);
    assert_true(got.ref_hashed);
    assert_string_equal(got.ref, "CCCD-############");
    assert_int_equal(tc_consent_check(r, alice, "bank-a", "loan-origination",
                                      "CCCD-001085000001", hash, t("2026-06-01"), NULL),
                     TC_OK);
    tc_reader_end(r);
    tc_reader_free(r);
    tc_hasher_free(h);
    store_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validity_window),
        cmocka_unit_test(field_rules),
        cmocka_unit_test(codec_round_trip),
        cmocka_unit_test(check_through_store),
        cmocka_unit_test(reference_with_an_id),
        cmocka_unit_test(history),
        cmocka_unit_test(old_references_protected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
