/*
 * containers: the manager and CreateContainer.
 *
 * Creation is a list of steps; each pushes its undo on a cleanup stack and
 * a failure unwinds it, so no mount, directory or row is left. The row is
 * saved CREATING before anything is made, with each thing recorded as it
 * is made, so restart recovery can roll back what a crash cut short. As in
 * containerd, a created container has no process: no monitor, no runtime
 * container; StartContainer (container_start.c) makes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/id.h"
#include "common/log.h"
#include "common/mount.h"
#include "common/timeutil.h"
#include "common/undo.h"
#include "containers/containers_internal.h"
#include "containers/events.h"
#include "containers/monitor/protocol.h"
#include "containers/spec.h"
#include "images/images.h"

int ck_containers_new(const ck_config *cfg, ck_store *store, ck_images *images, ck_sandboxes *sandboxes,
                      ck_event_hub *events, ck_containers **out, ck_err *err)
{
    ck_containers *cs = calloc(1, sizeof(*cs));
    if (cs == NULL)
        return ck_err_oom(err, "containers");
    cs->cfg = cfg;
    cs->store = store;
    cs->images = images;
    cs->sandboxes = sandboxes;
    cs->events = events;
    pthread_mutex_init(&cs->mu, NULL);
    pthread_cond_init(&cs->cv, NULL);
    ck_keylock_init(&cs->locks);
    pthread_mutex_init(&cs->watch_mu, NULL);
    pthread_cond_init(&cs->watch_cv, NULL);
    atomic_init(&cs->watch_failures, 0);
    ct_list_cache_init(&cs->list_cache);
    cs->inotify_fd = cs->watch_stop_fd = -1;
    char dir[PATH_MAX];
    /* 0711: a container in its pod's user namespace reaches its rootfs
     * below, as a user of no rights here; nothing can be listed. */
    snprintf(dir, sizeof(dir), "%s/containers", cfg->root_dir);
    if (ck_mkdir_p(dir, 0711, err) < 0)
        goto fail;
    if (chmod(dir, 0711) < 0) {
        ck_err_set(err, CK_E_INTERNAL, errno, "chmod %s", dir);
        goto fail;
    }
    snprintf(dir, sizeof(dir), "%s/containers", cfg->state_dir);
    if (ck_mkdir_p(dir, 0700, err) < 0)
        goto fail;
    char why[CK_ERR_MSG_MAX];
    cs->readonly_trees = ck_mount_readonly_tree_supported(dir, why, sizeof(why));
    if (!cs->readonly_trees)
        ck_info("containers", "recursive read-only mounts are not available: %s", why);
    if (ct_watch_start(cs, err) < 0 || ct_recover(cs, err) < 0)
        goto fail;
    *out = cs;
    return 0;
fail:
    ck_containers_free(cs);
    return -1;
}

bool ck_containers_readonly_trees(const ck_containers *cs)
{
    return cs->readonly_trees;
}

void ck_containers_free(ck_containers *cs)
{
    if (cs == NULL)
        return;
    ct_watch_stop(cs);
    ct_list_cache_free(&cs->list_cache);
    ck_keylock_destroy(&cs->locks);
    free(cs->cpu_samples);
    pthread_cond_destroy(&cs->cv);
    pthread_mutex_destroy(&cs->mu);
    free(cs);
}

void ct_paths_init(const ck_containers *cs, const char *id, ct_paths *p)
{
    snprintf(p->dir, sizeof(p->dir), "%s/containers/%s", cs->cfg->root_dir, id);
    snprintf(p->rootfs, sizeof(p->rootfs), "%s/rootfs", p->dir);
    snprintf(p->upper, sizeof(p->upper), "%s/upper", p->dir);
    snprintf(p->work, sizeof(p->work), "%s/work", p->dir);
    snprintf(p->volumes, sizeof(p->volumes), "%s/volumes", p->dir);
    snprintf(p->run_dir, sizeof(p->run_dir), "%s/containers/%s", cs->cfg->state_dir, id);
    ck_oci_monitor_files_init(&p->mon, p->run_dir);
    snprintf(p->mon.control, sizeof(p->mon.control), "%s/ctl", p->run_dir);
    snprintf(p->mon.attach, sizeof(p->mon.attach), "%s/attach", p->run_dir);
}

