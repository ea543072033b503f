/*
 * io: the container's stdio when the monitor holds it (a container, not
 * the pause). Before create: the CRI log file (so it exists before the
 * sync line, hence before StartContainer), two pipes whose write ends
 * become the runtime's stdout and stderr (runc hands its stdio to the
 * init), with --stdin a third whose read end becomes its stdin, with --tty
 * the console socket instead (console.c), and the control and attach
 * sockets. After create, one poll() loop over the output (pipes or
 * terminal), a signalfd for SIGCHLD, the control socket, the attach
 * socket and its clients: output goes through log_writer into the log as
 * it comes, each finished line written at once, and to every attach client
 * (attach.c); what clients send goes to the container's stdin.
 *
 * Stdin never blocks the loop: in_w is non-blocking and a message that
 * does not fit waits in in_buf, while no client is read, until in_w takes
 * it. So at most one message is held, and a container that does not read
 * its stdin stalls only the clients that write to it.
 *
 * The loop ends when the init has been reaped and its output ended. A
 * process the init left behind (a shared pid namespace) may hold the pipes
 * for ever: CK_MON_DRAIN_MS after the init's exit the monitor stops
 * waiting for them, so the exit file is never held back by it.
 *
 * Memory: the two line buffers (static, touched only as lines grow), the
 * stdin buffer in mon_io and a read chunk on the stack; nothing is
 * allocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "containers/monitor/monitor.h"

enum { NO_CHILD_POLL_MS = 1000 };

static mon_log_stream out_stream = {.name = CK_MON_LOG_STDOUT};
static mon_log_stream err_stream = {.name = CK_MON_LOG_STDERR};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

bool mon_opts_hold_stdio(const mon_opts *o)
{
    return o->container_log != NULL || o->control != NULL || o->attach != NULL || o->stdin_open || o->tty;
}

int mon_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, CK_MON_LOG_MODE);
    if (fd >= 0 && fchmod(fd, CK_MON_LOG_MODE) < 0) {
        /* the file is there and appends: a mode the umask narrowed is no failure */
    }
    return fd;
}

/* A pipe, close-on-exec, its end keep_nonblock (0 read, 1 write) non-blocking. */
static int open_pipe(int *r, int *w, int keep_nonblock)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    *r = p[0];
    *w = p[1];
    return fcntl(p[keep_nonblock], F_SETFL, O_NONBLOCK);
}

static int fail(char *why, size_t cap, const char *what, const char *path)
{
    snprintf(why, cap, "%s%s%s: %s", what, path != NULL ? " " : "", path != NULL ? path : "", strerror(errno));
    return -1;
}

int mon_io_open(const mon_opts *o, mon_io *io, char *why, size_t cap)
{
    *io = (mon_io){.o = o,
                   .out_r = -1,
                   .err_r = -1,
                   .out_w = -1,
                   .err_w = -1,
                   .in_r = -1,
                   .in_w = -1,
                   .console = -1,
                   .console_lfd = -1,
                   .ctl = -1,
                   .attach = {.lfd = -1},
                   .log = {.fd = -1, .now = ck_now_ns}};
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++)
        io->attach.clients[i].fd = -1;
    if (o->container_log != NULL && (io->log.fd = mon_log_open(o->container_log)) < 0)
        return fail(why, cap, "open", o->container_log);
    if (o->tty) {
        if ((io->console_lfd = mon_console_listen(io->console_dir, sizeof(io->console_dir))) < 0)
            return fail(why, cap, "console socket", NULL);
    } else {
        if (open_pipe(&io->out_r, &io->out_w, 0) < 0 || open_pipe(&io->err_r, &io->err_w, 0) < 0)
            return fail(why, cap, "pipe", NULL);
        if (o->stdin_open && open_pipe(&io->in_r, &io->in_w, 1) < 0)
            return fail(why, cap, "stdin pipe", NULL);
    }
    if (o->control != NULL && (io->ctl = mon_unix_listen(o->control, SOCK_STREAM, 4)) < 0)
        return fail(why, cap, "control socket", o->control);
    if (o->attach != NULL && mon_attach_listen(&io->attach, o->attach) < 0)
        return fail(why, cap, "attach socket", o->attach);
    return 0;
}

