/* Shipping the trail: its identity, what counts as durable in each mode, reading records by
 * sequence, the shipped position, and a consolidated trail taking records exactly once. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tc_audit.h"
#include "test_util.h"

static void done(tc_audit_entry *e, int status, void *arg)
{
    (void)e;
    if (status == TC_OK) /* on the writer's thread */
        atomic_fetch_add((atomic_int *)arg, 1);
}

static tc_audit *open_trail(const char *dir, int relaxed, unsigned sync_ms)
{
    tc_audit *a = NULL;
    tc_error err;
    tc_audit_options o = {
        .dir = dir, .map_size = (size_t)64 << 20, .relaxed = relaxed, .sync_ms = sync_ms};
    assert_int_equal(tc_audit_open(&o, &a, &err), TC_OK);
    assert_int_equal(tc_audit_start(a, 1, &err), TC_OK);
    return a;
}

/* n records for citizen 7, committed before this returns (the entries are static). */
static void submit(tc_audit *a, int n)
{
    static tc_audit_entry e[16];
    atomic_int ok = 0;
    assert_true(n <= 16);
    for (int i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].rec.time_us = 1700000000000000LL + i;
        snprintf(e[i].rec.institution, sizeof e[i].rec.institution, "bank-a");
        snprintf(e[i].rec.inquiry_id, sizeof e[i].rec.inquiry_id, "inq-%d", i);
        e[i].rec.has_citizen = 1;
        memset(e[i].rec.citizen, 7, TC_CITIZEN_KEY_LEN);
        e[i].done = done;
        e[i].arg = &ok;
        assert_int_equal(tc_audit_submit(a, 0, &e[i]), TC_OK);
    }
    for (int t = 0; t < 5000 && atomic_load(&ok) < n; t++)
        usleep(1000);
    assert_int_equal(atomic_load(&ok), n);
}

