/*
 * protocol: how the daemon and a cricket-monitor speak, the one definition
 * both sides read. The daemon side is oci/runtime.c (ck_oci_create starts
 * the monitor, ck_oci_read_exit reads what it leaves, ck_oci_reopen_log,
 * ck_oci_resize and ck_oci_attach_connect speak to it); the monitor side is
 * containers/monitor/ (main.c the command line and create, io.c the
 * container's stdio, control.c, attach.c, exit_file.c). Only macros and constants: the
 * monitor stays a small binary without the daemon's libraries.
 *
 * 1. Command line. The daemon runs
 *        cricket-monitor --id ID --bundle DIR --runtime PATH
 *            [--runtime-arg ARG]... --pid-file F --exit-file F --log-file F
 *            --sync-fd N --create-timeout SECONDS
 *            [--container-log F] [--control SOCKET] [--attach SOCKET]
 *            [--stdin [--stdin-once]] [--tty] [--start]
 *    where the runtime args are the global ones (--root R, the handler's
 *    extra args) that come before `create`. A bad command line exits
 *    CK_MON_EXIT_USAGE with the usage on stderr. With none of the bracketed
 *    options after --create-timeout the container's stdio is /dev/null and
 *    the runtime log (the pause); with any of them the monitor holds the
 *    container's stdio (a container).
 *
 *    --container-log F: the container's output (stdout and stderr pipes, or
 *    the terminal, logged as stdout) goes into F in the CRI format, one
 *    record a line:
 *        "<RFC3339Nano UTC> <stdout|stderr> <F|P> <text>\n"
 *    (time with 9 digits, e.g. 2016-10-06T00:17:09.669794202Z; never
 *    earlier than the record before). A line longer than CK_MON_LOG_LINE_MAX
 *    bytes is cut into P records of that size, the rest follows; a trailing
 *    "\r" before the newline is dropped; text left when a stream ends
 *    without a newline is a P record (as containerd writes it). F exists
 *    (created CK_MON_LOG_MODE, appended to) before the sync line is sent.
 *    Without it the output is read all the same (attach clients get it).
 *    The monitor writes the exit file once the init exited and its output
 *    ended, or CK_MON_DRAIN_MS after the init's exit when something the
 *    init left behind still holds it.
 *
 *    --stdin: the container's stdin is a pipe whose write end the monitor
 *    holds, fed by attach clients (6), instead of /dev/null. It stays open
 *    across attaches, unless --stdin-once: then the first client that ends
 *    its stdin (CK_MON_ATTACH_IN_END, or going away after sending some)
 *    closes it, and the container reads end of file.
 *
 *    --start: the runtime runs `run --detach` instead of `create`, so the
 *    container is started when the sync line says ok (one runtime process
 *    less: the pause, which nothing has to see between created and
 *    started). --create-timeout bounds `run` the same way.
 *
 *    --tty: the runtime runs `create --console-socket S` (S a socket in a
 *    private directory under /tmp, gone after create); the monitor takes
 *    the pty master from it while `create` runs. The terminal's output is
 *    the container's stdout, and with --stdin the clients' stdin goes to
 *    it; --stdin-once ends it with one ^D (EOF for a reader in canonical
 *    mode), since a terminal has no input of its own to close.
 *
 * 2. Sync line. The monitor writes exactly one line on the sync descriptor
 *    and closes it:
 *        "ok <init pid>\n"     the container exists (created, not started;
                              started with --start)
 *        "error <text>\n"      it does not; text is the runtime's message
 *        "timeout <text>\n"    `create` outlived --create-timeout and was
 *                              killed with everything it started
 *    at most CK_MON_SYNC_LINE_MAX bytes. End of file without a line means
 *    the monitor died before it could say anything.
 *
 * 3. Exit file. When the container's init exits, the monitor writes
 *        "<exit code> <finished, ns since the epoch>\n"
 *    (the code is 128 + signal for a killed init) whole: temp file, fsync,
 *    rename. The daemon, maybe restarted since, reads nothing (running) or
 *    the complete record.
 *
 * 4. Control socket (--control SOCKET): a unix stream socket the monitor
 *    creates before the sync line. One request a connection, one line each
 *    way:
 *        "reopen\n"  -> "ok\n" once F (the original path) exists again,
 *                       opened anew: what follows goes there
 *                     -> "error <text>\n" when it could not be opened, or
 *                       without --container-log
 *        "resize <height> <width>\n"
 *                     -> "ok\n" once the terminal has that size (rows and
 *                       columns, 1 to 65535; TIOCSWINSZ on the master)
 *                     -> "error <text>\n" without --tty, or a bad size
 *    A request not read whole within CK_MON_CTL_TIMEOUT_MS is dropped.
 *
 * 5. Liveness. From before it runs `create` until it exits, the monitor
 *    holds an exclusive flock on the directory of its exit file. A daemon
 *    restarted after a crash tells "a monitor is still at work" (a create
 *    under way, or a container running) from "nobody is left" by trying
 *    that lock, without knowing the monitor's pid.
 *
 * 6. Attach socket (--attach SOCKET): a unix SOCK_SEQPACKET socket the
 *    monitor creates before the sync line; at most CK_MON_ATTACH_CLIENTS
 *    clients at once (one more is accepted and closed at once). Messages:
 *        monitor -> client: one byte, CK_MON_ATTACH_STDOUT (1) or
 *            CK_MON_ATTACH_STDERR (2), then the data (1 to
 *            CK_MON_ATTACH_DATA_MAX bytes): a copy of the output the
 *            container wrote while the client was attached (it goes to the
 *            CRI log all the same); with --tty all output is stream 1.
 *        client -> monitor: one byte of kind, then:
 *            CK_MON_ATTACH_IN_DATA (0): bytes of stdin, at most
 *                CK_MON_ATTACH_DATA_MAX a message (a longer one is cut);
 *                read only with --stdin, discarded without;
 *            CK_MON_ATTACH_IN_END (1), alone: the client's stdin ended
 *                (see --stdin-once), even if it sent none: a client with
 *                stdin says so when its stdin closes, so a stdin-less
 *                client (only watching the output) can come and go.
 *            A client that shuts down or closes without IN_END ends its
 *            stdin only if it sent some; another kind drops the client.
 *    A client never blocks the container or the log: a message it has no
 *    room for drops the client (its socket is closed: it sees end of file
 *    early, never a gap in the middle). While the container's stdin is
 *    full, clients' stdin is not read (they wait; output still flows).
 *    When the container has exited and its output ended, every client
 *    gets the last output, then CK_MON_ATTACH_END (3) alone, then end of
 *    file (the socket closes). End of file without CK_MON_ATTACH_END is
 *    a client that was dropped while the container runs on (or a monitor
 *    that died).
 */
