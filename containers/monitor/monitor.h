/*
 * cricket-monitor's pieces: the options it is started with, and the exit
 * file it leaves behind for the daemon. What they mean on the wire is in
 * protocol.h, which the daemon reads too.
 */
#ifndef CK_MONITOR_MONITOR_H
#define CK_MONITOR_MONITOR_H

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
    const char *container_log; /* the CRI log; NULL: the container's stdio is /dev/null */
    const char *control;       /* the control socket (with container_log only); NULL: none */
} mon_opts;

/* The container's stdio when it is logged (io.c): pipes for its stdout and
 * stderr, the CRI log they go to, and the control socket that reopens it. */
typedef struct mon_io {
    int out_r, err_r; /* read ends, non-blocking; -1 once ended */
    int out_w, err_w; /* write ends, the runtime's stdout and stderr; closed after create */
    int ctl;          /* listening control socket, -1 without one */
    mon_log log;
} mon_io;

/* Creates the log file, the pipes and the control socket. 0, or -1 with
 * the cause in why. */
int mon_io_open(const mon_opts *o, mon_io *io, char *why, size_t cap);
/* After create: closes the write ends, and copies what the runtime itself
 * wrote on the pipes (the container is not started yet) to fd 2, the
 * runtime log. */
void mon_io_after_create(mon_io *io);
/* Copies the container's output into the log and serves the control
 * socket until the init (pid) has exited and both pipes ended, or
 * CK_MON_DRAIN_MS after its exit. Gives its wait status and the time it
 * was reaped. SIGCHLD must be blocked. */
void mon_io_run(const mon_opts *o, mon_io *io, pid_t init, int *status, int64_t *finished_ns);
/* Closes everything and removes the control socket. */
void mon_io_close(const mon_opts *o, mon_io *io);
/* The log file opened for appending (created CK_MON_LOG_MODE): fd or -1. */
int mon_log_open(const char *path);

/* Control socket (control.c): a listening socket at path, non-blocking;
 * -1 with errno. */
int mon_ctl_listen(const char *path);
/* Answers one connection waiting on the listening socket lfd. */
void mon_ctl_serve(int lfd, const char *log_path, mon_log *log);

/* Writes the exit file whole (temp + fsync + rename). Returns 0 or -1. */
int mon_write_exit_file(const char *path, int code, int64_t finished_at_ns);

#endif