int ct_lock(ck_containers *cs, const char *id, const ck_cancel *cancel, ck_err *err)
{
    char what[96];
    snprintf(what, sizeof(what), "container %.64s", id);
    return ck_keylock_acquire(&cs->locks, id, cancel, what, err);
}

void ct_unlock(ck_containers *cs, const char *id)
{
    ck_keylock_release(&cs->locks, id);
}

void ct_publish(ck_containers *cs, int type, const char *id, const char *pod_id)
{
    if (cs->events == NULL)
        return;
    ck_container_event ev = {.type = (ck_event_type)type, .created_at_ns = ck_now_ns()};
    snprintf(ev.container_id, sizeof(ev.container_id), "%s", id);
    snprintf(ev.pod_id, sizeof(ev.pod_id), "%s", pod_id);
    ck_event_publish(cs->events, &ev);
}

/* ---- name reservation and retries ----------------------------------------- */

bool ct_is_creating(ck_containers *cs, const char *id)
{
    for (size_t i = 0; i < cs->n_creating; i++)
        if (strcmp(cs->creating[i], id) == 0)
            return true;
    return false;
}

void ct_creating_done(ck_containers *cs, const char *id)
{
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; i < cs->n_creating; i++)
        if (strcmp(cs->creating[i], id) == 0) {
            memcpy(cs->creating[i], cs->creating[--cs->n_creating], 65);
            break;
        }
    pthread_cond_broadcast(&cs->cv);
    pthread_mutex_unlock(&cs->mu);
}

/* An existing owner of the name: 1 when it is the same request's container,
 * still CREATED (its id copied: a kubelet retry), -1 when the name is taken,
 * 0 when the reservation was stale and is released. Called with mu held. */
static int existing_owner(ck_containers *cs, const char *key, const char *owner, char *id_out, ck_err *err)
{
    _cleanup_container_record_ ck_container_record row = {0};
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_container_get(cs->store, owner, &row, &e) < 0) {
        if (e.kind != CK_E_NOT_FOUND) {
            ck_err_copy(err, &e);
            return -1;
        }
        return ck_store_name_release(cs->store, key, err) < 0 ? -1 : 0;
    }
    if (row.state == CK_CONTAINER_CREATED) {
        snprintf(id_out, 65, "%s", owner);
        return 1;
    }
    return ck_err_set(err, CK_E_EXISTS, 0,
                      "container name %s (attempt %u) is already used in pod %s by container %s: remove it first",
                      row.name, row.attempt, row.pod_id, owner);
}

/* 0: a new id reserved in id_out (and added to creating[]); 1: the same
 * container exists (id_out); -1. */
static int reserve(ck_containers *cs, const char *key, const ck_cancel *cancel, char *id_out, ck_err *err)
{
    pthread_mutex_lock(&cs->mu);
    int rc;
    for (;;) {
        char *owner = NULL;
        ck_err e;
        ck_err_clear(&e);
        if (ck_store_name_lookup(cs->store, key, &owner, &e) < 0) {
            if (e.kind != CK_E_NOT_FOUND) {
                ck_err_copy(err, &e);
                rc = -1;
                break;
            }
        } else if (ct_is_creating(cs, owner)) {
            free(owner);
            if (ck_cancelled(cancel)) {
                rc = ck_err_set(err, CK_E_CANCELLED, 0,
                                "container %s is still being created by an earlier call, and this call ended "
                                "while waiting for it",
                                key);
                break;
            }
            struct timespec until = ck_time_after_ms(CLOCK_REALTIME, CK_CANCEL_POLL_MS);
            pthread_cond_timedwait(&cs->cv, &cs->mu, &until);
            continue;
        } else {
            rc = existing_owner(cs, key, owner, id_out, err);
            free(owner);
            if (rc != 0)
                break;
        }
        if (cs->n_creating >= CT_MAX_CREATING) {
            rc = ck_err_set(err, CK_E_EXHAUSTED, 0, "too many containers being created at once");
            break;
        }
        if (ck_random_id(id_out, err) < 0 || ck_store_name_reserve(cs->store, key, id_out, err) < 0) {
            rc = -1;
            break;
        }
        memcpy(cs->creating[cs->n_creating++], id_out, 65);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&cs->mu);
    return rc;
}

