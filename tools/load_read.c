/* load_read — phase 1 of tinchap load: each input file read, every row validated, the good
 * rows kept encoded in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "population_csv.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_text.h"
#include "tc_time.h"

static int defer_reject(load *L, const char *file, long line, int column, const char *msg)
{
    deferred *d = tc_buf_grow(&L->deferred, sizeof *d);
    if (d == NULL)
        return TC_ENOMEM;
    *d = (deferred){file, line, column, strdup(msg)};
    return d->msg != NULL ? TC_OK : TC_ENOMEM;
}

int load_replay(load *to, load *from)
{
    int rc = TC_OK;
    deferred *d = (deferred *)from->deferred.data;
    for (size_t i = 0; i < from->deferred.len / sizeof *d; i++) {
        if (rc == TC_OK && d[i].msg != NULL)
            rc = load_reject(to, d[i].file, d[i].line, d[i].column, d[i].msg);
        free(d[i].msg);
    }
    free(from->deferred.data);
    from->deferred = (tc_buf){0};
    return rc;
}

/* Record a problem with one row; rows may have several. */
int load_reject(load *L, const char *file, long line, int column, const char *msg)
{
    if (L->defer)
        return defer_reject(L, file, line, column, msg);
    char text[TC_ERROR_MSG_MAX + 64];
    if (column > 0)
        snprintf(text, sizeof text, "%s:%ld:%d: %s", file, line, column, msg);
    else
        snprintf(text, sizeof text, "%s:%ld: %s", file, line, msg);
    L->messages++;
    if (L->printed < LOAD_PRINT_MAX) {
        fprintf(stderr, "%s\n", text);
        L->printed++;
    }
    if (L->n_rejects > 0 && L->rejects[L->n_rejects - 1].line == line &&
        L->rejects[L->n_rejects - 1].file == file) {
        /* another problem on the same row: append to its reason */
        reject *r = &L->rejects[L->n_rejects - 1];
        size_t old = strlen(r->reason), add = strlen(msg);
        char *s = realloc(r->reason, old + add + 3);
        if (s == NULL)
            return TC_ENOMEM;
        memcpy(s + old, "; ", 2);
        memcpy(s + old + 2, msg, add + 1);
        r->reason = s;
        return TC_OK;
    }
    if (L->n_rejects == L->cap_rejects) {
        size_t cap = L->cap_rejects ? 2 * L->cap_rejects : 256;
        reject *r = realloc(L->rejects, cap * sizeof *r);
        if (r == NULL)
            return TC_ENOMEM;
        L->rejects = r;
        L->cap_rejects = cap;
    }
    L->rejects[L->n_rejects].file = file;
    L->rejects[L->n_rejects].line = line;
    L->rejects[L->n_rejects].reason = strdup(msg);
    if (L->rejects[L->n_rejects].reason == NULL)
        return TC_ENOMEM;
    L->n_rejects++;
    return TC_OK;
}

/* ---- headers ---- */

/* ---- the citizen ID column ---- */

static int read_id(load *L, const char *file, const csv_row *row, int col, tc_id_info *info,
                   unsigned char key[TC_CITIZEN_KEY_LEN])
{
    tc_error err; /* filled only on failure: no per-row clearing of 0.5 KiB */
    if (tc_id_parse(row->fields[col], row->lens[col], L->year, info, &err) != TC_OK) {
        char msg[TC_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "field 'citizen_id': %.400s", err.msg);
        int rc = load_reject(L, file, row->line, col + 1, msg);
        return rc != TC_OK ? rc : 1;
    }
    if (tc_hasher_citizen(L->hasher, row->fields[col], key) != TC_OK)
        return TC_EKEY;
    return 0;
}

static int check_row_width(load *L, const char *file, const csv_row *row, size_t want)
{
    if (row->n == want)
        return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "%zu fields, the header has %zu", row->n, want);
    int rc = load_reject(L, file, row->line, 0, msg);
    return rc != TC_OK ? rc : 1;
}

/* ---- consents file ---- */

enum { C_ID, C_INST, C_PURPOSE, C_REF, C_GRANTED, C_EXPIRES, C_REVOKED, C_N };
static const char *const consent_columns[C_N] = {"citizen_id",  "institution", "purpose",
                                                 "consent_ref", "granted_at",  "expires_at",
                                                 "revoked_at"};
static const int consent_optional[C_N] = {0, 0, 0, 0, 0, 0, 1};

