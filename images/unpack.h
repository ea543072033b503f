/*
 * unpack: one layer blob (tar, gzip or zstd compressed, detected from the
 * bytes) into a directory that overlayfs can use as a lower layer.
 *
 * The layer is written into a temporary sibling of dest and renamed to dest
 * only when it is complete and its uncompressed digest equals the diff id
 * the image config promises; on any failure the temporary tree is removed,
 * so dest either is a whole layer or does not exist.
 *
 * Safety: an entry whose name is absolute or holds a ".." component, a hard
 * link whose target does, and any entry that would be written through a
 * symlink (libarchive's SECURE_SYMLINKS) fail the whole layer; nothing is
 * written outside the temporary directory. Device nodes are skipped unless
 * allow_devices. Ownership, modes (setuid included), xattrs, hard links,
 * symlinks and times are kept.
 *
 * Whiteouts become overlayfs whiteouts: ".wh.<name>" a 0/0 character device
 * <name>, ".wh..wh..opq" the xattr trusted.overlay.opaque=y on its directory.
 */
#ifndef CK_IMAGES_UNPACK_H
#define CK_IMAGES_UNPACK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "images/content.h"

typedef struct ck_unpack_opts {
    bool allow_devices;
    const char *expected_diff_id; /* NULL: not checked */
} ck_unpack_opts;

/* On success diff_id_out (may be NULL) gets the sha256 of the uncompressed
 * tar and *size_out (may be NULL) the bytes of file content written. */
int ck_unpack_layer(const char *blob_path, const char *dest, const ck_unpack_opts *opts,
                    char diff_id_out[CK_DIGEST_BUF], uint64_t *size_out, ck_err *err);

/* A layer extracted into a temporary sibling of its destination and
 * checked against its diff id, not yet in place: a pull that streams a
 * layer while it downloads places it only once the blob's own digest is
 * verified too, and discards it otherwise. */
typedef struct ck_unpack_staged {
    char tmp[PATH_MAX];
    char dest[PATH_MAX];
    char diff_id[CK_DIGEST_BUF];
    uint64_t content_bytes;
} ck_unpack_staged;

/* Unpacks the layer read from fd until its end (a file or a stream: a
 * socket fed by a download) into staged->tmp; `what` names the layer in
 * messages. On failure nothing is left and *staged holds nothing. */
int ck_unpack_stage(int fd, const char *what, const char *dest, const ck_unpack_opts *opts, ck_unpack_staged *staged,
                    ck_err *err);
/* Writes the staged tree to disk and renames it to its destination, the
 * rename on disk too (another unpack of the same chain having placed it
 * first is fine: theirs stays). On failure the tree is removed. */
int ck_unpack_place(ck_unpack_staged *staged, ck_err *err);
/* Removes a staged tree that will not be placed. */
void ck_unpack_discard(ck_unpack_staged *staged);

/* Removes a directory tree without following symlinks; absent is fine. */
int ck_remove_tree(const char *path, ck_err *err);

#endif
