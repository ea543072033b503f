/*
 * unpack: two libarchive readers in a chain. The outer one (format "raw",
 * every filter) turns the blob into the uncompressed tar stream; our read
 * callback hashes that stream on its way to the inner reader (format tar),
 * so the diff id is verified in the same single pass that extracts. Entries
 * are checked and re-rooted under the temporary directory by us, then
 * written by archive_write_disk with SECURE_SYMLINKS and SECURE_NODOTDOT.
 * Whiteouts are collected and applied after extraction, through directory
 * fds opened with O_NOFOLLOW, so they cannot be steered outside either.
 */
#include "images/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/log.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

typedef struct stream {
    struct archive *raw;
    EVP_MD_CTX *md;
    uint64_t total;
    int failed; /* the raw reader reported an error */
    char errbuf[512];
} stream;

static la_ssize_t stream_read(struct archive *a, void *data, const void **buf)
{
    (void)a;
    stream *s = data;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(s->raw, buf, &size, &off);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r != ARCHIVE_OK) {
        s->failed = 1;
        snprintf(s->errbuf, sizeof(s->errbuf), "%s", archive_error_string(s->raw));
        return -1;
    }
    EVP_DigestUpdate(s->md, *buf, size);
    s->total += size;
    return (la_ssize_t)size;
}

/* ---- whiteouts, applied after extraction ------------------------------------ */

typedef struct whiteout {
    char *path; /* relative to the layer root: the directory (opaque) or the removed name */
    bool opaque;
    struct whiteout *next;
} whiteout;

static void whiteouts_free(whiteout *w)
{
    while (w != NULL) {
        whiteout *n = w->next;
        free(w->path);
        free(w);
        w = n;
    }
}

/* Opens (creating when missing) the directory rel below rootfd, never
 * following a symlink. rel "" is the root itself. */
static int open_dir_beneath(int rootfd, const char *rel, ck_err *err)
{
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "dup");
    _cleanup_free_ char *copy = strdup(rel);
    if (copy == NULL) {
        close(fd);
        return ck_err_oom(err, "path");
    }
    char *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
        if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            return ck_err_set(err, CK_E_INTERNAL, e, "whiteout: create directory %s", rel);
        }
        int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (next < 0)
            return ck_err_set(err, CK_E_INVALID, e, "whiteout under \"%s\" goes through a symlink or non-directory",
                              rel);
        fd = next;
    }
    return fd;
}

static int apply_whiteout(int rootfd, const whiteout *w, ck_err *err)
{
    _cleanup_free_ char *dir = strdup(w->path);
    if (dir == NULL)
        return ck_err_oom(err, "path");
    const char *name = NULL;
    if (!w->opaque) {
        char *slash = strrchr(dir, '/');
        name = slash != NULL ? slash + 1 : dir;
        if (slash != NULL)
            *slash = '\0';
        else
            dir[0] = '\0';
        if (name == dir) {
            /* top-level: name points into dir, which we just emptied */
            name = w->path;
        }
    }
    _cleanup_close_ int fd = open_dir_beneath(rootfd, dir, err);
    if (fd < 0)
        return -1;
    if (w->opaque) {
        if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "mark %s opaque", w->path);
        return 0;
    }
    if (mknodat(fd, name, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "whiteout %s", w->path);
    return 0;
}

/* ---- entry checks -------------------------------------------------------------- */

/* Strips "./" and trailing slashes into out; refuses absolute paths and ".."
 * components. Returns 1 for the root itself ("." or ""), 0 for a normal
 * name, -1 when refused. */
static int clean_name(const char *name, char *out, size_t cap, const char *what, ck_err *err)
{
    if (name == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "layer has an entry without a %s", what);
    if (name[0] == '/')
        return ck_err_set(err, CK_E_INVALID, 0, "layer entry %s \"%.200s\" is an absolute path", what, name);
    size_t o = 0;
    const char *p = name;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return ck_err_set(err, CK_E_INVALID, 0, "layer entry %s \"%.200s\" escapes the layer (..)", what, name);
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o + n + 2 > cap)
                return ck_err_set(err, CK_E_INVALID, 0, "layer entry %s too long", what);
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p = end;
    }
    out[o] = '\0';
    return o == 0 ? 1 : 0;
}

