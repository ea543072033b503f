/*
 * cricket-monitor's pieces: the options it is started with, the
 * container's stdio it holds (io.c), the attach clients (attach.c), the
 * terminal (console.c), the control socket (control.c) and the exit file
 * it leaves behind for the daemon. What they mean on the wire is in
 * protocol.h, which the daemon reads too.
 */
#ifndef CK_MONITOR_MONITOR_H
#define CK_MONITOR_MONITOR_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "containers/monitor/log_writer.h"
#include "containers/monitor/protocol.h"

typedef struct mon_opts {
    const char *id;                                    /* container id */
    const char *bundle;                                /* OCI bundle dir */
    const char *runtime;                               /* absolute path of runc/crun */
    const char *runtime_args[CK_MON_MAX_RUNTIME_ARGS]; /* global args: --root R, extra_args */
    int n_runtime_args;
    const char *pid_file;      /* where the runtime writes the init's pid */
    const char *exit_file;     /* the exit record (protocol.h) once the init exits */
    const char *log_file;      /* the runtime's stderr (create errors) */
    int sync_fd;               /* gets the one sync line (protocol.h), then closed */
    unsigned create_timeout;   /* seconds `create` may take, then it is killed; 0 = no bound */
    const char *container_log; /* the CRI log; NULL: output is not logged */
    const char *control;       /* the control socket; NULL: none */
    const char *attach;        /* the attach socket; NULL: none */
    bool stdin_open;           /* --stdin: a pipe the monitor feeds, not /dev/null */
    bool stdin_once;           /* --stdin-once: closed when the first stdin client ends */
    bool tty;                  /* --tty: a terminal through --console-socket */
    bool start;                /* --start: `run --detach` instead of `create` */
} mon_opts;

/* True when the monitor holds the container's stdio (a container), false
 * for /dev/null stdio (the pause). */
bool mon_opts_hold_stdio(const mon_opts *o);

/* One attach client (attach.c). */
typedef struct mon_client {
    int fd;          /* -1: a free slot */
    bool reading;    /* its stdin has not ended: it is read */
    bool sent_stdin; /* it sent at least one byte of stdin */
} mon_client;

typedef struct mon_attach {
    int lfd; /* listening, non-blocking; -1 without --attach */
    mon_client clients[CK_MON_ATTACH_CLIENTS];
} mon_attach;

/* The container's stdio when the monitor holds it (io.c): pipes for its
 * stdout and stderr or the terminal, the stdin it feeds, the CRI log, the
 * attach clients and the control socket. */
typedef struct mon_io {
    const mon_opts *o;
    int out_r, err_r; /* read ends (with --tty out_r reads the terminal), non-blocking; -1 once ended */
    int out_w, err_w; /* write ends, the runtime's stdout and stderr; closed after create */
    int in_r;         /* the stdin pipe's read end, the runtime's stdin; closed after create */
    int in_w;         /* where clients' stdin goes (pipe, or the terminal); -1 without or once closed */
    bool in_closing;  /* --stdin-once: close in_w once in_buf is written */
    size_t in_len;    /* bytes of in_buf not yet written to in_w (clients are not read meanwhile) */
    int console;      /* the pty master (--tty), for resize; -1 */
    int console_lfd;  /* the console socket while create runs; -1 */
    char console_dir[64];
    int ctl; /* listening control socket, -1 without one */
    mon_attach attach;
    mon_log log;
    char in_buf[CK_MON_ATTACH_DATA_MAX + 1];
} mon_io;

/* Creates the log file, the pipes, the console, attach and control
 * sockets. 0, or -1 with the cause in why. */
int mon_io_open(const mon_opts *o, mon_io *io, char *why, size_t cap);
/* While create runs (--tty): takes the terminal the runtime sends on the
 * console socket. 0 once it is there, -1 not yet. */
int mon_io_take_console(const mon_opts *o, mon_io *io);
/* After create: closes the runtime's ends and the console socket, and
 * copies what the runtime itself wrote on the pipes (the container is not
 * started yet) to fd 2, the runtime log. With --start the container runs
 * already and what the pipes hold is its output, left for the CRI log
 * (mon_io_runtime_failed copies it when the runtime failed). -1 with why
 * when --tty and no terminal came. */
