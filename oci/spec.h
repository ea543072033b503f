/*
 * spec: the OCI runtime spec (config.json) of a pod's pause container,
 * generated with jansson from plain C values the sandbox domain fills. The
 * pause container owns the pod's IPC, UTS and (unless the pod shares the
 * host's) PID namespaces, and joins the network namespace cricket pinned.
 */
#ifndef CK_OCI_SPEC_H
#define CK_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "config/config.h"

typedef struct ck_kv {
    const char *key;
    const char *value;
} ck_kv;

typedef struct ck_pause_spec {
    const char *rootfs; /* absolute path of the pause rootfs (read-only in the container) */
    /* The process; NULL/0 for the built-in cricket-pause: /pause as root
     * with PATH=/ in /. A pause image gives its entrypoint + cmd, env, user
     * and workdir. */
    const char *const *args; /* NULL-terminated */
    const char *const *env;  /* NULL-terminated */
    const char *cwd;
    unsigned uid, gid;
    const unsigned *additional_gids;
    size_t n_additional_gids;
    const char *hostname;   /* NULL or "" with a host network */
    const char *netns_path; /* NULL: the host's network */
    bool host_ipc;
    bool host_pid;
    const char *shm_path;      /* bind-mounted on /dev/shm; NULL with host IPC */
    const char *hostname_file; /* bind-mounted read-only into /etc */
    const char *hosts_file;
    const char *resolv_file;
    const char *cgroup_parent; /* "" = the driver's default */
    const char *id;
    ck_cgroup_driver cgroup_driver;
    int oom_score_adj;
    const ck_kv *sysctls;
    size_t n_sysctls;
    const ck_kv *annotations;
    size_t n_annotations;
} ck_pause_spec;

/* The cgroupsPath runc expects for a pod: cgroupfs "/<parent>/cricket-<id>",
 * systemd "<parent>.slice:cricket:<id>". */
int ck_oci_cgroups_path(ck_cgroup_driver driver, const char *parent, const char *id, char *buf, size_t size,
                        ck_err *err);

/* Writes <bundle>/config.json. */
int ck_oci_write_pause_spec(const ck_pause_spec *spec, const char *bundle, ck_err *err);

#endif