static void test_identity(void **state)
{
    (void)state;
    char *d1 = strdup(tu_tempdir()), *d2 = strdup(tu_tempdir());
    tc_audit *a = open_trail(d1, 0, 0), *b = open_trail(d2, 0, 0);
    char id[TC_AUDIT_TRAIL_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", tc_audit_trail_id(a));
    assert_int_equal(strlen(id), TC_AUDIT_TRAIL_ID_LEN);
    assert_int_equal(strspn(id, "0123456789abcdef"), TC_AUDIT_TRAIL_ID_LEN);
    assert_string_not_equal(id, tc_audit_trail_id(b));
    tc_audit_close(a);
    tc_audit_close(b);
    a = open_trail(d1, 0, 0); /* the same trail keeps its identity */
    assert_string_equal(tc_audit_trail_id(a), id);
    tc_audit_close(a);
    tu_rmtree(d1);
    tu_rmtree(d2);
    free(d1);
    free(d2);
}

static int collect_seq(const tc_audit_record *r, void *arg)
{
    uint64_t *out = arg;
    out[++out[0]] = r->seq;
    return 0;
}

static void test_durable_and_after(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_error err;
    /* durable: each commit is on disk */
    tc_audit *a = open_trail(dir, 0, 0);
    assert_int_equal(tc_audit_durable_seq(a), 0);
    submit(a, 10);
    assert_int_equal(tc_audit_durable_seq(a), 10);
    tc_audit_reader *r;
    uint64_t seqs[16] = {0};
    assert_int_equal(tc_audit_reader_new(a, &r, &err), TC_OK);
    assert_int_equal(tc_audit_records_after(r, 3, 7, 100, collect_seq, seqs, &err), TC_OK);
    assert_int_equal(seqs[0], 4);
    assert_int_equal(seqs[1], 4);
    assert_int_equal(seqs[4], 7);
    seqs[0] = 0; /* the limit */
    assert_int_equal(tc_audit_records_after(r, 0, 10, 2, collect_seq, seqs, &err), TC_OK);
    assert_int_equal(seqs[0], 2);
    assert_int_equal(seqs[2], 2);
    tc_audit_reader_free(r);
    tc_audit_close(a);
    /* relaxed, syncing once an hour: committed is not durable until the sync (or a restart) */
    a = open_trail(dir, 1, 3600 * 1000);
    assert_int_equal(tc_audit_durable_seq(a), 10); /* synced when started */
    submit(a, 3);
    assert_int_equal(tc_audit_durable_seq(a), 10);
    tc_audit_close(a);
    a = open_trail(dir, 1, 20); /* syncing every 20 ms */
    assert_int_equal(tc_audit_durable_seq(a), 13);
    submit(a, 2);
    for (int t = 0; t < 5000 && tc_audit_durable_seq(a) != 15; t++)
        usleep(1000);
    assert_int_equal(tc_audit_durable_seq(a), 15);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

static void test_shipped_position(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_error err;
    uint64_t seq = 99;
    tc_audit *a = open_trail(dir, 0, 0);
    assert_int_equal(tc_audit_shipped_get(a, &seq, &err), TC_OK);
    assert_int_equal(seq, 0);
    assert_int_equal(tc_audit_shipped_set(a, 42, &err), TC_OK);
    tc_audit_close(a);
    a = open_trail(dir, 0, 0);
    assert_int_equal(tc_audit_shipped_get(a, &seq, &err), TC_OK);
    assert_int_equal(seq, 42);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

static tc_audit_record shipped(const char *node, const char *trail, uint64_t seq)
{
    tc_audit_record r;
    memset(&r, 0, sizeof r);
    r.seq = seq;
    r.time_us = 1700000000000000LL + (int64_t)seq;
    snprintf(r.institution, sizeof r.institution, "bank-b");
    snprintf(r.inquiry_id, sizeof r.inquiry_id, "%s-%llu", node, (unsigned long long)seq);
    r.has_citizen = 1;
    memset(r.citizen, 9, TC_CITIZEN_KEY_LEN);
    snprintf(r.node, sizeof r.node, "%s", node);
    snprintf(r.origin_trail, sizeof r.origin_trail, "%s", trail);
    r.origin_seq = seq;
    return r;
}

typedef struct listed {
    int n;
    char inquiry[8][TC_INQUIRY_ID_LEN + 1];
    char node[8][TC_AUDIT_TEXT_MAX + 1];
    uint64_t origin_seq[8];
} listed;

static int list(const tc_audit_record *r, void *arg)
{
    listed *l = arg;
    if (l->n < 8) {
        snprintf(l->inquiry[l->n], sizeof l->inquiry[0], "%s", r->inquiry_id);
        snprintf(l->node[l->n], sizeof l->node[0], "%s", r->node);
        l->origin_seq[l->n] = r->origin_seq;
    }
    l->n++;
    return 0;
}

static void test_collect_exactly_once(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_error err;
    tc_audit_collected c;
    const char *ta = "00112233445566aa", *tb = "00112233445566bb";
    tc_audit *a = open_trail(dir, 0, 0);
    tc_audit_record first[3] = {shipped("node-a", ta, 1), shipped("node-a", ta, 2),
                                shipped("node-b", tb, 1)};
    assert_int_equal(tc_audit_collect(a, first, 3, "1700000000000-0", &c, &err), TC_OK);
    assert_int_equal(c.appended, 3);
    assert_int_equal(c.duplicates, 0);
    /* node-a shipped 1 and 2 again after a crash, then 3; node-b skipped 2 */
    tc_audit_record again[4] = {shipped("node-a", ta, 1), shipped("node-a", ta, 2),
                                shipped("node-a", ta, 3), shipped("node-b", tb, 3)};
    assert_int_equal(tc_audit_collect(a, again, 4, "1700000000001-5", &c, &err), TC_OK);
    assert_int_equal(c.appended, 2);
    assert_int_equal(c.duplicates, 2);
    assert_int_equal(c.missing, 1);
    assert_string_equal(c.missing_node, "node-b");
    tc_audit_record none = shipped("node-a", "", 4); /* no origin: refused, nothing written */
    assert_int_equal(tc_audit_collect(a, &none, 1, "1700000000002-0", &c, &err), TC_EINVAL);
    tc_audit_close(a);

    a = open_trail(dir, 0, 0); /* what was taken, and the position, survive a restart */
    char pos[48];
    assert_int_equal(tc_audit_collect_position(a, pos, sizeof pos, &err), TC_OK);
    assert_string_equal(pos, "1700000000001-5");
    assert_int_equal(tc_audit_collect(a, again, 4, "1700000000001-5", &c, &err), TC_OK);
    assert_int_equal(c.appended, 0);
    assert_int_equal(c.duplicates, 4);
    tc_audit_reader *r;
    listed l = {0};
    unsigned char key[TC_CITIZEN_KEY_LEN];
    memset(key, 9, sizeof key);
    assert_int_equal(tc_audit_reader_new(a, &r, &err), TC_OK);
    assert_int_equal(tc_audit_by_citizen(r, key, 0, 100, list, &l, &err), TC_OK);
    assert_int_equal(l.n, 5); /* newest first, in the order they arrived */
    assert_string_equal(l.inquiry[0], "node-b-3");
    assert_string_equal(l.node[0], "node-b");
    assert_int_equal(l.origin_seq[0], 3);
    assert_string_equal(l.inquiry[1], "node-a-3");
    assert_string_equal(l.inquiry[4], "node-a-1");
    tc_audit_reader_free(r);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

static void test_codec_origin(void **state)
{
    (void)state;
    unsigned char buf[2048];
    tc_error err;
    tc_audit_record in = shipped("replica-2", "0123456789abcdef", 77), out;
    size_t n = tc_audit_encode(&in, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(tc_audit_decode(buf, n, &out, &err), TC_OK);
    assert_string_equal(out.node, "replica-2");
    assert_string_equal(out.origin_trail, "0123456789abcdef");
    assert_int_equal(out.origin_seq, 77);
    in.origin_trail[0] = '\0'; /* a record of the trail it was made in: no origin block */
    size_t m = tc_audit_encode(&in, buf, sizeof buf);
    assert_int_equal(m, n - (1 + strlen("replica-2")) - (1 + 16) - 8);
    assert_int_equal(tc_audit_decode(buf, m, &out, &err), TC_OK);
    assert_string_equal(out.node, "");
    buf[0] |= 0x80; /* claims an origin it does not carry */
    assert_int_equal(tc_audit_decode(buf, m, &out, &err), TC_ERECORD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),         cmocka_unit_test(test_durable_and_after),
        cmocka_unit_test(test_shipped_position), cmocka_unit_test(test_collect_exactly_once),
        cmocka_unit_test(test_codec_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
