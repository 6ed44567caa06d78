/* tc_audit — the audit trail of every Score outcome, and the memory of request IDs.
 *
 * The trail is its own LMDB environment (a directory beside the database, never inside it), so
 * that a replica's citizen database can be replaced by a snapshot while its trail stays, and
 * so that audit commits and steward writes never wait on each other's lock. Named tables:
 *   meta           format, fingerprint of the secret the citizen keys come from, creation
 *   audit          sequence (u64, big-endian) -> encoded record
 *   citizen_runs   in citizen-index/, an LMDB environment of its own: the citizen index ("who
 *                  scored me") as sorted runs of citizen key + sequence entries, run id ->
 *                  entries (MDB_DUPSORT | MDB_DUPFIXED), merged eight at a time into larger
 *                  runs; its meta holds the directory of runs ("runs") and "indexed": every
 *                  record below that sequence number is in them. audit_citizen there, the
 *                  index's former single table, is still read. Written off the reply path
 *                  (tc_audit_index.c, tc_audit_runs.c).
 *   responses      sequence (u64, big-endian) -> time, request digest, the request-ID key
 *                  (institution NUL request_id) and the answer given, for each answer whose
 *                  request ID is remembered; appended, and forgotten after 24 h from the front
 *   governance     sequence (u64, big-endian) -> one model governance action as a JSON object
 *                  (who promoted or retired which model when; written by tinchap model, see
 *                  tc_governance.h), kept with the Score records so one trail answers both
 *   steward        sequence (u64, big-endian) -> one steward write as a JSON object (who, when,
 *                  which pseudonym, the consent granted, replaced or revoked, an erasure: see
 *                  tc_audit_steward), appended before the write is committed
 *   steward_citizen citizen key + sequence    -> "" (a citizen's steward records)
 * A record holds the pseudonymous citizen key, never an ID, and no attribute values. Free text a
 * client sent (request ID, consent reference) is kept with its runs of 12 or more digits
 * redacted; a request ID that had one is remembered by its keyed hash instead, which its record
 * keeps too (tc_audit_request_key: a bank finds its inquiries again by the request ID it sent),
 * and remembered answers do not hold the request ID at all.
 *
 * Records are group-committed, one commit at a time (the trail's commit lock): a worker hands
 * over a tc_audit_entry (record, optional request-ID memory, its already-encoded response) and
 * goes on serving; the committer takes everything pending and appends it to the trail's
 * journal (AUDIT/journal, tc_audit_journal.c) with one write — and in durable mode one
 * fdatasync; in relaxed mode a thread of its own syncs the journal every sync_ms — and then
 * calls each entry's done() on its own thread, which is where the service sends the reply. In
 * durable mode the committer is always the writer thread. In relaxed mode a commit is no disk
 * wait, so a worker that submits while no commit is under way commits everything queued
 * itself (tc_audit_submit), and the writer thread takes what queues up meanwhile: done() runs
 * on the writer or on any worker, for entries of any worker. Either way no answer leaves before
 * its record is in the journal, and one write (one fsync) covers a batch.
 * The applier thread moves the journal's records into the tables above every 10 ms, in one
 * LMDB transaction each, appending at the end of audit and responses, and syncs the tables
 * only before a journal half they free is reused (in both modes: until then the journal holds
 * the records, and a sync of the tables every 10 ms would compete for the disk with the
 * journal's, which a durable answer waits for); the citizen index
 * follows within about 250 ms, in its own environment (tc_audit_index.c). Neither holds the
 * commit lock. Whoever reads the tables for what was answered (a citizen's inquiries, a scan,
 * shipping) first has the applier catch up, so a read sees every answer given before it; a
 * start moves what a killed process left in the journal into the tables before anything else.
 * If moving them fails (a full disk, a full map), commits are refused with that error until
 * it succeeds: the journal never holds more than two halves of records the tables lack.
 *
 * The commit is also where request IDs are settled: an entry whose institution and request_id
 * were answered in the last 24 h becomes a replay (the stored response is handed back and the
 * record is marked as a replay, which is not an inquiry) or, if the request differed, a
 * conflict. Doing this under the one commit lock makes it exact even for concurrent retries. The
 * memory is per trail, so per replica: a retry that lands on another replica is scored again.
 * Which keys were answered is held in RAM (32 bytes per answer of the last 24 h, rebuilt from
 * the responses table when the trail is started), so a new request ID costs no B-tree walk, and
 * remembering an answer is an append: both writes of a Score go to the end of their tables.
 * (A trail written with the former tables idempotency and idem_time has their answers of the
 * last 24 h moved to responses, and both dropped, when it is first opened read-write.)
 *
 * Submitting takes no global lock: each producer (worker) has its own queue, and waking the
 * writer costs a system call only when it is asleep (in relaxed mode, one try of the commit
 * lock comes first). Reading goes through a tc_audit_reader,
 * one per thread.
 */
