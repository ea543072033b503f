/*
 * sandbox_stop: StopPodSandbox, RemovePodSandbox and restart recovery.
 *
 * Stop: the pause process gets SIGTERM (it exits 0 at once), SIGKILL after
 * a grace period; the runtime forgets the container (a pod without a pause
 * has its pinned namespaces removed instead); /dev/shm and the pause
 * image's rootfs are unmounted;
 * CNI DEL runs with the configuration the pod was set up with, and only once
 * it succeeded is the netns removed and the attachment forgotten, so a
 * failed DEL is retried by the next stop, by remove and at restart. Every
 * step tolerates what is already gone: stop and remove are idempotent.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/spawn.h"
#include "images/images.h"
#include "common/userns.h"
#include "netcni/netns.h"
#include "sandbox/sandbox_internal.h"

enum { STOP_GRACE_MS = 5000 };

bool sb_pause_alive(const sb_paths *p, json_t *data, char *reason, size_t size)
{
    if (sb_record_pinned(data))
        return sb_pins_alive(p, data, reason, size);
    int code = 0;
    long long at = 0;
    ck_err e;
    ck_err_clear(&e);
    if (ck_oci_read_exit(&p->mon, &code, &at, &e) == 1) {
        if (reason != NULL)
            snprintf(reason, size, "its pause process exited with code %d", code);
        return false;
    }
    ck_proc_id who;
    if (sb_record_pause(data, &who)) {
        char why[200];
        if (ck_proc_id_alive(&who, why, sizeof(why)))
            return true;
        if (reason != NULL)
            snprintf(reason, size, "its pause process is gone: %s", why);
        return false;
    }
    /* A record from before identities were kept: the pid is all there is. */
    if (who.pid > 0) {
        if (kill(who.pid, 0) < 0 && errno == ESRCH) {
            if (reason != NULL)
                snprintf(reason, size, "its pause process (pid %d) is gone", (int)who.pid);
            return false;
        }
        return true;
    }
    /* No pause recorded (a creation cut short): its monitor may still be
     * creating it. */
    if (ck_oci_monitor_running(&p->mon))
        return true;
    if (reason != NULL)
        snprintf(reason, size, "its pause process never started");
    return false;
}

typedef struct pause_of {
    const ck_oci_runtime *rt;
    const char *id;
    const sb_paths *p;
    json_t *data;
} pause_of;

/* sb_pause_alive; and for a pod whose pause was never recorded and whose
 * monitor is gone, whether the runtime still holds a created container
 * (the monitor died after `create`). */
static bool pause_running(void *arg)
{
    const pause_of *po = arg;
    if (sb_pause_alive(po->p, po->data, NULL, 0))
        return true;
    ck_proc_id who;
    sb_record_pause(po->data, &who);
    if (who.pid > 0)
        return false;
    char status[32];
    pid_t pid = 0;
    ck_err e;
    ck_err_clear(&e);
    if (ck_oci_state(po->rt, po->id, status, sizeof(status), &pid, &e) < 0)
        return e.kind != CK_E_NOT_FOUND; /* a runtime that cannot say is no proof */
    return strcmp(status, "stopped") != 0;
}

/* The stop sequence every container has (ck_oci_stop: nothing is waited
 * for that cannot exist, so recovery after a crash is quick), then the
 * runtime forgets the container, once: a runtime process saved on every
 * RemovePodSandbox after a StopPodSandbox. */
static int stop_pause(ck_sandboxes *sb, const ck_pod_record *row, json_t *data, const sb_paths *p, ck_err *err)
{
    /* Pins go with the pause they stand for; any left by a creation cut
     * short before its record said so go too. */
    if (sb_pins_remove(p, err) < 0)
        return ck_err_wrap(err, "pod %s", row->id);
    if (sb_record_runtime_deleted(data) || sb_record_pinned(data))
        return 0;
    ck_oci_runtime rt;
    if (ck_oci_runtime_get(sb->cfg, row->runtime_handler, &rt, err) < 0)
        return -1;
    pause_of po = {&rt, row->id, p, data};
    ck_proc_id pause;
    if (!sb_record_pause(data, &pause))
        pause.pid = 0; /* not recorded: the runtime signals it */
    if (ck_oci_stop(&rt, row->id, &pause, SIGTERM, STOP_GRACE_MS, pause_running, &po, err) < 0)
        return ck_err_wrap(err, "pod %s: stop its pause process", row->id);
    if (ck_oci_delete(&rt, row->id, err) < 0)
        return -1;
    sb_record_set_runtime_deleted(data);
    return 0;
}

