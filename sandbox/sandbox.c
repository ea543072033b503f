/*
 * sandbox: the manager and RunPodSandbox. Creation is a list of numbered
 * steps; each pushes its undo on a cleanup stack, and any failure unwinds
 * it so no netns, mount, veth, IP, process, directory or row is left.
 *
 * A kubelet retry (same name, namespace, uid and attempt) while the first
 * call is still creating waits for it; after it finished it gets the same
 * id, not "name reserved".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/id.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/spawn.h"
#include "common/timeutil.h"
#include "common/undo.h"
#include "common/userns.h"
#include "images/images.h"
#include "netcni/netns.h"
#include "oci/user.h"
#include "sandbox/sandbox_internal.h"

int ck_sandboxes_new(const ck_config *cfg, ck_store *store, ck_cni *cni, ck_images *images, ck_sandboxes **out,
                     ck_err *err)
{
    ck_sandboxes *sb = calloc(1, sizeof(*sb));
    if (sb == NULL)
        return ck_err_oom(err, "sandboxes");
    sb->cfg = cfg;
    sb->store = store;
    sb->cni = cni;
    sb->images = images;
    pthread_mutex_init(&sb->mu, NULL);
    pthread_mutex_init(&sb->parsed_mu, NULL);
    pthread_cond_init(&sb->cv, NULL);
    ck_keylock_init(&sb->locks);
    char dir[PATH_MAX];
    /* 0711: a pod with its own user namespace must reach its pause image's
     * rootfs below (its root is no root of the host's); nothing is listed. */
    snprintf(dir, sizeof(dir), "%s/sandboxes", cfg->root_dir);
    if (mkdir(dir, 0711) < 0 && errno == EEXIST)
        chmod(dir, 0711);
    snprintf(dir, sizeof(dir), "%s/sandboxes", cfg->state_dir);
    mkdir(dir, 0700);
    if (sb_prepare_rootfs(sb, err) < 0) {
        ck_sandboxes_free(sb);
        return -1;
    }
    if (cfg->pause.image != NULL)
        ck_info("sandbox", "pods run their pause process from the image %s (pulled when absent)", cfg->pause.image);
    sb->userns_ok = ck_userns_probe(cfg->root_dir, sb->userns_why, sizeof(sb->userns_why));
    if (!sb->userns_ok)
        ck_warn("sandbox", "pods cannot have their own user namespace here: %s", sb->userns_why);
    if (sb_recover(sb, err) < 0) {
        ck_sandboxes_free(sb);
        return -1;
    }
    *out = sb;
    return 0;
}

bool ck_sandboxes_userns_supported(const ck_sandboxes *sb, char *why, size_t size)
{
    if (why != NULL && size > 0)
        snprintf(why, size, "%s", sb->userns_ok ? "" : sb->userns_why);
    return sb->userns_ok;
}

void ck_sandboxes_free(ck_sandboxes *sb)
{
    if (sb == NULL)
        return;
    sb_recover_stop(sb);
    sb_record_parsed_free(sb);
    pthread_mutex_destroy(&sb->parsed_mu);
    ck_keylock_destroy(&sb->locks);
    pthread_cond_destroy(&sb->cv);
    pthread_mutex_destroy(&sb->mu);
    free(sb);
}

/* ---- name reservation and retries ----------------------------------------- */

static bool is_creating(ck_sandboxes *sb, const char *id)
{
    for (size_t i = 0; i < sb->n_creating; i++)
        if (strcmp(sb->creating[i], id) == 0)
            return true;
    return false;
}

bool sb_creating_add(ck_sandboxes *sb, const char *id)
{
    pthread_mutex_lock(&sb->mu);
    bool added = sb->n_creating < SB_MAX_CREATING && !is_creating(sb, id);
    if (added)
        snprintf(sb->creating[sb->n_creating++], 65, "%s", id);
    pthread_mutex_unlock(&sb->mu);
    return added;
}

void sb_creating_done(ck_sandboxes *sb, const char *id)
{
    pthread_mutex_lock(&sb->mu);
    for (size_t i = 0; i < sb->n_creating; i++)
        if (strcmp(sb->creating[i], id) == 0) {
            memcpy(sb->creating[i], sb->creating[--sb->n_creating], 65);
            break;
        }
    pthread_cond_broadcast(&sb->cv);
    pthread_mutex_unlock(&sb->mu);
}

/* An existing owner of the name: 1 when it is the same pod, ready (its id
 * copied), -1 when the name is really taken, 0 when the reservation was
 * stale and is released. */
static int existing_owner(ck_sandboxes *sb, const char *key, const char *owner, const ck_sandbox_config *cfg,
                          char *id_out, ck_err *err)
{
    _cleanup_pod_record_ ck_pod_record row = {0};
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_pod_get(sb->store, owner, &row, &e) < 0) {
        if (e.kind != CK_E_NOT_FOUND) {
            ck_err_copy(err, &e);
            return -1;
        }
        return ck_store_name_release(sb->store, key, err) < 0 ? -1 : 0;
    }
    if (row.state == CK_SANDBOX_READY && strcmp(row.uid, cfg->uid) == 0 && row.attempt == cfg->attempt) {
        snprintf(id_out, 65, "%s", owner);
        return 1;
    }
    return ck_err_set(err, CK_E_EXISTS, 0, "pod name %s is reserved by pod %s (%s)", key, owner,
                      row.state == CK_SANDBOX_READY ? "ready" : "not ready");
}

