/*
 * sandbox: pod sandboxes. A pod is a pinned network namespace (attached to
 * the node's CNI network), a pause process run through a cricket-monitor
 * (holding the pod's IPC, UTS and PID namespaces), the /etc files and
 * /dev/shm its containers share, and a row in the store whose `data` JSON
 * (versioned, see sandbox_record.c) remembers everything needed to tear it
 * down again, even after a daemon restart.
 *
 * States: CREATING (steps under way; a crash leaves a row recovery removes),
 * READY, NOTREADY (stopped, or the pause process died). RunPodSandbox runs
 * numbered steps with a cleanup stack, so a failure leaves nothing behind.
 * Stop and remove are idempotent; the network is torn down (CNI DEL) until
 * it succeeds, so no IP leaks.
 */
#ifndef CK_SANDBOX_SANDBOX_H
#define CK_SANDBOX_SANDBOX_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/err.h"
#include "common/userns.h"
#include "config/config.h"
#include "netcni/cni.h"
#include "oci/lsm.h"
#include "oci/spec.h"

typedef struct ck_store ck_store;
typedef struct ck_images ck_images;
typedef struct ck_sandboxes ck_sandboxes;

/* Store states. READY and NOTREADY match the CRI's PodSandboxState. */
enum { CK_SANDBOX_READY = 0, CK_SANDBOX_NOTREADY = 1, CK_SANDBOX_CREATING = 2 };

/* NamespaceMode values, as the CRI numbers them. */
enum { CK_NS_POD = 0, CK_NS_CONTAINER = 1, CK_NS_NODE = 2, CK_NS_TARGET = 3 };

typedef struct ck_strs {
    const char *const *items;
    size_t len;
} ck_strs;

typedef struct ck_kvs {
    const ck_kv *items;
    size_t len;
} ck_kvs;

typedef struct ck_sandbox_config {
    const char *name, *ns, *uid;
    uint32_t attempt;
    const char *hostname;
    const char *log_directory;
    bool has_dns;
    ck_strs dns_servers, dns_searches, dns_options;
    const ck_cni_port *ports;
    size_t n_ports;
    ck_kvs labels, annotations;
    const char *cgroup_parent;
    ck_kvs sysctls;
    int ns_network, ns_pid, ns_ipc; /* CK_NS_* */
    const char *ns_target_id;
    bool privileged;             /* the pod's security context asks for privileged containers */
    ck_seccomp_choice seccomp;   /* the pause's (none when privileged) */
    ck_apparmor_choice apparmor; /* the pause's (none when privileged) */
    bool selinux_labelled;       /* selinux_options were given */
    ck_userns_req userns; /* mode CK_NS_NODE (the host's, the default) or CK_NS_POD (its own, one mapping each) */
    const char *runtime_handler; /* "" = default */
} ck_sandbox_config;

/* A pod as Status, List and Stats see it: typed fields, filled only by
 * sandbox_record.c from the pod's record, so no caller reads the stored
 * form. Strings are never NULL ("" when absent) and live until
 * ck_sandbox_view_clear. */
typedef struct ck_sandbox_view {
    char *id, *name, *ns, *uid, *runtime_handler;
    uint32_t attempt;
    int state;        /* READY or NOTREADY (CREATING shows as NOTREADY) */
    char reason[256]; /* why a NOTREADY pod is not ready ("stopped", "its pause process ...") */
    int64_t created_at_ns;
    const char *const *ips; /* IPv4 first */
    size_t n_ips;
    const ck_kv *labels, *annotations;
    size_t n_labels, n_annotations;
    int ns_network, ns_pid, ns_ipc; /* CK_NS_* */
    const char *ns_target_id;
    const char *netns;         /* the pinned network namespace; "" for host network or once removed */
    const char *cgroup_parent; /* as the kubelet gave it */
    const char *hostname, *log_directory;
    int pause_pid; /* 0 before the pause runs */
    void *record_; /* private to sandbox/: what the fields point into */
} ck_sandbox_view;

/* A verbose PodSandboxStatus's "info", as JSON text (free it; NULL when
 * out of memory): {"id", "runtime_handler", "state_reason", "record" (the
 * whole stored record: diagnostics, its keys are sandbox_record.c's, not an
 * interface), "network_check" (a CNI CHECK of the pod's attachment: "ok",
 * "skipped" without one, "failed" with the plugin's "message")}. */
char *ck_sandbox_verbose_info(ck_sandboxes *sb, const ck_sandbox_view *v, const ck_cancel *cancel);

void ck_sandbox_view_clear(ck_sandbox_view *v);
void ck_sandbox_views_free(ck_sandbox_view *v, size_t n);

typedef struct ck_sandbox_filter {
    const char *id; /* id or unique prefix; NULL = any */
    bool has_state;
    int state;
    ck_kvs labels; /* every pair must match */
} ck_sandbox_filter;

