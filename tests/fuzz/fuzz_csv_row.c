/* CSV input as `tinchap load` reads it: the bytes are a file read by csv_reader (libcsv with line
 * numbers, bounds and strict quoting), and every row is validated with the functions the loader
 * uses (tc_id_parse, tc_consent_check_*, tc_time_parse, tc_consent_validate, tc_attr_parse,
 * tc_id_check_values), then encoded as the loader stores it and read back.
 *
 * The header decides the kind of file: one with an "institution" column is a consents file,
 * anything else a population file. Unlike the loader, unknown or missing columns do not end
 * the file here: the columns that are known are still checked, which keeps more inputs useful. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv_reader.h"
#include "fuzz_common.h"
#include "tc_text.h"
#include "tc_consent.h"
#include "tc_id.h"
#include "tc_key.h"
#include "tc_time.h"

#define YEAR 2026 /* bounds birth years, fixed so that a run is reproducible */

enum { C_ID, C_INST, C_PURPOSE, C_REF, C_GRANTED, C_EXPIRES, C_REVOKED, C_N };
static const char *const consent_columns[C_N] = {"citizen_id", "institution", "purpose",
                                                 "consent_ref", "granted_at", "expires_at",
                                                 "revoked_at"};

/* The input as a file: a memory file whose /proc path csv_reader opens like any other. */
static const char *input_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.csv", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("writing the input file");
        abort();
    }
    return path;
}

static int column(const csv_row *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->fields[i], name) == 0)
            return (int)i;
    return -1;
}

static void check_shape(const csv_row *row, long *last_line)
{
    FUZZ_CHECK(row->n >= 1 && row->n <= CSV_FIELDS_MAX);
    FUZZ_CHECK(row->line > *last_line);
    *last_line = row->line;
    for (size_t i = 0; i < row->n; i++) {
        FUZZ_CHECK(row->lens[i] <= CSV_FIELD_MAX);
        FUZZ_CHECK(row->fields[i][row->lens[i]] == '\0');
    }
}

/* A parsed time prints back as the text it came from (a date as its midnight). */
static int time_field(const csv_row *row, int col, int required, int64_t *out)
{
    *out = 0;
    if (col < 0 || row->lens[col] == 0)
        return !required;
    if (tc_time_parse(row->fields[col], row->lens[col], out) != TC_OK)
        return 0;
    char text[TC_TIME_TEXT_LEN];
    tc_time_format(*out, text);
    FUZZ_CHECK(memcmp(text, row->fields[col], row->lens[col]) == 0);
    FUZZ_CHECK(row->lens[col] == 20 || strcmp(text + 10, "T00:00:00Z") == 0);
    return 1;
}

static int token_field(const csv_row *row, int col, int (*check)(const char *, size_t, tc_error *),
                       char *out, size_t size)
{
    tc_error err;
    if (col < 0 || check(row->fields[col], row->lens[col], &err) != TC_OK)
        return 0;
    FUZZ_CHECK(row->lens[col] < size); /* the loader copies it into a buffer of this size */
    memcpy(out, row->fields[col], row->lens[col] + 1);
    return 1;
}

static int id_field(const csv_row *row, int col, tc_id_info *info)
{
    tc_error err;
    if (col < 0)
        return 0;
    if (tc_id_parse(row->fields[col], row->lens[col], YEAR, info, &err) == TC_OK)
        return 1;
    FUZZ_CHECK(!fuzz_shows_id(err.msg, row->fields[col], row->lens[col]));
    return 0;
}