#ifndef TC_AUDIT_H
#define TC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "tc_consent.h"
#include "tc_error.h"
#include "tc_key.h"

#define TC_AUDIT_TEXT_MAX 64       /* request_id, institution, purpose, product, refs, names */
#define TC_AUDIT_REASONS_MAX 8
#define TC_AUDIT_CHALLENGERS_MAX 4
#define TC_AUDIT_STATUS_TEXT_MAX 160
#define TC_AUDIT_RESPONSE_MAX 4096 /* an encoded reply kept for replays */
#define TC_AUDIT_BATCH_MAX 4096    /* records per commit */
#define TC_AUDIT_PRODUCERS_MAX 64
#define TC_AUDIT_QUEUE_MAX 8192    /* entries waiting per producer */
#define TC_AUDIT_IDEM_SECONDS (24 * 3600)
#define TC_INQUIRY_ID_LEN 24
#define TC_AUDIT_TRAIL_ID_LEN 16 /* hex digits: a trail's random identity, made with it */
#define TC_AUDIT_FORMAT 1
#define TC_AUDIT_DEFAULT_MAP_SIZE ((size_t)64 << 30) /* address space, not disk */

typedef enum tc_audit_outcome {
    TC_AUDIT_SCORED = 0,     /* answered with a score */
    TC_AUDIT_DENIED = 1,     /* refused: status says why */
    TC_AUDIT_REPLAYED = 2,   /* the original answer to a repeated request_id: not an inquiry */
} tc_audit_outcome;

typedef struct tc_audit_challenger {
    char model[TC_AUDIT_TEXT_MAX + 1];
    uint32_t version;
    double score, pd;
    char grade[8];
} tc_audit_challenger;

typedef struct tc_audit_record {
    uint64_t seq;                       /* assigned by the writer */
    int64_t time_us;                    /* when the outcome was decided, UTC microseconds */
    char inquiry_id[TC_INQUIRY_ID_LEN + 1];
    char request_id[TC_AUDIT_TEXT_MAX + 1]; /* its runs of 12 or more digits as '#' */
    int request_hashed;                 /* it had one: request_hash identifies it */
    unsigned char request_hash[TC_TEXT_HASH_LEN];
    char institution[TC_AUDIT_TEXT_MAX + 1];
    int has_citizen;                    /* 0 when the request's ID was invalid */
    unsigned char citizen[TC_CITIZEN_KEY_LEN];
    char purpose[TC_AUDIT_TEXT_MAX + 1];
    char product[TC_AUDIT_TEXT_MAX + 1];
    char consent_ref[TC_AUDIT_TEXT_MAX + 1];
    char model[TC_AUDIT_TEXT_MAX + 1];  /* "" when no model was reached */
    uint32_t model_version;
    tc_audit_outcome outcome;
    int status;                         /* gRPC status code of the reply */
    char status_text[TC_AUDIT_STATUS_TEXT_MAX + 1];
    double score, pd, pd_low, pd_high;
    char grade[8];
    size_t n_reasons;
    char reasons[TC_AUDIT_REASONS_MAX][16];
    size_t n_challengers;
    tc_audit_challenger challengers[TC_AUDIT_CHALLENGERS_MAX];
    int64_t loan_amount_vnd;
    uint32_t loan_term_months;
    uint32_t latency_us;                /* from arrival to decision */
    /* Where a record of a consolidated trail was made (tc_audit_collect): the node's name, the
     * ID of its trail and the record's sequence number there. Empty and 0 in the trail it was
     * made in. */
    char node[TC_AUDIT_TEXT_MAX + 1];
    char origin_trail[TC_AUDIT_TRAIL_ID_LEN + 1];
    uint64_t origin_seq;
} tc_audit_record;

typedef struct tc_audit tc_audit;
typedef struct tc_audit_entry tc_audit_entry;

/* Called on the committing thread (the writer, or in relaxed mode any submitting worker; with
 * the commit lock held) once the entry's batch is committed (status TC_OK) or failed (e.g.
 * TC_EFULL: the reply must then be an error, never an unaudited answer). */
