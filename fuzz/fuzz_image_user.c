/*
 * fuzz_image_user: USER resolution (oci/user.c) against an image's own
 * /etc/passwd and /etc/group, which come from the image and so from whoever
 * built it. The input is three parts separated by NUL bytes:
 *
 *     USER \0 PASSWD \0 GROUP
 *
 * A missing part means the file does not exist (a missing USER is ""). The
 * files are written into a private rootfs made once per process.
 *
 * Checked for every input: success gives a numeric USER its own uid and no
 * more supplementary groups than the limit, none of them the primary group;
 * failure is CK_E_INVALID with a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz_text.h"
#include "oci/user.h"

static char rootfs[64];
static char passwd_path[96], group_path[96];

static void die(const char *what)
{
    fprintf(stderr, "fuzz_image_user: %s: %s\n", what, strerror(errno));
    abort();
}

static void remove_rootfs(void)
{
    unlink(passwd_path);
    unlink(group_path);
    char etc[80];
    snprintf(etc, sizeof(etc), "%s/etc", rootfs);
    rmdir(etc);
    rmdir(rootfs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(rootfs, sizeof(rootfs), "/tmp/ck-fuzz-user-XXXXXX");
    if (mkdtemp(rootfs) == NULL)
        die("mkdtemp");
    char etc[80];
    snprintf(etc, sizeof(etc), "%s/etc", rootfs);
    if (mkdir(etc, 0755) < 0)
        die("mkdir etc");
    snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", etc);
    snprintf(group_path, sizeof(group_path), "%s/group", etc);
    atexit(remove_rootfs);
    return 0;
}

/* Writes [p, p+n) to path, or removes path when p is NULL. */
static void put_file(const char *path, const uint8_t *p, size_t n)
{
    if (p == NULL) {
        if (unlink(path) < 0 && errno != ENOENT)
            die(path);
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
        die(path);
    close(fd);
}

/* The next NUL-terminated part of [*p, end), or NULL when none is left. */
static const uint8_t *next_part(const uint8_t **p, const uint8_t *end, size_t *len)
{
    if (*p == NULL || *p > end)
        return NULL;
    const uint8_t *start = *p;
    const uint8_t *nul = memchr(start, '\0', (size_t)(end - start));
    *len = (size_t)((nul != NULL ? nul : end) - start);
    *p = nul != NULL ? nul + 1 : NULL;
    return start;
}

/* A USER that names a uid: digits that fit in 32 bits. */
static bool numeric_uid(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 10 &&
           strtoull(s, NULL, 10) <= UINT32_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    size_t user_len = 0, passwd_len = 0, group_len = 0;
    const uint8_t *user_part = next_part(&p, end, &user_len);
    const uint8_t *passwd = next_part(&p, end, &passwd_len);
    const uint8_t *group = next_part(&p, end, &group_len);
    char *user = fuzz_text(user_part, user_len);
    if (user == NULL)
        return 0;
    put_file(passwd_path, passwd, passwd_len);
    put_file(group_path, group, group_len);

    ck_oci_user out;
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_resolve_user(rootfs, user, &out, &err) == 0) {
        char *colon = strchr(user, ':');
        if (colon != NULL)
            *colon = '\0';
        if (numeric_uid(user) && strtoull(user, NULL, 10) != out.uid)
            abort(); /* a numeric USER is that uid, whatever passwd says */
        if (out.n_additional_gids > CK_OCI_MAX_GROUPS)
            abort();
        for (size_t i = 0; i < out.n_additional_gids; i++)
            if (out.additional_gids[i] == out.gid)
                abort(); /* the primary group is never a supplementary one */
    } else if (err.kind != CK_E_INVALID || err.msg[0] == '\0') {
        abort(); /* a refusal is the image's fault and says why */
    }
    free(user);
    return 0;
}
