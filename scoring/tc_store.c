/* The store: opening, citizens, statistics and snapshots (consents and their history:
 * tc_store_consent.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "tc_store_impl.h"
#include "tc_time.h"

int tc_mdb_error(const char *path, MDB_env *env, int rc, const char *what, tc_error *err)
{
    if (path == NULL)
        path = "database";
    switch (rc) {
    case MDB_MAP_FULL: {
        MDB_envinfo info = {0};
        if (env != NULL)
            mdb_env_info(env, &info);
        return tc_errorf(err, TC_EFULL, "%s: %s: database full: raise --map-size (now %zu MiB)",
                         path, what, info.me_mapsize >> 20);
    }
    case MDB_TXN_FULL:
        return tc_errorf(err, TC_EFULL, "%s: %s: too many changes in one transaction: lower "
                         "--batch-size", path, what);
    case EIO: {
        /* LMDB reports a write cut short as EIO. On a full filesystem that is what running out
         * of space looks like: the pages it reuses inside the file are written, new ones not. */
        struct statvfs vs;
        mdb_filehandle_t fd;
        if (env != NULL && mdb_env_get_fd(env, &fd) == MDB_SUCCESS && fstatvfs(fd, &vs) == 0 &&
            (unsigned long long)vs.f_bavail * vs.f_frsize < 65536)
            return tc_errorf(err, TC_EFULL, "%s: %s: no space left on the device", path, what);
        return tc_errorf(err, TC_EIO, "%s: %s: %s", path, what, strerror(rc));
    }
    case ENOSPC:
        return tc_errorf(err, TC_EFULL, "%s: %s: no space left on the device", path, what);
    case MDB_READERS_FULL:
        return tc_errorf(err, TC_EBUSY, "%s: %s: too many concurrent readers", path, what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return tc_errorf(err, TC_EDB, "%s: %s: the database is corrupted (%s)", path, what,
                         mdb_strerror(rc));
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return tc_errorf(err, TC_EVERSION, "%s: %s: not an LMDB database of a supported version",
                         path, what);
    case MDB_NOTFOUND:
        return tc_errorf(err, TC_ENOTFOUND, "%s: %s: not found", path, what);
    case MDB_KEYEXIST:
        return tc_errorf(err, TC_EEXIST, "%s: %s: key exists or is out of order", path, what);
    case EACCES:
    case EROFS:
        return tc_errorf(err, TC_EIO, "%s: %s: %s", path, what, strerror(rc));
    default:
        return tc_errorf(err, rc == ENOMEM ? TC_ENOMEM : TC_EDB, "%s: %s: %s", path, what,
                         mdb_strerror(rc));
    }
}

int tc_store_mdb_error(const tc_store *s, int rc, const char *what, tc_error *err)
{
    return tc_mdb_error(s != NULL ? s->path : NULL, s != NULL ? s->env : NULL, rc, what, err);
}

/* Record what the database is for, on first open. */
static int meta_init(tc_store *s, MDB_txn *txn, const tc_store_options *opt, tc_error *err)
{
    int rc = TC_OK;
    unsigned char fp[TC_FINGERPRINT_LEN];
    unsigned char fmt[4] = {TC_STORE_FORMAT, 0, 0, 0};
    char created[TC_TIME_TEXT_LEN];
    if (opt->key == NULL)
        return tc_errorf(err, TC_EKEY, "%s: creating a database needs the secret key", s->path);
    tc_key_fingerprint(opt->key, fp);
    tc_time_format(tc_time_now(), created);
    MDB_CHECK(meta_put(txn, s->meta, "format", fmt, sizeof fmt), "writing meta");
    MDB_CHECK(meta_put(txn, s->meta, "catalog_name", s->cat->name, strlen(s->cat->name)),
              "writing meta");
    MDB_CHECK(meta_put(txn, s->meta, "catalog_hash", s->cat->hash, TC_HASH_LEN), "writing meta");
    MDB_CHECK(meta_put(txn, s->meta, "key_fingerprint", fp, sizeof fp), "writing meta");
    MDB_CHECK(meta_put(txn, s->meta, "created_at", created, strlen(created)), "writing meta");
    s->format = TC_STORE_FORMAT;
    rc = tc_store_counts_put(s, txn, 0, 0, err);
out:
    return rc;
}