typedef void (*tc_audit_done_fn)(tc_audit_entry *e, int status, void *arg);

#define TC_AUDIT_REQUEST_KEY_MAX (TC_AUDIT_TEXT_MAX + 1)

struct tc_audit_entry {
    tc_audit_record rec;
    /* request-ID memory: used when idem_key_len > 0 */
    char idem_key[TC_AUDIT_TEXT_MAX + 1 + TC_AUDIT_REQUEST_KEY_MAX]; /* institution NUL key */
    size_t idem_key_len;
    unsigned char digest[16];                  /* of the request's content */
    const unsigned char *response;             /* the answer to remember; borrowed until done */
    size_t response_len;
    /* set by the commit before done(): */
    int replayed;                              /* 1: reply with replay[] instead */
    int conflict;                              /* 1: request_id reused for another request */
    unsigned char replay[TC_AUDIT_RESPONSE_MAX];
    size_t replay_len;
    tc_audit_done_fn done;
    void *arg;
};

typedef struct tc_audit_options {
    const char *dir;          /* the trail's directory (created unless read-only) */
    const tc_key *key;        /* its fingerprint is recorded, then checked; NULL: not checked */
    size_t map_size;          /* 0: TC_AUDIT_DEFAULT_MAP_SIZE, or the file's if larger */
    int read_only;
    int relaxed;              /* 1: commit without waiting for the disk; sync every sync_ms */
    unsigned sync_ms;         /* relaxed mode's loss window (default 100) */
    /* Relaxed mode: called from the sync thread when a sync fails (failing 1, why in error; at
     * most once a second while it goes on) and when one succeeds again (failing 0). A failed
     * sync is retried every sync_ms: records committed since stay unsynced until then. */
    void (*sync_state)(int failing, const char *error, void *arg);
    void *sync_arg;
} tc_audit_options;

typedef struct tc_audit_stats {
    uint64_t batches, records, failures;
    uint64_t sync_failures;   /* relaxed mode: syncs of the trail that failed */
    uint64_t index_failures;  /* passes of the citizen indexer that could not write */
    uint64_t batch_size_sum;
    uint64_t commit_us_sum;
    uint64_t commit_us_max;
    uint64_t apply_failures;    /* moves of journaled records into the tables that failed */
    uint64_t journal_recovered; /* at start: records the journal held that the tables lacked */
    uint64_t journal_dropped;   /* ... past a gap in their numbers, which could not be placed */
} tc_audit_stats;

/* Open (creating unless read-only) the trail. The writer is not started. */
int tc_audit_open(const tc_audit_options *opt, tc_audit **out, tc_error *err);

/* Start the writer thread for producers submitting threads (at most TC_AUDIT_PRODUCERS_MAX). */
int tc_audit_start(tc_audit *a, size_t producers, tc_error *err);

/* Stop the writer after committing everything submitted so far; then free. */
void tc_audit_close(tc_audit *a);

/* Hand an entry to the writer. producer is the caller's index (< options.producers); one thread
 * per index. The entry must stay valid until done() is called. TC_EBUSY if the producer's queue
 * is full (the caller should answer RESOURCE_EXHAUSTED). In relaxed mode, when no commit is
 * under way, the caller commits the queued entries itself: done() — of this entry and of
 * others — may then run on the calling thread before this returns. */
int tc_audit_submit(tc_audit *a, size_t producer, tc_audit_entry *e);

/* Counters since start, for metrics. */
void tc_audit_stats_get(tc_audit *a, tc_audit_stats *out);

/* Records in the journal of a trail no process is writing that its tables lack (a tinchapd
 * was killed; its next start moves them in): for readers of a copy to say so. */
uint64_t tc_audit_journal_pending(tc_audit *a);

/* 1 while the last sync of a relaxed trail failed (committed records are not on disk). */
int tc_audit_sync_failing(const tc_audit *a);

/* What made the last commit fail (the trail's directory, and why: no space left on the
 * device, or its map size reached), for the operator's log. Only the committing thread writes
 * it, under the commit lock: read it from a done() callback. */
const char *tc_audit_last_error(const tc_audit *a);

/* A new inquiry ID: 11 hex digits of milliseconds and 13 random ones ("0197c3a1b2f4c9e21d0a7b3c"),
 * sortable by time and not guessable. */
void tc_audit_inquiry_id(char out[TC_INQUIRY_ID_LEN + 1]);

/* The digest of a request's content, for telling a retry from a reused request_id. */
void tc_audit_digest(const void *data, size_t len, unsigned char out[16]);

