#include "common/fs.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* nftw gives no user pointer: the first failure is kept per thread. */
static _Thread_local int rm_errno;
static _Thread_local char rm_failed[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    if (rc < 0 && errno != ENOENT && rm_errno == 0) {
        rm_errno = errno;
        snprintf(rm_failed, sizeof(rm_failed), "%s", path);
    }
    return 0; /* go on: remove as much as possible */
}

int ck_rm_rf(const char *path, ck_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", path);
    rm_errno = 0;
    rm_failed[0] = '\0';
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && rm_errno == 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "walk %s", path);
    if (rm_errno != 0)
        return ck_err_set(err, CK_E_INTERNAL, rm_errno, "remove %s (under %s)", rm_failed, path);
    return 0;
}

/* Writes all of data to fd (path names it in the error). */
static int write_all(int fd, const char *path, const char *data, size_t len, ck_err *err)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ck_err_set(err, errno == ENOSPC ? CK_E_EXHAUSTED : CK_E_INTERNAL, errno, "write %s", path);
        off += (size_t)n;
    }
    return 0;
}

static int write_file_renamed(const char *path, const char *data, size_t len, unsigned mode, bool durable, ck_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return ck_err_set(err, CK_E_INTERNAL, 0, "path %s is too long", path);
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "write %s", tmp);
    if (write_all(fd, tmp, data, len, err) < 0) {
        unlink(tmp);
        return -1;
    }
    if ((durable && fsync(fd) < 0) || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_err_set(err, CK_E_INTERNAL, e, "write %s", path);
    }
    return 0;
}

int ck_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode, ck_err *err)
{
    return write_file_renamed(path, data, len, mode, true, err);
}

int ck_write_file_for_this_boot(const char *path, const char *data, size_t len, unsigned mode, ck_err *err)
{
    return write_file_renamed(path, data, len, mode, false, err);
}

int ck_mkdir_p(const char *path, unsigned mode, ck_err *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return ck_err_set(err, CK_E_INVALID, 0, "create directory %.80s...: path too long", path);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return ck_err_set(err, CK_E_INTERNAL, errno, "create directory %s", buf);
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create directory %s", buf);
    struct stat st;
    if (stat(buf, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s", buf);
    if (!S_ISDIR(st.st_mode))
        return ck_err_set(err, CK_E_PRECONDITION, 0, "%s is not a directory", buf);
    return 0;
}

int ck_rewrite_file(const char *path, const char *data, size_t len, ck_err *err)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "rewrite %s", path);
    return write_all(fd, path, data, len, err);
}
