/*
 * control: the monitor's control socket (protocol.h, section 4), the way
 * the daemon asks a running monitor for something and waits for it done.
 * Today one request: reopen the CRI log, so ReopenContainerLog returns
 * only once the original path exists again. One request a connection,
 * answered before the next is accepted; a client that does not send its
 * line within CK_MON_CTL_TIMEOUT_MS is dropped, so a stuck client delays
 * the log by that much at most.
 *
 * A path longer than sun_path is reached through its directory's
 * descriptor (/proc/self/fd/N/name), as conmon does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "containers/monitor/monitor.h"

int mon_ctl_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int dir = -1;
    if (strlen(path) < sizeof(sa.sun_path)) {
        memcpy(sa.sun_path, path, strlen(path) + 1);
    } else {
        char parent[PATH_MAX];
        const char *slash = strrchr(path, '/');
        if (slash == NULL || (size_t)(slash - path) >= sizeof(parent)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(parent, path, (size_t)(slash - path));
        parent[slash - path] = '\0';
        dir = open(parent[0] ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            return -1;
        int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir, slash + 1);
        if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
            close(dir);
            errno = ENAMETOOLONG;
            return -1;
        }
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0)
        unlink(path); /* a socket a previous monitor of this id left */
    if (rc == 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0))
        rc = -1;
    int saved = errno;
    if (dir >= 0)
        close(dir);
    if (rc < 0 && fd >= 0)
        close(fd);
    errno = saved;
    return rc < 0 ? -1 : fd;
}

static void answer(int c, const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = send(c, text, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

/* Reads the request line into line: 0, or -1 when it did not come whole. */
static int read_request(int c, char *line, size_t cap)
{
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = recv(c, line + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        line[len] = '\0';
        if (memchr(line, '\n', len) != NULL)
            return 0;
    }
    return -1;
}

static void reopen(int c, const char *log_path, mon_log *log)
{
    int fd = mon_log_open(log_path);
    if (fd < 0) {
        char msg[CK_MON_CTL_LINE_MAX];
        snprintf(msg, sizeof(msg), CK_MON_CTL_ERROR "open %s: %s\n", log_path, strerror(errno));
        answer(c, msg);
        return;
    }
    if (log->fd >= 0)
        close(log->fd);
    log->fd = fd;
    answer(c, CK_MON_CTL_OK);
}

void mon_ctl_serve(int lfd, const char *log_path, mon_log *log)
{
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct timeval tv = {.tv_sec = CK_MON_CTL_TIMEOUT_MS / 1000,
                         .tv_usec = (suseconds_t)(CK_MON_CTL_TIMEOUT_MS % 1000) * 1000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char line[CK_MON_CTL_LINE_MAX];
    if (read_request(c, line, sizeof(line)) == 0) {
        if (strcmp(line, CK_MON_CTL_REOPEN) == 0)
            reopen(c, log_path, log);
        else
            answer(c, CK_MON_CTL_ERROR "unknown request\n");
    }
    close(c);
}
