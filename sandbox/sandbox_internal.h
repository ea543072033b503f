/*
 * sandbox_internal: what the sandbox files share: the manager, its locks,
 * and the paths of one pod.
 */
#ifndef CK_SANDBOX_INTERNAL_H
#define CK_SANDBOX_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "common/keylock.h"
#include "common/proc.h"
#include "oci/runtime.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

enum { SB_MAX_CREATING = 256 };

struct ck_sandboxes {
    const ck_config *cfg;
    ck_store *store;
    ck_cni *cni;
    ck_images *images;
    char rootfs[PATH_MAX]; /* the read-only cricket-pause rootfs */
    bool userns_ok;        /* pods may have a user namespace (the probe at start) */
    char userns_why[512];  /* else why not */
    pthread_mutex_t mu;    /* guards creating[] and name reservation */
    pthread_cond_t cv;     /* signalled when a creation ends */
    char creating[SB_MAX_CREATING][65];
    size_t n_creating;
    ck_keylock locks; /* one per pod id: its creation, stop, remove, CHECK */
    /* sandbox_record.c: each pod's record as last parsed for a view, with
     * the text it came from, shared read-only by the views. */
    pthread_mutex_t parsed_mu;
    struct sb_parsed *parsed;
    size_t n_parsed, cap_parsed;
    uint64_t parsed_epoch; /* moved by each list of every pod */
    size_t n_pause_fds;    /* the pause pidfds kept with them */
    /* Recovery's second pass (sandbox_stop.c): the pods a previous run left
     * half-created or stopped, cleaned up on a thread of its own. */
    pthread_t recovery;
    bool recovering;
    atomic_bool recovery_stop;
    char (*pending)[65];
    bool *pending_creating;
    size_t n_pending;
};

/* Where one pod's things live. */
typedef struct sb_paths {
    char dir[PATH_MAX];        /* <root>/sandboxes/<id>: bundle, /etc files, shm */
    char run_dir[PATH_MAX];    /* <state>/sandboxes/<id>: monitor pid/exit/log */
    char netns_dir[PATH_MAX];  /* <state>/netns */
    char userns_dir[PATH_MAX]; /* <state>/userns */
    char userns[PATH_MAX];     /* <state>/userns/<id>: the pinned user namespace of a POD-mode pod */
    char shm[PATH_MAX];
    char hostname[PATH_MAX];
    char hosts[PATH_MAX];
    char resolv[PATH_MAX];
    char rootfs[PATH_MAX]; /* the pause image's layers, mounted (with a pause.image) */
    char upper[PATH_MAX];  /* its upper and work dirs: only runc writes (mount points) */
    char work[PATH_MAX];
    char ipc_pin[PATH_MAX]; /* <state>/sandboxes/<id>/ipc, uts: a pod without a pause (sandbox_pins.c) */
    char uts_pin[PATH_MAX];
    ck_oci_monitor_files mon;
} sb_paths;

void sb_paths_init(const ck_sandboxes *sb, const char *id, sb_paths *p);
/* The pod's own lock (see keylock.h): -1 with CK_E_CANCELLED when the call
 * ended while another call held it. */
int sb_lock(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err);
void sb_unlock(ck_sandboxes *sb, const char *id);

/* sandbox_files.c */
int sb_prepare_rootfs(ck_sandboxes *sb, ck_err *err);
int sb_write_hostname(const sb_paths *p, const char *hostname, ck_err *err);
int sb_write_hosts(const sb_paths *p, const char *hostname, const char *ip, bool host_network, ck_err *err);
/* Writes the pod's IP into the /etc/hosts its pause already bind-mounted
 * (CNI ADD ran beside the pause's creation): the same file, in place. */
int sb_add_ip_to_hosts(const sb_paths *p, const char *hostname, const char *ip, ck_err *err);
int sb_write_resolv(const sb_paths *p, const ck_sandbox_config *cfg, ck_err *err);
int sb_mount_shm(const sb_paths *p, ck_err *err);
void sb_unmount_shm(const sb_paths *p);

