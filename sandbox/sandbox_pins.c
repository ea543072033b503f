/*
 * sandbox_pins: a pod without a pause process.
 *
 * A pause process holds a pod's namespaces open, and is the init of its PID
 * namespace when the pod shares one. A pod whose containers each have their
 * own PID namespace (the kubelet's default) needs no process for the rest:
 * its IPC and UTS namespaces are pinned by bind mounts under its run dir,
 * as its netns already is (CRI-O's drop_infra_ctr does the same), and its
 * containers join them by path. The pod's hostname and sysctls, which runc
 * set from the pause's spec, are set here, and the pod's start saves the
 * pause's `runc run`: about as long as CNI ADD, which it ran beside, and
 * half of the runtime processes a pod start costs.
 *
 * A thread makes the pins (common/thread.h): it unshares the namespaces,
 * sets the hostname and the IPC sysctls in them, and bind-mounts its own
 * /proc/thread-self/ns/{ipc,uts}. In a pod with its own user namespace a
 * forked child makes them inside it (see below). The network's sysctls are
 * written by a thread that joins the netns, once CNI ADD made the
 * interfaces they may name. A pod that shares the host's IPC has no IPC
 * pin, one on the host's network no UTS pin (its hostname is the node's).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/nspin.h"
#include "common/thread.h"
#include "sandbox/sandbox_internal.h"

bool sb_pins_wanted(const ck_sandboxes *sb, const ck_sandbox_config *cfg)
{
    return sb->cfg->pause.pin_namespaces && cfg->ns_pid != CK_NS_POD;
}

int sb_sysctl_path(const char *name, char *buf, size_t size)
{
    if (snprintf(buf, size, "/proc/sys/%s", name) >= (int)size)
        return -1;
    for (char *p = buf + sizeof("/proc/sys/") - 1; *p != '\0'; p++)
        if (*p == '.')
            *p = '/';
    return 0;
}

bool sb_ipc_sysctl(const char *name)
{
    static const char *const names[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",          "kernel.sem",
                                        "kernel.shmall", "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.shmmni"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return strncmp(name, "fs.mqueue.", 10) == 0 && name[10] != '\0';
}

/* Writes the pod's sysctls of one namespace (IPC, or else the network's)
 * as seen by the calling thread. */
static int write_sysctls(const ck_sandbox_config *cfg, bool ipc, ck_err *err)
{
    for (size_t i = 0; i < cfg->sysctls.len; i++) {
        const ck_kv *kv = &cfg->sysctls.items[i];
        if (sb_ipc_sysctl(kv->key) != ipc)
            continue;
        char path[PATH_MAX];
        if (sb_sysctl_path(kv->key, path, sizeof(path)) < 0)
            return ck_err_set(err, CK_E_INVALID, 0, "sysctl \"%.80s\": name too long", kv->key);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t len = strlen(kv->value);
        ssize_t n = fd >= 0 ? write(fd, kv->value, len) : -1;
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (n != (ssize_t)len)
            return ck_err_set(err, CK_E_INVALID, n < 0 ? e : 0, "set sysctl %s=%s", kv->key, kv->value);
    }
    return 0;
}

typedef struct pin_job {
    const sb_paths *p;
    const ck_sandbox_config *cfg;
    const char *hostname;
    bool ipc, uts;
    ck_err err;
    int rc;
} pin_job;

/* Pins the namespace of type ns ("ipc", "uts") that source_dir holds
 * ("/proc/thread-self/ns", "/proc/<pid>/ns") on path. */
static int pin_one(const char *source_dir, const char *ns, const char *path, ck_err *err)
{
    char source[64];
    snprintf(source, sizeof(source), "%s/%s", source_dir, ns);
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", path);
    close(fd);
    /* "none": a bind mount has no type, but valgrind checks the pointer. */
    if (mount(source, path, "none", MS_BIND, NULL) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "pin the %s namespace on %s", ns, path);
    return 0;
}

static int pin_both(const pin_job *j, const char *source_dir, ck_err *err)
{
    if ((j->ipc && pin_one(source_dir, "ipc", j->p->ipc_pin, err) < 0) ||
        (j->uts && pin_one(source_dir, "uts", j->p->uts_pin, err) < 0))
        return -1;
    return 0;
}

static int unshare_flags(const pin_job *j)
{
    return (j->ipc ? CLONE_NEWIPC : 0) | (j->uts ? CLONE_NEWUTS : 0);
}

