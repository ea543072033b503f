/*
 * container_stop: how a container ends. Its exit is learnt from its
 * monitor's exit file (or, when the monitor is gone too, from its init's
 * identity: pid, start time, boot); StopContainer signals and waits;
 * RemoveContainer forgets it; restart recovery rolls back half-made
 * containers and brings the others up to date.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "containers/containers_internal.h"
#include "containers/events.h"
#include "images/images.h"

/* The kernel's count of OOM kills in the container's memory cgroup (v1
 * memory.oom_control, v2 memory.events); 0 when it cannot be read. */
static long oom_kills(const char *memory_cgroup)
{
    static const char *const files[] = {"memory.oom_control", "memory.events"};
    if (memory_cgroup[0] == '\0')
        return 0;
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", memory_cgroup, files[i]);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        char line[128];
        uint64_t n = 0;
        ck_err e;
        ck_err_clear(&e);
        while (fgets(line, sizeof(line), f) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            if (strncmp(line, "oom_kill ", 9) == 0 && ck_parse_u64(line + 9, 10, &n, &e) == 0)
                break;
        }
        fclose(f);
        return (long)n;
    }
    return 0;
}

/* Records the end: EXITED with code, time and reason, in the store and in
 * row (and data). */
static int record_exit(ck_containers *cs, ck_container_record *row, json_t *data, int code, int64_t at_ns,
                       const char *message, ck_err *err)
{
    const char *reason = code == 0 ? "Completed" : "Error";
    if (oom_kills(ct_record_memory_cgroup(data)) > 0)
        reason = "OOMKilled";
    ct_record_set_end(data, reason, message);
    ck_container_transition tr = {
        .state = CK_CONTAINER_EXITED,
        .set = CK_CONTAINER_SET_FINISHED | CK_CONTAINER_SET_EXIT_CODE,
        .finished_at_ns = at_ns,
        .exit_code = code,
    };
    if (ct_save_transition(cs, row, data, tr, err) < 0)
        return -1;
    ct_publish(cs, CK_EVENT_CONTAINER_STOPPED, row->id, row->pod_id);
    return 1;
}

/* Whether the init still runs: no exit file (unless the caller has just
 * looked: exit_checked), and (once recorded) its identity matches; why it
 * is gone in reason. */
static bool init_alive(const ct_paths *p, json_t *data, bool exit_checked, char *reason, size_t size)
{
    int code;
    long long at;
    ck_err e;
    ck_err_clear(&e);
    if (!exit_checked && ck_oci_read_exit(&p->mon, &code, &at, &e) == 1) {
        snprintf(reason, size, "exited with code %d", code);
        return false;
    }
    ck_proc_id who;
    if (ct_record_init(data, &who))
        return ck_proc_id_alive(&who, reason, size);
    if (ck_oci_monitor_running(&p->mon))
        return true; /* an init that ended before it was identified: its monitor writes the exit file */
    snprintf(reason, size, "its monitor is gone");
    return false;
}

/* Whether a process of the container may exist: RUNNING, or CREATED with
 * its start begun. */
static bool may_have_process(const ck_container_record *row)
{
    return row->state == CK_CONTAINER_RUNNING || (row->state == CK_CONTAINER_CREATED && row->started_at_ns != 0);
}

int ct_refresh(ck_containers *cs, ck_container_record *row, json_t *data, ck_err *err)
{
    if (!may_have_process(row))
        return 0;
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    int code = 0;
    long long at = 0;
    ck_err e;
    ck_err_clear(&e);
    int got = ck_oci_read_exit(&p.mon, &code, &at, &e);
    json_t *own = NULL;
    if (data == NULL) {
        if (got == 0 && row->state == CK_CONTAINER_CREATED)
            return 0; /* the common case: nothing to read */
        own = json_loads(row->data != NULL ? row->data : "{}", 0, NULL);
        data = own != NULL ? own : json_object();
        own = data;
    }
    int rc = 0;
    char why[256] = "";
    if (got == 1) {
        rc = record_exit(cs, row, data, code, at, "", err);
    } else if (row->state == CK_CONTAINER_RUNNING && !init_alive(&p, data, true, why, sizeof(why)) &&
               !ck_oci_monitor_running(&p.mon)) {
        /* (A start under way is its caller's to finish, or recovery's.) */
        /* The monitor writes the exit file before it lets go of its lock:
         * between the first look and this one it may have done both. */
        if (ck_oci_read_exit(&p.mon, &code, &at, &e) == 1) {
            rc = record_exit(cs, row, data, code, at, "", err);
        } else {
            /* Gone without a word: its monitor was killed too, or the node
             * rebooted. The code is unknown; say so. */
            char message[320];
            snprintf(message, sizeof(message), "its process ended while nobody watched: %s", why);
            rc = record_exit(cs, row, data, 255, ck_now_ns(), message, err);
        }
    }
    json_decref(own);
    return rc;
}

