/* The audit trail: records written through the writer and read back by citizen (pages), by time
 * range (the scan's bisection) and by request ID (plain, or by its keyed hash when it held a
 * digit run); the codec's two formats; inquiry IDs; the steward's records. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_audit.h"
#include "tc_time.h"
#include "test_util.h"

#define N 300

static void done(tc_audit_entry *e, int status, void *arg)
{
    (void)e;
    *(int *)arg += status == TC_OK;
}

/* One record every second from t0, for citizen (i % 3); every 10th request ID holds a digit run
 * (hashed as the service does). */
static void write_records(tc_audit *a, tc_hasher *h, int64_t t0)
{
    static tc_audit_entry e[N];
    int ok = 0;
    for (int i = 0; i < N; i++) {
        memset(&e[i], 0, sizeof e[i]);
        tc_audit_record *r = &e[i].rec;
        r->time_us = t0 + (int64_t)i * 1000000;
        snprintf(r->request_id, sizeof r->request_id, i % 10 ? "req-%d" : "req-00108500%04d",
                 i);
        if (i % 10 == 0) {
            unsigned char key[TC_AUDIT_REQUEST_KEY_MAX];
            assert_int_equal(tc_audit_request_key(h, r->request_id, key), 1 + TC_TEXT_HASH_LEN);
            memcpy(r->request_hash, key + 1, TC_TEXT_HASH_LEN);
            r->request_hashed = 1;
            memset(r->request_id + 4, '#', 12);
        }
        snprintf(r->institution, sizeof r->institution, "bank-a");
        r->has_citizen = 1;
        memset(r->citizen, i % 3, TC_CITIZEN_KEY_LEN);
        r->outcome = TC_AUDIT_DENIED;
        r->status = 7;
        e[i].done = done;
        e[i].arg = &ok;
        assert_int_equal(tc_audit_submit(a, 0, &e[i]), TC_OK);
    }
    tc_audit_close(a); /* commits what was submitted */
    assert_int_equal(ok, N);
}

typedef struct seen {
    int n;
    int64_t first_us, last_us;
    uint64_t last_seq;
} seen;

static int count(const tc_audit_record *r, void *arg)
{
    seen *s = arg;
    if (s->n++ == 0)
        s->first_us = r->time_us;
    s->last_us = r->time_us;
    s->last_seq = r->seq;
    return 0;
}

static int up_to_ten(const tc_audit_record *r, void *arg)
{
    count(r, arg);
    return ((seen *)arg)->n == 10;
}

typedef struct req {
    const unsigned char *key;
    size_t len;
    int n;
} req;

static int match(const tc_audit_record *r, void *arg)
{
    req *q = arg;
    q->n += tc_audit_is_request(r, q->key, q->len);
    return 0;
}

static int find_request(tc_audit_reader *rd, tc_hasher *h, const char *rid)
{
    unsigned char key[TC_AUDIT_REQUEST_KEY_MAX];
    req q = {key, tc_audit_request_key(h, rid, key), 0};
    assert_int_equal(tc_audit_scan(rd, 0, 0, match, &q, NULL), TC_OK);
    return q.n;
}

static void records(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    unsigned char secret[TC_SECRET_LEN] = {3};
    tc_key *key = NULL;
    tc_hasher *h = NULL;
    tc_audit *a = NULL;
    tc_audit_reader *rd = NULL;
    tc_error err = {0};
    assert_int_equal(tc_key_from_bytes(secret, &key, NULL), TC_OK);
    assert_int_equal(tc_hasher_new(key, &h, NULL), TC_OK);
    tc_audit_options ao = {.dir = dir, .key = key, .map_size = (size_t)64 << 20};
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    assert_int_equal(tc_audit_start(a, 1, &err), TC_OK);
    int64_t t0 = 1800000000LL * 1000000;
    write_records(a, h, t0);
    ao.read_only = 1;
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    assert_int_equal(tc_audit_reader_new(a, &rd, &err), TC_OK);
    assert_int_equal(tc_audit_count(rd), N);
    /* a time range: exactly its records, found without reading from the start */
    seen s = {0};
    assert_int_equal(tc_audit_scan(rd, t0 + 250 * 1000000LL, t0 + 260 * 1000000LL, count, &s,
                                   &err),
                     TC_OK);
    assert_int_equal(s.n, 10);
    assert_true(s.first_us == t0 + 250 * 1000000LL && s.last_us == t0 + 259 * 1000000LL);
    /* a citizen's records, newest first, a page of ten, then the next page below it */
    unsigned char c1[TC_CITIZEN_KEY_LEN];
    memset(c1, 1, sizeof c1);
    seen p1 = {0}, p2 = {0};
    assert_int_equal(tc_audit_by_citizen(rd, c1, 0, SIZE_MAX, up_to_ten, &p1, &err), TC_OK);
    assert_int_equal(tc_audit_by_citizen(rd, c1, p1.last_seq, SIZE_MAX, up_to_ten, &p2, &err),
                     TC_OK);
    assert_true(p1.first_us == t0 + 298 * 1000000LL && p2.first_us == p1.last_us - 3000000);
    /* request IDs: as sent, or by their keyed hash; never the redacted form */
    assert_int_equal(find_request(rd, h, "req-7"), 1);
    assert_int_equal(find_request(rd, h, "req-001085000010"), 1);
    assert_int_equal(find_request(rd, h, "req-############"), 0);
    assert_int_equal(find_request(rd, h, "req-001085000011"), 0);
    tc_audit_reader_free(rd);
    tc_audit_close(a);
    tc_hasher_free(h);
    tc_key_free(key);
    tu_rmtree(dir);
    free(dir);
}