int sb_unmount_rootfs(ck_sandboxes *sb, const sb_paths *p, ck_err *err)
{
    if (sb->images == NULL)
        return 0;
    return ck_images_unmount_rootfs(sb->images, p->rootfs, err);
}

/* CNI DEL with the saved attachment; then the netns goes. */
static int teardown_network(ck_sandboxes *sb, const ck_pod_record *row, json_t *data, ck_err *err)
{
    char *state = sb_record_cni(data);
    if (state != NULL) {
        ck_cni_pod pod;
        sb_cni_pod(row, data, &pod);
        int rc = ck_cni_del(sb->cni, &pod, state, err);
        free(state);
        if (rc < 0)
            return ck_err_wrap(err, "tear down network");
        if (sb_record_set_cni(data, NULL, err) < 0)
            return -1;
    }
    const char *netns = sb_record_netns(data);
    if (netns[0] != '\0') {
        if (ck_netns_remove(netns, err) < 0)
            return -1;
        sb_record_set_netns(data, "");
    }
    return 0;
}

int sb_stop_locked(ck_sandboxes *sb, const char *id, ck_err *err)
{
    _cleanup_pod_record_ ck_pod_record row = {0};
    json_t *data = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (sb_load(sb, id, &row, &data, &e) < 0) {
        if (e.kind == CK_E_NOT_FOUND)
            return 0;
        ck_err_copy(err, &e);
        return -1;
    }
    sb_paths p;
    sb_paths_init(sb, id, &p);
    int rc = stop_pause(sb, &row, data, &p, err);
    if (rc == 0) {
        sb_unmount_shm(&p);
        rc = sb_unmount_rootfs(sb, &p, err);
    }
    if (rc == 0)
        rc = teardown_network(sb, &row, data, err);
    sb_record_set_stopped(data);
    /* Whatever happened, what was done is recorded. A half-made pod being
     * removed stays CREATING (never listed) unless its stop failed: then
     * it is listed NOTREADY, for the kubelet to stop and remove again. */
    int state = row.state == CK_SANDBOX_CREATING && rc == 0 ? CK_SANDBOX_CREATING : CK_SANDBOX_NOTREADY;
    ck_err se;
    ck_err_clear(&se);
    if (sb_save(sb, &row, data, state, &se) < 0 && rc == 0) {
        ck_err_copy(err, &se);
        rc = -1;
    }
    json_decref(data);
    return rc;
}

int ck_sandbox_stop(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err)
{
    _cleanup_free_ char *full = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "stop pod sandbox: no id given");
    if (ck_store_pod_find_prefix(sb->store, id, &full, &e) < 0)
        return e.kind == CK_E_NOT_FOUND ? 0 : ck_err_copy(err, &e);
    if (sb_lock(sb, full, cancel, err) < 0)
        return ck_err_wrap(err, "stop pod sandbox %s", full);
    int rc = sb_stop_locked(sb, full, err);
    sb_unlock(sb, full);
    if (rc < 0)
        return ck_err_wrap(err, "stop pod sandbox %s", full);
    ck_info("sandbox", "pod %s stopped", full);
    return 0;
}