static int meta_check(tc_store *s, MDB_txn *txn, const tc_store_options *opt, tc_error *err)
{
    MDB_val v;
    int rc = TC_OK;
    MDB_CHECK(meta_get(txn, s->meta, "format", &v), "reading meta");
    unsigned format = v.mv_size == 4 ? ((unsigned char *)v.mv_data)[0] : 0;
    if (format != 1 && format != TC_STORE_FORMAT)
        return tc_errorf(err, TC_EVERSION, "%s: store format %u is not supported (this is %d)",
                         s->path, format, TC_STORE_FORMAT);
    s->format = (int)format;
    MDB_CHECK(meta_get(txn, s->meta, "catalog_hash", &v), "reading meta");
    if (v.mv_size != TC_HASH_LEN || memcmp(v.mv_data, s->cat->hash, TC_HASH_LEN) != 0) {
        char stored_name[TC_NAME_MAX + 1] = "?", stored_hash[TC_HASH_HEX_LEN + 1] = "?";
        MDB_val n;
        if (meta_get(txn, s->meta, "catalog_name", &n) == 0 && n.mv_size <= TC_NAME_MAX) {
            memcpy(stored_name, n.mv_data, n.mv_size);
            stored_name[n.mv_size] = '\0';
        }
        if (v.mv_size == TC_HASH_LEN)
            tc_hex(v.mv_data, TC_HASH_LEN, stored_hash);
        return tc_errorf(err, TC_ECATALOG_MISMATCH,
                         "%s: built for catalog '%s' %.12s, but the catalog given is '%s' "
                         "%.12s; open it with the catalog it was built for",
                         s->path, stored_name, stored_hash, s->cat->name, s->cat->hash_hex);
    }
    if (opt->key != NULL) {
        unsigned char fp[TC_FINGERPRINT_LEN];
        tc_key_fingerprint(opt->key, fp);
        MDB_CHECK(meta_get(txn, s->meta, "key_fingerprint", &v), "reading meta");
        if (v.mv_size != sizeof fp || memcmp(v.mv_data, fp, sizeof fp) != 0)
            return tc_errorf(err, TC_EKEY,
                             "%s: the secret key is not the one this database was built with",
                             s->path);
    }
out:
    return rc;
}

