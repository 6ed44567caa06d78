/* The request-ID memory of the audit trail: an answer is remembered under its (institution,
 * request ID) key for 24 h, replayed for the same request and refused for another; it survives
 * a restart (rebuilt from the trail), forgets what is older than 24 h, keeps nothing of a
 * commit that failed, and is carried over from a trail written with the former tables. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tc_audit.h"
#include "tc_time.h"
#include "test_util.h"

#define DAY_US (24LL * 3600 * 1000000)

typedef struct outcome {
    atomic_int done;
    int status;
} outcome;

static void on_done(tc_audit_entry *e, int status, void *arg)
{
    (void)e;
    outcome *o = arg;
    o->status = status;
    atomic_store(&o->done, 1);
}

/* Build an entry for key "bank-a NUL rid", its request digest from digest_byte, answered with
 * response (a Score) at time_us. */
static void entry(tc_audit_entry *e, const char *rid, int digest_byte, const char *response,
                  int64_t time_us)
{
    memset(e, 0, sizeof *e);
    e->rec.time_us = time_us;
    snprintf(e->rec.request_id, sizeof e->rec.request_id, "%s", rid);
    snprintf(e->rec.institution, sizeof e->rec.institution, "bank-a");
    e->rec.outcome = TC_AUDIT_SCORED;
    e->idem_key_len = (size_t)snprintf(e->idem_key, sizeof e->idem_key, "bank-a%c%s", 0, rid);
    memset(e->digest, digest_byte, sizeof e->digest);
    e->response = (const unsigned char *)response;
    e->response_len = strlen(response);
}

/* Submit e and wait for its done(); returns its status. */
static int commit(tc_audit *a, tc_audit_entry *e)
{
    outcome o = {0};
    e->done = on_done;
    e->arg = &o;
    assert_int_equal(tc_audit_submit(a, 0, e), TC_OK);
    while (!atomic_load(&o.done))
        nanosleep(&(struct timespec){0, 200000}, NULL);
    return o.status;
}

static tc_audit *open_trail(const char *dir, size_t map_size)
{
    tc_audit *a = NULL;
    tc_error err = {0};
    tc_audit_options ao = {.dir = dir, .map_size = map_size, .relaxed = 1};
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    assert_int_equal(tc_audit_start(a, 1, &err), TC_OK);
    return a;
}

/* What the trail remembers for rid at now_us: the response ("" if none). */
static const char *remembered(tc_audit *a, const char *rid, int64_t now_us)
{
    static char text[TC_AUDIT_RESPONSE_MAX + 1];
    char key[128];
    unsigned char digest[16], response[TC_AUDIT_RESPONSE_MAX];
    size_t len = 0, key_len = (size_t)snprintf(key, sizeof key, "bank-a%c%s", 0, rid);
    tc_audit_reader *rd = NULL;
    assert_int_equal(tc_audit_reader_new(a, &rd, NULL), TC_OK);
    text[0] = 0;
    if (tc_audit_idem_lookup(rd, key, key_len, now_us, digest, response, &len) == TC_OK) {
        memcpy(text, response, len);
        text[len] = 0;
    }
    tc_audit_reader_free(rd);
    return text;
}

