/*
 * containers: the workload containers of pods. A container is an OCI
 * bundle (<root>/containers/<id>: config.json, the overlay rootfs with its
 * own upper and work dirs) run by the OCI runtime under a cricket-monitor
 * (<state>/containers/<id>: the monitor's files, its control socket), and
 * a row in the store whose `data` JSON (container_record.c, the only code
 * that knows its keys) remembers what status and restart recovery need.
 *
 * States are the CRI's: CREATED, RUNNING, EXITED, UNKNOWN, plus CREATING
 * while CreateContainer's steps run (a crash leaves a row recovery rolls
 * back; CREATING containers are never listed). A container reads its pod
 * only through ck_sandbox_context; sandbox/ never includes this header.
 *
 * Nothing here knows protobuf: cri/ converts requests into these structs.
 */
#ifndef CK_CONTAINERS_CONTAINERS_H
#define CK_CONTAINERS_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/err.h"
#include "common/userns.h"
#include "config/config.h"
#include "oci/runtime.h"
#include "oci/lsm.h"
#include "oci/seccomp.h"
#include "sandbox/sandbox.h"

typedef struct ck_store ck_store;
typedef struct ck_images ck_images;
typedef struct ck_event_hub ck_event_hub;
typedef struct ck_containers ck_containers;

/* Stored states; the first four are the CRI's ContainerState values. */
enum {
    CK_CONTAINER_CREATED = 0,
    CK_CONTAINER_RUNNING = 1,
    CK_CONTAINER_EXITED = 2,
    CK_CONTAINER_UNKNOWN = 3,
    CK_CONTAINER_CREATING = 4,
};

/* MountPropagation, as the CRI numbers it. */
enum { CK_PROPAGATION_PRIVATE = 0, CK_PROPAGATION_HOST_TO_CONTAINER = 1, CK_PROPAGATION_BIDIRECTIONAL = 2 };

typedef struct ck_mount_req {
    const char *container_path, *host_path;
    bool readonly, recursive_read_only, selinux_relabel;
    int propagation;   /* CK_PROPAGATION_* */
    const char *image; /* an image volume (ImageSpec.image); NULL or "" for a host path */
    /* Mount.uid_mappings / gid_mappings (an idmapped mount): only a pod
     * with its own user namespace takes them, and only its own mappings. */
    const ck_id_map *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;
} ck_mount_req;

typedef struct ck_device_req {
    const char *container_path, *host_path, *permissions; /* permissions: "rwm" subset; "" = "rwm" */
} ck_device_req;

typedef struct ck_hugepage_limit {
    const char *page_size; /* "2MB", "1GB" */
    uint64_t limit;
} ck_hugepage_limit;

/* LinuxContainerResources; 0 (or NULL) = not set. */
typedef struct ck_container_resources {
    int64_t cpu_period, cpu_quota, cpu_shares;
    int64_t memory_limit_in_bytes, memory_swap_limit_in_bytes;
    int64_t oom_score_adj;
    const char *cpuset_cpus, *cpuset_mems;
    const ck_hugepage_limit *hugepages;
    size_t n_hugepages;
    ck_kvs unified; /* cgroup v2 files */
} ck_container_resources;

/* SupplementalGroupsPolicy, as the CRI numbers it. */
enum { CK_GROUPS_MERGE = 0, CK_GROUPS_STRICT = 1 };

/* LinuxContainerSecurityContext, the parts this domain applies (AppArmor
 * and SELinux as oci/lsm.h says). */
typedef struct ck_container_security {
    bool privileged, readonly_rootfs, no_new_privs;
    bool has_run_as_user, has_run_as_group;
    int64_t run_as_user, run_as_group;
    const char *run_as_username; /* "" = none */
    const int64_t *supplemental_groups;
    size_t n_supplemental_groups;
    int supplemental_groups_policy; /* CK_GROUPS_MERGE: the image's groups of the user too; STRICT: these only */
    ck_seccomp_choice seccomp;      /* ignored when privileged */
    ck_apparmor_choice apparmor;    /* ignored when privileged */
    bool selinux_labelled;          /* selinux_options were given */
    ck_strs add_capabilities, drop_capabilities; /* names like "NET_ADMIN" or "CAP_NET_ADMIN", or "ALL" */
    int ns_pid;                                  /* CK_NS_POD (default), CK_NS_CONTAINER, CK_NS_NODE, CK_NS_TARGET */
    const char *ns_target_id;
    bool has_masked_paths, has_readonly_paths; /* given (even empty): replaces the defaults */
    ck_strs masked_paths, readonly_paths;
    ck_userns_req userns; /* when given, the pod's (mode and mappings); not given: the pod's */
} ck_container_security;

/* CreateContainer's request, in plain C. Strings are never NULL after
 * cri/ filled them ("" when absent). */
