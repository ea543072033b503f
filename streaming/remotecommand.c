/*
 * remotecommand: exec and attach over a streaming connection, as kubectl, crictl and
 * the kubelet speak it (STREAMING.md). The session knows its channels by
 * number (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize): over WebSocket
 * the numbers are the channels, over SPDY each is a stream the client
 * opens with a streamType header, answered at once; the process starts
 * when every expected stream is there (or the session fails after
 * CK_STREAMS_TIMEOUT_MS).
 *
 * The process is `runc exec` (containers/, oci/exec.c) with pipes, or with
 * a terminal of ours as its stdio when tty is asked (runc copies between it
 * and the container's console; a resize sets our terminal's size and tells
 * runc with SIGWINCH). Its end: runc exits (a pidfd says when), the output
 * is read to its end, the status goes on the error channel (v4 and later:
 * a JSON metav1.Status; before: text, none on success), every stream is
 * half-closed and the connection finished. A client that goes away first
 * has the process tree killed; the session stays until runc is reaped.
 *
 * Attach is the other backend of the same session: instead of starting a
 * process it connects to the container monitor's attach socket
 * (ck_container_attach; containers/monitor/protocol.h, 6), a SOCK_SEQPACKET
 * socket. Each message from the monitor is a stream byte (1 stdout, 2
 * stderr) and output, read with a buffer of CK_MON_ATTACH_PACKET_MAX; stdin
 * goes the other way as CK_MON_ATTACH_IN_DATA messages, and the client
 * half-closing its stdin stream sends CK_MON_ATTACH_IN_END (the monitor
 * closes the container's stdin then if it was created with stdin_once).
 * A resize goes to the monitor's control socket without blocking the
 * loop (ck_oci_resize_send, the answer read when it comes): one at a time,
 * the latest size kept while one is under way, each given
 * RESIZE_ANSWER_MS before it is given up (logged; the next one goes on). The session ends when
 * the monitor closes the socket: after CK_MON_ATTACH_END (the container
 * exited and its output ended) the error channel gets Success as from the
 * reference server, which has no exit code to report for attach; without
 * it the monitor dropped this client for falling behind (below) and the
 * error channel says so as a Failure. A client that goes away
 * only closes the attach socket: the container runs on. Output on a
 * stream the client did not ask for (stderr without a stderr stream) is
 * dropped. A container created without stdin discards what the client
 * sends (the monitor does not read it), as containerd and CRI-O do.
 *
 * Back-pressure: output is read only while the connection's send queue is
 * under its bound; stdin the process does not take is held up to
 * STDIN_PENDING_MAX, above which the connection stops reading. For attach,
 * not reading the socket makes the monitor drop this client if it falls
 * too far behind (the monitor never blocks the container for a reader):
 * the socket then closes without CK_MON_ATTACH_END and the session ends
 * with a Failure naming that, while the container runs on; the client may
 * attach again. A monitor of a daemon before CK_MON_ATTACH_END never sends
 * it: its containers' attach sessions end with that Failure too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "containers/containers.h"
#include "containers/monitor/protocol.h"
#include "streaming/sessions.h"

enum {
    CH_STDIN = 0,
    CH_STDOUT = 1,
    CH_STDERR = 2,
    CH_ERROR = 3,
    CH_RESIZE = 4,
    N_CHANNELS = 5,
    STDIN_PENDING_MAX = 256 * 1024,
    RESIZE_BUF_MAX = 1024,
    OUTPUT_EOF_WAIT_MS = 30 * 1000, /* after runc exited, for the output's end */
    RESIZE_ANSWER_MS = 2000,        /* the monitor answers in microseconds unless stuck */
};

static const char ATTACH_DROPPED[] = "attach: this client fell behind the container's output and was dropped by the "
                                     "container's monitor; the container runs on (attach again)";

static const char *const channel_names[N_CHANNELS] = {"stdin", "stdout", "stderr", "error", "resize"};

typedef struct exec_session exec_session;

typedef struct output {
    exec_session *s;
    int fd;
    ck_watch w;
    int channel;
    bool eof;
} output;

