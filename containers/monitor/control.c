/*
 * control: the monitor's control socket (protocol.h, section 4), the way
 * the daemon asks a running monitor for something and waits for it done:
 * reopen the CRI log, so ReopenContainerLog returns only once the original
 * path exists again, and resize the terminal. One request a connection,
 * answered before the next is accepted; a client that does not send its
 * line within CK_MON_CTL_TIMEOUT_MS is dropped, so a stuck client delays
 * the log by that much at most.
 *
 * Also the one way the monitor listens on a unix socket (control, attach,
 * console): a path longer than sun_path is reached through its
 * directory's descriptor (common/unix_addr).
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

#include "common/parse.h"
#include "common/unix_addr.h"
#include "containers/monitor/monitor.h"

int mon_unix_listen(const char *path, int type, int backlog)
{
    struct sockaddr_un sa;
    int dir;
    if (ck_unix_addr(path, &sa, &dir) < 0)
        return -1;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0)
        unlink(path); /* a socket a previous monitor of this id left */
    if (rc == 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0))
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

static void answer_errno(int c, const char *what, const char *path)
{
    char msg[CK_MON_CTL_LINE_MAX];
    snprintf(msg, sizeof(msg), CK_MON_CTL_ERROR "%s %s: %s\n", what, path, strerror(errno));
    answer(c, msg);
}

static void reopen(int c, const char *log_path, mon_log *log)
{
    if (log_path == NULL) {
        answer(c, CK_MON_CTL_ERROR "the container has no log\n");
        return;
    }
    int fd = mon_log_open(log_path);
    if (fd < 0) {
        answer_errno(c, "open", log_path);
        return;
    }
    if (log->fd >= 0)
        close(log->fd);
    log->fd = fd;
    answer(c, CK_MON_CTL_OK);
}

/* args: "<height> <width>\n", each 1 to 65535. */
static void resize(int c, const char *args, int console)
{
    int64_t h, w;
    const char *p = args;
    if (ck_parse_i64_word(&p, 1, 65535, &h, NULL) < 0 || ck_parse_i64_word(&p, 1, 65535, &w, NULL) < 0 ||
        strcmp(p, "\n") != 0) {
        answer(c, CK_MON_CTL_ERROR "resize wants \"<height> <width>\", each 1 to 65535\n");
        return;
    }
    if (console < 0) {
        answer(c, CK_MON_CTL_ERROR "the container has no terminal\n");
        return;
    }
    if (mon_console_resize(console, (unsigned)h, (unsigned)w) < 0) {
        answer_errno(c, "resize", "the terminal");
        return;
    }
    answer(c, CK_MON_CTL_OK);
}

void mon_ctl_serve(int lfd, const mon_opts *o, mon_io *io)
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
            reopen(c, o->container_log, &io->log);
        else if (strncmp(line, CK_MON_CTL_RESIZE, strlen(CK_MON_CTL_RESIZE)) == 0)
            resize(c, line + strlen(CK_MON_CTL_RESIZE), io->console);
        else
            answer(c, CK_MON_CTL_ERROR "unknown request\n");
    }
    close(c);
}