/* Reject a row for one field's value; the value is quoted unless it is the citizen ID. */
static int field_error(load *L, const char *file, const csv_row *row, int col, const char *name,
                       const char *reason)
{
    char msg[TC_ERROR_MSG_MAX], q[80];
    tc_error_quote(q, sizeof q, row->fields[col], row->lens[col]);
    tc_text_redact_ids(q); /* a value may embed a citizen ID: messages never repeat one */
    /* a long reason is cut, never the row's place: the message is bounded on purpose */
    if (snprintf(msg, sizeof msg, "field '%s' value '%s': %s", name, q, reason) < 0)
        msg[0] = '\0';
    int rc = load_reject(L, file, row->line, col + 1, msg);
    return rc != TC_OK ? rc : 1;
}

/* 0 parsed, 1 row rejected, <0 fatal. An absent optional column or empty optional field is 0. */
static int time_field(load *L, const char *file, const csv_row *row, int col, const char *name,
                      int required, int64_t *out)
{
    *out = 0;
    if (col < 0 || row->lens[col] == 0) {
        if (!required)
            return 0;
        return field_error(L, file, row, col, name, "a time is required");
    }
    if (tc_time_parse(row->fields[col], row->lens[col], out) != TC_OK)
        return field_error(L, file, row, col, name,
                           "not a UTC time like 2026-01-31T09:00:00Z or a date like 2026-01-31");
    return 0;
}

/* 0 ok, 1 rejected, <0 fatal. */
static int token_field(load *L, const char *file, const csv_row *row, int col,
                       int (*check)(const char *, size_t, tc_error *), char *out, size_t size)
{
    tc_error err;
    if (check(row->fields[col], row->lens[col], &err) != TC_OK) {
        /* err.msg is "field 'x': rule"; put the value in like every other field message */
        const char *rule = strstr(err.msg, ": ");
        const char *name = consent_columns[0];
        for (int i = 0; i < C_N; i++)
            if (strstr(err.msg, consent_columns[i]) != NULL)
                name = consent_columns[i];
        return field_error(L, file, row, col, name, rule != NULL ? rule + 2 : err.msg);
    }
    /* the check bounded the length below size */
    memcpy(out, row->fields[col], row->lens[col]);
    out[row->lens[col]] = '\0';
    (void)size;
    return 0;
}

static int add_consent_entry(load *L, long line, const unsigned char *key, size_t klen,
                             const unsigned char *val, size_t vlen)
{
    if (L->n_consents == L->cap_consents) {
        size_t cap = L->cap_consents ? 2 * L->cap_consents : 4096;
        size_t *o = realloc(L->consent_off, cap * sizeof *o);
        if (o == NULL)
            return TC_ENOMEM;
        L->consent_off = o;
        L->cap_consents = cap;
    }
    size_t off = L->consent_arena.len;
    unsigned char *p = tc_buf_grow(&L->consent_arena, CE_HDR + klen + vlen);
    if (p == NULL)
        return TC_ENOMEM;
    uint32_t ln = (uint32_t)line;
    memcpy(p, &ln, 4);
    p[4] = (unsigned char)klen;
    p[5] = (unsigned char)vlen;
    memcpy(p + CE_HDR, key, klen);
    memcpy(p + CE_HDR + klen, val, vlen);
    L->consent_off[L->n_consents++] = off;
    return TC_OK;
}

