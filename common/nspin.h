/*
 * nspin: namespaces kept alive with no process in them by a bind mount of
 * their nsfs file onto a file of ours, as CRI-O's pinns does: the network
 * namespaces of pods (netcni/netns.c), their user namespaces
 * (common/userns.c) and the IPC and UTS namespaces of a pod without a pause
 * (sandbox/sandbox_pins.c). Unmounting the pin ends the namespace once
 * nothing else holds it.
 */
#ifndef CK_COMMON_NSPIN_H
#define CK_COMMON_NSPIN_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/* True when path is a pinned namespace (a mounted nsfs file). */
bool ck_ns_pinned(const char *path);

/* Unmounts and removes the pin at path; absent is fine. what names the
 * namespace in errors ("netns", "user namespace", ...). */
int ck_ns_unpin(const char *path, const char *what, ck_err *err);

/* Work in a child process that joined the user namespace pinned at a path
 * as its root (its uid and gid 0): only a single-threaded process may join
 * one, and the daemon has threads.
 * in_child runs in a child forked from a threaded process, so system calls
 * only (no allocation, no locks): it returns 0, or the number of the step
 * that failed (1..n_steps-1, named by steps[]) with its errno in *e. Then,
 * while the child waits, in_parent(arg, pid) runs in the daemon: it may
 * bind-mount the child's /proc/<pid>/ns files, which the child, in that
 * user namespace, may not do in the host's mount namespace. */
typedef struct ck_userns_work {
    int (*in_child)(void *arg, int *e);
    int (*in_parent)(void *arg, pid_t child, ck_err *err);
    void *arg;
    const char *const *steps;
    int n_steps;
    int invalid_from; /* > 0: steps from this one fail on values the request
                         gave (a sysctl): CK_E_INVALID, not CK_E_INTERNAL */
} ck_userns_work;

/* Runs work in a child that joined the user namespace at userns_path and
 * reaps it. 0; or -1 with err saying which step failed, after what (the
 * caller's words: "create netns x in user namespace y"). */
int ck_ns_run_in_userns(const char *userns_path, const ck_userns_work *work, const char *what, ck_err *err);

#endif
