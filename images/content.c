/*
 * content: verified blobs (see content.h for the story). Temporary files
 * live in <root>/content/ingest on the same filesystem as the blobs, so the
 * final rename is atomic. Each writer holds an exclusive flock on its
 * temporary file until it is committed or dropped, so the clean-up of what
 * a crash left there (ck_content_clean_ingest) can tell a dead writer's file
 * from a live one, in this process or another (the daemon and a
 * `cricket image import` share the directory).
 */
#include "images/content.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/log.h"

struct ck_content {
    char blobs[4096];  /* <root>/content/sha256 */
    char ingest[4096]; /* <root>/content/ingest */
};

struct ck_content_writer {
    ck_content *c;
    char digest[CK_DIGEST_BUF];
    int64_t expected;
    uint64_t written;
    int fd;
    char tmp[4200];
    EVP_MD_CTX *md;
};

int ck_digest_check(const char *digest, ck_err *err)
{
    if (digest == NULL || digest[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "empty digest");
    const char *colon = strchr(digest, ':');
    if (colon == NULL || colon == digest)
        return ck_err_set(err, CK_E_INVALID, 0, "digest \"%s\" has no algorithm (want sha256:<hex>)", digest);
    if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0) {
        if (strncmp(digest, "sha512:", 7) == 0 || strncmp(digest, "sha384:", 7) == 0)
            return ck_err_set(err, CK_E_UNIMPLEMENTED, 0, "digest \"%.80s\": only sha256 is supported", digest);
        return ck_err_set(err, CK_E_INVALID, 0, "digest \"%.80s\": unknown algorithm", digest);
    }
    const char *hex = colon + 1;
    if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "digest \"%.80s\": want 64 lower-case hex digits after sha256:", digest);
    return 0;
}

static void hex_of(const unsigned char *md, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[(size_t)2 * len] = '\0';
}

void ck_digest_of(const void *buf, size_t len, char out[CK_DIGEST_BUF])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
    static const char prefix[] = "sha256:";
    memcpy(out, prefix, sizeof(prefix)); /* with its NUL: hex_of writes after it and ends the string */
    hex_of(md, mdlen, out + sizeof(prefix) - 1);
}

void ck_content_clean_ingest(ck_content *c)
{
    DIR *d = opendir(c->ingest);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        _cleanup_close_ int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue; /* gone meanwhile: its writer committed or dropped it */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            ck_debug("images", "kept %s/%s: a live process is writing it", c->ingest, e->d_name);
            continue;
        }
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            ck_info("images", "removed unfinished download %s/%s", c->ingest, e->d_name);
    }
    closedir(d);
}

int ck_content_open(const char *root_dir, ck_content **out, ck_err *err)
{
    ck_content *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ck_err_oom(err, "content store");
    char base[4096];
    snprintf(base, sizeof(base), "%s/content", root_dir);
    snprintf(c->blobs, sizeof(c->blobs), "%s/sha256", base);
    snprintf(c->ingest, sizeof(c->ingest), "%s/ingest", base);
    const char *dirs[] = {base, c->blobs, c->ingest};
    for (size_t i = 0; i < 3; i++) {
        if (mkdir(dirs[i], 0700) < 0 && errno != EEXIST) {
            int e = errno;
            free(c);
            return ck_err_set(err, CK_E_INTERNAL, e, "create %s", dirs[i]);
        }
    }
    *out = c;
    return 0;
}

void ck_content_free(ck_content *c)
{
    free(c);
}

int ck_content_path(const ck_content *c, const char *digest, char *buf, size_t cap, ck_err *err)
{
    if (ck_digest_check(digest, err) < 0)
        return -1;
    if ((size_t)snprintf(buf, cap, "%s/%s", c->blobs, digest + 7) >= cap)
        return ck_err_set(err, CK_E_INTERNAL, 0, "blob path too long");
    return 0;
}

bool ck_content_has(const ck_content *c, const char *digest)
{
    return ck_content_size(c, digest) >= 0;
}

int64_t ck_content_size(const ck_content *c, const char *digest)
{
    char path[4200];
    struct stat st;
    if (ck_content_path(c, digest, path, sizeof(path), NULL) < 0 || stat(path, &st) < 0)
        return -1;
    return (int64_t)st.st_size;
}

/* A writer without its file yet: digest and size checks, hash started. */
static int writer_new(ck_content *c, const char *digest, int64_t expected_size, ck_content_writer **out, ck_err *err)
{
    if (digest != NULL && ck_digest_check(digest, err) < 0)
        return -1;
    ck_content_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ck_err_oom(err, "blob writer");
    w->c = c;
    w->fd = -1;
    snprintf(w->digest, sizeof(w->digest), "%s", digest != NULL ? digest : "");
    w->expected = expected_size;
    w->md = EVP_MD_CTX_new();
    if (w->md == NULL || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        ck_content_abort(w);
        return ck_err_oom(err, "sha256 context");
    }
    *out = w;
    return 0;
}

int ck_content_writer_open(ck_content *c, const char *digest, int64_t expected_size, ck_content_writer **out,
                           ck_err *err)
{
    ck_content_writer *w = NULL;
    if (writer_new(c, digest, expected_size, &w, err) < 0)
        return -1;
    snprintf(w->tmp, sizeof(w->tmp), "%s/%.16s-XXXXXX", c->ingest, digest != NULL ? digest + 7 : "unnamed");
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        int e = errno;
        ck_content_abort(w);
        return ck_err_set(err, e == ENOSPC ? CK_E_EXHAUSTED : CK_E_INTERNAL, e, "create temporary file for %s", digest);
    }
    if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) { /* ours until commit or abort: the clean-up skips it */
        int e = errno;
        ck_content_abort(w);
        return ck_err_set(err, CK_E_INTERNAL, e, "lock temporary file for %s", digest);
    }
    *out = w;
    return 0;
}

