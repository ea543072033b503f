/*
 * fsusage: what ImageFsInfo reports. The kubelet's image GC and eviction
 * compare these numbers with the filesystem's capacity, so they count only
 * our own data: allocated blocks (st_blocks, so sparse files count what they
 * occupy) and inodes below a directory, each hard-linked inode once, never
 * crossing into another filesystem.
 */
#include <errno.h>
#include <fts.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "images/images.h"

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
