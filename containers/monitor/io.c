/*
 * io: the container's stdout and stderr when the monitor logs them
 * (--container-log). Before create: the log file (so it exists before the
 * sync line, hence before StartContainer), two pipes whose write ends
 * become the runtime's stdout and stderr (runc hands its stdio to the
 * init) and the control socket. After create, one poll() loop over the
 * pipes, a signalfd for SIGCHLD and the control socket: what arrives goes
 * through log_writer into the log as it comes, each finished line written
 * at once.
 *
 * The loop ends when the init has been reaped and both pipes ended. A
 * process the init left behind (a shared pid namespace) may hold the pipes
 * for ever: CK_MON_DRAIN_MS after the init's exit the monitor stops
 * waiting for them, so the exit file is never held back by it.
 *
 * Memory: the two line buffers (static, touched only as lines grow) and a
 * read chunk on the stack; nothing is allocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "containers/monitor/monitor.h"

enum { READ_CHUNK = 16 * 1024, NO_CHILD_POLL_MS = 1000 };

static mon_log_stream out_stream = {.name = CK_MON_LOG_STDOUT};
static mon_log_stream err_stream = {.name = CK_MON_LOG_STDERR};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int mon_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, CK_MON_LOG_MODE);
    if (fd >= 0 && fchmod(fd, CK_MON_LOG_MODE) < 0) {
        /* the file is there and appends: a mode the umask narrowed is no failure */
    }
    return fd;
}

int mon_io_open(const mon_opts *o, mon_io *io, char *why, size_t cap)
{
    *io = (mon_io){.out_r = -1, .err_r = -1, .out_w = -1, .err_w = -1, .ctl = -1, .log = {.fd = -1, .now = ck_now_ns}};
    io->log.fd = mon_log_open(o->container_log);
    if (io->log.fd < 0) {
        snprintf(why, cap, "open %s: %s", o->container_log, strerror(errno));
        return -1;
    }
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        return -1;
    }
    io->out_r = out[0];
    io->out_w = out[1];
    if (pipe2(err, O_CLOEXEC) < 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        return -1;
    }
    io->err_r = err[0];
    io->err_w = err[1];
    fcntl(io->out_r, F_SETFL, O_NONBLOCK);
    fcntl(io->err_r, F_SETFL, O_NONBLOCK);
    if (o->control != NULL && (io->ctl = mon_ctl_listen(o->control)) < 0) {
        snprintf(why, cap, "control socket %s: %s", o->control, strerror(errno));
        return -1;
    }
    return 0;
}

/* Copies what can be read at once from fd to the runtime log (fd 2). */
static void copy_pending(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(STDERR_FILENO, buf, (size_t)n) < 0)
            return;
}

void mon_io_after_create(mon_io *io)
{
    close_fd(&io->out_w);
    close_fd(&io->err_w);
    copy_pending(io->out_r);
    copy_pending(io->err_r);
}

/* Reads what the pipe has into the stream; at its end the stream's rest is
 * written and the pipe closed. */
static void pump(mon_io *io, int *fd, mon_log_stream *s)
{
    char chunk[READ_CHUNK];
    for (int i = 0; i < 4; i++) { /* a bounded turn: the other pipe and the socket get theirs */
        ssize_t n = read(*fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            mon_log_finish(&io->log, s);
            close_fd(fd);
            return;
        }
        mon_log_feed(&io->log, s, chunk, (size_t)n);
        if ((size_t)n < sizeof(chunk))
            return;
    }
}

static void drain_signalfd(int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    }
}

void mon_io_run(const mon_opts *o, mon_io *io, pid_t init, int *status, int64_t *finished_ns)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    bool exited = false;
    long long exited_at = 0;
    for (;;) {
        int st;
        pid_t got;
        while ((got = waitpid(-1, &st, WNOHANG)) > 0)
            if (got == init) {
                *status = st;
                *finished_ns = ck_now_ns();
                exited = true;
                exited_at = ck_mono_ms();
            }
        if (!exited && got < 0 && errno == ECHILD && kill(init, 0) < 0) {
            /* Not our child (should not happen as subreaper) and gone. */
            *status = 255 << 8;
            *finished_ns = ck_now_ns();
            exited = true;
            exited_at = ck_mono_ms();
        }
        if (exited && io->out_r < 0 && io->err_r < 0)
            break;
        int timeout = sfd < 0 ? NO_CHILD_POLL_MS : -1;
        if (!exited && got < 0)
            timeout = NO_CHILD_POLL_MS; /* no child to signal us: look again later */
        if (exited) {
            long long left = exited_at + CK_MON_DRAIN_MS - ck_mono_ms();
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        struct pollfd p[4] = {
            {.fd = sfd, .events = POLLIN},
            {.fd = io->out_r, .events = POLLIN},
            {.fd = io->err_r, .events = POLLIN},
            {.fd = io->ctl, .events = POLLIN},
        };
        int pr = poll(p, 4, timeout);
        if (pr < 0 && errno != EINTR)
            usleep(100 * 1000); /* ENOMEM: the init is not given up for it */
        if (pr <= 0)
            continue;
        if (p[0].revents)
            drain_signalfd(sfd);
        if (p[1].revents)
            pump(io, &io->out_r, &out_stream);
        if (p[2].revents)
            pump(io, &io->err_r, &err_stream);
        if (p[3].revents)
            mon_ctl_serve(io->ctl, o->container_log, &io->log);
    }
    mon_log_finish(&io->log, &out_stream);
    mon_log_finish(&io->log, &err_stream);
    if (sfd >= 0)
        close(sfd);
}

void mon_io_close(const mon_opts *o, mon_io *io)
{
    close_fd(&io->out_r);
    close_fd(&io->err_r);
    close_fd(&io->out_w);
    close_fd(&io->err_w);
    close_fd(&io->log.fd);
    if (io->ctl >= 0) {
        close_fd(&io->ctl);
        unlink(o->control);
    }
}
