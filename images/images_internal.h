/* images_internal: the domain object's insides, shared by the images/ files. */
#ifndef CK_IMAGES_INTERNAL_H
#define CK_IMAGES_INTERNAL_H

#include <pthread.h>

#include "common/keylock.h"
#include "images/content.h"
#include "images/images.h"

/* A mounted root filesystem and the image below it (see rootfs.c). */
typedef struct ck_rootfs_use {
    char *target;
    char image_id[80];
} ck_rootfs_use;

struct ck_images {
    /* The configuration in force; swapped by a reload (registries, mirrors,
     * credentials apply to the next pull). Configurations stay valid until exit. */
    const ck_config *_Atomic cfg;
    ck_store *store;
    ck_content *content;
    ck_keylock *locks;    /* digests being downloaded, chain ids being unpacked, refs being pulled */
    pthread_mutex_t lock; /* image records: put/remove consistency */
    bool gc_enabled;      /* only the daemon collects; a command-line import leaves its garbage to it */
    char root[4096];
    char lock_path[4200]; /* <root>/images.lock: see ck_images_hold */
    char layers_dir[4200];
    char containers_dir[4200];
    ck_rootfs_use *uses; /* mounted root filesystems, guarded by lock */
    size_t n_uses, cap_uses;
};

/* The store's cross-process lock, an flock on <root>/images.lock: every
 * pull and import (in the daemon or a `cricket image import` beside it)
 * holds it shared from its first blob to its record; garbage collection and
 * the clean-up of content/ingest hold it exclusive, and only when they get
 * it at once. So nothing is collected while any process has blobs or
 * layers it has not recorded yet. Each holder opens the file itself (flock
 * belongs to the open file, so two threads never share a hold). Returns the
 * descriptor to pass to ck_images_unhold, or -1 with err. */
int ck_images_hold(ck_images *im, ck_err *err);
/* The exclusive hold, or -1 when any process holds the lock (or it cannot
 * be opened, logged). */
int ck_images_try_hold_exclusive(ck_images *im);
void ck_images_unhold(int fd);
/* Deletes blobs, layers and unfinished downloads no record or live writer
 * owns, unless a pull or an import is in flight in any process. */
void ck_images_collect_garbage(ck_images *im);
/* The directory of the unpacked layer chain_id ("sha256:<hex>"), whether
 * or not it exists. */
void ck_images_layer_dir(const ck_images *im, const char *chain_id, char *buf, size_t cap);
/* fsusage.c: measures the unpacked layer chain_id ("sha256:<hex>") and
 * records its bytes and inodes in the store, for ImageFsInfo; bytes and
 * inodes (may be NULL) get the figures. */
int ck_images_record_layer_usage(ck_images *im, const char *chain_id, uint64_t *bytes, uint64_t *inodes, ck_err *err);
/* rootfs.c: a mount target using image_id, or NULL; caller holds lock. */
const char *ck_images_in_use_by(ck_images *im, const char *image_id);
void ck_images_uses_free(ck_images *im);

#endif