static int prepare_dir(const tc_store_options *opt, tc_error *err)
{
    struct stat st;
    if (stat(opt->path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return tc_errorf(err, TC_EIO, "%s: not a directory", opt->path);
        char data[4096];
        snprintf(data, sizeof data, "%s/data.mdb", opt->path);
        if (stat(data, &st) != 0 && (opt->read_only || !opt->create))
            return tc_errorf(err, TC_ENOTFOUND, "%s: no database here (load one with 'tinchap "
                             "load')", opt->path);
        return TC_OK;
    }
    if (errno != ENOENT)
        return tc_errorf(err, TC_EIO, "%s: %s", opt->path, strerror(errno));
    if (opt->read_only || !opt->create)
        return tc_errorf(err, TC_ENOTFOUND, "%s: no database here (load one with 'tinchap "
                         "load')", opt->path);
    if (mkdir(opt->path, 0700) != 0 && errno != EEXIST)
        return tc_errorf(err, TC_EIO, "%s: %s", opt->path, strerror(errno));
    return TC_OK;
}

int tc_store_open(const tc_store_options *opt, tc_store **out, tc_error *err)
{
    int rc = TC_OK;
    MDB_txn *txn = NULL;
    tc_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    s->cat = opt->catalog;
    s->read_only = opt->read_only;
    s->path = strdup(opt->path);
    if (s->path == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = prepare_dir(opt, err)) != TC_OK)
        goto out;
    MDB_CHECK(mdb_env_create(&s->env), "creating the environment");
    MDB_CHECK(mdb_env_set_maxdbs(s->env, TC_STORE_MAX_DBS), "configuring");
    MDB_CHECK(mdb_env_set_maxreaders(s->env, TC_STORE_MAX_READERS), "configuring");
    /* NOTLS: read transactions belong to tc_reader objects, not threads. NORDAHEAD: lookups are
     * random, read-ahead would only evict useful pages. */
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (opt->read_only ? MDB_RDONLY : 0);
    MDB_CHECK(mdb_env_open(s->env, opt->path, flags, 0600), "opening");
    if (!opt->read_only) {
        MDB_envinfo info;
        MDB_CHECK(mdb_env_info(s->env, &info), "reading the environment");
        size_t want = opt->map_size != 0 ? opt->map_size
                      : info.me_mapsize > TC_STORE_DEFAULT_MAP_SIZE ? info.me_mapsize
                                                                     : TC_STORE_DEFAULT_MAP_SIZE;
        if (want != info.me_mapsize)
            MDB_CHECK(mdb_env_set_mapsize(s->env, want), "setting the map size");
    }
    MDB_CHECK(mdb_txn_begin(s->env, NULL, opt->read_only ? MDB_RDONLY : 0, &txn),
              "starting a transaction");
    unsigned create = opt->read_only ? 0 : MDB_CREATE;
    int mrc = mdb_dbi_open(txn, "meta", create, &s->meta);
    if (mrc == MDB_NOTFOUND) {
        rc = tc_errorf(err, TC_ENOTFOUND, "%s: not a tinchap database", opt->path);
        goto out;
    }
    MDB_CHECK(mrc, "opening table meta");
    MDB_CHECK(mdb_dbi_open(txn, "citizens", create, &s->citizens), "opening table citizens");
    mrc = mdb_dbi_open(txn, "consent_history", create, &s->history);
    s->has_history = mrc == MDB_SUCCESS;
    if (mrc != MDB_NOTFOUND || !opt->read_only)
        MDB_CHECK(mrc, "opening table consent_history");
    MDB_val v;
    mrc = meta_get(txn, s->meta, "format", &v);
    if (mrc == MDB_NOTFOUND && !opt->read_only)
        rc = meta_init(s, txn, opt, err);
    else if (mrc == MDB_NOTFOUND)
        rc = tc_errorf(err, TC_ENOTFOUND, "%s: not a tinchap database", opt->path);
    else
        rc = meta_check(s, txn, opt, err);
    if (rc != TC_OK)
        goto out;
    s->consents = s->citizens;
    if (s->format == 1)
        MDB_CHECK(mdb_dbi_open(txn, "consents", create, &s->consents), "opening table consents");
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    MDB_CHECK(mrc, "initialising");
    if (!opt->read_only && opt->key != NULL)
        rc = tc_store_protect_old_refs(s, opt->key, err);
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != TC_OK) {
        tc_store_close(s);
        return rc;
    }
    *out = s;
    return TC_OK;
}

void tc_store_close(tc_store *s)
{
    if (s == NULL)
        return;
    if (s->env != NULL)
        mdb_env_close(s->env);
    free(s->path);
    free(s);
}

const tc_catalog *tc_store_catalog(const tc_store *s)
{
    return s->cat;
}

const char *tc_store_path(const tc_store *s)
{
    return s->path;
}

MDB_env *tc_store_env(tc_store *s)
{
    return s->env;
}

int tc_store_dbi(tc_store *s, const char *name, unsigned flags, MDB_dbi *out, tc_error *err)
{
    int rc = TC_OK;
    MDB_txn *txn = NULL;
    MDB_CHECK(mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn),
              "starting a transaction");
    MDB_CHECK(mdb_dbi_open(txn, name, flags | (s->read_only ? 0 : MDB_CREATE), out), name);
    int mrc = mdb_txn_commit(txn);
    txn = NULL;
    MDB_CHECK(mrc, name);
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

/* ---- reading ---- */

int tc_reader_new(tc_store *s, tc_reader **out, tc_error *err)
{
    int rc = TC_OK;
    tc_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    r->s = s;
    MDB_CHECK(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn), "starting a read transaction");
    mdb_txn_reset(r->txn);
    *out = r;
    return TC_OK;
out:
    free(r);
    return rc;
}

