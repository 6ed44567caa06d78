/* The citizen index of the audit trail ("who scored me"), off the reply path.
 *
 * Each entry (citizen key + sequence number) is a random-key insert: done with the record, it
 * dirtied a page of its own in every commit a reply waited for. The index is therefore its own
 * LMDB environment (citizen-index/ in the trail's directory, so its writes never hold the
 * trail's write lock), written by a thread of the trail, the indexer, which every INDEX_EVERY_MS
 * reads the records committed since its last pass, sorts their entries and writes them in one
 * transaction, together with the sequence number it has indexed up to ("indexed"). A reader
 * takes the index up to that number and the records after it from the trail itself
 * (tc_audit_by_citizen), so an answer is found from the moment its record is committed; the
 * index only decides how many records a reader decodes. After a crash the indexer resumes from
 * "indexed", committed with the entries; an index that is lost is rebuilt from the records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tc_audit_impl.h"

/* Each pass commits with an fdatasync: a pass every 250 ms keeps that to four a second, and what
 * a reader decodes beyond the index to about 250 ms of records. */
#define INDEX_EVERY_MS 250
#define INDEX_BATCH 4096 /* records per pass: the trail snapshot is held briefly; more follow */

static const char UPTO_KEY[] = "indexed";

/* The sequence number the index is complete below (1: nothing indexed). */
uint64_t tc_audit_index_upto(tc_audit *a, MDB_txn *ix_txn)
{
    MDB_val k = {sizeof UPTO_KEY - 1, (void *)UPTO_KEY}, v;
    if (mdb_get(ix_txn, a->ix_meta, &k, &v) == MDB_SUCCESS && v.mv_size == 8)
        return from_be64(v.mv_data);
    return 1;
}

static int put_upto(tc_audit *a, MDB_txn *ix_txn, uint64_t upto)
{
    unsigned char b[8];
    be64(b, upto);
    MDB_val k = {sizeof UPTO_KEY - 1, (void *)UPTO_KEY}, v = {8, b};
    return mdb_put(ix_txn, a->ix_meta, &k, &v, 0);
}

/* A trail indexed in its own environment before: its audit_citizen table is copied over (in key
 * order, so appended), the index marked complete below the records of the same snapshot, and
 * the table dropped. The index is committed first: a crash in between leaves a table to drop. */
static int migrate(tc_audit *a, MDB_txn *ix_txn, tc_error *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi old;
    MDB_val k, v, empty = {0, NULL};
    MDB_val uk = {sizeof UPTO_KEY - 1, (void *)UPTO_KEY};
    int had_index = mdb_get(ix_txn, a->ix_meta, &uk, &v) == MDB_SUCCESS;
    int mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "opening the citizen index", err);
    mrc = mdb_dbi_open(txn, "audit_citizen", 0, &old);
    if (mrc == MDB_SUCCESS && !had_index) {
        uint64_t upto = 1;
        if ((mrc = mdb_cursor_open(txn, a->audit, &cur)) == MDB_SUCCESS) {
            if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == MDB_SUCCESS && k.mv_size == 8)
                upto = from_be64(k.mv_data) + 1;
            mdb_cursor_close(cur);
            mrc = mdb_cursor_open(txn, old, &cur);
        }
        for (int op = MDB_FIRST; mrc == MDB_SUCCESS; op = MDB_NEXT) {
            if ((mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS)
                mrc = mdb_put(ix_txn, a->ix_citizen, &k, &empty, MDB_APPEND);
        }
        if (cur != NULL)
            mdb_cursor_close(cur);
        if (mrc == MDB_NOTFOUND)
            mrc = put_upto(a, ix_txn, upto);
    } else if (mrc == MDB_NOTFOUND) {
        mrc = had_index ? MDB_SUCCESS : put_upto(a, ix_txn, 1);
    }
    mdb_txn_abort(txn);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_txn_commit(ix_txn);
    else
        mdb_txn_abort(ix_txn);
    if (mrc != MDB_SUCCESS)
        return tc_mdb_error(a->ix_path, a->ix_env, mrc, "building the citizen index", err);
    /* drop the former table, now that the index holds its entries */
    if ((mrc = mdb_txn_begin(a->env, NULL, 0, &txn)) == MDB_SUCCESS) {
        if ((mrc = mdb_dbi_open(txn, "audit_citizen", 0, &old)) == MDB_SUCCESS)
            mrc = mdb_drop(txn, old, 1);
        if (mrc == MDB_SUCCESS)
            mrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? TC_OK
               : mdb_fail(a, mrc, "dropping the former citizen index", err);
}

