/* The secret key: HMAC stability against an independent computation, file mode and size rules,
 * keygen never overwriting, and a database refusing a different secret. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/hmac.h>

#include "test_util.h"
#include "tc_key.h"
#include "tc_store.h"

static const unsigned char secret[TC_SECRET_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static void citizen_key_is_hmac_sha256(void **state)
{
    (void)state;
    tc_key *key = NULL;
    tc_hasher *h = NULL;
    tc_error err = {0};
    assert_int_equal(tc_key_from_bytes(secret, &key, &err), TC_OK);
    assert_int_equal(tc_hasher_new(key, &h, &err), TC_OK);
    const char *ids[] = {"001085000001", "079190000002", "096203123456"};
    for (size_t i = 0; i < 3; i++) {
        unsigned char a[32], b[32], c[32];
        unsigned int len = 0;
        HMAC(EVP_sha256(), secret, sizeof secret, (const unsigned char *)ids[i], 12, b, &len);
        assert_int_equal(tc_hasher_citizen(h, ids[i], a), TC_OK);
        /* the key is the HMAC's first TC_CITIZEN_KEY_LEN bytes */
        assert_memory_equal(a, b, TC_CITIZEN_KEY_LEN);
        /* stable across calls on the same context */
        assert_int_equal(tc_hasher_citizen(h, ids[i], c), TC_OK);
        assert_memory_equal(a, c, TC_CITIZEN_KEY_LEN);
    }
    /* A fixed vector, computed with `printf 001085000001 | openssl dgst -sha256 -mac HMAC
     * -macopt hexkey:000102...1f`, so a change of algorithm cannot go unnoticed. */
    unsigned char k[TC_CITIZEN_KEY_LEN];
    char hex[2 * TC_CITIZEN_KEY_LEN + 1];
    assert_int_equal(tc_hasher_citizen(h, "001085000001", k), TC_OK);
    tc_hex(k, TC_CITIZEN_KEY_LEN, hex);
    char expected[65] = {0};
    char out[256];
    assert_int_equal(tu_run(out, sizeof out,
                            "printf 001085000001 | openssl dgst -sha256 -mac HMAC -macopt "
                            "hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
                            "1d1e1f | sed 's/.*= //'"),
                     0);
    memcpy(expected, out, 2 * TC_CITIZEN_KEY_LEN);
    assert_string_equal(hex, expected);
    tc_hasher_free(h);
    tc_key_free(key);
}

/* The digest every call takes (request and token digests): the standard's vectors. */
static void sha256_vectors(void **state)
{
    (void)state;
    unsigned char d[TC_SHA256_LEN];
    char hex[2 * TC_SHA256_LEN + 1];
    assert_int_equal(tc_sha256("abc", 3, d), 0);
    tc_hex(d, sizeof d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(tc_sha256("", 0, d), 0);
    tc_hex(d, sizeof d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void fingerprint_differs_by_secret(void **state)
{
    (void)state;
    unsigned char other[TC_SECRET_LEN];
    memcpy(other, secret, sizeof other);
    other[31] ^= 1;
    tc_key *a = NULL, *b = NULL;
    assert_int_equal(tc_key_from_bytes(secret, &a, NULL), TC_OK);
    assert_int_equal(tc_key_from_bytes(other, &b, NULL), TC_OK);
    unsigned char fa[32], fb[32], fa2[32];
    tc_key_fingerprint(a, fa);
    tc_key_fingerprint(b, fb);
    tc_key_fingerprint(a, fa2);
    assert_memory_equal(fa, fa2, 32);
    assert_memory_not_equal(fa, fb, 32);
    tc_key_free(a);
    tc_key_free(b);
}

static void keygen_writes_0600_and_never_overwrites(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    char path[600];
    snprintf(path, sizeof path, "%s/secret", dir);
    tc_error err = {0};
    assert_int_equal(tc_key_generate(path, &err), TC_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    tc_key *key = NULL;
    assert_int_equal(tc_key_load(path, &key, &err), TC_OK);
    tc_key_free(key);
    /* a second keygen must not replace the secret */
    assert_int_equal(tc_key_generate(path, &err), TC_EEXIST);
    assert_non_null(strstr(err.msg, "refusing to replace a secret"));
    /* readable by others: refused */
    chmod(path, 0644);
    assert_int_equal(tc_key_load(path, &key, &err), TC_EKEY);
    char expected[800];
    snprintf(expected, sizeof expected,
             "secret key %s: mode 644 lets others read it; chmod 600 it", path);
    assert_msg(&err, expected);
    /* wrong size: refused */
    chmod(path, 0600);
    tu_write(path, "short");
    assert_int_equal(tc_key_load(path, &key, &err), TC_EKEY);
    snprintf(expected, sizeof expected, "secret key %s: expected 32 bytes, found fewer", path);
    assert_msg(&err, expected);
    /* absent */
    unlink(path);
    assert_int_equal(tc_key_load(path, &key, &err), TC_ENOTFOUND);
    tu_rmtree(dir);
    free(dir);
}

static void database_refuses_another_secret(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_catalog *cat = tu_catalog();
    unsigned char other[TC_SECRET_LEN];
    memcpy(other, secret, sizeof other);
    other[0] ^= 0x80;
    tc_key *a = NULL, *b = NULL;
    tc_key_from_bytes(secret, &a, NULL);
    tc_key_from_bytes(other, &b, NULL);
    tc_store *s = NULL;
    tc_error err = {0};
    tc_store_options o = {.path = dir, .catalog = cat, .key = a, .create = 1};
    assert_int_equal(tc_store_open(&o, &s, &err), TC_OK);
    tc_store_close(s);
    o.key = b;
    assert_int_equal(tc_store_open(&o, &s, &err), TC_EKEY);
    char expected[700];
    snprintf(expected, sizeof expected,
             "%s: the secret key is not the one this database was built with", dir);
    assert_msg(&err, expected);
    o.key = a;
    assert_int_equal(tc_store_open(&o, &s, &err), TC_OK);
    tc_store_close(s);
    tc_key_free(a);
    tc_key_free(b);
    tc_catalog_free(cat);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(citizen_key_is_hmac_sha256),
        cmocka_unit_test(sha256_vectors),
        cmocka_unit_test(fingerprint_differs_by_secret),
        cmocka_unit_test(keygen_writes_0600_and_never_overwrites),
        cmocka_unit_test(database_refuses_another_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
