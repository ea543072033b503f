/*
 * fsusage: what ImageFsInfo reports. The kubelet's image GC and eviction
 * compare these numbers with the filesystem's capacity, so they count only
 * our own data: allocated blocks (st_blocks, so sparse files count what they
 * occupy) and inodes below a directory, each hard-linked inode once, never
 * crossing into another filesystem.
 *
 * The kubelet asks every few seconds, and the unpacked layers hold most of
 * the files, so a layer is measured once, when it is unpacked, and its
 * figures kept in the store (the layers table); ImageFsInfo sums those rows
 * and walks only the content store and whatever in layers/ is not a
 * recorded layer (a layer from before the table, measured once then
 * recorded; an unpack in flight; a stray file). Layers never share an
 * inode (hard links stay inside a layer), so the sum is what one walk of
 * layers/ would give. The writable container layers change all the time and
 * are still walked.
 */
#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "common/log.h"
#include "images/images_internal.h"
#include "store/store.h"

typedef struct inode_key {
    dev_t dev;
    ino_t ino;
} inode_key;

static int key_cmp(const void *a, const void *b)
{
    const inode_key *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino ? 1 : 0;
}

/* Hard-linked inodes are collected and counted once at the end. */
typedef struct linked {
    inode_key *keys;
    size_t len, cap;
} linked;

static int linked_add(linked *l, const struct stat *st)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        inode_key *k = realloc(l->keys, cap * sizeof(*k));
        if (k == NULL)
            return -1;
        l->keys = k;
        l->cap = cap;
    }
    l->keys[l->len++] = (inode_key){st->st_dev, st->st_ino};
    return 0;
}

static uint64_t linked_distinct(linked *l)
{
    if (l->len == 0)
        return 0;
    qsort(l->keys, l->len, sizeof(*l->keys), key_cmp);
    uint64_t n = 1;
    for (size_t i = 1; i < l->len; i++)
        if (key_cmp(&l->keys[i - 1], &l->keys[i]) != 0)
            n++;
    return n;
}

int ck_dir_usage(const char *dir, uint64_t *bytes, uint64_t *inodes, ck_err *err)
{
    *bytes = 0;
    *inodes = 0;
    struct stat top;
    if (lstat(dir, &top) < 0) {
        if (errno == ENOENT)
            return 0;
        return ck_err_set(err, CK_E_INTERNAL, errno, "disk usage of %s", dir);
    }
    char *paths[] = {(char *)dir, NULL};
    FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
    if (fts == NULL)
        return ck_err_set(err, CK_E_INTERNAL, errno, "disk usage of %s", dir);
    linked l = {0};
    uint64_t total = 0, count = 0, linked_bytes = 0;
    int rc = 0;
    FTSENT *e;
    while ((e = fts_read(fts)) != NULL) {
        if (e->fts_info == FTS_DP)
            continue; /* directories are counted on the way down */
        if (e->fts_info == FTS_NS || e->fts_info == FTS_ERR)
            continue; /* gone while we walked: a pull or remove in flight */
        const struct stat *st = e->fts_statp;
        if (st == NULL)
            continue;
        if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
            /* The bytes of a linked inode are shared: count them once per
             * link group, which the per-link share below approximates. */
            if (linked_add(&l, st) < 0) {
                rc = ck_err_oom(err, "disk usage");
                break;
            }
            linked_bytes += (uint64_t)st->st_blocks * 512 / st->st_nlink;
            continue;
        }
        total += (uint64_t)st->st_blocks * 512;
        count++;
    }
    fts_close(fts);
    if (rc == 0) {
        *bytes = total + linked_bytes;
        *inodes = count + linked_distinct(&l);
    }
    free(l.keys);
    return rc;
}

/* ---- layers: measured once, summed after ---------------------------------------------------- */

int ck_images_record_layer_usage(ck_images *im, const char *chain_id, uint64_t *bytes, uint64_t *inodes, ck_err *err)
{
    char dir[4400];
    ck_images_layer_dir(im, chain_id, dir, sizeof(dir));
    ck_layer_record rec = {.chain_id = (char *)chain_id};
    if (ck_dir_usage(dir, &rec.bytes, &rec.inodes, err) < 0 || ck_store_layer_put(im->store, &rec, err) < 0)
        return ck_err_wrap(err, "record the disk usage of layer %s", chain_id);
    if (bytes != NULL)
        *bytes = rec.bytes;
    if (inodes != NULL)
        *inodes = rec.inodes;
    return 0;
}

