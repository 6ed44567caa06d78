/* The audit trail's journal: where a commit puts its records before any reply, with one write
 * (and in durable mode one fdatasync) of a file that never grows, and from where the applier
 * thread moves them into the LMDB tables in large transactions, off the reply path. See
 * tc_audit_impl.h for its layout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <zlib.h>

#include "tc_audit_impl.h"
#include "tc_time.h"

#define PRUNE_EVERY_US (10 * 1000000LL) /* forget old request IDs every 10 s */
#define PRUNE_MAX 10000                 /* ... at most this many per pass, to bound a commit */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static size_t entry_size(size_t rec_len, size_t resp_len)
{
    return (JOURNAL_HDR + rec_len + resp_len + 7) & ~(size_t)7;
}

static uint32_t entry_crc(const unsigned char *e, size_t size)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), e + 8, (uInt)(size - 8));
}

/* The entry at off of a half, when it is whole: its size (0: none), sequence number and parts. */
typedef struct entry {
    uint64_t seq;
    const unsigned char *rec, *resp;
    size_t rec_len, resp_len;
} entry;

/* verify: check the CRC (a file read back; what this process wrote to its mirror is whole) */
static size_t entry_at(const unsigned char *half, size_t off, int verify, entry *out)
{
    if (off + JOURNAL_HDR > JOURNAL_HALF)
        return 0;
    const unsigned char *e = half + off;
    size_t size = get32(e), rec_len = get32(e + 16), resp_len = get32(e + 20);
    if (size < JOURNAL_HDR || size % 8 != 0 || size > JOURNAL_HALF - off || rec_len > size ||
        resp_len > size || entry_size(rec_len, resp_len) != size ||
        (verify && get32(e + 4) != entry_crc(e, size)))
        return 0;
    out->seq = get64(e + 8);
    out->rec = e + JOURNAL_HDR;
    out->rec_len = rec_len;
    out->resp = resp_len > 0 ? e + JOURNAL_HDR + rec_len : NULL;
    out->resp_len = resp_len;
    return size;
}

/* ---- opening, and recovery after a crash ---- */