/* ---- the steps ---------------------------------------------------------- */

typedef struct create_ctx {
    ck_containers *cs;
    const ck_container_config *cfg;
    ck_sandbox_context pod;
    ck_image *image;
    ck_oci_runtime rt;
    ct_paths p;
    ck_container_record row;
    json_t *data;
    char key[1024];
    char log_path[PATH_MAX];
} create_ctx;

static int save(create_ctx *c, int state, ck_err *err)
{
    c->row.state = state;
    return ct_save(c->cs, &c->row, c->data, err);
}

static void undo_row(void *ctx, void *arg)
{
    (void)arg;
    create_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_container_delete(c->cs->store, c->row.id, &e) < 0 ||
        ck_store_name_release(c->cs->store, c->key, &e) < 0)
        ck_warn("containers", "container %s: undo: %s", c->row.id, e.msg);
}

static void undo_dirs(void *ctx, void *arg)
{
    (void)arg;
    create_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (ck_rm_rf(c->p.dir, &e) < 0 || ck_rm_rf(c->p.run_dir, &e) < 0)
        ck_warn("containers", "container %s: undo: %s", c->row.id, e.msg);
}

static void undo_rootfs(void *ctx, void *arg)
{
    (void)arg;
    create_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (ck_images_unmount_rootfs(c->cs->images, c->p.rootfs, &e) < 0)
        ck_warn("containers", "container %s: undo: %s", c->row.id, e.msg);
}

static int step_row(create_ctx *c, ck_undo *u, ck_err *err)
{
    if (save(c, CK_CONTAINER_CREATING, err) < 0)
        return -1;
    return ck_undo_push(u, "delete row", undo_row, NULL, false, err);
}

