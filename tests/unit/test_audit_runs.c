/* The citizen index's sorted runs (tc_audit_runs.c), driven directly: 600 runs of uneven sizes
 * merged through three levels, a merge of a high level spread over several transactions, and a
 * lookup after every step of merging, mid-merge included, that must give each citizen's
 * entries exactly once, newest first, across the runs and the index's former table. Then a
 * merge cut short by a stop: its partial run is kept by an open that does not start the trail,
 * dropped at the next start, and the index still holds each entry once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_audit_impl.h"
#include "test_util.h"

#define CITIZENS 40
#define RUNS 600
#define BASE 300 /* entries in the former table: sequence numbers 1..BASE */
#define MAX_SEQ 400000

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Which citizen each sequence number belongs to (-1: none yet). */
static signed char owner[MAX_SEQ + 1];

static void entry(unsigned char *e, int citizen, uint64_t seq)
{
    memset(e, 0, INDEX_ENTRY_LEN);
    e[0] = (unsigned char)(citizen * 5 + 1); /* spread over the key space */
    e[TC_CITIZEN_KEY_LEN - 1] = (unsigned char)citizen;
    be64(e + TC_CITIZEN_KEY_LEN, seq);
}

static int entry_cmp(const void *x, const void *y)
{
    return memcmp(x, y, INDEX_ENTRY_LEN);
}

static tc_audit *open_index(const char *dir)
{
    tc_audit *a = NULL;
    tc_error err = {0};
    tc_audit_options ao = {.dir = dir, .map_size = (size_t)256 << 20, .relaxed = 1};
    if (tc_audit_open(&ao, &a, &err) != TC_OK)
        fail_msg("%s", err.msg);
    /* not started: this test is the indexer; its start, as tc_audit_index_start */
    a->runs.buf = malloc(RUNS_CHUNK_BYTES);
    assert_non_null(a->runs.buf);
    assert_int_equal(runs_start(a), MDB_SUCCESS);
    return a;
}

/* Sequence numbers from..to-1 in runs of uneven size, each committed as the indexer's pass. */
static void add_runs(tc_audit *a, uint64_t *seq, int runs)
{
    static unsigned char e[1000 * INDEX_ENTRY_LEN];
    for (int r = 0; r < runs; r++) {
        size_t n = 1 + next_rand() % 600;
        assert_true(*seq + n <= MAX_SEQ);
        for (size_t i = 0; i < n; i++) {
            int c = (int)(next_rand() % CITIZENS);
            owner[*seq] = (signed char)c;
            entry(e + i * INDEX_ENTRY_LEN, c, (*seq)++);
        }
        qsort(e, n, INDEX_ENTRY_LEN, entry_cmp);
        MDB_txn *txn = NULL;
        assert_int_equal(mdb_txn_begin(a->ix_env, NULL, 0, &txn), 0);
        assert_int_equal(runs_add(a, txn, e, n), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
}

typedef struct seen {
    uint64_t last;
    size_t n;
    int citizen, ok;
} seen;

static int check_entry(uint64_t seq, void *arg)
{
    seen *s = arg;
    /* newest first, each entry once, and only the citizen's */
    if (seq >= s->last || seq > MAX_SEQ || owner[seq] != s->citizen)
        s->ok = 0;
    s->last = seq;
    s->n++;
    return 0;
}

/* Every citizen's entries below `below`, in one snapshot: exactly those written. */
static void check_all(tc_audit *a, uint64_t written_to, uint64_t below)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(a->ix_env, NULL, MDB_RDONLY, &txn), 0);
    for (int c = 0; c < CITIZENS; c++) {
        unsigned char key[INDEX_ENTRY_LEN];
        entry(key, c, 0);
        seen s = {UINT64_MAX, 0, c, 1};
        assert_int_equal(runs_walk(a, txn, 1, a->ix_citizen, key, below, check_entry, &s), 0);
        size_t want = 0;
        for (uint64_t q = 1; q < written_to && q < below; q++)
            want += owner[q] == c;
        if (!s.ok || s.n != want)
            fail_msg("citizen %d below %llu: %zu entries (want %zu), order/ownership %s", c,
                     (unsigned long long)below, s.n, want, s.ok ? "right" : "wrong");
    }
    mdb_txn_abort(txn);
}

typedef struct shape {
    size_t runs;
    uint64_t entries, top_level;
} shape;

