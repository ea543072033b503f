/*
 * runtime: invocation of an OCI runtime CLI (runc, crun) for one handler:
 * create (through a cricket-monitor, which becomes the parent of the
 * container's init), start, kill, delete and state. Each daemon passes its
 * own --root (the handler's `root`, else <state_dir>/runtime/<handler>), so
 * several daemons on one host never see each other's containers.
 */
#ifndef CK_OCI_RUNTIME_H
#define CK_OCI_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cancel.h"
#include "common/err.h"
#include "common/proc.h"
#include "config/config.h"

typedef struct ck_oci_runtime {
    const ck_runtime_handler *handler;
    char root[512]; /* --root */
} ck_oci_runtime;

/* Resolves the handler by name ("" = the default); CK_E_NOT_FOUND for an
 * unknown name, CK_E_UNAVAILABLE when its binary cannot run. */
int ck_oci_runtime_get(const ck_config *cfg, const char *name, ck_oci_runtime *rt, ck_err *err);

/* The runtime's command line before its verb: path, --root R and the
 * handler's extra arguments, into argv; returns how many (at most max, and
 * max >= 3). */
size_t ck_oci_base_args(const ck_oci_runtime *rt, const char **argv, size_t max);

/* The files a monitored container leaves in its directory, and how the
 * monitor holds its stdio. container_log, control and attach are empty
 * and the flags false unless the caller sets them; with all of them so
 * (the pause) the stdio is /dev/null, with any set the monitor holds it
 * (a container: protocol.h, 1). */
typedef struct ck_oci_monitor_files {
    char pid_file[512];
    char exit_file[512];
    char log_file[512];      /* the runtime's own messages */
    char container_log[512]; /* the CRI log of stdout and stderr, "" = none */
    char control[512];       /* the monitor's control socket, "" = none */
    char attach[512];        /* the monitor's attach socket, "" = none */
    bool stdin_open;         /* CRI stdin: a pipe attach clients feed, not /dev/null */
    bool stdin_once;         /* CRI stdin_once: closed when the first stdin client ends */
    bool tty;                /* CRI tty: a terminal (process.terminal in the spec) */
    bool start;              /* `run --detach`: started at once (a container's or pause's start) */
} ck_oci_monitor_files;

/* Fills the runtime's files under dir; the rest empty. */
void ck_oci_monitor_files_init(ck_oci_monitor_files *f, const char *dir);

/* Starts a cricket-monitor (through common/spawn, the sync pipe its one
 * kept descriptor) that runs `create` on the bundle (`run --detach` with
 * files->start, what every caller asks now); returns once the container
 * exists (created, or started with start) with its init pid. On failure the
 * runtime's own message is in err, or the monitor's when it could not
 * start. A create that takes longer than the handler's create_timeout is
 * killed by the monitor (CK_E_DEADLINE). */
int ck_oci_create(const ck_oci_runtime *rt, const char *id, const char *bundle, const ck_oci_monitor_files *files,
                  pid_t *pid_out, ck_err *err);
/* Asks the container's monitor (files->control) to reopen its CRI log;
 * returns once files->container_log exists again and what follows goes
 * there (ReopenContainerLog). A monitor that does not answer within
 * CK_OCI_CONTROL_TIMEOUT_MS is CK_E_DEADLINE; one that is gone (the
 * container exited) CK_E_PRECONDITION. */
enum { CK_OCI_CONTROL_TIMEOUT_MS = 10 * 1000 };
int ck_oci_reopen_log(const ck_oci_monitor_files *files, ck_err *err);
/* Sets the container's terminal to height rows and width columns (1 to
 * 65535) through its monitor's control socket, for the streaming server's
 * resize stream. A container without a terminal is CK_E_PRECONDITION, as
 * is a monitor that is gone; CK_E_DEADLINE as for reopen. */
