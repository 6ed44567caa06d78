/* UTC timestamps: parsing the two accepted forms, refusing everything else, formatting, and the
 * year by arithmetic agreeing with gmtime. */
#include <string.h>
#include <time.h>

#include "test_util.h"
#include "tc_time.h"

static void parses_and_formats(void **state)
{
    (void)state;
    int64_t t = 0;
    char buf[TC_TIME_TEXT_LEN];
    assert_int_equal(tc_time_parse("1970-01-01", 10, &t), TC_OK);
    assert_true(t == 0);
    assert_int_equal(tc_time_parse("2026-11-24T09:30:15Z", 20, &t), TC_OK);
    assert_true(t == 1795512615);
    tc_time_format(t, buf);
    assert_string_equal(buf, "2026-11-24T09:30:15Z");
    assert_int_equal(tc_time_parse("2024-02-29", 10, &t), TC_OK);
    tc_time_format(t, buf);
    assert_string_equal(buf, "2024-02-29T00:00:00Z");
    static const char *const bad[] = {
        "2023-02-29", "2026-13-01", "2026-00-10", "2026-01-32", "1969-12-31",
        "2026-1-01",  "2026-01-01T24:00:00Z", "2026-01-01T10:00:00", "2026-01-01 10:00:00Z",
        "2026-01-01T10:00:60Z", "", "26-01-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tc_time_parse(bad[i], strlen(bad[i]), &t) != TC_EPARSE)
            fail_msg("accepted '%s'", bad[i]);
}

static void year_matches_gmtime(void **state)
{
    (void)state;
    for (int64_t t = 0; t < (int64_t)4102444800; t += 86400 * 7 + 3601) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (tc_time_year(t) != tm.tm_year + 1900)
            fail_msg("t=%lld: %d vs %d", (long long)t, tc_time_year(t), tm.tm_year + 1900);
    }
    /* formatting agrees with gmtime too, microseconds included */
    char buf[TC_TIME_US_TEXT_LEN];
    tc_time_format_us(1795512615123456LL, buf);
    assert_string_equal(buf, "2026-11-24T09:30:15.123456Z");
    tc_time_format_us(951782400000001LL, buf); /* 2000-02-29 */
    assert_string_equal(buf, "2000-02-29T00:00:00.000001Z");
    /* the last second of a year and the first of the next */
    assert_int_equal(tc_time_year(1798761599), 2026);
    assert_int_equal(tc_time_year(1798761600), 2027);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_formats),
        cmocka_unit_test(year_matches_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
