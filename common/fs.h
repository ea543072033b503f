/*
 * fs: file-system helpers every domain needs.
 */
#ifndef CK_COMMON_FS_H
#define CK_COMMON_FS_H

#include "common/err.h"

/* Removes path and everything below it, never following symlinks and never
 * crossing into another mount (a leftover bind mount is reported, not
 * emptied). A missing path is success. */
int ck_rm_rf(const char *path, ck_err *err);

/* mkdir -p: missing parents are made 0755, path itself with mode (an
 * existing one is left as it is, but must be a directory). */
int ck_mkdir_p(const char *path, unsigned mode, ck_err *err);

/* Copies what directory src holds into directory dst (open directory
 * descriptors; dst should be empty), never following a link: directories,
 * regular files and symlinks with their owners, modes, extended attributes
 * and times; hard links within src stay links, holes stay holes; devices,
 * FIFOs and sockets are left out (common/copy.c). */
int ck_copy_dir_contents(int src, int dst, ck_err *err);

/* Writes a file whole: temp file, fsync, rename. */
int ck_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode, ck_err *err);
/* The same without the fsync, for a file nothing reads after a reboot (what
 * a pod's containers bind-mount, a pause's bundle: the pod ends with the
 * boot). Readers still never see half a file (the rename), and a daemon
 * killed after it returned still finds it whole (the page cache outlives
 * the process); only the wait for the disk goes, a few milliseconds each
 * on a pod start. */
int ck_write_file_for_this_boot(const char *path, const char *data, size_t len, unsigned mode, ck_err *err);
/* Replaces the text of the existing file path in place: the same inode, so
 * what bind-mounted it sees the new text. Not atomic: only for a file
 * nobody reads yet. */
int ck_rewrite_file(const char *path, const char *data, size_t len, ck_err *err);

#endif