/* The key a request ID is remembered by: the ID itself, or, when it holds a run of 12 or more
 * digits (it may be a citizen ID), 0x01 and its keyed hash (h's secret: the trail's). Returns
 * its length (0 if hashing failed). */
size_t tc_audit_request_key(tc_hasher *h, const char *request_id,
                            unsigned char out[TC_AUDIT_REQUEST_KEY_MAX]);

/* 1 if rec is a record of the request ID whose tc_audit_request_key is key[0..len). */
int tc_audit_is_request(const tc_audit_record *rec, const unsigned char *key, size_t len);

/* ---- reading: one tc_audit_reader per thread, each call a fresh snapshot ---- */

typedef struct tc_audit_reader tc_audit_reader;

int tc_audit_reader_new(tc_audit *a, tc_audit_reader **out, tc_error *err);
void tc_audit_reader_free(tc_audit_reader *r);

/* A remembered answer for (institution, request_id) younger than 24 h at now_us: TC_OK with
 * its digest and response (at most TC_AUDIT_RESPONSE_MAX bytes), or TC_ENOTFOUND. */
int tc_audit_idem_lookup(tc_audit_reader *r, const char *key, size_t key_len, int64_t now_us,
                         unsigned char digest[16], unsigned char *response,
                         size_t *response_len);

typedef int (*tc_audit_fn)(const tc_audit_record *rec, void *arg); /* nonzero stops */

/* A citizen's records, newest first, at most limit, those with a sequence number below
 * before_seq (0: from the newest). Exact from the moment a record is committed: the records the
 * citizen index has not reached yet (about 250 ms of them) are read and compared one by one. */
int tc_audit_by_citizen(tc_audit_reader *r, const unsigned char key[TC_CITIZEN_KEY_LEN],
                        uint64_t before_seq, size_t limit, tc_audit_fn fn, void *arg,
                        tc_error *err);

/* Every record with from_us <= time < to_us, oldest first (to_us 0: no upper bound). The first
 * is found by bisection over the sequence numbers, so a range costs its own records only. */
int tc_audit_scan(tc_audit_reader *r, int64_t from_us, int64_t to_us, tc_audit_fn fn,
                  void *arg, tc_error *err);

/* Records in the trail (0 if it cannot be read). */
size_t tc_audit_count(tc_audit_reader *r);

/* ---- model governance records (written by another process than tinchapd's writer: LMDB
 * serialises the two writers; each append is its own durable transaction) ---- */

#define TC_AUDIT_GOVERNANCE_MAX 16384 /* bytes of one record */

/* Append one record (a JSON object's text, not checked here) and return its sequence number,
 * one more than the last. */
int tc_audit_governance_append(tc_audit *a, const char *record, size_t len, uint64_t *seq,
                               tc_error *err);

typedef int (*tc_audit_governance_fn)(uint64_t seq, const char *record, size_t len, void *arg);

/* Every governance record, oldest first; a trail from before the table existed has none. The
 * record is valid during the call only. */
int tc_audit_governance_scan(tc_audit_reader *r, tc_audit_governance_fn fn, void *arg,
                             tc_error *err);

/* ---- steward writes (GrantConsent, RevokeConsent, EraseCitizen, PutCitizens) ----
 *
 * Each write is recorded before it is committed to the database, durably (synced even in
 * relaxed mode): a write whose record cannot be made is not made. Should the database then
 * fail to commit it, a second record with the same fields says so (applied 0). A record names
 * who (the steward's institution and identity), when, the citizen's pseudonym and the consent
 * involved (its reference as kept: redacted, see tc_consent.h); an erasure keeps the fact and
 * how many consents went, never an attribute. */

typedef enum tc_steward_action {
    TC_STEWARD_GRANT,   /* a consent granted (replacing another one, when previous is set) */
    TC_STEWARD_REVOKE,  /* a consent revoked */
    TC_STEWARD_ERASE,   /* a citizen's record, consents and consent history erased */
    TC_STEWARD_PUT,     /* a citizen's attribute record written (PutCitizens) */
} tc_steward_action;

#define TC_AUDIT_IDENTITY_MAX 256

