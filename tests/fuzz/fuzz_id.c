/* Citizen ID parsing (tc_id_parse) and the check of a record's values against the ID's digits
 * (tc_id_check_values). The input is the ID text as a client or a CSV file would send it. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_id.h"

#define YEAR 2026 /* fixed, so that a run is reproducible whatever the date */

static void check_values(const tc_id_info *info)
{
    const tc_catalog *cat = fuzz_catalog();
    tc_value values[TC_CATALOG_ATTRS_MAX];
    tc_error err;
    int by = tc_catalog_find(cat, "birth_year"), g = tc_catalog_find(cat, "gender");
    int attr = -1;
    FUZZ_CHECK(by >= 0 && g >= 0);
    memset(values, 0, sizeof values);
    /* Values that agree with the ID pass ... */
    values[by] = (tc_value){info->birth_year, 1};
    values[g] = (tc_value){tc_attr_level(&cat->attrs[g], info->female ? "female" : "male",
                                         info->female ? 6 : 4),
                           1};
    FUZZ_CHECK(values[g].v >= 0);
    FUZZ_CHECK(tc_id_check_values(info, cat, values, &attr, &err) == TC_OK);
    /* ... missing ones too ... */
    values[by].present = values[g].present = 0;
    FUZZ_CHECK(tc_id_check_values(info, cat, values, &attr, &err) == TC_OK);
    /* ... and each disagreement is caught and names its attribute. */
    values[by] = (tc_value){info->birth_year + 1, 1};
    FUZZ_CHECK(tc_id_check_values(info, cat, values, &attr, &err) == TC_EPARSE && attr == by);
    values[by].present = 0;
    values[g] = (tc_value){tc_attr_level(&cat->attrs[g], info->female ? "male" : "female",
                                         info->female ? 4 : 6),
                           1};
    attr = -1;
    FUZZ_CHECK(tc_id_check_values(info, cat, values, &attr, &err) == TC_EPARSE && attr == g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    tc_id_info info;
    tc_error err;
    int rc = tc_id_parse(text, size, YEAR, &info, &err);
    if (rc != TC_OK) {
        FUZZ_CHECK(rc == TC_EID && err.code == TC_EID && err.msg[0] != '\0');
        FUZZ_CHECK(!fuzz_shows_id(err.msg, text, size));
        return 0;
    }
    /* Accepted: twelve digits, a real province, a birth year not in the future. */
    FUZZ_CHECK(size == TC_ID_LEN);
    for (size_t i = 0; i < size; i++)
        FUZZ_CHECK(text[i] >= '0' && text[i] <= '9');
    FUZZ_CHECK(info.province == (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
    FUZZ_CHECK(tc_id_province_valid(info.province));
    FUZZ_CHECK(info.female == ((text[3] - '0') & 1));
    FUZZ_CHECK(info.birth_year >= 1900 && info.birth_year <= YEAR);
    FUZZ_CHECK(info.birth_year % 100 == (text[4] - '0') * 10 + (text[5] - '0'));
    /* The same ID parses the same way without info and against a later year. */
    FUZZ_CHECK(tc_id_parse(text, size, YEAR + 100, NULL, NULL) == TC_OK);
    check_values(&info);
    return 0;
}