int sb_remove_locked(ck_sandboxes *sb, const char *id, ck_err *err)
{
    if (sb_stop_locked(sb, id, err) < 0)
        return -1;
    _cleanup_pod_record_ ck_pod_record row = {0};
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_pod_get(sb->store, id, &row, &e) < 0)
        return e.kind == CK_E_NOT_FOUND ? 0 : ck_err_copy(err, &e);
    sb_paths p;
    sb_paths_init(sb, id, &p);
    sb_unmount_shm(&p);
    if (sb_unmount_rootfs(sb, &p, err) < 0 || ck_userns_remove(p.userns, err) < 0 || ck_rm_rf(p.dir, err) < 0 ||
        ck_rm_rf(p.run_dir, err) < 0)
        return -1;
    char key[1200], legacy[1200];
    sb_name_key(row.name, row.ns, row.uid, row.attempt, key, sizeof(key));
    sb_name_key_legacy(row.name, row.ns, row.uid, row.attempt, legacy, sizeof(legacy));
    if (ck_store_pod_delete(sb->store, id, err) < 0 || ck_store_name_release(sb->store, key, err) < 0)
        return -1;
    sb_record_forget(sb, id);
    /* A pod made by an older cricket holds its name under the old key, if
     * it is still its own. */
    _cleanup_free_ char *owner = NULL;
    ck_err_clear(&e);
    if (ck_store_name_lookup(sb->store, legacy, &owner, &e) == 0 && strcmp(owner, id) == 0)
        return ck_store_name_release(sb->store, legacy, err);
    return 0;
}

int ck_sandbox_remove(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err)
{
    _cleanup_free_ char *full = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "remove pod sandbox: no id given");
    if (ck_store_pod_find_prefix(sb->store, id, &full, &e) < 0)
        return e.kind == CK_E_NOT_FOUND ? 0 : ck_err_copy(err, &e);
    if (sb_lock(sb, full, cancel, err) < 0)
        return ck_err_wrap(err, "remove pod sandbox %s", full);
    int rc = sb_remove_locked(sb, full, err);
    sb_unlock(sb, full);
    if (rc < 0)
        return ck_err_wrap(err, "remove pod sandbox %s", full);
    ck_info("sandbox", "pod %s removed", full);
    return 0;
}

/* First pass, a READY pod: its pause image rootfs is in use again (still
 * mounted after a daemon kill, or mounted again: in use until the pod is
 * stopped either way), and it is NOTREADY when its pause is gone. True
 * when it is still ready. */
static bool recover_ready(ck_sandboxes *sb, const ck_pod_record *r, const sb_paths *p)
{
    json_t *data = json_loads(r->data != NULL ? r->data : "{}", 0, NULL);
    const char *image = sb_record_pause_image(data);
    ck_err err;
    ck_err_clear(&err);
    ck_id_map uid = {0}, gid = {0};
    bool own_userns = sb_record_userns(data, &uid, &gid);
    ck_rootfs_idmap idmap = {p->userns, uid.host_id, gid.host_id};
    if (image[0] != '\0' && sb->images != NULL &&
        ck_images_mount_rootfs_idmapped(sb->images, image, p->rootfs, p->upper, p->work, own_userns ? &idmap : NULL,
                                        NULL, 0, &err) < 0)
        ck_error("sandbox", "recovery: pod %s: %s", r->id, err.msg);
    char why[256];
    bool alive = sb_pause_alive(p, data, why, sizeof(why));
    json_decref(data);
    if (alive)
        return true;
    ck_warn("sandbox", "recovery: pod %s: %s: NOTREADY", r->id, why);
    ck_err_clear(&err);
    if (ck_store_pod_set_state(sb->store, r->id, CK_SANDBOX_NOTREADY, &err) < 0)
        ck_error("sandbox", "recovery: pod %s: %s", r->id, err.msg);
    return false;
}

/* Second pass, one pod: a half-created one is removed (its creation never
 * answered), a stopped one gets its network tear-down retried. */
