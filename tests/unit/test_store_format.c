/* Store format 2: a citizen's record and consents in one tree, read in one walk
 * (tc_reader_view), the counts kept in meta, and a format-1 database (consents in their own
 * table) read as it is and upgraded in place. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "tc_store.h"

#define N_CITIZENS 3000 /* enough for the tree to have several levels and page boundaries */

static const char *const institutions[] = {"bank-a", "bank-b", "bank-c"};
static const char *const purposes[] = {"loan-origination", "review"};

typedef tu_store fixture;

static void open_store(fixture *f, int read_only)
{
    tc_error err = {0};
    tc_store_close(f->s);
    f->s = NULL;
    tc_store_options o = {.path = f->dir,
                          .catalog = f->cat,
                          .key = f->key,
                          .read_only = read_only,
                          .create = !read_only};
    assert_int_equal(tc_store_open(&o, &f->s, &err), TC_OK);
}

static void key_of(unsigned n, unsigned char key[TC_CITIZEN_KEY_LEN])
{
    memset(key, 0xA5, TC_CITIZEN_KEY_LEN);
    for (int i = 0; i < 4; i++)
        key[i] = (unsigned char)(n >> (24 - 8 * i));
}

/* Who has what: every citizen but each 7th has a record; consents by institution and purpose
 * follow a pattern with gaps before, between and after the ones present. */
static int has_record(unsigned n)
{
    return n % 7 != 3;
}

static int has_consent(unsigned n, size_t inst, size_t purpose)
{
    return (n + inst * 3 + purpose * 5) % (2 + n % 4) == 0;
}

static size_t record_of(const tc_catalog *cat, unsigned n, unsigned char *buf)
{
    tc_value v[TC_CATALOG_ATTRS_MAX];
    for (size_t i = 0; i < cat->n_attrs; i++) {
        v[i].v = cat->attrs[i].min;
        v[i].present = !cat->attrs[i].missing_allowed;
    }
    return tc_record_encode(cat, v, 5000 + n, buf);
}

static tc_consent consent_of(unsigned n, size_t inst, size_t purpose)
{
    tc_consent c = {.granted_at = 100 + n, .expires_at = 1000000 + n};
    snprintf(c.institution, sizeof c.institution, "%s", institutions[inst]);
    snprintf(c.purpose, sizeof c.purpose, "%s", purposes[purpose]);
    snprintf(c.ref, sizeof c.ref, "REF-%u-%zu-%zu", n, inst, purpose);
    return c;
}

/* The population above, written one row at a time (put, not append), in shuffled order. */
static size_t fill(fixture *f)
{
    tc_error err = {0};
    tc_writer *w = NULL;
    size_t consents = 0;
    unsigned char key[TC_CITIZEN_KEY_LEN], rec[TC_RECORD_MAX];
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    for (unsigned i = 0; i < N_CITIZENS; i++) {
        unsigned n = (i * 2477u) % N_CITIZENS; /* 2477 is prime to 3000: each n once */
        key_of(n, key);
        for (size_t a = 0; a < 3; a++)
            for (size_t p = 0; p < 2; p++)
                if (has_consent(n, a, p)) {
                    tc_consent c = consent_of(n, a, p);
                    assert_int_equal(tc_writer_put_consent(w, key, &c, 0, NULL, NULL, &err), TC_OK);
                    consents++;
                }
        if (has_record(n)) {
            size_t len = record_of(f->cat, n, rec);
            assert_int_equal(tc_writer_put_citizen(w, key, rec, len, NULL, &err), TC_OK);
        }
    }
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    return consents;
}

/* Every citizen, institution and purpose read through tc_reader_view, and checked against the
 * pattern, including institutions no one consented to. */