static void *pin_thread(void *arg)
{
    pin_job *j = arg;
    j->rc = -1;
    if (unshare(unshare_flags(j)) < 0) {
        ck_err_set(&j->err, CK_E_INTERNAL, errno, "unshare the IPC and UTS namespaces");
        return NULL;
    }
    if (j->uts && sethostname(j->hostname, strlen(j->hostname)) < 0) {
        ck_err_set(&j->err, CK_E_INTERNAL, errno, "set hostname %s", j->hostname);
        return NULL;
    }
    if (j->ipc && write_sysctls(j->cfg, true, &j->err) < 0)
        return NULL;
    if (pin_both(j, "/proc/thread-self/ns", &j->err) < 0)
        return NULL;
    j->rc = 0;
    return NULL; /* the thread ends; the bind mounts keep the namespaces */
}

/* ---- in the pod's own user namespace -------------------------------------- */

/* A pod with its own user namespace must own its IPC and UTS namespaces
 * (runc's container, root in that user namespace, may then join them and
 * act in them), so a child that joined it makes them (common/nspin.h),
 * sets the hostname and writes the IPC sysctls: the kernel lets only the
 * namespace's own root write those, not the host's. The daemon pins them.
 * The child makes system calls only, so the sysctls' paths are made
 * before it is forked. */
typedef struct owned_job {
    const pin_job *pin;
    const char **paths, **values; /* the IPC sysctls to write */
    size_t n;
} owned_job;

