/* csv_reader — rows of a CSV file, one at a time, with the line each started on; and the one
 * way tinchap writes a CSV field, so that what it writes reads back here as it was.
 *
 * A pull interface over libcsv (which handles quoting, embedded commas and newlines, CRLF); this
 * module adds what libcsv lacks for messages a person can act on: the line number of each row,
 * a UTF-8 byte-order mark removed from the header, bounded field and line lengths, and strict
 * quoting errors with their line.
 */
#ifndef TC_CSV_READER_H
#define TC_CSV_READER_H

#include <stddef.h>
#include <stdio.h>

#include "tc_error.h"

#define CSV_FIELD_MAX 4096    /* bytes per field */
#define CSV_FIELDS_MAX 1024   /* fields per row */
#define CSV_LINE_MAX (1u << 20) /* bytes per physical line */

typedef struct csv_reader csv_reader;

typedef struct csv_row {
    size_t n;               /* number of fields */
    const char *const *fields; /* NUL-terminated, valid until the next csv_reader_next */
    const size_t *lens;
    long line;              /* 1-based line where the row starts */
} csv_row;

/* path "-" reads standard input. */
int csv_reader_open(const char *path, csv_reader **out, tc_error *err);
void csv_reader_close(csv_reader *r);

/* 1 and a row, 0 at the end of the file, or a negative TC_E* code with err filled
 * ("file:line: reason"). Blank lines are skipped. */
int csv_reader_next(csv_reader *r, csv_row *row, tc_error *err);

/* Bytes consumed so far and the file's size (0 if unknown), for progress. */
size_t csv_reader_offset(const csv_reader *r);
size_t csv_reader_size(const csv_reader *r);
const char *csv_reader_path(const csv_reader *r);

/* Map a header row: each of names[0..n) once (unless optional[j]), nothing else; cols[j] gets
 * the column of names[j] (-1 for an optional one absent). what says, in the message about an
 * unknown column, which columns the file has. */
int csv_map_header(const char *file, const csv_row *h, const char *const *names, size_t n,
                   const int *optional, int *cols, const char *what, tc_error *err);

/* One field: as it is, or quoted by libcsv when it holds a comma, a quote or a line break.
 * Write errors show in ferror(f). */
void csv_write_field(FILE *f, const char *s, size_t len);

#endif
