/*
 * cricket-monitor's pieces: the options it is started with, and the exit
 * file it leaves behind for the daemon. What they mean on the wire is in
 * protocol.h, which the daemon reads too.
 */
#ifndef CK_MONITOR_MONITOR_H
#define CK_MONITOR_MONITOR_H

#include <stdint.h>

#include "containers/monitor/protocol.h"

typedef struct mon_opts {
    const char *id;                                    /* container id */
    const char *bundle;                                /* OCI bundle dir */
    const char *runtime;                               /* absolute path of runc/crun */
    const char *runtime_args[CK_MON_MAX_RUNTIME_ARGS]; /* global args: --root R, extra_args */
    int n_runtime_args;
    const char *pid_file;    /* where the runtime writes the init's pid */
    const char *exit_file;   /* the exit record (protocol.h) once the init exits */
    const char *log_file;    /* the runtime's stderr (create errors) */
    int sync_fd;             /* gets the one sync line (protocol.h), then closed */
    unsigned create_timeout; /* seconds `create` may take, then it is killed; 0 = no bound */
} mon_opts;

/* Writes the exit file whole (temp + fsync + rename). Returns 0 or -1. */
int mon_write_exit_file(const char *path, int code, int64_t finished_at_ns);

#endif
