/*
 * unix_addr: a short path is copied into sun_path as it is; a long one
 * becomes "/proc/self/fd/<dir>/<name>", which the kernel resolves through
 * the open directory, so only the last component must fit.
 */
#include "common/unix_addr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ck_unix_addr(const char *path, struct sockaddr_un *sa, int *dir_fd)
{
    *dir_fd = -1;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len < sizeof(sa->sun_path)) {
        memcpy(sa->sun_path, path, len + 1);
        return 0;
    }
    const char *slash = strrchr(path, '/');
    char parent[PATH_MAX];
    if (slash == NULL || (size_t)(slash - path) >= sizeof(parent)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(parent, path, (size_t)(slash - path));
    parent[slash - path] = '\0';
    int dir = open(parent[0] != '\0' ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dir, slash + 1);
    if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
        close(dir);
        errno = ENAMETOOLONG;
        return -1;
    }
    *dir_fd = dir;
    return 0;
}