static int step_dirs(create_ctx *c, ck_undo *u, ck_err *err)
{
    if (mkdir(c->p.dir, 0700) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", c->p.dir);
    if (ck_undo_push(u, "remove directories", undo_dirs, NULL, false, err) < 0)
        return -1;
    /* In a user namespace the container must reach its rootfs below:
     * searchable by the pod's own root group only (0710, group its mapped
     * gid 0), never by other host users. */
    if (c->pod.own_userns && (chown(c->p.dir, 0, (gid_t)c->pod.gid_map.host_id) < 0 || chmod(c->p.dir, 0710) < 0))
        return ck_err_set(err, CK_E_INTERNAL, errno, "open %s to the pod's user namespace", c->p.dir);
    /* The overlay's root takes the upper dir's mode: 0755, or no process
     * but root could read the container's own files. The bundle dir above
     * stays 0700. */
    const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {{c->p.rootfs, 0755}, {c->p.upper, 0755}, {c->p.work, 0700}, {c->p.volumes, 0755}, {c->p.run_dir, 0700}};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (mkdir(dirs[i].path, dirs[i].mode) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", dirs[i].path);
    return 0;
}

static int step_rootfs(create_ctx *c, ck_undo *u, ck_err *err)
{
    ct_record_set_rootfs(c->data, c->p.rootfs);
    if (save(c, CK_CONTAINER_CREATING, err) < 0)
        return -1;
    /* In the pod's user namespace: the layers idmapped through it, so the
     * image's files are the container root's. */
    ck_rootfs_idmap idmap = {c->pod.userns, c->pod.uid_map.host_id, c->pod.gid_map.host_id};
    if (ck_images_mount_rootfs_idmapped(c->cs->images, c->image->id, c->p.rootfs, c->p.upper, c->p.work,
                                        c->pod.own_userns ? &idmap : NULL, NULL, 0, err) < 0)
        return ck_err_wrap(err, "image %s", c->cfg->image);
    return ck_undo_push(u, "unmount rootfs", undo_rootfs, NULL, false, err);
}

/* What the start will stage can be: refused here as before, nothing kept. */
static int step_readonly_trees(create_ctx *c, ck_err *err)
{
    return ct_readonly_trees_check(c->cfg, &c->pod, err);
}

/* PID namespace TARGET: the namespace of another container's init, which
 * must run (as containerd and CRI-O require). */
static int target_pid_ns(create_ctx *c, char *out, size_t size, ck_err *err)
{
    out[0] = '\0';
    const ck_container_security *sec = &c->cfg->security;
    if (sec->ns_pid != CK_NS_TARGET)
        return 0;
    char full[65];
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    if (ct_resolve_id(c->cs, sec->ns_target_id, full, sizeof(full), err) < 0 ||
        ct_load(c->cs, full, &row, &data, err) < 0)
        return ck_err_wrap(err, "pid namespace target %s", sec->ns_target_id);
    ck_proc_id who;
    char why[256] = "it is not running";
    int rc = 0;
    if (row.state != CK_CONTAINER_RUNNING || !ct_record_init(data, &who) || !ck_proc_id_alive(&who, why, sizeof(why)))
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "pid namespace target %s: %s", full, why);
    else
        snprintf(out, size, "/proc/%d/ns/pid", (int)who.pid);
    json_decref(data);
    return rc;
}

static int step_spec(create_ctx *c, ck_err *err)
{
    char target[64];
    if (target_pid_ns(c, target, sizeof(target), err) < 0)
        return -1;
    char trees[PATH_MAX];
    ct_readonly_trees_dir(c->p.run_dir, trees, sizeof(trees));
    ck_container_spec_in in = {
        .target_pid_ns = target,
        .id = c->row.id,
        .cfg = c->cfg,
        .pod = &c->pod,
        .image = c->image,
        .rootfs = c->p.rootfs,
        .bundle = c->p.dir,
        .volumes_dir = c->p.volumes,
        .readonly_trees_dir = trees,
        .cgroup_driver = c->cs->cfg->cgroup_driver,
    };
    ck_container_spec_out out;
    memset(&out, 0, sizeof(out));
    if (ck_container_spec_write(&in, &out, err) < 0)
        return -1;
    ct_record_set_user(c->data, &out.user);
    ct_record_set_stop_signal(c->data, out.stop_signal);
    return 0;
}

/* The log file exists once the container does, as in containerd (the
 * monitor appends to it from the start on); its directory too (the
 * kubelet makes the pod's; a log_path may name a subdirectory). */
static int step_log_dir(create_ctx *c, ck_err *err)
{
    if (c->log_path[0] == '\0')
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", c->log_path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (ck_mkdir_p(dir, 0755, err) < 0)
            return ck_err_wrap(err, "log directory of container %s", c->cfg->name);
    }
    int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, CK_MON_LOG_MODE);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "log file of container %s: create %s", c->cfg->name, c->log_path);
    close(fd);
    return 0;
}

static int run_steps(create_ctx *c, ck_err *err)
{
    ck_undo u;
    ck_undo_init(&u, c);
    int rc = -1;
    if (step_row(c, &u, err) == 0 && step_dirs(c, &u, err) == 0 && step_rootfs(c, &u, err) == 0 &&
        step_readonly_trees(c, err) == 0 && step_spec(c, err) == 0 && step_log_dir(c, err) == 0 &&
        save(c, CK_CONTAINER_CREATED, err) == 0)
        rc = 0;
    if (rc < 0)
        ck_undo_run(&u);
    else
        ck_undo_dismiss(&u);
    return rc;
}

/* ---- CreateContainer ------------------------------------------------------ */