/* 0: a new id reserved in id_out; 1: the same pod exists (id_out); -1. */
static int reserve(ck_sandboxes *sb, const char *key, const ck_sandbox_config *cfg, const ck_cancel *cancel,
                   char *id_out, ck_err *err)
{
    pthread_mutex_lock(&sb->mu);
    int rc;
    for (;;) {
        char *owner = NULL;
        ck_err e;
        ck_err_clear(&e);
        if (ck_store_name_lookup(sb->store, key, &owner, &e) < 0) {
            if (e.kind != CK_E_NOT_FOUND) {
                ck_err_copy(err, &e);
                rc = -1;
                break;
            }
        } else if (is_creating(sb, owner)) {
            /* A kubelet retry while the first call still works: wait for
             * its outcome, but never past this call's own end. */
            if (ck_cancelled(cancel)) {
                rc = ck_err_set(err, CK_E_CANCELLED, 0,
                                "pod %s is still being created by an earlier call (%s), and this call ended "
                                "(cancelled or past its deadline) while waiting for it",
                                key, owner);
                free(owner);
                break;
            }
            free(owner);
            struct timespec until = ck_time_after_ms(CLOCK_REALTIME, CK_CANCEL_POLL_MS);
            pthread_cond_timedwait(&sb->cv, &sb->mu, &until);
            continue;
        } else {
            rc = existing_owner(sb, key, owner, cfg, id_out, err);
            free(owner);
            if (rc != 0)
                break;
        }
        if (sb->n_creating >= SB_MAX_CREATING) {
            rc = ck_err_set(err, CK_E_EXHAUSTED, 0, "too many pods being created at once");
            break;
        }
        if (ck_random_id(id_out, err) < 0 || ck_store_name_reserve(sb->store, key, id_out, err) < 0) {
            rc = -1;
            break;
        }
        memcpy(sb->creating[sb->n_creating++], id_out, 65);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&sb->mu);
    return rc;
}

/* ---- the steps ---------------------------------------------------------- */

/* CNI ADD, run beside the pause's creation: the two share only the netns,
 * made before both, and each is a few Go processes that mostly wait, so a
 * pod starts in about the longer of the two instead of their sum. */
typedef struct cni_add_job {
    ck_cni *cni;
    ck_cni_pod pod;
    char *plan;
    ck_cni_attachment att;
    ck_err err;
    int rc;
    pthread_t thread;
    bool running; /* joined before anything reads the result or undoes */
} cni_add_job;

typedef struct run_ctx {
    ck_sandboxes *sb;
    const ck_sandbox_config *cfg;
    ck_oci_runtime rt;
    sb_paths p;
    ck_pod_record row;
    json_t *data;
    char key[1024];
    char netns[PATH_MAX];
    char cgroup_parent[512];
    bool host_network;
    ck_image *image; /* the pause image, NULL for the built-in pause */
    bool pinned;     /* no pause: the namespaces are pinned (sandbox_pins.c) */
    /* The rollback's CNI DEL failed: the pod stays NOTREADY with its netns
     * and attachment recorded, so the next stop, remove or restart retries
     * the DEL instead of leaking the IP and veth. */
    bool network_kept;
    cni_add_job add;
} run_ctx;

static int save(run_ctx *c, int state, ck_err *err)
{
    return sb_save(c->sb, &c->row, c->data, state, err);
}