struct exec_session {
    ck_conn *conn;
    ck_stream_request *req;
    ck_containers *containers;
    ck_conn_transport transport;
    int version;
    bool expect[N_CHANNELS], have[N_CHANNELS];
    uint32_t sid[N_CHANNELS];
    long long streams_deadline;
    bool started, finished;
    /* the process */
    ck_container_exec ex;
    bool running; /* runc not reaped */
    bool killing; /* the client left: its process is killed until runc ends */
    int pidfd;
    ck_watch pid_w;
    int status;
    long long exited_at;
    int stdin_fd; /* pipe to runc, or a copy of the terminal */
    ck_watch stdin_w;
    ck_bytes stdin_pending;
    bool stdin_closed; /* the client half-closed stdin */
    int tty_fd;        /* our terminal's master: resize */
    output out, err;
    char resize_buf[RESIZE_BUF_MAX];
    size_t resize_len;
    struct winsize size;
    bool has_size;
    /* attach: the monitor's attach socket instead of a process */
    ck_oci_monitor_files mon; /* control "": none known, resizes skipped */
    bool attach;
    bool attach_in_end_sent;
    bool attach_ended;  /* the monitor said the container's output ended */
    bool resize_wanted; /* s->size not sent yet */
    int attach_fd;
    int resize_fd; /* a resize under way */
    ck_watch attach_w;
    ck_watch resize_w;
    ck_oci_control_answer resize_answer;
    long long resize_deadline;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- the status on the error channel ---------------------------------------------------- */

/* metav1.Status as the reference server marshals it: fields in Go's
 * order, so the bytes match. */
static char *status_json(bool success, const char *reason, const char *message, int exit_code)
{
    json_t *st = json_object();
    json_object_set_new(st, "metadata", json_object());
    json_object_set_new(st, "status", json_string(success ? "Success" : "Failure"));
    if (!success) {
        json_object_set_new(st, "message", json_string(message));
        json_object_set_new(st, "reason", json_string(reason));
        json_t *cause = json_object();
        if (exit_code >= 0) {
            json_object_set_new(cause, "reason", json_string("ExitCode"));
            char code[16];
            snprintf(code, sizeof(code), "%d", exit_code);
            json_object_set_new(cause, "message", json_string(code));
        } else {
            json_object_set_new(cause, "message", json_string(message));
        }
        json_t *causes = json_array();
        json_array_append_new(causes, cause);
        json_t *details = json_object();
        json_object_set_new(details, "causes", causes);
        json_object_set_new(st, "details", details);
        if (exit_code < 0)
            json_object_set_new(st, "code", json_integer(500));
    }
    char *text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(st);
    return text;
}

/* Writes the outcome on the error channel, half-closes everything and
 * ends the connection. exit_code < 0: the command could not be run
 * (message says why). */
static void finish(exec_session *s, int exit_code, const char *message)
{
    if (s->finished)
        return;
    s->finished = true;
    bool success = exit_code == 0;
    char text[1200];
    if (exit_code > 0)
        snprintf(text, sizeof(text), "command terminated with non-zero exit code: exit status %d", exit_code);
    else
        snprintf(text, sizeof(text), "%s", message != NULL ? message : "");
    if (s->have[CH_ERROR] && s->version >= 4) {
        char *json = status_json(success, exit_code > 0 ? "NonZeroExitCode" : "InternalError", text, exit_code);
        if (json != NULL)
            conn_send(s->conn, s->sid[CH_ERROR], json, strlen(json));
        free(json);
    } else if (s->have[CH_ERROR] && !success) {
        conn_send(s->conn, s->sid[CH_ERROR], text, strlen(text));
    }
    for (int ch = 0; ch < N_CHANNELS; ch++)
        if (s->have[ch])
            conn_fin(s->conn, s->sid[ch]);
    conn_finish(s->conn);
}

/* ---- output ----------------------------------------------------------------------------- */

static void maybe_done(exec_session *s);

static void output_want(exec_session *s, output *o)
{
    bool want = !o->eof && (conn_client_gone(s->conn) || !conn_congested(s->conn));
    ck_loop_want(conn_loop(s->conn), &o->w, want ? EPOLLIN : 0);
}

static void output_eof(exec_session *s, output *o)
{
    o->eof = true;
    ck_loop_unwatch(conn_loop(s->conn), &o->w);
    close_fd(&o->fd);
    maybe_done(s);
}

static void output_ready(void *ctx, uint32_t events)
{
    output *o = ctx;
    exec_session *s = o->s;
    (void)events;
    uint8_t buf[CK_CONN_CHUNK];
    ssize_t n = read(o->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) { /* EIO: the terminal's other side is closed */
        output_eof(s, o);
        return;
    }
    if (s->have[o->channel] && !conn_client_gone(s->conn))
        conn_send(s->conn, s->sid[o->channel], buf, (size_t)n);
    output_want(s, o);
}

/* ---- stdin -------------------------------------------------------------------------------- */

static void attach_flush(exec_session *s);

static void stdin_close(exec_session *s)
{
    ck_loop_unwatch(conn_loop(s->conn), &s->stdin_w);
    close_fd(&s->stdin_fd);
    s->stdin_pending.len = 0;
}

/* Writes what is pending; closes stdin when the client closed it and all
 * is written. */
static void stdin_flush(exec_session *s)
{
    size_t off = 0;
    while (s->stdin_fd >= 0 && off < s->stdin_pending.len) {
        ssize_t n = write(s->stdin_fd, s->stdin_pending.data + off, s->stdin_pending.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) { /* the process closed its stdin: what the client sends is dropped */
            stdin_close(s);
            break;
        }
        off += (size_t)n;
    }
    if (off > 0) {
        memmove(s->stdin_pending.data, s->stdin_pending.data + off, s->stdin_pending.len - off);
        s->stdin_pending.len -= off;
    }
    if (s->stdin_fd >= 0 && s->stdin_pending.len == 0 && s->stdin_closed && !s->req->tty)
        stdin_close(s);
    ck_loop_want(conn_loop(s->conn), &s->stdin_w, s->stdin_pending.len > 0 ? EPOLLOUT : 0);
    conn_pause_input(s->conn, s->stdin_pending.len > STDIN_PENDING_MAX);
}

static void stdin_ready(void *ctx, uint32_t events)
{
    (void)events;
    stdin_flush(ctx);
}

static void stdin_data(exec_session *s, const uint8_t *p, size_t n)
{
    if (s->stdin_closed || (s->started && (s->attach ? s->attach_fd : s->stdin_fd) < 0))
        return;
    ck_err err;
    if (ck_bytes_append(&s->stdin_pending, p, n, &err) < 0) {
        ck_warn("streaming", "%s: stdin dropped: %s", conn_what(s->conn), err.msg);
        return;
    }
    if (s->started && s->attach)
        attach_flush(s);
    else if (s->started)
        stdin_flush(s);
    else
        conn_pause_input(s->conn, s->stdin_pending.len > STDIN_PENDING_MAX);
}

/* ---- resize ------------------------------------------------------------------------------- */

static void resize_ready(void *ctx, uint32_t events);

static void resize_done(exec_session *s)
{
    ck_loop_unwatch(conn_loop(s->conn), &s->resize_w);
    close_fd(&s->resize_fd);
}

/* Sends the latest size to the monitor unless a resize is under way (its
 * end sends the next). */
static void attach_resize_next(exec_session *s)
{
    if (s->resize_fd >= 0 || !s->resize_wanted || s->attach_fd < 0 || s->mon.control[0] == '\0')
        return;
    s->resize_wanted = false;
    ck_err err;
    ck_err_clear(&err);
    s->resize_fd = ck_oci_resize_send(&s->mon, s->size.ws_row, s->size.ws_col, &err);
    if (s->resize_fd < 0) {
        ck_info("streaming", "%s: %s", conn_what(s->conn), err.msg);
        return;
    }
    s->resize_answer = (ck_oci_control_answer){0};
    s->resize_deadline = ck_mono_ms() + RESIZE_ANSWER_MS;
    if (ck_loop_watch(conn_loop(s->conn), &s->resize_w, s->resize_fd, EPOLLIN, resize_ready, s, &err) < 0) {
        ck_info("streaming", "%s: resize: %s", conn_what(s->conn), err.msg);
        close_fd(&s->resize_fd);
    }
}

static void resize_ready(void *ctx, uint32_t events)
{
    exec_session *s = ctx;
    (void)events;
    ck_err err;
    ck_err_clear(&err);
    int rc = ck_oci_resize_answer(s->resize_fd, &s->resize_answer, &err);
    if (rc == 1)
        return;
    if (rc < 0)
        ck_info("streaming", "%s: %s", conn_what(s->conn), err.msg);
    resize_done(s);
    attach_resize_next(s);
}

static void apply_size(exec_session *s)
{
    if (s->attach) {
        s->resize_wanted = s->has_size;
        attach_resize_next(s);
        return;
    }
    if (!s->has_size || s->tty_fd < 0)
        return;
    if (ioctl(s->tty_fd, TIOCSWINSZ, &s->size) < 0)
        ck_warn("streaming", "%s: resize: %s", conn_what(s->conn), strerror(errno));
    else if (s->running)
        kill(s->ex.proc.pid, SIGWINCH); /* runc resizes the container's console from ours */
}

/* The resize channel carries JSON objects {"Width":W,"Height":H}, one
 * after another over SPDY (a json.Encoder), one per message over
 * WebSocket; an object may arrive in pieces. */
static void resize_data(exec_session *s, const uint8_t *p, size_t n)
{
    if (s->resize_len + n > sizeof(s->resize_buf)) {
        ck_warn("streaming", "%s: resize message too long: dropped", conn_what(s->conn));
        s->resize_len = 0;
        return;
    }
    memcpy(s->resize_buf + s->resize_len, p, n);
    s->resize_len += n;
    size_t off = 0;
    while (off < s->resize_len) {
        json_error_t jerr;
        json_t *o = json_loadb(s->resize_buf + off, s->resize_len - off, JSON_DISABLE_EOF_CHECK, &jerr);
        if (o == NULL)
            break; /* incomplete: wait for more */
        off += (size_t)jerr.position;
        json_int_t w = json_integer_value(json_object_get(o, "Width"));
        json_int_t h = json_integer_value(json_object_get(o, "Height"));
        json_decref(o);
        if (w > 0 && h > 0 && w <= 0xffff && h <= 0xffff) {
            s->size = (struct winsize){.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
            s->has_size = true;
            apply_size(s);
        }
    }
    memmove(s->resize_buf, s->resize_buf + off, s->resize_len - off);
    s->resize_len -= off;
    while (s->resize_len > 0 && (s->resize_buf[0] == '\n' || s->resize_buf[0] == ' '))
        memmove(s->resize_buf, s->resize_buf + 1, --s->resize_len);
}

/* ---- attach: the container's stdio through its monitor ----------------------------------- */

static void attach_want(exec_session *s)
{
    if (s->attach_fd < 0)
        return;
    uint32_t ev = conn_congested(s->conn) ? 0 : EPOLLIN;
    if (s->stdin_pending.len > 0 || (s->stdin_closed && !s->attach_in_end_sent))
        ev |= EPOLLOUT;
    ck_loop_want(conn_loop(s->conn), &s->attach_w, ev);
}

static void attach_close(exec_session *s)
{
    ck_loop_unwatch(conn_loop(s->conn), &s->attach_w);
    close_fd(&s->attach_fd);
    resize_done(s);
    s->stdin_pending.len = 0;
}

/* Sends pending stdin as IN_DATA messages, then IN_END once the client
 * closed its stdin. A monitor that is gone takes nothing: its end of file
 * follows on the read side. */
static void attach_flush(exec_session *s)
{
    uint8_t msg[CK_MON_ATTACH_PACKET_MAX];
    size_t off = 0;
    while (s->attach_fd >= 0 && off < s->stdin_pending.len) {
        size_t n = s->stdin_pending.len - off;
        if (n > CK_MON_ATTACH_DATA_MAX)
            n = CK_MON_ATTACH_DATA_MAX;
        msg[0] = CK_MON_ATTACH_IN_DATA;
        memcpy(msg + 1, s->stdin_pending.data + off, n);
        ssize_t k = send(s->attach_fd, msg, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN)
            break;
        if (k < 0) {
            s->stdin_pending.len = off = 0;
            break;
        }
        off += n;
    }
    if (off > 0) {
        memmove(s->stdin_pending.data, s->stdin_pending.data + off, s->stdin_pending.len - off);
        s->stdin_pending.len -= off;
    }
    if (s->attach_fd >= 0 && s->stdin_pending.len == 0 && s->stdin_closed && !s->attach_in_end_sent) {
        const uint8_t end = CK_MON_ATTACH_IN_END;
        ssize_t k = send(s->attach_fd, &end, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k == 1 || (k < 0 && errno != EAGAIN && errno != EINTR))
            s->attach_in_end_sent = true;
    }
    conn_pause_input(s->conn, s->stdin_pending.len > STDIN_PENDING_MAX);
    attach_want(s);
}

/* One message from the monitor; end of file ends the session. */
static void attach_read(exec_session *s)
{
    uint8_t buf[CK_MON_ATTACH_PACKET_MAX];
    ssize_t n = recv(s->attach_fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0)
            ck_info("streaming", "%s: attach socket: %s", conn_what(s->conn), strerror(errno));
        attach_close(s);
        if (s->attach_ended) {
            ck_debug("streaming", "%s: the container's output ended", conn_what(s->conn));
            finish(s, 0, NULL);
        } else {
            ck_info("streaming", "%s: %s", conn_what(s->conn), ATTACH_DROPPED);
            finish(s, -1, ATTACH_DROPPED);
        }
        return;
    }
    if (n == 1 && buf[0] == CK_MON_ATTACH_END) {
        s->attach_ended = true;
        return;
    }
    int ch = buf[0] == CK_MON_ATTACH_STDOUT ? CH_STDOUT : buf[0] == CK_MON_ATTACH_STDERR ? CH_STDERR : -1;
    if (ch >= 0 && n > 1 && s->have[ch] && !conn_client_gone(s->conn))
        conn_send(s->conn, s->sid[ch], buf + 1, (size_t)n - 1);
    attach_want(s);
}

static void attach_ready(void *ctx, uint32_t events)
{
    exec_session *s = ctx;
    if (events & (EPOLLOUT | EPOLLERR))
        attach_flush(s);
    /* A hang-up is read through even while congested: what is left in
     * the socket is bounded, and its end ends the session. */
    if (s->attach_fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        attach_read(s);
}

static int start_attach(exec_session *s, ck_err *err)
{
    s->attach_fd = ck_container_attach(s->containers, s->req->container_id, err);
    if (s->attach_fd < 0)
        return ck_err_wrap(err, "error attaching to container");
    int fl = fcntl(s->attach_fd, F_GETFL);
    if (fl < 0 || fcntl(s->attach_fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "attach socket");
    if (ck_loop_watch(conn_loop(s->conn), &s->attach_w, s->attach_fd, 0, attach_ready, s, err) < 0)
        return -1;
    ck_err mon_err;
    ck_err_clear(&mon_err);
    if (s->req->tty && ck_container_monitor_files(s->containers, s->req->container_id, &s->mon, &mon_err) < 0)
        ck_info("streaming", "%s: resizes will be skipped: %s", conn_what(s->conn), mon_err.msg);
    apply_size(s);
    attach_flush(s);
    return 0;
}

/* ---- the process -------------------------------------------------------------------------- */

static void maybe_done(exec_session *s)
{
    if (s->attach || s->running || !s->out.eof || !s->err.eof || s->finished)
        return;
    ck_err err;
    ck_err_clear(&err);
    int code = 0;
    if (ck_oci_exec_outcome(&s->ex.rt, s->ex.id, &s->ex.proc, s->status, &code, &err) < 0) {
        finish(s, -1, err.msg);
        return;
    }
    finish(s, code, NULL);
}

static void process_exited(void *ctx, uint32_t events)
{
    exec_session *s = ctx;
    (void)events;
    int status;
    pid_t got = waitpid(s->ex.proc.pid, &status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR))
        return;
    s->status = got < 0 ? 255 << 8 : status;
    s->running = false;
    s->exited_at = ck_mono_ms();
    ck_loop_unwatch(conn_loop(s->conn), &s->pid_w);
    close_fd(&s->pidfd);
    maybe_done(s);
}

/* Our terminal for a tty exec: the master (ours, non-blocking) and the
 * slave (runc's stdio), raw so that neither side's bytes are translated
 * or echoed on the way. */
static int open_terminal(int *master, int *slave, ck_err *err)
{
    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (*master < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open a terminal");
    char name[64];
    *slave = -1;
    if (grantpt(*master) < 0 || unlockpt(*master) < 0 || ptsname_r(*master, name, sizeof(name)) != 0 ||
        (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        int saved = errno;
        close(*master);
        *master = -1;
        return ck_err_set(err, CK_E_INTERNAL, saved, "set up a terminal");
    }
    struct termios t;
    if (tcgetattr(*slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(*slave, TCSANOW, &t);
    }
    return 0;
}

/* A pipe whose end `ours` (0 or 1) is non-blocking. */
static int make_pipe(int p[2], int ours, ck_err *err)
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "pipe");
    if (fcntl(p[ours], F_SETFL, O_NONBLOCK) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "pipe");
    return 0;
}

/* runc's stdio (child[3], closed after the start) and our ends. */
static int make_stdio(exec_session *s, int child[3], ck_err *err)
{
    if (s->req->tty) {
        int master = -1, slave = -1;
        if (open_terminal(&master, &slave, err) < 0)
            return -1;
        s->tty_fd = master;
        s->out.fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
        s->stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
        child[0] = slave;
        child[1] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
        child[2] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
        s->err.eof = true;
        if (s->out.fd < 0 || s->stdin_fd < 0 || child[1] < 0 || child[2] < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "dup the terminal");
        return 0;
    }
    int p[2];
    if (s->req->in) {
        if (make_pipe(p, 1, err) < 0)
            return -1;
        child[0] = p[0];
        s->stdin_fd = p[1];
    } else {
        child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (make_pipe(p, 0, err) < 0)
        return -1;
    s->out.fd = p[0];
    child[1] = p[1];
    if (make_pipe(p, 0, err) < 0)
        return -1;
    s->err.fd = p[0];
    child[2] = p[1];
    if (child[0] < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open /dev/null");
    return 0;
}

static int watch_process(exec_session *s, ck_err *err)
{
    ck_loop *l = conn_loop(s->conn);
    s->pidfd = pidfd_open(s->ex.proc.pid, 0);
    if (s->pidfd < 0 && errno != ENOSYS)
        return ck_err_set(err, CK_E_INTERNAL, errno, "pidfd_open %d", (int)s->ex.proc.pid);
    /* Without pidfds (a kernel before 5.3, or valgrind) op_tick looks. */
    if (s->pidfd >= 0 && ck_loop_watch(l, &s->pid_w, s->pidfd, EPOLLIN, process_exited, s, err) < 0)
        return -1;
    if (ck_loop_watch(l, &s->out.w, s->out.fd, EPOLLIN, output_ready, &s->out, err) < 0)
        return -1;
    if (!s->err.eof && ck_loop_watch(l, &s->err.w, s->err.fd, EPOLLIN, output_ready, &s->err, err) < 0)
        return -1;
    if (s->stdin_fd >= 0 && ck_loop_watch(l, &s->stdin_w, s->stdin_fd, 0, stdin_ready, s, err) < 0)
        return -1;
    return 0;
}

static int start_process(exec_session *s, ck_err *err)
{
    int child[3] = {-1, -1, -1};
    int rc = make_stdio(s, child, err);
    if (rc == 0) {
        apply_size(s);
        rc = ck_container_exec_start(s->containers, s->req->container_id, (const char *const *)s->req->argv,
                                     s->req->tty, child, &s->ex, err);
    }
    for (int i = 0; i < 3; i++)
        close_fd(&child[i]);
    if (rc < 0)
        return -1;
    s->running = true;
    if (watch_process(s, err) < 0) {
        ck_oci_exec_kill(s->ex.proc.pid);
        return -1;
    }
    return 0;
}

static void start(exec_session *s)
{
    s->started = true;
    ck_err err;
    ck_err_clear(&err);
    if (s->attach) {
        if (start_attach(s, &err) < 0) {
            ck_info("streaming", "%s: %s", conn_what(s->conn), err.msg);
            attach_close(s);
            finish(s, -1, err.msg);
        } else {
            ck_debug("streaming", "%s: attached", conn_what(s->conn));
        }
        return;
    }
    if (start_process(s, &err) < 0) {
        ck_info("streaming", "%s: %s", conn_what(s->conn), err.msg);
        s->out.eof = s->err.eof = true;
        if (!s->running)
            finish(s, -1, err.msg);
        return;
    }
    ck_debug("streaming", "%s: started (runc pid %d)", conn_what(s->conn), (int)s->ex.proc.pid);
    if (s->stdin_pending.len > 0 || s->stdin_closed)
        stdin_flush(s);
}

static bool all_streams_here(const exec_session *s)
{
    for (int ch = 0; ch < N_CHANNELS; ch++)
        if (s->expect[ch] && !s->have[ch])
            return false;
    return true;
}

/* ---- session operations ---------------------------------------------------------------- */

static void op_start(void *p, ck_conn *c)
{
    exec_session *s = p;
    s->conn = c;
    s->streams_deadline = ck_mono_ms() + CK_STREAMS_TIMEOUT_MS;
    if (s->transport != CK_CONN_WEBSOCKET)
        return;
    for (int ch = 0; ch < N_CHANNELS; ch++) {
        s->have[ch] = s->expect[ch];
        s->sid[ch] = (uint32_t)ch;
    }
    /* The reference server's first message on each output channel: empty. */
    const int outputs[] = {CH_STDOUT, CH_STDERR, CH_ERROR};
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
        if (s->have[outputs[i]])
            conn_send(c, (uint32_t)outputs[i], "", 0);
    start(s);
}

static int channel_of_stream(const ck_spdy_frame *f)
{
    const ck_spdy_header *h = ck_spdy_header_find(f, "streamtype");
    for (int ch = 0; h != NULL && ch < N_CHANNELS; ch++)
        if (strcmp(h->value, channel_names[ch]) == 0)
            return ch;
    return -1;
}

static int op_stream_opened(void *p, uint32_t sid, const ck_spdy_frame *f)
{
    exec_session *s = p;
    int ch = channel_of_stream(f);
    if (ch < 0 || s->have[ch] || s->started) {
        ck_info("streaming", "%s: unexpected stream (streamType %s): reset", conn_what(s->conn),
                ch < 0 ? "unknown" : channel_names[ch]);
        return -1;
    }
    s->have[ch] = true;
    s->sid[ch] = sid;
    if (all_streams_here(s))
        start(s);
    return 0;
}

static int channel_of_sid(const exec_session *s, uint32_t sid)
{
    for (int ch = 0; ch < N_CHANNELS; ch++)
        if (s->have[ch] && s->sid[ch] == sid)
            return ch;
    return -1;
}

static void op_data(void *p, uint32_t sid, const uint8_t *d, size_t n)
{
    exec_session *s = p;
    int ch = channel_of_sid(s, sid);
    if (ch == CH_STDIN)
        stdin_data(s, d, n);
    else if (ch == CH_RESIZE)
        resize_data(s, d, n);
}

static void op_half_closed(void *p, uint32_t sid)
{
    exec_session *s = p;
    if (channel_of_sid(s, sid) != CH_STDIN || s->stdin_closed)
        return;
    s->stdin_closed = true;
    if (s->started && s->attach_fd >= 0)
        attach_flush(s);
    else if (s->started && s->stdin_fd >= 0)
        stdin_flush(s);
}

static void op_drained(void *p)
{
    exec_session *s = p;
    if (s->out.fd >= 0)
        output_want(s, &s->out);
    if (s->err.fd >= 0)
        output_want(s, &s->err);
    attach_want(s);
}

static void op_gone(void *p)
{
    exec_session *s = p;
    if (s->running) {
        ck_info("streaming", "%s: the client went away: killing the process", conn_what(s->conn));
        ck_oci_exec_kill(s->ex.proc.pid);
        s->killing = true;
    }
    stdin_close(s);
    if (s->attach_fd >= 0) /* the container runs on */
        attach_close(s);
    op_drained(s); /* output is read on, and dropped, until its end */
}

static void op_tick(void *p, long long now)
{
    exec_session *s = p;
    if (!s->started && !conn_client_gone(s->conn) && now >= s->streams_deadline) {
        ck_info("streaming", "%s: the client did not open its streams in %d s", conn_what(s->conn),
                CK_STREAMS_TIMEOUT_MS / 1000);
        s->started = true;
        finish(s, -1, "timed out waiting for the client's streams");
        return;
    }
    /* A client that left before runc started the process: the first kill
     * found nothing to kill, and runc goes on to start it. Kill again on
     * every tick until runc, whose child it is, has ended. */
    if (s->running && s->killing)
        ck_oci_exec_kill(s->ex.proc.pid);
    /* No pidfd to say when runc ended (or watching failed after the
     * start, the process killed): look on every tick. */
    if (s->running && s->pid_w.fd < 0)
        process_exited(s, 0);
    if (s->resize_fd >= 0 && now >= s->resize_deadline) {
        ck_info("streaming", "%s: resize: the monitor did not answer within %d ms: given up", conn_what(s->conn),
                RESIZE_ANSWER_MS);
        resize_done(s);
        attach_resize_next(s);
    }
    if (!s->running && s->started && !s->finished && s->exited_at > 0 && now - s->exited_at > OUTPUT_EOF_WAIT_MS) {
        ck_warn("streaming", "%s: output still open %d s after the exec ended: closing", conn_what(s->conn),
                OUTPUT_EOF_WAIT_MS / 1000);
        if (!s->out.eof)
            output_eof(s, &s->out);
        if (!s->err.eof)
            output_eof(s, &s->err);
    }
}

static bool op_busy(void *p)
{
    const exec_session *s = p;
    return s->running || (s->started && (!s->out.eof || !s->err.eof));
}

static void op_free(void *p)
{
    exec_session *s = p;
    if (s == NULL)
        return;
    if (s->conn != NULL) {
        ck_loop *l = conn_loop(s->conn);
        ck_loop_unwatch(l, &s->pid_w);
        ck_loop_unwatch(l, &s->stdin_w);
        ck_loop_unwatch(l, &s->out.w);
        ck_loop_unwatch(l, &s->err.w);
        ck_loop_unwatch(l, &s->attach_w);
        ck_loop_unwatch(l, &s->resize_w);
    }
    if (s->running) { /* the daemon stops: nothing may be left running */
        ck_oci_exec_kill(s->ex.proc.pid);
        waitpid(s->ex.proc.pid, NULL, 0);
    }
    close_fd(&s->pidfd);
    close_fd(&s->stdin_fd);
    close_fd(&s->tty_fd);
    close_fd(&s->out.fd);
    close_fd(&s->err.fd);
    close_fd(&s->attach_fd);
    close_fd(&s->resize_fd);
    ck_oci_exec_proc_close(&s->ex.proc);
    ck_bytes_free(&s->stdin_pending);
    ck_stream_request_free(s->req);
    free(s);
}

const ck_session_ops ck_exec_session_ops = {
    .start = op_start,
    .stream_opened = op_stream_opened,
    .data = op_data,
    .half_closed = op_half_closed,
    .drained = op_drained,
    .gone = op_gone,
    .tick = op_tick,
    .busy = op_busy,
    .free = op_free,
};

void *ck_exec_session_new(ck_stream_request *req, ck_containers *cs, ck_conn_transport transport, int version,
                          ck_err *err)
{
    exec_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        ck_stream_request_free(req);
        ck_err_oom(err, "exec session");
        return NULL;
    }
    s->req = req;
    s->containers = cs;
    s->transport = transport;
    s->version = version;
    s->pidfd = s->stdin_fd = s->tty_fd = s->out.fd = s->err.fd = s->attach_fd = s->resize_fd = -1;
    s->ex.proc.pid = -1;
    s->ex.proc.log_fd = -1;
    s->pid_w = s->stdin_w = s->out.w = s->err.w = s->attach_w = s->resize_w = (ck_watch)CK_WATCH_INIT;
    s->attach = req->kind == CK_STREAM_ATTACH;
    s->out.eof = s->err.eof = s->attach; /* attach has no pipes of ours */
    s->out.s = s->err.s = s;
    s->out.channel = CH_STDOUT;
    s->err.channel = CH_STDERR;
    s->expect[CH_ERROR] = true;
    s->expect[CH_STDIN] = req->in;
    s->expect[CH_STDOUT] = req->out;
    s->expect[CH_STDERR] = req->err && !req->tty;
    s->expect[CH_RESIZE] = req->tty && (version >= 3 || transport == CK_CONN_WEBSOCKET);
    return s;
}
