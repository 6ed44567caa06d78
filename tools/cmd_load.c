/* tinchap load — citizen attributes and consents from CSV into the database.
 *
 * Three phases, so that a bad file never leaves a half-loaded database:
 *   1 read and validate every row of every file, keeping the encoded rows in memory
 *     (about 110 bytes per citizen and per consent), sorted by key; duplicates and
 *     citizens without consent found here;
 *   2 if more rows were rejected than --max-errors allows, stop: nothing is written;
 *   3 write in batches of --batch-size rows, one LMDB transaction each, consents first.
 * A kill at any moment leaves every batch either fully old or fully new (LMDB transactions),
 * and loading is an upsert that skips identical rows, so re-running the same load completes it.
 *
 * No message names a citizen ID: rows are named by file, line and column.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "csv_reader.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_time.h"

#define LOAD_PRINT_MAX 100 /* messages shown on stderr; the reject file has them all */
#define LOAD_DEFAULT_BATCH 50000

/* ---- growable arrays ---- */

typedef struct buf {
    unsigned char *data;
    size_t len, cap;
} buf;

static void *buf_grow(buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : (1u << 20);
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (d == NULL)
            return NULL;
        b->data = d;
        b->cap = cap;
    }
    void *p = b->data + b->len;
    b->len += n;
    return p;
}

/* ---- rejected rows ---- */

typedef struct reject {
    const char *file; /* which input (static lifetime: argv) */
    long line;
    char *reason;
} reject;

typedef struct load {
    const char *cmd;
    cli_db db;
    tc_hasher *hasher;
    tc_reader *reader;
    long max_errors;
    double max_errors_pct; /* --max-errors N%: a share of the rows read, or -1 */
    size_t batch;
    const char *rejects_path;
    reject *rejects;
    size_t n_rejects, cap_rejects, printed, messages;
    /* consents: variable-length entries in an arena, indexed for sorting */
    buf consent_arena;
    size_t *consent_off;
    size_t n_consents, cap_consents;
    /* citizens: fixed-size entries: key, line, record */
    buf pop;
    size_t pop_stride, n_pop;
    uint32_t *pop_order;
    unsigned char *pop_rejected; /* one flag per entry */
    unsigned char *consent_rejected;
    /* results */
    size_t new_citizens, updated_citizens, unchanged_citizens;
    size_t new_consents, unchanged_consents;
    size_t commits;   /* batches committed so far */
    size_t rows_read; /* data rows in all inputs, good or bad */
    int year;         /* this year, bounding birth years in IDs */
} load;

/* Record a problem with one row; rows may have several. */
static int reject_row(load *L, const char *file, long line, int column, const char *msg)
{
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

static int find_column(const csv_row *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->fields[i], name) == 0)
            return (int)i;
    return -1;
}

/* Each required name once, nothing else. cols[i] receives the column of names[i]. */
static int map_header(const char *file, const csv_row *h, const char *const *names, size_t n,
                      const int *optional, int *cols, const char *what, tc_error *err)
{
    char q[96];
    for (size_t i = 0; i < h->n; i++) {
        int known = 0;
        for (size_t j = 0; j < n; j++)
            known |= strcmp(h->fields[i], names[j]) == 0;
        if (!known)
            return tc_errorf(err, TC_EPARSE, "%s:%ld:%zu: unknown column '%s' (%s)", file,
                             h->line, i + 1, tc_error_quote(q, sizeof q, h->fields[i], h->lens[i]),
                             what);
        for (size_t j = 0; j < i; j++)
            if (strcmp(h->fields[i], h->fields[j]) == 0)
                return tc_errorf(err, TC_EPARSE, "%s:%ld:%zu: column '%s' repeats column %zu",
                                 file, h->line, i + 1, h->fields[i], j + 1);
    }
    for (size_t j = 0; j < n; j++) {
        cols[j] = find_column(h, names[j]);
        if (cols[j] < 0 && !(optional != NULL && optional[j]))
            return tc_errorf(err, TC_EPARSE, "%s:%ld: missing column '%s'", file, h->line,
                             names[j]);
    }
    return TC_OK;
}

/* ---- the citizen ID column ---- */

