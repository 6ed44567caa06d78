/* Helpers shared by the unit tests: scratch directories, fixture paths, loading the shipped
 * catalog. Everything here aborts the test on failure, so tests stay about their assertions. */
#ifndef TC_TEST_UTIL_H
#define TC_TEST_UTIL_H

#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tc_catalog.h"
#include "tc_error.h"

/* A new empty directory under $TMPDIR (or /tmp), removed by tu_rmtree. Returns a static buffer
 * copy the caller must strdup if it needs two. */
char *tu_tempdir(void);
void tu_rmtree(const char *path);

/* dir/name in a static buffer (the next call reuses it). */
const char *tu_in(const char *dir, const char *name);

/* Path of a fixture file (static buffer). */
const char *tu_fixture(const char *name);

/* The shipped catalog (models/catalog.json); fails the test if it does not load. */
tc_catalog *tu_catalog(void);

/* Write text to path. */
void tu_write(const char *path, const char *text);

/* Copy the file from to path to. */
void tu_copy(const char *from, const char *to);

/* Run a shell command, return its exit status; stdout+stderr captured into out (may be NULL). */
int tu_run(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A transaction on the LMDB environment in dir (read-only, or a write one), for a test that
 * writes or inspects a file as another program would; tu_lmdb_end commits it and closes the
 * environment. */
MDB_txn *tu_lmdb_begin(const char *dir, int read_only);
void tu_lmdb_end(MDB_txn *txn);

/* 1 if the LMDB environment in dir has a table of that name. */
int tu_lmdb_has_table(const char *dir, const char *name);

/* A store's fixture: a scratch directory, the shipped catalog and a fixed secret (s is opened by
 * the test). cmocka setup and teardown, with a tu_store as the state; or init and fini, for a
 * test's own fixture that holds one. */
typedef struct tu_store {
    char *dir;
    tc_catalog *cat;
    struct tc_key *key;
    struct tc_store *s;
} tu_store;
void tu_store_init(tu_store *f);
void tu_store_fini(tu_store *f); /* closes s, removes the directory */
int tu_store_setup(void **state);
int tu_store_teardown(void **state);

/* Assert that err->msg equals expected, showing both when not. */
#define assert_msg(err, expected) assert_string_equal((err)->msg, (expected))

#endif