static void recover_one(ck_sandboxes *sb, const char *id, bool creating)
{
    ck_err err;
    ck_err_clear(&err);
    if (sb_lock(sb, id, NULL, &err) < 0) {
        ck_error("sandbox", "recovery: pod %s: %s", id, err.msg);
        return;
    }
    if (!creating) {
        if (sb_stop_locked(sb, id, &err) < 0)
            ck_warn("sandbox", "recovery: pod %s: %s (retried at its next stop or remove)", id, err.msg);
        sb_unlock(sb, id);
        return;
    }
    ck_warn("sandbox", "recovery: pod %s was being created when the daemon stopped: removing it", id);
    if (sb_remove_locked(sb, id, &err) < 0) {
        /* Listed NOTREADY, with what is left recorded: retried at its next
         * stop or remove. */
        ck_error("sandbox", "recovery: remove pod %s: %s", id, err.msg);
        ck_err_clear(&err);
        if (ck_store_pod_set_state(sb->store, id, CK_SANDBOX_NOTREADY, &err) < 0)
            ck_error("sandbox", "recovery: pod %s: %s", id, err.msg);
    } else {
        /* A netns pinned just before the crash, not yet recorded. */
        sb_paths p;
        sb_paths_init(sb, id, &p);
        char netns[PATH_MAX + 80];
        snprintf(netns, sizeof(netns), "%s/%s", p.netns_dir, id);
        ck_err_clear(&err);
        if (ck_netns_remove(netns, &err) < 0 || ck_userns_remove(p.userns, &err) < 0)
            ck_error("sandbox", "recovery: %s", err.msg);
    }
    sb_unlock(sb, id);
}

static void *recover_thread(void *arg)
{
    ck_sandboxes *sb = arg;
    for (size_t i = 0; i < sb->n_pending; i++) {
        if (!atomic_load(&sb->recovery_stop))
            recover_one(sb, sb->pending[i], sb->pending_creating[i]);
        if (sb->pending_creating[i])
            sb_creating_done(sb, sb->pending[i]);
    }
    ck_info("sandbox", "recovery: %zu pods left by the previous run cleaned up", sb->n_pending);
    return NULL;
}

static void note_pending(ck_sandboxes *sb, const ck_pod_record *r)
{
    bool creating = r->state == CK_SANDBOX_CREATING;
    snprintf(sb->pending[sb->n_pending], 65, "%s", r->id);
    /* Retries of a half-created pod wait for its removal, as for a creation. */
    sb->pending_creating[sb->n_pending] = creating && sb_creating_add(sb, r->id);
    sb->n_pending++;
}

int sb_recover(ck_sandboxes *sb, ck_err *err)
{
    ck_pod_record *rows = NULL;
    size_t n = 0;
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_pod_list(sb->store, &rows, &n, &e) < 0) {
        ck_error("sandbox", "recovery: list pods: %s", e.msg);
        return 0;
    }
    sb->pending = calloc(n + 1, sizeof(*sb->pending));
    sb->pending_creating = calloc(n + 1, sizeof(*sb->pending_creating));
    if (sb->pending == NULL || sb->pending_creating == NULL) {
        ck_pod_records_free(rows, n);
        return ck_err_oom(err, "pod recovery");
    }
    size_t ready = 0;
    for (size_t i = 0; i < n; i++) {
        const ck_pod_record *r = &rows[i];
        sb_paths p;
        sb_paths_init(sb, r->id, &p);
        if (r->state == CK_SANDBOX_CREATING || r->state == CK_SANDBOX_NOTREADY)
            note_pending(sb, r);
        else if (recover_ready(sb, r, &p))
            ready++;
    }
    if (n > 0)
        ck_info("sandbox", "recovery: %zu pods found, %zu ready, %zu to clean up in the background", n, ready,
                sb->n_pending);
    ck_pod_records_free(rows, n);
    if (sb->n_pending == 0)
        return 0;
    int rc = pthread_create(&sb->recovery, NULL, recover_thread, sb);
    if (rc != 0) {
        for (size_t i = 0; i < sb->n_pending; i++)
            if (sb->pending_creating[i])
                sb_creating_done(sb, sb->pending[i]);
        return ck_err_set(err, CK_E_INTERNAL, rc, "start the pod recovery thread");
    }
    sb->recovering = true;
    return 0;
}

void sb_recover_stop(ck_sandboxes *sb)
{
    if (sb->recovering) {
        atomic_store(&sb->recovery_stop, true);
        pthread_join(sb->recovery, NULL);
        sb->recovering = false;
    }
    free(sb->pending);
    free(sb->pending_creating);
    sb->pending = NULL;
    sb->pending_creating = NULL;
    sb->n_pending = 0;
}