int journal_open(tc_audit *a, tc_error *err)
{
    journal *j = &a->j;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/journal", a->path);
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0)
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    /* one process writes a trail: a second tinchapd on it would interleave their journals */
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0)
        return tc_errorf(err, TC_EBUSY, "%s: another process is writing this audit trail", path);
    j->mirror = calloc(2, JOURNAL_HALF);
    j->offset[0] = calloc(JOURNAL_SLOTS, sizeof(uint32_t));
    j->offset[1] = calloc(JOURNAL_SLOTS, sizeof(uint32_t));
    if (j->mirror == NULL || j->offset[0] == NULL || j->offset[1] == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    if (fstat(j->fd, &st) != 0)
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    if ((size_t)st.st_size > 2 * JOURNAL_HALF)
        return tc_errorf(err, TC_EDB, "%s: %lld bytes, not a journal of this version", path,
                         (long long)st.st_size);
    if (st.st_size > 0 && pread(j->fd, j->mirror, (size_t)st.st_size, 0) != st.st_size)
        return tc_errorf(err, TC_EIO, "%s: reading: %s", path, strerror(errno));
    /* Its full size from the start, as a sparse file: blocks are taken as the first pass
     * writes them and kept, so that later commits overwrite blocks the file already has (their
     * fdatasync carries no change of size or allocation). On a full disk that first pass fails
     * like any write: the commit is refused. */
    if ((size_t)st.st_size < 2 * JOURNAL_HALF) {
        if (ftruncate(j->fd, (off_t)(2 * JOURNAL_HALF)) != 0 || fsync(j->fd) != 0)
            return tc_errorf(err, TC_EIO, "%s: making the journal: %s", path, strerror(errno));
        int dfd = open(a->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    pthread_mutex_init(&j->apply_mu, NULL);
    j->mu_ready = 1;
    return TC_OK;
}

typedef struct found {
    uint64_t seq;
    int half;
    size_t off;
} found;

static int by_seq(const void *x, const void *y)
{
    uint64_t a = ((const found *)x)->seq, b = ((const found *)y)->seq;
    return a < b ? -1 : a > b;
}

static int put_entry(tc_audit *a, MDB_txn *txn, const entry *e)
{
    unsigned char kb[8];
    be64(kb, e->seq);
    MDB_val k = {8, kb}, v = {e->rec_len, (void *)e->rec};
    /* sequence numbers only grow: appends, which dirty each table's last page only */
    int mrc = mdb_put(txn, a->audit, &k, &v, MDB_APPEND);
    if (mrc == MDB_SUCCESS && e->resp_len > 0) {
        MDB_val r = {e->resp_len, (void *)e->resp};
        mrc = mdb_put(txn, a->responses, &k, &r, MDB_APPEND);
    }
    return mrc;
}

/* The entries of both halves of mirror past last_in_tables: each half holds a run of
 * consecutive numbers from its start; what follows the run is a torn write or an older pass,
 * both already in the tables or never acknowledged. */
static size_t journal_found(const unsigned char *mirror, uint64_t last_in_tables, found *list)
{
    size_t n = 0;
    for (int h = 0; h < 2; h++) {
        entry e;
        uint64_t prev = 0;
        for (size_t off = 0, size; (size = entry_at(mirror + h * JOURNAL_HALF, off, 1, &e)) > 0;
             off += size) {
            if (prev != 0 && e.seq != prev + 1)
                break;
            prev = e.seq;
            if (e.seq > last_in_tables)
                list[n++] = (found){e.seq, h, off};
        }
    }
    return n;
}

int journal_recover(tc_audit *a, uint64_t last_in_tables, tc_error *err)
{
    journal *j = &a->j;
    found *list = malloc(2 * JOURNAL_SLOTS * sizeof *list);
    if (list == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    size_t n = journal_found(j->mirror, last_in_tables, list);
    qsort(list, n, sizeof *list, by_seq);
    size_t take = 0;
    while (take < n && list[take].seq == last_in_tables + 1 + take)
        take++;
    MDB_txn *txn = NULL;
    int mrc = take > 0 ? mdb_txn_begin(a->env, NULL, 0, &txn) : MDB_SUCCESS;
    for (size_t i = 0; i < take && mrc == MDB_SUCCESS; i++) {
        entry e;
        entry_at(j->mirror + list[i].half * JOURNAL_HALF, list[i].off, 1, &e);
        mrc = put_entry(a, txn, &e);
    }
    if (txn != NULL) {
        if (mrc == MDB_SUCCESS)
            mrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    free(list);
    if (mrc != MDB_SUCCESS)
        return mdb_fail(a, mrc, "moving the journal's records into the audit trail", err);
    a->stats.journal_recovered = take;
    a->stats.journal_dropped = n - take; /* past a gap: cannot be placed in sequence */
    return TC_OK;
}

/* ---- the committer's side (commit_mu) ---- */

int journal_usable(tc_audit *a)
{
    journal *j = &a->j;
    if (!atomic_load_explicit(&j->failing, memory_order_acquire))
        return TC_OK;
    pthread_mutex_lock(&j->apply_mu);
    int rc = j->fail_code;
    if (rc != TC_OK)
        a->last_err = j->fail_err;
    pthread_mutex_unlock(&j->apply_mu);
    return rc;
}

static int apply_locked(tc_audit *a, int settle);

/* Move on to the other half, once all of its records are in the tables and on disk there. */
static int switch_half(tc_audit *a)
{
    journal *j = &a->j;
    int h = j->active, o = 1 - h;
    pthread_mutex_lock(&j->apply_mu);
    /* the applier has usually freed it already: it syncs the tables when it moves past a half */
    int rc = TC_OK, free_ = j->cur_half != o && atomic_load(&j->settled) >= j->last[o];
    if (!free_) {
        rc = apply_locked(a, 1);
        free_ = j->cur_half != o && atomic_load(&j->settled) >= j->last[o];
    }
    if (rc == TC_OK && !free_)
        rc = tc_errorf(&j->fail_err, TC_EIO, "%s: the journal's records are not yet on disk",
                       a->path);
    if (rc != TC_OK)
        a->last_err = j->fail_err;
    pthread_mutex_unlock(&j->apply_mu);
    if (rc != TC_OK)
        return rc;
    j->first[o] = a->next_seq;
    j->last[o] = a->next_seq - 1;
    j->placed_last[o] = a->next_seq - 1;
    atomic_store_explicit(&j->end[o], 0, memory_order_release);
    atomic_store_explicit(&j->sealed[o], 0, memory_order_release);
    atomic_store_explicit(&j->sealed[h], 1, memory_order_release); /* the applier moves on */
    j->active = o;
    j->tail = j->written = 0;
    return TC_OK;
}

int journal_place(tc_audit *a, uint64_t seq, const void *rec, size_t rec_len, const void *resp,
                  size_t resp_len, int may_switch, int *status)
{
    journal *j = &a->j;
    size_t size = entry_size(rec_len, resp_len);
    if (j->tail + size > JOURNAL_HALF) {
        if (!may_switch) /* the caller writes what it placed, then comes back */
            return 0;
        if ((*status = switch_half(a)) != TC_OK)
            return 0;
    }
    int h = j->active;
    unsigned char *e = j->mirror + h * JOURNAL_HALF + j->tail;
    memset(e, 0, size);
    put32(e, (uint32_t)size);
    put32(e + 8, (uint32_t)seq);
    put32(e + 12, (uint32_t)(seq >> 32));
    put32(e + 16, (uint32_t)rec_len);
    put32(e + 20, (uint32_t)resp_len);
    memcpy(e + JOURNAL_HDR, rec, rec_len);
    if (resp_len > 0)
        memcpy(e + JOURNAL_HDR + rec_len, resp, resp_len);
    put32(e + 4, entry_crc(e, size));
    j->offset[h][seq - j->first[h]] = (uint32_t)j->tail;
    j->placed_last[h] = seq;
    j->tail += size;
    return 1;
}

void journal_unplace(tc_audit *a)
{
    journal *j = &a->j;
    j->tail = j->written;
    j->placed_last[j->active] = j->last[j->active];
}

int journal_write(tc_audit *a)
{
    journal *j = &a->j;
    int h = j->active;
    size_t len = j->tail - j->written;
    if (len == 0)
        return TC_OK;
    off_t at = (off_t)(h * JOURNAL_HALF + j->written);
    ssize_t w = pwrite(j->fd, j->mirror + at, len, at);
    if (w == (ssize_t)len && !a->opt.relaxed && fdatasync(j->fd) != 0)
        w = -1;
    if (w != (ssize_t)len) {
        int e = w < 0 ? errno : ENOSPC;
        journal_unplace(a);
        return tc_errorf(&a->last_err, e == ENOSPC ? TC_EFULL : TC_EIO,
                         "%s: writing the audit trail: %s", a->path,
                         e == ENOSPC ? "no space left on the device" : strerror(e));
    }
    j->written = j->tail;
    j->last[h] = j->placed_last[h];
    atomic_store_explicit(&j->end[h], j->tail, memory_order_release);
    return TC_OK;
}

const unsigned char *journal_response(tc_audit *a, uint64_t seq, size_t *len)
{
    journal *j = &a->j;
    for (int h = 0; h < 2; h++) {
        if (j->fd < 0 || seq < j->first[h] || seq > j->placed_last[h])
            continue;
        entry e;
        if (entry_at(j->mirror + h * JOURNAL_HALF, j->offset[h][seq - j->first[h]], 0, &e) == 0 ||
            e.seq != seq || e.resp_len == 0)
            return NULL;
        *len = e.resp_len;
        return e.resp;
    }
    return NULL;
}

/* ---- the applier (apply_mu) ---- */

/* Forget request IDs older than 24 h, oldest first, a bounded number per pass. */
static int prune_request_ids(tc_audit *a, MDB_txn *txn, int64_t now_us)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int64_t before = now_us - (int64_t)TC_AUDIT_IDEM_SECONDS * 1000000;
    int mrc = mdb_cursor_open(txn, a->responses, &cur);
    for (size_t n = 0; mrc == MDB_SUCCESS && n < PRUNE_MAX; n++) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (mrc != MDB_SUCCESS || (v.mv_size >= 8 && (int64_t)from_be64(v.mv_data) >= before))
            break;
        mrc = mdb_cursor_del(cur, 0);
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    pthread_mutex_lock(&a->memory.mu);
    idem_memory_expire(&a->memory, before);
    pthread_mutex_unlock(&a->memory.mu);
    return mrc == MDB_NOTFOUND ? MDB_SUCCESS : mrc;
}

/* Put every journaled record not yet in the tables into them, in one transaction. With settle
 * (or when the applier has moved past a half since the last time) the tables are then synced,
 * which frees the halves behind; until then the journal holds the records (in both modes: the
 * tables are opened MDB_NOSYNC). */
static int apply_locked(tc_audit *a, int settle)
{
    journal *j = &a->j;
    int half0 = j->cur_half;
    size_t off0 = j->cur_off;
    uint64_t last = atomic_load(&j->applied);
    MDB_txn *txn = NULL;
    int mrc = MDB_SUCCESS, moved = 0;
    int64_t now = tc_time_now_us();
    for (;;) {
        int h = j->cur_half;
        size_t end = atomic_load_explicit(&j->end[h], memory_order_acquire);
        if (j->cur_off >= end) {
            if (!atomic_load_explicit(&j->sealed[h], memory_order_acquire))
                break;
            if (j->cur_off < atomic_load_explicit(&j->end[h], memory_order_acquire))
                continue; /* written just before it was sealed */
            j->cur_half = 1 - h;
            j->cur_off = 0;
            moved = 1;
            continue;
        }
        entry e;
        size_t size = entry_at(j->mirror + h * JOURNAL_HALF, j->cur_off, 0, &e);
        if (size == 0) {
            mrc = MDB_CORRUPTED; /* only this process writes the mirror */
            break;
        }
        if (txn == NULL && (mrc = mdb_txn_begin(a->env, NULL, 0, &txn)) != MDB_SUCCESS)
            break;
        if ((mrc = put_entry(a, txn, &e)) != MDB_SUCCESS)
            break;
        last = e.seq;
        j->cur_off += size;
    }
    if (mrc == MDB_SUCCESS && now - j->last_prune_us > PRUNE_EVERY_US) {
        if (txn == NULL)
            mrc = mdb_txn_begin(a->env, NULL, 0, &txn);
        if (mrc == MDB_SUCCESS)
            mrc = prune_request_ids(a, txn, now);
        j->last_prune_us = now;
    }
    if (txn != NULL) {
        if (mrc == MDB_SUCCESS)
            mrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (mrc != MDB_SUCCESS) {
        j->cur_half = half0; /* nothing of it was kept: next time from the same place */
        j->cur_off = off0;
        if (mrc == MDB_MAP_FULL) {
            MDB_envinfo info;
            mdb_env_info(a->env, &info);
            j->fail_code = tc_errorf(&j->fail_err, TC_EFULL,
                                     "%s: writing the audit trail: its map is full: raise "
                                     "audit_map_size (--audit-map-size, now %zu MiB)",
                                     a->path, info.me_mapsize >> 20);
        } else {
            j->fail_code = mdb_fail(a, mrc, "writing the audit trail", &j->fail_err);
        }
        atomic_store_explicit(&j->failing, 1, memory_order_release);
        pthread_mutex_lock(&a->stats_mu);
        a->stats.apply_failures++;
        pthread_mutex_unlock(&a->stats_mu);
        return j->fail_code;
    }
    atomic_store_explicit(&j->applied, last, memory_order_release);
    j->pending_settle |= moved;
    if ((settle || j->pending_settle) && atomic_load(&j->settled) < last) {
        if ((mrc = mdb_env_sync(a->env, 1)) != MDB_SUCCESS) {
            j->fail_code = mdb_fail(a, mrc, "syncing the audit trail to disk", &j->fail_err);
            return j->fail_code; /* the journal still holds them; retried next round */
        }
        atomic_store_explicit(&j->settled, last, memory_order_release);
        j->pending_settle = 0;
    }
    atomic_store_explicit(&j->failing, 0, memory_order_release);
    return TC_OK;
}

int journal_catch_up(tc_audit *a)
{
    journal *j = &a->j;
    if (j->fd < 0 || !j->started)
        return TC_OK;
    pthread_mutex_lock(&j->apply_mu);
    int rc = apply_locked(a, 0);
    pthread_mutex_unlock(&j->apply_mu);
    return rc;
}

static void *applier_main(void *arg)
{
    tc_audit *a = arg;
    pthread_setname_np(pthread_self(), "tc-audit-apply");
    while (!periodic_wait(&a->j.applier)) {
        pthread_mutex_lock(&a->j.apply_mu);
        apply_locked(a, 0);
        pthread_mutex_unlock(&a->j.apply_mu);
    }
    return NULL;
}

int journal_start(tc_audit *a, tc_error *err)
{
    journal *j = &a->j;
    uint64_t last = a->next_seq - 1;
    j->active = 0;
    j->tail = j->written = 0;
    for (int h = 0; h < 2; h++) {
        j->first[h] = last + 1;
        j->last[h] = j->placed_last[h] = last;
        atomic_store(&j->end[h], 0);
    }
    atomic_store(&j->sealed[0], 0);
    atomic_store(&j->sealed[1], 1);
    j->cur_half = 0;
    j->cur_off = 0;
    j->last_prune_us = tc_time_now_us();
    atomic_store(&j->applied, last);
    atomic_store(&j->settled, last);
    int rc = periodic_start(&j->applier, JOURNAL_APPLY_MS, applier_main, a, err);
    j->started = rc == TC_OK;
    return rc;
}

int journal_sync(tc_audit *a)
{
    return fdatasync(a->j.fd) == 0 ? MDB_SUCCESS : errno;
}

int journal_close(tc_audit *a)
{
    journal *j = &a->j;
    int rc = TC_OK;
    if (j->started) {
        periodic_stop(&j->applier);
        pthread_mutex_lock(&j->apply_mu);
        rc = apply_locked(a, 1);
        pthread_mutex_unlock(&j->apply_mu);
        j->started = 0;
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    if (j->mu_ready)
        pthread_mutex_destroy(&j->apply_mu);
    j->mu_ready = 0;
    free(j->mirror);
    free(j->offset[0]);
    free(j->offset[1]);
    j->mirror = NULL;
    j->offset[0] = j->offset[1] = NULL;
    return rc;
}

uint64_t tc_audit_journal_pending(tc_audit *a)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/journal", a->path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint64_t n = 0;
    unsigned char *mirror = calloc(2, JOURNAL_HALF);
    found *list = malloc(2 * JOURNAL_SLOTS * sizeof *list);
    /* a tinchapd writing the trail holds the lock, and moves them in within milliseconds */
    if (mirror != NULL && list != NULL && flock(fd, LOCK_SH | LOCK_NB) == 0 &&
        pread(fd, mirror, 2 * JOURNAL_HALF, 0) >= 0 && tc_audit_find_next_seq(a, NULL) == TC_OK)
        n = journal_found(mirror, a->next_seq - 1, list);
    free(list);
    free(mirror);
    close(fd);
    return n;
}