static int read_id(load *L, const char *file, const csv_row *row, int col, tc_id_info *info,
                   unsigned char key[TC_CITIZEN_KEY_LEN])
{
    tc_error err; /* filled only on failure: no per-row clearing of 0.5 KiB */
    if (tc_id_parse(row->fields[col], row->lens[col], L->year, info, &err) != TC_OK) {
        char msg[TC_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "field 'citizen_id': %.400s", err.msg);
        int rc = reject_row(L, file, row->line, col + 1, msg);
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
    int rc = reject_row(L, file, row->line, 0, msg);
    return rc != TC_OK ? rc : 1;
}

/* ---- consents file ---- */

enum { C_ID, C_INST, C_PURPOSE, C_REF, C_GRANTED, C_EXPIRES, C_REVOKED, C_N };
static const char *const consent_columns[C_N] = {"citizen_id", "institution", "purpose",
                                                 "consent_ref", "granted_at", "expires_at",
                                                 "revoked_at"};
static const int consent_optional[C_N] = {0, 0, 0, 0, 0, 0, 1};

/* Arena entry: line (4) | key length (1) | value length (1) | key | value */
#define CE_HDR 6

/* Reject a row for one field's value; the value is quoted unless it is the citizen ID. */
static int field_error(load *L, const char *file, const csv_row *row, int col, const char *name,
                       const char *reason)
{
    char msg[TC_ERROR_MSG_MAX], q[80];
    snprintf(msg, sizeof msg, "field '%s' value '%s': %s", name,
             tc_error_quote(q, sizeof q, row->fields[col], row->lens[col]), reason);
    int rc = reject_row(L, file, row->line, col + 1, msg);
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
    unsigned char *p = buf_grow(&L->consent_arena, CE_HDR + klen + vlen);
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

static int read_consents(load *L, const char *file, tc_error *err)
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
    if ((rc = map_header(file, &row, consent_columns, C_N, consent_optional, cols,
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
        int r2 = token_field(L, file, &row, cols[C_PURPOSE], tc_consent_check_purpose,
                             c.purpose, sizeof c.purpose);
        int r3 = token_field(L, file, &row, cols[C_REF], tc_consent_check_ref, c.ref,
                             sizeof c.ref);
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
            if ((rc = field_error(L, file, &row, col, strstr(verr.msg, "revoked_at") ?
                                  "revoked_at" : "expires_at",
                                  strstr(verr.msg, "revoked_at") ? "before granted_at"
                                                                 : "not after granted_at")) < 0)
                goto fatal;
            continue;
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

/* Entry: key (32) | line (4) | record */
#define PE_KEY 0
#define PE_LINE TC_CITIZEN_KEY_LEN
#define PE_REC (TC_CITIZEN_KEY_LEN + 4)

/* The ID's own digits say the birth year and gender: a row that disagrees is a data error. */
static int check_against_id(load *L, const char *file, const csv_row *row, const int *cols,
                            const tc_value *values, const tc_id_info *info)
{
    tc_error err;
    int attr = -1;
    if (tc_id_check_values(info, L->db.catalog, values, &attr, &err) == TC_OK)
        return 0;
    int rc = reject_row(L, file, row->line, cols[attr] + 1, err.msg);
    return rc != TC_OK ? rc : 1;
}

static int read_population(load *L, const char *file, tc_error *err)
{
    const tc_catalog *cat = L->db.catalog;
    size_t n = cat->n_attrs;
    csv_reader *rd = NULL;
    csv_row row;
    const char **names = calloc(n + 1, sizeof *names);
    int *cols = calloc(n + 1, sizeof *cols);
    tc_value *values = calloc(n, sizeof *values);
    int rc = TC_OK;
    cli_progress prog = {0};
    if (names == NULL || cols == NULL || values == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    names[0] = "citizen_id";
    for (size_t i = 0; i < n; i++)
        names[i + 1] = cat->attrs[i].name;
    if ((rc = csv_reader_open(file, &rd, err)) != TC_OK)
        goto out;
    cli_progress_start(&prog, "reading citizens", (double)csv_reader_size(rd));
    rc = csv_reader_next(rd, &row, err);
    if (rc == 0) {
        rc = tc_errorf(err, TC_EPARSE, "%s: empty file (expected a header row)", file);
        goto out;
    }
    if (rc < 0)
        goto out;
    char what[128];
    snprintf(what, sizeof what, "not citizen_id nor an attribute of catalog '%s'", cat->name);
    if ((rc = map_header(file, &row, names, n + 1, NULL, cols, what, err)) != TC_OK)
        goto out;
    size_t width = row.n;
    size_t rec_len = tc_record_size(cat);
    uint32_t now = (uint32_t)tc_time_now();
    size_t rows = 0;
    while ((rc = csv_reader_next(rd, &row, err)) == 1) {
        rows++;
        L->rows_read++;
        cli_progress_update(&prog, (double)csv_reader_offset(rd), rows);
        int bad = check_row_width(L, file, &row, width);
        if (bad != 0) {
            if (bad < 0)
                goto fatal;
            continue;
        }
        unsigned char key[TC_CITIZEN_KEY_LEN];
        tc_id_info info;
        int r = read_id(L, file, &row, cols[0], &info, key);
        if (r < 0) {
            rc = r;
            goto fatal;
        }
        bad = r;
        for (size_t i = 0; i < n; i++) {
            tc_error verr;
            int c = cols[i + 1];
            if (tc_attr_parse(&cat->attrs[i], row.fields[c], row.lens[c], &values[i], &verr) ==
                TC_OK)
                continue;
            if ((rc = reject_row(L, file, row.line, c + 1, verr.msg)) != TC_OK)
                goto fatal;
            bad = 1;
        }
        if (!bad) {
            r = check_against_id(L, file, &row, cols + 1, values, &info);
            if (r < 0) {
                rc = r;
                goto fatal;
            }
            bad = r;
        }
        if (bad)
            continue;
        unsigned char *e = buf_grow(&L->pop, L->pop_stride);
        if (e == NULL) {
            rc = TC_ENOMEM;
            goto fatal;
        }
        uint32_t ln = (uint32_t)row.line;
        memcpy(e + PE_KEY, key, TC_CITIZEN_KEY_LEN);
        memcpy(e + PE_LINE, &ln, 4);
        tc_record_encode(cat, values, now, e + PE_REC);
        (void)rec_len;
        L->n_pop++;
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
    free(names);
    free(cols);
    free(values);
    return rc;
}

/* ---- sorting and cross-row checks ---- */

/* Sorting 100-byte entries by key directly would chase scattered memory on every comparison;
 * sorting compact (key prefix, index) pairs keeps the sort in cache. */
typedef struct sort_pair {
    uint64_t prefix; /* first 8 key bytes, big-endian, so integer order is byte order */
    uint32_t idx;
} sort_pair;

static const unsigned char *sort_base;
static size_t sort_stride;

static int cmp_pair(const void *a, const void *b)
{
    const sort_pair *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    int c = memcmp(sort_base + (size_t)x->idx * sort_stride,
                   sort_base + (size_t)y->idx * sort_stride, TC_CITIZEN_KEY_LEN);
    return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx); /* file order among equals */
}

static const unsigned char *consent_entry(const load *L, size_t i)
{
    return L->consent_arena.data + L->consent_off[i];
}

static const load *sort_load;

static int cmp_consent(const void *a, const void *b)
{
    const unsigned char *x = consent_entry(sort_load, *(const size_t *)a);
    const unsigned char *y = consent_entry(sort_load, *(const size_t *)b);
    size_t lx = x[4], ly = y[4];
    int c = memcmp(x + CE_HDR, y + CE_HDR, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    if (lx != ly)
        return (lx > ly) - (lx < ly);
    uint32_t nx, ny;
    memcpy(&nx, x, 4);
    memcpy(&ny, y, 4);
    return (nx > ny) - (nx < ny);
}

static uint32_t entry_line(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Both rows of a duplicate pair are rejected: the file cannot say which one is right. */
static int duplicate(load *L, const char *file, long line, long other, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, "duplicate %s, also on line %ld: both rows rejected", what, other);
    return reject_row(L, file, line, 0, msg);
}

static uint64_t key_prefix(const unsigned char *k)
{
    uint64_t p = 0;
    for (int b = 0; b < 8; b++)
        p = p << 8 | k[b];
    return p;
}

static int cmp_consent_pair(const void *a, const void *b)
{
    const sort_pair *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return cmp_consent(&(size_t){x->idx}, &(size_t){y->idx});
}

static int sort_consents(load *L, const char *file)
{
    sort_pair *pairs = malloc((L->n_consents + 1) * sizeof *pairs);
    size_t *off = malloc((L->n_consents + 1) * sizeof *off);
    buf sorted = {0};
    L->consent_rejected = calloc(L->n_consents + 1, 1);
    if (pairs == NULL || off == NULL || L->consent_rejected == NULL ||
        (buf_grow(&sorted, L->consent_arena.len) == NULL && L->consent_arena.len > 0)) {
        free(pairs);
        free(off);
        free(sorted.data);
        return TC_ENOMEM;
    }
    for (size_t i = 0; i < L->n_consents; i++) {
        pairs[i].prefix = key_prefix(consent_entry(L, i) + CE_HDR);
        pairs[i].idx = (uint32_t)i;
    }
    sort_load = L;
    qsort(pairs, L->n_consents, sizeof *pairs, cmp_consent_pair);
    /* Rewrite the arena in key order: later passes then read it front to back. */
    size_t o = 0;
    for (size_t i = 0; i < L->n_consents; i++) {
        const unsigned char *e = consent_entry(L, pairs[i].idx);
        size_t len = CE_HDR + e[4] + e[5];
        memcpy(sorted.data + o, e, len);
        off[i] = o;
        o += len;
    }
    free(pairs);
    free(L->consent_off);
    free(L->consent_arena.data);
    L->consent_off = off;
    L->consent_arena = sorted;
    /* Within a run of equal keys (sorted by line), every row is rejected, each naming the
     * first; the first names the second. */
    for (size_t i = 1; i < L->n_consents; i++) {
        const unsigned char *a = consent_entry(L, i - 1), *b = consent_entry(L, i);
        if (a[4] != b[4] || memcmp(a + CE_HDR, b + CE_HDR, a[4]) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && consent_entry(L, first - 1)[4] == b[4] &&
               memcmp(consent_entry(L, first - 1) + CE_HDR, b + CE_HDR, b[4]) == 0)
            first--;
        const char *what = "consent (same citizen ID, institution and purpose)";
        if (!L->consent_rejected[first]) {
            L->consent_rejected[first] = 1;
            if (duplicate(L, file, entry_line(consent_entry(L, first)), entry_line(b), what))
                return TC_ENOMEM;
        }
        L->consent_rejected[i] = 1;
        if (duplicate(L, file, entry_line(b), entry_line(consent_entry(L, first)), what))
            return TC_ENOMEM;
    }
    return TC_OK;
}

/* Is there a consent valid at now for this citizen key among the consents being loaded? */
static int consent_in_file(const load *L, const unsigned char key[TC_CITIZEN_KEY_LEN],
                           int64_t now)
{
    size_t lo = 0, hi = L->n_consents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(consent_entry(L, mid) + CE_HDR, key, TC_CITIZEN_KEY_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < L->n_consents; lo++) {
        const unsigned char *e = consent_entry(L, lo);
        tc_consent c;
        if (memcmp(e + CE_HDR, key, TC_CITIZEN_KEY_LEN) != 0)
            break;
        if (!L->consent_rejected[lo] &&
            tc_consent_decode(e + CE_HDR, e[4], e + CE_HDR + e[4], e[5], &c, NULL) == TC_OK &&
            tc_consent_valid_at(&c, now))
            return 1;
    }
    return 0;
}

static int sort_population(load *L, const char *file, tc_error *err)
{
    L->pop_order = malloc((L->n_pop + 1) * sizeof *L->pop_order);
    L->pop_rejected = calloc(L->n_pop + 1, 1);
    if (L->pop_order == NULL || L->pop_rejected == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    sort_pair *pairs = malloc((L->n_pop + 1) * sizeof *pairs);
    if (pairs == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    for (size_t i = 0; i < L->n_pop; i++) {
        const unsigned char *k = L->pop.data + i * L->pop_stride;
        uint64_t p = 0;
        for (int b = 0; b < 8; b++)
            p = p << 8 | k[b];
        pairs[i].prefix = p;
        pairs[i].idx = (uint32_t)i;
    }
    sort_base = L->pop.data;
    sort_stride = L->pop_stride;
    qsort(pairs, L->n_pop, sizeof *pairs, cmp_pair);
    /* Move the entries into key order once, so the passes that follow (duplicates, consent,
     * writing) read memory front to back instead of missing the cache on every row. */
    buf sorted = {0};
    if (buf_grow(&sorted, L->n_pop * L->pop_stride) == NULL && L->n_pop > 0) {
        free(pairs);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < L->n_pop; i++) {
        memcpy(sorted.data + i * L->pop_stride, L->pop.data + (size_t)pairs[i].idx * L->pop_stride,
               L->pop_stride);
        L->pop_order[i] = (uint32_t)i;
    }
    free(pairs);
    free(L->pop.data);
    L->pop = sorted;
    /* Duplicates: every later row with the same key names the first one's line. */
    for (size_t i = 1; i < L->n_pop; i++) {
        const unsigned char *a = L->pop.data + (size_t)L->pop_order[i - 1] * L->pop_stride;
        const unsigned char *b = L->pop.data + (size_t)L->pop_order[i] * L->pop_stride;
        if (memcmp(a, b, TC_CITIZEN_KEY_LEN) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 &&
               memcmp(L->pop.data + (size_t)L->pop_order[first - 1] * L->pop_stride, b,
                      TC_CITIZEN_KEY_LEN) == 0)
            first--;
        const unsigned char *f = L->pop.data + (size_t)L->pop_order[first] * L->pop_stride;
        if (!L->pop_rejected[L->pop_order[first]]) {
            L->pop_rejected[L->pop_order[first]] = 1;
            if (duplicate(L, file, entry_line(f + PE_LINE), entry_line(b + PE_LINE),
                          "citizen ID") != TC_OK)
                return tc_errorf(err, TC_ENOMEM, "out of memory");
        }
        L->pop_rejected[L->pop_order[i]] = 1;
        if (duplicate(L, file, entry_line(b + PE_LINE), entry_line(f + PE_LINE),
                      "citizen ID") != TC_OK)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    /* Attributes are kept only for citizens who consent now: a consent valid today, loaded
     * before or in this run. A lapsed or revoked consent does not let new data in. */
    int64_t now = tc_time_now();
    for (size_t i = 0; i < L->n_pop; i++) {
        uint32_t idx = L->pop_order[i];
        if (L->pop_rejected[idx])
            continue;
        const unsigned char *e = L->pop.data + (size_t)idx * L->pop_stride;
        if (consent_in_file(L, e, now) || tc_reader_has_consent(L->reader, e, now))
            continue;
        L->pop_rejected[idx] = 1;
        if (reject_row(L, file, entry_line(e + PE_LINE), 0,
                       "the citizen has no consent valid now (load their consent first, or in "
                       "the same run with --consents)") != TC_OK)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    return TC_OK;
}

/* ---- rejects ---- */

static int cmp_reject(const void *a, const void *b)
{
    const reject *x = a, *y = b;
    /* Same pointer means same input; order inputs by address, lines within each. */
    if (x->file != y->file)
        return (x->file > y->file) - (x->file < y->file);
    return (x->line > y->line) - (x->line < y->line);
}

/* Sort by file and line and merge the reasons of one row; returns the number of rows. */
static size_t settle_rejects(load *L)
{
    if (L->n_rejects == 0)
        return 0;
    qsort(L->rejects, L->n_rejects, sizeof *L->rejects, cmp_reject);
    size_t w = 0;
    for (size_t i = 1; i < L->n_rejects; i++) {
        reject *cur = &L->rejects[w], *next = &L->rejects[i];
        if (cur->file == next->file && cur->line == next->line) {
            size_t a = strlen(cur->reason), b = strlen(next->reason);
            char *s = realloc(cur->reason, a + b + 3);
            if (s != NULL) {
                memcpy(s + a, "; ", 2);
                memcpy(s + a + 2, next->reason, b + 1);
                cur->reason = s;
            }
            free(next->reason);
            next->reason = NULL;
        } else {
            L->rejects[++w] = *next;
        }
    }
    L->n_rejects = w + 1;
    return L->n_rejects;
}

static void csv_write_field(FILE *f, const char *s, size_t len)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fwrite(s, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* Where the rejected rows of input file go: DIR/<basename>.rejects.csv, or beside the input. */
static void rejects_name(const char *dir, const char *input, char *out, size_t size)
{
    const char *base = strcmp(input, "-") == 0 ? "stdin" : input;
    if (dir != NULL) {
        const char *slash = strrchr(base, '/');
        snprintf(out, size, "%s/%s.rejects.csv", dir, slash != NULL ? slash + 1 : base);
    } else {
        snprintf(out, size, "%s.rejects.csv", base);
    }
}

/* One reject file per input: reject_line, reject_reason, then the input's own columns with the
 * row as it was, so the steward can fix the rows in place. Mode 0600: it holds citizen IDs.
 * Standard input cannot be read twice, so its reject file has the reasons only. */
static int write_rejects_of(load *L, const char *file, size_t *i, const char *path,
                            tc_error *err)
{
    int rc = TC_OK;
    csv_reader *rd = NULL;
    csv_row row;
    tc_error rerr = {0};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    }
    int more = 0;
    fputs("reject_line,reject_reason", f);
    if (strcmp(file, "-") != 0 && csv_reader_open(file, &rd, &rerr) == TC_OK &&
        csv_reader_next(rd, &row, &rerr) == 1) {
        for (size_t k = 0; k < row.n; k++) {
            fputc(',', f);
            csv_write_field(f, row.fields[k], row.lens[k]);
        }
        more = csv_reader_next(rd, &row, &rerr);
    }
    fputc('\n', f);
    for (; *i < L->n_rejects && L->rejects[*i].file == file; (*i)++) {
        const reject *r = &L->rejects[*i];
        while (more == 1 && row.line < r->line)
            more = csv_reader_next(rd, &row, &rerr);
        fprintf(f, "%ld,", r->line);
        csv_write_field(f, r->reason, strlen(r->reason));
        if (more == 1 && row.line == r->line)
            for (size_t k = 0; k < row.n; k++) {
                fputc(',', f);
                csv_write_field(f, row.fields[k], row.lens[k]);
            }
        fputc('\n', f);
    }
    csv_reader_close(rd);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    fclose(f);
    if (rc == TC_OK)
        fprintf(stderr, "rejected rows of %s and their reasons written to %s\n", file, path);
    return rc;
}

static int write_rejects(load *L, const char *dir, tc_error *err)
{
    size_t i = 0;
    while (i < L->n_rejects) {
        char path[4096];
        rejects_name(dir, L->rejects[i].file, path, sizeof path);
        int rc = write_rejects_of(L, L->rejects[i].file, &i, path, err);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

/* ---- writing ---- */

/* Rough upper bound of the space a load needs, so that a load that cannot fit is refused before
 * anything is written rather than stopped half-way by MDB_MAP_FULL. Random inserts leave pages
 * about half full, and copy-on-write needs room for the pages a batch rewrites. */
static int check_space(load *L, tc_error *err)
{
    tc_store_stats st;
    int rc = tc_store_stats_get(L->db.store, &st, err);
    if (rc != TC_OK)
        return rc;
    size_t need = 2 * (L->n_pop * (L->pop_stride + 16) + L->consent_arena.len +
                       L->n_consents * 16) +
                  (size_t)64 * st.page_size;
    size_t left = st.map_bytes > st.used_bytes ? st.map_bytes - st.used_bytes : 0;
    char a[32], b[32], c[32];
    if (need > left)
        return tc_errorf(err, TC_EFULL,
                         "%s: database full: this load needs about %s and the map has %s "
                         "left: raise --map-size (now %s); nothing was written",
                         tc_store_path(L->db.store), cli_bytes((double)need, a, sizeof a),
                         cli_bytes((double)left, b, sizeof b),
                         cli_bytes((double)st.map_bytes, c, sizeof c));
    return TC_OK;
}

static int write_consents(load *L, tc_error *err)
{
    tc_writer *w = NULL;
    int rc = TC_OK;
    size_t in_batch = 0, done = 0;
    cli_progress prog;
    cli_progress_start(&prog, "writing consents", (double)L->n_consents);
    if (L->n_consents == 0)
        goto out;
    if ((rc = tc_writer_begin(L->db.store, &w, err)) != TC_OK)
        goto out;
    /* Into an empty table, sorted unique keys can be appended: no tree search, full pages. */
    int append = tc_writer_consent_count(w) == 0;
    for (size_t i = 0; i < L->n_consents; i++) {
        if (L->consent_rejected[i])
            continue;
        const unsigned char *e = consent_entry(L, i);
        tc_consent c;
        if ((rc = tc_consent_decode(e + CE_HDR, e[4], e + CE_HDR + e[4], e[5], &c, err)) != TC_OK)
            goto out;
        if (w == NULL && (rc = tc_writer_begin(L->db.store, &w, err)) != TC_OK)
            goto out;
        int changed = 1;
        if (append)
            rc = tc_writer_append_consent(w, e + CE_HDR, &c, err);
        else
            rc = tc_writer_put_consent(w, e + CE_HDR, &c, &changed, err);
        if (rc != TC_OK)
            goto out;
        if (changed)
            L->new_consents++;
        else
            L->unchanged_consents++;
        done++;
        if (++in_batch == L->batch) {
            rc = tc_writer_commit(w, err);
            w = NULL;
            in_batch = 0;
            if (rc != TC_OK)
                goto out;
            L->commits++;
            cli_progress_update(&prog, (double)i, done);
        }
    }
    if (w != NULL) {
        rc = tc_writer_commit(w, err);
        w = NULL;
    }
out:
    tc_writer_abort(w);
    cli_progress_finish(&prog);
    return rc;
}

static int write_population(load *L, tc_error *err)
{
    tc_writer *w = NULL;
    int rc = TC_OK;
    size_t in_batch = 0, done = 0;
    size_t rec_len = tc_record_size(L->db.catalog);
    cli_progress prog;
    cli_progress_start(&prog, "writing citizens", (double)L->n_pop);
    if ((rc = tc_writer_begin(L->db.store, &w, err)) != TC_OK)
        goto out;
    /* Into an empty table, sorted unique keys can be appended: no tree search, full pages. */
    int append = tc_writer_citizen_count(w) == 0;
    for (size_t i = 0; i < L->n_pop; i++) {
        uint32_t idx = L->pop_order[i];
        if (L->pop_rejected[idx])
            continue;
        const unsigned char *e = L->pop.data + (size_t)idx * L->pop_stride;
        if (w == NULL && (rc = tc_writer_begin(L->db.store, &w, err)) != TC_OK)
            goto out;
        if (append) {
            if ((rc = tc_writer_append_citizen(w, e + PE_KEY, e + PE_REC, rec_len, err)) !=
                TC_OK)
                goto out;
            L->new_citizens++;
        } else {
            int existed = tc_writer_has_citizen(w, e + PE_KEY), changed = 0;
            if ((rc = tc_writer_put_citizen(w, e + PE_KEY, e + PE_REC, rec_len, &changed,
                                            err)) != TC_OK)
                goto out;
            if (!changed)
                L->unchanged_citizens++;
            else if (existed)
                L->updated_citizens++;
            else
                L->new_citizens++;
        }
        done++;
        if (++in_batch == L->batch) {
            rc = tc_writer_commit(w, err);
            w = NULL;
            in_batch = 0;
            if (rc != TC_OK)
                goto out;
            L->commits++;
            cli_progress_update(&prog, (double)i, done);
        }
    }
    if (w != NULL) {
        rc = tc_writer_commit(w, err);
        w = NULL;
    }
out:
    tc_writer_abort(w);
    cli_progress_finish(&prog);
    return rc;
}

/* What a load would change, without writing: each row compared with the stored one. */
static int dry_run(load *L, tc_error *err)
{
    tc_reader *r = NULL;
    int rc = tc_reader_new(L->db.store, &r, err);
    if (rc != TC_OK || (rc = tc_reader_begin(r, err)) != TC_OK)
        goto out;
    size_t rec_len = tc_record_size(L->db.catalog);
    for (size_t i = 0; i < L->n_pop; i++) {
        if (L->pop_rejected[L->pop_order[i]])
            continue;
        const unsigned char *e = L->pop.data + (size_t)L->pop_order[i] * L->pop_stride;
        tc_record old;
        int found = tc_reader_citizen(r, e + PE_KEY, &old, NULL);
        if (found != TC_OK)
            L->new_citizens++;
        else if (tc_record_same_values(old.bytes, old.len, e + PE_REC, rec_len))
            L->unchanged_citizens++;
        else
            L->updated_citizens++;
    }
    for (size_t i = 0; i < L->n_consents; i++) {
        if (L->consent_rejected[i])
            continue;
        const unsigned char *e = consent_entry(L, i);
        tc_consent now, stored;
        if ((rc = tc_consent_decode(e + CE_HDR, e[4], e + CE_HDR + e[4], e[5], &now, err)) !=
            TC_OK)
            goto out;
        if (tc_reader_consent(r, e + CE_HDR, now.institution, now.purpose, &stored, NULL) ==
                TC_OK &&
            memcmp(&now, &stored, sizeof now) == 0)
            L->unchanged_consents++;
        else
            L->new_consents++;
    }
out:
    if (r != NULL)
        tc_reader_end(r);
    tc_reader_free(r);
    return rc;
}

/* ---- the command ---- */

static const char help[] =
    "usage: tinchap load --db DIR [options] [population.csv]\n"
    "       tinchap load --db DIR --consents consents.csv [population.csv]\n"
    "\n"
    "Load citizen attributes (population.csv: citizen_id plus every catalog attribute, by\n"
    "header name, in any order) and consents (consents.csv: citizen_id, institution, purpose,\n"
    "consent_ref, granted_at, expires_at[, revoked_at]). Rows are upserts: a citizen already\n"
    "present is replaced, identical rows are skipped, so a load can be re-run. Attributes are\n"
    "kept only for citizens with a consent on record (in the database or in --consents).\n"
    "Every file is validated before anything is written: past --max-errors rejected rows,\n"
    "nothing is written at all. Reading '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  --db DIR           database directory, created if absent (required)\n"
    "  --consents FILE    consents to load first\n"
    "  --key FILE         secret key (default $TINCHAP_KEY)\n"
    "  --catalog FILE     attribute catalog (default $TINCHAP_CATALOG or the shipped one)\n"
    "  --max-errors N     rejected rows tolerated, a count or a share such as 1% of the rows\n"
    "                     read (default 0); rejected rows are not loaded\n"
    "  --rejects DIR      where to write <input>.rejects.csv files: each rejected row with\n"
    "                     its line and reasons (CSV, mode 0600); by default beside each\n"
    "                     input, when --max-errors > 0\n"
    "  --batch-size N     rows per transaction (default 50000)\n"
    "  --map-size SIZE    maximum database size, e.g. 64G (default 32G or the current size)\n"
    "  --dry-run          validate and report what would change; write nothing\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 loaded, 1 failed or too many rejected rows (nothing written), 2 bad usage.\n";

enum {
    O_DB = 1000,
    O_CONSENTS,
    O_KEY,
    O_CATALOG,
    O_MAX_ERRORS,
    O_REJECTS,
    O_BATCH,
    O_MAP,
    O_DRY_RUN
};

static void load_free(load *L)
{
    for (size_t i = 0; i < L->n_rejects; i++)
        free(L->rejects[i].reason);
    free(L->rejects);
    free(L->consent_arena.data);
    free(L->consent_off);
    free(L->consent_rejected);
    free(L->pop.data);
    free(L->pop_order);
    free(L->pop_rejected);
    if (L->reader != NULL)
        tc_reader_end(L->reader);
    tc_reader_free(L->reader);
    tc_hasher_free(L->hasher);
    cli_db_close(&L->db);
}

int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"consents", required_argument, NULL, O_CONSENTS},
        {"key", required_argument, NULL, O_KEY},
        {"catalog", required_argument, NULL, O_CATALOG},
        {"max-errors", required_argument, NULL, O_MAX_ERRORS},
        {"rejects", required_argument, NULL, O_REJECTS},
        {"batch-size", required_argument, NULL, O_BATCH},
        {"map-size", required_argument, NULL, O_MAP},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    cli_db_options o = {.need_key = 1, .create = 1};
    load L = {.cmd = "load", .batch = LOAD_DEFAULT_BATCH, .max_errors_pct = -1};
    const char *consents = NULL, *population = NULL;
    long batch = LOAD_DEFAULT_BATCH;
    int c, dry = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB:
            o.db = optarg;
            break;
        case O_CONSENTS:
            consents = optarg;
            break;
        case O_KEY:
            o.key = optarg;
            break;
        case O_CATALOG:
            o.catalog = optarg;
            break;
        case O_MAX_ERRORS: {
            size_t len = strlen(optarg);
            char *end = NULL;
            if (len > 1 && optarg[len - 1] == '%') {
                L.max_errors_pct = strtod(optarg, &end);
                if (end != optarg + len - 1 || !(L.max_errors_pct >= 0) ||
                    L.max_errors_pct > 100)
                    return cli_usage("load", "--max-errors: '%s' is not a percentage", optarg);
            } else if (cli_parse_count(optarg, 0, 1000000000L, &L.max_errors) != 0) {
                return cli_usage("load", "--max-errors: '%s' is not a count or a percentage",
                                 optarg);
            }
            break;
        }
        case O_REJECTS:
            L.rejects_path = optarg;
            break;
        case O_BATCH:
            if (cli_parse_count(optarg, 1, 10000000L, &batch) != 0)
                return cli_usage("load", "--batch-size: '%s' is not a count from 1", optarg);
            break;
        case O_MAP:
            if (cli_parse_size(optarg, &o.map_size) != 0)
                return cli_usage("load", "--map-size: '%s' is not a size like 64G", optarg);
            break;
        case O_DRY_RUN:
            dry = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return cli_usage("load", "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (o.db == NULL)
        return cli_usage("load", "--db DIR is required");
    if (optind < argc)
        population = argv[optind++];
    if (optind < argc)
        return cli_usage("load", "one population file at most; got '%s' too", argv[optind]);
    if (population == NULL && consents == NULL)
        return cli_usage("load", "nothing to load: give population.csv and/or --consents FILE");
    L.batch = (size_t)batch;
    o.read_only = dry;
    o.create = !dry;

    tc_error err = {0};
    int rc = CLI_EXIT_FAIL;
    double t0 = cli_now();
    if (cli_db_open(&o, &L.db, &err) != TC_OK)
        return cli_fail("load", &err);
    if (tc_hasher_new(L.db.key, &L.hasher, &err) != TC_OK ||
        tc_reader_new(L.db.store, &L.reader, &err) != TC_OK ||
        tc_reader_begin(L.reader, &err) != TC_OK) {
        cli_fail("load", &err);
        goto out;
    }
    L.pop_stride = PE_REC + tc_record_size(L.db.catalog);
    {
        char today[TC_TIME_TEXT_LEN];
        tc_time_format(tc_time_now(), today);
        L.year = atoi(today);
    }
    if (consents != NULL && (read_consents(&L, consents, &err) != TC_OK ||
                             sort_consents(&L, consents) != TC_OK)) {
        if (err.code == TC_OK)
            tc_errorf(&err, TC_ENOMEM, "out of memory");
        cli_fail("load", &err);
        goto out;
    }
    if (population != NULL && (read_population(&L, population, &err) != TC_OK ||
                               sort_population(&L, population, &err) != TC_OK)) {
        cli_fail("load", &err);
        goto out;
    }
    /* The snapshot used for the consent check is over: writers must not wait on it. */
    tc_reader_end(L.reader);
    tc_reader_free(L.reader);
    L.reader = NULL;
    if (L.messages > L.printed)
        fprintf(stderr, "... and %zu more problems\n", L.messages - L.printed);
    size_t rejected = settle_rejects(&L);
    if (L.max_errors_pct >= 0)
        L.max_errors = (long)(L.max_errors_pct / 100.0 * (double)(L.rows_read));
    if (rejected > 0 && (L.rejects_path != NULL || L.max_errors > 0) &&
        write_rejects(&L, L.rejects_path, &err) != TC_OK) {
        cli_fail("load", &err);
        goto out;
    }
    if ((long)rejected > L.max_errors) {
        cli_failf("load", "%zu rows rejected, more than --max-errors %ld allows: nothing was "
                          "written",
                  rejected, L.max_errors);
        goto out;
    }
    if (dry) {
        if (dry_run(&L, &err) != TC_OK) {
            cli_fail("load", &err);
            goto out;
        }
        printf("dry run, nothing written: citizens %zu new, %zu updated, %zu unchanged; "
               "consents %zu new or changed, %zu unchanged; %zu rows rejected\n",
               L.new_citizens, L.updated_citizens, L.unchanged_citizens, L.new_consents,
               L.unchanged_consents, rejected);
        rc = 0;
        goto out;
    }
    if (check_space(&L, &err) != TC_OK || write_consents(&L, &err) != TC_OK ||
        write_population(&L, &err) != TC_OK) {
        cli_fail("load", &err);
        if (L.commits > 0)
            fprintf(stderr, "tinchap load: batches committed before the failure are kept; "
                            "re-running the same load completes it\n");
        goto out;
    }
    double el = cli_now() - t0;
    size_t total = L.n_pop + L.n_consents;
    printf("loaded in %.2f s (%.0f rows/s): citizens %zu new, %zu updated, %zu unchanged; "
           "consents %zu written, %zu unchanged; %zu rows rejected\n",
           el, el > 0 ? (double)total / el : 0, L.new_citizens, L.updated_citizens,
           L.unchanged_citizens, L.new_consents, L.unchanged_consents, rejected);
    rc = 0;
out:
    load_free(&L);
    return rc;
}
