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

/* Clones the mount tree at source with all its submounts, makes every mount
 * of the clone read-only and attaches it at target (an existing directory,
 * or file when source is one), private, so nothing mounted later on either
 * side propagates to the other. An rbind of target is read-only all the
 * way down. A kernel without mount_setattr (before 5.12) is
 * CK_E_UNIMPLEMENTED. */
int ck_mount_readonly_tree(const char *source, const char *target, ck_err *err);

/* Whether this kernel can make a recursively read-only tree: tried on a
 * detached clone of dir, so nothing is attached anywhere. why gets the
 * reason when it cannot. */
bool ck_mount_readonly_tree_supported(const char *dir, char *why, size_t size);

/* Detaches (lazily) the mount tree at path; 0 as well when nothing is
 * mounted there or path is missing. */
int ck_mount_detach(const char *path, ck_err *err);

#endif
