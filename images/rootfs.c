/*
 * rootfs: an image's root filesystem for a container or a pod's pause
 * process, built from the unpacked layers (<root>/layers/<chain-id>) without
 * copying a byte:
 *  - writable: an overlay with every layer below (the top-most first in
 *    lowerdir) and the caller's upper and work directories;
 *  - read-only: an overlay of the layers alone, or a read-only bind mount
 *    when the image has a single layer (overlayfs wants two lower layers
 *    when there is no upper one).
 * The whiteouts unpack wrote are overlay whiteouts already, so the merged
 * tree is the image as its layers describe it.
 *
 * An image with a mounted root filesystem is in use: removing it is refused
 * (as CRI-O does) until every such rootfs is unmounted, so garbage
 * collection never deletes a layer below a live mount. The in-use table is
 * kept in memory, guarded by im->lock; a restarted daemon rebuilds it as its
 * pods and containers mount again, because mounting a target that is
 * already a mount point only records the use.
 *
 * A pod with its own user namespace gets the layers through idmapped
 * mounts (detached, handed to overlayfs by descriptor: nothing more is
 * mounted than the overlay itself), since overlayfs cannot be idmapped
 * itself but takes idmapped layers (kernel 5.19 and later).
 *
 * Overlay options must fit in one page: when the layers' full paths do not,
 * they are passed as /proc/self/fd/N of directories held open for the call.
 */
#include "images/images_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

enum { MOUNT_DATA_MAX = 4000 };

/* ---- the in-use table ------------------------------------------------------ */

static int use_add(ck_images *im, const char *target, const char *image_id, ck_err *err)
{
    for (size_t i = 0; i < im->n_uses; i++)
        if (strcmp(im->uses[i].target, target) == 0) {
            snprintf(im->uses[i].image_id, sizeof(im->uses[i].image_id), "%s", image_id);
            return 0;
        }
    if (im->n_uses == im->cap_uses) {
        size_t cap = im->cap_uses ? im->cap_uses * 2 : 16;
        ck_rootfs_use *n = realloc(im->uses, cap * sizeof(*n));
        if (n == NULL)
            return ck_err_oom(err, "rootfs table");
        im->uses = n;
        im->cap_uses = cap;
    }
    ck_rootfs_use *u = &im->uses[im->n_uses];
    u->target = strdup(target);
    if (u->target == NULL)
        return ck_err_oom(err, "rootfs table");
    snprintf(u->image_id, sizeof(u->image_id), "%s", image_id);
    im->n_uses++;
    return 0;
}

static void use_remove(ck_images *im, const char *target)
{
    for (size_t i = 0; i < im->n_uses; i++)
        if (strcmp(im->uses[i].target, target) == 0) {
            free(im->uses[i].target);
            im->uses[i] = im->uses[--im->n_uses];
            return;
        }
}

const char *ck_images_in_use_by(ck_images *im, const char *image_id)
{
    for (size_t i = 0; i < im->n_uses; i++)
        if (strcmp(im->uses[i].image_id, image_id) == 0)
            return im->uses[i].target;
    return NULL;
}

void ck_images_uses_free(ck_images *im)
{
    for (size_t i = 0; i < im->n_uses; i++)
        free(im->uses[i].target);
    free(im->uses);
    im->uses = NULL;
    im->n_uses = im->cap_uses = 0;
}

/* ---- mounting ------------------------------------------------------------------ */

/* 1 when path is the root of a mount, 0 when not, -1 when it cannot be
 * told (err filled). */
static int is_mount_root(const char *path, ck_err *err)
{
    struct statx sx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
        return ck_err_set(err, errno == ENOENT ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "stat %s", path);
    if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    /* An old kernel: a mount root sits on another device than its parent
     * (true for overlays; a bind mount of the same filesystem is missed). */
    char parent[4200];
    snprintf(parent, sizeof(parent), "%s/..", path);
    struct stat a, b;
    if (stat(path, &a) < 0 || stat(parent, &b) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s", path);
    return a.st_dev != b.st_dev;
}

/* Paths the overlay options cannot carry unescaped. */
static int check_option_path(const char *what, const char *path, ck_err *err)
{
    if (path[0] != '/' || strpbrk(path, ",:\\") != NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "%s %s must be an absolute path without ',', ':' or '\\'", what, path);
    return 0;
}

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* A detached copy of dir's mount whose ids map through the user namespace
 * userns (MOUNT_ATTR_IDMAP, plus extra attributes): the host's 0 on disk is
 * the namespace's 0. Nothing is attached anywhere: an overlay takes it as a
 * layer by /proc/self/fd/N, and holds its own reference once mounted. */
static int idmapped_tree(const char *dir, int userns, uint64_t extra, ck_err *err)
{
    int tree = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open_tree %s", dir);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | extra, .userns_fd = (uint64_t)userns};
    if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
        int e = errno;
        close(tree);
        return ck_err_set(err, CK_E_INTERNAL, e, "idmapped mount of %s", dir);
    }
    return tree;
}

