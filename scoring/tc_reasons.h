/* tc_reasons — the reason-code dictionary (models/reasons.json): code -> Vietnamese and English
 * text shown to an applicant whose score a characteristic lowered.
 *
 * Codes are short and stable ([A-Z][A-Z0-9]{1,11}, e.g. "CIC01") because banks store them and
 * map them to their own adverse-action letters; the texts may be reworded without touching any
 * model. Loading is strict like the catalog: unknown fields, repeated codes and empty texts are
 * refused with a message naming the JSON path.
 *
 * A loaded dictionary is immutable and may be shared by threads; every string lives until
 * tc_reasons_free. Models copy the texts they use at load time, so a dictionary may be freed
 * once the models built with it are loaded.
 */
#ifndef TC_REASONS_H
#define TC_REASONS_H

#include <stddef.h>

#include "tc_error.h"

#define TC_REASONS_FILE_MAX (1u << 20) /* bytes */
#define TC_REASONS_MAX 512             /* codes in one dictionary */
#define TC_REASON_CODE_MAX 12          /* bytes of a code */
#define TC_REASON_TEXT_MAX 512         /* bytes of one text */

typedef struct tc_reason_text {
    const char *code;
    const char *vi;
    const char *en;
} tc_reason_text;

typedef struct tc_reasons {
    const char *name;
    int version;
    size_t n;
    const tc_reason_text *items; /* in file order */
} tc_reasons;

/* Load and validate path; messages start with the path. */
int tc_reasons_load(const char *path, tc_reasons **out, tc_error *err);

/* Same from memory; origin names the source in messages. */
int tc_reasons_parse(const char *text, size_t len, const char *origin, tc_reasons **out,
                     tc_error *err);

void tc_reasons_free(tc_reasons *r);

/* The entry for code, or NULL. */
const tc_reason_text *tc_reasons_find(const tc_reasons *r, const char *code);

/* 1 if code has the shape of a reason code. */
int tc_reason_code_valid(const char *code);

#endif