int mon_io_after_create(const mon_opts *o, mon_io *io, char *why, size_t cap);
/* The runtime exited non-zero: what it wrote on the pipes is its message,
 * copied to fd 2, the runtime log. */
void mon_io_runtime_failed(const mon_io *io);
/* Copies the container's output into the log and to attach clients,
 * their stdin to the container, and serves the control socket until the
 * init (pid) has exited and its output ended, or CK_MON_DRAIN_MS after
 * its exit. Gives its wait status and the time it was reaped. SIGCHLD
 * must be blocked. */
void mon_io_run(const mon_opts *o, mon_io *io, pid_t init, int *status, int64_t *finished_ns);

/* Children reaped while the monitor waited for another: with `run
 * --detach` the container's init can end (and be reaped as ours) before
 * the runtime itself has; its status is kept here for the wait that wants
 * it (main.c). True, with status and time, when pid was reaped so. */
void mon_reaped_keep(pid_t pid, int status);
bool mon_reaped_take(pid_t pid, int *status, int64_t *at_ns);
/* Closes everything (attach clients see end of file) and removes the
 * sockets. */
void mon_io_close(const mon_opts *o, mon_io *io);
/* A signalfd for SIGCHLD (which must be blocked), non-blocking: fd or -1;
 * and reading what it holds, so poll() waits again. */
int mon_sigchld_fd(void);
void mon_sigchld_drain(int sfd);
/* The log file opened for appending (created CK_MON_LOG_MODE): fd or -1. */
int mon_log_open(const char *path);

/* A listening unix socket of type (SOCK_STREAM, SOCK_SEQPACKET) at path,
 * any length (common/unix_addr), non-blocking, replacing what was there;
 * -1 with errno. */
int mon_unix_listen(const char *path, int type, int backlog);

/* Control socket (control.c): answers one connection waiting on the
 * listening socket lfd. */
void mon_ctl_serve(int lfd, const mon_opts *o, mon_io *io);

/* Attach socket (attach.c). */
int mon_attach_listen(mon_attach *a, const char *path);
/* Fills p[0] with the listener and p[1 ..] with the clients (fd -1 for
 * free slots, and for all when !read_clients): 1 + CK_MON_ATTACH_CLIENTS. */
void mon_attach_pollfds(const mon_attach *a, struct pollfd *p, bool read_clients);
/* Accepts one waiting client (closes it at once when all slots are taken). */
void mon_attach_accept(mon_attach *a);
/* Sends data (n <= CK_MON_ATTACH_DATA_MAX) on stream to every client; a
 * client without room is dropped. Returns how many dropped clients had
 * sent stdin without ending it. */
int mon_attach_send(mon_attach *a, int stream, const char *data, size_t n);
/* Client i had revents: reads one message into buf (cap bytes): its
 * length, or 0. *stdin_ended is set when a client that sent stdin has now
 * ended it (shutdown, close, error). */
size_t mon_attach_read(mon_attach *a, int i, short revents, char *buf, size_t cap, bool *stdin_ended);
/* The container exited and its output ended: tells every client so
 * (CK_MON_ATTACH_END), telling that end from a client dropped for lagging. */
void mon_attach_end(mon_attach *a);
/* Closes the clients and the listener; removes path. */
void mon_attach_close(mon_attach *a, const char *path);

/* Terminal (console.c). A console socket in a new private directory under
 * /tmp (its path in dir/console): fd, or -1 with errno. */
int mon_console_listen(char *dir, size_t cap);
/* The socket's path in dir, into path: path. */
const char *mon_console_path(const char *dir, char *path, size_t cap);
/* The pty master a runtime sends on one connection waiting on lfd: fd
 * (close-on-exec, non-blocking), or -1. */
int mon_console_receive(int lfd);
/* Closes lfd and removes the socket and its directory. */
void mon_console_remove(int *lfd, char *dir);
/* TIOCSWINSZ: 0, or -1 with errno. */
int mon_console_resize(int master, unsigned height, unsigned width);

/* Writes the exit file whole (temp + fsync + rename). Returns 0 or -1. */
int mon_write_exit_file(const char *path, int code, int64_t finished_at_ns);

#endif
