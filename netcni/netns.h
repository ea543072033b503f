/*
 * netns: network namespaces created and pinned by cricket, as CRI-O's pinns
 * does. A short-lived thread unshares a new network namespace, brings its
 * loopback up and bind-mounts its /proc/thread-self/ns/net onto a file under
 * <state_dir>/netns/. The bind mount keeps the namespace alive with no
 * process in it, so it outlives the pause process and daemon restarts. A
 * pod with its own user namespace needs a forked child instead: only a
 * single-threaded process may join a user namespace.
 */
#ifndef CK_NETCNI_NETNS_H
#define CK_NETCNI_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Creates dir (if needed) and a pinned namespace at dir/name; the path goes
 * to path_out. On failure nothing is left. */
int ck_netns_create(const char *dir, const char *name, char *path_out, size_t size, ck_err *err);
/* The same, the namespace owned by the (pinned) user namespace at
 * userns_path, so a pod with its own user namespace owns its network (runc
 * mounts sysfs only there); NULL or "" = the daemon's. */
int ck_netns_create_in(const char *dir, const char *name, const char *userns_path, char *path_out, size_t size,
                       ck_err *err);
/* Unmounts and removes a pinned namespace; absent is fine. */
int ck_netns_remove(const char *path, ck_err *err);
/* True when path is a pinned network namespace (a mounted nsfs file). */
bool ck_netns_is_pinned(const char *path);

#endif
