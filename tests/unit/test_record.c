/* The binary citizen record: round trip of every type including missing, missing never read as
 * zero, widths chosen from ranges, and refusal of truncated, overlong and foreign records. */
#include <string.h>

#include "test_util.h"
#include "tc_record.h"

/* One attribute of every slot kind: unsigned 1/2/4 bytes, signed 1/2/4, real, bool, category. */
static const char catalog_json[] =
    "{\"catalog\":\"r\",\"version\":1,\"attributes\":["
    "{\"name\":\"u8\",\"type\":\"int\",\"min\":0,\"max\":255,\"missing\":true,\"protected\":false,"
    "\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"u16\",\"type\":\"int\",\"min\":0,\"max\":65535,\"missing\":true,\"protected\":"
    "false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"u32\",\"type\":\"int\",\"min\":0,\"max\":2147483647,\"missing\":true,"
    "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"s8\",\"type\":\"int\",\"min\":-128,\"max\":127,\"missing\":true,\"protected\":"
    "false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"s16\",\"type\":\"int\",\"min\":-32768,\"max\":32767,\"missing\":true,"
    "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"s32\",\"type\":\"int\",\"min\":-2147483648,\"max\":2147483647,\"missing\":true,"
    "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"r\",\"type\":\"real\",\"min\":-1e9,\"max\":1e9,\"missing\":true,\"protected\":"
    "false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"b\",\"type\":\"bool\",\"missing\":true,\"protected\":false,\"source\":\"s\","
    "\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
    "{\"name\":\"c\",\"type\":\"category\",\"levels\":[\"x\",\"y\",\"z\"],\"missing\":true,"
    "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}]}";

static tc_catalog *all_types(void)
{
    tc_catalog *cat = NULL;
    tc_error err = {0};
    if (tc_catalog_parse(catalog_json, strlen(catalog_json), "r.json", &cat, &err) != TC_OK)
        fail_msg("%s", err.msg);
    return cat;
}

static void widths_follow_ranges(void **state)
{
    (void)state;
    tc_catalog *cat = all_types();
    static const unsigned widths[] = {1, 2, 4, 1, 2, 4, 8, 1, 1};
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(cat->attrs[i].width, widths[i]);
    assert_int_equal(tc_record_size(cat), TC_RECORD_HEADER_LEN + 2 + 24);
    tc_catalog_free(cat);
}

static void round_trip_extremes_and_missing(void **state)
{
    (void)state;
    tc_catalog *cat = all_types();
    const tc_value sets[][9] = {
        {{255, 1}, {65535, 1}, {2147483647, 1}, {-128, 1}, {-32768, 1}, {-2147483648.0, 1},
         {-123456.789, 1}, {1, 1}, {2, 1}},
        {{0, 1}, {0, 1}, {0, 1}, {127, 1}, {32767, 1}, {2147483647, 1}, {0.1, 1}, {0, 1},
         {0, 1}},
        /* every value missing: all read back as missing, not as zero */
        {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},
        /* zeros present next to missing neighbours */
        {{0, 1}, {0, 0}, {0, 1}, {0, 0}, {0, 1}, {0, 0}, {0, 1}, {0, 0}, {0, 1}},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        unsigned char buf[TC_RECORD_MAX];
        size_t len = tc_record_encode(cat, sets[s], 1700000000u, buf);
        assert_int_equal(len, tc_record_size(cat));
        tc_record rec;
        tc_error err = {0};
        assert_int_equal(tc_record_view(cat, buf, len, &rec, &err), TC_OK);
        assert_int_equal(tc_record_updated_at(&rec), 1700000000u);
        for (size_t i = 0; i < 9; i++) {
            tc_value v = tc_record_get(&rec, i);
            assert_int_equal(v.present, sets[s][i].present);
            if (v.present)
                assert_true(v.v == sets[s][i].v);
        }
    }
    tc_catalog_free(cat);
}

static void same_values_ignores_update_time(void **state)
{
    (void)state;
    tc_catalog *cat = all_types();
    tc_value v[9] = {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7.5, 1}, {1, 1}, {1, 1}};
    unsigned char a[64], b[64];
    size_t n = tc_record_encode(cat, v, 1, a);
    tc_record_encode(cat, v, 2, b);
    assert_true(tc_record_same_values(a, n, b, n));
    v[6].present = 0;
    tc_record_encode(cat, v, 1, b);
    assert_false(tc_record_same_values(a, n, b, n));
    tc_catalog_free(cat);
}

static void refuses_bad_records(void **state)
{
    (void)state;
    tc_catalog *cat = all_types();
    tc_catalog *other = tu_catalog();
    tc_value v[9] = {{0}};
    unsigned char buf[TC_RECORD_MAX];
    size_t n = tc_record_encode(cat, v, 1, buf);
    tc_record rec;
    tc_error err = {0};
    assert_int_equal(tc_record_view(cat, buf, 3, &rec, &err), TC_ERECORD);
    assert_msg(&err, "record truncated: 3 bytes, header needs 7");
    assert_int_equal(tc_record_view(cat, buf, n - 1, &rec, &err), TC_ERECORD);
    assert_msg(&err, "record truncated: 32 bytes, the catalog needs 33");
    assert_int_equal(tc_record_view(cat, buf, n + 1, &rec, &err), TC_ERECORD);
    assert_msg(&err, "record too long: 34 bytes, the catalog needs 33");
    /* written under another catalog */
    assert_int_equal(tc_record_view(other, buf, n, &rec, &err), TC_ERECORD);
    assert_msg(&err, "record was written under another catalog");
    buf[0] = 9;
    assert_int_equal(tc_record_view(cat, buf, n, &rec, &err), TC_ERECORD);
    assert_msg(&err, "record format version 9, expected 1");
    tc_catalog_free(other);
    tc_catalog_free(cat);
}

/* The shipped catalog keeps a record small: it is most of what each lookup reads. */
static void shipped_record_is_compact(void **state)
{
    (void)state;
    tc_catalog *cat = tu_catalog();
    assert_true(tc_record_size(cat) <= 80);
    tc_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(widths_follow_ranges),
        cmocka_unit_test(round_trip_extremes_and_missing),
        cmocka_unit_test(same_values_ignores_update_time),
        cmocka_unit_test(refuses_bad_records),
        cmocka_unit_test(shipped_record_is_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
