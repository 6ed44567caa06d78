/* load — the pieces of `tinchap load`: reading and validating the input files into memory
 * (load_read.c), sorting them and the checks across rows (load_sort.c), reject files and the
 * writes (load_write.c). cmd_load.c is the command around them; its header comment describes
 * the three phases and their guarantees.
 *
 * Rows are kept encoded, in two layouts:
 *   consents: an arena of variable-length entries, line (4) | key length (1) | value length (1)
 *             | key | value, found through offsets;
 *   citizens: fixed-size entries, key | line (4) | record.
 */
#ifndef TC_LOAD_H
#define TC_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "csv_reader.h"
#include "tc_buf.h"
#include "tc_consent.h"
#include "tc_error.h"
#include "tc_key.h"

#define LOAD_PRINT_MAX 100 /* messages shown on stderr; the reject files have them all */
#define LOAD_DEFAULT_BATCH 50000

#define CE_HDR 6 /* consent entry header: line, key length, value length */
#define PE_KEY 0
#define PE_LINE TC_CITIZEN_KEY_LEN
#define PE_REC (TC_CITIZEN_KEY_LEN + 4)

typedef struct reject {
    const char *file; /* which input (static lifetime: argv) */
    long line;
    char *reason;
} reject;

typedef struct deferred { /* a problem kept to be reported later (load_replay) */
    const char *file;
    long line;
    int column;
    char *msg;
} deferred;

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
    tc_buf consent_arena;
    size_t *consent_off;
    size_t n_consents, cap_consents;
    /* citizens: fixed-size entries: key, line, record */
    tc_buf pop;
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
    /* A population read on a thread of its own, beside the consents: its problems are kept in
     * order, not reported, and replayed into the command's load after the consents' (so
     * messages and counts come out as from one read after the other). */
    int defer;
    tc_buf deferred; /* of deferred entries */
} load;

/* Record a problem with one row (column 0: the whole row); prints the first LOAD_PRINT_MAX. */
int load_reject(load *L, const char *file, long line, int column, const char *msg);

/* Report into to the problems from kept, in the order they were found, and free them. */
int load_replay(load *to, load *from);

/* Phase 1: read and validate a file into L. Fatal problems (unreadable file, bad header,
 * malformed CSV) fail; bad rows are rejected and counted. */
int load_read_consents(load *L, const char *file, tc_error *err);
int load_read_population(load *L, const char *file, tc_error *err);

/* Sort into key order and reject duplicates; population rows of citizens without a consent
 * valid now (in L's consents or the database) are rejected too. */
int load_sort_consents(load *L, const char *file);
int load_sort_population(load *L, const char *file, tc_error *err);
const unsigned char *load_consent_entry(const load *L, size_t i);

/* Sort the rejects by file and line, merging one row's reasons; returns the rows rejected. */
size_t load_settle_rejects(load *L);
/* <input>.rejects.csv per input, in dir (NULL: beside each input). */
int load_write_rejects(load *L, const char *dir, tc_error *err);

/* Phase 3. */
int load_check_space(load *L, tc_error *err);
int load_write(load *L, tc_error *err); /* citizens and consents, in key order */
/* What the writes would change, without writing. */
int load_dry_run(load *L, tc_error *err);

#endif
