/*
 * container_start: StartContainer, and what restart recovery does with a
 * start a crash cut short.
 *
 * A created container is a bundle and a mounted rootfs, nothing more (as
 * in containerd): no monitor, no runtime container. The start stages the
 * read-only trees (readonly_trees.c), starts a monitor that runs the
 * runtime's `run --detach` (ck_oci_monitor_files.start, as for the pause),
 * releases the trees once the container's mount namespace holds its own
 * copies, and records who the init is.
 *
 * "A start began" is the row's started_at_ns set while it is still
 * CREATED, saved before the monitor is spawned: a CREATED row with
 * started_at_ns 0 has no process anywhere, and nobody looks for one (no
 * file system call on list). A crash between the mark and RUNNING leaves
 * a row that recovery finishes (a monitor up: RUNNING; an exit file:
 * EXITED) or rolls back to a startable CREATED, with nothing left behind.
 * A start that fails is recorded EXITED with reason StartError (as
 * containerd records it), its runtime container deleted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "containers/containers_internal.h"
#include "containers/events.h"
#include "sandbox/sandbox.h"

/* The row's started_at_ns (CREATED kept): 0 undoes the mark. */
static int mark_start(ck_containers *cs, const char *id, int64_t at_ns, ck_err *err)
{
    ck_container_transition tr = {
        .state = CK_CONTAINER_CREATED, .set = CK_CONTAINER_SET_STARTED, .started_at_ns = at_ns};
    return ck_store_container_set_state(cs->store, id, &tr, err);
}

/* The run dir is on /run: gone after a reboot, made again. */
static int ensure_run_dir(const ct_paths *p, ck_err *err)
{
    if (mkdir(p->run_dir, 0700) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", p->run_dir);
    return 0;
}

/* The clones the spec binds (its requested mounts, from the record, in the
 * pod's current context). */
static int stage_trees(ck_containers *cs, const ck_container_record *row, const ct_paths *p, ck_err *err)
{
    ck_container_view v;
    if (ct_record_view(row, &v, err) < 0) {
        ck_container_view_clear(&v);
        return -1;
    }
    ck_sandbox_context pod;
    int rc = ck_sandbox_context_get(cs->sandboxes, row->pod_id, &pod, err);
    if (rc == 0) {
        ck_container_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.mounts = v.mounts;
        cfg.n_mounts = v.n_mounts;
        rc = ct_readonly_trees_stage(&cfg, &pod, p->run_dir, err);
    }
    ck_container_view_clear(&v);
    return rc;
}

static void release_trees(const char *id, const ct_paths *p)
{
    ck_err e;
    ck_err_clear(&e);
    if (ct_readonly_trees_release(p->run_dir, &e) < 0)
        ck_warn("containers", "container %s: %s", id, e.msg);
}

static void delete_runtime_container(const ck_oci_runtime *rt, const char *id)
{
    ck_err e;
    ck_err_clear(&e);
    if (ck_oci_delete(rt, id, &e) < 0)
        ck_warn("containers", "container %s: delete its runtime container: %s", id, e.msg);
}

/* The memory cgroup the runtime made for the bundle's linux.cgroupsPath:
 * what is known of an init that ended before it could be identified (an
 * OOM kill at once says OOMKilled only through it). */
static void memory_cgroup_of_spec(const ct_paths *p, char *buf, size_t size)
{
    char config[PATH_MAX];
    snprintf(config, sizeof(config), "%s/config.json", p->dir);
    json_t *spec = json_load_file(config, 0, NULL);
    const char *path = json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
    if (path == NULL ||
        (!ck_cgroup_dir_of_path(path, "memory", buf, size) && !ck_cgroup_dir_of_path(path, "", buf, size)))
        buf[0] = '\0';
    json_decref(spec);
}

/* Who the init is, and its memory cgroup: a process that already ended
 * (and was reaped by its monitor) cannot be identified, and its cgroup
 * comes from the spec; its exit file tells the rest. */
static void record_init(json_t *data, pid_t pid, const ct_paths *p)
{
    ck_proc_id who;
    ck_err e;
    ck_err_clear(&e);
    bool known = ck_proc_id_capture(pid, &who, &e) == 0;
    char memory[PATH_MAX] = "";
    if (!ck_cgroup_dir_of(pid, "memory", false, memory, sizeof(memory)) &&
        !ck_cgroup_dir_of(pid, "", false, memory, sizeof(memory)))
        memory_cgroup_of_spec(p, memory, sizeof(memory));
    ct_record_set_init(data, known ? &who : NULL, memory);
}

/* The monitor started with `run --detach`, the trees staged for it and
 * released after; on failure nothing of the runtime's is left. */
static int launch(ck_containers *cs, const ck_container_record *row, json_t *data, const ck_oci_runtime *rt, pid_t *pid,
                  ck_err *err)
{
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    ct_record_stdio(data, &p.mon);
    p.mon.start = true;
    int rc = ensure_run_dir(&p, err);
    /* A created container has not ended: an exit file is a previous
     * monitor's (a start rolled back after its monitor wrote it), and the
     * refresh after the start would take it for this run's end. */
    if (rc == 0 && unlink(p.mon.exit_file) < 0 && errno != ENOENT)
        rc = ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", p.mon.exit_file);
    if (rc == 0)
        rc = stage_trees(cs, row, &p, err);
    if (rc == 0)
        rc = ck_oci_create(rt, row->id, p.dir, &p.mon, pid, err);
    /* The container's mount namespace holds its own copies now. */
    release_trees(row->id, &p);
    if (rc < 0) {
        delete_runtime_container(rt, row->id); /* runc may leave a half-made container */
        ck_oci_wait_exit_file(&p.mon);         /* its monitor is on its way out: gone when the call answers */
    }
    return rc;
}

/* As containerd records it: the container ends, saying why, never started. */
static void record_start_error(ck_containers *cs, const char *id, json_t *data, const char *why)
{
    ct_record_set_end(data, "StartError", why);
    char *text = json_dumps(data, JSON_COMPACT);
    ck_container_transition tr = {.state = CK_CONTAINER_EXITED,
                                  .set = CK_CONTAINER_SET_STARTED | CK_CONTAINER_SET_FINISHED |
                                         CK_CONTAINER_SET_EXIT_CODE | (text != NULL ? CK_CONTAINER_SET_DATA : 0),
                                  .started_at_ns = 0,
                                  .finished_at_ns = ck_now_ns(),
                                  .exit_code = 128,
                                  .data = text};
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_container_set_state(cs->store, id, &tr, &e) < 0)
        ck_warn("containers", "container %s: record its failed start: %s", id, e.msg);
    free(text);
}