static int by_hex(const void *key, const void *elem)
{
    const ck_layer_record *r = elem;
    return strcmp(key, strlen(r->chain_id) > 7 ? r->chain_id + 7 : r->chain_id);
}

static bool is_chain_hex(const char *name)
{
    return strlen(name) == 64 && strspn(name, "0123456789abcdef") == 64;
}

/* A layer unpacked before its usage was recorded: measured once and
 * recorded, holding the store's lock shared so that a collection cannot
 * sweep it meanwhile (and leave a row for a layer that is gone). One swept
 * just before counts nothing. */
static int measure_unrecorded(ck_images *im, const char *hex, uint64_t *bytes, uint64_t *inodes, ck_err *err)
{
    *bytes = *inodes = 0;
    int hold = ck_images_hold(im, err);
    if (hold < 0)
        return -1;
    char chain[CK_DIGEST_BUF], dir[4400];
    snprintf(chain, sizeof(chain), "sha256:%s", hex);
    snprintf(dir, sizeof(dir), "%s/%s", im->layers_dir, hex);
    struct stat st;
    int rc = 0;
    if (lstat(dir, &st) == 0) {
        rc = ck_images_record_layer_usage(im, chain, bytes, inodes, err);
        if (rc == 0)
            ck_info("images", "measured layer %s once: %llu bytes, %llu inodes (recorded from now on)", chain,
                    (unsigned long long)*bytes, (unsigned long long)*inodes);
    }
    ck_images_unhold(hold);
    return rc;
}

/* layers/ itself, each recorded layer from its row, anything else walked
 * (and an unrecorded layer recorded). */
static int layers_usage(ck_images *im, uint64_t *bytes, uint64_t *inodes, ck_err *err)
{
    *bytes = 0;
    *inodes = 0;
    struct stat top;
    if (lstat(im->layers_dir, &top) < 0)
        return errno == ENOENT ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "disk usage of %s", im->layers_dir);
    ck_layer_record *rows = NULL;
    size_t n_rows = 0;
    if (ck_store_layer_list(im->store, &rows, &n_rows, err) < 0)
        return -1;
    DIR *d = opendir(im->layers_dir);
    if (d == NULL) {
        ck_layer_records_free(rows, n_rows);
        return ck_err_set(err, CK_E_INTERNAL, errno, "disk usage of %s", im->layers_dir);
    }
    uint64_t total = (uint64_t)top.st_blocks * 512, count = 1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        const ck_layer_record *row =
            is_chain_hex(e->d_name) ? bsearch(e->d_name, rows, n_rows, sizeof(*rows), by_hex) : NULL;
        uint64_t b = 0, i = 0;
        if (row != NULL) {
            b = row->bytes;
            i = row->inodes;
        } else if (is_chain_hex(e->d_name) && e->d_type == DT_DIR) {
            rc = measure_unrecorded(im, e->d_name, &b, &i, err);
        } else {
            char path[8300];
            snprintf(path, sizeof(path), "%s/%s", im->layers_dir, e->d_name);
            rc = ck_dir_usage(path, &b, &i, err);
        }
        total += b;
        count += i;
    }
    closedir(d);
    ck_layer_records_free(rows, n_rows);
    if (rc < 0)
        return -1;
    *bytes = total;
    *inodes = count;
    return 0;
}

int ck_images_fs_info(ck_images *im, ck_fs_usage *image_fs, ck_fs_usage *container_fs, ck_err *err)
{
    memset(image_fs, 0, sizeof(*image_fs));
    memset(container_fs, 0, sizeof(*container_fs));
    char content[4200];
    snprintf(content, sizeof(content), "%s/content", im->root);
    uint64_t b1, i1, b2, i2;
    if (ck_dir_usage(content, &b1, &i1, err) < 0 || layers_usage(im, &b2, &i2, err) < 0)
        return ck_err_wrap(err, "image filesystem usage");
    image_fs->timestamp_ns = ck_now_ns();
    snprintf(image_fs->mountpoint, sizeof(image_fs->mountpoint), "%s", im->root);
    image_fs->used_bytes = b1 + b2;
    image_fs->inodes_used = i1 + i2;
    if (ck_dir_usage(im->containers_dir, &container_fs->used_bytes, &container_fs->inodes_used, err) < 0)
        return ck_err_wrap(err, "container filesystem usage");
    container_fs->timestamp_ns = ck_now_ns();
    snprintf(container_fs->mountpoint, sizeof(container_fs->mountpoint), "%s", im->containers_dir);
    return 0;
}
