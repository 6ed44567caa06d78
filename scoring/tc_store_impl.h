/* tc_store_impl.h — what the files of the store share (tc_store.c: opening, citizens,
 * statistics; tc_store_consent.c: consents and their history). Not a contract: nothing outside
 * tc_store*.c includes it. */
#ifndef TC_STORE_IMPL_H
#define TC_STORE_IMPL_H

#include <string.h>

#include "tc_store.h"

struct tc_store {
    MDB_env *env;
    MDB_dbi meta, citizens, consents, history;
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
};

struct tc_writer {
    tc_store *s;
    MDB_txn *txn;
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
