/* Citizen ID validation: the table of accepted and refused IDs, and that no message repeats the
 * digits it was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tc_id.h"

static void accepts_valid_ids(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        int province, female, year;
    } ok[] = {
        {"001085000001", 1, 0, 1985},  {"079190000002", 79, 1, 1990},
        {"096203123456", 96, 0, 2003}, {"048199999999", 48, 1, 1999},
        {"001000000000", 1, 0, 1900},  {"031326000000", 31, 1, 2026},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tc_id_info info;
        tc_error err = {0};
        assert_int_equal(tc_id_parse(ok[i].id, 12, 2026, &info, &err), TC_OK);
        assert_int_equal(info.province, ok[i].province);
        assert_int_equal(info.female, ok[i].female);
        assert_int_equal(info.birth_year, ok[i].year);
    }
}

static void refuses_invalid_ids(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        const char *msg;
    } bad[] = {
        {"", "citizen ID is empty"},
        {"00108500001", "citizen ID must be 12 digits, got 11 characters"},
        {"0010850000011", "citizen ID must be 12 digits, got 13 characters"},
        {"00108500000a", "citizen ID has a non-digit at position 12"},
        {" 01085000001", "citizen ID has a non-digit at position 1"},
        {"00108500000 ", "citizen ID has a non-digit at position 12"},
        {"001-85000001", "citizen ID has a non-digit at position 4"},
        {"003085000001", "citizen ID digits 1-3 are not a province code"},
        {"000085000001", "citizen ID digits 1-3 are not a province code"},
        {"097085000001", "citizen ID digits 1-3 are not a province code"},
        {"001230000001", "citizen ID digits 4-6 give a birth year in the future"},
        {"001485000001", "citizen ID digits 4-6 give a birth year in the future"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_error err = {0};
        assert_int_equal(tc_id_parse(bad[i].id, strlen(bad[i].id), 2026, NULL, &err), TC_EID);
        assert_msg(&err, bad[i].msg);
        /* the message never carries the ID's digits */
        if (strlen(bad[i].id) >= 6)
            assert_null(strstr(err.msg, bad[i].id));
    }
}

static void province_table_is_the_63_codes(void **state)
{
    (void)state;
    size_t n;
    const short *p = tc_id_provinces(&n);
    assert_int_equal(n, 63);
    for (size_t i = 1; i < n; i++)
        assert_true(p[i - 1] < p[i]);
    assert_true(tc_id_province_valid(1));
    assert_true(tc_id_province_valid(79));
    assert_true(tc_id_province_valid(96));
    assert_false(tc_id_province_valid(3));
    assert_false(tc_id_province_valid(0));
    assert_false(tc_id_province_valid(97));
}

/* The catalog's province_code levels are the same 63 codes as the ID table. */
static void catalog_provinces_match_id_table(void **state)
{
    (void)state;
    tc_catalog *cat = tu_catalog();
    int i = tc_catalog_find(cat, "province_code");
    assert_true(i >= 0);
    size_t n;
    const short *p = tc_id_provinces(&n);
    assert_int_equal(cat->attrs[i].n_levels, n);
    for (size_t k = 0; k < n; k++) {
        char code[8];
        snprintf(code, sizeof code, "%03d", p[k]);
        assert_string_equal(cat->attrs[i].levels[k], code);
    }
    tc_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_valid_ids),
        cmocka_unit_test(refuses_invalid_ids),
        cmocka_unit_test(province_table_is_the_63_codes),
        cmocka_unit_test(catalog_provinces_match_id_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
