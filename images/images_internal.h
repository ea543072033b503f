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
    pthread_rwlock_t gc;  /* pulls read-hold it; garbage collection write-holds it */
    bool gc_enabled;      /* only the daemon collects: a command-line import must not race its pulls */
    char root[4096];
    char layers_dir[4200];
    char containers_dir[4200];
    ck_rootfs_use *uses; /* mounted root filesystems, guarded by lock */
    size_t n_uses, cap_uses;
};

int ck_images_mkdir_p(const char *path, ck_err *err);
/* Deletes blobs and layers no record mentions, unless a pull is in flight. */
void ck_images_collect_garbage(ck_images *im);
/* rootfs.c: a mount target using image_id, or NULL; caller holds lock. */
const char *ck_images_in_use_by(ck_images *im, const char *image_id);
void ck_images_uses_free(ck_images *im);

#endif