/* sandbox_record.c: the versioned `data` JSON. */
enum { SB_RECORD_VERSION = 1 };
json_t *sb_record_new(const ck_sandbox_config *cfg, const char *netns, const char *cgroup_parent);
int sb_save(ck_sandboxes *sb, const ck_pod_record *row, json_t *data, int state, ck_err *err);
/* Loads a pod's row and its parsed data. */
int sb_load(ck_sandboxes *sb, const char *id, ck_pod_record *row, json_t **data, ck_err *err);
/* The record's fields the domain reads and changes as the pod lives; no
 * other file names a key. */
/* The CNI attachment (plan, or plan and result) as JSON text (free it), or
 * NULL when there is none (never set up, or torn down). */
char *sb_record_cni(json_t *data);
/* NULL state: torn down. */
int sb_record_set_cni(json_t *data, const char *state, ck_err *err);
const char *sb_record_netns(json_t *data); /* "" when none */
void sb_record_set_netns(json_t *data, const char *path);
void sb_record_set_ips(json_t *data, const ck_cni_attachment *att);
const char *sb_record_hostname(json_t *data);
void sb_record_set_hostname(json_t *data, const char *hostname);
const char *sb_record_pause_image(json_t *data); /* "" for the built-in pause */
void sb_record_set_pause_image(json_t *data, const char *image_id, const char *rootfs);
bool sb_record_stopped(json_t *data);
void sb_record_set_stopped(json_t *data);
/* The runtime has deleted the pause's container: a later stop (the one
 * RemovePodSandbox makes) need not ask it again. */
bool sb_record_runtime_deleted(json_t *data);
void sb_record_set_runtime_deleted(json_t *data);
bool sb_record_privileged(json_t *data);
/* The pod's own user namespace: its mappings (recorded before the namespace
 * is made); false for a pod in the host's. */
void sb_record_set_userns(json_t *data, const ck_id_map *uid, const ck_id_map *gid);
bool sb_record_userns(json_t *data, ck_id_map *uid, ck_id_map *gid);
void sb_record_set_resources(json_t *data, const ck_sandbox_resources *overhead, const ck_sandbox_resources *resources);
/* The pause process's identity: recorded once it exists; read back (false
 * for a record without one, from before identities were kept). */
void sb_record_set_pause(json_t *data, const ck_proc_id *who);
bool sb_record_pause(json_t *data, ck_proc_id *who);
/* The key reserving a pod's name (name, namespace, uid, attempt), and the
 * ambiguous key older versions reserved, released too on remove. */
void sb_name_key(const char *name, const char *ns, const char *uid, uint32_t attempt, char *buf, size_t size);
void sb_name_key_legacy(const char *name, const char *ns, const char *uid, uint32_t attempt, char *buf, size_t size);
/* Fills the view's typed fields from the record's text (a damaged record
 * yields a view without details, logged); the fields point into what
 * sb_record_view_clear frees. The text is parsed once while it does not
 * change (sb->parsed); the parsed record, sb_record_of_view, is shared:
 * read it, never change it. It lacks the record's "cni" (the attachment no
 * view reads): whoever needs it, or saves the record, loads it (sb_load). */
int sb_record_view(ck_sandboxes *sb, const char *text, ck_sandbox_view *v, ck_err *err);
/* Around a view of every pod: the parsed records not used since
 * sb_record_views_begin (those of pods removed) are forgotten at the end. */
uint64_t sb_record_views_begin(ck_sandboxes *sb);
void sb_record_views_end(ck_sandboxes *sb, uint64_t epoch);
void sb_record_parsed_free(ck_sandboxes *sb);
/* Forgets pod id's parsed record and pause pidfd (the pod is removed). */
void sb_record_forget(ck_sandboxes *sb, const char *id);
void sb_record_view_clear(ck_sandbox_view *v);
json_t *sb_record_of_view(const ck_sandbox_view *v);
/* Whether the pause that pod id's parsed record names has exited, asked
 * of a pidfd kept with the parse: 1 exited, 0 running, -1 not known this
 * way (not parsed, no pause recorded, the pidfd could not be opened: the
 * pause is gone or pidfds are not available), for the caller to find out
 * the slow way (sb_pause_alive). */
