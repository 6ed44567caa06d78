/* tc_id — the 12-digit citizen identity number (CCCD) and what its digits say.
 *
 * Layout (Decree 137/2015/ND-CP, Circular 07/2016/TT-BCA): digits 1–3 the province of birth
 * registration, digit 4 century and gender, digits 5–6 the last two digits of the birth year,
 * digits 7–12 a serial. Anything else is refused; error messages describe the defect by position
 * and never repeat the digits, because an ID is personal data.
 */
#ifndef TC_ID_H
#define TC_ID_H

#include <stddef.h>

#include "tc_catalog.h"
#include "tc_error.h"

#define TC_ID_LEN 12
#define TC_PROVINCE_COUNT 63

typedef struct tc_id_info {
    int province;   /* e.g. 1 for Hà Nội, 79 for Hồ Chí Minh */
    int female;     /* 0 male, 1 female, from digit 4 */
    int birth_year; /* century from digit 4, year from digits 5–6 */
} tc_id_info;

/* Check text[0..len) is a valid ID. current_year bounds the birth year (0 means this year, UTC).
 * info may be NULL. Returns TC_OK or TC_EID with the reason in err. */
int tc_id_parse(const char *text, size_t len, int current_year, tc_id_info *info, tc_error *err);

/* The ID's digits say the birth year and gender: check a citizen's values agree with them
 * (catalog attributes "birth_year" and "gender" with levels male/female, when present).
 * On disagreement returns TC_EPARSE, *attr = the attribute's index, and a message that does not
 * repeat the ID. */
int tc_id_check_values(const tc_id_info *info, const tc_catalog *cat, const tc_value *values,
                       int *attr, tc_error *err);

/* 1 if code (0..999) is one of the 63 province codes. */
int tc_id_province_valid(int code);

/* The province codes in ascending order; *count receives TC_PROVINCE_COUNT. */
const short *tc_id_provinces(size_t *count);

#endif