/* "lowerdir=top:...:bottom[,upperdir=U,workdir=W]" in data; with by_fd the
 * layers are /proc/self/fd/N of descriptors opened into fds (idmapped
 * through userns when it is not -1). */
static int overlay_data(const ck_image *img, const char *upper, const char *work, bool by_fd, int userns, int *fds,
                        char *data, size_t size, ck_err *err)
{
    size_t len = (size_t)snprintf(data, size, "lowerdir=");
    for (size_t k = 0; k < img->n_layer_dirs; k++) {
        const char *dir = img->layer_dirs[img->n_layer_dirs - 1 - k];
        char fdpath[64];
        if (by_fd) {
            fds[k] = userns >= 0 ? idmapped_tree(dir, userns, 0, err) : open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fds[k] < 0)
                return userns >= 0 ? -1 : ck_err_set(err, CK_E_INTERNAL, errno, "open layer %s", dir);
            snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[k]);
            dir = fdpath;
        }
        len += (size_t)snprintf(data + len, len < size ? size - len : 0, "%s%s", k > 0 ? ":" : "", dir);
    }
    if (upper != NULL)
        len += (size_t)snprintf(data + len, len < size ? size - len : 0, ",upperdir=%s,workdir=%s", upper, work);
    if (len >= size)
        return ck_err_set(err, CK_E_EXHAUSTED, 0, "image %s has too many layers (%zu) for one overlay mount", img->id,
                          img->n_layer_dirs);
    return 0;
}

static int mount_overlay(const ck_image *img, const char *target, const char *upper, const char *work, int userns,
                         ck_err *err)
{
    char data[MOUNT_DATA_MAX];
    ck_err first;
    ck_err_clear(&first);
    unsigned long flags = upper == NULL ? MS_RDONLY : 0;
    if (userns < 0 && overlay_data(img, upper, work, false, -1, NULL, data, sizeof(data), &first) == 0) {
        if (mount("overlay", target, "overlay", flags, data) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "mount overlay of image %s on %s", img->id, target);
        return 0;
    }
    int *fds = malloc(img->n_layer_dirs * sizeof(int));
    if (fds == NULL)
        return ck_err_oom(err, "overlay layers");
    for (size_t i = 0; i < img->n_layer_dirs; i++)
        fds[i] = -1;
    int rc = overlay_data(img, upper, work, true, userns, fds, data, sizeof(data), err);
    if (rc == 0 && mount("overlay", target, "overlay", flags, data) < 0)
        rc = ck_err_set(err, CK_E_INTERNAL, errno, "mount overlay of image %s (%zu layers) on %s", img->id,
                        img->n_layer_dirs, target);
    close_fds(fds, img->n_layer_dirs);
    free(fds);
    return rc;
}

static int mount_readonly_bind(const ck_image *img, const char *target, int userns, ck_err *err)
{
    const char *layer = img->layer_dirs[0];
    if (userns >= 0) {
        int tree = idmapped_tree(layer, userns, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
        if (tree < 0)
            return -1;
        int rc = 0;
        if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            rc = ck_err_set(err, CK_E_INTERNAL, errno, "attach the idmapped %s on %s", layer, target);
        close(tree);
        return rc;
    }
    if (mount(layer, target, NULL, MS_BIND, NULL) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "bind %s on %s", layer, target);
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
        int e = errno;
        umount2(target, MNT_DETACH);
        return ck_err_set(err, CK_E_INTERNAL, e, "make %s read-only", target);
    }
    return 0;
}

