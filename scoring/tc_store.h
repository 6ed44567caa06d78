/* tc_store — the embedded LMDB database of consented citizens.
 *
 * One LMDB environment (a directory holding data.mdb and lock.mdb) with named databases:
 *   meta      store format, catalog name and hash, secret fingerprint, creation time, counts
 *   citizens  pseudonymous key (HMAC-SHA256 of the ID) -> citizen record (tc_record.h), and
 *             citizen key + institution + NUL + purpose -> consent (tc_consent.h): a citizen's
 *             consents sort right after their record, so a Score finds both in one walk of
 *             the tree (tc_reader_view), mostly on one leaf page
 *   consent_history  consent key + NUL + time replaced (u64 BE) + n (u32 BE) -> the consent a new
 *             grant replaced: a citizen's consent history (granted, replaced, revoked,
 *             expired) stays queryable until the citizen is erased
 * Other modules may add named databases through tc_store_dbi. The audit trail is not here: it
 * lives in its own environment (tc_audit.h), so a replica's database can be replaced by a
 * snapshot without touching the replica's trail.
 *
 * The store never sees a raw citizen ID: callers hash IDs with a tc_hasher first. Opening checks
 * the catalog hash and the secret fingerprint recorded at creation and refuses a mismatch,
 * so records are never misread and a database cannot be used with the wrong secret.
 *
 * Store format 1 kept the consents in a table of their own ("consents"). Such a database still
 * opens and works, a Score walking two trees; tc_store_upgrade rewrites it as format 2.
 *
 * Threads: a tc_store is shared; each thread that reads has its own tc_reader (a read
 * transaction that is reset and renewed, never reallocated). Writes go through one tc_writer at
 * a time (LMDB serialises writers). Every LMDB return code is checked; MDB_MAP_FULL becomes
 * TC_EFULL ("database full: raise --map-size"), and the transaction is aborted, so nothing is
 * half-written.
 */
#ifndef TC_STORE_H
#define TC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "tc_catalog.h"
#include "tc_consent.h"
#include "tc_error.h"
#include "tc_key.h"
#include "tc_record.h"

#define TC_STORE_FORMAT 2
#define TC_STORE_DEFAULT_MAP_SIZE ((size_t)32 << 30) /* 32 GiB of address space, not disk */
#define TC_STORE_MAX_DBS 16
#define TC_STORE_MAX_READERS 512

typedef struct tc_store tc_store;
typedef struct tc_reader tc_reader;
typedef struct tc_writer tc_writer;

typedef struct tc_store_options {
    const char *path;           /* database directory */
    const tc_catalog *catalog;  /* required; borrowed, must outlive the store */
    const tc_key *key;          /* NULL only for operations that never hash (stats) */
    size_t map_size;            /* 0: TC_STORE_DEFAULT_MAP_SIZE, or larger if the file is */
    int read_only;
    int create;                 /* make the directory and the database if absent */
} tc_store_options;

int tc_store_open(const tc_store_options *opt, tc_store **out, tc_error *err);
void tc_store_close(tc_store *s);

const tc_catalog *tc_store_catalog(const tc_store *s);
const char *tc_store_path(const tc_store *s);

/* Open (creating unless read-only) a further named database, for modules layered on the store.
 * Call before any reader or writer exists. flags are mdb_dbi_open's (e.g. MDB_INTEGERKEY). */
int tc_store_dbi(tc_store *s, const char *name, unsigned flags, MDB_dbi *out, tc_error *err);

/* The LMDB environment, for modules layered on the store (audit). */
MDB_env *tc_store_env(tc_store *s);

/* Translate an LMDB return code into a TC_E* code with a message; what names the operation. */
int tc_store_mdb_error(const tc_store *s, int mdb_rc, const char *what, tc_error *err);

/* The same for any LMDB environment (path and env may be NULL). */
int tc_mdb_error(const char *path, MDB_env *env, int mdb_rc, const char *what, tc_error *err);

/* ---- reading ---- */

int tc_reader_new(tc_store *s, tc_reader **out, tc_error *err);
void tc_reader_free(tc_reader *r);

/* Start a snapshot (renews the reader's transaction). Pair with tc_reader_end. */
int tc_reader_begin(tc_reader *r, tc_error *err);
void tc_reader_end(tc_reader *r);

/* The citizen's record, viewed in place: valid until tc_reader_end. TC_ENOTFOUND if absent. */
int tc_reader_citizen(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN], tc_record *out,
                      tc_error *err);

/* What a Score reads of one citizen: the consent for this institution and purpose, and the
 * record (viewed in place, valid until tc_reader_end). In format 2 one walk of the tree finds
 * both. The result is the walk's; record_rc is TC_OK, TC_ENOTFOUND or why the record cannot be
 * read (in err), and a consent that cannot be decoded counts as none, as in tc_consent_check. */
typedef struct tc_citizen_view {
    int has_consent, record_rc;
    tc_consent consent;
    tc_record record;
} tc_citizen_view;
int tc_reader_view(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                   const char *institution, const char *purpose, tc_citizen_view *out,
                   tc_error *err);

/* One consent. TC_ENOTFOUND if none for this (citizen, institution, purpose). */
int tc_reader_consent(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                      const char *institution, const char *purpose, tc_consent *out,
                      tc_error *err);

