/*
 * spec: config.json for the pause container. Mounts are the minimal set
 * runc needs for a process that only sleeps, plus the pod's /dev/shm and the
 * /etc files the sandbox wrote, so they can be seen from inside the pod.
 */
#include "oci/spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/spawn.h"

int ck_oci_cgroups_path(ck_cgroup_driver driver, const char *parent, const char *id, char *buf, size_t size,
                        ck_err *err)
{
    int n;
    if (driver == CK_CGROUP_SYSTEMD) {
        const char *slice = (parent == NULL || parent[0] == '\0') ? "system.slice" : parent;
        const char *base = strrchr(slice, '/') != NULL ? strrchr(slice, '/') + 1 : slice;
        size_t len = strlen(base);
        if (len < 7 || strcmp(base + len - 6, ".slice") != 0)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "cgroup parent \"%s\" must be a systemd slice (name.slice) with the systemd driver",
                              slice);
        n = snprintf(buf, size, "%s:cricket:%s", base, id);
    } else {
        const char *p = (parent == NULL || parent[0] == '\0') ? "/cricket" : parent;
        if (p[0] != '/')
            return ck_err_set(err, CK_E_INVALID, 0, "cgroup parent \"%s\" must be an absolute path", p);
        if (strstr(p, "..") != NULL)
            return ck_err_set(err, CK_E_INVALID, 0, "cgroup parent \"%s\" must not contain \"..\"", p);
        n = snprintf(buf, size, "%s/cricket-%s", strcmp(p, "/") == 0 ? "" : p, id);
    }
    if (n < 0 || (size_t)n >= size)
        return ck_err_set(err, CK_E_INVALID, 0, "cgroup parent \"%s\" is too long", parent);
    return 0;
}

static json_t *mount_entry(const char *dest, const char *type, const char *source, const char *const *opts)
{
    json_t *o = json_array();
    for (size_t i = 0; opts[i] != NULL; i++)
        json_array_append_new(o, json_string(opts[i]));
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source, "options", o);
}

static json_t *mounts(const ck_pause_spec *s)
{
    static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    static const char *const pts_o[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL};
    static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sys_o[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    static const char *const shm_o[] = {"rbind", "rw", "nosuid", "nodev", "noexec", NULL};
    static const char *const shm_tmp_o[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL};
    static const char *const etc_o[] = {"rbind", "ro", "nosuid", "nodev", "noexec", NULL};
    json_t *m = json_array();
    json_array_append_new(m, mount_entry("/proc", "proc", "proc", proc_o));
    json_array_append_new(m, mount_entry("/dev", "tmpfs", "tmpfs", dev_o));
    json_array_append_new(m, mount_entry("/dev/pts", "devpts", "devpts", pts_o));
    if (!s->host_ipc)
        json_array_append_new(m, mount_entry("/dev/mqueue", "mqueue", "mqueue", mq_o));
    json_array_append_new(m, mount_entry("/sys", "sysfs", "sysfs", sys_o));
    if (s->shm_path != NULL)
        json_array_append_new(m, mount_entry("/dev/shm", "bind", s->shm_path, shm_o));
    else
        json_array_append_new(m, mount_entry("/dev/shm", "tmpfs", "shm", shm_tmp_o));
    if (s->hostname_file != NULL)
        json_array_append_new(m, mount_entry("/etc/hostname", "bind", s->hostname_file, etc_o));
    if (s->hosts_file != NULL)
        json_array_append_new(m, mount_entry("/etc/hosts", "bind", s->hosts_file, etc_o));
    if (s->resolv_file != NULL)
        json_array_append_new(m, mount_entry("/etc/resolv.conf", "bind", s->resolv_file, etc_o));
    return m;
}

static json_t *namespaces(const ck_pause_spec *s)
{
    json_t *ns = json_array();
    json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
    if (!s->host_pid)
        json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
    if (!s->host_ipc)
        json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
    /* A host-network pod shares the host's name too, as the kubelet expects. */
    if (s->netns_path != NULL) {
        json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
        json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", s->netns_path));
    }
    json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));
    return ns;
}

static json_t *kv_object(const ck_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *linux_section(const ck_pause_spec *s, const char *cgroups_path)
{
    static const char *const masked[] = {
        "/proc/acpi",        "/proc/kcore",       "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",       NULL};
    static const char *const readonly[] = {"/proc/asound", "/proc/bus",           "/proc/fs", "/proc/irq",
                                           "/proc/sys",    "/proc/sysrq-trigger", NULL};
    return json_pack("{s:o, s:o, s:s, s:{}, s:o, s:o}", "namespaces", namespaces(s), "sysctl",
                     kv_object(s->sysctls, s->n_sysctls), "cgroupsPath", cgroups_path, "resources", "maskedPaths",
                     strings(masked), "readonlyPaths", strings(readonly));
}

static json_t *process_user(const ck_pause_spec *s)
{
    json_t *u = json_pack("{s:i, s:i}", "uid", (json_int_t)s->uid, "gid", (json_int_t)s->gid);
    if (u != NULL && s->n_additional_gids > 0) {
        json_t *g = json_array();
        for (size_t i = 0; i < s->n_additional_gids; i++)
            json_array_append_new(g, json_integer(s->additional_gids[i]));
        json_object_set_new(u, "additionalGids", g);
    }
    return u;
}

static json_t *process_section(const ck_pause_spec *s)
{
    static const char *const args[] = {"/pause", NULL};
    static const char *const env[] = {"PATH=/", NULL};
    json_t *empty = json_array();
    return json_pack("{s:b, s:o, s:o, s:o, s:s, s:b, s:i, s:{s:o, s:o, s:o, s:o}}", "terminal", 0, "user",
                     process_user(s), "args", strings(s->args != NULL ? s->args : args), "env",
                     strings(s->env != NULL ? s->env : env), "cwd", s->cwd != NULL && s->cwd[0] != '\0' ? s->cwd : "/",
                     "noNewPrivileges", 1, "oomScoreAdj", s->oom_score_adj, "capabilities", "bounding",
                     json_copy(empty), "effective", json_copy(empty), "permitted", json_copy(empty), "ambient", empty);
}

int ck_oci_write_pause_spec(const ck_pause_spec *s, const char *bundle, ck_err *err)
{
    char cgroups_path[1024];
    if (ck_oci_cgroups_path(s->cgroup_driver, s->cgroup_parent, s->id, cgroups_path, sizeof(cgroups_path), err) < 0)
        return -1;
    json_t *root = json_pack(
        "{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o, s:o}", "ociVersion", "1.0.2-dev", "process", process_section(s),
        "root", "path", s->rootfs, "readonly", 1, "hostname", s->hostname != NULL ? s->hostname : "", "mounts",
        mounts(s), "linux", linux_section(s, cgroups_path), "annotations", kv_object(s->annotations, s->n_annotations));
    if (root == NULL)
        return ck_err_oom(err, "pause spec");
    if (s->netns_path == NULL)
        json_object_del(root, "hostname");
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (text == NULL)
        return ck_err_oom(err, "pause spec text");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    int rc = ck_write_file_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}
