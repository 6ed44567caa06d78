/* The audit trail's journal: a process killed with answers only in the journal (none of them
 * yet in the tables) loses none of them, in both modes, and a restart puts them in the tables
 * exactly once, request-ID memory included; a torn last entry is ignored; a process killed
 * after the journal wrapped many times loses nothing; one process writes a trail at a time. */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "tc_audit_impl.h"
#include "tc_time.h"
#include "test_util.h"

/* the records' times: now, when the run starts (the request-ID memory keeps the last 24 h) */
static int64_t BASE_US;

static void on_done(tc_audit_entry *e, int status, void *arg)
{
    (void)e;
    if (status == TC_OK)
        atomic_fetch_add((atomic_int *)arg, 1);
}

static tc_audit *open_trail(const char *dir, int relaxed)
{
    tc_audit *a = NULL;
    tc_error err;
    tc_audit_options o = {.dir = dir, .map_size = (size_t)256 << 20, .relaxed = relaxed};
    assert_int_equal(tc_audit_open(&o, &a, &err), TC_OK);
    assert_int_equal(tc_audit_start(a, 1, &err), TC_OK);
    return a;
}

/* n records, the i-th with inquiry "inq-i" and an answer "answer-i" remembered under request ID
 * "rid-i", all committed before this returns. */
static void submit(tc_audit *a, int n)
{
    tc_audit_entry *e = calloc((size_t)n, sizeof *e);
    char(*answer)[32] = calloc((size_t)n, sizeof *answer);
    atomic_int ok = 0;
    assert_non_null(e);
    for (int i = 0; i < n; i++) {
        e[i].rec.time_us = BASE_US + i;
        e[i].rec.outcome = TC_AUDIT_SCORED;
        snprintf(e[i].rec.institution, sizeof e[i].rec.institution, "bank-a");
        snprintf(e[i].rec.inquiry_id, sizeof e[i].rec.inquiry_id, "inq-%d", i);
        e[i].idem_key_len =
            (size_t)snprintf(e[i].idem_key, sizeof e[i].idem_key, "bank-a%crid-%d", 0, i);
        snprintf(answer[i], sizeof answer[i], "answer-%d", i);
        e[i].response = (const unsigned char *)answer[i];
        e[i].response_len = strlen(answer[i]);
        e[i].done = on_done;
        e[i].arg = &ok;
        while (tc_audit_submit(a, 0, &e[i]) == TC_EBUSY)
            usleep(100);
    }
    for (int t = 0; t < 60000 && atomic_load(&ok) < n; t++)
        usleep(1000);
    assert_int_equal(atomic_load(&ok), n);
    free(answer);
    free(e);
}

typedef struct child_job {
    const char *dir;
    int relaxed, n, hold;
} child_job;

/* Run job in a child, which reports a byte and then is killed by the parent with SIGKILL: no
 * cleanup, as in a crash, and nothing left for a memory checker to report. Returns the byte. */
