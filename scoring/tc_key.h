/* tc_key — the secret that turns citizen IDs into pseudonymous database keys.
 *
 * The LMDB key of a citizen is HMAC-SHA256(secret, 12-digit ID), truncated to 128 bits (see
 * TC_CITIZEN_KEY_LEN): a copied database file names
 * nobody, and without the secret nobody can test whether a given ID is in it. The secret is a
 * 32-byte file with mode 0600, kept outside the database directory. The database remembers a
 * fingerprint of the secret (an HMAC of a fixed label, which no ID can equal) and refuses a
 * different one.
 *
 * tc_key is immutable after load and may be shared by threads. Hashing needs a tc_hasher, one
 * per thread, made once and reused: preparing the HMAC context costs more than using it.
 */
#ifndef TC_KEY_H
#define TC_KEY_H

#include <stddef.h>

#include "tc_error.h"

#define TC_SECRET_LEN 32
/* HMAC-SHA-256 truncated to 128 bits, as RFC 2104 section 5 allows (at least half the output)
 * and RFC 4868 does: among 10^8 citizens a collision has probability about 10^-23, and the
 * shorter key makes the citizens B-tree denser, which is what a random lookup pays for. */
#define TC_CITIZEN_KEY_LEN 16
#define TC_FINGERPRINT_LEN 32

typedef struct tc_key tc_key;
typedef struct tc_hasher tc_hasher;

/* Write a new random secret to path with mode 0600; refuses to overwrite an existing file. */
int tc_key_generate(const char *path, tc_error *err);

/* Read a secret. Refuses a file of the wrong size, or one that group or others can read. */
int tc_key_load(const char *path, tc_key **out, tc_error *err);

/* A key from raw bytes (tests, tools that derive keys). */
int tc_key_from_bytes(const unsigned char secret[TC_SECRET_LEN], tc_key **out, tc_error *err);

void tc_key_free(tc_key *key);

/* The fingerprint the database stores to recognise its secret. */
void tc_key_fingerprint(const tc_key *key, unsigned char out[TC_FINGERPRINT_LEN]);

/* A per-thread hashing context for key. It borrows key, which must outlive it. */
int tc_hasher_new(const tc_key *key, tc_hasher **out, tc_error *err);
void tc_hasher_free(tc_hasher *h);

/* Pseudonymous key of a citizen ID. The ID must already be validated (tc_id_parse). Does not
 * allocate. Returns TC_OK, or TC_EKEY if the crypto library fails. */
int tc_hasher_citizen(tc_hasher *h, const char id[12], unsigned char out[TC_CITIZEN_KEY_LEN]);

/* Keyed hash of free text that may hold a citizen ID (a consent reference, a request ID), so
 * that what is kept can still be compared or found without keeping the text: HMAC-SHA256 of
 * label, NUL, text, truncated like a citizen key. Does not allocate. */
#define TC_TEXT_HASH_LEN 16
int tc_hasher_text(tc_hasher *h, const char *label, const char *text, size_t len,
                   unsigned char out[TC_TEXT_HASH_LEN]);

/* SHA-256 of data, for the digests taken on every call (a request's, a bearer token's). The
 * algorithm is fetched from libcrypto once per process: OpenSSL 3 looks EVP_sha256() up in its
 * provider store on every use, which doubles the cost of a short digest (340 against 170 ns for
 * 150 bytes here). 0, or -1 when libcrypto failed (out is then zeros). Thread-safe. */
#define TC_SHA256_LEN 32
int tc_sha256(const void *data, size_t len, unsigned char out[TC_SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void tc_hex(const unsigned char *bytes, size_t n, char *out);

#endif
