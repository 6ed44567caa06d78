#include "tc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_stdout(const char *path, unsigned flags)
{
    return (flags & TC_FILE_STDOUT) != 0 && strcmp(path, "-") == 0;
}

/* The process's umask without setting it (umask(2) can only be read by changing it, which would
 * race with other threads creating files): /proc/self/status has it since Linux 4.7. Without
 * it, the strictest mask: a file private to its owner is never a leak. */
static mode_t current_umask(void)
{
    mode_t mask = 077;
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return mask;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Umask:", 6) == 0) {
            char *end;
            unsigned long v = strtoul(line + 6, &end, 8);
            if (end != line + 6 && v <= 0777)
                mask = (mode_t)v;
            break;
        }
    fclose(f);
    return mask;
}

int tc_file_check(const char *path, unsigned flags, tc_error *err)
{
    struct stat st;
    if (is_stdout(path, flags))
        return TC_OK;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? TC_OK : tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tc_errorf(err, TC_EINVAL, "%s: exists and is not a regular file: not replaced",
                         path);
    if (!(flags & TC_FILE_REPLACE))
        return tc_errorf(err, TC_EEXIST, "%s: exists", path);
    return TC_OK;
}

/* The new file's permissions: the replaced file's (KEEP_MODE), or mode less the umask. */
static int set_mode(int fd, const char *path, unsigned flags, mode_t mode)
{
    struct stat st;
    if ((flags & TC_FILE_KEEP_MODE) && stat(path, &st) == 0) {
        if (fchmod(fd, st.st_mode & 07777) != 0)
            return -1;
        /* a file of another owner keeps its owner when we may give it (root, a service user) */
        return fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM ? -1 : 0;
    }
    return fchmod(fd, mode & ~current_umask() & 07777);
}

int tc_file_open(tc_file *o, const char *path, unsigned flags, mode_t mode, tc_error *err)
{
    memset(o, 0, sizeof *o);
    o->flags = flags;
    if (is_stdout(path, flags)) {
        o->to_stdout = 1;
        snprintf(o->path, sizeof o->path, "-");
        if ((o->f = tmpfile()) == NULL)
            return tc_errorf(err, TC_EIO, "a temporary file for standard output: %s",
                             strerror(errno));
        return TC_OK;
    }
    int rc = tc_file_check(path, flags, err);
    if (rc != TC_OK)
        return rc;
    const char *slash = strrchr(path, '/');
    int dir_len = slash != NULL ? (int)(slash - path) + 1 : 0;
    if ((size_t)snprintf(o->path, sizeof o->path, "%s", path) >= sizeof o->path ||
        (size_t)snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.XXXXXX", dir_len, path, path + dir_len) >=
            sizeof o->tmp) {
        o->tmp[0] = '\0';
        return tc_errorf(err, TC_EINVAL, "%s: path too long", path);
    }
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        o->tmp[0] = '\0';
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(e));
    }
    if (set_mode(fd, path, flags, mode) != 0 || (o->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(e));
    }
    return TC_OK;
}

int tc_file_finish(tc_file *o, tc_error *err)
{
    if (o->finished || o->to_stdout)
        return TC_OK;
    if (o->f == NULL)
        return tc_errorf(err, TC_EINVAL, "%s: not open", o->path);
    errno = 0;
    int ok = fflush(o->f) == 0 && !ferror(o->f);
    int e = errno;
    ok = ok && fsync(fileno(o->f)) == 0;
    e = e != 0 ? e : errno;
    ok = fclose(o->f) == 0 && ok;
    e = e != 0 ? e : errno;
    o->f = NULL;
    if (!ok) {
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return tc_errorf(err, TC_EIO, "%s: %s", o->path, strerror(e != 0 ? e : EIO));
    }
    o->finished = 1;
    return TC_OK;
}

static int copy_to_stdout(FILE *f)
{
    char buf[1 << 16];
    size_t n;
    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (fwrite(buf, 1, n, stdout) != n)
            return -1;
    return ferror(f) || fflush(stdout) != 0 ? -1 : 0;
}

/* rename without replacing: renameat2 where the file system has it, else link + unlink (a
 * link never replaces either). */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

/* The rename is durable once the directory is synced. */
static int sync_dir(const char *path, tc_error *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - path) + 1 : 1,
             slash != NULL ? path : ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        return tc_errorf(err, TC_EIO, "%s: written, but syncing its directory %s failed: %s", path,
                         dir, strerror(e));
    }
    close(dfd);
    return TC_OK;
}

int tc_file_commit(tc_file *o, tc_error *err)
{
    if (o->to_stdout) {
        if (o->f == NULL)
            return tc_errorf(err, TC_EINVAL, "standard output: not open");
        int ok = copy_to_stdout(o->f) == 0;
        int e = errno;
        fclose(o->f);
        o->f = NULL;
        return ok ? TC_OK : tc_errorf(err, TC_EIO, "standard output: %s", strerror(e));
    }
    int rc = tc_file_finish(o, err);
    if (rc != TC_OK)
        return rc;
    if (o->tmp[0] == '\0')
        return tc_errorf(err, TC_EINVAL, "%s: not open", o->path);
    struct stat st;
    int done;
    if (o->flags & TC_FILE_REPLACE) {
        /* checked at open too; a name turned into a device or a link meanwhile is not replaced */
        if (lstat(o->path, &st) == 0 && !S_ISREG(st.st_mode))
            rc = tc_errorf(err, TC_EINVAL, "%s: exists and is not a regular file: not replaced",
                           o->path);
        done = rc == TC_OK && rename(o->tmp, o->path) == 0;
    } else {
        done = rename_noreplace(o->tmp, o->path) == 0;
        if (!done && errno == EEXIST)
            rc = tc_errorf(err, TC_EEXIST, "%s: appeared while it was being written: not replaced",
                           o->path);
    }
    if (!done) {
        int e = errno;
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return rc != TC_OK ? rc : tc_errorf(err, TC_EIO, "%s: %s", o->path, strerror(e));
    }
    o->tmp[0] = '\0';
    return sync_dir(o->path, err);
}

void tc_file_discard(tc_file *o)
{
    if (o->f != NULL)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp[0] != '\0')
        unlink(o->tmp);
    o->tmp[0] = '\0';
}

int tc_file_write(const char *path, const void *data, size_t len, unsigned flags, mode_t mode,
                  tc_error *err)
{
    tc_file o;
    int rc = tc_file_open(&o, path, flags, mode, err);
    if (rc != TC_OK)
        return rc;
    if (fwrite(data, 1, len, o.f) != len) {
        int e = errno;
        tc_file_discard(&o);
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(e));
    }
    rc = tc_file_commit(&o, err);
    tc_file_discard(&o);
    return rc;
}
