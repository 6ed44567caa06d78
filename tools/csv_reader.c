#include "csv_reader.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct csv_reader {
    FILE *f;
    char *path;
    struct csv_parser parser;
    char *line;
    size_t line_cap;
    long line_no;
    size_t offset, size;
    /* The row being assembled. */
    char *data;
    size_t data_len, data_cap;
    size_t offsets[CSV_FIELDS_MAX];
    size_t lens[CSV_FIELDS_MAX];
    const char *fields[CSV_FIELDS_MAX];
    size_t n_fields;
    long row_line;
    long ended_line; /* the line on which the last row ended */
    int row_ready;
    int handed_out; /* the current row was returned: reset before assembling the next */
    int overflow; /* 1: too many fields, 2: field too long, 3: no memory, 4: bare CR */
    int eof;
};

static void on_field(void *field, size_t len, void *arg)
{
    csv_reader *r = arg;
    if (r->row_ready) {
        r->overflow = 4; /* a second row ended on the same line */
        return;
    }
    if (r->n_fields >= CSV_FIELDS_MAX) {
        r->overflow = 1;
        return;
    }
    if (len > CSV_FIELD_MAX) {
        r->overflow = 2;
        len = 0;
    }
    if (r->data_len + len + 1 > r->data_cap) {
        size_t cap = r->data_cap ? r->data_cap : 4096;
        while (cap < r->data_len + len + 1)
            cap *= 2;
        char *d = realloc(r->data, cap);
        if (d == NULL) {
            r->overflow = 3;
            return;
        }
        r->data = d;
        r->data_cap = cap;
    }
    if (len > 0)
        memcpy(r->data + r->data_len, field, len);
    r->data[r->data_len + len] = '\0';
    r->offsets[r->n_fields] = r->data_len;
    r->lens[r->n_fields] = len;
    r->n_fields++;
    r->data_len += len + 1;
}

static void on_row(int c, void *arg)
{
    (void)c;
    csv_reader *r = arg;
    if (r->row_ready && r->n_fields > 0)
        r->overflow = 4;
    r->row_ready = 1;
    r->ended_line = r->line_no;
}

int csv_reader_open(const char *path, csv_reader **out, tc_error *err)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    r->path = strdup(path);
    if (strcmp(path, "-") == 0) {
        r->f = stdin;
    } else {
        r->f = fopen(path, "rb");
        if (r->f == NULL) {
            int e = errno;
            free(r->path);
            free(r);
            return tc_errorf(err, e == ENOENT ? TC_ENOTFOUND : TC_EIO, "%s: %s", path,
                             strerror(e));
        }
        struct stat st;
        if (fstat(fileno(r->f), &st) == 0 && S_ISREG(st.st_mode))
            r->size = (size_t)st.st_size;
    }
    /* STRICT: a stray quote is an error, not guessed at. */
    if (csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        csv_reader_close(r);
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    *out = r;
    return TC_OK;
}

void csv_reader_close(csv_reader *r)
{
    if (r == NULL)
        return;
    if (r->f != NULL && r->f != stdin)
        fclose(r->f);
    csv_free(&r->parser);
    free(r->line);
    free(r->data);
    free(r->path);
    free(r);
}

static int take_row(csv_reader *r, csv_row *row, tc_error *err)
{
    r->row_ready = 0;
    if (r->overflow) {
        int kind = r->overflow;
        r->overflow = 0;
        r->n_fields = 0;
        r->data_len = 0;
        if (kind == 3)
            return tc_errorf(err, TC_ENOMEM, "%s:%ld: out of memory", r->path, r->row_line);
        if (kind == 4)
            return tc_errorf(err, TC_EPARSE, "%s:%ld: a bare carriage return inside a line",
                             r->path, r->row_line);
        if (kind == 1)
            return tc_errorf(err, TC_EPARSE, "%s:%ld: more than %d fields", r->path,
                             r->row_line, CSV_FIELDS_MAX);
        return tc_errorf(err, TC_EPARSE, "%s:%ld: a field is longer than %d bytes", r->path,
                         r->row_line, CSV_FIELD_MAX);
    }
    for (size_t i = 0; i < r->n_fields; i++)
        r->fields[i] = r->data + r->offsets[i];
    row->n = r->n_fields;
    row->fields = r->fields;
    row->lens = r->lens;
    row->line = r->row_line;
    return 1;
}

int csv_reader_next(csv_reader *r, csv_row *row, tc_error *err)
{
    if (r->handed_out) {
        r->handed_out = 0;
        r->n_fields = 0;
        r->data_len = 0;
    }
    for (;;) {
        if (r->row_ready) {
            if (r->n_fields == 0 && !r->overflow) { /* blank line */
                r->row_ready = 0;
                continue;
            }
            r->handed_out = 1;
            return take_row(r, row, err);
        }
        if (r->eof)
            return 0;
        errno = 0;
        ssize_t n = getline(&r->line, &r->line_cap, r->f);
        if (n < 0) {
            if (ferror(r->f))
                return tc_errorf(err, TC_EIO, "%s: %s", r->path, strerror(errno));
            r->eof = 1;
            if (csv_fini(&r->parser, on_field, on_row, r) != 0)
                return tc_errorf(err, TC_EPARSE,
                                 "%s:%ld: unterminated quoted field at the end of the file",
                                 r->path, r->row_line);
            continue;
        }
        r->line_no++;
        if ((size_t)n > CSV_LINE_MAX)
            return tc_errorf(err, TC_EPARSE, "%s:%ld: line longer than %u bytes", r->path,
                             r->line_no, CSV_LINE_MAX);
        r->offset += (size_t)n;
        const char *p = r->line;
        size_t len = (size_t)n;
        if (r->line_no == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3, len -= 3; /* UTF-8 byte-order mark */
        /* A row starts on the first line fed while nothing of it has been parsed yet. */
        if (r->n_fields == 0 && r->parser.pstate == 0 && r->parser.entry_pos == 0)
            r->row_line = r->line_no;
        if (csv_parse(&r->parser, p, len, on_field, on_row, r) != len)
            return tc_errorf(err, TC_EPARSE, "%s:%ld: %s", r->path, r->line_no,
                             csv_error(&r->parser) == CSV_EPARSE
                                 ? "malformed quoting (a quote inside an unquoted field, or text "
                                   "after a closing quote)"
                                 : csv_strerror(csv_error(&r->parser)));
        /* Text after the end of a row on this line: a bare carriage return ended the row, and
         * what follows would become a row of its own, seen only later (at the end of the file,
         * or after a quoted field that goes on over the next lines) with the wrong line. */
        if (r->ended_line == r->line_no && (r->parser.pstate != 0 || r->parser.entry_pos != 0))
            r->overflow = 4;
    }
}

size_t csv_reader_offset(const csv_reader *r)
{
    return r->offset;
}

size_t csv_reader_size(const csv_reader *r)
{
    return r->size;
}

const char *csv_reader_path(const csv_reader *r)
{
    return r->path;
}

void csv_write_field(FILE *f, const char *s, size_t len)
{
    if (memchr(s, ',', len) == NULL && memchr(s, '"', len) == NULL &&
        memchr(s, '\n', len) == NULL && memchr(s, '\r', len) == NULL)
        fwrite(s, 1, len, f);
    else
        csv_fwrite(f, s, len);
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
int csv_map_header(const char *file, const csv_row *h, const char *const *names, size_t n,
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