/* Every consent of one citizen, in (institution, purpose) order. fn returns nonzero to stop. */
typedef int (*tc_consent_fn)(const tc_consent *c, void *arg);
int tc_reader_consents(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                       tc_consent_fn fn, void *arg, tc_error *err);

/* Every consent of one citizen that a later grant replaced, with when (seconds), in
 * (institution, purpose, time) order. fn returns nonzero to stop. */
typedef int (*tc_history_fn)(const tc_consent *c, int64_t replaced_at, void *arg);
int tc_reader_consent_history(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                              tc_history_fn fn, void *arg, tc_error *err);

/* 1 if the citizen has at least one consent valid at now (any institution or purpose). */
int tc_reader_has_consent(tc_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN], int64_t now);

/* The reader's LMDB transaction, for modules layered on the store. */
MDB_txn *tc_reader_txn(tc_reader *r);

/* ---- writing ---- */

int tc_writer_begin(tc_store *s, tc_writer **out, tc_error *err);

/* Upsert a citizen record. *changed (may be NULL) is 0 when the stored values were already the
 * same, in which case nothing is written and the stored update time is kept. */
int tc_writer_put_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                          const void *record, size_t len, int *changed, tc_error *err);

/* Same, for a batch of keys in ascending order into an empty citizens table: uses MDB_APPEND. */
int tc_writer_append_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                             const void *record, size_t len, tc_error *err);

/* Grant a consent: it replaces the one for the same citizen, institution and purpose, which is
 * kept in the consent history as replaced at now (seconds) and copied to *previous (granted_at
 * 0 when there was none). *changed is 0 when the same consent was already stored (nothing is
 * written then). changed and previous may be NULL. */
int tc_writer_put_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                          const tc_consent *c, int64_t now, int *changed, tc_consent *previous,
                          tc_error *err);

/* Same, for consents in ascending key order into an empty consents table: uses MDB_APPEND. */
int tc_writer_append_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                             const tc_consent *c, tc_error *err);

/* Mark a consent revoked at time at (an earlier revocation stands), in place: the consent
 * stays, revoked. *out (may be NULL) receives it. TC_ENOTFOUND if there is none. */
int tc_writer_revoke_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                             const char *institution, const char *purpose, int64_t at,
                             tc_consent *out, tc_error *err);

/* Delete a citizen's record, all their consents and their consent history. *found (may be
 * NULL) tells whether there was anything to delete, *consents (may be NULL) how many consents,
 * current and replaced, were deleted. */
int tc_writer_erase_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                            int *found, size_t *consents, tc_error *err);

/* One consent as this transaction sees it. TC_ENOTFOUND if there is none. */
int tc_writer_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN],
                      const char *institution, const char *purpose, tc_consent *out,
                      tc_error *err);

/* 1 if the citizen has a record, or any consent (valid or not), in this transaction's view. */
int tc_writer_has_citizen(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN]);
int tc_writer_has_consent(tc_writer *w, const unsigned char key[TC_CITIZEN_KEY_LEN]);

/* Entries in the citizens and consents tables as this transaction sees them. */
size_t tc_writer_citizen_count(tc_writer *w);
size_t tc_writer_consent_count(tc_writer *w);

MDB_txn *tc_writer_txn(tc_writer *w);

/* Commit (durably, unless the store was opened with relaxed sync) and free the writer. On error
 * nothing of this transaction is kept. */
int tc_writer_commit(tc_writer *w, tc_error *err);
void tc_writer_abort(tc_writer *w);

/* ---- statistics ---- */

typedef struct tc_store_stats {
    size_t citizens, consents;
    size_t file_bytes;      /* size of data.mdb */
    size_t used_bytes;      /* pages in use (last page number x page size) */
    size_t map_bytes;       /* configured map size */
    unsigned page_size;
    unsigned citizens_depth; /* B-tree depth of the citizens table */
    size_t citizens_pages;   /* branch + leaf + overflow pages of the citizens table */
    char catalog_name[TC_NAME_MAX + 1];
    char catalog_hash[TC_HASH_HEX_LEN + 1];
    int64_t created_at;
    int format; /* store format (TC_STORE_FORMAT, or 1 before an upgrade) */
} tc_store_stats;

int tc_store_stats_get(tc_store *s, tc_store_stats *out, tc_error *err);

/* Rewrite a database of format 1 as format 2 (a no-op in format 2): every consent moves beside
 * its citizen's record, in one transaction, so a crash leaves the database as it was. Other
 * processes must not have the database open: their handle on the old consents table would go.
 * *moved (may be NULL) receives the number of consents moved. The freed pages stay in the file
 * for later writes; a snapshot (tc_store_snapshot) is compact. */
int tc_store_upgrade(tc_store *s, size_t *moved, tc_error *err);

/* The store format of the database as opened. */
int tc_store_format(const tc_store *s);

/* A consistent, compacted copy of the whole database into dir (which must not exist, or be an
 * empty directory), taken from one read snapshot while writers and readers carry on
 * (mdb_env_copy2 with MDB_CP_COMPACT). A replica starts from such a copy. */
int tc_store_snapshot(tc_store *s, const char *dir, tc_error *err);

#endif
