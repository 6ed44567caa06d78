#include "test_util.h"

#include "tc_json.h"
#include "tc_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

char *tu_tempdir(void)
{
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/tinchap-test-XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(path) == NULL)
        fail_msg("mkdtemp failed");
    return path;
}

void tu_rmtree(const char *path)
{
    char cmd[1024];
    if (path == NULL || strstr(path, "tinchap-test-") == NULL)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fail_msg("could not remove %s", path);
}

const char *tu_in(const char *dir, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

const char *tu_fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", TC_FIXTURES, name);
    return path;
}

tc_catalog *tu_catalog(void)
{
    tc_catalog *cat = NULL;
    tc_error err = {0};
    if (tc_catalog_load(TC_MODELS "/catalog.json", &cat, &err) != TC_OK)
        fail_msg("shipped catalog: %s", err.msg);
    return cat;
}

void tu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

void tu_copy(const char *from, const char *to)
{
    char *text = NULL;
    size_t len = 0;
    if (tc_read_file(from, 1 << 22, TC_EIO, &text, &len, NULL) != TC_OK)
        fail_msg("cannot read %s", from);
    tu_write(to, text);
    free(text);
}

int tu_run(char *out, size_t size, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[8300];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (p == NULL)
        fail_msg("popen failed");
    size_t n = 0;
    if (out != NULL && size > 0) {
        n = fread(out, 1, size - 1, p);
        out[n] = '\0';
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

MDB_txn *tu_lmdb_begin(const char *dir, int read_only)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    if (!read_only)
        assert_int_equal(mdb_env_set_mapsize(env, (size_t)64 << 20), 0);
    assert_int_equal(mdb_env_open(env, dir, read_only ? MDB_RDONLY : 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, read_only ? MDB_RDONLY : 0, &txn), 0);
    return txn;
}

void tu_lmdb_end(MDB_txn *txn)
{
    MDB_env *env = mdb_txn_env(txn);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

int tu_lmdb_has_table(const char *dir, const char *name)
{
    MDB_dbi dbi;
    MDB_txn *txn = tu_lmdb_begin(dir, 1);
    int rc = mdb_dbi_open(txn, name, 0, &dbi);
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
    tu_lmdb_end(txn);
    return rc == 0;
}

void tu_store_init(tu_store *f)
{
    memset(f, 0, sizeof *f);
    f->dir = strdup(tu_tempdir());
    f->cat = tu_catalog();
    unsigned char secret[TC_SECRET_LEN] = {42};
    assert_int_equal(tc_key_from_bytes(secret, &f->key, NULL), TC_OK);
}

void tu_store_fini(tu_store *f)
{
    tc_store_close(f->s);
    tc_key_free(f->key);
    tc_catalog_free(f->cat);
    tu_rmtree(f->dir);
    free(f->dir);
}

int tu_store_setup(void **state)
{
    tu_store *f = malloc(sizeof *f);
    assert_non_null(f);
    tu_store_init(f);
    *state = f;
    return 0;
}

int tu_store_teardown(void **state)
{
    tu_store_fini(*state);
    free(*state);
    return 0;
}
