/*
 * user: USER strings to uid, gid and supplementary groups, from the image's
 * passwd and group files (a missing file is an empty one).
 */
#include "oci/user.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

enum { MAX_LINKS = 40 };

/* Prepends the link target to the path still to walk (rest, size bytes). */
static int prepend(char *rest, size_t size, const char *target)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s%s%s", target, rest[0] != '\0' ? "/" : "", rest);
    if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= size)
        return -1;
    memcpy(rest, tmp, (size_t)n + 1);
    return 0;
}

/* Takes the next component off rest into comp. */
static void next_component(char *rest, char *comp, size_t size)
{
    char *p = rest;
    while (*p == '/')
        p++;
    size_t len = strcspn(p, "/");
    snprintf(comp, size, "%.*s", (int)len, p);
    memmove(rest, p + len, strlen(p + len) + 1);
}

/* RESOLVE_IN_ROOT by hand, where openat2 is missing (kernels before 5.6,
 * valgrind): one component at a time, never following a link the kernel
 * would resolve outside root: an absolute target restarts at root, ".."
 * stops at it, at most MAX_LINKS links. The rootfs is the container's own
 * overlay, not yet running, so nothing changes it under the walk. */
int ck_oci_open_in_root_walk(int root, const char *rel, int flags)
{
    char rest[PATH_MAX], cur[PATH_MAX] = ".", comp[NAME_MAX + 1], cand[PATH_MAX];
    snprintf(rest, sizeof(rest), "%s", rel);
    int links = 0;
    while (rest[0] != '\0') {
        next_component(rest, comp, sizeof(comp));
        if (comp[0] == '\0' || strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            char *slash = strrchr(cur, '/');
            if (slash != NULL)
                *slash = '\0';
            continue;
        }
        if (snprintf(cand, sizeof(cand), "%s/%s", cur, comp) >= (int)sizeof(cand)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        struct stat st;
        if (fstatat(root, cand, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -1;
        if (!S_ISLNK(st.st_mode)) {
            memcpy(cur, cand, sizeof(cur));
            continue;
        }
        char target[PATH_MAX];
        ssize_t n = readlinkat(root, cand, target, sizeof(target) - 1);
        if (n < 0 || ++links > MAX_LINKS) {
            errno = n < 0 ? errno : ELOOP;
            return -1;
        }
        target[n] = '\0';
        if (target[0] == '/')
            snprintf(cur, sizeof(cur), ".");
        if (prepend(rest, sizeof(rest), target) < 0) {
            errno = ENAMETOOLONG;
            return -1;
        }
    }
    return openat(root, cur, flags | O_NOFOLLOW);
}

int ck_oci_open_in_root(int root, const char *rel, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS)
        fd = ck_oci_open_in_root_walk(root, rel, flags);
    return fd;
}

/* The file's lines (NULL when the file does not exist), read inside root. */
static int read_in_root(const char *rootfs, const char *rel, char **text, ck_err *err)
{
    *text = NULL;
    _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open rootfs %s", rootfs);
    /* O_NONBLOCK: the image is untrusted, and a FIFO in its place would
     * block the open (and the pod's creation) forever. */
    _cleanup_close_ int fd = ck_oci_open_in_root(root, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
    if (fd < 0)
        return ck_err_set(err, errno == ELOOP || errno == EXDEV ? CK_E_INVALID : CK_E_INTERNAL, errno, "open %s in %s",
                          rel, rootfs);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s in %s", rel, rootfs);
    if (!S_ISREG(st.st_mode))
        return ck_err_set(err, CK_E_INVALID, 0, "%s in %s is not a regular file", rel, rootfs);
    _cleanup_fclose_ FILE *f = fdopen(fd, "r");
    if (f == NULL)
        return ck_err_set(err, CK_E_INTERNAL, errno, "read %s", rel);
    (void)ck_steal_fd(&fd); /* the stream owns it now */
    size_t cap = 0, len = 0;
    char *buf = NULL;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > (1u << 20)) {
            free(buf);
            return ck_err_set(err, CK_E_INVALID, 0, "%s in %s is larger than 1 MiB", rel, rootfs);
        }
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                return ck_err_oom(err, rel);
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    if (buf == NULL)
        buf = strdup("");
    else
        buf[len] = '\0';
    if (buf == NULL)
        return ck_err_oom(err, rel);
    *text = buf;
    return 0;
}

static bool parse_id(const char *s, uint32_t *out)
{
    if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Splits one colon-separated line into at most max fields (in place). */
static size_t fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p != '\0' && n < max; p++)
        if (*p == ':') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

/* Finds the passwd entry whose name (or, by_uid, uid) matches. */
static bool find_passwd(char *text, const char *name, bool by_uid, uint32_t uid, char *name_out, size_t name_size,
                        uint32_t *uid_out, uint32_t *gid_out)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        if (fields(line, f, 7) < 4)
            continue;
        uint32_t u, g;
        if (!parse_id(f[2], &u) || !parse_id(f[3], &g))
            continue;
        if (by_uid ? u == uid : strcmp(f[0], name) == 0) {
            snprintf(name_out, name_size, "%s", f[0]);
            *uid_out = u;
            *gid_out = g;
            return true;
        }
    }
    return false;
}

