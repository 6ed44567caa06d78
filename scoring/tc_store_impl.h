/* tc_store_impl.h — what the files of the store share (tc_store.c: opening, citizens,
 * statistics; tc_store_consent.c: consents and their history). Not a contract: nothing outside
 * tc_store*.c includes it. */
#ifndef TC_STORE_IMPL_H
#define TC_STORE_IMPL_H

#include <string.h>

#include "tc_store.h"

struct tc_store {
    MDB_env *env;
    /* In format 2, consents is citizens: a citizen's consents follow their record in one tree.
     * In format 1 it is a table of its own. */
    MDB_dbi meta, citizens, consents, history;
    int format;      /* TC_STORE_FORMAT, or 1 until tc_store_upgrade */
    int has_history; /* 0: a database opened read-only from before the table existed */
    const tc_catalog *cat;
    char *path;
    int read_only;
};

/* After the consent key in a consent_history key: NUL, time (u64 BE), n (u32 BE). */
#define HISTORY_SUFFIX (1 + 8 + 4)

struct tc_reader {
    tc_store *s;
    MDB_txn *txn;
    MDB_cursor *cur; /* on citizens, kept across transactions (tc_reader_view) */
    int cur_ready;   /* cur belongs to the current transaction */
};

struct tc_writer {
    tc_store *s;
    MDB_txn *txn;
    /* Format 2 counts its rows in meta: this transaction's changes, written at commit. */
    int64_t added_citizens, added_consents;
};

#define MDB_CHECK(expr, what)                                                                      \
    do {                                                                                           \
        int mrc_ = (expr);                                                                         \
        if (mrc_ != MDB_SUCCESS) {                                                                 \
            rc = tc_store_mdb_error(s, mrc_, what, err);                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static inline int meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *out)
{
    MDB_val k = {strlen(name), (void *)name};
    return mdb_get(txn, dbi, &k, out);
}

static inline int meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *v, size_t len)
{
    MDB_val k = {strlen(name), (void *)name};
    MDB_val d = {len, (void *)v};
    return mdb_put(txn, dbi, &k, &d, 0);
}

/* The counts of citizens and consents as txn sees them (tc_store.c); counts_put sets them in
 * format 2. */
int tc_store_counts(tc_store *s, MDB_txn *txn, size_t *citizens, size_t *consents, tc_error *err);
int tc_store_counts_put(tc_store *s, MDB_txn *txn, size_t citizens, size_t consents, tc_error *err);

/* Position cur at the first consent of the citizen key (past their record, in format 2). */
int tc_store_seek_consents(MDB_cursor *cur, const unsigned char key[TC_CITIZEN_KEY_LEN], MDB_val *k,
                           MDB_val *v);

/* Whether k is a consent key of the citizen key. */
static inline int tc_store_is_consent_of(const MDB_val *k, const unsigned char *key)
{
    return k->mv_size > TC_CITIZEN_KEY_LEN && memcmp(k->mv_data, key, TC_CITIZEN_KEY_LEN) == 0;
}

/* Visit (delete == 0) or delete every consent, current (scan_consents) or replaced
 * (scan_history), of one citizen; *count says how many. */
int tc_store_scan_consents(tc_store *s, MDB_txn *txn, const unsigned char key[TC_CITIZEN_KEY_LEN],
                           int delete, tc_consent_fn fn, void *arg, size_t *count, tc_error *err);
int tc_store_scan_history(tc_store *s, MDB_txn *txn, const unsigned char key[TC_CITIZEN_KEY_LEN],
                          int delete, tc_history_fn fn, void *arg, size_t *count, tc_error *err);

/* Once per database: protect the consent references stored with a digit run
 * (tc_store_consent.c). */
int tc_store_protect_old_refs(tc_store *s, const tc_key *key, tc_error *err);

#endif
