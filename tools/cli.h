/* cli — what every tinchap subcommand shares: defaults for the catalog and the secret key,
 * opening the store, size arguments, and one way to report an error and exit.
 *
 * Exit codes: 0 success, 1 an operation failed, 2 bad usage. Subcommands print their own
 * --help text to stdout and errors to stderr as "tinchap <cmd>: message".
 */
#ifndef TC_CLI_H
#define TC_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_key.h"
#include "tc_store.h"

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Directory holding catalog.json, reasons.json and the shipped models: $TINCHAP_MODELS_DIR, or
 * the directory fixed at build time. */
const char *cli_models_dir(void);

/* Path of a file in cli_models_dir(), in a static buffer. */
const char *cli_models_file(const char *name);

/* The catalog path to use when --catalog is absent: $TINCHAP_CATALOG or models/catalog.json. */
const char *cli_default_catalog(void);

/* The secret key path when --key is absent: $TINCHAP_KEY, or NULL. */
const char *cli_default_key(void);

/* Print "tinchap <cmd>: <msg>" to stderr and return CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const tc_error *err);
int cli_failf(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bad usage: message plus "try 'tinchap <cmd> --help'"; returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An output file a command will write (tc_file) checked before it reads anything: 0, or the
 * failure exit status with "PATH: exists (use --force to replace it)" or why PATH cannot be
 * written. "-" (standard output) always passes. */
int cli_check_out(const char *cmd, const char *path, int force);

/* "64M", "32G", "1048576" -> bytes. 0 on success. */
int cli_parse_size(const char *text, size_t *out);
/* --max-errors: a count ("10", "1k": *count, *pct = -1) or a share of the rows read ("1%":
 * *pct in [0, 100]). 0, or -1 when it is neither. */
int cli_parse_max_errors(const char *text, long *count, double *pct);
/* A positive count, optionally with k/M suffixes ("100k", "1M"). */
int cli_parse_count(const char *text, long min, long max, long *out);

/* Everything a command that touches the database needs, opened together and closed together. */
typedef struct cli_db {
    tc_catalog *catalog;
    tc_key *key;       /* NULL when not needed */
    tc_store *store;
} cli_db;

typedef struct cli_db_options {
    const char *db;        /* --db, required */
    const char *catalog;   /* --catalog or NULL for the default */
    const char *key;       /* --key or NULL for the default */
    size_t map_size;       /* --map-size or 0 */
    int need_key;
    int read_only;
    int create;
} cli_db_options;

int cli_db_open(const cli_db_options *opt, cli_db *out, tc_error *err);
void cli_db_close(cli_db *db);

/* Read a citizen ID argument and hash it; the message never contains the ID. */
int cli_citizen_key(const cli_db *db, const char *id, unsigned char key[TC_CITIZEN_KEY_LEN],
                    tc_error *err);

/* Progress on a terminal: a bar with rate and ETA, redrawn at most 10 times a second; nothing
 * when stderr is not a terminal. */
typedef struct cli_progress {
    const char *label;
    double total;        /* units of work, 0 if unknown */
    double started, last_draw;
    int enabled;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, double total);
void cli_progress_update(cli_progress *p, double done, size_t rows);
void cli_progress_finish(cli_progress *p);

/* "512 B", "3.2 KiB", "14.0 MiB", "1.97 GiB" into buf; returns buf. */
const char *cli_bytes(double bytes, char *buf, size_t size);

/* Monotonic seconds. */
double cli_now(void);

#endif
