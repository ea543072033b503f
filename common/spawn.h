/*
 * spawn: the one way the daemon starts another program (an OCI runtime
 * verb, a CNI plugin, a cricket-monitor). posix_spawn, no fork of the big
 * daemon, and every child gets the same hygiene:
 *   - its three standard streams are pipes to us (stdin fed from `input`,
 *     stdout and stderr collected), and no other descriptor of ours: all
 *     above 2 are closed in the child, except those the caller asks to keep,
 *     which arrive as 3, 4, ... in the order given;
 *   - an environment without systemd's per-service variables
 *     (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*): runc acts on NOTIFY_SOCKET, and
 *     the others name this daemon's pid and descriptors;
 *   - its own process group, so a timeout kills the child and whatever it
 *     started, and default signal dispositions with nothing blocked.
 * A call returns when the child has exited and its output pipes are closed,
 * or, after the timeout (or a cancel), once the group is killed and its
 * pipes drained for at most a short grace (a descendant that left the group
 * and still holds a pipe is given up on, never waited for). A child whose
 * work runs outside its group (`runc exec`: the process is in a session of
 * its own, and runc must stay alive to reap it) gives a stop hook, called
 * first; the group is killed only if the child has not exited
 * CK_SPAWN_STOP_GRACE_MS after it.
 */
#ifndef CK_COMMON_SPAWN_H
#define CK_COMMON_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cancel.h"
#include "common/err.h"
#include "common/fs.h"

typedef struct ck_spawn_result {
    int status; /* exit code, or 128 + signal when killed */
    char *out;  /* stdout, NUL-terminated (free); may hold NULs: out_len */
    size_t out_len;
    char *errout; /* stderr, NUL-terminated (free); may hold NULs: err_len */
    size_t err_len;
    bool out_truncated, err_truncated; /* more than the cap was written: the rest dropped */
    bool timed_out;                    /* ended after timeout_ms */
    bool cancelled;                    /* ended because opts->cancel said so */
} ck_spawn_result;

enum {
    CK_SPAWN_MAX_KEPT_FDS = 8,
    CK_SPAWN_OUTPUT_MAX = 4 << 20, /* bytes kept per stream unless opts->output_cap says */
    CK_SPAWN_STOP_GRACE_MS = 2000, /* after opts->stop, until the group is killed */
};

/* At the timeout or a cancel: ends the child's work (pid is the child,
 * not yet reaped) so that the child exits by itself. Must not block long:
 * the call's bound waits for it. */
typedef void (*ck_spawn_stop_fn)(pid_t pid, void *arg);

typedef struct ck_spawn_opts {
    const char *const *env;  /* the child's environment; NULL = the daemon's (cleaned either way) */
    const char *input;       /* written to stdin, which is then closed; NULL = nothing */
    const int *keep_fds;     /* descriptors the child keeps: keep_fds[i] is its 3 + i */
    size_t n_keep_fds;       /* at most CK_SPAWN_MAX_KEPT_FDS */
    int timeout_ms;          /* then the child is ended (stop, else its group killed); 0 = never */
    size_t output_cap;       /* bytes kept per stream; 0 = CK_SPAWN_OUTPUT_MAX */
    const ck_cancel *cancel; /* polled every CK_CANCEL_POLL_MS: ends the child as the timeout does */
    ck_spawn_stop_fn stop;   /* NULL: the group is killed at once */
    void *stop_arg;
} ck_spawn_opts;

/* Runs argv[0] (an absolute path) with argv as opts say. Output beyond the
 * cap is dropped (res->*_truncated). After opts->timeout_ms (or a cancel)
 * the child is ended: opts->stop, then its process group killed if need be
 * (res->timed_out or res->cancelled; status 128+9 when killed). Fails only
 * when the program cannot be run; a non-zero exit is in res->status. */
int ck_spawn_run(const char *const *argv, const ck_spawn_opts *opts, ck_spawn_result *res, ck_err *err);

/* Starts argv[0] with the same hygiene as ck_spawn_run, but with the
 * caller's descriptors as its stdin, stdout and stderr (std[i] becomes
 * its i; opts->keep_fds are kept as 3, 4, ...; the other opts fields are
 * ignored), and returns at once: *pid is the caller's to wait for (a
 * pidfd of it tells when), its group the caller's to kill. The streamed
 * exec's way to run `runc exec` whose stdio is a client's. */
int ck_spawn_start(const char *const *argv, const ck_spawn_opts *opts, const int std[3], pid_t *pid, ck_err *err);

/* ck_spawn_run with envp, input and timeout_ms, keeping no descriptor. */
int ck_spawn(const char *const *argv, const char *const *envp, const char *input, int timeout_ms, ck_spawn_result *res,
             ck_err *err);
void ck_spawn_result_clear(ck_spawn_result *res);

/* True for the variables no child inherits (NOTIFY_SOCKET=..., WATCHDOG_*,
 * LISTEN_*); entry is "NAME=value". */
bool ck_spawn_env_withheld(const char *entry);

/* The directory of the running executable joined with name
 * ("/usr/bin" + "cricket-monitor"). Returns 0 or -1 (err filled). */
int ck_exe_sibling(const char *name, char *buf, size_t size, ck_err *err);

#endif
