#include "common/fs.h"

#include "common/cleanup.h"

#include <dirent.h>
#include <errno.h>
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

int ck_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode, ck_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return ck_err_set(err, CK_E_INTERNAL, 0, "path %s is too long", path);
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "write %s", tmp);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            unlink(tmp);
            return ck_err_set(err, e == ENOSPC ? CK_E_EXHAUSTED : CK_E_INTERNAL, e, "write %s", tmp);
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_err_set(err, CK_E_INTERNAL, e, "write %s", path);
    }
    return 0;
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

/* ---- copying a directory's contents ---- */

enum { COPY_MAX_DEPTH = 128 };

static int copy_tree(int src, int dst, int depth, ck_err *err);

static int copy_bytes(int in, int out, const char *name, ck_err *err)
{
    char buf[65536];
    for (;;) {
        /* copy_file_range shares extents within one filesystem; between
         * two (an overlay and the state dir) it is EXDEV: plain copy. */
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return ck_err_set(err, CK_E_INTERNAL, errno, "copy %s", name);
        break;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "read %s", name);
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                return ck_err_set(err, CK_E_INTERNAL, errno, "write %s", name);
            off += w > 0 ? w : 0;
        }
    }
}

/* Owner first: chown clears the setuid and setgid bits chmod then sets. */
static int own_and_mode(int fd, const struct stat *st, const char *name, ck_err *err)
{
    if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "set owner and mode of %s", name);
    return 0;
}

static int copy_file(int src, int dst, const char *name, const struct stat *st, ck_err *err)
{
    _cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open %s", name);
    _cleanup_close_ int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", name);
    if (copy_bytes(in, out, name, err) < 0)
        return -1;
    return own_and_mode(out, st, name, err);
}

static int copy_symlink(int src, int dst, const char *name, const struct stat *st, ck_err *err)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
    if (n < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "read link %s", name);
    target[n] = '\0';
    if (symlinkat(target, dst, name) < 0 || fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "copy link %s", name);
    return 0;
}

static int copy_subdir(int src, int dst, const char *name, const struct stat *st, int depth, ck_err *err)
{
    if (mkdirat(dst, name, 0700) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create directory %s", name);
    _cleanup_close_ int in = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int out = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0 || out < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open directory %s", name);
    if (copy_tree(in, out, depth + 1, err) < 0)
        return ck_err_wrap(err, "in %s", name);
    return own_and_mode(out, st, name, err);
}

static int copy_entry(int src, int dst, const char *name, int depth, ck_err *err)
{
    struct stat st;
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s", name);
    if (S_ISDIR(st.st_mode))
        return copy_subdir(src, dst, name, &st, depth, err);
    if (S_ISREG(st.st_mode))
        return copy_file(src, dst, name, &st, err);
    if (S_ISLNK(st.st_mode))
        return copy_symlink(src, dst, name, &st, err);
    return 0; /* devices, FIFOs and sockets are not copied */
}

static int copy_tree(int src, int dst, int depth, ck_err *err)
{
    if (depth > COPY_MAX_DEPTH)
        return ck_err_set(err, CK_E_INVALID, 0, "directories nested deeper than %d", COPY_MAX_DEPTH);
    int fd = dup(src);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return ck_err_set(err, CK_E_INTERNAL, errno, "read directory");
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = copy_entry(src, dst, e->d_name, depth, err);
    closedir(d);
    return rc;
}

int ck_copy_dir_contents(int src, int dst, ck_err *err)
{
    return copy_tree(src, dst, 0, err);
}