static int add_whiteout(whiteout **list, const char *clean, ck_err *err)
{
    const char *slash = strrchr(clean, '/');
    const char *base = slash != NULL ? slash + 1 : clean;
    size_t dirlen = slash != NULL ? (size_t)(slash - clean) : 0;
    whiteout *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ck_err_oom(err, "whiteout");
    w->opaque = strcmp(base, WH_OPAQUE) == 0;
    if (w->opaque) {
        w->path = strndup(clean, dirlen);
    } else {
        const char *target = base + strlen(WH_PREFIX);
        if (target[0] == '\0' || strcmp(target, ".") == 0 || strcmp(target, "..") == 0) {
            free(w);
            return ck_err_set(err, CK_E_INVALID, 0, "layer has a malformed whiteout \"%.200s\"", clean);
        }
        if (asprintf(&w->path, "%.*s%s%s", (int)dirlen, clean, dirlen ? "/" : "", target) < 0)
            w->path = NULL;
    }
    if (w->path == NULL) {
        free(w);
        return ck_err_oom(err, "whiteout");
    }
    w->next = *list;
    *list = w;
    return 0;
}

/* ---- extraction --------------------------------------------------------------- */

typedef struct unpacker {
    struct archive *tar;
    struct archive *disk;
    stream s;
    char root[PATH_MAX]; /* realpath of the temporary directory */
    const ck_unpack_opts *opts;
    whiteout *whiteouts;
    uint64_t content_bytes;
    unsigned skipped_devices;
} unpacker;

/* The errno behind libarchive's last error when it is an operating system
 * one; libarchive reports format trouble as EILSEQ and misuse as EINVAL
 * (its private ARCHIVE_ERRNO_FILE_FORMAT and _PROGRAMMER),
 * whose strerror texts would only mislead after its own message. */
static int os_errno(struct archive *a)
{
    int e = archive_errno(a);
    return e > 0 && e != EILSEQ && e != EINVAL ? e : 0;
}

static int copy_data(unpacker *u, const char *name, ck_err *err)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(u->tar, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r != ARCHIVE_OK)
            return ck_err_set(err, CK_E_INVALID, 0, "layer entry %s: read: %s", name,
                              u->s.failed ? u->s.errbuf : archive_error_string(u->tar));
        if (archive_write_data_block(u->disk, buf, size, off) != ARCHIVE_OK)
            return ck_err_set(err, CK_E_INTERNAL, os_errno(u->disk), "layer entry %s: write: %s", name,
                              archive_error_string(u->disk));
        u->content_bytes += size;
    }
}

static int extract_entry(unpacker *u, struct archive_entry *e, ck_err *err)
{
    char clean[PATH_MAX], full[PATH_MAX * 2];
    int r = clean_name(archive_entry_pathname(e), clean, sizeof(clean), "path", err);
    if (r < 0)
        return -1;
    if (r == 1)
        return 0; /* the layer root itself: its metadata is ours */
    const char *base = strrchr(clean, '/');
    base = base != NULL ? base + 1 : clean;
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return add_whiteout(&u->whiteouts, clean, err);
    mode_t type = archive_entry_filetype(e);
    if ((type == AE_IFCHR || type == AE_IFBLK) && !u->opts->allow_devices) {
        u->skipped_devices++;
        return 0;
    }
    snprintf(full, sizeof(full), "%s/%s", u->root, clean);
    archive_entry_set_pathname(e, full);
    const char *link = archive_entry_hardlink(e);
    if (link != NULL) {
        char lclean[PATH_MAX], lfull[PATH_MAX * 2];
        int lr = clean_name(link, lclean, sizeof(lclean), "hard link target", err);
        if (lr < 0)
            return -1;
        if (lr == 1)
            return ck_err_set(err, CK_E_INVALID, 0, "hard link %s points at the layer root", clean);
        snprintf(lfull, sizeof(lfull), "%s/%s", u->root, lclean);
        archive_entry_set_hardlink(e, lfull);
    }
    r = archive_write_header(u->disk, e);
    if (r < ARCHIVE_WARN)
        return ck_err_set(err, CK_E_INVALID, os_errno(u->disk), "layer entry %s: %s", clean,
                          archive_error_string(u->disk));
    if (r == ARCHIVE_WARN)
        ck_debug("images", "layer entry %s: %s", clean, archive_error_string(u->disk));
    if (archive_entry_size(e) > 0 && link == NULL && copy_data(u, clean, err) < 0)
        return -1;
    r = archive_write_finish_entry(u->disk);
    if (r < ARCHIVE_WARN)
        return ck_err_set(err, CK_E_INTERNAL, os_errno(u->disk), "layer entry %s: finish: %s", clean,
                          archive_error_string(u->disk));
    return 0;
}

