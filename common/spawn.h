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
 * or, after the timeout, once the group is killed and its pipes drained for
 * at most a short grace (a descendant that left the group and still holds a
 * pipe is given up on, never waited for).
 */
#ifndef CK_COMMON_SPAWN_H
#define CK_COMMON_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/fs.h"

typedef struct ck_spawn_result {
    int status; /* exit code, or 128 + signal when killed */
    char *out;  /* stdout, NUL-terminated (free) */
    size_t out_len;
    char *errout;   /* stderr, NUL-terminated (free) */
    bool timed_out; /* killed after timeout_ms */
} ck_spawn_result;

enum { CK_SPAWN_MAX_KEPT_FDS = 8 };

typedef struct ck_spawn_opts {
    const char *const *env; /* the child's environment; NULL = the daemon's (cleaned either way) */
    const char *input;      /* written to stdin, which is then closed; NULL = nothing */
    const int *keep_fds;    /* descriptors the child keeps: keep_fds[i] is its 3 + i */
    size_t n_keep_fds;      /* at most CK_SPAWN_MAX_KEPT_FDS */
    int timeout_ms;         /* then the child's group is killed; 0 = never */
} ck_spawn_opts;

/* Runs argv[0] (an absolute path) with argv as opts say. Output beyond
 * 4 MiB per stream is dropped. After opts->timeout_ms the child's process
 * group is killed (res->timed_out, status 128+9). Fails only when the
 * program cannot be run; a non-zero exit is reported in res->status. */
int ck_spawn_run(const char *const *argv, const ck_spawn_opts *opts, ck_spawn_result *res, ck_err *err);

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