int tc_audit_index_open(tc_audit *a, size_t map_size, tc_error *err)
{
    MDB_txn *txn = NULL;
    struct stat st;
    int ro = a->opt.read_only, mrc;
    size_t n = strlen(a->path) + sizeof "/citizen-index";
    if ((a->ix_path = malloc(n)) == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    snprintf(a->ix_path, n, "%s/citizen-index", a->path);
    if (stat(a->ix_path, &st) != 0) {
        if (ro)
            return TC_OK; /* a copy without its index: readers decode every record */
        if (mkdir(a->ix_path, 0700) != 0 && errno != EEXIST)
            return tc_errorf(err, TC_EIO, "%s: %s", a->ix_path, strerror(errno));
    }
    /* One fdatasync per pass, not two: the meta page of a pass is synced with the next one's
     * data, so a crash may undo the last pass (redone from its mark), never tear the file. */
    unsigned flags = MDB_NOTLS | MDB_NOMETASYNC | (ro ? MDB_RDONLY : 0);
    if ((mrc = mdb_env_create(&a->ix_env)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxdbs(a->ix_env, 4)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxreaders(a->ix_env, TC_STORE_MAX_READERS)) != MDB_SUCCESS ||
        (!ro && (mrc = mdb_env_set_mapsize(a->ix_env, map_size)) != MDB_SUCCESS) ||
        (mrc = mdb_env_open(a->ix_env, a->ix_path, flags, 0600)) != MDB_SUCCESS ||
        (mrc = mdb_txn_begin(a->ix_env, NULL, ro ? MDB_RDONLY : 0, &txn)) != MDB_SUCCESS)
        goto fail;
    unsigned create = ro ? 0 : MDB_CREATE;
    if ((mrc = mdb_dbi_open(txn, "meta", create, &a->ix_meta)) != MDB_SUCCESS ||
        (mrc = mdb_dbi_open(txn, "audit_citizen", create, &a->ix_citizen)) != MDB_SUCCESS ||
        (mrc = runs_open(a, txn, ro)) != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        goto fail;
    }
    if (ro) { /* committed, so that the handles stay open (an abort would close them) */
        if ((mrc = mdb_txn_commit(txn)) != MDB_SUCCESS)
            goto fail;
        return TC_OK;
    }
    return migrate(a, txn, err);
fail:
    if (ro) { /* an index being made by another process, or none: decode every record */
        mdb_env_close(a->ix_env);
        a->ix_env = NULL;
        return TC_OK;
    }
    return tc_mdb_error(a->ix_path, a->ix_env, mrc, "opening the citizen index", err);
}

static int entry_cmp(const void *x, const void *y)
{
    return memcmp(x, y, INDEX_ENTRY_LEN);
}

/* Index the records committed since the last pass, at most INDEX_BATCH; returns how many were
 * read, or -1 when the index could not be written (a full disk: the next pass tries again). */
static long index_pass(tc_audit *a)
{
    MDB_txn *rt = NULL, *wt = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    size_t n = 0, n_entries = 0;
    unsigned char from[8];
    tc_audit_record rec;
    int mrc = mdb_txn_begin(a->ix_env, NULL, 0, &wt);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &rt);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_cursor_open(rt, a->audit, &cur);
    if (mrc != MDB_SUCCESS)
        goto out;
    uint64_t upto = tc_audit_index_upto(a, wt);
    be64(from, upto);
    k.mv_size = 8;
    k.mv_data = from;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == MDB_SUCCESS && n < INDEX_BATCH;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
        if (k.mv_size != 8)
            continue;
        upto = from_be64(k.mv_data) + 1;
        if (tc_audit_decode(v.mv_data, v.mv_size, &rec, NULL) != TC_OK || !rec.has_citizen)
            continue;
        unsigned char *e = a->ix_entries + n_entries++ * INDEX_ENTRY_LEN;
        memcpy(e, rec.citizen, TC_CITIZEN_KEY_LEN);
        memcpy(e + TC_CITIZEN_KEY_LEN, k.mv_data, 8);
    }
    /* The trail's snapshot goes before the index is written and synced: a snapshot held
     * keeps the trail's writer from reusing the pages freed since, so its file would grow. */
    mdb_cursor_close(cur);
    cur = NULL;
    mdb_txn_abort(rt);
    rt = NULL;
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        goto out;
    mrc = MDB_SUCCESS;
    if (n == 0)
        goto out;
    /* a run of its own, sorted: appended, and merged with others later (tc_audit_runs.c) */
    qsort(a->ix_entries, n_entries, INDEX_ENTRY_LEN, entry_cmp);
    mrc = runs_add(a, wt, a->ix_entries, n_entries);
    if (mrc == MDB_SUCCESS)
        mrc = put_upto(a, wt, upto);
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_txn_commit(wt);
        wt = NULL;
    }
