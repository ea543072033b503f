/*
 * copy: a directory's contents copied as an image has them, for the
 * volumes seeded from an image (Docker's and containerd's copy-up). What
 * the container sees must be what the image holds: owners, modes, extended
 * attributes (file capabilities, ACLs), timestamps, hard links kept as
 * links, and sparse files kept sparse so a seeded volume costs no more disk
 * than the image does.
 */
#include "common/fs.h"

#include "common/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

enum { COPY_MAX_DEPTH = 128, XATTR_VALUE_MAX = 65536 };

/* A file with more than one link, seen once: the others link to its copy. */
typedef struct linked_file {
    dev_t dev;
    ino_t ino;
    char *path; /* of the copy, relative to the destination's top */
} linked_file;

typedef struct copy_ctx {
    int dst_top;
    char path[PATH_MAX]; /* the directory being copied, relative to dst_top */
    linked_file *linked;
    size_t n_linked, cap_linked;
} copy_ctx;

static int copy_tree(copy_ctx *c, int src, int dst, int depth, ck_err *err);

/* Bytes from offset off to end, with copy_file_range where both are on one
 * filesystem (shared extents), read and write between two. */
static int copy_range(int in, int out, off_t off, off_t end, const char *name, ck_err *err)
{
    char buf[65536];
    while (off < end) {
        loff_t in_off = off, out_off = off;
        ssize_t n = copy_file_range(in, &in_off, out, &out_off, (size_t)(end - off), 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
            size_t want = (size_t)(end - off) < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
            n = pread(in, buf, want, off);
            if (n > 0 && pwrite(out, buf, (size_t)n, off) != n)
                return ck_err_set(err, CK_E_INTERNAL, errno, "write %s", name);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "copy %s", name);
        if (n == 0)
            break; /* the file shrank while copied */
        off += n;
    }
    return 0;
}

/* Only the data extents: holes stay holes, the size is set at the end. */
static int copy_bytes(int in, int out, const struct stat *st, const char *name, ck_err *err)
{
    for (off_t off = 0; off < st->st_size;) {
        off_t data = lseek(in, off, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break;    /* a hole to the end */
        if (data < 0) /* no SEEK_DATA here: the whole of it */
            return copy_range(in, out, off, st->st_size, name, err);
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "find the holes of %s", name);
        if (copy_range(in, out, data, hole, name, err) < 0)
            return -1;
        off = hole;
    }
    if (ftruncate(out, st->st_size) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "size %s", name);
    return 0;
}

/* After the owner (chown drops file capabilities) and the mode (an ACL
 * written later agrees with it). A destination without extended
 * attributes gets the rest of the copy without them. */
static int copy_xattrs(int in, int out, const char *name, ck_err *err)
{
    char names[XATTR_VALUE_MAX];
    ssize_t len = flistxattr(in, names, sizeof(names));
    if (len < 0)
        return errno == ENOTSUP ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "list attributes of %s", name);
    _cleanup_free_ char *value = malloc(XATTR_VALUE_MAX);
    if (value == NULL)
        return ck_err_oom(err, "extended attributes");
    for (const char *key = names; key < names + len; key += strlen(key) + 1) {
        ssize_t n = fgetxattr(in, key, value, XATTR_VALUE_MAX);
        if (n < 0 && errno == ENODATA)
            continue; /* removed meanwhile */
        if (n < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "read attribute %s of %s", key, name);
        if (fsetxattr(out, key, value, (size_t)n, 0) < 0 && errno != ENOTSUP)
            return ck_err_set(err, CK_E_INTERNAL, errno, "set attribute %s of %s", key, name);
    }
    return 0;
}

/* Owner first: chown clears the setuid and setgid bits chmod then sets. */
static int copy_metadata(int in, int out, const struct stat *st, const char *name, ck_err *err)
{
    if (fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "set owner and mode of %s", name);
    if (copy_xattrs(in, out, name, err) < 0)
        return -1;
    const struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (futimens(out, times) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "set the times of %s", name);
    return 0;
}

static const linked_file *linked_copy(const copy_ctx *c, const struct stat *st)
{
    for (size_t i = 0; i < c->n_linked; i++)
        if (c->linked[i].dev == st->st_dev && c->linked[i].ino == st->st_ino)
            return &c->linked[i];
    return NULL;
}