int load_read_consents(load *L, const char *file, tc_error *err)
{
    csv_reader *rd = NULL;
    csv_row row;
    int cols[C_N];
    int rc = csv_reader_open(file, &rd, err);
    if (rc != TC_OK)
        return rc;
    cli_progress prog;
    cli_progress_start(&prog, "reading consents", (double)csv_reader_size(rd));
    rc = csv_reader_next(rd, &row, err);
    if (rc == 0) {
        rc = tc_errorf(err, TC_EPARSE, "%s: empty file (expected a header row)", file);
        goto out;
    }
    if (rc < 0)
        goto out;
    if ((rc = csv_map_header(file, &row, consent_columns, C_N, consent_optional, cols,
                             "a consents file has citizen_id, institution, purpose, consent_ref, "
                             "granted_at, expires_at, revoked_at",
                             err)) != TC_OK)
        goto out;
    size_t width = row.n;
    size_t rows = 0;
    while ((rc = csv_reader_next(rd, &row, err)) == 1) {
        rows++;
        L->rows_read++;
        cli_progress_update(&prog, (double)csv_reader_offset(rd), rows);
        tc_consent c = {0};
        unsigned char key[TC_CITIZEN_KEY_LEN];
        int bad = check_row_width(L, file, &row, width);
        if (bad != 0) {
            if (bad < 0)
                goto fatal;
            continue;
        }
        int r0 = read_id(L, file, &row, cols[C_ID], NULL, key);
        int r1 = token_field(L, file, &row, cols[C_INST], tc_consent_check_institution,
                             c.institution, sizeof c.institution);
        int r2 = token_field(L, file, &row, cols[C_PURPOSE], tc_consent_check_purpose, c.purpose,
                             sizeof c.purpose);
        int r3 = token_field(L, file, &row, cols[C_REF], tc_consent_check_ref, c.ref, sizeof c.ref);
        int r4 = time_field(L, file, &row, cols[C_GRANTED], "granted_at", 1, &c.granted_at);
        int r5 = time_field(L, file, &row, cols[C_EXPIRES], "expires_at", 1, &c.expires_at);
        int r6 = time_field(L, file, &row, cols[C_REVOKED], "revoked_at", 0, &c.revoked_at);
        if (r0 < 0 || r1 < 0 || r2 < 0 || r3 < 0 || r4 < 0 || r5 < 0 || r6 < 0) {
            rc = r0 < 0 ? r0 : TC_ENOMEM;
            goto fatal;
        }
        if (r0 || r1 || r2 || r3 || r4 || r5 || r6)
            continue;
        tc_error verr;
        if (tc_consent_validate(&c, &verr) != TC_OK) {
            int col = strstr(verr.msg, "revoked_at") ? cols[C_REVOKED] : cols[C_EXPIRES];
            if ((rc = field_error(L, file, &row, col,
                                  strstr(verr.msg, "revoked_at") ? "revoked_at" : "expires_at",
                                  strstr(verr.msg, "revoked_at") ? "before granted_at"
                                                                 : "not after granted_at")) < 0)
                goto fatal;
            continue;
        }
        if (tc_consent_protect_ref(&c, L->hasher) != TC_OK) {
            rc = TC_EKEY;
            goto fatal;
        }
        unsigned char kb[TC_CONSENT_KEY_MAX], vb[TC_CONSENT_VALUE_MAX];
        size_t klen = tc_consent_key(key, c.institution, c.purpose, kb);
        size_t vlen = tc_consent_encode(&c, vb);
        if ((rc = add_consent_entry(L, row.line, kb, klen, vb, vlen)) != TC_OK)
            goto fatal;
    }
    if (rc < 0)
        goto out;
    rc = TC_OK;
    goto out;
fatal:
    if (rc == TC_ENOMEM)
        tc_errorf(err, TC_ENOMEM, "%s: out of memory", file);
    else if (rc == TC_EKEY)
        tc_errorf(err, TC_EKEY, "hashing citizen IDs failed");
out:
    cli_progress_finish(&prog);
    csv_reader_close(rd);
    return rc;
}

/* ---- population file ---- */

/* The ID's own digits say the birth year and gender: a row that disagrees is a data error. */
/* A problem of a population row: the row is rejected (and the problem listed). */
static int reject_problem(void *ctx, const char *file, long line, int column, const char *msg)
{
    return load_reject(ctx, file, line, column, msg);
}

int load_read_population(load *L, const char *file, tc_error *err)
{
    const tc_catalog *cat = L->db.catalog;
    population_csv in;
    population_row row;
    cli_progress prog = {0};
    int rc = population_csv_open(&in, file, cat, L->year, err);
    if (rc != TC_OK)
        return rc;
    cli_progress_start(&prog, "reading citizens", (double)csv_reader_size(in.rd));
    prog.enabled &= !L->defer; /* read beside the consents: their progress is the one shown */
    uint32_t now = (uint32_t)tc_time_now();
    size_t rows = 0;
    int bad = 0;
    while ((rc = population_csv_next(&in, &row, &bad, reject_problem, L, err)) == 1) {
        rows++;
        L->rows_read++;
        cli_progress_update(&prog, (double)csv_reader_offset(in.rd), rows);
        if (bad)
            continue;
        unsigned char *e = tc_buf_grow(&L->pop, L->pop_stride);
        if (e == NULL) {
            rc = tc_errorf(err, TC_ENOMEM, "%s: out of memory", file);
            break;
        }
        if (tc_hasher_citizen(L->hasher, row.id, e + PE_KEY) != TC_OK) {
            rc = tc_errorf(err, TC_EKEY, "hashing citizen IDs failed");
            break;
        }
        uint32_t ln = (uint32_t)row.line;
        memcpy(e + PE_LINE, &ln, 4);
        tc_record_encode(cat, row.values, now, e + PE_REC);
        L->n_pop++;
    }
    if (rc == TC_ENOMEM && err->code != TC_ENOMEM)
        tc_errorf(err, TC_ENOMEM, "%s: out of memory", file);
    cli_progress_finish(&prog);
    population_csv_close(&in);
    return rc < 0 ? rc : TC_OK;
}
