/* out_file — an output file that appears whole or not at all.
 *
 * Rows go to a hidden temporary file beside the final one (DIR/.NAME.tmp-PID); commit flushes,
 * fsyncs, renames it into place and fsyncs the directory, so after a failure, a crash or a kill
 * the final name holds the previous file or the complete new one, never half of it, and a rerun
 * is never refused because of a partial file. Standard output ("-") is buffered in an anonymous
 * temporary file and copied out at commit, so it too gets all or nothing. Discard removes the
 * temporary file. (A process killed outright leaves its hidden temporary file behind; it names
 * its process and is never read.)
 */
#ifndef TC_OUT_FILE_H
#define TC_OUT_FILE_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "tc_error.h"

typedef struct out_file {
    FILE *f; /* write here between open and commit/discard */
    char path[PATH_MAX];
    char tmp[PATH_MAX]; /* "" for standard output */
    int to_stdout;
} out_file;

/* Refuses an existing path unless force (TC_EEXIST, "PATH: exists (use --force to replace it)").
 * mode: the final file's permissions (0644 for results, 0600 for what names people). */
int out_file_open(out_file *o, const char *path, int force, mode_t mode, tc_error *err);
int out_file_commit(out_file *o, tc_error *err);
void out_file_discard(out_file *o);

/* The whole of text to path through out_file: for files written in one piece. */
int out_file_write_all(const char *path, const char *text, size_t len, int force, mode_t mode,
                       tc_error *err);

/* One CSV field: as it is, or quoted by libcsv when it holds a comma, quote or line break. */
void out_csv_field(FILE *f, const char *s, size_t len);

#endif
