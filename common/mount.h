/*
 * mount: mount-API helpers (open_tree, mount_setattr, move_mount) that the
 * OCI runtime we drive (Debian's runc 1.1.5) does not use, so cricket
 * prepares such mounts itself and hands the runtime a plain bind source.
 */
#ifndef CK_COMMON_MOUNT_H
#define CK_COMMON_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* What a staged clone of a mount tree gets, on every mount of it. */
typedef struct ck_mount_tree_attrs {
    bool readonly; /* MOUNT_ATTR_RDONLY: read-only at every depth */
    int userns_fd; /* MOUNT_ATTR_IDMAP through this user namespace; -1: none */
} ck_mount_tree_attrs;

/* Clones the mount tree at source with all its submounts, gives every mount
 * of the clone attrs and attaches it at target (an existing directory, or
 * file when source is one), private, so nothing mounted later on either
 * side propagates to the other. An rbind of target keeps the attributes all
 * the way down. A kernel without mount_setattr (before 5.12) is
 * CK_E_UNIMPLEMENTED; a filesystem (of source or of a submount) that takes
 * no idmapped mount is CK_E_PRECONDITION naming source and the kernel's
 * reason. */
int ck_mount_tree(const char *source, const char *target, const ck_mount_tree_attrs *attrs, ck_err *err);
/* The same clone made and let go without being attached: the errors
 * ck_mount_tree would give for source, and nothing left. */
int ck_mount_tree_check(const char *source, const ck_mount_tree_attrs *attrs, ck_err *err);

/* Whether this kernel can make a recursively read-only tree: tried on a
 * detached clone of dir, so nothing is attached anywhere. why gets the
 * reason when it cannot. */
bool ck_mount_readonly_tree_supported(const char *dir, char *why, size_t size);

/* Detaches (lazily) the mount tree at path; 0 as well when nothing is
 * mounted there or path is missing. */
int ck_mount_detach(const char *path, ck_err *err);

#endif
