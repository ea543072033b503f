/*
 * cricket-monitor's pieces: the options it is started with, and the exit
 * file it leaves behind for the daemon.
 */
#ifndef CK_MONITOR_MONITOR_H
#define CK_MONITOR_MONITOR_H

#include <stdint.h>

enum { MON_MAX_RUNTIME_ARGS = 16 };

typedef struct mon_opts {
    const char *id;                                 /* container id */
    const char *bundle;                             /* OCI bundle dir */
    const char *runtime;                            /* absolute path of runc/crun */
    const char *runtime_args[MON_MAX_RUNTIME_ARGS]; /* global args: --root R, extra_args */
    int n_runtime_args;
    const char *pid_file;    /* where the runtime writes the init's pid */
    const char *exit_file;   /* "<code> <finished_at_ns>\n" once the init exits */
    const char *log_file;    /* the runtime's stderr (create errors) */
    int sync_fd;             /* "ok <pid>\n", "error <text>\n" or "timeout <text>\n", then closed */
    unsigned create_timeout; /* seconds `create` may take, then it is killed; 0 = no bound */
} mon_opts;

/* Writes the exit file whole (temp + fsync + rename). Returns 0 or -1. */
int mon_write_exit_file(const char *path, int code, int64_t finished_at_ns);

#endif
