/* The citizen index as sorted runs: a log-structured merge of (citizen key, sequence number)
 * entries in the index's environment (see tc_audit_impl.h for the layout).
 *
 * Why: an entry inserted at a random place of one B-tree far larger than a pass of the indexer
 * copied and wrote a 4 KB page of its own, so the index cost a page per Score, and more as the
 * trail grew. Here a pass writes its entries, sorted, as a run of its own, and runs are merged
 * RUN_FANOUT at a time into one run of the next level. A run is the sorted list of fixed-size
 * entries under one key of the table citizen_runs (MDB_DUPSORT | MDB_DUPFIXED: 24 bytes each,
 * about 170 to a page), so every write is an append to one run, an entry costs a few bytes of
 * sequential writing per level instead of a page, and a run merged away is dropped whole. A
 * lookup seeks each run: a few dozen at most.
 *
 * Which runs make up the index is the directory (the meta table's "runs"), changed in the same
 * transaction as the run a pass adds or the run a merge completes, so a reader's snapshot holds
 * each entry exactly once. A merge writes its target over several transactions, RUNS_MERGE_CHUNK
 * entries each, and its target is named by no directory until it is complete: a stop or a
 * crash in between leaves a run that no directory names, dropped at the next start. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tc_audit_impl.h"

#define DIR_ENTRY 24 /* a directory entry: id, level, count (u64 BE each) */
#define RUN_KEY 8    /* a run's key: its id (u64 BE) */

static const char DIR_KEY[] = "runs";

typedef struct run_dir {
    size_t n;
    run_info run[RUNS_MAX];
} run_dir;

static int dir_read(tc_audit *a, MDB_txn *txn, run_dir *d)
{
    MDB_val k = {sizeof DIR_KEY - 1, (void *)DIR_KEY}, v;
    d->n = 0;
    int mrc = mdb_get(txn, a->ix_meta, &k, &v);
    if (mrc != MDB_SUCCESS)
        return mrc == MDB_NOTFOUND ? MDB_SUCCESS : mrc;
    if (v.mv_size % DIR_ENTRY != 0 || v.mv_size / DIR_ENTRY > RUNS_MAX)
        return MDB_CORRUPTED;
    const unsigned char *p = v.mv_data;
    for (; d->n < v.mv_size / DIR_ENTRY; d->n++, p += DIR_ENTRY)
        d->run[d->n] = (run_info){from_be64(p), from_be64(p + 8), from_be64(p + 16)};
    return MDB_SUCCESS;
}

static int dir_write(tc_audit *a, MDB_txn *txn, const run_dir *d)
{
    unsigned char buf[RUNS_MAX * DIR_ENTRY];
    for (size_t i = 0; i < d->n; i++) {
        be64(buf + i * DIR_ENTRY, d->run[i].id);
        be64(buf + i * DIR_ENTRY + 8, d->run[i].level);
        be64(buf + i * DIR_ENTRY + 16, d->run[i].count);
    }
    MDB_val k = {sizeof DIR_KEY - 1, (void *)DIR_KEY}, v = {d->n * DIR_ENTRY, buf};
    return mdb_put(txn, a->ix_meta, &k, &v, 0);
}

static int dir_has(const run_dir *d, uint64_t id)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->run[i].id == id)
            return 1;
    return 0;
}

/* Runs no directory names (merges cut short) are dropped, a few dozen per scan. */
static int drop_unnamed(tc_audit *a, MDB_txn *txn, const run_dir *d)
{
    citizen_runs *r = &a->runs;
    uint64_t drop[64];
    size_t n;
    int mrc;
    do {
        MDB_cursor *cur = NULL;
        MDB_val k, v;
        n = 0;
        if ((mrc = mdb_cursor_open(txn, r->dbi, &cur)) != MDB_SUCCESS)
            return mrc;
        for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == MDB_SUCCESS && n < 64;
             mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) {
            uint64_t id = k.mv_size == RUN_KEY ? from_be64(k.mv_data) : 0;
            if (id >= r->next_id)
                r->next_id = id + 1;
            if (!dir_has(d, id))
                drop[n++] = id;
        }
        mdb_cursor_close(cur);
        if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
            return mrc;
        for (size_t i = 0; i < n; i++) {
            unsigned char kb[RUN_KEY];
            be64(kb, drop[i]);
            MDB_val dk = {RUN_KEY, kb};
            if ((mrc = mdb_del(txn, r->dbi, &dk, NULL)) != MDB_SUCCESS)
                return mrc;
        }
    } while (n == 64);
    return MDB_SUCCESS;
}

