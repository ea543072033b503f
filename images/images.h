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
 * state store. Touches no file another process may be using. */
int ck_images_open(const ck_config *cfg, ck_store *store, ck_images **out, ck_err *err);
/* Makes this the collecting instance (the daemon, never a command-line
 * import running beside it) and deletes blobs, layers and temporary
 * downloads no image or live writer uses: what a crash or a failed pull
 * left. Later removes and failed pulls collect again. Nothing is collected
 * while a pull or an import runs in any process (<root>/images.lock). */
void ck_images_gc(ck_images *im);
void ck_images_free(ck_images *im);
/* A reload's new configuration: pulls that start after this use its
 * registries (cfg must stay valid until the daemon exits). */
void ck_images_set_config(ck_images *im, const ck_config *cfg);

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

/* ---- images ------------------------------------------------------------------------ */

typedef struct ck_auth ck_auth;
typedef bool (*ck_images_cancel_fn)(void *arg);

/* An image as the CRI and the containers domain see it. */
typedef struct ck_image {
    char *id; /* "sha256:<config digest hex>" */
    char **repo_tags;
    size_t n_repo_tags;
    char **repo_digests;
    size_t n_repo_digests;
    uint64_t size; /* config, manifest and compressed layers */
    bool pinned;   /* the configured pause image: never garbage-collected by the kubelet */
    /* from the image config */
    char *user; /* "" when unset */
    char **env;
    size_t n_env;
    char **entrypoint;
    size_t n_entrypoint;
    char **cmd;
    size_t n_cmd;
    char *workdir;     /* "" when unset */
    char *stop_signal; /* "" when unset */
    char **volumes;
    size_t n_volumes;
    char **label_keys, **label_values;
    size_t n_labels;
    /* unpacked layers, lowest first: absolute paths of <root>/layers/<chain-id> */
    char **layer_dirs;
    size_t n_layer_dirs;
    char *record_json; /* our whole record, for verbose status */
} ck_image;

void ck_image_free(ck_image *img);
void ck_images_free_list(ck_image **imgs, size_t n);

/* Pulls ref (normalized as the kubelet does), verifying every byte, and
 * records it. *id_out (free it) is the image id. auth may be NULL. */
int ck_images_pull(ck_images *im, const char *ref, const ck_auth *auth, ck_images_cancel_fn cancelled, void *cancel_arg,
                   char **id_out, ck_err *err);

/* Finds an image by id (with or without "sha256:"), unique id prefix, tag or
 * digest reference. CK_E_NOT_FOUND when there is none. */
int ck_images_get(ck_images *im, const char *name, ck_image **out, ck_err *err);

/* All images, or those name resolves to when name is not NULL/"". */
int ck_images_list(ck_images *im, const char *name, ck_image ***out, size_t *n, ck_err *err);

/* Removes what name names: a tag removes that tag only, and the image with
 * it when no other tag is left; an id or a digest reference removes the
 * image with all its names. Nothing there: 0. Unused blobs and layers are
 * deleted after. An image a mounted root filesystem uses is not removed
 * (CK_E_PRECONDITION). */
int ck_images_remove(ck_images *im, const char *name, ck_err *err);

/* Loads an OCI layout or docker-archive tarball (docker save) into the
 * store; *ids_out lists the image ids loaded (free each and the array). */
int ck_images_import(ck_images *im, const char *tarball, char ***ids_out, size_t *n, ck_err *err);

/* ---- root filesystems ---------------------------------------------------------------- */

/* Mounts the root filesystem of image (id, prefix or reference, as
 * ck_images_get takes) on target, an existing directory: read-only when
 * upper and work are NULL, else a writable overlay whose changes go to
 * upper (work: an empty directory on upper's filesystem). The image is in
 * use until ck_images_unmount_rootfs(target): removing it is refused. A
 * target that is already a mount point is only recorded (restart
 * recovery). id_out (may be NULL) gets the image id. */
int ck_images_mount_rootfs(ck_images *im, const char *image, const char *target, const char *upper, const char *work,
                           char *id_out, size_t id_size, ck_err *err);
/* For a pod with its own user namespace: the same, the layers seen through
 * idmapped mounts of that namespace (files of the host's root are the
 * container root's) and the upper dir given to the container's root (the
 * host ids its 0 maps to). idmap NULL: as above. */
typedef struct ck_rootfs_idmap {
    const char *userns; /* a pinned user namespace */
    unsigned root_uid, root_gid;
} ck_rootfs_idmap;
int ck_images_mount_rootfs_idmapped(ck_images *im, const char *image, const char *target, const char *upper,
                                    const char *work, const ck_rootfs_idmap *idmap, char *id_out, size_t id_size,
                                    ck_err *err);
/* Unmounts target (not mounted or absent is fine) and ends its use. */
int ck_images_unmount_rootfs(ck_images *im, const char *target, ck_err *err);

#endif
