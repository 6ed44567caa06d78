#include "tc_id.h"

#include <stdio.h>
#include <string.h>

#include "tc_time.h"

/* Province codes of the CCCD, Circular 07/2016/TT-BCA, Annex: the 63 provinces and centrally
 * governed cities. IDs already issued keep these codes after the 2025 province mergers. */
static const short provinces[TC_PROVINCE_COUNT] = {
    1,  2,  4,  6,  8,  10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33,
    34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66,
    67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
};

int tc_id_province_valid(int code)
{
    size_t lo = 0, hi = TC_PROVINCE_COUNT;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (provinces[mid] < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < TC_PROVINCE_COUNT && provinces[lo] == code;
}

const short *tc_id_provinces(size_t *count)
{
    *count = TC_PROVINCE_COUNT;
    return provinces;
}

int tc_id_parse(const char *text, size_t len, int current_year, tc_id_info *info, tc_error *err)
{
    if (len == 0)
        return tc_errorf(err, TC_EID, "citizen ID is empty");
    if (len != TC_ID_LEN)
        return tc_errorf(err, TC_EID, "citizen ID must be %d digits, got %zu characters",
                         TC_ID_LEN, len);
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return tc_errorf(err, TC_EID, "citizen ID has a non-digit at position %zu", i + 1);
    }
    int province = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
    if (!tc_id_province_valid(province))
        return tc_errorf(err, TC_EID, "citizen ID digits 1-3 are not a province code");
    int d4 = text[3] - '0';
    int yy = (text[4] - '0') * 10 + (text[5] - '0');
    int birth_year = 1900 + (d4 / 2) * 100 + yy;
    if (current_year == 0)
        current_year = tc_time_year(tc_time_now());
    if (birth_year > current_year)
        return tc_errorf(err, TC_EID, "citizen ID digits 4-6 give a birth year in the future");
    if (info != NULL) {
        info->province = province;
        info->female = d4 % 2;
        info->birth_year = birth_year;
    }
    return TC_OK;
}

int tc_id_check_values(const tc_id_info *info, const tc_catalog *cat, const tc_value *values,
                       int *attr, tc_error *err)
{
    char shown[32];
    int by = tc_catalog_find(cat, "birth_year"), g = tc_catalog_find(cat, "gender");
    if (by >= 0 && values[by].present && (int)values[by].v != info->birth_year) {
        *attr = by;
        snprintf(shown, sizeof shown, "%.0f", values[by].v);
        return tc_errorf(err, TC_EPARSE,
                         "field 'birth_year' value '%s': does not match the birth year in the "
                         "citizen ID",
                         shown);
    }
    if (g >= 0 && values[g].present && cat->attrs[g].type == TC_ATTR_CATEGORY &&
        cat->attrs[g].n_levels == 2) {
        const char *level = cat->attrs[g].levels[(size_t)values[g].v];
        if ((strcmp(level, "female") == 0) != info->female) {
            *attr = g;
            return tc_errorf(err, TC_EPARSE,
                             "field 'gender' value '%s': does not match the gender digit of the "
                             "citizen ID",
                             level);
        }
    }
    return TC_OK;
}

