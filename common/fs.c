#include "common/fs.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* nftw gives no user pointer: the first failure is kept per thread. */
static _Thread_local int rm_errno;
static _Thread_local char rm_failed[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    if (rc < 0 && errno != ENOENT && rm_errno == 0) {
        rm_errno = errno;
        snprintf(rm_failed, sizeof(rm_failed), "%s", path);
    }
    return 0; /* go on: remove as much as possible */
}

int ck_rm_rf(const char *path, ck_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", path);
    rm_errno = 0;
    rm_failed[0] = '\0';
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && rm_errno == 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "walk %s", path);
    if (rm_errno != 0)
        return ck_err_set(err, CK_E_INTERNAL, rm_errno, "remove %s (under %s)", rm_failed, path);
    return 0;
}
