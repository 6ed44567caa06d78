/* The LMDB store: creation and the checks on reopening, upsert and append, erasure, snapshots,
 * and a full map failing cleanly with committed data intact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tc_store.h"

typedef tu_store fixture;

static int open_store(fixture *f, size_t map_size, int read_only, tc_error *err)
{
    tc_store_close(f->s);
    f->s = NULL;
    tc_store_options o = {.path = f->dir, .catalog = f->cat, .key = f->key,
                          .map_size = map_size, .read_only = read_only, .create = !read_only};
    return tc_store_open(&o, &f->s, err);
}

/* A record whose values depend on seed, all within the catalog's ranges. */
static size_t make_record(const tc_catalog *cat, unsigned seed, unsigned char *buf)
{
    tc_value v[TC_CATALOG_ATTRS_MAX];
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        double span = a->max - a->min;
        double x = a->min + (double)((seed * 2654435761u + i * 40503u) % 1000) / 999.0 * span;
        if (a->type != TC_ATTR_REAL)
            x = (double)(long)x;
        v[i].v = x;
        v[i].present = !(a->missing_allowed && (seed + i) % 3 == 0);
    }
    return tc_record_encode(cat, v, 1000 + seed, buf);
}

static void key_of(unsigned n, unsigned char key[TC_CITIZEN_KEY_LEN])
{
    memset(key, 0, TC_CITIZEN_KEY_LEN);
    for (int i = 0; i < 4; i++)
        key[i] = (unsigned char)(n >> (24 - 8 * i));
}

static void create_reopen_and_refuse_other_catalog(void **state)
{
    fixture *f = *state;
    tc_error err = {0};
    /* read-only open of nothing */
    assert_int_equal(open_store(f, 0, 1, &err), TC_ENOTFOUND);
    char expected[700];
    snprintf(expected, sizeof expected,
             "%s: no database here (load one with 'tinchap load')", f->dir);
    assert_msg(&err, expected);
    assert_int_equal(open_store(f, 0, 0, &err), TC_OK);
    assert_int_equal(open_store(f, 0, 1, &err), TC_OK);
    /* another catalog: refused, naming both */
    static const char other[] =
        "{\"catalog\":\"other\",\"version\":1,\"attributes\":[{\"name\":\"a\",\"type\":\"bool\","
        "\"missing\":false,\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\","
        "\"en\":\"e\"}}]}";
    tc_catalog *cat2 = NULL;
    assert_int_equal(tc_catalog_parse(other, strlen(other), "o.json", &cat2, &err), TC_OK);
    tc_store_close(f->s);
    f->s = NULL;
    tc_store_options o = {.path = f->dir, .catalog = cat2, .key = f->key};
    assert_int_equal(tc_store_open(&o, &f->s, &err), TC_ECATALOG_MISMATCH);
    snprintf(expected, sizeof expected,
             "%s: built for catalog 'vn-population' %.12s, but the catalog given is 'other' "
             "%.12s; open it with the catalog it was built for",
             f->dir, f->cat->hash_hex, cat2->hash_hex);
    assert_msg(&err, expected);
    tc_catalog_free(cat2);
}

