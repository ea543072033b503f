/*
 * containers_internal: what the container files share: the manager, the
 * paths of one container, and the record (container_record.c owns its
 * keys; no other file names one).
 */
#ifndef CK_CONTAINERS_INTERNAL_H
#define CK_CONTAINERS_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>

#include "common/keylock.h"
#include "common/proc.h"
#include "containers/containers.h"
#include "oci/runtime.h"
#include "oci/user.h"
#include "store/store.h"

enum { CT_MAX_CREATING = 256 };

/* The last CPU sample of a container, from which the next stats call
 * computes a rate (container_stats.c). */
typedef struct ct_cpu_sample {
    char id[65];
    uint64_t usage_ns;
    int64_t at_ns;
    bool has_rate;
    uint64_t nano_cores; /* the rate computed when this sample was taken */
} ct_cpu_sample;

/* list_cache.c: the views of the last list, with the rows they came from
 * and the store generation they are up to date with. */
typedef struct ct_list_cache {
    pthread_mutex_t mu; /* guards all of it; taken before the store's */
    bool valid;
    uint64_t generation;
    struct ct_list_entry *entries; /* in the store's list order */
    size_t n;
    size_t audit_next; /* where the next call's full refreshes start */
    /* Moves whenever any entry may have changed (a rebuild, a refresh that
     * recorded something, a reset): lists at one version return the same
     * views. Never 0. */
    uint64_t version;
} ct_list_cache;

struct ck_containers {
    const ck_config *cfg;
    ck_store *store;
    ck_images *images;
    ck_sandboxes *sandboxes;
    ck_event_hub *events; /* may be NULL */
    pthread_mutex_t mu;   /* guards creating[], name reservation and cpu_samples */
    pthread_cond_t cv;    /* signalled when a creation ends */
    char creating[CT_MAX_CREATING][65];
    size_t n_creating;
    ck_keylock locks;           /* one per container id */
    ct_cpu_sample *cpu_samples; /* container_stats.c; freed with the manager */
    size_t n_cpu_samples, cap_cpu_samples;
    /* exit_watch.c: an inotify watch on each live container's run dir. */
    int inotify_fd, watch_stop_fd;
    pthread_t watch_thread;
    bool watching;
    pthread_mutex_t watch_mu;  /* guards watches[] and watch_handling */
    pthread_cond_t watch_cv;   /* signalled when handling events ends */
    bool watch_handling;       /* events read and not yet all handled */
    atomic_int watch_failures; /* a watch could not be set, or events were lost */
    struct ct_watch_entry *watches;
    size_t n_watches, cap_watches;
    bool readonly_trees; /* the kernel can make recursively read-only mounts */
    ct_list_cache list_cache;
};

/* Where one container's things live. */
typedef struct ct_paths {
    char dir[PATH_MAX];     /* <root>/containers/<id>: the bundle (config.json) */
    char rootfs[PATH_MAX];  /* the overlay mount point */
    char upper[PATH_MAX];   /* its writable layer */
    char work[PATH_MAX];    /* overlay's work dir */
    char volumes[PATH_MAX]; /* the image's VOLUMEs */
    char run_dir[PATH_MAX]; /* <state>/containers/<id>: the monitor's files */
    ck_oci_monitor_files mon;
} ct_paths;

void ct_paths_init(const ck_containers *cs, const char *id, ct_paths *p);

/* readonly_trees.c: a staged clone of each mount ck_container_mount_staged
 * names (recursively read-only and/or idmapped through the pod's user
 * namespace) at <run_dir>/rro/<its index in cfg->mounts> (the dir
 * ct_readonly_trees_dir names), for the spec to bind; on failure the
 * caller's release detaches what was attached; released
 * (detached and removed, whatever is left) once the runtime made the
 * container, and before the run dir is removed. */
void ct_readonly_trees_dir(const char *run_dir, char *out, size_t size);
int ct_readonly_trees_stage(const ck_container_config *cfg, const ck_sandbox_context *pod, const char *run_dir,
                            ck_err *err);
/* CreateContainer's check: each clone made and let go (run_dir NULL above),
 * so what cannot be staged is refused before the start. */
int ct_readonly_trees_check(const ck_container_config *cfg, const ck_sandbox_context *pod, ck_err *err);
int ct_readonly_trees_release(const char *run_dir, ck_err *err);
int ct_lock(ck_containers *cs, const char *id, const ck_cancel *cancel, ck_err *err);
void ct_unlock(ck_containers *cs, const char *id);
/* The creating[] list: a retry of a creation under way waits for it. */
void ct_creating_done(ck_containers *cs, const char *id);
bool ct_is_creating(ck_containers *cs, const char *id);

/* ---- container_record.c: the versioned `data` JSON --------------------- */
enum { CT_RECORD_VERSION = 1 };

/* A new record of what the request asked for. */
json_t *ct_record_new(const ck_container_config *cfg, const char *log_path, const char *runtime_handler);
int ct_save(ck_containers *cs, const ck_container_record *row, json_t *data, ck_err *err);
/* Saves a state change with data as the record, and mirrors it in row. */
int ct_save_transition(ck_containers *cs, ck_container_record *row, json_t *data, ck_container_transition tr,
                       ck_err *err);
/* The row and its parsed data; NOT_FOUND when absent. */
int ct_load(ck_containers *cs, const char *id, ck_container_record *row, json_t **data, ck_err *err);

