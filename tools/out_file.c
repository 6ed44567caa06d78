#include "out_file.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int out_file_open(out_file *o, const char *path, int force, mode_t mode, tc_error *err)
{
    memset(o, 0, sizeof *o);
    if (strcmp(path, "-") == 0) {
        o->to_stdout = 1;
        snprintf(o->path, sizeof o->path, "-");
        if ((o->f = tmpfile()) == NULL)
            return tc_errorf(err, TC_EIO, "a temporary file for standard output: %s",
                             strerror(errno));
        return TC_OK;
    }
    if (!force && access(path, F_OK) == 0)
        return tc_errorf(err, TC_EEXIST, "%s: exists (use --force to replace it)", path);
    const char *slash = strrchr(path, '/');
    int dl = slash != NULL ? (int)(slash - path) + 1 : 0;
    if ((size_t)snprintf(o->path, sizeof o->path, "%s", path) >= sizeof o->path ||
        (size_t)snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.tmp-%ld", dl, path,
                         slash != NULL ? slash + 1 : path, (long)getpid()) >= sizeof o->tmp)
        return tc_errorf(err, TC_EINVAL, "%s: path too long", path);
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(o->tmp);
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(e));
    }
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

int out_file_commit(out_file *o, tc_error *err)
{
    if (o->to_stdout) {
        int ok = copy_to_stdout(o->f) == 0;
        fclose(o->f);
        o->f = NULL;
        return ok ? TC_OK : tc_errorf(err, TC_EIO, "standard output: %s", strerror(errno));
    }
    int ok = fflush(o->f) == 0 && !ferror(o->f) && fsync(fileno(o->f)) == 0;
    int e = errno;
    ok = fclose(o->f) == 0 && ok;
    o->f = NULL;
    if (ok && rename(o->tmp, o->path) != 0) {
        e = errno;
        ok = 0;
    }
    if (!ok) {
        unlink(o->tmp);
        return tc_errorf(err, TC_EIO, "%s: %s", o->path, strerror(e ? e : errno));
    }
    /* the rename itself is durable once the directory is synced */
    char dir[PATH_MAX];
    const char *slash = strrchr(o->path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - o->path) + 1 : 1,
             slash != NULL ? o->path : ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse a directory fsync */
        close(dfd);
    }
    return TC_OK;
}

void out_file_discard(out_file *o)
{
    if (o->f != NULL)
        fclose(o->f);
    o->f = NULL;
    if (!o->to_stdout && o->tmp[0] != '\0')
        unlink(o->tmp);
}

int out_file_write_all(const char *path, const char *text, size_t len, int force, mode_t mode,
                       tc_error *err)
{
    out_file o;
    int rc = out_file_open(&o, path, force, mode, err);
    if (rc != TC_OK)
        return rc;
    if (fwrite(text, 1, len, o.f) != len) {
        int e = errno;
        out_file_discard(&o);
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(e));
    }
    return out_file_commit(&o, err);
}

void out_csv_field(FILE *f, const char *s, size_t len)
{
    if (memchr(s, ',', len) == NULL && memchr(s, '"', len) == NULL &&
        memchr(s, '\n', len) == NULL && memchr(s, '\r', len) == NULL)
        fwrite(s, 1, len, f);
    else
        csv_fwrite(f, s, len);
}