typedef struct ck_container_config {
    const char *pod_id;
    const char *name;
    uint32_t attempt;
    const char *image;                /* ImageSpec.image: id, tag or digest reference */
    const char *user_specified_image; /* ImageSpec.user_specified_image, "" = none */
    ck_strs command, args;
    const char *working_dir;
    ck_kvs envs;
    ck_kvs labels, annotations;
    const ck_mount_req *mounts;
    size_t n_mounts;
    const ck_device_req *devices;
    size_t n_devices;
    const char *log_path; /* relative to the pod's log_directory; "" = no log */
    bool stdin_open, stdin_once, tty;
    bool has_resources;
    ck_container_resources resources;
    ck_container_security security;
    const char *stop_signal; /* "" = the image's, else SIGTERM */
} ck_container_config;

/* A container as Status and List see it: filled only by container_record.c
 * from the record. Strings are never NULL ("" when absent) and live until
 * ck_container_view_clear. */
typedef struct ck_container_view {
    const char *id, *pod_id, *name; /* shared between copies (ct_view_share) */
    uint32_t attempt;
    int state; /* CK_CONTAINER_CREATED .. UNKNOWN */
    int64_t created_at_ns, started_at_ns, finished_at_ns;
    int32_t exit_code;
    const char *reason;  /* "Completed", "Error", "OOMKilled", "" */
    const char *message; /* why, in words; "" */
    const char *image, *user_specified_image, *image_ref, *image_id;
    const char *log_path; /* absolute; "" without a log */
    const ck_kv *labels, *annotations;
    size_t n_labels, n_annotations;
    const ck_mount_req *mounts; /* as requested */
    size_t n_mounts;
    bool has_resources;
    ck_container_resources resources;
    uint32_t uid, gid;
    const uint32_t *groups; /* supplemental */
    size_t n_groups;
    int pid; /* the init's pid while running, else 0 */
    const char *runtime_handler;
    void *record_; /* private: what the fields point into */
} ck_container_view;

void ck_container_view_clear(ck_container_view *v);
void ck_container_views_free(ck_container_view *v, size_t n);

typedef struct ck_container_filter {
    const char *id;     /* id or unique prefix; NULL = any */
    const char *pod_id; /* id or unique prefix; NULL = any */
    bool has_state;
    int state;
    ck_kvs labels; /* every pair must match */
} ck_container_filter;

/* Sets up the manager and recovers the containers a previous run left:
 * half-created ones are rolled back, the rootfs of the others mounted
 * again, those whose process ended meanwhile recorded EXITED with the
 * code their monitor left. events may be NULL. */
int ck_containers_new(const ck_config *cfg, ck_store *store, ck_images *images, ck_sandboxes *sandboxes,
                      ck_event_hub *events, ck_containers **out, ck_err *err);
void ck_containers_free(ck_containers *cs);

/* Whether recursive read-only mounts work here (the kernel has
 * mount_setattr; tried once at start-up). */
bool ck_containers_readonly_trees(const ck_containers *cs);

/* Creates a container in a ready pod; *id_out (65 bytes) gets its id. A
 * retry with the same pod and metadata gets the same id back. The image
 * must be present (NOT_FOUND naming it: pulling is the kubelet's job). */
int ck_container_create(ck_containers *cs, const ck_container_config *cfg, const ck_cancel *cancel, char *id_out,
                        ck_err *err);
int ck_container_start(ck_containers *cs, const char *id, const ck_cancel *cancel, ck_err *err);
/* Stop signal, up to timeout_s for the exit, then SIGKILL. Stopping a
 * stopped or unknown container is fine. */
int ck_container_stop(ck_containers *cs, const char *id, int64_t timeout_s, const ck_cancel *cancel, ck_err *err);
/* Stops (without grace) and removes; an unknown id is fine. */
int ck_container_remove(ck_containers *cs, const char *id, const ck_cancel *cancel, ck_err *err);
/* Every container of a pod: stop (each with grace_s) or remove; for
 * StopPodSandbox and RemovePodSandbox, before the pod itself. */
int ck_containers_stop_pod(ck_containers *cs, const char *pod_id, int64_t grace_s, const ck_cancel *cancel,
                           ck_err *err);
int ck_containers_remove_pod(ck_containers *cs, const char *pod_id, const ck_cancel *cancel, ck_err *err);

/* id: full id or unique prefix; CK_E_NOT_FOUND when none. */
int ck_container_status(ck_containers *cs, const char *id, ck_container_view *out, ck_err *err);
int ck_container_list(ck_containers *cs, const ck_container_filter *f, ck_container_view **out, size_t *n, ck_err *err);
/* As ck_container_list, for a caller that keeps what it made of a list:
 * *version (never 0) names the state of every container the list saw, after
 * every check a list does (exits included); two lists at one version return
 * the same views. When known is the version now, nothing is returned (*out
 * NULL, *n 0): what the caller made of that version still holds. */
int ck_container_list_since(ck_containers *cs, const ck_container_filter *f, uint64_t known, ck_container_view **out,
                            size_t *n, uint64_t *version, ck_err *err);