typedef struct tc_audit_steward {
    int64_t time_us;
    tc_steward_action action;
    char institution[TC_AUDIT_TEXT_MAX + 1];    /* who: the steward's institution */
    char identity[TC_AUDIT_IDENTITY_MAX + 1];   /* ... and identity */
    unsigned char citizen[TC_CITIZEN_KEY_LEN];
    int has_consent, has_previous;
    tc_consent consent;     /* grant: the one granted; revoke: the one revoked */
    tc_consent previous;    /* grant: the one it replaced (kept in the consent history) */
    int changed;            /* grant, put: something was written; erase: something was there */
    unsigned consents_erased;
    int applied;            /* 1; 0 in the record that says the database refused the write */
    char error[TC_ERROR_MSG_MAX]; /* why, when applied is 0 */
} tc_audit_steward;

/* Append r in a durable transaction of its own, with the next sequence number. With citizens
 * (n keys of TC_CITIZEN_KEY_LEN bytes), one record per citizen instead, each r with that
 * citizen and, when changed is given, changed[i] (PutCitizens: one record per citizen, one
 * transaction per call). */
int tc_audit_steward_append(tc_audit *a, const tc_audit_steward *r, const unsigned char *citizens,
                            const unsigned char *changed, size_t n, tc_error *err);

/* A record as JSON text (malloc'd, NUL-terminated; NULL when out of memory): seq, time, action,
 * by {institution, identity}, citizen_key, consent, previous, changed, consents_erased, applied,
 * error. */
char *tc_audit_steward_json(uint64_t seq, const tc_audit_steward *r);

/* The steward records, oldest first: one citizen's (citizen non-NULL) or all. The text is
 * valid during the call only. */
int tc_audit_steward_scan(tc_audit_reader *r, const unsigned char *citizen,
                          tc_audit_governance_fn fn, void *arg, tc_error *err);

const char *tc_steward_action_name(tc_steward_action a);

/* ---- shipping records to a consolidated trail (tc_audit_ship.c) ----
 *
 * Every node's records reach the steward node's consolidated trail through a broker
 * (tc_api_ship.h). A node ships a record only once it is on disk, so that no record the
 * consolidated trail holds can vanish from the node after a crash and have its sequence number
 * reused; it keeps how far it shipped in its citizen index's environment (off the trail's write
 * lock). Shipping twice is harmless: the consolidated trail keeps, per origin trail, the last
 * sequence number it took, in the same transaction as the records, and drops what is not past
 * it. */

/* This trail's identity: TC_AUDIT_TRAIL_ID_LEN hex digits, made when it was created (or first
 * opened read-write by a version that makes them). "" for a read-only trail without one. */
const char *tc_audit_trail_id(const tc_audit *a);

/* The last sequence number known to be on disk (every record up to it is durable): each commit
 * in durable mode, each sync in relaxed mode. The writer must be started. */
uint64_t tc_audit_durable_seq(tc_audit *a);

/* Records with after < seq <= upto, oldest first, at most limit. */
int tc_audit_records_after(tc_audit_reader *r, uint64_t after, uint64_t upto, size_t limit,
                           tc_audit_fn fn, void *arg, tc_error *err);

/* How far this trail's records were shipped (0: none), and recording it. */
int tc_audit_shipped_get(tc_audit *a, uint64_t *seq, tc_error *err);
int tc_audit_shipped_set(tc_audit *a, uint64_t seq, tc_error *err);

typedef struct tc_audit_collected {
    size_t appended;   /* records new to the consolidated trail */
    size_t duplicates; /* records it already had (shipped again after a crash) */
    uint64_t missing;  /* sequence numbers skipped by an origin: records that never arrived */
    char missing_node[TC_AUDIT_TEXT_MAX + 1]; /* the node of the last such gap */
} tc_audit_collected;

/* Append records shipped from other trails (each with node, origin_trail and origin_seq set)
 * to this, a consolidated trail, under its own sequence numbers, together with position (the
 * broker's position after them, at most 47 characters) in one durable transaction. A record
 * whose origin_seq is not past the last one taken from its origin trail is a duplicate and
 * dropped. The writer must be started (it keeps the sequence numbers); nothing is submitted
 * to it. */
int tc_audit_collect(tc_audit *a, const tc_audit_record *recs, size_t n, const char *position,
                     tc_audit_collected *out, tc_error *err);

/* The position recorded by the last tc_audit_collect ("" before the first). */
int tc_audit_collect_position(tc_audit *a, char *out, size_t size, tc_error *err);

/* Codec, exposed for tests and fuzzing. */
size_t tc_audit_encode(const tc_audit_record *rec, unsigned char *out, size_t size);
int tc_audit_decode(const void *data, size_t len, tc_audit_record *out, tc_error *err);

const char *tc_audit_outcome_name(tc_audit_outcome o);

#endif