static int in_killed_child(int (*job)(const child_job *), const child_job *arg)
{
    int fds[2];
    unsigned char result = 0xff;
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        result = (unsigned char)job(arg);
        if (write(fds[1], &result, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &result, 1), 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return result;
}

/* Start the trail, commit n records (with hold, none applied to the tables); 0 when done. */
static int commit_and_wait(const child_job *j)
{
    tc_audit *a = open_trail(j->dir, j->relaxed);
    if (j->hold)
        pthread_mutex_lock(&a->j.apply_mu);
    submit(a, j->n);
    return 0;
}

static void killed_after(const char *dir, int relaxed, int n, int hold)
{
    child_job j = {dir, relaxed, n, hold};
    assert_int_equal(in_killed_child(commit_and_wait, &j), 0);
}

/* Records in the tables of a trail no process writes; *pending: those in its journal only. */
static size_t in_tables(const char *dir, uint64_t *pending)
{
    tc_audit *a = NULL;
    tc_audit_reader *r = NULL;
    tc_audit_options o = {.dir = dir, .read_only = 1};
    assert_int_equal(tc_audit_open(&o, &a, NULL), TC_OK);
    assert_int_equal(tc_audit_reader_new(a, &r, NULL), TC_OK);
    size_t n = tc_audit_count(r);
    *pending = tc_audit_journal_pending(a);
    tc_audit_reader_free(r);
    tc_audit_close(a);
    return n;
}

typedef struct seen {
    uint64_t n, bad;
} seen;

static int check_record(const tc_audit_record *rec, void *arg)
{
    seen *s = arg;
    char want[32];
    snprintf(want, sizeof want, "inq-%llu", (unsigned long long)s->n);
    if (rec->seq != s->n + 1 || strcmp(rec->inquiry_id, want) != 0 ||
        rec->time_us != BASE_US + (int64_t)s->n)
        s->bad++;
    s->n++;
    return 0;
}

/* Every record 1..n once, in order, each the one submitted under its number. */
static void expect_records(tc_audit *a, uint64_t n)
{
    tc_audit_reader *r = NULL;
    seen s = {0};
    assert_int_equal(tc_audit_reader_new(a, &r, NULL), TC_OK);
    assert_int_equal(tc_audit_scan(r, 0, 0, check_record, &s, NULL), TC_OK);
    assert_int_equal(tc_audit_count(r), n);
    tc_audit_reader_free(r);
    assert_int_equal(s.n, n);
    assert_int_equal(s.bad, 0);
}

static const char *remembered(tc_audit *a, int i)
{
    static char text[TC_AUDIT_RESPONSE_MAX + 1];
    char key[64];
    unsigned char digest[16], response[TC_AUDIT_RESPONSE_MAX];
    size_t len = 0, key_len = (size_t)snprintf(key, sizeof key, "bank-a%crid-%d", 0, i);
    tc_audit_reader *r = NULL;
    assert_int_equal(tc_audit_reader_new(a, &r, NULL), TC_OK);
    text[0] = 0;
    if (tc_audit_idem_lookup(r, key, key_len, BASE_US + i, digest, response, &len) == TC_OK) {
        memcpy(text, response, len);
        text[len] = 0;
    }
    tc_audit_reader_free(r);
    return text;
}

static void only_in_journal(int relaxed)
{
    char *dir = strdup(tu_tempdir());
    tc_audit_stats st;
    uint64_t pending = 0;
    killed_after(dir, relaxed, 1000, 1);
    assert_int_equal(in_tables(dir, &pending), 0); /* all 1000 answered, none in the tables */
    assert_int_equal(pending, 1000);               /* ... which a reader of the copy is told */
    tc_audit *a = open_trail(dir, relaxed);
    tc_audit_stats_get(a, &st);
    assert_int_equal(st.journal_recovered, 1000);
    expect_records(a, 1000);
    assert_string_equal(remembered(a, 0), "answer-0");
    assert_string_equal(remembered(a, 999), "answer-999");
    tc_audit_close(a);
    a = open_trail(dir, relaxed); /* nothing twice */
    tc_audit_stats_get(a, &st);
    assert_int_equal(st.journal_recovered, 0);
    expect_records(a, 1000);
    tc_audit_close(a);
    assert_int_equal(in_tables(dir, &pending), 1000);
    assert_int_equal(pending, 0);
    tu_rmtree(dir);
    free(dir);
}

static void test_killed_relaxed(void **state)
{
    (void)state;
    only_in_journal(1);
}

static void test_killed_durable(void **state)
{
    (void)state;
    only_in_journal(0);
}

/* The last entry written is cut short (its bytes changed): the ones before it are recovered. */
static void test_torn_last_entry(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir()), path[4096];
    killed_after(dir, 1, 100, 1);
    snprintf(path, sizeof path, "%s/journal", dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char *half = malloc(JOURNAL_HALF);
    assert_int_equal(pread(fd, half, JOURNAL_HALF, 0), JOURNAL_HALF);
    size_t off = 0, last = 0;
    for (int i = 0; i < 100; i++) { /* entry sizes, little-endian, at each entry's start */
        last = off;
        off += (size_t)half[off] | (size_t)half[off + 1] << 8 | (size_t)half[off + 2] << 16;
    }
    unsigned char x = half[last + JOURNAL_HDR] ^ 0xff;
    assert_int_equal(pwrite(fd, &x, 1, (off_t)(last + JOURNAL_HDR)), 1);
    close(fd);
    free(half);
    tc_audit *a = open_trail(dir, 1);
    tc_audit_stats st;
    tc_audit_stats_get(a, &st);
    assert_int_equal(st.journal_recovered, 99);
    expect_records(a, 99);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

/* Killed after its journal's halves were each reused many times (each time once the tables
 * were synced, in both modes): nothing lost, nothing twice. */
static void killed_after_many_halves(int relaxed)
{
    char *dir = strdup(tu_tempdir());
    killed_after(dir, relaxed, 30000, 0);
    tc_audit *a = open_trail(dir, relaxed);
    expect_records(a, 30000);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

static void test_killed_after_many_halves(void **state)
{
    (void)state;
    killed_after_many_halves(1);
    killed_after_many_halves(0);
}

/* A second process starting the same trail: 1 when refused as it should be. */
static int second_writer(const child_job *j)
{
    tc_audit *b = NULL;
    tc_error err;
    tc_audit_options o = {.dir = j->dir, .map_size = (size_t)256 << 20, .relaxed = 1};
    if (tc_audit_open(&o, &b, &err) != TC_OK)
        return 2;
    return tc_audit_start(b, 1, &err) == TC_EBUSY &&
           strstr(err.msg, "another process is writing this audit trail") != NULL;
}

static void test_one_writer(void **state)
{
    (void)state;
    char *dir = strdup(tu_tempdir());
    tc_audit *a = open_trail(dir, 1);
    child_job j = {dir, 1, 0, 0};
    assert_int_equal(in_killed_child(second_writer, &j), 1);
    submit(a, 10); /* the first goes on */
    expect_records(a, 10);
    tc_audit_close(a);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    BASE_US = tc_time_now_us();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_relaxed),  cmocka_unit_test(test_killed_durable),
        cmocka_unit_test(test_torn_last_entry), cmocka_unit_test(test_killed_after_many_halves),
        cmocka_unit_test(test_one_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
