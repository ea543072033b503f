/*
 * images: the domain object. It holds the paths of the content store and
 * the layer directory, the state store, and the configuration the registry
 * client reads (hosts, mirrors, credentials, timeouts).
 */
#include "images/images_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"

void ck_images_set_config(ck_images *im, const ck_config *cfg)
{
    atomic_store(&im->cfg, cfg);
}

int ck_images_open(const ck_config *cfg, ck_store *store, ck_images **out, ck_err *err)
{
    ck_images *im = calloc(1, sizeof(*im));
    if (im == NULL)
        return ck_err_oom(err, "image service");
    im->cfg = cfg;
    im->store = store;
    pthread_mutex_init(&im->lock, NULL);
    im->locks = ck_keylock_new();
    if (im->locks == NULL) {
        ck_images_free(im);
        return ck_err_oom(err, "image service locks");
    }
    snprintf(im->root, sizeof(im->root), "%s", cfg->root_dir);
    snprintf(im->lock_path, sizeof(im->lock_path), "%s/images.lock", cfg->root_dir);
    snprintf(im->layers_dir, sizeof(im->layers_dir), "%s/layers", cfg->root_dir);
    snprintf(im->containers_dir, sizeof(im->containers_dir), "%s/containers", cfg->root_dir);
    if (ck_mkdir_p(im->layers_dir, 0700, err) < 0 || ck_content_open(cfg->root_dir, &im->content, err) < 0) {
        ck_images_free(im);
        return ck_err_wrap(err, "open image service");
    }
    *out = im;
    return 0;
}

static int open_lock(const ck_images *im)
{
    return open(im->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int ck_images_hold(ck_images *im, ck_err *err)
{
    int fd = open_lock(im);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open the image store lock %s", im->lock_path);
    while (flock(fd, LOCK_SH) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return ck_err_set(err, CK_E_INTERNAL, e, "lock the image store (%s)", im->lock_path);
    }
    return fd;
}

int ck_images_try_hold_exclusive(ck_images *im)
{
    int fd = open_lock(im);
    if (fd < 0) {
        ck_warn("images", "garbage collection skipped: open %s: %s", im->lock_path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK)
            ck_warn("images", "garbage collection skipped: lock %s: %s", im->lock_path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void ck_images_unhold(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

void ck_images_free(ck_images *im)
{
    if (im == NULL)
        return;
    ck_content_free(im->content);
    ck_keylock_free(im->locks);
    ck_images_uses_free(im);
    pthread_mutex_destroy(&im->lock);
    free(im);
}

void ck_images_gc(ck_images *im)
{
    im->gc_enabled = true;
    ck_images_collect_garbage(im);
}

void ck_images_layer_dir(const ck_images *im, const char *chain_id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", im->layers_dir, chain_id + 7);
}