static void codec(void **state)
{
    (void)state;
    tc_audit_record r = {.seq = 9, .time_us = 5, .request_hashed = 1}, back;
    snprintf(r.request_id, sizeof r.request_id, "r-############");
    memset(r.request_hash, 0xab, sizeof r.request_hash);
    unsigned char buf[2048];
    size_t n = tc_audit_encode(&r, buf, sizeof buf);
    assert_int_equal(buf[0], 2); /* the format with the hash */
    assert_int_equal(tc_audit_decode(buf, n, &back, NULL), TC_OK);
    assert_true(back.request_hashed && back.seq == 9);
    assert_memory_equal(back.request_hash, r.request_hash, TC_TEXT_HASH_LEN);
    assert_int_equal(tc_audit_decode(buf, n - 1, &back, NULL), TC_ERECORD);
    r.request_hashed = 0;
    n = tc_audit_encode(&r, buf, sizeof buf);
    assert_int_equal(buf[0], 1); /* as before */
    assert_int_equal(tc_audit_decode(buf, n, &back, NULL), TC_OK);
    assert_false(back.request_hashed);
}

/* Inquiry IDs: the time in milliseconds, then random bytes drawn from a pool each thread refills
 * 512 bytes at a time. Each thread draws more than a few pools' worth; no two of them repeat,
 * within a thread or across threads, and every one carries the time it was made. */
#define IDS_PER_THREAD 1000

typedef struct ids {
    char id[IDS_PER_THREAD][TC_INQUIRY_ID_LEN + 1];
    int64_t before_ms, after_ms;
} ids;

static void *draw_ids(void *arg)
{
    ids *x = arg;
    x->before_ms = tc_time_now_us() / 1000;
    for (int i = 0; i < IDS_PER_THREAD; i++)
        tc_audit_inquiry_id(x->id[i]);
    x->after_ms = tc_time_now_us() / 1000;
    return NULL;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void inquiry_ids(void **state)
{
    (void)state;
    static ids x[2];
    static char all[2 * IDS_PER_THREAD][TC_INQUIRY_ID_LEN + 1];
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&t[k], NULL, draw_ids, &x[k]), 0);
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_join(t[k], NULL), 0);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < IDS_PER_THREAD; i++) {
            const char *id = x[k].id[i];
            assert_int_equal(strlen(id), TC_INQUIRY_ID_LEN);
            assert_int_equal(strspn(id, "0123456789abcdef"), TC_INQUIRY_ID_LEN);
            char ms[12];
            memcpy(ms, id, 11);
            ms[11] = '\0';
            long long t_ms = strtoll(ms, NULL, 16);
            assert_in_range(t_ms, x[k].before_ms, x[k].after_ms);
            memcpy(all[k * IDS_PER_THREAD + i], id, sizeof all[0]);
        }
    qsort(all, 2 * IDS_PER_THREAD, sizeof all[0], by_text);
    for (int i = 1; i < 2 * IDS_PER_THREAD; i++)
        if (strcmp(all[i - 1], all[i]) == 0)
            fail_msg("inquiry ID %s was made twice", all[i]);
}

static int collect(uint64_t seq, const char *text, size_t len, void *arg)
{
    char *out = arg;
    size_t o = strlen(out);
    snprintf(out + o, 4096 - o, "%llu %.*s\n", (unsigned long long)seq, (int)len, text);
    return 0;
}

static void steward(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_audit *a = NULL;
    tc_audit_reader *rd = NULL;
    tc_error err = {0};
    tc_audit_options ao = {.dir = dir, .map_size = (size_t)64 << 20, .relaxed = 1};
    assert_int_equal(tc_audit_open(&ao, &a, &err), TC_OK);
    tc_audit_steward r = {.time_us = 1800000000LL * 1000000, .action = TC_STEWARD_ERASE,
                          .institution = "population-data", .identity = "steward.example",
                          .changed = 1, .consents_erased = 2, .applied = 1};
    memset(r.citizen, 7, sizeof r.citizen);
    assert_int_equal(tc_audit_steward_append(a, &r, NULL, NULL, 1, &err), TC_OK);
    unsigned char keys[2 * TC_CITIZEN_KEY_LEN], changed[2] = {0, 1};
    memset(keys, 8, TC_CITIZEN_KEY_LEN);
    memset(keys + TC_CITIZEN_KEY_LEN, 7, TC_CITIZEN_KEY_LEN);
    r.action = TC_STEWARD_PUT;
    assert_int_equal(tc_audit_steward_append(a, &r, keys, changed, 2, &err), TC_OK);
    assert_int_equal(tc_audit_reader_new(a, &rd, &err), TC_OK);
    char all[4096] = "", one[4096] = "";
    assert_int_equal(tc_audit_steward_scan(rd, NULL, collect, all, &err), TC_OK);
    assert_int_equal(tc_audit_steward_scan(rd, r.citizen, collect, one, &err), TC_OK);
    assert_non_null(strstr(all, "1 {\"seq\":1,"));
    assert_non_null(strstr(all, "\"action\":\"erase\""));
    assert_non_null(strstr(all, "\"consents_erased\":2"));
    assert_non_null(strstr(all, "3 {\"seq\":3,"));
    /* the citizen's: the erasure and the second put, not the first */
    assert_non_null(strstr(one, "1 {"));
    assert_null(strstr(one, "2 {"));
    assert_non_null(strstr(one, "3 {\"seq\":3,\"time\""));
    tc_audit_reader_free(rd);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records),
        cmocka_unit_test(codec),
        cmocka_unit_test(inquiry_ids),
        cmocka_unit_test(steward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