/* ---- StopContainer -------------------------------------------------------- */

typedef struct alive_of {
    const ct_paths *p;
    json_t *data;
} alive_of;

static bool alive_fn(void *arg)
{
    const alive_of *a = arg;
    char why[256];
    return init_alive(a->p, a->data, false, why, sizeof(why));
}

static int kill_and_wait(ck_containers *cs, ck_container_record *row, json_t *data, int64_t timeout_s, ck_err *err)
{
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    ck_oci_runtime rt;
    if (ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, err) < 0)
        return -1;
    int64_t grace_ms = timeout_s > 0 ? timeout_s * 1000 : 0;
    if (grace_ms > INT32_MAX)
        grace_ms = INT32_MAX;
    alive_of a = {&p, data};
    ck_proc_id init; /* pid 0 when not recorded: the runtime signals it */
    (void)ct_record_init(data, &init);
    if (ck_oci_stop(&rt, row->id, &init, ct_record_stop_signal(data), (int)grace_ms, alive_fn, &a, err) < 0)
        return ck_err_wrap(err, "stop container %s", row->id);
    ck_oci_wait_exit_file(&p.mon);
    return ct_refresh(cs, row, data, err) < 0 ? -1 : 0;
}

int ct_stop_locked(ck_containers *cs, const char *id, int64_t timeout_s, ck_err *err)
{
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (ct_load(cs, id, &row, &data, &e) < 0) {
        if (e.kind == CK_E_NOT_FOUND)
            return 0;
        ck_err_copy(err, &e);
        return -1;
    }
    /* A created container has no process to stop: it stays CREATED (as in
     * containerd). */
    int rc = ct_refresh(cs, &row, data, err);
    if (rc >= 0 && row.state == CK_CONTAINER_RUNNING)
        rc = kill_and_wait(cs, &row, data, timeout_s, err);
    json_decref(data);
    return rc < 0 ? -1 : 0;
}

/* ---- RemoveContainer ------------------------------------------------------ */

/* Everything a container has, whatever state it is in: the runtime's
 * container, the rootfs mount, the read-only trees a creation cut short
 * left, the directories, the row and the name. */
static int remove_everything(ck_containers *cs, const ck_container_record *row, json_t *data, ck_err *err)
{
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    ck_oci_runtime rt;
    /* A container never started has nothing in the runtime. */
    bool in_runtime = row->state != CK_CONTAINER_CREATED || row->started_at_ns != 0;
    if (ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, err) < 0 ||
        (in_runtime && ck_oci_delete(&rt, row->id, err) < 0) ||
        ck_images_unmount_rootfs(cs->images, p.rootfs, err) < 0 || ct_readonly_trees_release(p.run_dir, err) < 0 ||
        ck_rm_rf(p.dir, err) < 0 || ck_rm_rf(p.run_dir, err) < 0)
        return ck_err_wrap(err, "remove container %s", row->id);
    if (ck_store_container_delete(cs->store, row->id, err) < 0)
        return -1;
    const char *key = ct_record_name_key(data);
    if (key[0] != '\0' && ck_store_name_release(cs->store, key, err) < 0)
        return -1;
    return 0;
}

int ct_remove_locked(ck_containers *cs, const char *id, ck_err *err)
{
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (ct_load(cs, id, &row, &data, &e) < 0) {
        if (e.kind == CK_E_NOT_FOUND)
            return 0;
        ck_err_copy(err, &e);
        return -1;
    }
    int rc = 0;
    if (row.state == CK_CONTAINER_CREATING && ct_is_creating(cs, id))
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is still being created", id);
    else if (ct_refresh(cs, &row, data, err) < 0 ||
             (row.state == CK_CONTAINER_RUNNING && kill_and_wait(cs, &row, data, 0, err) < 0) ||
             remove_everything(cs, &row, data, err) < 0)
        rc = -1;
    else
        ct_publish(cs, CK_EVENT_CONTAINER_DELETED, row.id, row.pod_id);
    json_decref(data);
    return rc;
}

/* ---- the containers of a pod -------------------------------------------- */

typedef int (*per_container_fn)(ck_containers *cs, const char *id, int64_t grace_s, ck_err *err);