/* RUNNING since started_at_ns, with the init data names. */
static int record_running(ck_containers *cs, ck_container_record *row, json_t *data, int64_t started_at_ns, ck_err *err)
{
    ck_container_transition tr = {
        .state = CK_CONTAINER_RUNNING, .set = CK_CONTAINER_SET_STARTED, .started_at_ns = started_at_ns};
    return ct_save_transition(cs, row, data, tr, err);
}

static int start_locked(ck_containers *cs, const char *id, ck_err *err)
{
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    if (ct_load(cs, id, &row, &data, err) < 0)
        return -1;
    int rc = -1;
    ck_oci_runtime rt;
    if (ct_refresh(cs, &row, data, err) < 0)
        goto out;
    if (row.state != CK_CONTAINER_CREATED) {
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is %s, not created: it cannot be started", id,
                        ct_state_name(row.state));
        goto out;
    }
    if (ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, err) < 0)
        goto out;
    /* Taken before the start: a process that ends at once must not
     * finish before it started. */
    int64_t started = ck_now_ns();
    if (mark_start(cs, id, started, err) < 0)
        goto out;
    pid_t pid = 0;
    if (launch(cs, &row, data, &rt, &pid, err) < 0) {
        record_start_error(cs, id, data, err->msg);
        ck_err_wrap(err, "start container %s", id);
        goto out;
    }
    ct_paths p;
    ct_paths_init(cs, id, &p);
    record_init(data, pid, &p);
    rc = record_running(cs, &row, data, started, err);
    if (rc == 0) {
        ct_publish(cs, CK_EVENT_CONTAINER_STARTED, id, row.pod_id);
        ct_watch_add(cs, id);
        /* A process that already ended may have been seen (and recorded)
         * by a status call before RUNNING was: look again. */
        rc = ct_refresh(cs, &row, data, err) < 0 ? -1 : 0;
    }
out:
    json_decref(data);
    return rc;
}