static int extract_all(unpacker *u, ck_err *err)
{
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(u->tar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return ck_err_set(err, CK_E_INVALID, 0, "layer is not a valid tar: %s",
                              u->s.failed ? u->s.errbuf : archive_error_string(u->tar));
        if (extract_entry(u, e, err) < 0)
            return -1;
    }
    if (archive_write_close(u->disk) != ARCHIVE_OK)
        return ck_err_set(err, CK_E_INTERNAL, os_errno(u->disk), "finish layer: %s", archive_error_string(u->disk));
    /* Hash what the tar reader left unread (the end-of-archive padding). */
    const void *buf;
    la_ssize_t n;
    while ((n = stream_read(NULL, &u->s, &buf)) > 0)
        ;
    if (n < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "layer: decompress: %s", u->s.errbuf);
    return 0;
}

static int apply_whiteouts(unpacker *u, ck_err *err)
{
    _cleanup_close_ int rootfd = open(u->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open %s", u->root);
    for (whiteout *w = u->whiteouts; w != NULL; w = w->next)
        if (apply_whiteout(rootfd, w, err) < 0)
            return -1;
    return 0;
}

static int open_readers(unpacker *u, int fd, const char *what, ck_err *err)
{
    u->s.raw = archive_read_new();
    u->tar = archive_read_new();
    u->disk = archive_write_disk_new();
    u->s.md = EVP_MD_CTX_new();
    if (u->s.raw == NULL || u->tar == NULL || u->disk == NULL || u->s.md == NULL ||
        EVP_DigestInit_ex(u->s.md, EVP_sha256(), NULL) != 1)
        return ck_err_oom(err, "layer readers");
    archive_read_support_filter_all(u->s.raw);
    archive_read_support_format_raw(u->s.raw);
    if (archive_read_open_fd(u->s.raw, fd, (size_t)128 * 1024) != ARCHIVE_OK)
        return ck_err_set(err, CK_E_INVALID, os_errno(u->s.raw), "open layer %s: %s", what,
                          archive_error_string(u->s.raw));
    struct archive_entry *e;
    if (archive_read_next_header(u->s.raw, &e) != ARCHIVE_OK)
        return ck_err_set(err, CK_E_INVALID, 0, "layer %s: %s", what, archive_error_string(u->s.raw));
    archive_read_support_format_tar(u->tar);
    if (archive_read_open(u->tar, &u->s, NULL, stream_read, NULL) != ARCHIVE_OK)
        return ck_err_set(err, CK_E_INVALID, 0, "layer is not a tar: %s",
                          u->s.failed ? u->s.errbuf : archive_error_string(u->tar));
    int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (geteuid() == 0)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(u->disk, flags);
    return 0;
}

static void close_readers(unpacker *u)
{
    if (u->tar != NULL)
        archive_read_free(u->tar);
    if (u->s.raw != NULL)
        archive_read_free(u->s.raw);
    if (u->disk != NULL)
        archive_write_free(u->disk);
    EVP_MD_CTX_free(u->s.md);
    whiteouts_free(u->whiteouts);
}

static int finish_digest(unpacker *u, const ck_unpack_opts *opts, char out[CK_DIGEST_BUF], ck_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(u->s.md, md, &len);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < len; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[7 + 2 * len] = '\0';
    if (opts->expected_diff_id != NULL && strcmp(opts->expected_diff_id, out) != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "layer's uncompressed digest %s is not the diff id %s of the config",
                          out, opts->expected_diff_id);
    return 0;
}

int ck_unpack_stage(int fd, const char *what, const char *dest, const ck_unpack_opts *opts, ck_unpack_staged *staged,
                    ck_err *err)
{
    static const ck_unpack_opts defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    memset(staged, 0, sizeof(*staged));
    if ((size_t)snprintf(staged->dest, sizeof(staged->dest), "%s", dest) >= sizeof(staged->dest) ||
        (size_t)snprintf(staged->tmp, sizeof(staged->tmp), "%s.tmp-XXXXXX", dest) >= sizeof(staged->tmp)) {
        staged->tmp[0] = '\0';
        return ck_err_set(err, CK_E_INVALID, 0, "layer path too long: %s", dest);
    }
    if (mkdtemp(staged->tmp) == NULL) {
        int e = errno;
        staged->tmp[0] = '\0';
        return ck_err_set(err, CK_E_INTERNAL, e, "create a temporary directory for %s", dest);
    }
    unpacker u = {.opts = opts};
    int rc = -1;
    if (realpath(staged->tmp, u.root) == NULL)
        ck_err_set(err, CK_E_INTERNAL, errno, "resolve %s", staged->tmp);
    else if (open_readers(&u, fd, what, err) == 0 && extract_all(&u, err) == 0 && apply_whiteouts(&u, err) == 0 &&
             finish_digest(&u, opts, staged->diff_id, err) == 0)
        rc = 0;
    if (u.skipped_devices > 0)
        ck_warn("images", "layer %s: skipped %u device node(s) (not allowed from images)", what, u.skipped_devices);
    close_readers(&u);
    if (rc == 0 && chmod(staged->tmp, 0755) < 0)
        rc = ck_err_set(err, CK_E_INTERNAL, errno, "chmod %s", staged->tmp);
    if (rc < 0) {
        ck_unpack_discard(staged);
        return -1;
    }
    staged->content_bytes = u.content_bytes;
    return 0;
}

/* Writes every file of the staged tree to disk. One syncfs for the whole
 * tree: a layer holds thousands of files, and an fsync each would cost far
 * more. It flushes whatever else is dirty on that filesystem too. */
static int sync_tree(const char *tmp, const char *dest, ck_err *err)
{
    _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "layer %s: write its files to disk", dest);
    return 0;
}