static void replay_conflict_restart(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    int64_t now = tc_time_now_us();
    static tc_audit_entry e;
    tc_audit *a = open_trail(dir, (size_t)64 << 20);
    entry(&e, "loan-1", 1, "answer one", now - DAY_US - 1000000); /* 24 h and 1 s ago */
    assert_int_equal(commit(a, &e), TC_OK);
    entry(&e, "loan-2", 2, "answer two", now);
    assert_int_equal(commit(a, &e), TC_OK);
    assert_false(e.replayed || e.conflict);
    for (int i = 0; i < 10000; i++) { /* many keys: the memory grows past its first size */
        char rid[32];
        snprintf(rid, sizeof rid, "bulk-%d", i);
        entry(&e, rid, 3, "bulk answer", now);
        assert_int_equal(commit(a, &e), TC_OK);
    }
    entry(&e, "loan-1", 1, "answer one again", now); /* expired: scored and remembered */
    assert_int_equal(commit(a, &e), TC_OK);
    assert_false(e.replayed || e.conflict);
    for (int round = 0; round < 2; round++) { /* as written, then after a restart */
        assert_string_equal(remembered(a, "loan-1", now), "answer one again");
        assert_string_equal(remembered(a, "loan-2", now), "answer two");
        assert_string_equal(remembered(a, "bulk-0", now), "bulk answer");
        assert_string_equal(remembered(a, "bulk-9999", now), "bulk answer");
        assert_string_equal(remembered(a, "loan-3", now), "");
        assert_string_equal(remembered(a, "loan-2", now + DAY_US), ""); /* a day later */
        entry(&e, "loan-2", 2, "scored again", now + 1000); /* the same request: replayed */
        assert_int_equal(commit(a, &e), TC_OK);
        assert_true(e.replayed);
        assert_int_equal(e.rec.outcome, TC_AUDIT_REPLAYED);
        assert_int_equal(e.replay_len, strlen("answer two"));
        assert_memory_equal(e.replay, "answer two", e.replay_len);
        entry(&e, "loan-2", 9, "other", now + 1000); /* another request, same ID: refused */
        assert_int_equal(commit(a, &e), TC_OK);
        assert_true(e.conflict && !e.replayed);
        assert_int_equal(e.rec.status, 6);
        tc_audit_close(a);
        a = open_trail(dir, (size_t)64 << 20);
    }
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

/* A commit that fails (the map is full) remembers nothing: the retry is scored, not replayed. */
static void failed_commit_forgets(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    int64_t now = tc_time_now_us();
    static tc_audit_entry e;
    static char big[TC_AUDIT_RESPONSE_MAX + 1];
    memset(big, 'x', TC_AUDIT_RESPONSE_MAX);
    tc_audit *a = open_trail(dir, (size_t)1 << 20);
    char rid[32];
    int i = 0, status = TC_OK;
    for (; i < 10000 && status == TC_OK; i++) {
        snprintf(rid, sizeof rid, "fill-%d", i);
        entry(&e, rid, 1, big, now);
        status = commit(a, &e);
    }
    assert_int_equal(status, TC_EFULL);
    assert_string_equal(remembered(a, rid, now), "");
    snprintf(rid, sizeof rid, "fill-%d", i - 2); /* the last one committed */
    assert_int_equal(strlen(remembered(a, rid, now)), TC_AUDIT_RESPONSE_MAX);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

/* A trail written with the former tables (idempotency: key -> time, sequence, digest, response;
 * idem_time beside it) opens with its answers of the last 24 h still remembered. */
static void former_tables_carried_over(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    int64_t now = tc_time_now_us();
    MDB_dbi idem, idem_time;
    MDB_txn *txn = tu_lmdb_begin(dir, 0);
    assert_int_equal(mdb_dbi_open(txn, "idempotency", MDB_CREATE, &idem), 0);
    assert_int_equal(mdb_dbi_open(txn, "idem_time", MDB_CREATE, &idem_time), 0);
    const char *rids[2] = {"old-fresh", "old-stale"};
    int64_t times[2] = {now - 3600LL * 1000000, now - DAY_US - 1000000};
    for (int i = 0; i < 2; i++) {
        char key[64];
        unsigned char v[32 + 16];
        size_t key_len = (size_t)snprintf(key, sizeof key, "bank-a%c%s", 0, rids[i]);
        for (int b = 0; b < 8; b++) {
            v[b] = (unsigned char)((uint64_t)times[i] >> (56 - 8 * b));
            v[8 + b] = (unsigned char)((uint64_t)(i + 1) >> (56 - 8 * b));
        }
        memset(v + 16, 1, 16);
        memcpy(v + 32, "former answer 16", 16);
        MDB_val k = {key_len, key}, d = {sizeof v, v};
        assert_int_equal(mdb_put(txn, idem, &k, &d, 0), 0);
    }
    tu_lmdb_end(txn);
    tc_audit *a = open_trail(dir, (size_t)64 << 20);
    assert_string_equal(remembered(a, "old-fresh", now), "former answer 16");
    assert_string_equal(remembered(a, "old-stale", now), "");
    static tc_audit_entry e;
    entry(&e, "old-fresh", 1, "new", now);
    assert_int_equal(commit(a, &e), TC_OK);
    assert_true(e.replayed);
    tc_audit_close(a);
    assert_false(tu_lmdb_has_table(dir, "idempotency")); /* the former tables are gone */
    assert_false(tu_lmdb_has_table(dir, "idem_time"));
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_conflict_restart),
        cmocka_unit_test(failed_commit_forgets),
        cmocka_unit_test(former_tables_carried_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