static void consent_row(const csv_row *row, const int *cols)
{
    tc_consent c, back;
    tc_id_info info;
    tc_error err;
    memset(&c, 0, sizeof c);
    int ok = id_field(row, cols[C_ID], &info);
    ok &= token_field(row, cols[C_INST], tc_consent_check_institution, c.institution,
                      sizeof c.institution);
    ok &= token_field(row, cols[C_PURPOSE], tc_consent_check_purpose, c.purpose, sizeof c.purpose);
    ok &= token_field(row, cols[C_REF], tc_consent_check_ref, c.ref, sizeof c.ref);
    ok &= time_field(row, cols[C_GRANTED], 1, &c.granted_at);
    ok &= time_field(row, cols[C_EXPIRES], 1, &c.expires_at);
    ok &= time_field(row, cols[C_REVOKED], 0, &c.revoked_at);
    if (!ok || tc_consent_validate(&c, &err) != TC_OK)
        return;
    /* Stored as the loader stores it (a reference with a digit run protected), and read back:
     * no digit run is kept. */
    FUZZ_CHECK(tc_consent_protect_ref(&c, fuzz_hasher()) == TC_OK);
    FUZZ_CHECK(!tc_text_has_id_run(c.ref, strlen(c.ref)));
    unsigned char citizen[TC_CITIZEN_KEY_LEN], k[TC_CONSENT_KEY_MAX], v[TC_CONSENT_VALUE_MAX];
    memset(citizen, 0xa5, sizeof citizen);
    size_t kl = tc_consent_key(citizen, c.institution, c.purpose, k);
    size_t vl = tc_consent_encode(&c, v);
    memset(&back, 0, sizeof back);
    FUZZ_CHECK(tc_consent_decode(k, kl, v, vl, &back, &err) == TC_OK);
    FUZZ_CHECK(memcmp(&c, &back, sizeof c) == 0);
    FUZZ_CHECK(!tc_consent_valid_at(&c, c.granted_at - 1));
    FUZZ_CHECK(!tc_consent_valid_at(&c, c.expires_at));
}

static void population_row(const csv_row *row, const int *cols)
{
    const tc_catalog *cat = fuzz_catalog();
    tc_value values[TC_CATALOG_ATTRS_MAX];
    tc_id_info info;
    tc_error err;
    int id_ok = id_field(row, cols[0], &info), all = 1;
    for (size_t i = 0; i < cat->n_attrs; i++) {
        int c = cols[i + 1];
        if (c < 0 || tc_attr_parse(&cat->attrs[i], row->fields[c], row->lens[c], &values[i],
                                   &err) != TC_OK) {
            all = 0;
            continue;
        }
        fuzz_check_value_text(&cat->attrs[i], values[i]);
    }
    if (!all)
        return;
    fuzz_check_record_roundtrip(cat, values);
    int attr = -1;
    if (id_ok && tc_id_check_values(&info, cat, values, &attr, &err) != TC_OK)
        FUZZ_CHECK(attr >= 0 && (size_t)attr < cat->n_attrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tc_catalog *cat = fuzz_catalog();
    const char *path = input_file(data, size);
    csv_reader *rd = NULL;
    csv_row row;
    tc_error err;
    int cols[TC_CATALOG_ATTRS_MAX + 1];
    long last_line = 0;
    FUZZ_CHECK(csv_reader_open(path, &rd, &err) == TC_OK);
    int rc = csv_reader_next(rd, &row, &err);
    if (rc == 1) {
        check_shape(&row, &last_line);
        int consents = column(&row, "institution") >= 0;
        if (consents) {
            for (int i = 0; i < C_N; i++)
                cols[i] = column(&row, consent_columns[i]);
        } else {
            cols[0] = column(&row, "citizen_id");
            for (size_t i = 0; i < cat->n_attrs; i++)
                cols[i + 1] = column(&row, cat->attrs[i].name);
        }
        size_t width = row.n;
        while ((rc = csv_reader_next(rd, &row, &err)) == 1) {
            check_shape(&row, &last_line);
            if (row.n != width)
                continue; /* the loader rejects the row for its width alone */
            if (consents)
                consent_row(&row, cols);
            else
                population_row(&row, cols);
        }
    }
    if (rc < 0) {
        FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
        FUZZ_CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    }
    if (rc == 0)
        FUZZ_CHECK(csv_reader_next(rd, &row, &err) == 0); /* the end stays the end */
    csv_reader_close(rd);
    return 0;
}
