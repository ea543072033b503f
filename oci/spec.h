/*
 * spec: the one writer of OCI runtime specs (config.json). ck_oci_spec
 * describes any container in plain C values (process, root, mounts,
 * namespaces to create or to join by path, cgroup and resources, security);
 * ck_oci_spec_write turns it into JSON with jansson and writes it whole
 * into the bundle. Its callers fill it: the pod's pause container
 * (ck_oci_write_pause_spec, from ck_pause_spec: it owns the pod's IPC, UTS
 * and, unless shared with the host, PID namespaces, and joins the network
 * namespace cricket pinned), the runtime probe of `cricket check`, and
 * the workload containers (containers/spec.c). A field left zero is left
 * out of the JSON, so what the pause never sets never shows in its spec.
 */
#ifndef CK_OCI_SPEC_H
#define CK_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/userns.h"
#include "config/config.h"
#include "oci/seccomp.h"

typedef struct ck_kv {
    const char *key;
    const char *value;
} ck_kv;

typedef struct ck_oci_mount {
    const char *destination, *type, *source;
    const char *const *options; /* NULL-terminated; NULL = none */
} ck_oci_mount;

/* linux.devices: a device node the runtime creates in the container. */
typedef struct ck_oci_device {
    const char *path; /* in the container */
    char type;        /* 'c', 'b' or 'p' */
    int64_t major, minor;
    unsigned file_mode; /* permission bits */
    unsigned uid, gid;
} ck_oci_device;

/* linux.resources.devices: one device cgroup rule, applied in order. */
typedef struct ck_oci_device_rule {
    bool allow;
    char type;            /* 'a' (every device), 'c' or 'b' */
    int64_t major, minor; /* -1 = any */
    const char *access;   /* a subset of "rwm" */
} ck_oci_device_rule;

typedef struct ck_oci_hugepage_limit {
    const char *page_size; /* "2MB", "1GB" */
    uint64_t limit;
} ck_oci_hugepage_limit;

typedef struct ck_oci_namespace {
    const char *type; /* "pid", "network", "ipc", "uts", "mount", "cgroup", "user" */
    const char *path; /* join this one (/proc/<pid>/ns/..., a pinned netns); NULL = a new one */
} ck_oci_namespace;

typedef struct ck_oci_process {
    bool terminal;
    const char *const *args; /* NULL-terminated, at least one */
    const char *const *env;  /* NULL-terminated */
    const char *cwd;         /* NULL or "" = "/" */
    unsigned uid, gid;
    const unsigned *additional_gids;
    size_t n_additional_gids;
    bool no_new_privileges;
    int oom_score_adj;
    /* The same set is bounding, effective and permitted; NULL = none. */
    const char *const *capabilities;
    const char *apparmor_profile; /* NULL = none */
} ck_oci_process;

/* linux.resources; a 0 (or NULL) field is left out, so the runtime keeps
 * the cgroup's own value. */
typedef struct ck_oci_resources {
    uint64_t cpu_shares;
    int64_t cpu_quota;
    uint64_t cpu_period;
    const char *cpuset_cpus, *cpuset_mems;
    int64_t memory_limit;
    int64_t memory_swap;
    int64_t pids_limit;
    const ck_oci_hugepage_limit *hugepages;
    size_t n_hugepages;
    const ck_kv *unified; /* cgroup v2 files and their values */
    size_t n_unified;
    const ck_oci_device_rule *device_rules; /* none: the key is left out */
    size_t n_device_rules;
} ck_oci_resources;

typedef struct ck_oci_spec {
    ck_oci_process process;
    const char *root_path;
    bool root_readonly;
    const char *hostname; /* NULL = none (the container keeps its UTS namespace's) */
    const ck_oci_mount *mounts;
    size_t n_mounts;
    const ck_oci_namespace *namespaces;
    size_t n_namespaces;
    const char *cgroups_path; /* NULL = the runtime's default */
    ck_oci_resources resources;
    const char *rootfs_propagation; /* "rshared", "rslave", ...; NULL = the runtime's default */
    const ck_oci_device *devices;
    size_t n_devices;
    const char *const *masked_paths;   /* NULL-terminated; NULL = none */
    const char *const *readonly_paths; /* NULL-terminated; NULL = none */
    const ck_kv *sysctls;
    size_t n_sysctls;
    const ck_seccomp_profile *seccomp; /* NULL = unconfined */
    const ck_kv *annotations;
    size_t n_annotations;
    /* linux.uidMappings and gidMappings (one range each) of a container in
     * a user namespace of its pod's (joined by path in namespaces); NULL =
     * none. */
    const ck_id_map *uid_map, *gid_map;
} ck_oci_spec;

/* The /proc and /sys paths every runtime masks or makes read-only unless
 * the container is privileged (containerd's and Docker's defaults). */
extern const char *const ck_oci_default_masked_paths[];
extern const char *const ck_oci_default_readonly_paths[];

/* Writes <bundle>/config.json whole (temp file, fsync, rename), mode 0600. */
int ck_oci_spec_write(const ck_oci_spec *spec, const char *bundle, ck_err *err);

/* Replaces the cpu, memory and unified parts of linux.resources in
 * <bundle>/config.json with r's (device rules and the rest stay), and
 * writes the resulting linux.resources alone to file (<bundle>/
 * resources.json, size bytes), what the runtime's `update -r` reads. */
int ck_oci_spec_update_resources(const char *bundle, const ck_oci_resources *r, char *file, size_t size, ck_err *err);

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
    const ck_seccomp_profile *seccomp; /* the pod's; NULL = unconfined */
    const char *apparmor_profile;      /* the pod's; NULL = none */
    /* The pod's sysfs is mounted read-write (a privileged pod): the pause
     * makes the network namespace's sysfs superblock, and every later
     * mount of it in the pod shares that superblock's read-only flag, so a
     * read-only one here would leave its privileged containers a read-only
     * /sys whatever they ask. The pause holds no capability to use it. */
    bool writable_sysfs;
    const ck_kv *annotations;
    size_t n_annotations;
    /* The pod's own user namespace (pinned; its netns is owned by it) and
     * its mappings; NULL = the host's. */
    const char *userns_path;
    const ck_id_map *uid_map, *gid_map;
} ck_pause_spec;

/* The cgroupsPath runc expects for a pod: cgroupfs "/<parent>/cricket-<id>",
 * systemd "<parent>.slice:cricket:<id>". */
int ck_oci_cgroups_path(ck_cgroup_driver driver, const char *parent, const char *id, char *buf, size_t size,
                        ck_err *err);

/* Writes <bundle>/config.json of a pod's pause container. */
int ck_oci_write_pause_spec(const ck_pause_spec *spec, const char *bundle, ck_err *err);

#endif
