/* load_write — reject files and phase 3 of tinchap load: the writes, batch by batch. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "tc_file.h"
#include "tc_id.h"
#include "tc_record.h"
#include "tc_time.h"

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
size_t load_settle_rejects(load *L)
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
    tc_file out;
    if ((rc = tc_file_open(&out, path, TC_FILE_REPLACE, 0600, err)) != TC_OK)
        return rc;
    FILE *f = out.f;
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
    rc = tc_file_commit(&out, err);
    tc_file_discard(&out);
    if (rc == TC_OK)
        fprintf(stderr, "rejected rows of %s and their reasons written to %s\n", file, path);
    return rc;
}

int load_write_rejects(load *L, const char *dir, tc_error *err)
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
int load_check_space(load *L, tc_error *err)
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

/* ---- writing in batches ----
 *
 * Rows go in transactions of L->batch rows each: a transaction is begun for the first row after
 * a commit, committed once full, and what is left is committed at the end or, on an error,
 * abandoned (batches committed before it stay; re-running the load is harmless: cmd_load.c). */

typedef struct batch {
    load *L;
    tc_writer *w; /* NULL between a commit and the next row */
    size_t in_batch, done;
    cli_progress prog;
} batch;

static void batch_start(batch *b, load *L, const char *what, size_t total)
{
    memset(b, 0, sizeof *b);
    b->L = L;
    cli_progress_start(&b->prog, what, (double)total);
}

/* The transaction the next row goes into. */
static int batch_writer(batch *b, tc_error *err)
{
    return b->w != NULL ? TC_OK : tc_writer_begin(b->L->db.store, &b->w, err);
}

/* The i-th input row was written: commit when the batch is full. */
static int batch_row_done(batch *b, size_t i, tc_error *err)
{
    b->done++;
    if (++b->in_batch < b->L->batch)
        return TC_OK;
    int rc = tc_writer_commit(b->w, err);
    b->w = NULL;
    b->in_batch = 0;
    if (rc != TC_OK)
        return rc;
    b->L->commits++;
    cli_progress_update(&b->prog, (double)i, b->done);
    return TC_OK;
}

/* Commit what is left when rc is TC_OK, else abandon it; the result. */
static int batch_end(batch *b, int rc, tc_error *err)
{
    if (rc == TC_OK && b->w != NULL) {
        rc = tc_writer_commit(b->w, err);
        b->w = NULL;
    }
    tc_writer_abort(b->w);
    cli_progress_finish(&b->prog);
    return rc;
}

/* One consent, appended or put, and counted as new or unchanged. */
static int write_consent(load *L, tc_writer *w, int append, const unsigned char *e, tc_error *err)
{
    tc_consent c;
    int changed = 1;
    int rc = tc_consent_decode(e + CE_HDR, e[4], e + CE_HDR + e[4], e[5], &c, err);
    if (rc == TC_OK)
        rc = append ? tc_writer_append_consent(w, e + CE_HDR, &c, err)
                    : tc_writer_put_consent(w, e + CE_HDR, &c, tc_time_now(), &changed, NULL, err);
    if (rc != TC_OK)
        return rc;
    if (changed)
        L->new_consents++;
    else
        L->unchanged_consents++;
    return TC_OK;
}

/* One citizen's record, appended or put, and counted as new, updated or unchanged. */
static int write_citizen(load *L, tc_writer *w, int append, const unsigned char *e, tc_error *err)
{
    size_t rec_len = tc_record_size(L->db.catalog);
    if (append) {
        int rc = tc_writer_append_citizen(w, e + PE_KEY, e + PE_REC, rec_len, err);
        if (rc == TC_OK)
            L->new_citizens++;
        return rc;
    }
    int existed = tc_writer_has_citizen(w, e + PE_KEY), changed = 0;
    int rc = tc_writer_put_citizen(w, e + PE_KEY, e + PE_REC, rec_len, &changed, err);
    if (rc != TC_OK)
        return rc;
    if (!changed)
        L->unchanged_citizens++;
    else if (existed)
        L->updated_citizens++;
    else
        L->new_citizens++;
    return TC_OK;
}

/* Citizens and consents in one pass in key order, each citizen's record before their consents,
 * as the store keeps them (tc_store.h): into an empty database every row is appended, with no
 * tree search and full pages. */
int load_write(load *L, tc_error *err)
{
    batch b;
    int rc;
    batch_start(&b, L, "writing citizens and consents", L->n_pop + L->n_consents);
    if ((rc = batch_writer(&b, err)) != TC_OK)
        goto out;
    int append = tc_writer_citizen_count(b.w) == 0 && tc_writer_consent_count(b.w) == 0;
    size_t i = 0, j = 0;
    while (i < L->n_pop || j < L->n_consents) {
        uint32_t idx = i < L->n_pop ? L->pop_order[i] : 0;
        const unsigned char *pe = i < L->n_pop ? L->pop.data + (size_t)idx * L->pop_stride : NULL;
        const unsigned char *ce = j < L->n_consents ? load_consent_entry(L, j) : NULL;
        /* a record's key is the prefix of its consents' keys: it sorts first */
        int citizen =
            pe != NULL && (ce == NULL || memcmp(pe + PE_KEY, ce + CE_HDR, TC_CITIZEN_KEY_LEN) <= 0);
        int rejected = citizen ? L->pop_rejected[idx] : L->consent_rejected[j];
        if (citizen)
            i++;
        else
            j++;
        if (rejected)
            continue;
        if ((rc = batch_writer(&b, err)) != TC_OK ||
            (rc = citizen ? write_citizen(L, b.w, append, pe, err)
                          : write_consent(L, b.w, append, ce, err)) != TC_OK ||
            (rc = batch_row_done(&b, i + j, err)) != TC_OK)
            goto out;
    }
out:
    return batch_end(&b, rc, err);
}

/* What a load would change, without writing: each row compared with the stored one. */
int load_dry_run(load *L, tc_error *err)
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
        const unsigned char *e = load_consent_entry(L, i);
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

