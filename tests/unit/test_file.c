/* The atomic-file writer: a file appears whole or not at all; nothing is ever written through a
 * symbolic link (not even one planted at the temporary name an earlier writer used), a name
 * that is not a regular file is never replaced, a file that appears while another is written
 * is kept unless replacing was asked for, permissions follow the umask (or the replaced file),
 * failures leave no temporary file, and standard output gets all or nothing. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tc_file.h"
#include "tc_json.h"
#include "test_util.h"

typedef struct fx {
    char *dir;
} fx;

static char *slurp(const char *path)
{
    char *text = NULL;
    size_t n = 0;
    if (tc_read_file(path, 1 << 20, TC_EIO, &text, &n, NULL) != TC_OK)
        fail_msg("cannot read %s", path);
    return text;
}

static void assert_content(const char *path, const char *want)
{
    char *text = slurp(path);
    assert_string_equal(text, want);
    free(text);
}

/* The directory's entries, sorted, space-separated: what a writer left behind. */
static const char *listing(const char *dir)
{
    static char out[2048];
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | tr '\\n' ' '", dir);
    tu_run(out, sizeof out, "%s", cmd);
    return out;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = strdup(tu_tempdir());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_new_file(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    mode_t old = umask(027);
    assert_int_equal(tc_file_write(tu_in(f->dir, "out.csv"), "a,b\n", 4, 0, 0666, &err), TC_OK);
    umask(old);
    assert_content(tu_in(f->dir, "out.csv"), "a,b\n");
    struct stat st;
    assert_int_equal(stat(tu_in(f->dir, "out.csv"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* 0666 less the umask */
    assert_string_equal(listing(f->dir), "out.csv ");
}

static void test_existing_kept_unless_replace(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    tu_write(tu_in(f->dir, "out.csv"), "old\n");
    assert_int_equal(tc_file_check(tu_in(f->dir, "out.csv"), 0, &err), TC_EEXIST);
    char want[1100];
    snprintf(want, sizeof want, "%s/out.csv: exists", f->dir);
    assert_msg(&err, want);
    assert_int_equal(tc_file_write(tu_in(f->dir, "out.csv"), "new\n", 4, 0, 0644, &err), TC_EEXIST);
    assert_content(tu_in(f->dir, "out.csv"), "old\n");
    assert_int_equal(
        tc_file_write(tu_in(f->dir, "out.csv"), "new\n", 4, TC_FILE_REPLACE, 0644, &err), TC_OK);
    assert_content(tu_in(f->dir, "out.csv"), "new\n");
    assert_string_equal(listing(f->dir), "out.csv ");
}

/* The writer before this one opened DIR/.NAME.tmp-PID with O_TRUNC: a link planted at that
 * name made it write wherever the link pointed. */
static void test_no_write_through_links(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    char planted[1100], victim[1100];
    snprintf(victim, sizeof victim, "%s/victim", f->dir);
    tu_write(victim, "precious\n");
    snprintf(planted, sizeof planted, "%s/.out.csv.tmp-%ld", f->dir, (long)getpid());
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(tc_file_write(tu_in(f->dir, "out.csv"), "rows\n", 5, 0, 0644, &err), TC_OK);
    assert_content(victim, "precious\n");
    assert_content(tu_in(f->dir, "out.csv"), "rows\n");
    /* the target itself a link: refused, even with replace, and the file it names untouched */
    assert_int_equal(symlink(victim, tu_in(f->dir, "link.csv")), 0);
    assert_int_equal(
        tc_file_write(tu_in(f->dir, "link.csv"), "x\n", 2, TC_FILE_REPLACE, 0644, &err), TC_EINVAL);
    assert_non_null(strstr(err.msg, "link.csv: exists and is not a regular file: not replaced"));
    assert_content(victim, "precious\n");
    struct stat st;
    assert_int_equal(lstat(tu_in(f->dir, "link.csv"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
}

static void test_not_a_regular_file(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    assert_int_equal(mkfifo(tu_in(f->dir, "fifo"), 0600), 0);
    assert_int_equal(tc_file_write(tu_in(f->dir, "fifo"), "x\n", 2, TC_FILE_REPLACE, 0644, &err),
                     TC_EINVAL);
    assert_int_equal(mkdir(tu_in(f->dir, "sub"), 0700), 0);
    assert_int_equal(tc_file_check(tu_in(f->dir, "sub"), TC_FILE_REPLACE, &err), TC_EINVAL);
    /* /dev/null stays a device whoever runs this */
    assert_int_equal(tc_file_check("/dev/null", TC_FILE_REPLACE, &err), TC_EINVAL);
    assert_string_equal(err.msg, "/dev/null: exists and is not a regular file: not replaced");
    assert_string_equal(listing(f->dir), "fifo sub ");
}

/* Between open and commit someone else writes the name: without replace it is kept; with
 * replace a name that became a link is not replaced. Either way no temporary file stays. */
static void test_appeared_meanwhile(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    tc_file o;
    assert_int_equal(tc_file_open(&o, tu_in(f->dir, "out.csv"), 0, 0644, &err), TC_OK);
    fputs("mine\n", o.f);
    tu_write(tu_in(f->dir, "out.csv"), "theirs\n");
    assert_int_equal(tc_file_commit(&o, &err), TC_EEXIST);
    assert_non_null(strstr(err.msg, "out.csv: appeared while it was being written: not replaced"));
    tc_file_discard(&o);
    assert_content(tu_in(f->dir, "out.csv"), "theirs\n");
    assert_string_equal(listing(f->dir), "out.csv ");

    assert_int_equal(tc_file_open(&o, tu_in(f->dir, "out.csv"), TC_FILE_REPLACE, 0644, &err),
                     TC_OK);
    fputs("mine\n", o.f);
    assert_int_equal(unlink(tu_in(f->dir, "out.csv")), 0);
    assert_int_equal(symlink("/etc/passwd", tu_in(f->dir, "out.csv")), 0);
    assert_int_equal(tc_file_commit(&o, &err), TC_EINVAL);
    tc_file_discard(&o);
    assert_string_equal(listing(f->dir), "out.csv ");
}

static void test_discard_and_finish(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    tc_file o;
    assert_int_equal(tc_file_open(&o, tu_in(f->dir, "a.csv"), 0, 0644, &err), TC_OK);
    fputs("half", o.f);
    /* the temporary file is hidden, beside the target, private until committed */
    DIR *d = opendir(f->dir);
    struct dirent *e;
    int hidden = 0;
    while ((e = readdir(d)) != NULL)
        hidden += strncmp(e->d_name, ".a.csv.", 7) == 0 && strlen(e->d_name) == 13;
    closedir(d);
    assert_int_equal(hidden, 1);
    tc_file_discard(&o);
    assert_string_equal(listing(f->dir), "");
    /* finish: complete under the temporary name, published by commit only */
    assert_int_equal(tc_file_open(&o, tu_in(f->dir, "a.csv"), 0, 0644, &err), TC_OK);
    fputs("whole\n", o.f);
    assert_int_equal(tc_file_finish(&o, &err), TC_OK);
    assert_int_equal(access(tu_in(f->dir, "a.csv"), F_OK), -1);
    assert_int_equal(tc_file_commit(&o, &err), TC_OK);
    tc_file_discard(&o); /* after a commit: nothing to do */
    assert_content(tu_in(f->dir, "a.csv"), "whole\n");
    assert_string_equal(listing(f->dir), "a.csv ");
}

static void test_keep_mode(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    char path[1100];
    snprintf(path, sizeof path, "%s", tu_in(f->dir, "m.json"));
    tu_write(path, "{}\n");
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(
        tc_file_write(path, "{ }\n", 4, TC_FILE_REPLACE | TC_FILE_KEEP_MODE, 0600, &err), TC_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    assert_content(path, "{ }\n");
}

/* A write that fails (here the file size limit) leaves neither the target nor a temporary. */
static void test_failed_write(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    struct rlimit old, lim = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &old);
    lim.rlim_max = old.rlim_max;
    void (*h)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tc_file o;
    assert_int_equal(tc_file_open(&o, tu_in(f->dir, "big.csv"), 0, 0644, &err), TC_OK);
    char row[100];
    memset(row, 'x', sizeof row);
    for (int i = 0; i < 1000; i++)
        fwrite(row, 1, sizeof row, o.f);
    int rc = tc_file_commit(&o, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, h);
    tc_file_discard(&o);
    assert_int_equal(rc, TC_EIO);
    assert_non_null(strstr(err.msg, "big.csv: File too large"));
    assert_string_equal(listing(f->dir), "");
    /* a directory that does not exist: the error names the file */
    assert_int_equal(tc_file_write(tu_in(f->dir, "no/such.csv"), "x", 1, 0, 0644, &err), TC_EIO);
    assert_non_null(strstr(err.msg, "no/such.csv: No such file or directory"));
}

/* "-" is standard output, all or nothing. */
static void test_stdout(void **state)
{
    fx *f = *state;
    tc_error err = {0};
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    FILE *cap = fopen(tu_in(f->dir, "captured"), "w");
    dup2(fileno(cap), STDOUT_FILENO);
    tc_file o;
    assert_int_equal(tc_file_open(&o, "-", TC_FILE_STDOUT, 0644, &err), TC_OK);
    fputs("discarded\n", o.f);
    tc_file_discard(&o);
    assert_int_equal(tc_file_write("-", "kept\n", 5, TC_FILE_STDOUT, 0644, &err), TC_OK);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fclose(cap);
    assert_content(tu_in(f->dir, "captured"), "kept\n");
    /* without the flag "-" is a file name like any other */
    assert_int_equal(tc_file_check("-", 0, &err), access("-", F_OK) == 0 ? TC_EEXIST : TC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_kept_unless_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_write_through_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appeared_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_and_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