static void check_views(fixture *f)
{
    tc_error err = {0};
    tc_reader *r = NULL;
    unsigned char key[TC_CITIZEN_KEY_LEN];
    static const char *const asked[] = {"bank-0", "bank-a", "bank-b", "bank-bb", "bank-c", "z"};
    assert_int_equal(tc_reader_new(f->s, &r, &err), TC_OK);
    for (int round = 0; round < 2; round++) { /* the second on a renewed transaction */
        assert_int_equal(tc_reader_begin(r, &err), TC_OK);
        for (unsigned n = 0; n < N_CITIZENS + 2; n++) {
            key_of(n, key);
            for (size_t a = 0; a < 6; a++)
                for (size_t p = 0; p < 3; p++) {
                    const char *purpose = p < 2 ? purposes[p] : "loan";
                    tc_citizen_view v;
                    assert_int_equal(tc_reader_view(r, key, asked[a], purpose, &v, &err), TC_OK);
                    int inst = a == 1 ? 0 : a == 2 ? 1 : a == 4 ? 2 : -1;
                    int want =
                        n < N_CITIZENS && inst >= 0 && p < 2 && has_consent(n, (size_t)inst, p);
                    assert_int_equal(v.has_consent, want);
                    if (want) {
                        char ref[64];
                        snprintf(ref, sizeof ref, "REF-%u-%d-%zu", n, inst, p);
                        assert_string_equal(v.consent.ref, ref);
                        assert_string_equal(v.consent.institution, asked[a]);
                        assert_string_equal(v.consent.purpose, purpose);
                        assert_int_equal(v.consent.granted_at, 100 + n);
                    }
                    int rec = n < N_CITIZENS && has_record(n);
                    assert_int_equal(v.record_rc, rec ? TC_OK : TC_ENOTFOUND);
                    if (rec)
                        assert_int_equal(tc_record_updated_at(&v.record), 5000 + n);
                }
        }
        tc_reader_end(r);
    }
    tc_reader_free(r);
}

static void assert_counts(fixture *f, size_t citizens, size_t consents)
{
    tc_error err = {0};
    tc_store_stats st;
    assert_int_equal(tc_store_stats_get(f->s, &st, &err), TC_OK);
    assert_int_equal(st.citizens, citizens);
    assert_int_equal(st.consents, consents);
}

static size_t expected_records(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < N_CITIZENS; i++)
        n += (size_t)has_record(i);
    return n;
}

static void one_walk_finds_record_and_consent(void **state)
{
    fixture *f = *state;
    open_store(f, 0);
    assert_int_equal(tc_store_format(f->s), TC_STORE_FORMAT);
    size_t consents = fill(f);
    assert_counts(f, expected_records(), consents);
    check_views(f);
}