int mon_io_take_console(const mon_opts *o, mon_io *io)
{
    if (io->console >= 0)
        return 0;
    int master = mon_console_receive(io->console_lfd);
    if (master < 0)
        return -1;
    /* Three descriptors of one terminal, each closed on its own terms:
     * output ends at EIO, stdin may be closed, resize lasts. */
    io->out_r = fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (o->stdin_open)
        io->in_w = fcntl(master, F_DUPFD_CLOEXEC, 3);
    io->console = master;
    return 0;
}

/* Copies what can be read at once from fd to the runtime log (fd 2). */
static void copy_pending(int fd)
{
    char buf[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
        if (write(STDERR_FILENO, buf, (size_t)n) < 0)
            return;
}

int mon_io_after_create(const mon_opts *o, mon_io *io, char *why, size_t cap)
{
    close_fd(&io->out_w);
    close_fd(&io->err_w);
    close_fd(&io->in_r);
    if (!o->tty) {
        if (!o->start) {
            copy_pending(io->out_r);
            copy_pending(io->err_r);
        }
        return 0;
    }
    mon_io_take_console(o, io); /* sent just before the runtime exited */
    mon_console_remove(&io->console_lfd, io->console_dir);
    if (io->console < 0 || io->out_r < 0 || (o->stdin_open && io->in_w < 0)) {
        snprintf(why, cap, "%s sent no terminal on its console socket", o->runtime);
        return -1;
    }
    return 0;
}

void mon_io_runtime_failed(const mon_io *io)
{
    if (io->console < 0) {
        copy_pending(io->out_r);
        copy_pending(io->err_r);
    }
}

/* Output of one stream: into the log, and to the attach clients. */
static void output(mon_io *io, mon_log_stream *s, int stream, const char *data, size_t n);

/* Reads what fd has into the stream; at its end the stream's rest is
 * written and fd closed. */
static void pump(mon_io *io, int *fd, mon_log_stream *s, int stream)
{
    char chunk[CK_MON_ATTACH_DATA_MAX];
    for (int i = 0; i < 4; i++) { /* a bounded turn: the other stream and the sockets get theirs */
        ssize_t n = read(*fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* end of the pipe, or EIO: the terminal's last holder closed it */
            mon_log_finish(&io->log, s);
            close_fd(fd);
            return;
        }
        output(io, s, stream, chunk, (size_t)n);
        if ((size_t)n < sizeof(chunk))
            return;
    }
}

/* ---- stdin ---- */

/* Writes what in_buf holds; once it is empty a closing stdin is closed. */
static void stdin_flush(mon_io *io)
{
    while (io->in_len > 0 && io->in_w >= 0) {
        ssize_t w = write(io->in_w, io->in_buf, io->in_len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return; /* full: poll says when it takes more */
        if (w <= 0) {
            close_fd(&io->in_w); /* EPIPE: nobody reads the container's stdin any more */
            break;
        }
        memmove(io->in_buf, io->in_buf + w, io->in_len - (size_t)w);
        io->in_len -= (size_t)w;
    }
    if (io->in_w < 0)
        io->in_len = 0;
    if (io->in_len == 0 && io->in_closing)
        close_fd(&io->in_w);
}

/* A client that sent stdin ended it: with --stdin-once the container's
 * stdin ends too (a terminal gets ^D, having no input of its own to close). */
static void stdin_client_ended(mon_io *io)
{
    if (!io->o->stdin_once || io->in_w < 0 || io->in_closing)
        return;
    io->in_closing = true;
    if (io->o->tty && io->in_len < sizeof(io->in_buf))
        io->in_buf[io->in_len++] = '\x04';
    stdin_flush(io);
}

/* n bytes a client sent were read into in_buf (which was empty: clients
 * are read only then). */
static void stdin_feed(mon_io *io, size_t n)
{
    if (io->in_w < 0 || io->in_closing)
        return; /* no stdin, or it ended: the bytes are dropped */
    io->in_len += n;
    stdin_flush(io);
}

static void output(mon_io *io, mon_log_stream *s, int stream, const char *data, size_t n)
{
    mon_log_feed(&io->log, s, data, n);
    if (io->attach.lfd >= 0 && mon_attach_send(&io->attach, stream, data, n) > 0)
        stdin_client_ended(io);
}

int mon_sigchld_fd(void)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    return signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
}

void mon_sigchld_drain(int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    }
}

/* The loop's descriptors: fixed slots, -1 where there is nothing to poll. */
enum { P_SIGNAL, P_OUT, P_ERR, P_CTL, P_STDIN, P_ATTACH, P_COUNT = P_ATTACH + 1 + CK_MON_ATTACH_CLIENTS };