/* Sets up the manager: the pause rootfs, and recovery of pods left by a
 * previous run (removes half-created ones, marks dead ones NOTREADY,
 * retries CNI DEL of stopped ones, mounts again the pause image of ready
 * ones). With pause.image configured, each pod's pause process runs from
 * that image (pulled through images when absent, its layers mounted as the
 * pod's rootfs); else from the built-in cricket-pause. */
int ck_sandboxes_new(const ck_config *cfg, ck_store *store, ck_cni *cni, ck_images *images, ck_sandboxes **out,
                     ck_err *err);
void ck_sandboxes_free(ck_sandboxes *sb);

/* Creates and starts a pod; *id_out (65 bytes) gets its id. A retry with
 * the same metadata gets the same id back (waiting for a creation still
 * under way). Every call that changes a pod holds that pod's own lock, and
 * gives up waiting for it (CK_E_CANCELLED) once cancel says the call is over. */
int ck_sandbox_run(ck_sandboxes *sb, const ck_sandbox_config *cfg, const ck_cancel *cancel, char *id_out, ck_err *err);
int ck_sandbox_stop(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err);
int ck_sandbox_remove(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err);
int ck_sandbox_status(ck_sandboxes *sb, const char *id, ck_sandbox_view *out, ck_err *err);
int ck_sandbox_list(ck_sandboxes *sb, const ck_sandbox_filter *f, ck_sandbox_view **out, size_t *n, ck_err *err);

/* CNI CHECK of a ready pod's attachment, with the configuration it was set
 * up with: 0 when every plugin finds it intact, -1 with the plugin's
 * message; 1 when there is nothing to check (host network, not ready). */
int ck_sandbox_check_network(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err);

/* What a container needs of its pod: containers/ reads a pod only through
 * this (never its record), and sandbox/ never includes containers/. Paths
 * are absolute; "" where the pod has none (host network: no netns; host
 * IPC: no shm). The namespace paths name the pause process's namespaces
 * (or a pod without a pause, pinned: its pins), valid while ready is true
 * (the pause checked alive by pid, start time and boot). */
typedef struct ck_sandbox_context {
    char id[65];
    bool ready;
    int ns_network, ns_pid, ns_ipc; /* CK_NS_* */
    char ns_target_id[65];
    bool privileged;
    int pause_pid; /* 0 for a pod without a pause */
    bool pinned;   /* a pod without a pause (its containers have their own PID namespaces) */
    char netns[PATH_MAX];
    /* /proc/<pause>/ns/... or the pins; "" when not ready (pid_ns: or pinned) */
    char ipc_ns[PATH_MAX], uts_ns[PATH_MAX], pid_ns[64];
    char cgroup_parent[512];
    char runtime_handler[64];
    char hostname[256];
    char hostname_file[PATH_MAX], hosts_file[PATH_MAX], resolv_file[PATH_MAX];
    char shm_dir[PATH_MAX];
    char log_directory[PATH_MAX];
    /* userns_options POD: the pod's own user namespace, pinned at userns
     * (owning its network, IPC, UTS and PID namespaces), with its one uid
     * and gid mapping; false: the host's (NODE). */
    bool own_userns;
    char userns[PATH_MAX];
    ck_id_map uid_map, gid_map;
} ck_sandbox_context;

/* Whether pods may ask for a user namespace (userns_options POD) on this
 * host: probed once at start (ck_userns_probe of the root dir, where the
 * root filesystems are); why it is not, in why. */
bool ck_sandboxes_userns_supported(const ck_sandboxes *sb, char *why, size_t size);

/* The context of pod id (full id or unique prefix); CK_E_NOT_FOUND when
 * there is no such pod. */
int ck_sandbox_context_get(ck_sandboxes *sb, const char *id, ck_sandbox_context *out, ck_err *err);

/* Resource usage of a pod (cgroup and netns counters). */
typedef struct ck_sandbox_stats {
    int64_t timestamp_ns;
    uint64_t cpu_usage_ns;
    uint64_t memory_working_set, memory_usage, memory_rss;
    uint64_t rx_bytes, tx_bytes, rx_errors, tx_errors;
    uint64_t processes;
    char iface[32];
} ck_sandbox_stats;

int ck_sandbox_stats_get(ck_sandboxes *sb, const char *id, ck_sandbox_stats *out, ck_err *err);

/* Pod-level resources the kubelet applied to the pod cgroup (recorded). */
typedef struct ck_sandbox_resources {
    bool set;
    int64_t cpu_period, cpu_quota, cpu_shares, memory_limit_in_bytes;
    const char *cpuset_cpus, *cpuset_mems;
} ck_sandbox_resources;

int ck_sandbox_update_resources(ck_sandboxes *sb, const char *id, const ck_sandbox_resources *overhead,
                                const ck_sandbox_resources *resources, const ck_cancel *cancel, ck_err *err);

#endif
