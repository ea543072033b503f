/*
 * console: the container's terminal (--tty). The runtime is run with
 * `create --console-socket S`; its init opens a pty inside the container
 * and the runtime sends the master over S with SCM_RIGHTS, before `create`
 * returns. S lives in a private directory under /tmp (mkdtemp, 0700), so
 * its path always fits a socket address whatever the state directory's
 * length, and nobody else can connect; both are removed once create is
 * done. The master then carries the container's output (its stdout) and
 * input, and resize sets its window size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "containers/monitor/monitor.h"

#define CONSOLE_NAME "console"

const char *mon_console_path(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/" CONSOLE_NAME, dir);
    return path;
}

int mon_console_listen(char *dir, size_t cap)
{
    int n = snprintf(dir, cap, "/tmp/cricket-console-XXXXXX");
    if (n < 0 || (size_t)n >= cap || mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        return -1;
    }
    char path[128];
    int fd = mon_unix_listen(mon_console_path(dir, path, sizeof(path)), SOCK_STREAM, 4);
    if (fd < 0) {
        int saved = errno;
        rmdir(dir);
        dir[0] = '\0';
        errno = saved;
    }
    return fd;
}

/* The one descriptor of an SCM_RIGHTS message on c, or -1. The runtime
 * sends the pty's name as the data; any other descriptor is closed. */
static int recv_fd(int c)
{
    char name[256];
    struct iovec iov = {name, sizeof(name)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
    ssize_t n;
    while ((n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n < 0)
        return -1;
    struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
    if (h == NULL || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof(fd));
    return fd;
}

int mon_console_receive(int lfd)
{
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return -1;
    /* The runtime sends at once on connecting: a blocking read with a
     * bound, so a stray client cannot hold create up. */
    struct timeval tv = {.tv_sec = CK_MON_CTL_TIMEOUT_MS / 1000};
    if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        close(c);
        return -1;
    }
    int fd = recv_fd(c);
    close(c);
    if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void mon_console_remove(int *lfd, char *dir)
{
    if (*lfd >= 0)
        close(*lfd);
    *lfd = -1;
    if (dir[0] == '\0')
        return;
    char path[128];
    unlink(mon_console_path(dir, path, sizeof(path)));
    rmdir(dir);
    dir[0] = '\0';
}

int mon_console_resize(int master, unsigned height, unsigned width)
{
    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
    return ioctl(master, TIOCSWINSZ, &ws);
}