static int remember_link(copy_ctx *c, const char *name, const struct stat *st, ck_err *err)
{
    if (c->n_linked == c->cap_linked) {
        size_t cap = c->cap_linked ? c->cap_linked * 2 : 16;
        linked_file *grown = realloc(c->linked, cap * sizeof(*grown));
        if (grown == NULL)
            return ck_err_oom(err, "hard links");
        c->linked = grown;
        c->cap_linked = cap;
    }
    char *path = NULL;
    if (asprintf(&path, "%s%s", c->path, name) < 0)
        return ck_err_oom(err, "hard links");
    c->linked[c->n_linked++] = (linked_file){st->st_dev, st->st_ino, path};
    return 0;
}

static int copy_file(copy_ctx *c, int src, int dst, const char *name, const struct stat *st, ck_err *err)
{
    const linked_file *first = st->st_nlink > 1 ? linked_copy(c, st) : NULL;
    if (first != NULL) {
        if (linkat(c->dst_top, first->path, dst, name, 0) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "link %s to %s", name, first->path);
        return 0;
    }
    _cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open %s", name);
    _cleanup_close_ int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", name);
    if (copy_bytes(in, out, st, name, err) < 0 || copy_metadata(in, out, st, name, err) < 0)
        return -1;
    return st->st_nlink > 1 ? remember_link(c, name, st, err) : 0;
}

/* A link's own extended attributes are left out: Linux allows only
 * trusted.* and security.* ones on links, and images carry none. */
static int copy_symlink(int src, int dst, const char *name, const struct stat *st, ck_err *err)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
    if (n < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "read link %s", name);
    target[n] = '\0';
    if (symlinkat(target, dst, name) < 0 || fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "copy link %s", name);
    const struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "set the times of link %s", name);
    return 0;
}

/* The directory's times last: filling it changed them. */
static int copy_subdir(copy_ctx *c, int src, int dst, const char *name, const struct stat *st, int depth, ck_err *err)
{
    if (mkdirat(dst, name, 0700) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create directory %s", name);
    _cleanup_close_ int in = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int out = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0 || out < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open directory %s", name);
    size_t len = strlen(c->path);
    if (snprintf(c->path + len, sizeof(c->path) - len, "%s/", name) >= (int)(sizeof(c->path) - len))
        return ck_err_set(err, CK_E_INVALID, 0, "path %s%s is too long", c->path, name);
    int rc = copy_tree(c, in, out, depth + 1, err);
    c->path[len] = '\0';
    if (rc < 0)
        return ck_err_wrap(err, "in %s", name);
    return copy_metadata(in, out, st, name, err);
}

static int copy_entry(copy_ctx *c, int src, int dst, const char *name, int depth, ck_err *err)
{
    struct stat st;
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s", name);
    if (S_ISDIR(st.st_mode))
        return copy_subdir(c, src, dst, name, &st, depth, err);
    if (S_ISREG(st.st_mode))
        return copy_file(c, src, dst, name, &st, err);
    if (S_ISLNK(st.st_mode))
        return copy_symlink(src, dst, name, &st, err);
    return 0; /* devices, FIFOs and sockets are not copied */
}

static int copy_tree(copy_ctx *c, int src, int dst, int depth, ck_err *err)
{
    if (depth > COPY_MAX_DEPTH)
        return ck_err_set(err, CK_E_INVALID, 0, "directories nested deeper than %d", COPY_MAX_DEPTH);
    /* A description of its own: a dup would share src's offset, and a
     * directory read once before would read as empty. */
    int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return ck_err_set(err, CK_E_INTERNAL, errno, "read directory");
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = copy_entry(c, src, dst, e->d_name, depth, err);
    closedir(d);
    return rc;
}

int ck_copy_dir_contents(int src, int dst, ck_err *err)
{
    copy_ctx c = {.dst_top = dst};
    int rc = copy_tree(&c, src, dst, 0, err);
    for (size_t i = 0; i < c.n_linked; i++)
        free(c.linked[i].path);
    free(c.linked);
    return rc;
}