static int stop_one(ck_containers *cs, const char *id, int64_t grace_s, ck_err *err)
{
    return ct_stop_locked(cs, id, grace_s, err);
}

static int remove_one(ck_containers *cs, const char *id, int64_t grace_s, ck_err *err)
{
    (void)grace_s;
    return ct_remove_locked(cs, id, err);
}

static int each_of_pod(ck_containers *cs, const char *pod_id, int64_t grace_s, per_container_fn fn,
                       const ck_cancel *cancel, ck_err *err)
{
    if (pod_id == NULL || pod_id[0] == '\0')
        return 0;
    char *full = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_pod_find_prefix(cs->store, pod_id, &full, &e) < 0) {
        if (e.kind == CK_E_NOT_FOUND)
            return 0; /* stop and remove are idempotent */
        ck_err_copy(err, &e);
        return -1;
    }
    ck_container_record *rows = NULL;
    size_t n = 0;
    int rc = ck_store_container_list_by_pod(cs->store, full, &rows, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (ct_lock(cs, rows[i].id, cancel, err) < 0) {
            rc = -1;
            break;
        }
        rc = fn(cs, rows[i].id, grace_s, err);
        ct_unlock(cs, rows[i].id);
    }
    ck_container_records_free(rows, n);
    free(full);
    return rc;
}

int ck_containers_stop_pod(ck_containers *cs, const char *pod_id, int64_t grace_s, const ck_cancel *cancel, ck_err *err)
{
    return each_of_pod(cs, pod_id, grace_s, stop_one, cancel, err);
}

int ck_containers_remove_pod(ck_containers *cs, const char *pod_id, const ck_cancel *cancel, ck_err *err)
{
    return each_of_pod(cs, pod_id, 0, remove_one, cancel, err);
}

/* ---- restart recovery ------------------------------------------------------ */

/* A creation a crash cut short: whatever it made goes. */
static void roll_back(ck_containers *cs, ck_container_record *row, json_t *data)
{
    ck_err e;
    ck_err_clear(&e);
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    ck_oci_runtime rt;
    alive_of a = {&p, data};
    if (ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, &e) < 0 ||
        ck_oci_stop(&rt, row->id, NULL, SIGKILL, 0, alive_fn, &a, &e) < 0 || remove_everything(cs, row, data, &e) < 0)
        ck_warn("containers", "container %s: roll back its creation: %s", row->id, e.msg);
    else
        ck_info("containers", "container %s (%s): its creation was cut short by a restart; rolled back", row->id,
                row->name);
}

/* A container that outlived the daemon: its rootfs is in use again (mounted
 * anew after a reboot), read-only clones left are released, and an exit
 * meanwhile is recorded. */
static void take_back(ck_containers *cs, ck_container_record *row, json_t *data)
{
    ck_err e;
    ck_err_clear(&e);
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    const char *rootfs = ct_record_rootfs(data);
    const char *image = json_string_value(json_object_get(data, "image_id"));
    if (rootfs[0] != '\0' && image != NULL &&
        ck_images_mount_rootfs(cs->images, image, p.rootfs, p.upper, p.work, NULL, 0, &e) < 0)
        ck_warn("containers", "container %s: mount its rootfs again: %s", row->id, e.msg);
    ct_start_recover(cs, row, data);
    /* No container needs its read-only clones once started: a crash
     * between the staging and their release left them. */
    ck_err_clear(&e);
    if (ct_readonly_trees_release(p.run_dir, &e) < 0)
        ck_warn("containers", "container %s: %s", row->id, e.msg);
    ck_err_clear(&e);
    if (ct_refresh(cs, row, data, &e) < 0)
        ck_warn("containers", "container %s: %s", row->id, e.msg);
    if (row->state == CK_CONTAINER_RUNNING)
        ct_watch_add(cs, row->id);
}

int ct_recover(ck_containers *cs, ck_err *err)
{
    ck_container_record *rows = NULL;
    size_t n = 0;
    if (ck_store_container_list(cs->store, &rows, &n, err) < 0)
        return ck_err_wrap(err, "recover containers");
    size_t rolled = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *data = json_loads(rows[i].data != NULL ? rows[i].data : "{}", 0, NULL);
        if (data == NULL)
            data = json_object();
        if (rows[i].state == CK_CONTAINER_CREATING) {
            roll_back(cs, &rows[i], data);
            rolled++;
        } else {
            take_back(cs, &rows[i], data);
        }
        json_decref(data);
    }
    if (n > 0)
        ck_info("containers", "recovered %zu containers (%zu half-created rolled back)", n - rolled, rolled);
    ck_container_records_free(rows, n);
    return 0;
}