int runs_open(tc_audit *a, MDB_txn *txn, int read_only)
{
    citizen_runs *r = &a->runs;
    unsigned flags = MDB_DUPSORT | MDB_DUPFIXED | (read_only ? 0 : MDB_CREATE);
    int mrc = mdb_dbi_open(txn, "citizen_runs", flags, &r->dbi);
    r->present = mrc == MDB_SUCCESS;
    if (read_only) /* an index written before runs: its former table is all there is */
        return mrc == MDB_NOTFOUND ? MDB_SUCCESS : mrc;
    return mrc;
}

int runs_start(tc_audit *a)
{
    citizen_runs *r = &a->runs;
    MDB_txn *txn = NULL;
    run_dir d;
    int mrc = mdb_txn_begin(a->ix_env, NULL, 0, &txn);
    if (mrc == MDB_SUCCESS && (mrc = dir_read(a, txn, &d)) == MDB_SUCCESS) {
        r->next_id = 1;
        for (size_t i = 0; i < d.n; i++)
            if (d.run[i].id >= r->next_id)
                r->next_id = d.run[i].id + 1;
        mrc = drop_unnamed(a, txn, &d);
    }
    if (txn == NULL)
        return mrc;
    if (mrc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return mrc;
    }
    return mdb_txn_commit(txn);
}

