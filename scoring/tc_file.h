/* tc_file — the one atomic-file writer: a file appears whole under its name, or not at all.
 *
 * Data goes to a hidden temporary file beside the target (DIR/.NAME.XXXXXX, made by mkstemp:
 * a fresh name opened O_EXCL, so nothing is written through a symbolic link or into a file
 * someone else made); commit flushes and fsyncs it, renames it into place and fsyncs the
 * directory, so after a failure, a crash or a kill the name holds the previous file or the
 * complete new one, never part of either. A temporary name starts with '.' and does not end in
 * ".json", so the model registry never reads one. (A process killed outright leaves its
 * temporary file behind, under a name nothing reads.)
 *
 * Existing targets: a name that exists and is not a regular file (a directory, a device such as
 * /dev/null, a FIFO, a symbolic link) is always refused. Without TC_FILE_REPLACE a regular file
 * is refused too, at open and again at commit: the rename is renameat2(RENAME_NOREPLACE) (or
 * link + unlink where the file system lacks it), so a file that appeared meanwhile is never
 * replaced. With TC_FILE_REPLACE it is replaced by the rename.
 *
 * The new file's permissions are mode less the process's umask, or with TC_FILE_KEEP_MODE the
 * replaced file's mode and (when permitted) owner. With TC_FILE_STDOUT the path "-" is standard
 * output: the data is kept in an anonymous temporary file and copied out at commit, so standard
 * output gets all of it or nothing.
 *
 * Not thread-safe on one tc_file; separate tc_files may be used from separate threads.
 */
#ifndef TC_FILE_H
#define TC_FILE_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "tc_error.h"

#define TC_FILE_REPLACE 1u   /* an existing regular file may be replaced */
#define TC_FILE_STDOUT 2u    /* "-" is standard output */
#define TC_FILE_KEEP_MODE 4u /* the replaced file's mode and owner, not mode */

typedef struct tc_file {
    FILE *f; /* write here between open and commit or discard */
    char path[PATH_MAX];
    char tmp[PATH_MAX]; /* the temporary file's name; "" for standard output */
    unsigned flags;
    int to_stdout;
    int finished; /* tc_file_finish done: complete under the temporary name */
} tc_file;

/* What open checks about path before anything is written, for commands that check every
 * output before reading their input: TC_EEXIST ("PATH: exists") for an existing file without
 * TC_FILE_REPLACE, TC_EINVAL for a name that is not a regular file, TC_OK otherwise. */
int tc_file_check(const char *path, unsigned flags, tc_error *err);

/* Make the temporary file (after tc_file_check). On error nothing is left behind. */
int tc_file_open(tc_file *o, const char *path, unsigned flags, mode_t mode, tc_error *err);

/* Flush, fsync and close the temporary file: complete, not yet in place. Optional before
 * commit, for a command that publishes several files only once all of them are complete.
 * On error the temporary file is removed. */
int tc_file_finish(tc_file *o, tc_error *err);

/* Finish if not done, rename into place, fsync the directory. On error the temporary file is
 * removed and the target is as it was (unless only the directory sync failed: then the new
 * file is in place but may not survive a crash, and the error says so). */
int tc_file_commit(tc_file *o, tc_error *err);

/* Remove the temporary file; safe after a failed commit, and on a tc_file never opened
 * (zeroed). */
void tc_file_discard(tc_file *o);

/* The whole of data to path: open, write, commit. */
int tc_file_write(const char *path, const void *data, size_t len, unsigned flags, mode_t mode,
                  tc_error *err);

#endif
