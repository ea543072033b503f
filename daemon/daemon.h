/*
 * daemon: the running cricket: its configuration, domains and CRI server,
 * and the main thread's loop over signals.
 */
#ifndef CK_DAEMON_DAEMON_H
#define CK_DAEMON_DAEMON_H

#include <stdbool.h>

#include "config/config.h"

/* What the command line said, kept so a reload applies the same overrides. */
typedef struct ck_options {
    const char *config_path; /* NULL: the default path */
    const char *listen;
    const char *root;
    const char *state;
    const char *log_level;
} ck_options;

/* Loads the configuration file and applies the command-line overrides. */
int ck_daemon_load_config(const ck_options *opt, ck_config **out, ck_err *err);

/* Runs the daemon until SIGTERM/SIGINT; takes ownership of cfg. Returns the
 * process exit status. */
int ck_daemon_run(const ck_options *opt, ck_config *cfg);
/* Before the daemon starts (and any thread): turns glibc's per-thread
 * malloc cache off, which only GLIBC_TUNABLES at exec can do, by setting
 * it and executing itself again with argv, once. Returns (the cache kept)
 * when GLIBC_TUNABLES already names it or the exec fails. */
void ck_daemon_tune_malloc(char **argv);

#endif