/* The verbose "info" of ContainerStatus as JSON text (free it): pid,
 * the OCI spec, the runtime handler, the sandbox id. */
char *ck_container_verbose_info(ck_containers *cs, const ck_container_view *v);

/* UpdateContainerResources: a created or running container's cgroup gets
 * the new limits (through the runtime), and its spec and status say so;
 * an exited one is FAILED_PRECONDITION. */
int ck_container_update_resources(ck_containers *cs, const char *id, const ck_container_resources *r,
                                  const ck_cancel *cancel, ck_err *err);

/* ExecSync: runs argv in a running container (FAILED_PRECONDITION
 * otherwise) and gives its exit code and exact output (each stream capped
 * at 16 MiB). timeout_s > 0: past it the command and what it started are
 * killed, reaped, and DEADLINE_EXCEEDED returned; 0 = no limit. Clear out
 * (ck_exec_result_clear) whatever the result. */
int ck_container_exec_sync(ck_containers *cs, const char *id, const char *const *argv, int timeout_s,
                           const ck_cancel *cancel, ck_exec_result *out, ck_err *err);

/* Exec, Attach: the container's full id (65 bytes) when it exists
 * (CK_E_NOT_FOUND otherwise) and is running (CK_E_PRECONDITION otherwise). */
int ck_container_check_running(ck_containers *cs, const char *id, char *full, size_t size, ck_err *err);

/* A streamed exec (the streaming server's Exec): the command runs in a
 * running container with the caller's descriptors as its stdio, and is left
 * running; the caller waits for proc.pid and reads the outcome with
 * ck_oci_exec_outcome(&rt, id, &proc, ...). */
typedef struct ck_container_exec {
    char id[65];
    ck_oci_runtime rt;
    ck_oci_exec_proc proc;
} ck_container_exec;

int ck_container_exec_start(ck_containers *cs, const char *id, const char *const *argv, bool tty, const int stdio[3],
                            ck_container_exec *out, ck_err *err);

/* One container's usage, sampled at timestamp_ns (never 0). A running
 * container's counters come from its cgroup; a created or exited one has
 * none, and answers with its attributes, zero usage and the timestamp, as
 * the kubelet itself fills in what a runtime leaves out. */
typedef struct ck_container_stats {
    ck_container_view view; /* attributes: id, name, attempt, labels, annotations */
    int64_t timestamp_ns;
    bool running; /* the counters below were read from its cgroup */
    uint64_t cpu_usage_ns;
    bool has_cpu_rate;       /* a previous sample allowed a rate */
    uint64_t cpu_nano_cores; /* CPU nanoseconds per second since that sample */
    uint64_t memory_working_set, memory_usage, memory_rss;
    uint64_t memory_available; /* limit less working set; 0 without a limit (containerd's rule) */
    uint64_t page_faults, major_page_faults;
    bool has_swap; /* the host accounts swap */
    uint64_t swap_usage, swap_available;
    /* The writable layer (the overlay's upper dir). mountpoint names its
     * filesystem as ImageFsInfo's container_filesystems does. */
    int64_t writable_timestamp_ns;
    uint64_t writable_bytes, writable_inodes;
    char *writable_mountpoint;
} ck_container_stats;

void ck_container_stats_clear(ck_container_stats *s);
void ck_container_stats_free(ck_container_stats *s, size_t n);

/* id: full id or unique prefix; CK_E_INVALID when empty, CK_E_NOT_FOUND
 * when none. */
int ck_container_stats_get(ck_containers *cs, const char *id, ck_container_stats *out, ck_err *err);
/* Stats of every listed container (CREATED, RUNNING, EXITED) the filter
 * (may be NULL; its state is ignored) matches, as containerd lists them. */
int ck_container_stats_list(ck_containers *cs, const ck_container_filter *f, ck_container_stats **out, size_t *n,
                            ck_err *err);

/* ReopenContainerLog: returns once the log path exists again. */
int ck_container_reopen_log(ck_containers *cs, const char *id, ck_err *err);

/* For the streaming server's attach: a connection to a running
 * container's attach socket (ck_oci_attach_connect says what flows on
 * it); the caller closes it. Not running: CK_E_PRECONDITION. */
int ck_container_attach(ck_containers *cs, const char *id, ck_err *err);
/* Its resize stream: the container's terminal gets height rows and width
 * columns (ck_oci_resize). No terminal, or not running: CK_E_PRECONDITION. */
int ck_container_resize(ck_containers *cs, const char *id, unsigned height, unsigned width, ck_err *err);
/* The files of a running container's monitor (its control and attach
 * sockets): for a caller that speaks to it without blocking
 * (ck_oci_resize_send). Not running: CK_E_PRECONDITION. */
int ck_container_monitor_files(ck_containers *cs, const char *id, ck_oci_monitor_files *out, ck_err *err);

#endif