/* Append n sorted entries to run id (new, or a merge's target). */
static int append(tc_audit *a, MDB_txn *txn, uint64_t id, const unsigned char *e, size_t n)
{
    MDB_cursor *cur = NULL;
    unsigned char kb[RUN_KEY];
    be64(kb, id);
    int mrc = mdb_cursor_open(txn, a->runs.dbi, &cur);
    for (size_t i = 0; mrc == MDB_SUCCESS && i < n; i++) {
        MDB_val k = {RUN_KEY, kb}, v = {INDEX_ENTRY_LEN, (void *)(e + i * INDEX_ENTRY_LEN)};
        mrc = mdb_cursor_put(cur, &k, &v, MDB_APPENDDUP);
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    return mrc;
}

int runs_add(tc_audit *a, MDB_txn *txn, const unsigned char *entries, size_t n)
{
    run_dir d;
    int mrc = dir_read(a, txn, &d);
    if (mrc != MDB_SUCCESS || n == 0)
        return mrc;
    if (d.n == RUNS_MAX) /* merges have not kept up: this pass waits for the next */
        return MDB_TXN_FULL;
    uint64_t id = a->runs.next_id++;
    if ((mrc = append(a, txn, id, entries, n)) != MDB_SUCCESS)
        return mrc;
    d.run[d.n++] = (run_info){id, 0, n};
    return dir_write(a, txn, &d);
}

/* ---- merging ---- */

/* Start merging the first RUN_FANOUT runs of level, if it has that many. */
static int start_merge(tc_audit *a, const run_dir *d, uint64_t level)
{
    run_merge *m = &a->runs.merge[level];
    int n = 0;
    for (size_t i = 0; i < d->n && n < RUN_FANOUT; i++)
        if (d->run[i].level == level)
            m->src[n++] = d->run[i].id;
    if (n < RUN_FANOUT)
        return 0;
    m->active = 1;
    m->target = a->runs.next_id++;
    m->count = 0;
    memset(m->last, 0, sizeof m->last); /* below every entry: sequence numbers start at 1 */
    return 1;
}

/* Read the sources' next entries after m->last, in order, into buf: how many (*done once the
 * sources are exhausted), or -1 with *mrc. */
static long merge_read(tc_audit *a, MDB_txn *txn, const run_merge *m, int *done, int *mrc)
{
    MDB_cursor *cur[RUN_FANOUT] = {0};
    MDB_val d[RUN_FANOUT];
    unsigned char kb[RUN_FANOUT][RUN_KEY];
    int live[RUN_FANOUT] = {0};
    long n = 0;
    *mrc = MDB_SUCCESS;
    for (int s = 0; s < RUN_FANOUT && *mrc == MDB_SUCCESS; s++) {
        be64(kb[s], m->src[s]);
        MDB_val k = {RUN_KEY, kb[s]};
        d[s] = (MDB_val){INDEX_ENTRY_LEN, (void *)m->last};
        if ((*mrc = mdb_cursor_open(txn, a->runs.dbi, &cur[s])) != MDB_SUCCESS)
            break;
        *mrc = mdb_cursor_get(cur[s], &k, &d[s], MDB_GET_BOTH_RANGE);
        if (*mrc == MDB_SUCCESS && memcmp(d[s].mv_data, m->last, INDEX_ENTRY_LEN) == 0)
            *mrc = mdb_cursor_get(cur[s], &k, &d[s], MDB_NEXT_DUP); /* the last one moved */
        live[s] = *mrc == MDB_SUCCESS;
        if (*mrc == MDB_NOTFOUND)
            *mrc = MDB_SUCCESS;
    }
    int best = 0;
    while (*mrc == MDB_SUCCESS && n < RUNS_MERGE_CHUNK) {
        best = -1;
        for (int s = 0; s < RUN_FANOUT; s++)
            if (live[s] && (best < 0 || memcmp(d[s].mv_data, d[best].mv_data, INDEX_ENTRY_LEN) < 0))
                best = s;
        if (best < 0)
            break;
        memcpy(a->runs.buf + (size_t)n++ * INDEX_ENTRY_LEN, d[best].mv_data, INDEX_ENTRY_LEN);
        MDB_val k;
        *mrc = mdb_cursor_get(cur[best], &k, &d[best], MDB_NEXT_DUP);
        live[best] = *mrc == MDB_SUCCESS;
        if (*mrc == MDB_NOTFOUND)
            *mrc = MDB_SUCCESS;
    }
    *done = 1;
    for (int s = 0; s < RUN_FANOUT; s++) {
        *done &= !live[s];
        if (cur[s] != NULL)
            mdb_cursor_close(cur[s]);
    }
    return *mrc == MDB_SUCCESS ? n : -1;
}

/* Move the next chunk of merge m into its target, in txn; complete it when the sources are
 * exhausted: the directory names the target instead of them, and they are dropped. Returns
 * the entries moved (m itself is updated by the caller once txn is committed). */
static int merge_chunk(tc_audit *a, MDB_txn *txn, run_merge *m, uint64_t level, long *moved,
                       int *done)
{
    int mrc;
    long n = merge_read(a, txn, m, done, &mrc);
    if (n < 0)
        return mrc;
    if ((mrc = append(a, txn, m->target, a->runs.buf, (size_t)n)) != MDB_SUCCESS)
        return mrc;
    *moved = n;
    if (!*done)
        return MDB_SUCCESS;
    run_dir d;
    if ((mrc = dir_read(a, txn, &d)) != MDB_SUCCESS)
        return mrc;
    size_t kept = 0;
    for (size_t i = 0; i < d.n; i++) {
        int merged = 0;
        for (int s = 0; s < RUN_FANOUT; s++)
            merged |= d.run[i].id == m->src[s];
        if (!merged)
            d.run[kept++] = d.run[i];
    }
    d.n = kept;
    if (m->count + (uint64_t)n > 0)
        d.run[d.n++] = (run_info){m->target, level + 1, m->count + (uint64_t)n};
    if ((mrc = dir_write(a, txn, &d)) != MDB_SUCCESS)
        return mrc;
    for (int s = 0; s < RUN_FANOUT && mrc == MDB_SUCCESS; s++) {
        unsigned char kb[RUN_KEY];
        be64(kb, m->src[s]);
        MDB_val k = {RUN_KEY, kb};
        if ((mrc = mdb_del(txn, a->runs.dbi, &k, NULL)) == MDB_NOTFOUND)
            mrc = MDB_SUCCESS;
    }
    return mrc;
}

int runs_maintain(tc_audit *a)
{
    citizen_runs *r = &a->runs;
    MDB_txn *txn = NULL;
    run_dir d;
    int mrc = mdb_txn_begin(a->ix_env, NULL, 0, &txn);
    if (mrc == MDB_SUCCESS)
        mrc = dir_read(a, txn, &d);
    if (mrc != MDB_SUCCESS) {
        if (txn != NULL)
            mdb_txn_abort(txn);
        return -1;
    }
    /* the lowest level with work: a merge under way, or enough runs to start one */
    uint64_t level = 0;
    while (level < RUN_LEVELS - 1 && !r->merge[level].active && !start_merge(a, &d, level))
        level++;
    if (level == RUN_LEVELS - 1) {
        mdb_txn_abort(txn);
        return 0;
    }
    run_merge *m = &r->merge[level];
    long moved = 0;
    int done = 0;
    mrc = merge_chunk(a, txn, m, level, &moved, &done);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (mrc != MDB_SUCCESS)
        return -1; /* the same chunk again next time */
    if (moved > 0)
        memcpy(m->last, r->buf + (size_t)(moved - 1) * INDEX_ENTRY_LEN, INDEX_ENTRY_LEN);
    m->count += (uint64_t)moved;
    m->active = !done;
    return 1;
}

/* ---- reading ---- */

/* One source of a lookup: a run (entries as its values) or the former table (as keys). */
typedef struct walk_src {
    MDB_cursor *cur;
    int is_run, live;
    uint64_t seq;
} walk_src;

/* Where cursor get left s: on an entry of the citizen (live, with its seq) or past them. */
static int src_at(walk_src *s, int mrc, const MDB_val *k, const MDB_val *v,
                  const unsigned char *key)
{
    const MDB_val *e = s->is_run ? v : k;
    s->live = mrc == MDB_SUCCESS && e->mv_size == INDEX_ENTRY_LEN &&
              memcmp(e->mv_data, key, TC_CITIZEN_KEY_LEN) == 0;
    if (s->live)
        s->seq = from_be64((const unsigned char *)e->mv_data + TC_CITIZEN_KEY_LEN);
    return mrc == MDB_NOTFOUND ? MDB_SUCCESS : mrc;
}

/* Place s on the citizen's newest entry below probe's sequence number. */
static int src_seek(walk_src *s, uint64_t run, const unsigned char *probe)
{
    unsigned char kb[RUN_KEY];
    be64(kb, run);
    MDB_val k = {RUN_KEY, kb}, v = {INDEX_ENTRY_LEN, (void *)probe};
    int mrc;
    if (s->is_run) {
        mrc = mdb_cursor_get(s->cur, &k, &v, MDB_GET_BOTH_RANGE);
        if (mrc == MDB_SUCCESS) {
            mrc = mdb_cursor_get(s->cur, &k, &v, MDB_PREV_DUP);
        } else if (mrc == MDB_NOTFOUND) { /* every entry of the run is below the probe */
            k = (MDB_val){RUN_KEY, kb};
            if ((mrc = mdb_cursor_get(s->cur, &k, &v, MDB_SET_KEY)) == MDB_SUCCESS)
                mrc = mdb_cursor_get(s->cur, &k, &v, MDB_LAST_DUP);
        }
    } else {
        k = (MDB_val){INDEX_ENTRY_LEN, (void *)probe};
        mrc = mdb_cursor_get(s->cur, &k, &v, MDB_SET_RANGE);
        mrc = mdb_cursor_get(s->cur, &k, &v, mrc == MDB_SUCCESS ? MDB_PREV : MDB_LAST);
    }
    return src_at(s, mrc, &k, &v, probe);
}

int runs_walk(tc_audit *a, MDB_txn *txn, int with_runs, MDB_dbi base, const unsigned char *key,
              uint64_t below, int (*fn)(uint64_t seq, void *arg), void *arg)
{
    run_dir *d = calloc(1, sizeof *d);
    walk_src *src = malloc((RUNS_MAX + 1) * sizeof *src);
    unsigned char probe[INDEX_ENTRY_LEN];
    size_t n = 0;
    if (d == NULL || src == NULL) {
        free(d);
        free(src);
        return ENOMEM;
    }
    memcpy(probe, key, TC_CITIZEN_KEY_LEN);
    be64(probe + TC_CITIZEN_KEY_LEN, below);
    int mrc = with_runs && a->runs.present ? dir_read(a, txn, d) : MDB_SUCCESS;
    for (size_t i = 0; mrc == MDB_SUCCESS && i <= d->n; i++, n++) {
        walk_src *s = &src[n];
        s->is_run = i < d->n;
        if ((mrc = mdb_cursor_open(txn, s->is_run ? a->runs.dbi : base, &s->cur)) == MDB_SUCCESS)
            mrc = src_seek(s, s->is_run ? d->run[i].id : 0, probe);
        else
            s->cur = NULL;
    }
    /* newest first across the sources: each entry is in exactly one of them */
    while (mrc == MDB_SUCCESS) {
        walk_src *best = NULL;
        for (size_t i = 0; i < n; i++)
            if (src[i].live && (best == NULL || src[i].seq > best->seq))
                best = &src[i];
        if (best == NULL || fn(best->seq, arg) != 0)
            break;
        MDB_val k, v;
        int op = best->is_run ? MDB_PREV_DUP : MDB_PREV;
        mrc = src_at(best, mdb_cursor_get(best->cur, &k, &v, op), &k, &v, key);
    }
    for (size_t i = 0; i < n; i++)
        if (src[i].cur != NULL)
            mdb_cursor_close(src[i].cur);
    free(src);
    free(d);
    return mrc;
}
