/* The attribute catalog: the shipped file, what its hash covers, every refusal with its exact
 * message, and the text forms of values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tc_catalog.h"

static void shipped_catalog_loads(void **state)
{
    (void)state;
    tc_catalog *cat = tu_catalog();
    assert_string_equal(cat->name, "vn-population");
    assert_true(cat->n_attrs >= 27);
    static const char *const required[] = {
        "birth_year", "gender", "province_code", "marital_status", "household_size",
        "is_household_head", "dependents", "years_at_residence", "residence_changes_5y",
        "has_temporary_residence", "vneid_level", "si_months_total", "si_months_last12",
        "si_salary_base", "employers_5y", "health_insurance_active", "pit_income_year",
        "electricity_ontime_ratio_12m", "mobile_tenure_months", "mobile_postpaid",
        "vehicles_registered", "land_use_certificates", "cic_active_loans", "cic_max_dpd_12m",
        "cic_inquiries_6m", "poor_household", "meritorious_person"};
    for (size_t i = 0; i < 27; i++)
        assert_true(tc_catalog_find(cat, required[i]) >= 0);
    const tc_attr *g = &cat->attrs[tc_catalog_find(cat, "gender")];
    assert_true(g->protected_attr);
    for (size_t i = 0; i < cat->n_attrs; i++)
        if (&cat->attrs[i] != g)
            assert_false(cat->attrs[i].protected_attr);
    const tc_attr *pit = &cat->attrs[tc_catalog_find(cat, "pit_income_year")];
    assert_true(pit->missing_allowed);
    assert_int_equal(pit->type, TC_ATTR_REAL);
    const tc_attr *el = &cat->attrs[tc_catalog_find(cat, "electricity_ontime_ratio_12m")];
    assert_true(el->missing_allowed);
    assert_true(el->min == 0 && el->max == 1);
    const tc_attr *v = &cat->attrs[tc_catalog_find(cat, "vneid_level")];
    assert_true(v->min == 0 && v->max == 2);
    assert_int_equal(strlen(cat->hash_hex), 64);
    tc_catalog_free(cat);
}

/* A small valid catalog; tests edit one piece at a time. */
#define ATTR_A "{\"name\":\"a\",\"type\":\"int\",\"min\":0,\"max\":10,\"missing\":false,"    \
               "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}"
#define ATTR_B "{\"name\":\"b\",\"type\":\"category\",\"levels\":[\"x\",\"y\"],"             \
               "\"missing\":true,\"protected\":false,\"source\":\"s\","                        \
               "\"description\":{\"vi\":\"v\",\"en\":\"e\"}}"

static char *doc(const char *attrs)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "{\"catalog\":\"t\",\"version\":1,\"attributes\":[%s]}", attrs);
    return buf;
}

static int parse(const char *text, tc_catalog **cat, tc_error *err)
{
    return tc_catalog_parse(text, strlen(text), "t.json", cat, err);
}

static void small_catalog_layout(void **state)
{
    (void)state;
    tc_catalog *cat = NULL;
    tc_error err = {0};
    assert_int_equal(parse(doc(ATTR_A "," ATTR_B), &cat, &err), TC_OK);
    assert_int_equal(cat->n_attrs, 2);
    assert_int_equal(cat->attrs[0].width, 1);
    assert_int_equal(cat->attrs[1].width, 1);
    assert_int_equal(cat->attrs[1].offset, 1);
    assert_int_equal(cat->values_len, 2);
    tc_catalog_free(cat);
}