static int resolve_log_path(const ck_container_config *cfg, const ck_sandbox_context *pod, char *out, size_t size,
                            ck_err *err)
{
    out[0] = '\0';
    if (cfg->log_path == NULL || cfg->log_path[0] == '\0')
        return 0;
    if (cfg->log_path[0] == '/')
        snprintf(out, size, "%s", cfg->log_path);
    else if (pod->log_directory[0] != '\0')
        snprintf(out, size, "%s/%s", pod->log_directory, cfg->log_path);
    else
        return ck_err_set(err, CK_E_INVALID, 0, "container %s: log_path %s is relative and pod %s has no log_directory",
                          cfg->name, cfg->log_path, pod->id);
    if (strstr(out, "/../") != NULL || strlen(out) >= size - 1)
        return ck_err_set(err, CK_E_INVALID, 0, "container %s: log_path %s is not a plain path", cfg->name,
                          cfg->log_path);
    return 0;
}

/* What the image reference shown in status is: the digest reference when
 * the image has one (as containerd shows it), else its id. */
static const char *image_ref_of(const ck_image *img)
{
    return img->n_repo_digests > 0 ? img->repo_digests[0] : img->id;
}

static int prepare(create_ctx *c, const ck_container_config *cfg, ck_err *err)
{
    if (ck_container_config_check(cfg, err) < 0)
        return -1;
    if (ck_sandbox_context_get(c->cs->sandboxes, cfg->pod_id, &c->pod, err) < 0)
        return -1;
    if (!c->pod.ready)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "pod %s is not ready: cannot create container %s in it", c->pod.id,
                          cfg->name);
    if (ck_container_check_in_pod(cfg, &c->pod, err) < 0)
        return -1;
    if (resolve_log_path(cfg, &c->pod, c->log_path, sizeof(c->log_path), err) < 0)
        return -1;
    if (ck_images_get(c->cs->images, cfg->image, &c->image, err) < 0)
        return err->kind == CK_E_NOT_FOUND
                   ? ck_err_set(err, CK_E_NOT_FOUND, 0, "image %s not found: pull it first", cfg->image)
                   : ck_err_wrap(err, "container %s: image", cfg->name);
    return ck_oci_runtime_get(c->cs->cfg, c->pod.runtime_handler, &c->rt, err);
}

static int create_new(create_ctx *c, const char *id, ck_err *err)
{
    c->data = ct_record_new(c->cfg, c->log_path, c->pod.runtime_handler);
    if (c->data == NULL)
        return ck_err_oom(err, "container record");
    ct_record_set_image(c->data, c->image->id, image_ref_of(c->image));
    ct_record_set_name_key(c->data, c->key);
    ct_paths_init(c->cs, id, &c->p);
    c->row = (ck_container_record){
        .id = (char *)id,
        .pod_id = c->pod.id,
        .name = (char *)c->cfg->name,
        .attempt = c->cfg->attempt,
        .created_at_ns = ck_now_ns(),
        .image_ref = c->image->id,
    };
    return run_steps(c, err);
}

int ck_container_create(ck_containers *cs, const ck_container_config *cfg, const ck_cancel *cancel, char *id_out,
                        ck_err *err)
{
    create_ctx c = {.cs = cs, .cfg = cfg};
    int rc = prepare(&c, cfg, err);
    if (rc == 0) {
        ct_name_key(c.pod.id, cfg->name, cfg->attempt, c.key, sizeof(c.key));
        rc = reserve(cs, c.key, cancel, id_out, err);
        if (rc == 0) {
            rc = create_new(&c, id_out, err);
            ct_creating_done(cs, id_out);
            if (rc == 0)
                ct_publish(cs, CK_EVENT_CONTAINER_CREATED, id_out, c.pod.id);
        } else if (rc == 1) {
            rc = 0;
        }
    }
    json_decref(c.data);
    ck_image_free(c.image);
    if (rc < 0)
        return ck_err_wrap(err, "CreateContainer %s in pod %s", cfg->name, cfg->pod_id);
    return 0;
}

/* ---- ids ------------------------------------------------------------------ */

int ct_resolve_id(ck_containers *cs, const char *id, char *full, size_t size, ck_err *err)
{
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "container_id is required");
    char *found = NULL;
    if (ck_store_container_find_prefix(cs->store, id, &found, err) < 0)
        return -1;
    snprintf(full, size, "%s", found);
    free(found);
    return 0;
}
