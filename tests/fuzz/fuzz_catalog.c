/* Attribute catalog loading (tc_catalog_parse). A catalog that loads is then used the way the
 * loader and the service use it: every attribute found by name, every level by text, the
 * record layout holding the extreme values of every attribute, and text forms that read back. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_record.h"

static void use_catalog(const tc_catalog *cat)
{
    tc_value lo[TC_CATALOG_ATTRS_MAX], hi[TC_CATALOG_ATTRS_MAX];
    FUZZ_CHECK(cat->n_attrs >= 1 && cat->n_attrs <= TC_CATALOG_ATTRS_MAX);
    FUZZ_CHECK(tc_record_size(cat) <= TC_RECORD_MAX);
    FUZZ_CHECK(strlen(cat->hash_hex) == TC_HASH_HEX_LEN);
    size_t end = 0;
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        FUZZ_CHECK(tc_catalog_find(cat, a->name) == (int)i);
        FUZZ_CHECK(a->width == 1 || a->width == 2 || a->width == 4 || a->width == 8);
        FUZZ_CHECK(a->offset == end); /* slots are packed in catalog order */
        end += a->width;
        FUZZ_CHECK(a->min <= a->max);
        if (a->type == TC_ATTR_CATEGORY) {
            FUZZ_CHECK(a->n_levels >= 2 && a->n_levels <= TC_LEVELS_MAX);
            for (size_t j = 0; j < a->n_levels; j++)
                FUZZ_CHECK(tc_attr_level(a, a->levels[j], strlen(a->levels[j])) == (int)j);
            FUZZ_CHECK(tc_attr_level(a, "", 0) < 0);
        }
        lo[i] = (tc_value){a->min, 1};
        hi[i] = (tc_value){a->max, 1};
        fuzz_check_value_text(a, lo[i]);
        fuzz_check_value_text(a, hi[i]);
        if (a->missing_allowed)
            fuzz_check_value_text(a, (tc_value){0, 0});
    }
    FUZZ_CHECK(end == cat->values_len);
    fuzz_check_record_roundtrip(cat, lo);
    fuzz_check_record_roundtrip(cat, hi);
    for (size_t i = 0; i < cat->n_attrs; i += 2)
        if (cat->attrs[i].missing_allowed)
            lo[i].present = 0;
    fuzz_check_record_roundtrip(cat, lo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_catalog *cat = NULL;
    tc_error err;
    int rc = tc_catalog_parse((const char *)data, size, "fuzz.json", &cat, &err);
    if (rc != TC_OK) {
        FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
        return 0;
    }
    use_catalog(cat);
    tc_catalog_free(cat);
    return 0;
}