int sb_record_pause_exited(ck_sandboxes *sb, const char *id);
/* The pod as CNI sees it (pointers into row and data). */
void sb_cni_pod(const ck_pod_record *row, json_t *data, ck_cni_pod *pod);

/* sandbox_pins.c: a pod without a pause process */
/* Whether a pod runs without one: pause.pin_namespaces is on and its
 * containers do not share a PID namespace (the pause would be its init). */
bool sb_pins_wanted(const ck_sandboxes *sb, const ck_sandbox_config *cfg);
/* Pins the pod's own IPC and UTS namespaces at p->ipc_pin and p->uts_pin,
 * the hostname and the IPC sysctls set in them; on failure nothing is
 * left. */
int sb_pins_create(const sb_paths *p, const ck_sandbox_config *cfg, const char *hostname, ck_err *err);
/* Unmounts and removes the pins; absent ones are fine. */
int sb_pins_remove(const sb_paths *p, ck_err *err);
/* True while the pins are those made on this boot and still mounted;
 * else why, in reason (may be NULL). */
bool sb_pins_alive(const sb_paths *p, json_t *data, char *reason, size_t size);
/* Writes the pod's network sysctls inside its netns (after CNI ADD: they
 * may name its interfaces). */
int sb_pins_net_sysctls(const char *netns, const ck_sandbox_config *cfg, ck_err *err);
/* Calls read on the /proc/net/dev the pod's netns shows. */
int sb_pins_read_net_dev(const char *netns, void (*read)(FILE *f, void *arg), void *arg, ck_err *err);
/* /proc/sys/<name with dots as slashes>; -1 when too long. */
int sb_sysctl_path(const char *name, char *buf, size_t size);
/* The IPC namespace's sysctls (kernel.shm*, kernel.msg*, kernel.sem,
 * fs.mqueue.*); the network's are net.*. */
bool sb_ipc_sysctl(const char *name);
/* A pod without a pause: recorded with the boot it was made on. */
void sb_record_set_pinned(json_t *data, const char *boot_id);
bool sb_record_pinned(json_t *data);

/* sandbox_stop.c */
/* Stops the pause process, tears the network down, unmounts shm; records
 * NOTREADY. Caller holds the pod's stripe. */
int sb_stop_locked(ck_sandboxes *sb, const char *id, ck_err *err);
int sb_remove_locked(ck_sandboxes *sb, const char *id, ck_err *err);
/* Restart recovery. Before the daemon answers: ready pods are checked
 * (a dead pause reads NOTREADY) and their pause image rootfs is in use
 * again; the pods a previous run left half-created (CREATING) or stopped
 * are noted, the half-created ones as being created, so a kubelet retry
 * waits for their clean-up. Then a thread of its own removes each
 * half-created pod and retries the network tear-down of each stopped one,
 * under the pod's lock, so a start-up never waits for processes or
 * plugins. -1 only when the thread cannot start. */
int sb_recover(ck_sandboxes *sb, ck_err *err);
/* Asks the recovery thread to stop after its current pod, and joins it. */
void sb_recover_stop(ck_sandboxes *sb);
/* The creating[] list (sandbox.c): add (false when full or already
 * there) and done (wakes waiters). */
bool sb_creating_add(ck_sandboxes *sb, const char *id);
void sb_creating_done(ck_sandboxes *sb, const char *id);
/* True when the pod's pause process still runs: no exit file, and, where
 * the record knows who it is, the same process on the same boot. Otherwise
 * why, in reason (may be NULL). */
bool sb_pause_alive(const sb_paths *p, json_t *data, char *reason, size_t size);
/* Unmounts the pod's pause-image rootfs (none mounted is fine). */
int sb_unmount_rootfs(ck_sandboxes *sb, const sb_paths *p, ck_err *err);

#endif