int ck_content_verifier_open(const char *digest, int64_t expected_size, ck_content_writer **out, ck_err *err)
{
    if (digest == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "verify a blob: no digest given");
    return writer_new(NULL, digest, expected_size, out, err);
}

int ck_content_write(ck_content_writer *w, const void *buf, size_t len, ck_err *err)
{
    if (w->expected >= 0 && w->written + len > (uint64_t)w->expected)
        return ck_err_set(err, CK_E_INVALID, 0, "blob %s: more than the %lld bytes the manifest gives", w->digest,
                          (long long)w->expected);
    const char *p = buf;
    size_t left = w->fd >= 0 ? len : 0; /* a verifier keeps nothing */
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ck_err_set(err, errno == ENOSPC ? CK_E_EXHAUSTED : CK_E_INTERNAL, errno, "write blob %s", w->digest);
        }
        p += n;
        left -= (size_t)n;
    }
    EVP_DigestUpdate(w->md, buf, len);
    w->written += len;
    return 0;
}

uint64_t ck_content_written(const ck_content_writer *w)
{
    return w->written;
}

void ck_content_abort(ck_content_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
    }
    EVP_MD_CTX_free(w->md);
    free(w);
}

static int verify_and_place(ck_content_writer *w, ck_err *err)
{
    if (w->expected >= 0 && w->written != (uint64_t)w->expected)
        return ck_err_set(err, CK_E_INVALID, 0, "blob %s: got %llu bytes, the manifest gives %lld (truncated?)",
                          w->digest, (unsigned long long)w->written, (long long)w->expected);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char got[CK_DIGEST_BUF] = "sha256:";
    EVP_DigestFinal_ex(w->md, md, &mdlen);
    hex_of(md, mdlen, got + 7);
    if (w->digest[0] == '\0') /* named by its content */
        memcpy(w->digest, got, sizeof(got));
    if (strcmp(got, w->digest) != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "blob %s: content has digest %s (corrupt or wrong blob served)",
                          w->digest, got);
    if (w->fd < 0)
        return 0; /* verified, and nothing to keep */
    if (fsync(w->fd) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "sync blob %s", w->digest);
    char final[4200];
    if (ck_content_path(w->c, w->digest, final, sizeof(final), err) < 0)
        return -1;
    if (fchmod(w->fd, 0444) < 0 || rename(w->tmp, final) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "place blob %s", w->digest);
    return 0;
}

int ck_content_commit_as(ck_content_writer *w, char digest_out[CK_DIGEST_BUF], ck_err *err)
{
    int rc = verify_and_place(w, err);
    if (rc == 0 && digest_out != NULL)
        memcpy(digest_out, w->digest, CK_DIGEST_BUF);
    if (rc == 0 && w->fd >= 0) {
        close(w->fd); /* placed: the abort below must not unlink it */
        w->fd = -1;
    }
    ck_content_abort(w);
    return rc;
}

int ck_content_commit(ck_content_writer *w, ck_err *err)
{
    int rc = verify_and_place(w, err);
    if (rc == 0 && w->fd >= 0) {
        close(w->fd); /* placed: the abort below must not unlink it */
        w->fd = -1;
    }
    ck_content_abort(w); /* unlinks the temporary file only on failure */
    return rc;
}

int ck_content_put(ck_content *c, const char *digest, const void *buf, size_t len, ck_err *err)
{
    if (ck_content_has(c, digest))
        return 0;
    ck_content_writer *w = NULL;
    if (ck_content_writer_open(c, digest, (int64_t)len, &w, err) < 0)
        return -1;
    if (ck_content_write(w, buf, len, err) < 0) {
        ck_content_abort(w);
        return -1;
    }
    return ck_content_commit(w, err);
}

int ck_content_read(const ck_content *c, const char *digest, size_t max, char **buf, size_t *len, ck_err *err)
{
    *buf = NULL;
    *len = 0;
    char path[4200];
    if (ck_content_path(c, digest, path, sizeof(path), err) < 0)
        return -1;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_set(err, errno == ENOENT ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "read blob %s", digest);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat blob %s", digest);
    if ((uint64_t)st.st_size > max)
        return ck_err_set(err, CK_E_EXHAUSTED, 0, "blob %s: %lld bytes, more than %zu", digest, (long long)st.st_size,
                          max);
    _cleanup_free_ char *data = malloc((size_t)st.st_size + 1);
    if (data == NULL)
        return ck_err_oom(err, "blob");
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ck_err_set(err, CK_E_INTERNAL, n < 0 ? errno : 0, "read blob %s", digest);
        got += (size_t)n;
    }
    data[got] = '\0';
    *buf = ck_steal_ptr(&data);
    *len = got;
    return 0;
}

int ck_content_delete(ck_content *c, const char *digest, ck_err *err)
{
    char path[4200];
    if (ck_content_path(c, digest, path, sizeof(path), err) < 0)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return ck_err_set(err, CK_E_INTERNAL, errno, "remove blob %s", digest);
    return 0;
}