int ck_oci_resize(const ck_oci_monitor_files *files, unsigned height, unsigned width, ck_err *err);
/* The same without waiting, for an event loop: ck_oci_resize_send connects
 * and sends the request without blocking (a descriptor, non-blocking and
 * close-on-exec, or -1: a monitor that is gone or busy is
 * CK_E_PRECONDITION). When it is readable, ck_oci_resize_answer (a zeroed
 * at first) reads the answer: 1 while it is incomplete, 0 when the monitor
 * resized, -1 with its reason. The caller bounds the wait and closes it. */
typedef struct ck_oci_control_answer {
    char line[512];
    size_t len;
} ck_oci_control_answer;
int ck_oci_resize_send(const ck_oci_monitor_files *files, unsigned height, unsigned width, ck_err *err);
int ck_oci_resize_answer(int fd, ck_oci_control_answer *a, ck_err *err);
/* Connects to the container's attach socket (files->attach; protocol.h,
 * 6): a SOCK_SEQPACKET descriptor (close-on-exec, blocking) the caller
 * owns, or -1. Read messages of up to CK_MON_ATTACH_PACKET_MAX bytes: a
 * stream byte (1 stdout, 2 stderr) and the output; write stdin as it
 * comes; shutdown(SHUT_WR) ends it. End of file: the container exited and
 * its output ended, or the monitor dropped this slow reader. A monitor
 * that is gone (or has no attach socket) is CK_E_PRECONDITION. */
int ck_oci_attach_connect(const ck_oci_monitor_files *files, ck_err *err);
/* Sends sig to the init (all processes when all is set). A container that
 * no longer exists is CK_E_NOT_FOUND. */
int ck_oci_kill(const ck_oci_runtime *rt, const char *id, int sig, bool all, ck_err *err);
/* Says whether a container's main process still runs (an exit file
 * absent, its identity still matching); the caller knows how. */
typedef bool (*ck_oci_alive_fn)(void *arg);

/* The stop sequence of every container, the pause included: sig (SIGTERM
 * or the image's stop signal) to the init, up to grace_ms for it to exit
 * (none when grace_ms is 0), then SIGKILL to all its processes and up to
 * CK_OCI_KILL_WAIT_MS more. We send the signals ourselves when init, its
 * recorded identity, is given and still names it (SIGKILL only when it is
 * pid 1 of its own PID namespace); else the runtime does. Nothing is waited
 * for that alive says cannot exist (a process already gone, nothing left of
 * a creation cut short); while alive says yes but the runtime does not know
 * the container yet (a monitor still creating it), the signal is retried
 * until it lands. 0 once it is gone; CK_E_DEADLINE when even SIGKILL did
 * not end it in time. The container is not deleted (ck_oci_delete). */
enum { CK_OCI_KILL_WAIT_MS = 5000 };
int ck_oci_stop(const ck_oci_runtime *rt, const char *id, const ck_proc_id *init, int sig, int grace_ms,
                ck_oci_alive_fn alive, void *arg, ck_err *err);
/* `update --resources FILE` (a linux.resources JSON): the container's
 * cgroup gets the new limits. Unknown id: CK_E_NOT_FOUND. */
int ck_oci_update(const ck_oci_runtime *rt, const char *id, const char *resources_file, ck_err *err);

/* `delete --force`; a container that does not exist is fine. */
int ck_oci_delete(const ck_oci_runtime *rt, const char *id, ck_err *err);
/* The runtime's status ("created", "running", "stopped") and pid. Unknown
 * id: CK_E_NOT_FOUND. */
int ck_oci_state(const ck_oci_runtime *rt, const char *id, char *status, size_t size, pid_t *pid, ck_err *err);

/* True while a monitor is at work on these files (protocol.h, 5): a
 * create under way or a container running, whether or not this daemon
 * started it. */
bool ck_oci_monitor_running(const ck_oci_monitor_files *files);

/* Reads a monitor's exit file: 1 when the container has exited (code and
 * time filled), 0 when not yet, -1 on error. */
int ck_oci_read_exit(const ck_oci_monitor_files *files, int *code, long long *finished_at_ns, ck_err *err);