static shape directory(tc_audit *a)
{
    MDB_txn *txn = NULL;
    MDB_val k = {4, (void *)"runs"}, v;
    shape s = {0};
    assert_int_equal(mdb_txn_begin(a->ix_env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, a->ix_meta, &k, &v), 0);
    s.runs = v.mv_size / 24;
    for (size_t i = 0; i < s.runs; i++) {
        const unsigned char *p = (const unsigned char *)v.mv_data + i * 24;
        s.entries += from_be64(p + 16);
        if (from_be64(p + 8) > s.top_level)
            s.top_level = from_be64(p + 8);
    }
    mdb_txn_abort(txn);
    return s;
}

/* Runs in the table itself: named or not by the directory. */
static size_t runs_in_table(tc_audit *a)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    size_t n = 0;
    assert_int_equal(mdb_txn_begin(a->ix_env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, a->runs.dbi, &cur), 0);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP))
        n++;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

/* The former table: entries of sequence numbers 1..BASE, as an index before runs wrote them. */
static void fill_former_table(tc_audit *a, uint64_t *seq)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(a->ix_env, NULL, 0, &txn), 0);
    for (; *seq <= BASE; (*seq)++) {
        unsigned char e[INDEX_ENTRY_LEN];
        int c = (int)(next_rand() % CITIZENS);
        owner[*seq] = (signed char)c;
        entry(e, c, *seq);
        MDB_val k = {INDEX_ENTRY_LEN, e}, empty = {0, NULL};
        assert_int_equal(mdb_put(txn, a->ix_citizen, &k, &empty, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void merged_through_levels(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    memset(owner, -1, sizeof owner);
    tc_audit *a = open_index(dir);
    uint64_t seq = 1;
    fill_former_table(a, &seq);
    int mid_merge_checks = 0;
    for (int r = 0; r < RUNS; r++) {
        add_runs(a, &seq, 1);
        int rc;
        while ((rc = runs_maintain(a)) == 1) {
            for (int l = 1; l < RUN_LEVELS; l++)
                if (a->runs.merge[l].active && a->runs.merge[l].count > 0) {
                    check_all(a, seq, UINT64_MAX); /* a merge of a high level under way */
                    mid_merge_checks++;
                }
        }
        assert_int_equal(rc, 0);
        if (r % 97 == 0)
            check_all(a, seq, UINT64_MAX);
    }
    check_all(a, seq, UINT64_MAX);
    check_all(a, seq, seq / 2); /* a page further back */
    check_all(a, seq, BASE / 2);
    shape s = directory(a);
    assert_int_equal(s.entries, seq - 1 - BASE); /* each entry in one run */
    assert_true(s.top_level >= 3);               /* 600 runs: merged through three levels */
    assert_true(s.runs <= (size_t)RUN_FANOUT * (s.top_level + 1));
    assert_int_equal(runs_in_table(a), s.runs); /* the runs merged away are dropped */
    assert_true(mid_merge_checks > 0);          /* some merge took more than one transaction */
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

static void merge_cut_short(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    memset(owner, -1, sizeof owner);
    tc_audit *a = open_index(dir);
    uint64_t seq = 1;
    fill_former_table(a, &seq);
    /* 512 runs of level 0, never merged, then merges until one of level 2 is half done */
    add_runs(a, &seq, 512);
    int level2 = 0;
    while (!level2) {
        assert_int_equal(runs_maintain(a), 1);
        level2 = a->runs.merge[2].active && a->runs.merge[2].count > 0;
    }
    shape before = directory(a);
    assert_int_equal(runs_in_table(a), before.runs + 1); /* + the partial target */
    tc_audit_close(a);                                   /* stopped mid-merge */
    /* opened read-write and not started, as for a governance record: another process may be
     * the writer, mid-merge, so its partial run stays */
    tc_audit_options ao = {.dir = dir, .map_size = (size_t)256 << 20, .relaxed = 1};
    assert_int_equal(tc_audit_open(&ao, &a, NULL), TC_OK);
    assert_int_equal(runs_in_table(a), before.runs + 1);
    tc_audit_close(a);
    a = open_index(dir);
    assert_int_equal(runs_in_table(a), before.runs); /* started: the partial run dropped */
    shape after = directory(a);
    assert_int_equal(after.runs, before.runs);
    assert_int_equal(after.entries, seq - 1 - BASE);
    check_all(a, seq, UINT64_MAX);
    while (runs_maintain(a) == 1) { /* the merge begun again, and completed */
    }
    after = directory(a);
    assert_int_equal(after.entries, seq - 1 - BASE);
    assert_int_equal(after.top_level, 3);
    assert_int_equal(after.runs, 1);
    check_all(a, seq, UINT64_MAX);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merged_through_levels),
        cmocka_unit_test(merge_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