static bool member_of(char *members, const char *name)
{
    char *save = NULL;
    for (char *m = strtok_r(members, ",", &save); m != NULL; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, name) == 0)
            return true;
    return false;
}

/* Looks up group (by name) and collects the groups listing user. */
static bool scan_groups(char *text, const char *group, uint32_t *gid_out, const char *user, ck_oci_user *out)
{
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {NULL, NULL, NULL, NULL};
        if (fields(line, f, 4) < 3)
            continue;
        uint32_t g;
        if (!parse_id(f[2], &g))
            continue;
        if (group != NULL && strcmp(f[0], group) == 0) {
            *gid_out = g;
            found = true;
        }
        if (user[0] != '\0' && f[3] != NULL && out->n_additional_gids < CK_OCI_MAX_GROUPS && member_of(f[3], user))
            out->additional_gids[out->n_additional_gids++] = g;
    }
    return found;
}

int ck_oci_resolve_user(const char *rootfs, const char *user, ck_oci_user *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (user == NULL || user[0] == '\0')
        user = "0";
    char u[256], g[256] = "";
    if (snprintf(u, sizeof(u), "%s", user) >= (int)sizeof(u))
        return ck_err_set(err, CK_E_INVALID, 0, "user \"%.40s...\" is too long", user);
    char *colon = strchr(u, ':');
    if (colon != NULL) {
        *colon = '\0';
        snprintf(g, sizeof(g), "%s", colon + 1);
    }
    if (u[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "user \"%s\" has no user part", user);
    _cleanup_free_ char *passwd = NULL;
    _cleanup_free_ char *group = NULL;
    if (read_in_root(rootfs, "etc/passwd", &passwd, err) < 0 || read_in_root(rootfs, "etc/group", &group, err) < 0)
        return -1;
    char name[256] = "";
    uint32_t uid = 0, gid = 0;
    bool numeric = parse_id(u, &uid);
    bool known = passwd != NULL && find_passwd(passwd, u, numeric, uid, name, sizeof(name), &uid, &gid);
    if (!numeric && !known)
        return ck_err_set(err, CK_E_INVALID, 0, "user \"%s\" is not in the image's /etc/passwd", u);
    if (!known)
        gid = 0;
    bool by_name_group = g[0] != '\0' && !parse_id(g, &gid);
    uint32_t named_gid = 0;
    bool group_found = group != NULL && scan_groups(group, by_name_group ? g : NULL, &named_gid, name, out);
    if (by_name_group) {
        if (!group_found)
            return ck_err_set(err, CK_E_INVALID, 0, "group \"%s\" is not in the image's /etc/group", g);
        gid = named_gid;
    }
    out->uid = uid;
    out->gid = gid;
    /* The primary group is not a supplementary one. */
    size_t k = 0;
    for (size_t i = 0; i < out->n_additional_gids; i++)
        if (out->additional_gids[i] != gid)
            out->additional_gids[k++] = out->additional_gids[i];
    out->n_additional_gids = k;
    return 0;
}
