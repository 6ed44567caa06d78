#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "tc_record.h"

static tc_catalog *catalog;
static tc_reasons *reasons;
static tc_model *model;

static _Noreturn void setup_failed(const tc_error *err)
{
    fprintf(stderr, "fuzz set-up: %s\n", err->msg);
    abort();
}

/* As every program of tinchap does at start-up: GSL returns errors, never aborts. */
static void setup(void)
{
    static int done;
    if (!done)
        gsl_set_error_handler_off();
    done = 1;
}

const tc_catalog *fuzz_catalog(void)
{
    tc_error err;
    setup();
    if (catalog == NULL && tc_catalog_load(TC_FUZZ_MODELS "/catalog.json", &catalog, &err) != TC_OK)
        setup_failed(&err);
    return catalog;
}

const tc_reasons *fuzz_reasons(void)
{
    tc_error err;
    setup();
    if (reasons == NULL && tc_reasons_load(TC_FUZZ_MODELS "/reasons.json", &reasons, &err) != TC_OK)
        setup_failed(&err);
    return reasons;
}

const tc_model *fuzz_model(void)
{
    tc_error err;
    setup();
    if (model == NULL && tc_model_load(TC_FUZZ_MODELS "/unsecured-consumer-v1.json", fuzz_catalog(),
                                       fuzz_reasons(), &model, &err) != TC_OK)
        setup_failed(&err);
    return model;
}

tc_hasher *fuzz_hasher(void)
{
    static tc_key *key;
    static tc_hasher *hasher;
    static const unsigned char secret[TC_SECRET_LEN] = {1, 2, 3};
    tc_error err;
    if (hasher == NULL && (tc_key_from_bytes(secret, &key, &err) != TC_OK ||
                           tc_hasher_new(key, &hasher, &err) != TC_OK))
        setup_failed(&err);
    return hasher;
}

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
    abort();
}

int fuzz_shows_id(const char *msg, const char *id, size_t id_len)
{
    if (id_len < 6)
        return 0;
    for (size_t i = 0; i < id_len; i++)
        if (id[i] < '0' || id[i] > '9')
            return 0;
    return memmem(msg, strlen(msg), id, id_len) != NULL;
}

void fuzz_check_value_text(const tc_attr *a, tc_value v)
{
    char text[TC_LEVEL_LEN_MAX + 64];
    tc_value back;
    tc_error err;
    FUZZ_CHECK(tc_attr_check(a, v, &err) == TC_OK);
    tc_attr_format(a, v, text, sizeof text);
    FUZZ_CHECK(strlen(text) < sizeof text - 1);
    FUZZ_CHECK(tc_attr_parse(a, text, strlen(text), &back, &err) == TC_OK);
    FUZZ_CHECK(back.present == v.present);
    FUZZ_CHECK(!v.present || back.v == v.v);
}

void fuzz_check_record_roundtrip(const tc_catalog *cat, const tc_value *values)
{
    unsigned char buf[TC_RECORD_MAX];
    size_t size = tc_record_size(cat);
    tc_record rec;
    tc_error err;
    FUZZ_CHECK(size <= sizeof buf);
    FUZZ_CHECK(tc_record_encode(cat, values, 1764000000u, buf) == size);
    FUZZ_CHECK(tc_record_view(cat, buf, size, &rec, &err) == TC_OK);
    FUZZ_CHECK(tc_record_updated_at(&rec) == 1764000000u);
    for (size_t i = 0; i < cat->n_attrs; i++) {
        tc_value v = tc_record_get(&rec, i);
        FUZZ_CHECK(v.present == values[i].present);
        FUZZ_CHECK(!v.present || v.v == values[i].v);
    }
}