/* The rename is on disk once the directory that holds it is. */
static int sync_parent(const char *dest, ck_err *err)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", dest);
    char *slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent)
        return 0;
    *slash = '\0';
    _cleanup_close_ int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "layer %s: write its directory entry to disk", dest);
    return 0;
}

int ck_unpack_place(ck_unpack_staged *staged, ck_err *err)
{
    /* A placed tree is a layer this node has, whatever the store says: its
     * files reach the disk before it is placed, so a power cut cannot leave
     * a layer whose files are empty (the image's record comes after). */
    if (sync_tree(staged->tmp, staged->dest, err) < 0) {
        ck_unpack_discard(staged);
        return -1;
    }
    int rc = 0;
    if (rename(staged->tmp, staged->dest) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            rc = ck_err_set(err, CK_E_INTERNAL, errno, "place layer %s", staged->dest);
        ck_unpack_discard(staged); /* another unpack of the same chain won: keep theirs */
    } else {
        rc = sync_parent(staged->dest, err);
    }
    staged->tmp[0] = '\0';
    return rc;
}

void ck_unpack_discard(ck_unpack_staged *staged)
{
    if (staged->tmp[0] != '\0')
        ck_remove_tree(staged->tmp, NULL);
    staged->tmp[0] = '\0';
}

int ck_unpack_layer(const char *blob_path, const char *dest, const ck_unpack_opts *opts,
                    char diff_id_out[CK_DIGEST_BUF], uint64_t *size_out, ck_err *err)
{
    _cleanup_close_ int fd = open(blob_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_set(err, CK_E_INVALID, errno, "open layer %s", blob_path);
    ck_unpack_staged *staged = malloc(sizeof(*staged));
    if (staged == NULL)
        return ck_err_oom(err, "layer");
    int rc = ck_unpack_stage(fd, blob_path, dest, opts, staged, err);
    if (rc == 0)
        rc = ck_unpack_place(staged, err);
    if (rc == 0 && diff_id_out != NULL)
        memcpy(diff_id_out, staged->diff_id, CK_DIGEST_BUF);
    if (rc == 0 && size_out != NULL)
        *size_out = staged->content_bytes;
    free(staged);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

int ck_remove_tree(const char *path, ck_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", path);
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", path);
    return 0;
}
