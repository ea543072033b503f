/*
 * proc: knowing a process again. A pid alone is not an identity: after the
 * process dies the kernel hands the number to another, and after a reboot
 * every recorded pid is meaningless. A process is known by its pid, its
 * start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) and
 * the boot id (/proc/sys/kernel/random/boot_id); records keep all three, and
 * a process is "alive" only when all three still match.
 */
#ifndef CK_COMMON_PROC_H
#define CK_COMMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

enum { CK_BOOT_ID_LEN = 36 };

typedef struct ck_proc_id {
    pid_t pid;
    uint64_t start_time;              /* clock ticks after boot */
    char boot_id[CK_BOOT_ID_LEN + 1]; /* "" when unknown */
} ck_proc_id;

/* This boot's id (36 characters and a NUL), read once: it cannot change
 * while the daemon runs, and pods and containers are checked against it on
 * every status and list. */
int ck_boot_id(char out[CK_BOOT_ID_LEN + 1], ck_err *err);

/* What /proc/<pid>/stat says of a process. */
typedef struct ck_proc_stat {
    char state;          /* R, S, D, T (stopped), Z (zombie), ... */
    pid_t ppid;          /* its parent, as seen from our pid namespace */
    uint64_t start_time; /* clock ticks after boot */
} ck_proc_stat;

/* Reads /proc/<pid>/stat. A process that is gone: CK_E_NOT_FOUND. */
int ck_proc_read_stat(pid_t pid, ck_proc_stat *st, ck_err *err);

/* The start time of pid from /proc/<pid>/stat. A process that is gone:
 * CK_E_NOT_FOUND. */
int ck_proc_start_time(pid_t pid, uint64_t *out, ck_err *err);

/* Fills id for a running pid (its start time and this boot's id). */
int ck_proc_id_capture(pid_t pid, ck_proc_id *id, ck_err *err);

/* True when the process id names is still running. Otherwise false, with
 * why in reason (may be NULL): another boot, no such pid, or the pid now
 * belongs to another process. A zombie still counts as running: its parent
 * has not collected it yet. When /proc cannot be read for another reason
 * (no descriptor left, no permission) the answer is true: only a certain
 * "gone" counts. */
bool ck_proc_id_alive(const ck_proc_id *id, char *reason, size_t size);

/* A pidfd (close-on-exec) on the process id names, checked after it is
 * opened: the descriptor holds the process it opened, so a start time that
 * still matches then proves it is that process and not a later one given
 * its pid. A process certainly gone (another boot, no such pid, the pid
 * reused) is CK_E_NOT_FOUND; anything uncertain is another error. */
int ck_proc_id_open(const ck_proc_id *id, ck_err *err);

/* True when pid is the first process (pid 1) of a PID namespace of its own
 * (the last NSpid of /proc/<pid>/status): the kernel ends every process of
 * that namespace when it dies. False when it is not, or cannot be told. */
bool ck_proc_is_pid_ns_init(pid_t pid);

#endif
