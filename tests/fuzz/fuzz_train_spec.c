/* Training spec loading (tc_train_spec_parse) against the shipped catalog and reason dictionary.
 * A spec that loads is what `tinchap train` then trusts: its attributes are in the catalog and
 * not protected, its reason codes are in the dictionary, its grades are in order. */
#include <string.h>

#include "fuzz_common.h"
#include "tc_train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tc_catalog *cat = fuzz_catalog();
    const tc_reasons *reasons = fuzz_reasons();
    tc_train_spec *spec = NULL;
    tc_error err;
    int rc = tc_train_spec_parse((const char *)data, size, "fuzz.spec.json", cat, reasons, &spec,
                                 &err);
    if (rc != TC_OK) {
        FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(spec->catalog == cat);
    FUZZ_CHECK(spec->n_attrs >= 1 && spec->n_attrs <= TC_TRAIN_ATTRS_MAX);
    FUZZ_CHECK(spec->n_grades >= 1 && spec->n_grades <= TC_MODEL_GRADES_MAX);
    for (size_t i = 0; i < spec->n_attrs; i++) {
        const tc_train_attr *a = &spec->attrs[i];
        FUZZ_CHECK(a->attr_index < cat->n_attrs && a->attr == &cat->attrs[a->attr_index]);
        FUZZ_CHECK(strcmp(a->name, a->attr->name) == 0);
        FUZZ_CHECK(!a->attr->protected_attr);
        FUZZ_CHECK(tc_reasons_find(reasons, a->reason_code) != NULL);
    }
    for (size_t i = 1; i < spec->n_grades; i++)
        FUZZ_CHECK(spec->grades[i].min_score < spec->grades[i - 1].min_score);
    FUZZ_CHECK(spec->score_min < spec->score_max);
    tc_train_spec_free(spec);
    return 0;
}