/* With an idmap, the layers are idmapped and the upper dir (new, empty)
 * becomes the container root's: what it writes is stored as that host id,
 * and copy-up keeps the ids the idmapped layers show. */
static int do_mount(const ck_image *img, const char *target, const char *upper, const char *work,
                    const ck_rootfs_idmap *idmap, ck_err *err)
{
    if (img->n_layer_dirs == 0)
        return ck_err_set(err, CK_E_INVALID, 0, "image %s has no layers to mount", img->id);
    for (size_t i = 0; i < img->n_layer_dirs; i++)
        if (access(img->layer_dirs[i], F_OK) < 0)
            return ck_err_set(err, CK_E_NOT_FOUND, errno, "layer %s of image %s", img->layer_dirs[i], img->id);
    int userns = -1;
    if (idmap != NULL) {
        userns = open(idmap->userns, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "open user namespace %s", idmap->userns);
        if (upper != NULL && chown(upper, idmap->root_uid, idmap->root_gid) < 0) {
            int e = errno;
            close(userns);
            return ck_err_set(err, CK_E_INTERNAL, e, "give %s to the container's root", upper);
        }
    }
    int rc = upper == NULL && img->n_layer_dirs == 1 ? mount_readonly_bind(img, target, userns, err)
                                                     : mount_overlay(img, target, upper, work, userns, err);
    if (userns >= 0)
        close(userns);
    return rc;
}

int ck_images_mount_rootfs(ck_images *im, const char *image, const char *target, const char *upper, const char *work,
                           char *id_out, size_t id_size, ck_err *err)
{
    return ck_images_mount_rootfs_idmapped(im, image, target, upper, work, NULL, id_out, id_size, err);
}

int ck_images_mount_rootfs_idmapped(ck_images *im, const char *image, const char *target, const char *upper,
                                    const char *work, const ck_rootfs_idmap *idmap, char *id_out, size_t id_size,
                                    ck_err *err)
{
    if ((upper == NULL) != (work == NULL))
        return ck_err_set(err, CK_E_INVALID, 0, "mount rootfs on %s: upper and work go together", target);
    if (check_option_path("rootfs target", target, err) < 0 ||
        (upper != NULL &&
         (check_option_path("upper dir", upper, err) < 0 || check_option_path("work dir", work, err) < 0)))
        return -1;
    ck_image *img = NULL;
    /* Found and marked in use under the lock, so a removal either happens
     * before (and we fail with NOT_FOUND) or is refused. */
    pthread_mutex_lock(&im->lock);
    int rc = ck_images_get(im, image, &img, err);
    if (rc == 0)
        rc = use_add(im, target, img->id, err);
    pthread_mutex_unlock(&im->lock);
    if (rc < 0) {
        ck_image_free(img);
        return ck_err_wrap(err, "mount rootfs of %s", image);
    }
    int mounted = is_mount_root(target, err);
    if (mounted == 0)
        rc = do_mount(img, target, upper, work, idmap, err);
    else if (mounted < 0)
        rc = -1;
    if (rc == 0 && id_out != NULL)
        snprintf(id_out, id_size, "%s", img->id);
    if (rc < 0) {
        pthread_mutex_lock(&im->lock);
        use_remove(im, target);
        pthread_mutex_unlock(&im->lock);
        ck_err_wrap(err, "mount rootfs of %s", image);
    } else {
        ck_debug("images", "rootfs of %s %s on %s (%s)", img->id, mounted ? "already mounted" : "mounted", target,
                 upper != NULL ? "writable" : "read-only");
    }
    ck_image_free(img);
    return rc;
}

int ck_images_unmount_rootfs(ck_images *im, const char *target, ck_err *err)
{
    int rc = 0;
    /* Stacked mounts (a mount repeated by a crash and a recovery) all go. */
    for (int i = 0; i < 16; i++) {
        if (umount2(target, UMOUNT_NOFOLLOW) == 0)
            continue;
        if (errno == EBUSY && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
            continue;
        if (errno != EINVAL && errno != ENOENT)
            rc = ck_err_set(err, CK_E_INTERNAL, errno, "unmount rootfs %s", target);
        break;
    }
    if (rc == 0) {
        pthread_mutex_lock(&im->lock);
        use_remove(im, target);
        pthread_mutex_unlock(&im->lock);
    }
    return rc;
}