#ifndef CK_MONITOR_PROTOCOL_H
#define CK_MONITOR_PROTOCOL_H

/* 1. Command line: long option names, without the leading "--". */
#define CK_MON_OPT_ID "id"
#define CK_MON_OPT_BUNDLE "bundle"
#define CK_MON_OPT_RUNTIME "runtime"
#define CK_MON_OPT_RUNTIME_ARG "runtime-arg"
#define CK_MON_OPT_PID_FILE "pid-file"
#define CK_MON_OPT_EXIT_FILE "exit-file"
#define CK_MON_OPT_LOG_FILE "log-file"
#define CK_MON_OPT_SYNC_FD "sync-fd"
#define CK_MON_OPT_CREATE_TIMEOUT "create-timeout"
#define CK_MON_OPT_CONTAINER_LOG "container-log"
#define CK_MON_OPT_CONTROL "control"
#define CK_MON_OPT_ATTACH "attach"
#define CK_MON_OPT_STDIN "stdin"
#define CK_MON_OPT_STDIN_ONCE "stdin-once"
#define CK_MON_OPT_TTY "tty"
#define CK_MON_OPT_START "start"

enum {
    CK_MON_MAX_RUNTIME_ARGS = 16, /* --runtime-arg given more often is a usage error */
    CK_MON_EXIT_USAGE = 2,        /* the monitor's status for a bad command line */
};

/* 2. Sync line: the three prefixes, each followed by its text and "\n". */
#define CK_MON_SYNC_OK "ok "
#define CK_MON_SYNC_ERROR "error "
#define CK_MON_SYNC_TIMEOUT "timeout "

enum { CK_MON_SYNC_LINE_MAX = 4096 };

/* 3. Exit file: printf format of the record, with an int code and a long
 * long time, and the room it takes at most. */
#define CK_MON_EXIT_FORMAT "%d %lld\n"

enum { CK_MON_EXIT_RECORD_MAX = 64 };

/* The CRI log: the two stream names and the two tags. */
#define CK_MON_LOG_STDOUT "stdout"
#define CK_MON_LOG_STDERR "stderr"
#define CK_MON_LOG_FULL 'F'
#define CK_MON_LOG_PARTIAL 'P'

enum {
    CK_MON_LOG_LINE_MAX = 16 * 1024, /* longest text of one record */
    CK_MON_LOG_MODE = 0640,
    CK_MON_DRAIN_MS = 2000,
};

/* 4. Control socket: the request and the answers, each one line. */
#define CK_MON_CTL_REOPEN "reopen\n"
#define CK_MON_CTL_RESIZE "resize " /* then "%u %u\n": height, width */
#define CK_MON_CTL_OK "ok\n"
#define CK_MON_CTL_ERROR "error "

enum { CK_MON_CTL_TIMEOUT_MS = 2000, CK_MON_CTL_LINE_MAX = 512 };

/* 6. Attach socket: the stream byte of each output message, and sizes. */
enum {
    CK_MON_ATTACH_STDOUT = 1,
    CK_MON_ATTACH_STDERR = 2,
    CK_MON_ATTACH_END = 3,     /* alone: the container exited, its output ended */
    CK_MON_ATTACH_IN_DATA = 0, /* client -> monitor kinds */
    CK_MON_ATTACH_IN_END = 1,
    CK_MON_ATTACH_CLIENTS = 16,
    CK_MON_ATTACH_DATA_MAX = 16 * 1024,
    CK_MON_ATTACH_PACKET_MAX = 1 + CK_MON_ATTACH_DATA_MAX, /* a message's room, either way */
};

#endif
