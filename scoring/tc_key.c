#include "tc_key.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct tc_key {
    unsigned char secret[TC_SECRET_LEN];
};

struct tc_hasher {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

/* A label no 12-digit ID can equal, so the fingerprint reveals nothing about any citizen key. */
static const char fingerprint_label[] = "tinchap secret fingerprint v1";

int tc_key_generate(const char *path, tc_error *err)
{
    unsigned char secret[TC_SECRET_LEN];
    int rc = TC_OK;
    int fd = -1;
    if (RAND_priv_bytes(secret, sizeof secret) != 1)
        return tc_errorf(err, TC_EKEY, "%s: the random generator failed", path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = tc_errorf(err, errno == EEXIST ? TC_EEXIST : TC_EIO, "%s: %s%s", path,
                       strerror(errno), errno == EEXIST ? " (refusing to replace a secret)" : "");
        goto out;
    }
    if (write(fd, secret, sizeof secret) != (ssize_t)sizeof secret || fsync(fd) != 0) {
        rc = tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
        unlink(path);
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

int tc_key_from_bytes(const unsigned char secret[TC_SECRET_LEN], tc_key **out, tc_error *err)
{
    tc_key *key = malloc(sizeof *key);
    if (key == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    memcpy(key->secret, secret, TC_SECRET_LEN);
    *out = key;
    return TC_OK;
}

int tc_key_load(const char *path, tc_key **out, tc_error *err)
{
    unsigned char secret[TC_SECRET_LEN + 1];
    struct stat st;
    int rc = TC_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tc_errorf(err, errno == ENOENT ? TC_ENOTFOUND : TC_EIO,
                         "secret key %s: %s (create one with 'tinchap keygen')", path,
                         strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = tc_errorf(err, TC_EIO, "secret key %s: %s", path, strerror(errno));
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        rc = tc_errorf(err, TC_EKEY,
                       "secret key %s: mode %03o lets others read it; chmod 600 it", path,
                       (unsigned)(st.st_mode & 0777));
        goto out;
    }
    ssize_t n = read(fd, secret, sizeof secret);
    if (n != TC_SECRET_LEN) {
        rc = tc_errorf(err, TC_EKEY, "secret key %s: expected %d bytes, found %s", path,
                       TC_SECRET_LEN, n < 0 ? strerror(errno) : n > TC_SECRET_LEN ? "more" : "fewer");
        goto out;
    }
    rc = tc_key_from_bytes(secret, out, err);
out:
    close(fd);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

void tc_key_free(tc_key *key)
{
    if (key == NULL)
        return;
    OPENSSL_cleanse(key->secret, sizeof key->secret);
    free(key);
}

static int hmac(const tc_key *key, const void *msg, size_t len, unsigned char out[32])
{
    unsigned char *r = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->secret,
                                 sizeof key->secret, msg, len, out, 32, NULL);
    return r == NULL ? TC_EKEY : TC_OK;
}

void tc_key_fingerprint(const tc_key *key, unsigned char out[TC_FINGERPRINT_LEN])
{
    if (hmac(key, fingerprint_label, sizeof fingerprint_label - 1, out) != TC_OK)
        memset(out, 0, TC_FINGERPRINT_LEN);
}

int tc_hasher_new(const tc_key *key, tc_hasher **out, tc_error *err)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    tc_hasher *h = calloc(1, sizeof *h);
    if (h == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (h->mac == NULL)
        goto fail;
    h->ctx = EVP_MAC_CTX_new(h->mac);
    if (h->ctx == NULL || !EVP_MAC_init(h->ctx, key->secret, sizeof key->secret, params))
        goto fail;
    *out = h;
    return TC_OK;
fail:
    tc_hasher_free(h);
    return tc_errorf(err, TC_EKEY, "HMAC-SHA256 is not available from libcrypto");
}

void tc_hasher_free(tc_hasher *h)
{
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
    free(h);
}

int tc_hasher_citizen(tc_hasher *h, const char id[12], unsigned char out[TC_CITIZEN_KEY_LEN])
{
    size_t len = 0;
    unsigned char full[32];
    /* Re-initialising with a NULL key reuses the prepared inner and outer digests: about 5x
     * cheaper than HMAC() from scratch on this platform. */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) ||
        !EVP_MAC_update(h->ctx, (const unsigned char *)id, 12) ||
        !EVP_MAC_final(h->ctx, full, &len, sizeof full) || len != sizeof full)
        return TC_EKEY;
    memcpy(out, full, TC_CITIZEN_KEY_LEN);
    return TC_OK;
}

int tc_hasher_text(tc_hasher *h, const char *label, const char *text, size_t len,
                   unsigned char out[TC_TEXT_HASH_LEN])
{
    size_t n = 0;
    unsigned char full[32];
    /* label NUL text: never 12 digits, so never a citizen's key, and one label's hashes never
     * another's */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) ||
        !EVP_MAC_update(h->ctx, (const unsigned char *)label, strlen(label) + 1) ||
        !EVP_MAC_update(h->ctx, (const unsigned char *)text, len) ||
        !EVP_MAC_final(h->ctx, full, &n, sizeof full) || n != sizeof full)
        return TC_EKEY;
    memcpy(out, full, TC_TEXT_HASH_LEN);
    return TC_OK;
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); /* kept for the process's life */
}

int tc_sha256(const void *data, size_t len, unsigned char out[TC_SHA256_LEN])
{
    unsigned int n = 0;
    pthread_once(&sha256_once, sha256_fetch);
    const EVP_MD *md = sha256_md != NULL ? sha256_md : EVP_sha256();
    if (EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == TC_SHA256_LEN)
        return 0;
    memset(out, 0, TC_SHA256_LEN);
    return -1;
}

void tc_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