static int owned_in_child(void *arg, int *e)
{
    const owned_job *o = arg;
    const pin_job *j = o->pin;
    if (unshare(unshare_flags(j)) < 0) {
        *e = errno;
        return 1;
    }
    if (j->uts && sethostname(j->hostname, strlen(j->hostname)) < 0) {
        *e = errno;
        return 2;
    }
    for (size_t i = 0; i < o->n; i++) {
        size_t len = strlen(o->values[i]);
        int fd = open(o->paths[i], O_WRONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? write(fd, o->values[i], len) : -1;
        *e = n < 0 ? errno : 0;
        if (fd >= 0)
            close(fd);
        if (n != (ssize_t)len)
            return 3 + (int)i;
    }
    return 0;
}

static int owned_in_parent(void *arg, pid_t child, ck_err *err)
{
    const owned_job *o = arg;
    char source_dir[32];
    snprintf(source_dir, sizeof(source_dir), "/proc/%d/ns", (int)child);
    return pin_both(o->pin, source_dir, err);
}

/* The child's IPC sysctls into o, and the names of its steps (one per
 * sysctl) into *steps, from arena. */
static int owned_plan(ck_arena *arena, const ck_sandbox_config *cfg, owned_job *o, const char ***steps, ck_err *err)
{
    size_t max = cfg->sysctls.len;
    o->paths = ck_arena_alloc(arena, (max + 1) * sizeof(char *));
    o->values = ck_arena_alloc(arena, (max + 1) * sizeof(char *));
    *steps = ck_arena_alloc(arena, (max + 3) * sizeof(char *));
    if (o->paths == NULL || o->values == NULL || *steps == NULL)
        return ck_err_oom(err, "the pod's sysctls");
    (*steps)[0] = "";
    (*steps)[1] = "unshare the IPC and UTS namespaces";
    (*steps)[2] = "set the hostname";
    o->n = 0;
    for (size_t i = 0; i < max; i++) {
        const ck_kv *kv = &cfg->sysctls.items[i];
        if (!o->pin->ipc || !sb_ipc_sysctl(kv->key))
            continue;
        char path[PATH_MAX];
        if (sb_sysctl_path(kv->key, path, sizeof(path)) < 0)
            return ck_err_set(err, CK_E_INVALID, 0, "sysctl \"%.80s\": name too long", kv->key);
        o->paths[o->n] = ck_arena_strdup(arena, path);
        o->values[o->n] = kv->value;
        (*steps)[3 + o->n] = ck_arena_printf(arena, "set sysctl %s=%s", kv->key, kv->value);
        if (o->paths[o->n] == NULL || (*steps)[3 + o->n] == NULL)
            return ck_err_oom(err, "the pod's sysctls");
        o->n++;
    }
    return 0;
}

static int pins_create_owned(const pin_job *j, const char *userns, ck_err *err)
{
    ck_arena arena = CK_ARENA_INIT;
    owned_job o = {.pin = j};
    const char **steps = NULL;
    int rc = owned_plan(&arena, j->cfg, &o, &steps, err);
    if (rc == 0) {
        ck_userns_work work = {owned_in_child, owned_in_parent, &o, steps, 3 + (int)o.n, 3};
        rc = ck_ns_run_in_userns(userns, &work, "in the pod's user namespace", err);
    }
    ck_arena_reset(&arena);
    return rc;
}

int sb_pins_create(const sb_paths *p, const ck_sandbox_config *cfg, const char *hostname, ck_err *err)
{
    pin_job j = {.p = p,
                 .cfg = cfg,
                 .hostname = hostname,
                 .ipc = cfg->ns_ipc != CK_NS_NODE,
                 .uts = cfg->ns_network != CK_NS_NODE};
    ck_err_clear(&j.err);
    if (!j.ipc && !j.uts)
        return 0;
    int rc = 0;
    if (cfg->userns.mode == CK_NS_POD) {
        rc = pins_create_owned(&j, p->userns, &j.err);
    } else if ((rc = ck_thread_run_small(pin_thread, &j)) != 0) {
        return ck_err_set(err, CK_E_INTERNAL, rc, "pin the pod's namespaces: start a thread");
    } else {
        rc = j.rc;
    }
    if (rc < 0) {
        ck_err e;
        ck_err_clear(&e);
        sb_pins_remove(p, &e); /* what was pinned before the failure */
        ck_err_copy(err, &j.err);
        return ck_err_wrap(err, "pin the pod's namespaces");
    }
    return 0;
}

int sb_pins_remove(const sb_paths *p, ck_err *err)
{
    if (ck_ns_unpin(p->ipc_pin, "the pod's IPC namespace pin", err) < 0 ||
        ck_ns_unpin(p->uts_pin, "the pod's UTS namespace pin", err) < 0)
        return ck_err_wrap(err, "remove the pod's pinned namespaces");
    return 0;
}

/* A pin that is there but no longer a namespace was unmounted; after a
 * reboot the run dir is gone (a tmpfs) or its files are plain files. */
static bool pin_lost(const char *path)
{
    return access(path, F_OK) == 0 && !ck_ns_pinned(path);
}

bool sb_pins_alive(const sb_paths *p, json_t *data, char *reason, size_t size)
{
    char boot[CK_BOOT_ID_LEN + 1];
    ck_err e;
    ck_err_clear(&e);
    const char *recorded = json_string_value(json_object_get(data, "boot_id"));
    if (ck_boot_id(boot, &e) == 0 && (recorded == NULL || strcmp(recorded, boot) != 0)) {
        if (reason != NULL)
            snprintf(reason, size, "its namespaces were pinned before a reboot");
        return false;
    }
    const char *lost = pin_lost(p->ipc_pin) ? p->ipc_pin : pin_lost(p->uts_pin) ? p->uts_pin : NULL;
    if (lost != NULL && reason != NULL)
        snprintf(reason, size, "its pinned namespace %s was unmounted", lost);
    return lost == NULL;
}

/* ---- in the pod's network namespace ------------------------------------- */

typedef struct netns_job {
    const char *netns;
    void (*fn)(void *arg, ck_err *err); /* run inside it */
    void *arg;
    ck_err err;
} netns_job;

static void *netns_thread(void *arg)
{
    netns_job *j = arg;
    int fd = open(j->netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ck_err_set(&j->err, CK_E_INTERNAL, errno, "open netns %s", j->netns);
        return NULL;
    }
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (rc < 0) {
        ck_err_set(&j->err, CK_E_INTERNAL, e, "join netns %s", j->netns);
        return NULL;
    }
    j->fn(j->arg, &j->err);
    return NULL; /* the thread and its namespace end together */
}

/* Runs fn(arg) on a thread inside the network namespace at netns. */
static int in_netns(const char *netns, void (*fn)(void *, ck_err *), void *arg, ck_err *err)
{
    netns_job j = {.netns = netns, .fn = fn, .arg = arg};
    ck_err_clear(&j.err);
    int rc = ck_thread_run_small(netns_thread, &j);
    if (rc != 0)
        return ck_err_set(err, CK_E_INTERNAL, rc, "enter netns %s: start a thread", netns);
    if (j.err.kind != CK_E_NONE) {
        ck_err_copy(err, &j.err);
        return -1;
    }
    return 0;
}

static void net_sysctls(void *arg, ck_err *err)
{
    write_sysctls(arg, false, err);
}

int sb_pins_net_sysctls(const char *netns, const ck_sandbox_config *cfg, ck_err *err)
{
    for (size_t i = 0; i < cfg->sysctls.len; i++)
        if (!sb_ipc_sysctl(cfg->sysctls.items[i].key))
            return in_netns(netns, net_sysctls, (void *)cfg, err);
    return 0;
}

typedef struct read_job {
    void (*read)(FILE *f, void *arg);
    void *arg;
} read_job;

static void read_net_dev(void *arg, ck_err *err)
{
    read_job *r = arg;
    FILE *f = fopen("/proc/thread-self/net/dev", "re");
    if (f == NULL) {
        ck_err_set(err, CK_E_INTERNAL, errno, "open /proc/thread-self/net/dev");
        return;
    }
    r->read(f, r->arg);
    fclose(f);
}

int sb_pins_read_net_dev(const char *netns, void (*read)(FILE *f, void *arg), void *arg, ck_err *err)
{
    read_job r = {read, arg};
    return in_netns(netns, read_net_dev, &r, err);
}