/* The counts in meta follow every kind of write, and a transaction abandoned changes none. */
static void counts_follow_writes(void **state)
{
    fixture *f = *state;
    tc_error err = {0};
    open_store(f, 0);
    unsigned char key[TC_CITIZEN_KEY_LEN], rec[TC_RECORD_MAX];
    size_t len = record_of(f->cat, 1, rec);
    tc_consent c = consent_of(1, 0, 0);
    tc_writer *w = NULL;
    key_of(1, key);
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_put_citizen(w, key, rec, len, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_put_consent(w, key, &c, 0, NULL, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_citizen_count(w), 1);
    assert_int_equal(tc_writer_consent_count(w), 1);
    tc_writer_abort(w);
    assert_counts(f, 0, 0);

    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_put_citizen(w, key, rec, len, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_put_consent(w, key, &c, 0, NULL, NULL, &err), TC_OK);
    key_of(2, key);
    assert_int_equal(tc_writer_append_citizen(w, key, rec, len, &err), TC_OK);
    assert_int_equal(tc_writer_append_consent(w, key, &c, &err), TC_OK);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    assert_counts(f, 2, 2);

    /* a replaced record, a replaced consent (into the history) and a revocation add nothing */
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    len = record_of(f->cat, 2, rec);
    assert_int_equal(tc_writer_put_citizen(w, key, rec, len, NULL, &err), TC_OK);
    c.expires_at += 10;
    assert_int_equal(tc_writer_put_consent(w, key, &c, 50, NULL, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_revoke_consent(w, key, c.institution, c.purpose, 60, NULL, &err),
                     TC_OK);
    tc_consent other = consent_of(2, 1, 1);
    assert_int_equal(tc_writer_put_consent(w, key, &other, 0, NULL, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    assert_counts(f, 2, 3);

    /* erasure takes the record and both current consents off */
    size_t erased = 0;
    int found = 0;
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_erase_citizen(w, key, &found, &erased, &err), TC_OK);
    assert_true(found);
    assert_int_equal(erased, 3); /* two current, one replaced */
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    assert_counts(f, 1, 1);
    open_store(f, 1); /* as another process reads them */
    assert_counts(f, 1, 1);
}

/* Turn the format-2 database in dir into what format 1 wrote: consents in a table of their
 * own, no counts in meta. */
static void make_format_1(const char *dir)
{
    MDB_txn *txn = tu_lmdb_begin(dir, 0);
    MDB_dbi citizens, consents, meta;
    assert_int_equal(mdb_dbi_open(txn, "citizens", 0, &citizens), 0);
    assert_int_equal(mdb_dbi_open(txn, "consents", MDB_CREATE, &consents), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(txn, citizens, &cur), 0);
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        if (k.mv_size == TC_CITIZEN_KEY_LEN) {
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        unsigned char kb[256], vb[256];
        assert_true(k.mv_size <= sizeof kb && v.mv_size <= sizeof vb);
        memcpy(kb, k.mv_data, k.mv_size);
        memcpy(vb, v.mv_data, v.mv_size);
        MDB_val k2 = {k.mv_size, kb}, v2 = {v.mv_size, vb};
        assert_int_equal(mdb_put(txn, consents, &k2, &v2, 0), 0);
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
        k = k2; /* the next entry is the first after the one deleted */
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    unsigned char fmt[4] = {1, 0, 0, 0};
    MDB_val fk = {6, (void *)"format"}, fv = {4, fmt}, ck = {6, (void *)"counts"};
    assert_int_equal(mdb_put(txn, meta, &fk, &fv, 0), 0);
    assert_int_equal(mdb_del(txn, meta, &ck, NULL), 0);
    tu_lmdb_end(txn);
}

/* A process with the database open, as tinchapd would have it: a reader slot, held until
 * killed. Returns its pid once the slot is taken. */
static pid_t hold_open(fixture *f)
{
    int p[2];
    char c = 0;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tc_store *s = NULL;
        tc_reader *r = NULL;
        tc_store_options o = {.path = f->dir, .catalog = f->cat, .read_only = 1};
        if (tc_store_open(&o, &s, NULL) != TC_OK || tc_reader_new(s, &r, NULL) != TC_OK)
            _exit(1);
        if (write(p[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

static void format_1_read_then_upgraded(void **state)
{
    fixture *f = *state;
    tc_error err = {0};
    open_store(f, 0);
    size_t consents = fill(f);
    tc_store_close(f->s);
    f->s = NULL;
    make_format_1(f->dir);
    assert_true(tu_lmdb_has_table(f->dir, "consents"));

    /* read as it is, read-only and read-write */
    open_store(f, 1);
    assert_int_equal(tc_store_format(f->s), 1);
    assert_counts(f, expected_records(), consents);
    check_views(f);
    size_t moved = 99;
    assert_int_equal(tc_store_upgrade(f->s, &moved, &err), TC_EINVAL);
    open_store(f, 0);
    assert_int_equal(tc_store_format(f->s), 1);

    /* refused while another process has it open, done once that process is gone */
    pid_t holder = hold_open(f);
    assert_int_equal(tc_store_upgrade(f->s, &moved, &err), TC_EBUSY);
    char want[700];
    snprintf(want, sizeof want,
             "%s: process %ld has the database open: stop it (and tinchapd) before upgrading",
             f->dir, (long)holder);
    assert_msg(&err, want);
    assert_int_equal(tc_store_format(f->s), 1);
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    assert_int_equal(tc_store_upgrade(f->s, &moved, &err), TC_OK);
    assert_int_equal(moved, consents);
    assert_int_equal(tc_store_format(f->s), TC_STORE_FORMAT);
    assert_counts(f, expected_records(), consents);
    check_views(f);

    /* the old table is gone, and the next opening finds format 2 with nothing to do */
    open_store(f, 0);
    assert_false(tu_lmdb_has_table(f->dir, "consents"));
    assert_int_equal(tc_store_format(f->s), TC_STORE_FORMAT);
    assert_int_equal(tc_store_upgrade(f->s, &moved, &err), TC_OK);
    assert_int_equal(moved, 0);
    assert_counts(f, expected_records(), consents);
    check_views(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_walk_finds_record_and_consent, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(counts_follow_writes, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(format_1_read_then_upgraded, tu_store_setup,
                                        tu_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
