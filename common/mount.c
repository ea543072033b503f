/*
 * mount: a staged tree (recursively read-only, idmapped, or both) is made
 * in three steps on a detached clone (open_tree with OPEN_TREE_CLONE |
 * AT_RECURSIVE), so the host's own mounts are never touched:
 * mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY and/or MOUNT_ATTR_IDMAP
 * with a user namespace) on the clone, move_mount to the target, then
 * MS_PRIVATE | MS_REC on it
 * (a target under a shared mount would otherwise make the tree shared).
 * The read-only flag and the idmap are per mount, and a bind copies each
 * mount's: runc's rbind of the target keeps them at every depth.
 */
#include "common/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"

static int mount_err(int e, const char *what, const char *path, ck_err *err)
{
    ck_errkind kind = e == ENOSYS ? CK_E_UNIMPLEMENTED : e == ENOENT ? CK_E_NOT_FOUND : CK_E_INTERNAL;
    return ck_err_set(err, kind, e, "%s %s%s", what, path,
                      e == ENOSYS ? ": the kernel has no mount_setattr (5.12 or later is needed)" : "");
}

/* A detached clone of the tree at source with attrs on each of its mounts. */
static int staged_clone(const char *source, const ck_mount_tree_attrs *attrs, ck_err *err)
{
    int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0)
        return mount_err(errno, "clone the mount tree of", source, err);
    struct mount_attr attr = {.attr_set = attrs->readonly ? MOUNT_ATTR_RDONLY : 0};
    if (attrs->userns_fd >= 0) {
        attr.attr_set |= MOUNT_ATTR_IDMAP;
        attr.userns_fd = (uint64_t)attrs->userns_fd;
    }
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
        int e = errno;
        close(tree);
        /* EINVAL (or EOPNOTSUPP) for an idmap: the filesystem of the tree
         * or of one of its submounts cannot be idmapped on this kernel. */
        if (attrs->userns_fd >= 0 && (e == EINVAL || e == EOPNOTSUPP))
            return ck_err_set(err, CK_E_PRECONDITION, e,
                              "the filesystem of %s (or of a mount below it) cannot be idmapped on this kernel",
                              source);
        return mount_err(e, attrs->userns_fd >= 0 ? "idmap the clone of" : "make read-only the clone of", source, err);
    }
    return tree;
}

int ck_mount_tree(const char *source, const char *target, const ck_mount_tree_attrs *attrs, ck_err *err)
{
    _cleanup_close_ int tree = staged_clone(source, attrs, err);
    if (tree < 0)
        return -1;
    if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return mount_err(errno, "attach the clone at", target, err);
    if (mount(NULL, target, NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
        int e = errno;
        ck_err e2;
        ck_err_clear(&e2);
        (void)ck_mount_detach(target, &e2);
        return mount_err(e, "make private", target, err);
    }
    return 0;
}

int ck_mount_tree_check(const char *source, const ck_mount_tree_attrs *attrs, ck_err *err)
{
    int tree = staged_clone(source, attrs, err);
    if (tree < 0)
        return -1;
    close(tree); /* a detached tree goes with its last descriptor */
    return 0;
}

bool ck_mount_readonly_tree_supported(const char *dir, char *why, size_t size)
{
    ck_err err;
    ck_err_clear(&err);
    const ck_mount_tree_attrs readonly = {.readonly = true, .userns_fd = -1};
    int tree = staged_clone(dir, &readonly, &err);
    if (tree < 0) {
        snprintf(why, size, "%s", err.msg);
        return false;
    }
    close(tree); /* a detached tree goes with its last descriptor */
    return true;
}

enum { MAX_STACKED = 16 };

int ck_mount_detach(const char *path, ck_err *err)
{
    /* Mounts stacked on the same point (a retry after a crash) go one by
     * one, the top first; EINVAL says none is left. */
    for (int i = 0; i < MAX_STACKED; i++)
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
            return errno == EINVAL || errno == ENOENT
                       ? 0
                       : ck_err_set(err, CK_E_INTERNAL, errno, "detach the mount at %s", path);
    return ck_err_set(err, CK_E_INTERNAL, 0, "detach the mount at %s: still mounted after %d detaches", path,
                      MAX_STACKED);
}