static void hash_covers_layout_not_prose(void **state)
{
    (void)state;
    tc_catalog *base = NULL, *other = NULL;
    tc_error err = {0};
    assert_int_equal(parse(doc(ATTR_A "," ATTR_B), &base, &err), TC_OK);
    /* prose, units, sources and whitespace do not change the hash */
    const char *same =
        "{ \"catalog\" : \"t\", \"version\": 2, \"description\": {\"vi\":\"x\",\"en\":\"y\"},"
        "\"attributes\": [{\"name\":\"a\",\"type\":\"int\",\"unit\":\"kg\",\"min\":0,\"max\":10,"
        "\"missing\":false,\"protected\":false,\"source\":\"other\",\"description\":{\"vi\":"
        "\"khác\",\"en\":\"other\"}}," ATTR_B "]}";
    assert_int_equal(parse(same, &other, &err), TC_OK);
    assert_string_equal(base->hash_hex, other->hash_hex);
    tc_catalog_free(other);
    /* ranges, levels, order, protection and missing do */
    const char *changed[] = {
        doc(ATTR_B "," ATTR_A),
        doc("{\"name\":\"a\",\"type\":\"int\",\"min\":0,\"max\":11,\"missing\":false,"
            "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
            ATTR_B),
        doc("{\"name\":\"a\",\"type\":\"int\",\"min\":0,\"max\":10,\"missing\":true,"
            "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
            ATTR_B),
        doc("{\"name\":\"a\",\"type\":\"int\",\"min\":0,\"max\":10,\"missing\":false,"
            "\"protected\":true,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},"
            ATTR_B),
        doc(ATTR_A ",{\"name\":\"b\",\"type\":\"category\",\"levels\":[\"y\",\"x\"],"
                   "\"missing\":true,\"protected\":false,\"source\":\"s\","
                   "\"description\":{\"vi\":\"v\",\"en\":\"e\"}}"),
    };
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        char copy[8192];
        snprintf(copy, sizeof copy, "%s", changed[i]);
        assert_int_equal(parse(copy, &other, &err), TC_OK);
        assert_string_not_equal(base->hash_hex, other->hash_hex);
        tc_catalog_free(other);
    }
    tc_catalog_free(base);
}