static void upsert_detects_unchanged_rows(void **state)
{
    fixture *f = *state;
    tc_error err = {0};
    assert_int_equal(open_store(f, 0, 0, &err), TC_OK);
    unsigned char key[32], rec[TC_RECORD_MAX], rec2[TC_RECORD_MAX];
    key_of(7, key);
    size_t n = make_record(f->cat, 7, rec);
    tc_writer *w = NULL;
    int changed = -1;
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_put_citizen(w, key, rec, n, &changed, &err), TC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    /* same values, later time: nothing written, first update time kept */
    tc_value v[TC_CATALOG_ATTRS_MAX];
    tc_record view;
    assert_int_equal(tc_record_view(f->cat, rec, n, &view, &err), TC_OK);
    for (size_t i = 0; i < f->cat->n_attrs; i++)
        v[i] = tc_record_get(&view, i);
    tc_record_encode(f->cat, v, 99999, rec2);
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    assert_int_equal(tc_writer_put_citizen(w, key, rec2, n, &changed, &err), TC_OK);
    assert_int_equal(changed, 0);
    /* a changed value is written */
    v[0].v += 1;
    tc_record_encode(f->cat, v, 99999, rec2);
    assert_int_equal(tc_writer_put_citizen(w, key, rec2, n, &changed, &err), TC_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    tc_reader *r = NULL;
    assert_int_equal(tc_reader_new(f->s, &r, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    tc_record got;
    assert_int_equal(tc_reader_citizen(r, key, &got, &err), TC_OK);
    assert_int_equal(tc_record_updated_at(&got), 99999);
    assert_true(tc_record_get(&got, 0).v == v[0].v);
    key_of(8, key);
    assert_int_equal(tc_reader_citizen(r, key, &got, &err), TC_ENOTFOUND);
    tc_reader_end(r);
    tc_reader_free(r);
}

static void append_erase_and_snapshots(void **state)
{
    fixture *f = *state;
    tc_error err = {0};
    assert_int_equal(open_store(f, 0, 0, &err), TC_OK);
    unsigned char key[32], rec[TC_RECORD_MAX];
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    for (unsigned i = 0; i < 1000; i++) {
        key_of(i, key);
        size_t n = make_record(f->cat, i, rec);
        assert_int_equal(tc_writer_append_citizen(w, key, rec, n, &err), TC_OK);
    }
    /* out of order: MDB_APPEND refuses */
    key_of(5, key);
    size_t n = make_record(f->cat, 5, rec);
    assert_int_equal(tc_writer_append_citizen(w, key, rec, n, &err), TC_EEXIST);
    tc_writer_abort(w);
    /* the aborted transaction left nothing */
    tc_store_stats st;
    assert_int_equal(tc_store_stats_get(f->s, &st, &err), TC_OK);
    assert_int_equal(st.citizens, 0);

    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    for (unsigned i = 0; i < 1000; i++) {
        key_of(i, key);
        n = make_record(f->cat, i, rec);
        assert_int_equal(tc_writer_append_citizen(w, key, rec, n, &err), TC_OK);
    }
    tc_consent c = {.institution = "bank-a", .purpose = "p", .ref = "r",
                    .granted_at = 1, .expires_at = 2};
    key_of(10, key);
    assert_int_equal(tc_writer_put_consent(w, key, &c, 0, NULL, NULL, &err), TC_OK);
    snprintf(c.institution, sizeof c.institution, "bank-b");
    assert_int_equal(tc_writer_put_consent(w, key, &c, 0, NULL, NULL, &err), TC_OK);
    key_of(11, key);
    assert_int_equal(tc_writer_put_consent(w, key, &c, 0, NULL, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);

    /* a reader's snapshot does not see a later erase */
    tc_reader *r = NULL;
    assert_int_equal(tc_reader_new(f->s, &r, &err), TC_OK);
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    key_of(10, key);
    int found = 0;
    assert_int_equal(tc_writer_erase_citizen(w, key, &found, NULL, &err), TC_OK);
    assert_true(found);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
    tc_record got;
    assert_int_equal(tc_reader_citizen(r, key, &got, &err), TC_OK);
    assert_true(tc_reader_has_consent(r, key, 1));
    tc_reader_end(r);
    /* a new snapshot does: record and both consents gone, the neighbour's consent kept */
    assert_int_equal(tc_reader_begin(r, &err), TC_OK);
    assert_int_equal(tc_reader_citizen(r, key, &got, &err), TC_ENOTFOUND);
    assert_false(tc_reader_has_consent(r, key, 1));
    key_of(11, key);
    assert_true(tc_reader_has_consent(r, key, 1));
    key_of(9, key);
    assert_int_equal(tc_reader_citizen(r, key, &got, &err), TC_OK);
    tc_reader_end(r);
    tc_reader_free(r);
    assert_int_equal(tc_store_stats_get(f->s, &st, &err), TC_OK);
    assert_int_equal(st.citizens, 999);
    assert_int_equal(st.consents, 1);
    /* erasing nobody is not an error */
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    key_of(123456, key);
    assert_int_equal(tc_writer_erase_citizen(w, key, &found, NULL, &err), TC_OK);
    assert_false(found);
    tc_writer_abort(w);
}

static void full_map_fails_cleanly(void **state)
{
    fixture *f = *state;
    tc_error err = {0};
    assert_int_equal(open_store(f, 256 * 1024, 0, &err), TC_OK);
    unsigned char key[32], rec[TC_RECORD_MAX];
    unsigned committed = 0, i = 0;
    int rc = TC_OK;
    /* batches of 100 until the map is full */
    while (rc == TC_OK && i < 100000) {
        tc_writer *w = NULL;
        assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
        for (unsigned k = 0; k < 100 && rc == TC_OK; k++, i++) {
            key_of(i * 2654435761u, key);
            size_t n = make_record(f->cat, i, rec);
            rc = tc_writer_put_citizen(w, key, rec, n, NULL, &err);
        }
        if (rc == TC_OK) {
            rc = tc_writer_commit(w, &err);
            if (rc == TC_OK)
                committed = i;
        } else {
            tc_writer_abort(w);
        }
    }
    assert_int_equal(rc, TC_EFULL);
    assert_non_null(strstr(err.msg, "database full: raise --map-size (now 0 MiB)"));
    assert_true(committed > 0);
    /* reopen: everything committed is there, nothing of the failed batch */
    assert_int_equal(open_store(f, 0, 0, &err), TC_OK);
    tc_store_stats st;
    assert_int_equal(tc_store_stats_get(f->s, &st, &err), TC_OK);
    assert_int_equal(st.citizens, committed);
    /* with a larger map, writing continues */
    tc_writer *w = NULL;
    assert_int_equal(tc_writer_begin(f->s, &w, &err), TC_OK);
    key_of(0xfffffff0u, key);
    size_t n = make_record(f->cat, 1, rec);
    assert_int_equal(tc_writer_put_citizen(w, key, rec, n, NULL, &err), TC_OK);
    assert_int_equal(tc_writer_commit(w, &err), TC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_reopen_and_refuse_other_catalog, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(upsert_detects_unchanged_rows, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(append_erase_and_snapshots, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(full_map_fails_cleanly, tu_store_setup, tu_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
