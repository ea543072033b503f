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

#include "common/err.h"
#include "config/config.h"

typedef struct ck_oci_runtime {
    const ck_runtime_handler *handler;
    char root[512]; /* --root */
} ck_oci_runtime;

/* Resolves the handler by name ("" = the default); CK_E_NOT_FOUND for an
 * unknown name, CK_E_UNAVAILABLE when its binary cannot run. */
int ck_oci_runtime_get(const ck_config *cfg, const char *name, ck_oci_runtime *rt, ck_err *err);

/* The files a monitored container leaves in its directory. container_log
 * and control are empty unless the caller fills them (a container's CRI log
 * and the monitor's control socket); the pause has neither, and its stdio
 * is /dev/null. */
typedef struct ck_oci_monitor_files {
    char pid_file[512];
    char exit_file[512];
    char log_file[512];      /* the runtime's own messages */
    char container_log[512]; /* the CRI log of stdout and stderr, "" = none */
    char control[512];       /* the monitor's control socket, "" = none (needs container_log) */
} ck_oci_monitor_files;

/* Fills the runtime's files under dir; container_log and control empty. */
void ck_oci_monitor_files_init(ck_oci_monitor_files *f, const char *dir);

/* Starts a cricket-monitor (through common/spawn, the sync pipe its one
 * kept descriptor) that runs `create` on the bundle; returns once the
 * container exists (created, not started) with its init pid. On failure the
 * runtime's own message is in err, or the monitor's when it could not
 * start. A create that takes longer than the handler's create_timeout is
 * killed by the monitor (CK_E_DEADLINE). */
int ck_oci_create(const ck_oci_runtime *rt, const char *id, const char *bundle, const ck_oci_monitor_files *files,
                  pid_t *pid_out, ck_err *err);
int ck_oci_start(const ck_oci_runtime *rt, const char *id, ck_err *err);
/* Asks the container's monitor (files->control) to reopen its CRI log;
 * returns once files->container_log exists again and what follows goes
 * there (ReopenContainerLog). A monitor that does not answer within
 * CK_OCI_CONTROL_TIMEOUT_MS is CK_E_DEADLINE; one that is gone (the
 * container exited) CK_E_PRECONDITION. */
enum { CK_OCI_CONTROL_TIMEOUT_MS = 10 * 1000 };
int ck_oci_reopen_log(const ck_oci_monitor_files *files, ck_err *err);
/* Sends sig to the init (all processes when all is set). A container that
 * no longer exists is CK_E_NOT_FOUND. */
int ck_oci_kill(const ck_oci_runtime *rt, const char *id, int sig, bool all, ck_err *err);
/* Says whether a container's main process still runs (an exit file
 * absent, its identity still matching); the caller knows how. */
typedef bool (*ck_oci_alive_fn)(void *arg);

/* The stop sequence of every container, the pause included: sig (SIGTERM
 * or the image's stop signal) to the init, up to grace_ms for it to exit,
 * then SIGKILL to all its processes and up to CK_OCI_KILL_WAIT_MS more.
 * Nothing is waited for that alive says cannot exist (a process already
 * gone, nothing left of a creation cut short); while alive says yes but the
 * runtime does not know the container yet (a monitor still creating it),
 * the signal is retried until it lands. 0 once it is gone; CK_E_DEADLINE
 * when even SIGKILL did not end it in time. The container is not deleted
 * (ck_oci_delete). */
enum { CK_OCI_KILL_WAIT_MS = 5000 };
int ck_oci_stop(const ck_oci_runtime *rt, const char *id, int sig, int grace_ms, ck_oci_alive_fn alive, void *arg,
                ck_err *err);
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

/* The oom_score_adj this daemon may give its containers: the requested
 * value, or when the host forbids lowering it (no CAP_SYS_RESOURCE), the
 * daemon's own value, with a warning logged once. */
int ck_oci_allowed_oom_score_adj(int requested);

#endif