void tc_reader_free(tc_reader *r)
{
    if (r == NULL)
        return;
    if (r->cur != NULL)
        mdb_cursor_close(r->cur);
    mdb_txn_abort(r->txn);
    free(r);
}

int tc_reader_begin(tc_reader *r, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = r->s;
    MDB_CHECK(mdb_txn_renew(r->txn), "starting a read transaction");
    r->cur_ready = 0;
out:
    return rc;
}

void tc_reader_end(tc_reader *r)
{
    mdb_txn_reset(r->txn);
}

MDB_txn *tc_reader_txn(tc_reader *r)
{
    return r->txn;
}

int tc_reader_citizen(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN], tc_record *out,
                      tc_error *err)
{
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, v;
    int mrc = mdb_get(r->txn, r->s->citizens, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return tc_errorf(err, TC_ENOTFOUND, "citizen not found");
    if (mrc != MDB_SUCCESS)
        return tc_store_mdb_error(r->s, mrc, "reading a citizen", err);
    return tc_record_view(r->s->cat, v.mv_data, v.mv_size, out, err);
}

/* Format 1: the record and the consent from their own tables. */
static int view_two_tables(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                           const char *institution, const char *purpose, tc_citizen_view *out,
                           tc_error *err)
{
    out->has_consent =
        tc_reader_consent(r, key, institution, purpose, &out->consent, NULL) == TC_OK;
    out->record_rc = tc_reader_citizen(r, key, &out->record, err);
    return TC_OK;
}

/* LMDB's key order: bytes, then the shorter first. */
static int key_cmp(const MDB_val *k, const unsigned char *want, size_t want_len)
{
    int cmp = memcmp(k->mv_data, want, k->mv_size < want_len ? k->mv_size : want_len);
    return cmp != 0 ? cmp : (k->mv_size > want_len) - (k->mv_size < want_len);
}

int tc_reader_view(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                   const char *institution, const char *purpose, tc_citizen_view *out,
                   tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = r->s;
    out->has_consent = 0;
    out->record_rc = TC_ENOTFOUND;
    if (s->format == 1)
        return view_two_tables(r, key, institution, purpose, out, err);
    if (r->cur == NULL)
        MDB_CHECK(mdb_cursor_open(r->txn, s->citizens, &r->cur), "opening a cursor");
    else if (!r->cur_ready)
        MDB_CHECK(mdb_cursor_renew(r->txn, r->cur), "opening a cursor");
    r->cur_ready = 1;
    unsigned char want[TC_CONSENT_KEY_MAX];
    size_t want_len = tc_consent_key(key, institution, purpose, want);
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, v;
    int mrc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
    if (mrc == MDB_SUCCESS && k.mv_size == TC_CITIZEN_KEY_LEN &&
        memcmp(k.mv_data, key, TC_CITIZEN_KEY_LEN) == 0) {
        out->record_rc = tc_record_view(s->cat, v.mv_data, v.mv_size, &out->record, err);
        mrc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT);
    }
    if (out->record_rc == TC_ENOTFOUND)
        tc_errorf(err, TC_ENOTFOUND, "citizen not found");
    /* The consents follow the record in key order, mostly on the same page: step to the one
     * wanted, or past where it would be. */
    for (; mrc == MDB_SUCCESS && tc_store_is_consent_of(&k, key);
         mrc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT)) {
        int cmp = key_cmp(&k, want, want_len);
        if (cmp == 0)
            out->has_consent = tc_consent_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size,
                                                 &out->consent, NULL) == TC_OK;
        if (cmp >= 0)
            break;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "reading a citizen");
out:
    return rc;
}

/* ---- writing ---- */

int tc_writer_begin(tc_store *s, tc_writer **out, tc_error *err)
{
    int rc = TC_OK;
    if (s->read_only)
        return tc_errorf(err, TC_EINVAL, "%s: opened read-only", s->path);
    tc_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    w->s = s;
    MDB_CHECK(mdb_txn_begin(s->env, NULL, 0, &w->txn), "starting a write transaction");
    *out = w;
    return TC_OK;
out:
    free(w);
    return rc;
}

MDB_txn *tc_writer_txn(tc_writer *w)
{
    return w->txn;
}