static void serve_clients(mon_io *io, const struct pollfd *clients)
{
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++) {
        if (clients[i].fd < 0 || clients[i].revents == 0)
            continue;
        bool ended;
        size_t n = mon_attach_read(&io->attach, i, clients[i].revents, io->in_buf + io->in_len,
                                   sizeof(io->in_buf) - io->in_len, &ended);
        if (n > 0 && io->o->stdin_open)
            stdin_feed(io, n);
        if (ended)
            stdin_client_ended(io);
        if (io->in_len > 0)
            return; /* the container's stdin is full: the others wait their turn */
    }
}

/* Reaps what exited; true (with status and time) once the init has. */
static bool reap(pid_t init, int *status, int64_t *finished_ns, bool *no_child)
{
    int st;
    pid_t got;
    bool exited = mon_reaped_take(init, status, finished_ns);
    while ((got = waitpid(-1, &st, WNOHANG)) > 0)
        if (got == init) {
            *status = st;
            *finished_ns = ck_now_ns();
            exited = true;
        }
    *no_child = got < 0;
    if (!exited && got < 0 && errno == ECHILD && kill(init, 0) < 0) {
        /* Not our child (should not happen as subreaper) and gone. */
        *status = 255 << 8;
        *finished_ns = ck_now_ns();
        exited = true;
    }
    return exited;
}

void mon_io_run(const mon_opts *o, mon_io *io, pid_t init, int *status, int64_t *finished_ns)
{
    int sfd = mon_sigchld_fd();
    bool exited = false;
    long long exited_at = 0;
    for (;;) {
        bool no_child = false;
        if (!exited && reap(init, status, finished_ns, &no_child)) {
            exited = true;
            exited_at = ck_mono_ms();
        }
        if (exited && io->out_r < 0 && io->err_r < 0)
            break;
        int timeout = sfd < 0 ? NO_CHILD_POLL_MS : -1;
        if (!exited && no_child)
            timeout = NO_CHILD_POLL_MS; /* no child to signal us: look again later */
        if (exited) {
            long long left = exited_at + CK_MON_DRAIN_MS - ck_mono_ms();
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        struct pollfd p[P_COUNT] = {
            [P_SIGNAL] = {.fd = sfd, .events = POLLIN},
            [P_OUT] = {.fd = io->out_r, .events = POLLIN},
            [P_ERR] = {.fd = io->err_r, .events = POLLIN},
            [P_CTL] = {.fd = io->ctl, .events = POLLIN},
            [P_STDIN] = {.fd = io->in_len > 0 ? io->in_w : -1, .events = POLLOUT},
        };
        mon_attach_pollfds(&io->attach, &p[P_ATTACH], io->in_len == 0);
        int pr = poll(p, P_COUNT, timeout);
        if (pr < 0 && errno != EINTR)
            usleep(100 * 1000); /* ENOMEM: the init is not given up for it */
        if (pr <= 0)
            continue;
        if (p[P_SIGNAL].revents)
            mon_sigchld_drain(sfd);
        if (p[P_OUT].revents)
            pump(io, &io->out_r, &out_stream, CK_MON_ATTACH_STDOUT);
        if (p[P_ERR].revents)
            pump(io, &io->err_r, &err_stream, CK_MON_ATTACH_STDERR);
        if (p[P_CTL].revents)
            mon_ctl_serve(io->ctl, o, io);
        if (p[P_STDIN].revents)
            stdin_flush(io);
        if (p[P_ATTACH].revents)
            mon_attach_accept(&io->attach);
        serve_clients(io, &p[P_ATTACH + 1]);
    }
    mon_log_finish(&io->log, &out_stream);
    mon_log_finish(&io->log, &err_stream);
    mon_attach_end(&io->attach);
    if (sfd >= 0)
        close(sfd);
}

void mon_io_close(const mon_opts *o, mon_io *io)
{
    close_fd(&io->out_r);
    close_fd(&io->err_r);
    close_fd(&io->out_w);
    close_fd(&io->err_w);
    close_fd(&io->in_r);
    close_fd(&io->in_w);
    close_fd(&io->console);
    mon_console_remove(&io->console_lfd, io->console_dir);
    close_fd(&io->log.fd);
    mon_attach_close(&io->attach, o->attach);
    if (io->ctl >= 0) {
        close_fd(&io->ctl);
        unlink(o->control);
    }
}