void ct_record_set_image(json_t *data, const char *image_id, const char *image_ref);
void ct_record_set_user(json_t *data, const ck_oci_user *user);
void ct_record_set_resources(json_t *data, const ck_container_resources *r);
void ct_record_set_stop_signal(json_t *data, int sig);
int ct_record_stop_signal(json_t *data);
void ct_record_set_rootfs(json_t *data, const char *rootfs);
const char *ct_record_rootfs(json_t *data); /* "" when none mounted */
const char *ct_record_runtime_handler(json_t *data);
const char *ct_record_name_key(json_t *data);
void ct_record_set_name_key(json_t *data, const char *key);
/* The init process: recorded once started (who NULL: it ended before it
 * could be identified, its memory cgroup alone); read back false when not
 * known. */
void ct_record_set_init(json_t *data, const ck_proc_id *who, const char *memory_cgroup);
/* Forgets the init and its memory cgroup (a runtime container that was
 * deleted before it ran). */
void ct_record_forget_init(json_t *data);
/* The monitor's stdio settings (CRI log, stdin, stdin_once, tty) into mon. */
void ct_record_stdio(json_t *data, ck_oci_monitor_files *mon);
bool ct_record_init(json_t *data, ck_proc_id *who);
const char *ct_record_memory_cgroup(json_t *data); /* "" when unknown */
/* How it ended: reason ("Completed", "Error", "OOMKilled") and message. */
void ct_record_set_end(json_t *data, const char *reason, const char *message);

/* "created", "running", ... for messages. */
const char *ct_state_name(int state);

/* The name key: one container per (pod, name, attempt). */
void ct_name_key(const char *pod_id, const char *name, uint32_t attempt, char *buf, size_t size);

/* Fills a view from a row (its data parsed); the view owns copies. */
int ct_record_view(const ck_container_record *row, ck_container_view *v, ck_err *err);
json_t *ct_record_of_view(const ck_container_view *v);
/* copy: v's fields, sharing what they point into (released by
 * ck_container_view_clear of each copy, in any order, from any thread). */
void ct_view_share(const ck_container_view *v, ck_container_view *copy);

/* ---- container_stop.c ----------------------------------------------------- */
/* Brings a row up to date with its processes: a RUNNING container (or a
 * CREATED one whose start began: started_at_ns set) whose init exited (its monitor's exit file, or its identity
 * gone with its monitor) is recorded EXITED with code, time and reason, in
 * the store, in row and in data (NULL: parsed from row when needed). Safe
 * without the container's lock: every caller that sees the exit writes the
 * same record. A CREATED row whose start never began costs nothing: no
 * process exists. 1 when the row changed, 0 when not, -1 on error. */
int ct_refresh(ck_containers *cs, ck_container_record *row, json_t *data, ck_err *err);
/* The full id of id (a unique prefix); NOT_FOUND when none. */
int ct_resolve_id(ck_containers *cs, const char *id, char *full, size_t size, ck_err *err);
int ct_stop_locked(ck_containers *cs, const char *id, int64_t timeout_s, ck_err *err);
int ct_remove_locked(ck_containers *cs, const char *id, ck_err *err);
/* container_start.c: a start a restart cut short (a CREATED row whose
 * start began) is finished: RUNNING when its monitor is up, left for the
 * refresh to record when its exit file is there, else rolled back to a
 * startable CREATED (row updated). */
void ct_start_recover(ck_containers *cs, ck_container_record *row, json_t *data);
/* Restart recovery: rolls back half-created containers, re-mounts the
 * rootfs of the others, records those that ended meanwhile. */
int ct_recover(ck_containers *cs, ck_err *err);
void ct_publish(ck_containers *cs, int type, const char *id, const char *pod_id);

/* ---- list_cache.c ---------------------------------------------------------- */
void ct_list_cache_init(ct_list_cache *c);
void ct_list_cache_free(ct_list_cache *c);
/* Which views a list returns; arg is the caller's. */
typedef bool (*ct_list_keep)(const ck_container_view *v, const void *arg);
/* Every container's view (but those being created) that keep (NULL: any)
 * keeps, in the store's order, up to date with the rows and their
 * processes; each shares what it points into with the cache. *version
 * gets the cache's version the views are from; when it is known (the
 * caller's last one), nothing is shared (*out NULL, *n 0). */
int ct_list_views(ck_containers *cs, ct_list_keep keep, const void *arg, uint64_t known, ck_container_view **out,
                  size_t *n, uint64_t *version, ck_err *err);

/* The exit watch thread's sweep: the live containers whose init is gone
 * (an end no exit file tells: the monitor died too), and a few others by
 * their full identity (a pid answering may be a reused one), refreshed. */
void ct_list_cache_sweep(ck_containers *cs);

/* ---- exit_watch.c ----------------------------------------------------------- */
enum { CT_SWEEP_MS = 1000, CT_SETTLE_S = 2 };
int ct_watch_start(ck_containers *cs, ck_err *err);
void ct_watch_stop(ck_containers *cs);
/* Watches a created or running container's run dir for its exit file (and
 * looks once, for an exit that came first). A failure is logged: the exit
 * is then learnt at the next status or list. */
void ct_watch_add(ck_containers *cs, const char *id);
/* Records the exit of container id if it ended (ct_refresh of its row). */
void ct_look_at(ck_containers *cs, const char *id);
/* Waits (up to CT_SETTLE_S) until the watch has handled every event queued
 * before the call: true when every exit file renamed before then is
 * recorded; false when the watch cannot say (a watch missing, events
 * lost, its thread gone or late): the caller checks for itself. */
bool ct_watch_settled(ck_containers *cs);

#endif