int ck_container_start(ck_containers *cs, const char *id, const ck_cancel *cancel, ck_err *err)
{
    char full[65];
    if (ct_resolve_id(cs, id, full, sizeof(full), err) < 0 || ct_lock(cs, full, cancel, err) < 0)
        return -1;
    int rc = start_locked(cs, full, err);
    ct_unlock(cs, full);
    return rc;
}

/* ---- a start cut short by a restart ------------------------------------------ */

/* The init's pid once the monitor's runtime wrote it; 0 when the monitor
 * ended (or never was) without one. A monitor still at `run` is waited for
 * (bounded as it bounds `run`). */
static pid_t monitor_init_pid(const ct_paths *p, const ck_oci_runtime *rt)
{
    int64_t until = ck_mono_ms() + ((int64_t)rt->handler->create_timeout + 5) * 1000;
    for (;;) {
        int64_t pid = 0;
        bool running = ck_oci_monitor_running(&p->mon);
        if (ck_read_i64_file(p->mon.pid_file, 1, INT32_MAX, &pid, NULL) == 0 && running)
            return (pid_t)pid;
        if (!running || ck_mono_ms() >= until)
            return 0;
        usleep(10 * 1000);
    }
}

/* What a crash left of it goes; the row is CREATED and startable again. */
static void roll_back_start(ck_containers *cs, ck_container_record *row, const ck_oci_runtime *rt, const ct_paths *p)
{
    delete_runtime_container(rt, row->id);
    release_trees(row->id, p);
    ck_err e;
    ck_err_clear(&e);
    if (mark_start(cs, row->id, 0, &e) < 0) {
        ck_warn("containers", "container %s: undo its start: %s", row->id, e.msg);
        return;
    }
    row->started_at_ns = 0;
    ck_info("containers", "container %s (%s): its start was cut short by a restart; created again", row->id, row->name);
}

/* A container created by a cricket from before the deferred create: its
 * CreateContainer ran the runtime's `create`, so a runtime container (its
 * init waiting for `start`) and a monitor wait for a start that would now
 * collide with them. Both go, and the init the row names; the start runs
 * it afresh. A container created since costs one failed stat here. */
static void drop_early_create(ck_containers *cs, ck_container_record *row, json_t *data, const ck_oci_runtime *rt,
                              const ct_paths *p)
{
    char state[PATH_MAX];
    if (snprintf(state, sizeof(state), "%s/%s", rt->root, row->id) >= (int)sizeof(state) || access(state, F_OK) < 0)
        return;
    delete_runtime_container(rt, row->id);
    ck_oci_wait_exit_file(&p->mon); /* its monitor sees the init end */
    if (unlink(p->mon.exit_file) < 0 && errno != ENOENT)
        ck_warn("containers", "container %s: remove %s: %s", row->id, p->mon.exit_file, strerror(errno));
    ct_record_forget_init(data);
    ck_container_transition tr = {.state = CK_CONTAINER_CREATED};
    ck_err e;
    ck_err_clear(&e);
    if (ct_save_transition(cs, row, data, tr, &e) < 0) {
        ck_warn("containers", "container %s: forget its old init: %s", row->id, e.msg);
        return;
    }
    ck_info("containers",
            "container %s (%s): created by an earlier cricket; its runtime container is made again at start", row->id,
            row->name);
}

void ct_start_recover(ck_containers *cs, ck_container_record *row, json_t *data)
{
    if (row->state != CK_CONTAINER_CREATED)
        return;
    ct_paths p;
    ct_paths_init(cs, row->id, &p);
    ck_oci_runtime rt;
    ck_err e;
    ck_err_clear(&e);
    if (ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, &e) < 0) {
        ck_warn("containers", "container %s: recover its start: %s", row->id, e.msg);
        return;
    }
    if (row->started_at_ns == 0) {
        drop_early_create(cs, row, data, &rt, &p);
        return;
    }
    pid_t pid = monitor_init_pid(&p, &rt);
    int code;
    long long at;
    if (ck_oci_read_exit(&p.mon, &code, &at, &e) == 1)
        return; /* it ran and ended: the refresh records it */
    if (pid <= 0) {
        roll_back_start(cs, row, &rt, &p);
        return;
    }
    record_init(data, pid, &p);
    if (record_running(cs, row, data, row->started_at_ns, &e) < 0)
        ck_warn("containers", "container %s: finish its start: %s", row->id, e.msg);
    else
        ct_publish(cs, CK_EVENT_CONTAINER_STARTED, row->id, row->pod_id);
}
