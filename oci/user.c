/*
 * user: USER strings to uid, gid and supplementary groups, from the image's
 * passwd and group files (a missing file is an empty one).
 */
#include "oci/user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

/* The file's lines (NULL when the file does not exist), read inside root. */
static int read_in_root(const char *rootfs, const char *rel, char **text, ck_err *err)
{
    *text = NULL;
    _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open rootfs %s", rootfs);
    /* O_NONBLOCK: the image is untrusted, and a FIFO in its place would
     * block the open (and the pod's creation) forever. */
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    _cleanup_close_ int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
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
