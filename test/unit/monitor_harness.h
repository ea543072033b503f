/*
 * monitor_harness: the real cricket-monitor and runc, for the monitor's
 * tests (root and runc, else they skip). A bundle of the host's /usr and
 * /bin read-only (oci/probe), the monitor started on it with the options a
 * test asks for, as the daemon starts it (protocol.h), its sync line read
 * back, and the runtime driven around it.
 */
#ifndef CK_TEST_MONITOR_HARNESS_H
#define CK_TEST_MONITOR_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci/runtime.h"

typedef struct mh_env {
    char dir[PATH_MAX];
    char bundle[PATH_MAX], root[PATH_MAX], id[64];
    ck_oci_monitor_files files; /* the flags and sockets the test set: the monitor's options */
} mh_env;

/* What the monitor is started with besides the files: the log, the control
 * socket (its path longer than a socket address holds when long_ctl) and,
 * as files->stdin_open etc. say, stdin, tty and the attach socket. */
typedef struct mh_opts {
    bool long_ctl;
    bool stdin_open, stdin_once, tty, attach;
} mh_opts;

bool mh_can_run(void);
const char *mh_runc(void);
/* Runs argv, stdout to /dev/null: its exit code, -1 when killed. */
int mh_run(const char *const *argv);
/* The whole file as a malloc'd string, NULL when it cannot be read. */
char *mh_slurp(const char *path);

/* Writes the bundle and runs the monitor on it; gives the sync line. */
void mh_run_monitor(mh_env *e, const char *const *args, const mh_opts *o, char *line, size_t cap);
/* mh_run_monitor, which must succeed: the init's pid. */
pid_t mh_start_monitor(mh_env *e, const char *const *args, const mh_opts *o);
/* `runc start`, which must succeed. */
void mh_start(mh_env *e);
/* Waits up to ms for the exit file; its code, or -1. */
int mh_wait_exit_file(mh_env *e, int ms);
/* `runc delete --force` and the directory removed. */
void mh_cleanup(mh_env *e);

/* A line of /proc/pid/status (e.g. "VmRSS:") in KiB, -1 when absent. */
long mh_status_kib(pid_t pid, const char *key);
pid_t mh_parent_of(pid_t pid);

#endif