int tc_writer_put_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                          const void *record, size_t len, int *changed, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, old, v = {len, (void *)record};
    int mrc = mdb_get(w->txn, s->citizens, &k, &old);
    if (mrc == MDB_SUCCESS && tc_record_same_values(old.mv_data, old.mv_size, record, len)) {
        if (changed != NULL)
            *changed = 0;
        return TC_OK;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "reading a citizen");
    MDB_CHECK(mdb_put(w->txn, s->citizens, &k, &v, 0), "writing a citizen");
    if (mrc == MDB_NOTFOUND)
        w->added_citizens++;
    if (changed != NULL)
        *changed = 1;
out:
    return rc;
}

int tc_writer_append_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                             const void *record, size_t len, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, v = {len, (void *)record};
    MDB_CHECK(mdb_put(w->txn, s->citizens, &k, &v, MDB_APPEND), "appending a citizen");
    w->added_citizens++;
out:
    return rc;
}

int tc_writer_erase_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                            int *found, size_t *consents, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    size_t n = 0, h = 0;
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key};
    int mrc = mdb_del(w->txn, s->citizens, &k, NULL);
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        MDB_CHECK(mrc, "erasing a citizen");
    if ((rc = tc_store_scan_consents(s, w->txn, key, 1, NULL, NULL, &n, err)) != TC_OK ||
        (rc = tc_store_scan_history(s, w->txn, key, 1, NULL, NULL, &h, err)) != TC_OK)
        goto out;
    w->added_citizens -= mrc == MDB_SUCCESS;
    w->added_consents -= (int64_t)n;
    if (found != NULL)
        *found = mrc == MDB_SUCCESS || n > 0 || h > 0;
    if (consents != NULL)
        *consents = n + h;
out:
    return rc;
}

int tc_writer_has_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN])
{
    MDB_val k = {TC_CITIZEN_KEY_LEN, (void *)key}, v;
    return mdb_get(w->txn, w->s->citizens, &k, &v) == MDB_SUCCESS;
}

/* The counts as this transaction will leave them. In format 1 the tables count its rows
 * already; format 2's counts in meta are the last commit's, plus this transaction's changes. */
static int writer_counts(tc_writer *w, size_t *citizens, size_t *consents, tc_error *err)
{
    int rc = tc_store_counts(w->s, w->txn, citizens, consents, err);
    if (rc != TC_OK) {
        *citizens = *consents = 0;
        return rc;
    }
    if (w->s->format != 1) {
        *citizens += (size_t)w->added_citizens; /* a negative change wraps back, as wanted */
        *consents += (size_t)w->added_consents;
    }
    return TC_OK;
}

size_t tc_writer_citizen_count(tc_writer *w)
{
    size_t citizens, consents;
    writer_counts(w, &citizens, &consents, NULL);
    return citizens;
}

size_t tc_writer_consent_count(tc_writer *w)
{
    size_t citizens, consents;
    writer_counts(w, &citizens, &consents, NULL);
    return consents;
}

int tc_writer_commit(tc_writer *w, tc_error *err)
{
    int rc = TC_OK;
    tc_store *s = w->s;
    size_t citizens, consents;
    if (s->format != 1 && (w->added_citizens != 0 || w->added_consents != 0) &&
        ((rc = writer_counts(w, &citizens, &consents, err)) != TC_OK ||
         (rc = tc_store_counts_put(s, w->txn, citizens, consents, err)) != TC_OK)) {
        tc_writer_abort(w); /* counts that cannot be kept right fail the commit */
        return rc;
    }
    int mrc = mdb_txn_commit(w->txn);
    w->txn = NULL;
    free(w);
    MDB_CHECK(mrc, "committing");
out:
    return rc;
}

void tc_writer_abort(tc_writer *w)
{
    if (w == NULL)
        return;
    if (w->txn != NULL)
        mdb_txn_abort(w->txn);
    free(w);
}

/* ---- statistics ---- */

/* Format 2 keeps its counts in meta ("counts": citizens, then consents, u64 BE each): its one
 * tree's entry count would tell neither. Format 1 has a table for each. */
