/*
 * user: the identity an image's USER asks for ("", "uid", "uid:gid",
 * "name", "name:group", ...), resolved as Docker and containerd do against
 * the image's own /etc/passwd and /etc/group. The files are read inside the
 * mounted rootfs with openat2(RESOLVE_IN_ROOT), so a symlink in an image can
 * never make the daemon read the host's files.
 */
#ifndef CK_OCI_USER_H
#define CK_OCI_USER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum { CK_OCI_MAX_GROUPS = 32 };

typedef struct ck_oci_user {
    uint32_t uid, gid;
    uint32_t additional_gids[CK_OCI_MAX_GROUPS]; /* groups listing the user by name */
    size_t n_additional_gids;
} ck_oci_user;

/* "" is root. A numeric uid needs no passwd entry (its gid comes from one
 * when there is, else 0); a name must be in passwd, a group name in group
 * (CK_E_INVALID naming what is missing). */
int ck_oci_resolve_user(const char *rootfs, const char *user, ck_oci_user *out, ck_err *err);

/* Opens rel inside root (a directory fd) with openat2's RESOLVE_IN_ROOT
 * (symlinks, absolute or "..", never lead out of root), falling back to
 * ck_oci_open_in_root_walk where openat2 is missing. -1 with errno. */
int ck_oci_open_in_root(int root, const char *rel, int flags);

/* Opens rel inside root (a directory fd) as openat2's RESOLVE_IN_ROOT
 * would, walking by hand: the fallback where openat2 is missing (kernels
 * before 5.6, valgrind), exposed so the tests run it everywhere. -1 with
 * errno. */
int ck_oci_open_in_root_walk(int root, const char *rel, int flags);

#endif
