/* fuzz_common — what the fuzz targets share: the shipped catalog, reason dictionary and model,
 * loaded once per process, and a check that fails loudly.
 *
 * Every target is a libFuzzer entry point (LLVMFuzzerTestOneInput) built twice: with
 * libFuzzer, ASan and UBSan for fuzzing (tests/fuzz/run.sh), and with replay_main.c as a plain
 * program that every test run uses to replay the seed corpus and every regression input. A
 * target returns 0 for any input; a crash, a sanitizer report or a failed FUZZ_CHECK is a bug.
 */
#ifndef TC_FUZZ_COMMON_H
#define TC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tc_catalog.h"
#include "tc_key.h"
#include "tc_model.h"
#include "tc_reasons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The shipped files (models/), loaded on first use; a file that does not load aborts, because
 * every input would otherwise be tested against nothing. */
const tc_catalog *fuzz_catalog(void);
const tc_reasons *fuzz_reasons(void);
const tc_model *fuzz_model(void);

/* A hasher of a fixed test secret, made on first use, for what the service hashes (citizen IDs,
 * consent references). */
tc_hasher *fuzz_hasher(void);

/* A property that must hold for every input: abort with where and what. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* 1 if msg shows id, when id looks like (part of) a citizen ID: 6 or more digits. Messages must
 * describe an ID by its defect, never repeat it. */
int fuzz_shows_id(const char *msg, const char *id, size_t id_len);

/* Parse and check a value the way the model's catalog says, then check that formatting it and
 * parsing the text back gives the same value (tc_attr_format's contract). */
void fuzz_check_value_text(const tc_attr *a, tc_value v);

/* Encode values under cat, view the bytes as a record and check every value reads back. */
void fuzz_check_record_roundtrip(const tc_catalog *cat, const tc_value *values);

#endif