static void undo_row(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (c->network_kept) {
        if (save(c, CK_SANDBOX_NOTREADY, &e) < 0)
            ck_warn("sandbox", "pod %s: undo: record the network still to tear down: %s", c->row.id, e.msg);
        return;
    }
    if (ck_store_pod_delete(c->sb->store, c->row.id, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: delete row: %s", c->row.id, e.msg);
}

static void undo_dirs(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (ck_rm_rf(c->p.dir, &e) < 0 || ck_rm_rf(c->p.run_dir, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: %s", c->row.id, e.msg);
}

static void undo_userns(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    if (c->network_kept)
        return; /* the kept netns is the namespace's; both go at remove */
    ck_err e;
    ck_err_clear(&e);
    if (ck_userns_remove(c->p.userns, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: %s", c->row.id, e.msg);
}

static void undo_netns(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    if (c->network_kept)
        return; /* the retried DEL needs it */
    ck_err e;
    ck_err_clear(&e);
    if (ck_netns_remove(c->netns, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: %s", c->row.id, e.msg);
}

/* DEL with what the record holds: the plan, or the full result once ADD
 * finished. */
static void undo_cni(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    ck_cni_pod pod;
    sb_cni_pod(&c->row, c->data, &pod);
    char *state = sb_record_cni(c->data);
    if (state == NULL)
        return; /* nothing was set up */
    ck_err e;
    ck_err_clear(&e);
    /* Retried a few times: a leaked IP is worse than a slow failure. */
    for (int i = 0; i < 3; i++) {
        if (ck_cni_del(c->sb->cni, &pod, state, &e) == 0) {
            free(state);
            sb_record_set_cni(c->data, NULL, &e);
            return;
        }
        usleep(200 * 1000);
    }
    free(state);
    c->network_kept = true;
    ck_warn("sandbox",
            "pod %s: undo: CNI DEL: %s: the pod stays NOTREADY until a stop, remove or restart tears its "
            "network down",
            c->row.id, e.msg);
}

static void undo_shm(void *ctx, void *arg)
{
    (void)arg;
    sb_unmount_shm(&((run_ctx *)ctx)->p);
}

static void undo_rootfs(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (sb_unmount_rootfs(c->sb, &c->p, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: %s", c->row.id, e.msg);
}

static void undo_container(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (ck_oci_delete(&c->rt, c->row.id, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: %s", c->row.id, e.msg);
}

/* The first record already says whether the pod is pinned (and on which
 * boot): a crash at any later step leaves a record whose stop removes the
 * pins, made or not, with no commit of its own before pinning. */
static int step_row(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->pinned) {
        char boot[CK_BOOT_ID_LEN + 1];
        if (ck_boot_id(boot, err) < 0)
            return -1;
        sb_record_set_pinned(c->data, boot);
    }
    if (save(c, CK_SANDBOX_CREATING, err) < 0)
        return -1;
    return ck_undo_push(u, "delete row", undo_row, NULL, false, err);
}

static int step_dirs(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (mkdir(c->p.dir, 0700) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", c->p.dir);
    if (ck_undo_push(u, "remove directories", undo_dirs, NULL, false, err) < 0)
        return -1;
    /* A pod with its own user namespace reaches its pause image's rootfs
     * through its dir: searchable by the pod's own root group only (mode
     * 0710, group its mapped gid 0), so no other host user reaches the
     * pod's shm or files below. */
    if (c->cfg->userns.mode == CK_NS_POD && c->cfg->userns.n_gids > 0 &&
        (chown(c->p.dir, 0, (gid_t)c->cfg->userns.gids[0].host_id) < 0 || chmod(c->p.dir, 0710) < 0))
        return ck_err_set(err, CK_E_INTERNAL, errno, "open %s to the pod's user namespace", c->p.dir);
    if (mkdir(c->p.run_dir, 0700) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", c->p.run_dir);
    return 0;
}

/* The pod's own user namespace, first: its other namespaces are made inside
 * it. The mappings are recorded before, so a crash leaves what removal
 * needs (the pin's path follows from the id). */
static int step_userns(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->cfg->userns.mode != CK_NS_POD)
        return 0;
    sb_record_set_userns(c->data, &c->cfg->userns.uids[0], &c->cfg->userns.gids[0]);
    if (save(c, CK_SANDBOX_CREATING, err) < 0)
        return -1;
    char path[PATH_MAX];
    if (ck_userns_create(c->p.userns_dir, c->row.id, &c->cfg->userns.uids[0], &c->cfg->userns.gids[0], path,
                         sizeof(path), err) < 0)
        return ck_err_wrap(err, "create the pod's user namespace");
    return ck_undo_push(u, "remove user namespace", undo_userns, NULL, false, err);
}

static int step_netns(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->host_network)
        return 0;
    const char *owner = c->cfg->userns.mode == CK_NS_POD ? c->p.userns : NULL;
    if (ck_netns_create_in(c->p.netns_dir, c->row.id, owner, c->netns, sizeof(c->netns), err) < 0)
        return ck_err_wrap(err, "create netns");
    if (ck_undo_push(u, "remove netns", undo_netns, NULL, false, err) < 0)
        return -1;
    /* Saved with the CNI plan, next, before ADD: a crash before that
     * leaves a netns that recovery finds by the pod's id. */
    sb_record_set_netns(c->data, c->netns);
    return 0;
}

static uint64_t bandwidth_annotation(const ck_sandbox_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->annotations.len; i++)
        if (strcmp(cfg->annotations.items[i].key, key) == 0) {
            int64_t v = ck_cni_parse_bandwidth(cfg->annotations.items[i].value);
            if (v < 0)
                ck_warn("sandbox", "annotation %s=%s is not a quantity: ignored", key, cfg->annotations.items[i].value);
            return v > 0 ? (uint64_t)v : 0;
        }
    return 0;
}

static void *cni_add_thread(void *arg)
{
    cni_add_job *j = arg;
    j->rc = ck_cni_add(j->cni, &j->pod, j->plan, &j->att, &j->err);
    return NULL;
}

/* ADD's outcome, once it ended: its error into err. The plan stays
 * recorded either way: the undo's DEL needs it. */
static int cni_add_outcome(const cni_add_job *j, ck_err *err)
{
    if (j->rc == 0)
        return 0;
    ck_err_copy(err, &j->err);
    return ck_err_wrap(err, "set up network");
}

/* Sysctls under a network interface's own tree name an interface CNI makes:
 * the runtime can set them only once ADD is done. */
static bool needs_interfaces(const ck_sandbox_config *cfg)
{
    static const char *const trees[] = {"net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.", "net.ipv6.neigh."};
    for (size_t i = 0; i < cfg->sysctls.len; i++)
        for (size_t t = 0; t < sizeof(trees) / sizeof(trees[0]); t++)
            if (strncmp(cfg->sysctls.items[i].key, trees[t], strlen(trees[t])) == 0)
                return true;
    return false;
}

/* Records the plan (a crash during ADD leaves what DEL needs), then starts
 * ADD: on its own thread unless the pause must wait for the interfaces (or
 * no thread can be had; a pod without a pause sets its network's sysctls
 * after ADD). step_cni_finish collects it. */
static int step_cni_begin(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->host_network)
        return 0;
    cni_add_job *j = &c->add;
    j->cni = c->sb->cni;
    sb_cni_pod(&c->row, c->data, &j->pod);
    j->pod.netns = c->netns;
    j->pod.ports = c->cfg->ports;
    j->pod.n_ports = c->cfg->n_ports;
    j->pod.ingress_bps = bandwidth_annotation(c->cfg, "kubernetes.io/ingress-bandwidth");
    j->pod.egress_bps = bandwidth_annotation(c->cfg, "kubernetes.io/egress-bandwidth");
    ck_err_clear(&j->err);
    if (ck_cni_plan(j->cni, &j->pod, &j->plan, err) < 0)
        return ck_err_wrap(err, "set up network");
    if (sb_record_set_cni(c->data, j->plan, err) < 0 || save(c, CK_SANDBOX_CREATING, err) < 0 ||
        ck_undo_push(u, "CNI DEL", undo_cni, NULL, false, err) < 0)
        return -1;
    if ((c->pinned || !needs_interfaces(c->cfg)) && pthread_create(&j->thread, NULL, cni_add_thread, j) == 0) {
        j->running = true;
        return 0;
    }
    cni_add_thread(j);
    return cni_add_outcome(j, err);
}

static void cni_add_join(cni_add_job *j)
{
    if (j->running)
        pthread_join(j->thread, NULL);
    j->running = false;
}

/* Waits for ADD and records what it attached; the pod's IP into ip. */
static int step_cni_finish(run_ctx *c, char *ip, size_t ip_size, ck_err *err)
{
    if (c->host_network)
        return 0;
    cni_add_job *j = &c->add;
    cni_add_join(j);
    if (cni_add_outcome(j, err) < 0)
        return -1;
    int rc = sb_record_set_cni(c->data, j->att.state, err);
    if (rc < 0)
        return ck_err_wrap(err, "record the network");
    sb_record_set_ips(c->data, &j->att);
    if (j->att.n_ips > 0)
        snprintf(ip, ip_size, "%s", j->att.ips[0]);
    return save(c, CK_SANDBOX_CREATING, err);
}

static int step_files(run_ctx *c, const char *ip, ck_err *err)
{
    /* No hostname given means the node's, as in containerd and CRI-O (the
     * pod's name may be longer than a hostname can be). */
    char host[256];
    const char *hostname = c->cfg->hostname;
    if (c->host_network || hostname == NULL || hostname[0] == '\0') {
        if (gethostname(host, sizeof(host)) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "gethostname");
        host[sizeof(host) - 1] = '\0';
        hostname = host;
    }
    if (sb_write_hostname(&c->p, hostname, err) < 0 || sb_write_hosts(&c->p, hostname, ip, c->host_network, err) < 0 ||
        sb_write_resolv(&c->p, c->cfg, err) < 0)
        return ck_err_wrap(err, "write /etc files");
    sb_record_set_hostname(c->data, hostname);
    return 0;
}

static int step_hosts(run_ctx *c, const char *ip, ck_err *err)
{
    if (c->host_network || ip[0] == '\0')
        return 0;
    if (sb_add_ip_to_hosts(&c->p, sb_record_hostname(c->data), ip, err) < 0)
        return ck_err_wrap(err, "write /etc/hosts");
    return 0;
}

static int step_shm(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->cfg->ns_ipc == CK_NS_NODE)
        return 0;
    if (sb_mount_shm(&c->p, err) < 0)
        return -1;
    return ck_undo_push(u, "unmount shm", undo_shm, NULL, false, err);
}

/* The pause image's layers below a small upper dir: runc creates the
 * mount points the image lacks (/proc, /etc/hostname...) there before it
 * makes the root read-only; a lower-only overlay would refuse them. */
static int step_rootfs(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->image == NULL || c->pinned)
        return 0;
    const char *dirs[] = {c->p.rootfs, c->p.upper, c->p.work};
    for (size_t i = 0; i < 3; i++)
        if (mkdir(dirs[i], 0755) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", dirs[i]);
    sb_record_set_pause_image(c->data, c->image->id, c->p.rootfs);
    if (save(c, CK_SANDBOX_CREATING, err) < 0)
        return -1;
    ck_rootfs_idmap idmap = {c->p.userns, 0, 0};
    if (c->cfg->userns.mode == CK_NS_POD)
        idmap = (ck_rootfs_idmap){c->p.userns, c->cfg->userns.uids[0].host_id, c->cfg->userns.gids[0].host_id};
    if (ck_images_mount_rootfs_idmapped(c->sb->images, c->image->id, c->p.rootfs, c->p.upper, c->p.work,
                                        c->cfg->userns.mode == CK_NS_POD ? &idmap : NULL, NULL, 0, err) < 0)
        return ck_err_wrap(err, "pause image");
    return ck_undo_push(u, "unmount rootfs", undo_rootfs, NULL, false, err);
}

/* The pause process as the image describes it: entrypoint + cmd (else
 * /pause), its env with a PATH, its workdir and user. */
typedef struct pause_proc {
    const char **args, **env;
    ck_oci_user user;
} pause_proc;

static void pause_proc_clear(pause_proc *pp)
{
    free(pp->args);
    free(pp->env);
}

static bool has_path(char **env, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(env[i], "PATH=", 5) == 0)
            return true;
    return false;
}

static int pause_proc_from_image(run_ctx *c, pause_proc *pp, ck_err *err)
{
    const ck_image *img = c->image;
    size_t nargs = img->n_entrypoint + img->n_cmd;
    pp->args = calloc(nargs + 2, sizeof(char *));
    pp->env = calloc(img->n_env + 2, sizeof(char *));
    if (pp->args == NULL || pp->env == NULL)
        return ck_err_oom(err, "pause process");
    size_t k = 0;
    for (size_t i = 0; i < img->n_entrypoint; i++)
        pp->args[k++] = img->entrypoint[i];
    for (size_t i = 0; i < img->n_cmd; i++)
        pp->args[k++] = img->cmd[i];
    if (k == 0)
        pp->args[k++] = "/pause";
    k = 0;
    for (size_t i = 0; i < img->n_env; i++)
        pp->env[k++] = img->env[i];
    if (!has_path(img->env, img->n_env))
        pp->env[k++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    if (ck_oci_resolve_user(c->p.rootfs, img->user, &pp->user, err) < 0)
        return ck_err_wrap(err, "pause image %s: user", img->id);
    return 0;
}

/* The pod's seccomp profile, for a pause without capabilities; none in a
 * privileged pod, as for its privileged containers. */
static int pause_seccomp(run_ctx *c, ck_arena *arena, const ck_seccomp_profile **out, ck_err *err)
{
    *out = NULL;
    if (c->cfg->privileged)
        return 0;
    if (ck_seccomp_profile_for(&c->cfg->seccomp, 0, arena, out, err) < 0)
        return ck_err_wrap(err, "the pod's seccomp profile");
    return 0;
}

static void undo_pins(void *ctx, void *arg)
{
    (void)arg;
    run_ctx *c = ctx;
    ck_err e;
    ck_err_clear(&e);
    if (sb_pins_remove(&c->p, &e) < 0)
        ck_warn("sandbox", "pod %s: undo: %s", c->row.id, e.msg);
}

/* A pod without a pause (recorded as such by step_row). */
static int step_pins(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (ck_undo_push(u, "remove pins", undo_pins, NULL, false, err) < 0)
        return -1;
    return sb_pins_create(&c->p, c->cfg, sb_record_hostname(c->data), err);
}

/* The network's sysctls of a pod without a pause, once ADD made its
 * interfaces (runc sets a pause's from its spec). */
static int step_net_sysctls(run_ctx *c, ck_err *err)
{
    if (!c->pinned || c->host_network)
        return 0;
    return sb_pins_net_sysctls(c->netns, c->cfg, err);
}

static int step_pause(run_ctx *c, ck_undo *u, ck_err *err)
{
    if (c->pinned)
        return step_pins(c, u, err);
    pause_proc pp = {0};
    if (c->image != NULL && pause_proc_from_image(c, &pp, err) < 0) {
        pause_proc_clear(&pp);
        return -1;
    }
    ck_kv annotations[] = {{"io.kubernetes.cri.container-type", "sandbox"},
                           {"io.kubernetes.cri.sandbox-id", c->row.id},
                           {"io.kubernetes.cri.sandbox-name", c->row.name},
                           {"io.kubernetes.cri.sandbox-namespace", c->row.ns}};
    ck_pause_spec spec = {
        .rootfs = c->image != NULL ? c->p.rootfs : c->sb->rootfs,
        .args = pp.args,
        .env = pp.env,
        .cwd = c->image != NULL ? c->image->workdir : NULL,
        .uid = pp.user.uid,
        .gid = pp.user.gid,
        .additional_gids = pp.user.additional_gids,
        .n_additional_gids = pp.user.n_additional_gids,
        .hostname = sb_record_hostname(c->data),
        .netns_path = c->host_network ? NULL : c->netns,
        .host_ipc = c->cfg->ns_ipc == CK_NS_NODE,
        .host_pid = c->cfg->ns_pid == CK_NS_NODE,
        .shm_path = c->cfg->ns_ipc == CK_NS_NODE ? NULL : c->p.shm,
        .hostname_file = c->p.hostname,
        .hosts_file = c->p.hosts,
        .resolv_file = c->p.resolv,
        .cgroup_parent = c->cgroup_parent,
        .id = c->row.id,
        .cgroup_driver = c->sb->cfg->cgroup_driver,
        .oom_score_adj = ck_oci_allowed_oom_score_adj(-998),
        .sysctls = c->cfg->sysctls.items,
        .n_sysctls = c->cfg->sysctls.len,
        .writable_sysfs = c->cfg->privileged,
        .annotations = annotations,
        .n_annotations = sizeof(annotations) / sizeof(annotations[0]),
        .userns_path = c->cfg->userns.mode == CK_NS_POD ? c->p.userns : NULL,
        .uid_map = c->cfg->userns.n_uids > 0 ? &c->cfg->userns.uids[0] : NULL,
        .gid_map = c->cfg->userns.n_gids > 0 ? &c->cfg->userns.gids[0] : NULL,
    };
    ck_arena arena = CK_ARENA_INIT;
    int rc = pause_seccomp(c, &arena, &spec.seccomp, err);
    if (rc == 0 && !c->cfg->privileged && ck_apparmor_profile_for(&c->cfg->apparmor, &spec.apparmor_profile, err) < 0)
        rc = ck_err_wrap(err, "the pod's AppArmor profile");
    if (rc == 0)
        rc = ck_oci_write_pause_spec(&spec, c->p.dir, err);
    ck_arena_reset(&arena);
    pause_proc_clear(&pp);
    if (rc < 0)
        return ck_err_wrap(err, "write pause spec");
    /* Created and started by one runtime process: nothing has to happen
     * to the pause in between. A crash before its pid is recorded leaves a
     * CREATING pod, whose roll-back deletes the container by id. */
    c->p.mon.start = true;
    pid_t pid;
    if (ck_oci_create(&c->rt, c->row.id, c->p.dir, &c->p.mon, &pid, err) < 0) {
        undo_container(c, NULL); /* runc may leave a half-created container */
        return ck_err_wrap(err, "run pause container");
    }
    if (ck_undo_push(u, "delete pause container", undo_container, NULL, false, err) < 0)
        return -1;
    /* Known by pid, start time and boot: a pid alone may name another
     * process after the pause dies, and means nothing after a reboot. */
    ck_proc_id who;
    if (ck_proc_id_capture(pid, &who, err) < 0)
        return ck_err_wrap(err, "pause process");
    sb_record_set_pause(c->data, &who);
    return save(c, CK_SANDBOX_CREATING, err); /* a crash from here on leaves who it was */
}

static int run_steps(run_ctx *c, ck_err *err)
{
    ck_undo u;
    ck_undo_init(&u, c);
    char ip[64] = "";
    int rc = -1;
    /* /etc/hosts gets the pod's IP once ADD is done, in place. */
    if (step_row(c, &u, err) == 0 && step_dirs(c, &u, err) == 0 && step_userns(c, &u, err) == 0 &&
        step_netns(c, &u, err) == 0 && step_cni_begin(c, &u, err) == 0 && step_files(c, ip, err) == 0 &&
        step_shm(c, &u, err) == 0 && step_rootfs(c, &u, err) == 0 && step_pause(c, &u, err) == 0 &&
        step_cni_finish(c, ip, sizeof(ip), err) == 0 && step_net_sysctls(c, err) == 0 && step_hosts(c, ip, err) == 0 &&
        save(c, CK_SANDBOX_READY, err) == 0)
        rc = 0;
    cni_add_join(&c->add); /* a failure before the finish: ADD ends before its DEL */
    free(c->add.plan);
    ck_cni_attachment_clear(&c->add.att);
    if (rc < 0)
        ck_undo_run(&u);
    else
        ck_undo_dismiss(&u);
    return rc;
}

/* ---- validation: client text that ends up in other formats ------------- */

/* RFC 1123: labels of letters, digits and '-', neither first nor last, at
 * most 63 characters each, joined by dots; the kernel holds at most 64
 * bytes, and a hostname is written into /etc/hostname and /etc/hosts. */
static int check_hostname(const char *h, ck_err *err)
{
    size_t len = strlen(h);
    if (len > 63)
        return ck_err_set(err, CK_E_INVALID, 0, "hostname \"%.80s\" is longer than 63 characters", h);
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char ch = h[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0 || h[i - 1] == '-')
                return ck_err_set(err, CK_E_INVALID, 0,
                                  "hostname \"%s\" is not an RFC 1123 name: a label is empty or ends with '-'", h);
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                   (ch == '-' && label > 0)) {
            label++;
        } else {
            return ck_err_set(err, CK_E_INVALID, 0,
                              "hostname \"%.80s\" is not an RFC 1123 name: character 0x%02x at %zu is not allowed", h,
                              (unsigned char)ch, i);
        }
    }
    return 0;
}

/* A resolv.conf word: not empty, no blank or control character (a newline
 * would start a directive of the client's choosing). */
static int check_word(const char *field, size_t index, const char *v, ck_err *err)
{
    if (v == NULL || v[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "%s[%zu] is empty", field, index);
    for (const char *p = v; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return ck_err_set(err, CK_E_INVALID, 0, "%s[%zu] \"%.80s\" holds a blank or control character", field,
                              index, v);
    return 0;
}

static int check_dns(const ck_sandbox_config *cfg, ck_err *err)
{
    for (size_t i = 0; i < cfg->dns_servers.len; i++) {
        const char *v = cfg->dns_servers.items[i];
        unsigned char addr[16];
        if (v == NULL || (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1))
            return ck_err_set(err, CK_E_INVALID, 0, "dns_config.servers[%zu] \"%.80s\" is not an IP address", i,
                              v != NULL ? v : "");
    }
    for (size_t i = 0; i < cfg->dns_searches.len; i++)
        if (check_word("dns_config.searches", i, cfg->dns_searches.items[i], err) < 0)
            return -1;
    for (size_t i = 0; i < cfg->dns_options.len; i++)
        if (check_word("dns_config.options", i, cfg->dns_options.items[i], err) < 0)
            return -1;
    return 0;
}

/* Name, namespace and uid travel to CNI plugins in CNI_ARGS, as
 * "K8S_POD_NAME=<name>;...": a ';' or '=' would add arguments of the
 * client's choosing (host-local's IP=, for one). */
static int check_cni_arg(const char *field, const char *v, ck_err *err)
{
    if (v == NULL || v[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "metadata.%s is required", field);
    for (const char *p = v; *p != '\0'; p++)
        if (*p == ';' || *p == '=' || (unsigned char)*p < ' ' || *p == 0x7f)
            return ck_err_set(err, CK_E_INVALID, 0, "metadata.%s \"%.80s\" holds '%s', which CNI_ARGS cannot carry",
                              field, v,
                              *p == ';'   ? ";"
                              : *p == '=' ? "="
                                          : "a control character");
    return 0;
}

/* Whether the kernel has the sysctl, seen from the daemon's namespaces. A
 * per-interface name (net.ipv4.conf.<if>.*, net.ipv6.neigh.<if>.*, ...)
 * is checked on "default": the pod's interface does not exist yet. */
static bool sysctl_exists(const char *name)
{
    char path[PATH_MAX];
    if (sb_sysctl_path(name, path, sizeof(path)) < 0)
        return false;
    if (access(path, F_OK) == 0)
        return true;
    char proto[8], table[8], iface[64], rest[256];
    if (sscanf(name, "net.%7[^.].%7[^.].%63[^.].%255s", proto, table, iface, rest) != 4 ||
        (strcmp(table, "conf") != 0 && strcmp(table, "neigh") != 0))
        return false;
    for (char *p = rest; *p != '\0'; p++)
        if (*p == '.')
            *p = '/';
    if (snprintf(path, sizeof(path), "/proc/sys/net/%s/%s/default/%s", proto, table, rest) >= (int)sizeof(path))
        return false;
    return access(path, F_OK) == 0;
}

/* The sysctls a pod may set are the ones of its own namespaces (runc's
 * and the kubelet's list, sb_ipc_sysctl): the IPC namespace's and the
 * network's. Anything else would change the node for every pod; a
 * namespace shared with the host is the host's. */
static int check_sysctl(const ck_sandbox_config *cfg, const char *name, ck_err *err)
{
    if (name[0] == '\0' || strchr(name, '/') != NULL || strstr(name, "..") != NULL || name[strlen(name) - 1] == '.')
        return ck_err_set(err, CK_E_INVALID, 0, "sysctl \"%s\" is not a sysctl name", name);
    if (sb_ipc_sysctl(name)) {
        if (cfg->ns_ipc == CK_NS_NODE)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "sysctl \"%s\" belongs to the IPC namespace, and the pod shares the host's", name);
        return 0;
    }
    if (strncmp(name, "net.", 4) == 0 && name[4] != '\0') {
        if (cfg->ns_network == CK_NS_NODE)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "sysctl \"%s\" belongs to the network namespace, and the pod uses the host's network",
                              name);
        return 0;
    }
    return ck_err_set(err, CK_E_INVALID, 0,
                      "sysctl \"%s\" is not namespaced (only the IPC namespace's kernel.shm*, kernel.msg*, "
                      "kernel.sem, fs.mqueue.* and the network's net.* can be set per pod)",
                      name);
}

static int check_sysctls(const ck_sandbox_config *cfg, ck_err *err)
{
    for (size_t i = 0; i < cfg->sysctls.len; i++) {
        const char *name = cfg->sysctls.items[i].key;
        if (check_sysctl(cfg, name, err) < 0)
            return -1;
        if (!sysctl_exists(name))
            return ck_err_set(err, CK_E_INVALID, 0, "sysctl \"%s\" does not exist in this kernel", name);
    }
    return 0;
}

/* A pod with its own user namespace shares none of the host's network, pid
 * or ipc namespaces: Kubernetes' validation forbids hostNetwork, hostPID
 * and hostIPC with hostUsers: false, so the kubelet never sends these, and
 * the pod's root could not own (nor runc mount sysfs for) a network
 * namespace of the host's. Refused before anything is made. */
static int check_userns_host_namespaces(const ck_sandbox_config *cfg, ck_err *err)
{
    static const char *const fields[] = {"network", "pid", "ipc"};
    const int modes[] = {cfg->ns_network, cfg->ns_pid, cfg->ns_ipc};
    for (size_t i = 0; i < 3; i++)
        if (modes[i] == CK_NS_NODE)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "namespace_options.%s: NODE (the host's) cannot go with userns_options mode POD (a "
                              "user namespace of the pod's own)",
                              fields[i]);
    return 0;
}

/* userns_options: NODE (the host's, no mappings) or POD with one uid and
 * one gid mapping (common/userns.h's rules), where the host can; CONTAINER
 * and TARGET are what the kubelet never sends, and no runtime supports. */
static int check_userns(const ck_sandboxes *sb, const ck_sandbox_config *cfg, ck_err *err)
{
    switch (cfg->userns.mode) {
    case CK_NS_NODE:
        if (cfg->userns.n_uids > 0 || cfg->userns.n_gids > 0)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "userns_options: mode NODE (the host's user namespace) takes no uid or gid mappings");
        return 0;
    case CK_NS_POD:
        if (ck_userns_check_maps("uids", cfg->userns.uids, cfg->userns.n_uids, err) < 0 ||
            ck_userns_check_maps("gids", cfg->userns.gids, cfg->userns.n_gids, err) < 0 ||
            check_userns_host_namespaces(cfg, err) < 0)
            return -1;
        if (!sb->userns_ok)
            return ck_err_set(err, CK_E_PRECONDITION, 0,
                              "userns_options: mode POD: pods cannot have their own user namespace on this host: %s",
                              sb->userns_why);
        return 0;
    case CK_NS_CONTAINER:
    case CK_NS_TARGET:
        return ck_err_set(err, CK_E_INVALID, 0, "userns_options: mode %s is not supported (only NODE and POD)",
                          cfg->userns.mode == CK_NS_CONTAINER ? "CONTAINER" : "TARGET");
    default:
        return ck_err_set(err, CK_E_INVALID, 0, "userns_options: mode %d is not a namespace mode", cfg->userns.mode);
    }
}

static int validate(const ck_sandboxes *sb, const ck_sandbox_config *cfg, ck_err *err)
{
    if (check_cni_arg("name", cfg->name, err) < 0 || check_cni_arg("namespace", cfg->ns, err) < 0 ||
        check_cni_arg("uid", cfg->uid, err) < 0)
        return -1;
    const int modes[] = {cfg->ns_network, cfg->ns_pid, cfg->ns_ipc};
    for (size_t i = 0; i < 3; i++)
        if (modes[i] < CK_NS_POD || modes[i] > CK_NS_TARGET)
            return ck_err_set(err, CK_E_INVALID, 0, "namespace mode %d is not POD, CONTAINER, NODE or TARGET",
                              modes[i]);
    if (check_userns(sb, cfg, err) < 0)
        return -1;
    if (cfg->hostname != NULL && cfg->hostname[0] != '\0' && check_hostname(cfg->hostname, err) < 0)
        return -1;
    if (check_dns(cfg, err) < 0)
        return -1;
    if (strlen(cfg->name) + strlen(cfg->ns) + strlen(cfg->uid) > 900)
        return ck_err_set(err, CK_E_INVALID, 0, "metadata is too long");
    for (size_t i = 0; i < cfg->n_ports; i++)
        if (cfg->ports[i].container_port <= 0 || cfg->ports[i].container_port > 65535 || cfg->ports[i].host_port < 0 ||
            cfg->ports[i].host_port > 65535)
            return ck_err_set(err, CK_E_INVALID, 0, "port mapping %d: ports must be within 1-65535",
                              (int)cfg->ports[i].container_port);
    if (check_sysctls(cfg, err) < 0)
        return -1;
    if (!cfg->privileged && ck_seccomp_check(&cfg->seccomp, err) < 0)
        return ck_err_wrap(err, "the pod's seccomp profile");
    const char *apparmor = NULL;
    if (!cfg->privileged && ck_apparmor_profile_for(&cfg->apparmor, &apparmor, err) < 0)
        return ck_err_wrap(err, "linux.security_context.apparmor");
    return ck_selinux_check("linux.security_context.selinux_options", cfg->selinux_labelled, err);
}

/* The configured pause image, pulled first when it is not here: the CRI
 * gives no pull policy for it, so "if not present", as the kubelet expects
 * of a runtime. */
static int pause_image(ck_sandboxes *sb, ck_image **out, ck_err *err)
{
    const char *ref = sb->cfg->pause.image;
    ck_err e;
    ck_err_clear(&e);
    if (ck_images_get(sb->images, ref, out, &e) == 0)
        return 0;
    if (e.kind != CK_E_NOT_FOUND) {
        ck_err_copy(err, &e);
        return ck_err_wrap(err, "pause image %s", ref);
    }
    ck_info("sandbox", "pause image %s is not here: pulling it", ref);
    _cleanup_free_ char *id = NULL;
    if (ck_images_pull(sb->images, ref, NULL, NULL, NULL, &id, err) < 0)
        return ck_err_wrap(err, "pause image (pause.image)");
    if (ck_images_get(sb->images, id, out, err) < 0)
        return ck_err_wrap(err, "pause image %s", ref);
    return 0;
}

int ck_sandbox_run(ck_sandboxes *sb, const ck_sandbox_config *cfg, const ck_cancel *cancel, char *id_out, ck_err *err)
{
    if (validate(sb, cfg, err) < 0)
        return -1;
    run_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ck_err_oom(err, "run pod sandbox");
    c->sb = sb;
    c->cfg = cfg;
    c->host_network = cfg->ns_network == CK_NS_NODE;
    int rc = -1;
    sb_name_key(cfg->name, cfg->ns, cfg->uid, cfg->attempt, c->key, sizeof(c->key));
    char cg[1024];
    if (ck_oci_runtime_get(sb->cfg, cfg->runtime_handler, &c->rt, err) < 0 ||
        ck_oci_cgroups_path(sb->cfg->cgroup_driver, cfg->cgroup_parent, "x", cg, sizeof(cg), err) < 0)
        goto out;
    c->pinned = sb_pins_wanted(sb, cfg);
    if (sb->cfg->pause.image != NULL && !c->pinned && pause_image(sb, &c->image, err) < 0) {
        ck_err_wrap(err, "run pod sandbox %s/%s", cfg->ns, cfg->name);
        goto out;
    }
    snprintf(c->cgroup_parent, sizeof(c->cgroup_parent), "%s", cfg->cgroup_parent != NULL ? cfg->cgroup_parent : "");
    int r = reserve(sb, c->key, cfg, cancel, id_out, err);
    if (r != 0) {
        rc = r > 0 ? 0 : -1;
        if (r > 0)
            ck_info("sandbox", "pod %s/%s (attempt %u) already exists as %s: returned again", cfg->ns, cfg->name,
                    cfg->attempt, id_out);
        goto out;
    }
    c->row = (ck_pod_record){.id = id_out,
                             .name = (char *)cfg->name,
                             .ns = (char *)cfg->ns,
                             .uid = (char *)cfg->uid,
                             .attempt = cfg->attempt,
                             .created_at_ns = ck_now_ns(),
                             .runtime_handler = (char *)c->rt.handler->name};
    sb_paths_init(sb, id_out, &c->p);
    c->data = sb_record_new(cfg, "", c->cgroup_parent);
    if (c->data == NULL) {
        rc = ck_err_oom(err, "pod record");
    } else {
        /* A new id: only a client that guessed it could wait here. */
        rc = sb_lock(sb, id_out, cancel, err);
        if (rc == 0) {
            rc = run_steps(c, err);
            sb_unlock(sb, id_out);
        }
    }
    if (rc < 0) {
        ck_err e;
        ck_err_clear(&e);
        if (!c->network_kept) /* a kept pod keeps its name, as any stopped pod does */
            ck_store_name_release(sb->store, c->key, &e);
        ck_err_wrap(err, "run pod sandbox %s/%s", cfg->ns, cfg->name);
    } else {
        ck_info("sandbox", "pod %s/%s is ready as %s", cfg->ns, cfg->name, id_out);
    }
    sb_creating_done(sb, id_out);
    json_decref(c->data);
out:
    ck_image_free(c->image);
    free(c);
    return rc;
}
