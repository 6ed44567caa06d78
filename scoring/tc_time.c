#include "tc_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

/* Calendar date of a day count since 1970-01-01 (H. Hinnant's civil_from_days). Pure
 * arithmetic: gmtime_r takes glibc's time-zone lock, which hot paths must not. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Division rounding down and its non-negative remainder, for b > 0. Written with C's truncating
 * / and % so that no intermediate overflows, whatever a is (times come from stored records). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

int tc_time_year(int64_t t)
{
    int y, m, d;
    civil_from_days(floor_div(t, 86400), &y, &m, &d);
    return y;
}

void tc_time_format_us(int64_t us, char buf[TC_TIME_US_TEXT_LEN])
{
    int64_t s = floor_div(us, 1000000), frac = floor_mod(us, 1000000);
    int64_t days = floor_div(s, 86400), sod = floor_mod(s, 86400);
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(buf, TC_TIME_US_TEXT_LEN, "%s", "invalid-time");
        return;
    }
    int n = snprintf(buf, TC_TIME_US_TEXT_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)frac);
    if (n != TC_TIME_US_TEXT_LEN - 1)
        snprintf(buf, TC_TIME_US_TEXT_LEN, "%s", "invalid-time");
}

int tc_time_parse(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (len != 10 && len != 20)
        return TC_EPARSE;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return TC_EPARSE;
    if (len == 20 && (s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
                      !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se) ||
                      s[19] != 'Z'))
        return TC_EPARSE;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 59)
        return TC_EPARSE;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return TC_OK;
}

void tc_time_format(int64_t t, char buf[TC_TIME_TEXT_LEN])
{
    char full[TC_TIME_US_TEXT_LEN];
    if (t > INT64_MAX / 1000000 || t < INT64_MIN / 1000000) { /* years far past 9999 */
        snprintf(buf, TC_TIME_TEXT_LEN, "%s", "invalid-time");
        return;
    }
    tc_time_format_us(t * 1000000, full);
    if (full[0] == 'i') {
        snprintf(buf, TC_TIME_TEXT_LEN, "%s", "invalid-time");
        return;
    }
    memcpy(buf, full, 19);
    buf[19] = 'Z';
    buf[20] = '\0';
}

int64_t tc_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t tc_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
