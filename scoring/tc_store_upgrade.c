/* Store format 1 to 2 (tc_store.h): the consents move from their own table into the citizens
 * table, beside their citizen's record. */
#include <stdlib.h>
#include <unistd.h>

#include "tc_store_impl.h"

int tc_store_format(const tc_store *s)
{
    return s->format;
}

/* Every consent of the format-1 table into citizens, in key order; *moved counts them. */
static int move_consents(tc_store *s, MDB_txn *txn, size_t *moved, tc_error *err)
{
    int rc = TC_OK;
    MDB_cursor *from = NULL, *to = NULL;
    MDB_val k, v;
    MDB_CHECK(mdb_cursor_open(txn, s->consents, &from), "upgrading: opening a cursor");
    MDB_CHECK(mdb_cursor_open(txn, s->citizens, &to), "upgrading: opening a cursor");
    int mrc;
    for (mrc = mdb_cursor_get(from, &k, &v, MDB_FIRST); mrc == MDB_SUCCESS;
         mrc = mdb_cursor_get(from, &k, &v, MDB_NEXT)) {
        /* consent keys are longer than citizen keys: none can meet a record */
        MDB_CHECK(mdb_cursor_put(to, &k, &v, MDB_NOOVERWRITE), "upgrading: moving a consent");
        (*moved)++;
    }
    if (mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "upgrading: reading the consents");
out:
    if (to != NULL)
        mdb_cursor_close(to);
    if (from != NULL)
        mdb_cursor_close(from);
    return rc;
}

/* mdb_reader_list's lines after its header: pid, thread, transaction. Counts the slots of other
 * processes, and keeps one of their pids. */
typedef struct other_readers {
    int count;
    long pid;
} other_readers;

static int note_reader(const char *line, void *arg)
{
    other_readers *o = arg;
    char *end;
    long pid = strtol(line, &end, 10);
    if (end != line && pid > 0 && pid != (long)getpid()) {
        o->count++;
        o->pid = pid;
    }
    return 0;
}

int tc_store_upgrade(tc_store *s, size_t *moved, tc_error *err)
{
    int rc = TC_OK;
    MDB_txn *txn = NULL;
    MDB_stat st;
    size_t n = 0;
    if (moved != NULL)
        *moved = 0;
    if (s->format == TC_STORE_FORMAT)
        return TC_OK;
    if (s->read_only)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", s->path);
    /* A process with the database open would lose its handle on the consents table: a
     * tinchapd holds reader slots for as long as it runs. Slots of dead processes are freed. */
    int dead;
    other_readers others = {0, 0};
    mdb_reader_check(s->env, &dead);
    mdb_reader_list(s->env, note_reader, &others);
    if (others.count > 0)
        return tc_errorf(err, TC_EBUSY,
                         "%s: process %ld has the database open: stop it (and "
                         "tinchapd) before upgrading",
                         s->path, others.pid);
    unsigned char fmt[4] = {TC_STORE_FORMAT, 0, 0, 0};
    MDB_CHECK(mdb_txn_begin(s->env, NULL, 0, &txn), "upgrading");
    MDB_CHECK(mdb_stat(txn, s->citizens, &st), "upgrading: counting citizens");
    if ((rc = move_consents(s, txn, &n, err)) != TC_OK ||
        (rc = tc_store_counts_put(s, txn, st.ms_entries, n, err)) != TC_OK)
        goto out;
    MDB_CHECK(mdb_drop(txn, s->consents, 1), "upgrading: dropping the consents table");
    MDB_CHECK(meta_put(txn, s->meta, "format", fmt, sizeof fmt), "upgrading: writing meta");
    int mrc = mdb_txn_commit(txn);
    txn = NULL;
    MDB_CHECK(mrc, "upgrading: committing");
    s->format = TC_STORE_FORMAT;
    s->consents = s->citizens;
    if (moved != NULL)
        *moved = n;
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}