int tc_store_counts(tc_store *s, MDB_txn *txn, size_t *citizens, size_t *consents, tc_error *err)
{
    int rc = TC_OK;
    MDB_stat st;
    MDB_val v;
    if (s->format == 1) {
        MDB_CHECK(mdb_stat(txn, s->citizens, &st), "counting citizens");
        *citizens = st.ms_entries;
        MDB_CHECK(mdb_stat(txn, s->consents, &st), "counting consents");
        *consents = st.ms_entries;
        return TC_OK;
    }
    MDB_CHECK(meta_get(txn, s->meta, "counts", &v), "reading the counts");
    if (v.mv_size != 16)
        return tc_errorf(err, TC_EDB, "%s: the counts in meta are %zu bytes, not 16", s->path,
                         v.mv_size);
    uint64_t n[2] = {0, 0};
    for (int i = 0; i < 16; i++)
        n[i / 8] = n[i / 8] << 8 | ((const unsigned char *)v.mv_data)[i];
    *citizens = (size_t)n[0];
    *consents = (size_t)n[1];
out:
    return rc;
}

int tc_store_counts_put(tc_store *s, MDB_txn *txn, size_t citizens, size_t consents, tc_error *err)
{
    int rc = TC_OK;
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)((uint64_t)citizens >> (56 - 8 * i));
        b[8 + i] = (unsigned char)((uint64_t)consents >> (56 - 8 * i));
    }
    MDB_CHECK(meta_put(txn, s->meta, "counts", b, sizeof b), "writing the counts");
out:
    return rc;
}

int tc_store_stats_get(tc_store *s, tc_store_stats *out, tc_error *err)
{
    int rc = TC_OK;
    MDB_txn *txn = NULL;
    MDB_stat cst;
    MDB_envinfo info;
    MDB_val v;
    memset(out, 0, sizeof *out);
    MDB_CHECK(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "starting a read transaction");
    MDB_CHECK(mdb_stat(txn, s->citizens, &cst), "reading statistics");
    MDB_CHECK(mdb_env_info(s->env, &info), "reading statistics");
    if ((rc = tc_store_counts(s, txn, &out->citizens, &out->consents, err)) != TC_OK)
        goto out;
    out->format = s->format;
    out->page_size = cst.ms_psize;
    out->citizens_depth = cst.ms_depth;
    out->citizens_pages = cst.ms_branch_pages + cst.ms_leaf_pages + cst.ms_overflow_pages;
    out->used_bytes = (info.me_last_pgno + 1) * (size_t)cst.ms_psize;
    out->map_bytes = info.me_mapsize;
    if (meta_get(txn, s->meta, "catalog_name", &v) == 0 && v.mv_size <= TC_NAME_MAX)
        memcpy(out->catalog_name, v.mv_data, v.mv_size);
    if (meta_get(txn, s->meta, "catalog_hash", &v) == 0 && v.mv_size == TC_HASH_LEN)
        tc_hex(v.mv_data, TC_HASH_LEN, out->catalog_hash);
    if (meta_get(txn, s->meta, "created_at", &v) == 0)
        tc_time_parse(v.mv_data, v.mv_size, &out->created_at);
    char data[4096];
    struct stat st;
    snprintf(data, sizeof data, "%s/data.mdb", s->path);
    if (stat(data, &st) == 0)
        out->file_bytes = (size_t)st.st_size;
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

int tc_store_snapshot(tc_store *s, const char *dir, tc_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        char data[4096];
        snprintf(data, sizeof data, "%s/data.mdb", dir);
        if (!S_ISDIR(st.st_mode) || stat(data, &st) == 0)
            return tc_errorf(err, TC_EEXIST, "%s: exists and is not an empty directory; "
                             "refusing to overwrite", dir);
    } else if (mkdir(dir, 0700) != 0) {
        return tc_errorf(err, TC_EIO, "%s: %s", dir, strerror(errno));
    }
    int mrc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
    if (mrc != MDB_SUCCESS) {
        char data[4096];
        snprintf(data, sizeof data, "%s/data.mdb", dir);
        unlink(data); /* never leave a half copy that looks like a database */
        return tc_store_mdb_error(s, mrc, "copying", err);
    }
    return TC_OK;
}