/* Once the init is gone its monitor still copies what is left in the
 * pipes (at most CK_MON_DRAIN_MS) before it writes the exit file: waits
 * for the file, for the monitor to end, or for that bound and a second. */
void ck_oci_wait_exit_file(const ck_oci_monitor_files *files);

/* ExecSync's result (oci/exec.c). */
typedef struct ck_exec_result {
    int exit_code; /* 128+signal when killed */
    bool timed_out;
    char *out, *err; /* exactly what the process wrote (may hold NULs): lengths below; free them */
    size_t out_len, err_len;
    bool out_truncated, err_truncated; /* more than cap was written: the rest dropped */
} ck_exec_result;

void ck_exec_result_clear(ck_exec_result *r);

/* ExecSync's cap on each stream. */
#define CK_EXEC_SYNC_OUTPUT_CAP ((size_t)16 << 20)

/* Runs argv in container id through the runtime's `exec` (no tty, no
 * stdin: it reads end of file), with the environment, user and working
 * directory of the container's own process.
 * timeout_s > 0: when it is reached the process and everything it started
 * is killed, and the process is dead and reaped when this returns:
 * r->timed_out set, CK_E_DEADLINE with a message naming the command and the
 * timeout. Output is capped at cap bytes per stream (0: ExecSync's
 * CK_EXEC_SYNC_OUTPUT_CAP). cancel (may be NULL): the call ended (client
 * gone): killed the same way, CK_E_CANCELLED.
 * The process ran: 0, with its exit code and exact output in r. It never
 * started: -1 with the runtime's message: CK_E_NOT_FOUND for a container
 * the runtime does not know, CK_E_PRECONDITION for one that is not running,
 * CK_E_INVALID for a command that cannot be run there (no such executable),
 * CK_E_INTERNAL otherwise. Clear r whatever the result: after a timeout
 * or a cancel it holds what the process wrote until then. */
int ck_oci_exec_sync(const ck_oci_runtime *rt, const char *id, const char *const *argv, int timeout_s, size_t cap,
                     const ck_cancel *cancel, ck_exec_result *r, ck_err *err);

/* A streamed exec: `runc exec` left running with the caller's stdio. runc
 * stays the parent of the process, copies its stdio to and from ours and
 * exits with its status (128+signal when killed), or with 255 and its own
 * message in log_fd when the process never started. */
typedef struct ck_oci_exec_proc {
    pid_t pid;  /* runc, in its own process group: the caller waits for it */
    int log_fd; /* runc's JSON log (a memfd) */
} ck_oci_exec_proc;

/* Starts argv in container id with stdio[0..2] as runc's stdin, stdout and
 * stderr. tty: runc gives the process a console of the container and
 * copies between it and stdio, which must then be a terminal (its size is
 * the console's: after a change, send SIGWINCH to the pid). Returns once
 * runc runs; what becomes of the command is ck_oci_exec_outcome's. */
int ck_oci_exec_start(const ck_oci_runtime *rt, const char *id, const char *const *argv, bool tty, const int stdio[3],
                      ck_oci_exec_proc *out, ck_err *err);
/* Kills the process runc started and everything it started, as ExecSync's
 * timeout does, without waiting: runc reaps it and exits. */
void ck_oci_exec_kill(pid_t runc);
/* Once runc exited with status (from waitpid): the process's exit code in
 * *exit_code; -1 with runc's message when runc itself failed. */
int ck_oci_exec_outcome(const ck_oci_runtime *rt, const char *id, const ck_oci_exec_proc *p, int status, int *exit_code,
                        ck_err *err);
void ck_oci_exec_proc_close(ck_oci_exec_proc *p);

/* The oom_score_adj this daemon may give its containers: the requested
 * value, or when the host forbids lowering it (no CAP_SYS_RESOURCE), the
 * daemon's own value, with a warning logged once. */
int ck_oci_allowed_oom_score_adj(int requested);

#endif