out:
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (rt != NULL)
        mdb_txn_abort(rt);
    if (wt != NULL)
        mdb_txn_abort(wt);
    if (mrc != MDB_SUCCESS) {
        pthread_mutex_lock(&a->stats_mu);
        a->stats.index_failures++;
        pthread_mutex_unlock(&a->stats_mu);
        return -1;
    }
    return (long)n;
}

static int stopping(periodic *p)
{
    pthread_mutex_lock(&p->mu);
    int stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void *indexer_main(void *arg)
{
    tc_audit *a = arg;
    pthread_setname_np(pthread_self(), "tc-audit-index");
    /* background work: on cores shared with the workers, a pass yields to the calls */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0) {
        /* not fatal: the index is written at the workers' priority */
    }
    while (!periodic_wait(&a->indexer)) {
        /* a pass, then a step of merging, while either has more to do: a merge's step moves
         * far more entries than a pass adds, so merges keep up, and a long merge of a high
         * level never holds the passes back by more than a step */
        for (;;) {
            long n = index_pass(a);
            int merged = n >= 0 && !stopping(&a->indexer) ? runs_maintain(a) : 0;
            if (n < 0 || merged < 0 || (n < INDEX_BATCH && merged == 0))
                break;
        }
    }
    while (index_pass(a) == INDEX_BATCH) { /* what the writer committed last */
    }
    return NULL;
}

int tc_audit_index_start(tc_audit *a, tc_error *err)
{
    if ((a->ix_entries = malloc((size_t)INDEX_BATCH * INDEX_ENTRY_LEN)) == NULL ||
        (a->runs.buf = malloc(RUNS_CHUNK_BYTES)) == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    int mrc = runs_start(a);
    if (mrc != MDB_SUCCESS)
        return tc_mdb_error(a->ix_path, a->ix_env, mrc, "starting the citizen index", err);
    return periodic_start(&a->indexer, INDEX_EVERY_MS, indexer_main, a, err);
}

/* Stop the indexer after a last pass over what is committed (the writer stopped first). */
void tc_audit_index_close(tc_audit *a)
{
    periodic_stop(&a->indexer);
    free(a->ix_entries);
    a->ix_entries = NULL;
    free(a->runs.buf);
    a->runs.buf = NULL;
    if (a->ix_env != NULL)
        mdb_env_close(a->ix_env);
    a->ix_env = NULL;
    free(a->ix_path);
    a->ix_path = NULL;
}
