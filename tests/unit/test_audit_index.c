/* The citizen index of the audit trail ("who scored me"), written off the reply path: a
 * citizen's records are found from the moment they are committed, whether the indexer has
 * reached them yet or not, page by page without gaps or repeats; after a restart; in a
 * read-only copy with or without its index; and in a trail whose index was a table of the
 * trail itself, which is moved into the index when the trail is first opened read-write. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tc_audit.h"
#include "tc_time.h"
#include "test_util.h"

#define N 60

static atomic_int committed;

static void on_done(tc_audit_entry *e, int status, void *arg)
{
    (void)e;
    (void)arg;
    if (status == TC_OK)
        atomic_fetch_add(&committed, 1);
}

/* Records i0..i1-1: citizen i % 3 (citizen 0 has every third), committed before returning. */
static void write_range(tc_audit *a, int i0, int i1)
{
    static tc_audit_entry e[N];
    int want = atomic_load(&committed) + (i1 - i0);
    for (int i = i0; i < i1; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].rec.time_us = tc_time_now_us();
        snprintf(e[i].rec.institution, sizeof e[i].rec.institution, "bank-a");
        snprintf(e[i].rec.request_id, sizeof e[i].rec.request_id, "r-%d", i);
        e[i].rec.has_citizen = 1;
        memset(e[i].rec.citizen, i % 3, TC_CITIZEN_KEY_LEN);
        e[i].rec.outcome = TC_AUDIT_DENIED;
        e[i].done = on_done;
        assert_int_equal(tc_audit_submit(a, 0, &e[i]), TC_OK);
    }
    while (atomic_load(&committed) < want)
        nanosleep(&(struct timespec){0, 200000}, NULL);
}

typedef struct pages {
    char rids[N][TC_AUDIT_TEXT_MAX + 1];
    uint64_t seqs[N];
    int n;
} pages;

static int collect(const tc_audit_record *r, void *arg)
{
    pages *p = arg;
    assert_true(p->n < N);
    snprintf(p->rids[p->n], sizeof p->rids[p->n], "%s", r->request_id);
    p->seqs[p->n++] = r->seq;
    return 0;
}

/* Citizen c's records in pages of 7, newest first: exactly those written, each once. */
static void check_citizen(tc_audit *a, int c, int written)
{
    unsigned char key[TC_CITIZEN_KEY_LEN];
    memset(key, c, sizeof key);
    tc_audit_reader *rd = NULL;
    tc_error err = {0};
    assert_int_equal(tc_audit_reader_new(a, &rd, &err), TC_OK);
    pages p = {0};
    uint64_t before = 0;
    for (;;) {
        int n0 = p.n;
        int brc = tc_audit_by_citizen(rd, key, before, 7, collect, &p, &err);
        if (brc != TC_OK)
            fail_msg("%s", err.msg);
        if (p.n == n0)
            break;
        assert_true(p.n - n0 <= 7);
        before = p.seqs[p.n - 1];
    }
    tc_audit_reader_free(rd);
    int want = 0;
    for (int i = written - 1; i >= 0; i--) {
        if (i % 3 != c)
            continue;
        char rid[16];
        snprintf(rid, sizeof rid, "r-%d", i);
        assert_true(want < p.n);
        assert_string_equal(p.rids[want], rid);
        if (want > 0)
            assert_true(p.seqs[want] < p.seqs[want - 1]);
        want++;
    }
    assert_int_equal(p.n, want);
}

static tc_audit *open_trail(const char *dir, int read_only)
{
    tc_audit *a = NULL;
    tc_error err = {0};
    tc_audit_options ao = {
        .dir = dir, .map_size = (size_t)64 << 20, .relaxed = 1, .read_only = read_only};
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    if (!read_only)
        assert_int_equal(tc_audit_start(a, 1, &err), TC_OK);
    return a;
}

static void found_before_and_after_indexing(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    char ix[1024];
    tc_audit *a = open_trail(dir, 0);
    write_range(a, 0, 1);
    check_citizen(a, 0, 1); /* at once, before any pass of the indexer */
    write_range(a, 1, 30);
    nanosleep(&(struct timespec){0, 700 * 1000000L}, NULL); /* the indexer has passed */
    write_range(a, 30, N);
    for (int c = 0; c < 3; c++) /* the index, then the records it has not reached */
        check_citizen(a, c, N);
    tc_audit_close(a);
    a = open_trail(dir, 0); /* after a restart */
    check_citizen(a, 1, N);
    tc_audit_close(a);
    a = open_trail(dir, 1); /* a read-only reader, as tinchap audit */
    check_citizen(a, 2, N);
    tc_audit_close(a);
    snprintf(ix, sizeof ix, "%s/citizen-index", dir);
    tu_rmtree(ix);
    a = open_trail(dir, 1); /* a copy without its index: every record is read */
    check_citizen(a, 0, N);
    tc_audit_close(a);
    a = open_trail(dir, 0); /* read-write: the index is rebuilt from the records */
    check_citizen(a, 0, N);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

/* A trail indexed in its own table audit_citizen: the entries move to the index (a marker entry
 * that only the table has shows they were moved, not rebuilt), and the table is dropped. */
static void former_table_moved(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    char ix[1024];
    tc_audit *a = open_trail(dir, 0);
    write_range(a, 0, 9);
    tc_audit_close(a);
    snprintf(ix, sizeof ix, "%s/citizen-index", dir);
    tu_rmtree(ix);
    MDB_dbi old;
    MDB_txn *txn = tu_lmdb_begin(dir, 0);
    assert_int_equal(mdb_dbi_open(txn, "audit_citizen", MDB_CREATE, &old), 0);
    for (int i = 0; i < 9; i++) { /* the entries of the records, as the former writer made */
        unsigned char k[TC_CITIZEN_KEY_LEN + 8] = {0};
        memset(k, i % 3, TC_CITIZEN_KEY_LEN);
        k[TC_CITIZEN_KEY_LEN + 7] = (unsigned char)(i + 1);
        MDB_val kv = {sizeof k, k}, empty = {0, NULL};
        assert_int_equal(mdb_put(txn, old, &kv, &empty, 0), 0);
    }
    unsigned char marker[TC_CITIZEN_KEY_LEN + 8] = {0};
    memset(marker, 7, TC_CITIZEN_KEY_LEN);
    marker[TC_CITIZEN_KEY_LEN + 7] = 1; /* citizen 7 -> record 1 */
    MDB_val mv = {sizeof marker, marker}, empty = {0, NULL};
    assert_int_equal(mdb_put(txn, old, &mv, &empty, 0), 0);
    tu_lmdb_end(txn);

    for (int read_only = 1; read_only >= 0; read_only--) { /* read from the table, then moved */
        a = open_trail(dir, read_only);
        check_citizen(a, 0, 9);
        check_citizen(a, 2, 9);
        unsigned char key[TC_CITIZEN_KEY_LEN];
        memset(key, 7, sizeof key);
        tc_audit_reader *rd = NULL;
        pages p = {0};
        assert_int_equal(tc_audit_reader_new(a, &rd, NULL), TC_OK);
        assert_int_equal(tc_audit_by_citizen(rd, key, 0, SIZE_MAX, collect, &p, NULL), TC_OK);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.rids[0], "r-0");
        tc_audit_reader_free(rd);
        tc_audit_close(a);
    }
    assert_false(tu_lmdb_has_table(dir, "audit_citizen")); /* moved, then dropped */
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(found_before_and_after_indexing),
        cmocka_unit_test(former_table_moved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
