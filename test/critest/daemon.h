/*
 * daemon: starts a real cricket daemon for the conformance suite, on its
 * own temporary socket, root, state and CNI directories, and stops it.
 * CRICKET_BIN overrides the binary; CRICKET_WRAPPER (e.g. "valgrind
 * --error-exitcode=1 ...") runs it under a tool.
 */
#ifndef CK_CRITEST_DAEMON_H
#define CK_CRITEST_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "test/critest/client.h"

typedef struct crit_daemon {
    pid_t pid;
    char dir[128];
    char socket[192];
    char root[192];
    char state[192];
    char cni_dir[192];
    char config[192];
    char log[192];
} crit_daemon;

/* Makes the directories and writes the config (extra_yaml appended to the
 * generated one, may be NULL) without starting anything. */
int crit_daemon_prepare(crit_daemon *d, const char *extra_yaml);
/* True when a Version call on socket succeeds (one connection, 2 s). */
bool crit_version_ok(const char *socket);
/* Starts the daemon without waiting for it. */
int crit_daemon_spawn(crit_daemon *d);
/* As crit_daemon_prepare, with the default CNI network installed on a
 * bridge and subnet the test owns (never a host bridge such as cni0). */
int crit_daemon_prepare_pods(crit_daemon *d, const char *bridge, const char *subnet, const char *extra_yaml);
/* Starts the daemon and waits until a Version call succeeds. */
int crit_daemon_start(crit_daemon *d);
/* crit_daemon_start, then a client connected to the daemon; NULL when it did
 * not come up (its log is printed). */
crit_client *crit_daemon_start_and_connect(crit_daemon *d);
/* Runs cricket with args (argv[0] excluded) to completion; returns its exit
 * status, its stderr+stdout in out (up to size). */
int crit_run_cricket(const char *const *args, char *out, size_t size);
/* SIGTERM, then waits up to timeout_ms; returns the exit status, or -1 if it
 * had to be killed or died of a signal. */
int crit_daemon_stop(crit_daemon *d, int timeout_ms);
/* kill -9, as a crash would: nothing is shut down cleanly. Reaps it. */
void crit_daemon_kill(crit_daemon *d);
/* Removes the temporary tree (after stop), detaching first whatever is
 * still mounted in it. */
void crit_daemon_cleanup(crit_daemon *d);
/* Calls fn(point, arg) (fn may be NULL) for each mount point in
 * /proc/self/mountinfo that starts with dir; how many, or -1 when
 * mountinfo cannot be read. */
int crit_mounts_each(const char *dir, void (*fn)(const char *point, void *arg), void *arg);
/* The end of a daemon a test started: closes c (may be NULL), stops d as
 * crit_daemon_stop does, prints its log unless it exited 0 (the log is gone
 * after this), and removes its tree. Returns what crit_daemon_stop returned. */
int crit_daemon_teardown(crit_daemon *d, crit_client *c, int timeout_ms);
/* Prints the daemon's log to stderr (on failure). */
void crit_daemon_dump_log(const crit_daemon *d);
bool crit_daemon_log_contains(const crit_daemon *d, const char *needle);

#endif