static void refuses_malformed_catalogs(void **state)
{
    (void)state;
    static const struct {
        const char *attrs; /* NULL: whole document in msg's place */
        const char *msg;
    } cases[] = {
        {"{\"name\":\"a\",\"type\":\"int\",\"min\":0,\"max\":10,\"missing\":false,"
         "\"protcted\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0] (a): unknown field 'protcted'"},
        {"{\"name\":\"a\",\"type\":\"float\",\"min\":0,\"max\":10,\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].type (a): 'float' is not one of int, real, bool, category"},
        {"{\"name\":\"a\",\"type\":\"int\",\"min\":0,\"max\":10,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].missing (a): required field is missing"},
        {"{\"name\":\"a\",\"type\":\"int\",\"min\":5,\"max\":1,\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].max (a): 1 is below min 5"},
        {"{\"name\":\"a\",\"type\":\"int\",\"min\":0.5,\"max\":1,\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].min (a): an int range needs a 32-bit integer bound"},
        {"{\"name\":\"a\",\"type\":\"int\",\"min\":\"0\",\"max\":1,\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].min (a): expected a number, got a string"},
        {"{\"name\":\"Birth-Year\",\"type\":\"int\",\"min\":0,\"max\":1,\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].name: 'Birth-Year' is not a name: lower-case letter, then "
         "letters, digits, '_'"},
        {"{\"name\":\"b\",\"type\":\"category\",\"levels\":[\"x\"],\"missing\":true,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].levels (b): a category needs at least 2 levels"},
        {"{\"name\":\"b\",\"type\":\"category\",\"levels\":[\"x\",\"y\",\"x\"],\"missing\":true,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].levels[2] (b): level 'x' repeats levels[0]"},
        {"{\"name\":\"b\",\"type\":\"category\",\"levels\":[\"x\",\"y\"],\"labels\":[{\"vi\":"
         "\"a\",\"en\":\"b\"}],\"missing\":true,\"protected\":false,\"source\":\"s\","
         "\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].labels (b): has 1 entries for 2 levels"},
        {"{\"name\":\"c\",\"type\":\"bool\",\"min\":0,\"max\":1,\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].min (c): a bool takes no range or levels"},
        {"{\"name\":\"c\",\"type\":\"bool\",\"missing\":false,"
         "\"protected\":false,\"source\":\"\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[0].source (c): must name the register that supplies it"},
        {"{\"name\":\"c\",\"type\":\"bool\",\"missing\":false,"
         "\"protected\":false,\"source\":\"s\",\"description\":{\"vi\":\"v\"}}",
         "t.json: attributes[0].description.en (c): required field is missing"},
        {ATTR_A "," ATTR_A, "t.json: attributes[1].name (a): repeats attributes[0]"},
        {ATTR_A ",{\"name\":\"d\",\"type\":\"bool\",\"missing\":false,\"protected\":false,"
                "\"derived_from\":\"a\",\"source\":\"s\",\"description\":{\"vi\":\"v\","
                "\"en\":\"e\"}}",
         NULL}, /* valid: derived from an unprotected attribute */
        {"{\"name\":\"g\",\"type\":\"bool\",\"missing\":false,\"protected\":true,\"source\":"
         "\"s\",\"description\":{\"vi\":\"v\",\"en\":\"e\"}},{\"name\":\"d\",\"type\":\"bool\","
         "\"missing\":false,\"protected\":false,\"derived_from\":\"g\",\"source\":\"s\","
         "\"description\":{\"vi\":\"v\",\"en\":\"e\"}}",
         "t.json: attributes[1].protected (d): derived from protected 'g', so it must be "
         "protected too"},
        {ATTR_A ",{\"name\":\"d\",\"type\":\"bool\",\"missing\":false,\"protected\":false,"
                "\"derived_from\":\"zz\",\"source\":\"s\",\"description\":{\"vi\":\"v\","
                "\"en\":\"e\"}}",
         "t.json: attributes[1].derived_from (d): 'zz' is not another attribute"},
        {"", "t.json: attributes: the catalog has no attributes"},
        {"42", "t.json: attributes[0]: expected an object, got a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_catalog *cat = NULL;
        tc_error err = {0};
        int rc = parse(doc(cases[i].attrs), &cat, &err);
        if (cases[i].msg == NULL) {
            assert_int_equal(rc, TC_OK);
            tc_catalog_free(cat);
            continue;
        }
        if (rc != TC_ECATALOG || strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got %d '%s', expected '%s'", i, rc, err.msg, cases[i].msg);
    }
}

static void refuses_malformed_documents(void **state)
{
    (void)state;
    tc_catalog *cat = NULL;
    tc_error err = {0};
    assert_int_equal(parse("{\"catalog\":\"t\",", &cat, &err), TC_ECATALOG);
    assert_true(strncmp(err.msg, "t.json:1:", 9) == 0);
    assert_int_equal(parse("{\"catalog\":\"t\",\"catalog\":\"u\",\"version\":1,\"attributes\":[]}",
                           &cat, &err),
                     TC_ECATALOG);
    assert_non_null(strstr(err.msg, "duplicate object key"));
    assert_int_equal(parse("{\"catalog\":\"t\",\"version\":1,\"atributes\":[]}", &cat, &err),
                     TC_ECATALOG);
    assert_msg(&err, "t.json: (document): unknown field 'atributes'");
    assert_int_equal(parse("{\"catalog\":\"t\",\"version\":0,\"attributes\":[]}", &cat, &err),
                     TC_ECATALOG);
    assert_msg(&err, "t.json: version: 0 is outside [1, 1000000]");
    assert_int_equal(tc_catalog_load("/nonexistent/catalog.json", &cat, &err), TC_ENOTFOUND);
    assert_msg(&err, "/nonexistent/catalog.json: No such file or directory");
}

static void value_text_forms(void **state)
{
    (void)state;
    tc_catalog *cat = tu_catalog();
    const tc_attr *hh = &cat->attrs[tc_catalog_find(cat, "household_size")];
    const tc_attr *sal = &cat->attrs[tc_catalog_find(cat, "si_salary_base")];
    const tc_attr *head = &cat->attrs[tc_catalog_find(cat, "is_household_head")];
    const tc_attr *ms = &cat->attrs[tc_catalog_find(cat, "marital_status")];
    static const struct {
        const char *attr, *text;
        int rc, present;
        double v;
        const char *msg;
    } cases[] = {
        {"household_size", "4", TC_OK, 1, 4, NULL},
        {"household_size", "04", TC_OK, 1, 4, NULL},
        {"household_size", "0", TC_EPARSE, 0, 0,
         "field 'household_size' value '0': out of range [1, 50]"},
        {"household_size", "4.0", TC_EPARSE, 0, 0,
         "field 'household_size' value '4.0': not an integer"},
        {"household_size", " 4", TC_EPARSE, 0, 0,
         "field 'household_size' value ' 4': not an integer"},
        {"household_size", "", TC_EPARSE, 0, 0,
         "field 'household_size' value '': a value is required"},
        {"si_salary_base", "", TC_OK, 0, 0, NULL},
        {"si_salary_base", "12.75", TC_OK, 1, 12.75, NULL},
        {"si_salary_base", "1e2", TC_OK, 1, 100, NULL},
        {"si_salary_base", "nan", TC_EPARSE, 0, 0,
         "field 'si_salary_base' value 'nan': not a decimal number"},
        {"si_salary_base", "0x10", TC_EPARSE, 0, 0,
         "field 'si_salary_base' value '0x10': not a decimal number"},
        {"si_salary_base", "-0.5", TC_EPARSE, 0, 0,
         "field 'si_salary_base' value '-0.5': out of range [0, 1000]"},
        {"is_household_head", "true", TC_OK, 1, 1, NULL},
        {"is_household_head", "0", TC_OK, 1, 0, NULL},
        {"is_household_head", "yes", TC_EPARSE, 0, 0,
         "field 'is_household_head' value 'yes': not a boolean (0, 1, true, false)"},
        {"marital_status", "widowed", TC_OK, 1, 3, NULL},
        {"marital_status", "Married", TC_EPARSE, 0, 0,
         "field 'marital_status' value 'Married': not a level of this category"},
        {"marital_status", "single\n", TC_EPARSE, 0, 0,
         "field 'marital_status' value 'single\\x0a': not a level of this category"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tc_attr *a = &cat->attrs[tc_catalog_find(cat, cases[i].attr)];
        tc_value v;
        tc_error err = {0};
        int rc = tc_attr_parse(a, cases[i].text, strlen(cases[i].text), &v, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, expected %d (%s)", i, rc, cases[i].rc, err.msg);
        if (rc == TC_OK) {
            assert_int_equal(v.present, cases[i].present);
            assert_true(v.v == cases[i].v);
        } else {
            assert_msg(&err, cases[i].msg);
        }
    }
    /* format reads back to the same value */
    char buf[64];
    tc_value v = {0.1 + 0.2, 1}, back;
    tc_attr_format(sal, v, buf, sizeof buf);
    assert_int_equal(tc_attr_parse(sal, buf, strlen(buf), &back, NULL), TC_OK);
    assert_true(back.v == v.v);
    v.v = 12.5;
    tc_attr_format(sal, v, buf, sizeof buf);
    assert_string_equal(buf, "12.5");
    tc_attr_format(ms, (tc_value){1, 1}, buf, sizeof buf);
    assert_string_equal(buf, "married");
    tc_attr_format(head, (tc_value){1, 1}, buf, sizeof buf);
    assert_string_equal(buf, "1");
    tc_attr_format(hh, (tc_value){0, 0}, buf, sizeof buf);
    assert_string_equal(buf, "");
    /* binary values from other sources */
    tc_error err = {0};
    assert_int_equal(tc_attr_check(hh, (tc_value){2.5, 1}, &err), TC_EPARSE);
    assert_msg(&err, "field 'household_size' value '2.5': not a whole number");
    assert_int_equal(tc_attr_check(hh, (tc_value){0, 0}, &err), TC_EPARSE);
    assert_msg(&err, "field 'household_size': a value is required");
    assert_int_equal(tc_attr_check(sal, (tc_value){0, 0}, &err), TC_OK);
    tc_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_catalog_loads),
        cmocka_unit_test(small_catalog_layout),
        cmocka_unit_test(hash_covers_layout_not_prose),
        cmocka_unit_test(refuses_malformed_catalogs),
        cmocka_unit_test(refuses_malformed_documents),
        cmocka_unit_test(value_text_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
