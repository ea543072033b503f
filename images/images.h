/*
 * images: the image domain as the CRI handlers see it. It owns the content
 * store (<root>/content/sha256/<hex>, verified blobs), the unpacked layers
 * (<root>/layers/<chain-id>, one per chain id, shared by every image that
 * has the layer) and the image records in the state store (id = config
 * digest, references = tags and digest references, data = our JSON).
 *
 * Nothing here knows protobuf: handlers convert CRI messages into these
 * structs. Every call is safe from any worker thread.
 */
#ifndef CK_IMAGES_IMAGES_H
#define CK_IMAGES_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"

typedef struct ck_store ck_store;
typedef struct ck_images ck_images;

/* Opens the domain on cfg->root_dir (creates content/ and layers/) and the
 * state store. Removes temporary files a crash left behind. */
int ck_images_open(const ck_config *cfg, ck_store *store, ck_images **out, ck_err *err);
void ck_images_free(ck_images *im);

/* ---- ImageFsInfo -------------------------------------------------------- */

typedef struct ck_fs_usage {
    int64_t timestamp_ns;
    char mountpoint[4096];
    uint64_t used_bytes;  /* bytes of our own data below mountpoint */
    uint64_t inodes_used; /* inodes of our own data below mountpoint */
} ck_fs_usage;

/* Usage of the image filesystem (<root>, content and layers) and of the
 * container filesystem (<root>/containers: writable layers). */
int ck_images_fs_info(ck_images *im, ck_fs_usage *image_fs, ck_fs_usage *container_fs, ck_err *err);

/* Sums the allocated bytes and distinct inodes below dir (a missing dir is
 * empty). Exposed for tests. */
int ck_dir_usage(const char *dir, uint64_t *bytes, uint64_t *inodes, ck_err *err);

#endif
