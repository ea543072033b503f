/*
 * spec: ck_oci_spec to config.json, and the pause container's spec. The
 * pause's mounts are the minimal set runc needs for a process that only
 * sleeps, plus the pod's /dev/shm and the /etc files the sandbox wrote, so
 * they can be seen from inside the pod.
 */
#include "oci/spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/fs.h"
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

const char *const ck_oci_default_masked_paths[] = {
    "/proc/acpi",        "/proc/kcore",       "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",       NULL};
const char *const ck_oci_default_readonly_paths[] = {"/proc/asound", "/proc/bus",           "/proc/fs", "/proc/irq",
                                                     "/proc/sys",    "/proc/sysrq-trigger", NULL};

/* ---- ck_oci_spec to JSON ------------------------------------------------- */

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *kv_object(const ck_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

static json_t *mounts_json(const ck_oci_spec *s)
{
    json_t *m = json_array();
    for (size_t i = 0; i < s->n_mounts; i++) {
        const ck_oci_mount *e = &s->mounts[i];
        json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:o}", "destination", e->destination, "type", e->type,
                                           "source", e->source, "options", strings(e->options)));
    }
    return m;
}

static json_t *namespaces_json(const ck_oci_spec *s)
{
    json_t *ns = json_array();
    for (size_t i = 0; i < s->n_namespaces; i++) {
        const ck_oci_namespace *e = &s->namespaces[i];
        json_array_append_new(ns, e->path != NULL ? json_pack("{s:s, s:s}", "type", e->type, "path", e->path)
                                                  : json_pack("{s:s}", "type", e->type));
    }
    return ns;
}

static void set_if(json_t *o, const char *key, bool present, json_t *value)
{
    if (present)
        json_object_set_new(o, key, value);
    else
        json_decref(value);
}

static json_t *device_rules_json(const ck_oci_resources *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_device_rules; i++) {
        const ck_oci_device_rule *d = &r->device_rules[i];
        char type[2] = {d->type, '\0'};
        json_t *e = json_pack("{s:b, s:s, s:s}", "allow", d->allow, "type", type, "access",
                              d->access != NULL ? d->access : "rwm");
        /* A missing major or minor is the wildcard. */
        set_if(e, "major", d->major >= 0, json_integer(d->major));
        set_if(e, "minor", d->minor >= 0, json_integer(d->minor));
        json_array_append_new(a, e);
    }
    return a;
}

static json_t *hugepages_json(const ck_oci_resources *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_hugepages; i++)
        json_array_append_new(a, json_pack("{s:s, s:I}", "pageSize", r->hugepages[i].page_size, "limit",
                                           (json_int_t)r->hugepages[i].limit));
    return a;
}

static json_t *resources_json(const ck_oci_resources *r)
{
    json_t *cpu = json_object(), *mem = json_object(), *res = json_object();
    set_if(cpu, "shares", r->cpu_shares > 0, json_integer((json_int_t)r->cpu_shares));
    set_if(cpu, "quota", r->cpu_quota != 0, json_integer(r->cpu_quota));
    set_if(cpu, "period", r->cpu_period > 0, json_integer((json_int_t)r->cpu_period));
    set_if(cpu, "cpus", r->cpuset_cpus != NULL && r->cpuset_cpus[0] != '\0', json_string(r->cpuset_cpus ?: ""));
    set_if(cpu, "mems", r->cpuset_mems != NULL && r->cpuset_mems[0] != '\0', json_string(r->cpuset_mems ?: ""));
    set_if(mem, "limit", r->memory_limit > 0, json_integer(r->memory_limit));
    set_if(mem, "swap", r->memory_swap != 0, json_integer(r->memory_swap));
    set_if(res, "cpu", json_object_size(cpu) > 0, cpu);
    set_if(res, "memory", json_object_size(mem) > 0, mem);
    set_if(res, "pids", r->pids_limit != 0, json_pack("{s:I}", "limit", (json_int_t)r->pids_limit));
    set_if(res, "hugepageLimits", r->n_hugepages > 0, hugepages_json(r));
    set_if(res, "unified", r->n_unified > 0, kv_object(r->unified, r->n_unified));
    set_if(res, "devices", r->n_device_rules > 0, device_rules_json(r));
    return res;
}

static json_t *devices_json(const ck_oci_spec *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_devices; i++) {
        const ck_oci_device *d = &s->devices[i];
        char type[2] = {d->type, '\0'};
        json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", d->path, "type", type,
                                           "major", (json_int_t)d->major, "minor", (json_int_t)d->minor, "fileMode",
                                           (json_int_t)d->file_mode, "uid", (json_int_t)d->uid, "gid",
                                           (json_int_t)d->gid));
    }
    return a;
}

static json_t *strings_n(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *seccomp_rule_json(const ck_seccomp_rule *r)
{
    json_t *args = json_array();
    for (size_t i = 0; i < r->n_args; i++) {
        const ck_seccomp_arg *a = &r->args[i];
        json_array_append_new(args, json_pack("{s:I, s:I, s:I, s:s}", "index", (json_int_t)a->index, "value",
                                              (json_int_t)a->value, "valueTwo", (json_int_t)a->value_two, "op", a->op));
    }
    json_t *o = json_pack("{s:o, s:s}", "names", strings_n(r->names, r->n_names), "action", r->action);
    if (o == NULL) {
        json_decref(args);
        return NULL;
    }
    set_if(o, "args", r->n_args > 0, args);
    set_if(o, "errnoRet", r->has_errno_ret, json_integer(r->errno_ret));
    return o;
}

/* linux.seccomp, which runc compiles with libseccomp. */
static json_t *seccomp_json(const ck_seccomp_profile *p)
{
    json_t *rules = json_array();
    for (size_t i = 0; i < p->n_rules; i++)
        json_array_append_new(rules, seccomp_rule_json(&p->rules[i]));
    json_t *o = json_pack("{s:s, s:o}", "defaultAction", p->default_action, "syscalls", rules);
    if (o == NULL)
        return NULL;
    set_if(o, "defaultErrnoRet", p->has_default_errno_ret, json_integer(p->default_errno_ret));
    set_if(o, "architectures", p->n_architectures > 0, strings_n(p->architectures, p->n_architectures));
    set_if(o, "flags", p->n_flags > 0, strings_n(p->flags, p->n_flags));
    return o;
}

static json_t *id_map_json(const ck_id_map *m)
{
    return json_pack("[{s:I, s:I, s:I}]", "containerID", (json_int_t)m->container_id, "hostID", (json_int_t)m->host_id,
                     "size", (json_int_t)m->length);
}

static json_t *linux_json(const ck_oci_spec *s)
{
    json_t *l = json_pack("{s:o, s:o, s:o, s:o, s:o}", "namespaces", namespaces_json(s), "sysctl",
                          kv_object(s->sysctls, s->n_sysctls), "resources", resources_json(&s->resources),
                          "maskedPaths", strings(s->masked_paths), "readonlyPaths", strings(s->readonly_paths));
    if (l == NULL)
        return NULL;
    if (s->cgroups_path != NULL)
        json_object_set_new(l, "cgroupsPath", json_string(s->cgroups_path));
    if (s->rootfs_propagation != NULL)
        json_object_set_new(l, "rootfsPropagation", json_string(s->rootfs_propagation));
    set_if(l, "devices", s->n_devices > 0, devices_json(s));
    if (s->uid_map != NULL && s->gid_map != NULL) {
        json_object_set_new(l, "uidMappings", id_map_json(s->uid_map));
        json_object_set_new(l, "gidMappings", id_map_json(s->gid_map));
    }
    if (s->seccomp != NULL) {
        json_t *sc = seccomp_json(s->seccomp);
        if (sc == NULL) {
            json_decref(l);
            return NULL;
        }
        json_object_set_new(l, "seccomp", sc);
    }
    return l;
}

static json_t *user_json(const ck_oci_process *p)
{
    json_t *u = json_pack("{s:I, s:I}", "uid", (json_int_t)p->uid, "gid", (json_int_t)p->gid);
    if (u != NULL && p->n_additional_gids > 0) {
        json_t *g = json_array();
        for (size_t i = 0; i < p->n_additional_gids; i++)
            json_array_append_new(g, json_integer(p->additional_gids[i]));
        json_object_set_new(u, "additionalGids", g);
    }
    return u;
}

static json_t *process_json(const ck_oci_process *p)
{
    json_t *caps = strings(p->capabilities);
    json_t *process = json_pack("{s:b, s:o, s:o, s:o, s:s, s:b, s:i, s:{s:o, s:o, s:o, s:o}}", "terminal", p->terminal,
                                "user", user_json(p), "args", strings(p->args), "env", strings(p->env), "cwd",
                                p->cwd != NULL && p->cwd[0] != '\0' ? p->cwd : "/", "noNewPrivileges",
                                p->no_new_privileges, "oomScoreAdj", p->oom_score_adj, "capabilities", "bounding", caps,
                                "effective", json_copy(caps), "permitted", json_copy(caps), "ambient", json_array());
    if (process != NULL && p->apparmor_profile != NULL)
        json_object_set_new(process, "apparmorProfile", json_string(p->apparmor_profile));
    return process;
}

static json_t *spec_json(const ck_oci_spec *s)
{
    json_t *root =
        json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o, s:o}", "ociVersion", "1.0.2-dev", "process",
                  process_json(&s->process), "root", "path", s->root_path, "readonly", s->root_readonly, "mounts",
                  mounts_json(s), "linux", linux_json(s), "annotations", kv_object(s->annotations, s->n_annotations));
    if (root != NULL && s->hostname != NULL)
        json_object_set_new(root, "hostname", json_string(s->hostname));
    return root;
}

/* The keys an update replaces; device rules and the rest stay. */
static void merge_resources(json_t *into, json_t *from)
{
    static const char *const keys[] = {"cpu", "memory", "unified"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(from, keys[i]);
        if (v != NULL)
            json_object_set(into, keys[i], v);
        else
            json_object_del(into, keys[i]);
    }
}

static int write_json(const char *path, json_t *root, const char *what, ck_err *err)
{
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (text == NULL)
        return ck_err_oom(err, what);
    int rc = ck_write_file_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

int ck_oci_spec_update_resources(const char *bundle, const ck_oci_resources *r, char *file, size_t size, ck_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    json_error_t jerr;
    json_t *spec = json_load_file(path, 0, &jerr);
    if (spec == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s: %s", path, jerr.text);
    json_t *res = resources_json(r);
    json_t *lx = json_object_get(spec, "linux");
    json_t *old = json_object_get(lx, "resources");
    int rc = -1;
    if (res == NULL || !json_is_object(old)) {
        rc = ck_err_set(err, CK_E_INTERNAL, 0, "%s: no linux.resources to update", path);
    } else {
        merge_resources(old, res);
        snprintf(file, size, "%s/resources.json", bundle);
        rc = write_json(file, old, "resources", err) < 0 || write_json(path, spec, "OCI spec", err) < 0 ? -1 : 0;
    }
    json_decref(res);
    json_decref(spec);
    return rc;
}

static int write_spec(const ck_oci_spec *spec, const char *bundle, bool durable, ck_err *err)
{
    json_t *root = spec_json(spec);
    if (root == NULL)
        return ck_err_oom(err, "OCI spec");
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (text == NULL)
        return ck_err_oom(err, "OCI spec text");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    int rc = durable ? ck_write_file_atomic(path, text, strlen(text), 0600, err)
                     : ck_write_file_for_this_boot(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

int ck_oci_spec_write(const ck_oci_spec *spec, const char *bundle, ck_err *err)
{
    return write_spec(spec, bundle, true, err);
}

/* ---- the pause container ------------------------------------------------- */

enum { PAUSE_MAX_MOUNTS = 12, PAUSE_MAX_NAMESPACES = 8 };

static size_t pause_mounts(const ck_pause_spec *s, ck_oci_mount *m)
{
    static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    static const char *const pts_o[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL};
    static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sys_o[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    static const char *const sys_rw_o[] = {"nosuid", "noexec", "nodev", "rw", NULL};
    static const char *const shm_o[] = {"rbind", "rw", "nosuid", "nodev", "noexec", NULL};
    static const char *const shm_tmp_o[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL};
    static const char *const etc_o[] = {"rbind", "ro", "nosuid", "nodev", "noexec", NULL};
    size_t n = 0;
    m[n++] = (ck_oci_mount){"/proc", "proc", "proc", proc_o};
    m[n++] = (ck_oci_mount){"/dev", "tmpfs", "tmpfs", dev_o};
    m[n++] = (ck_oci_mount){"/dev/pts", "devpts", "devpts", pts_o};
    if (!s->host_ipc)
        m[n++] = (ck_oci_mount){"/dev/mqueue", "mqueue", "mqueue", mq_o};
    m[n++] = (ck_oci_mount){"/sys", "sysfs", "sysfs", s->writable_sysfs ? sys_rw_o : sys_o};
    if (s->shm_path != NULL)
        m[n++] = (ck_oci_mount){"/dev/shm", "bind", s->shm_path, shm_o};
    else
        m[n++] = (ck_oci_mount){"/dev/shm", "tmpfs", "shm", shm_tmp_o};
    if (s->hostname_file != NULL)
        m[n++] = (ck_oci_mount){"/etc/hostname", "bind", s->hostname_file, etc_o};
    if (s->hosts_file != NULL)
        m[n++] = (ck_oci_mount){"/etc/hosts", "bind", s->hosts_file, etc_o};
    if (s->resolv_file != NULL)
        m[n++] = (ck_oci_mount){"/etc/resolv.conf", "bind", s->resolv_file, etc_o};
    return n;
}

static size_t pause_namespaces(const ck_pause_spec *s, ck_oci_namespace *ns)
{
    size_t n = 0;
    /* First, so the runtime joins the pod's user namespace before it makes
     * the others, which it then owns. */
    if (s->userns_path != NULL)
        ns[n++] = (ck_oci_namespace){"user", s->userns_path};
    ns[n++] = (ck_oci_namespace){"mount", NULL};
    if (!s->host_pid)
        ns[n++] = (ck_oci_namespace){"pid", NULL};
    if (!s->host_ipc)
        ns[n++] = (ck_oci_namespace){"ipc", NULL};
    /* A host-network pod shares the host's name too, as the kubelet expects. */
    if (s->netns_path != NULL) {
        ns[n++] = (ck_oci_namespace){"uts", NULL};
        ns[n++] = (ck_oci_namespace){"network", s->netns_path};
    }
    ns[n++] = (ck_oci_namespace){"cgroup", NULL};
    return n;
}

int ck_oci_write_pause_spec(const ck_pause_spec *s, const char *bundle, ck_err *err)
{
    static const char *const args[] = {"/pause", NULL};
    static const char *const env[] = {"PATH=/", NULL};
    char cgroups_path[1024];
    if (ck_oci_cgroups_path(s->cgroup_driver, s->cgroup_parent, s->id, cgroups_path, sizeof(cgroups_path), err) < 0)
        return -1;
    ck_oci_mount mounts[PAUSE_MAX_MOUNTS];
    ck_oci_namespace namespaces[PAUSE_MAX_NAMESPACES];
    ck_oci_spec spec = {
        .process = {.args = s->args != NULL ? s->args : args,
                    .env = s->env != NULL ? s->env : env,
                    .cwd = s->cwd,
                    .uid = s->uid,
                    .gid = s->gid,
                    .additional_gids = s->additional_gids,
                    .n_additional_gids = s->n_additional_gids,
                    .no_new_privileges = true,
                    .oom_score_adj = s->oom_score_adj,
                    .apparmor_profile = s->apparmor_profile},
        .root_path = s->rootfs,
        .root_readonly = true,
        .hostname = s->netns_path != NULL ? (s->hostname != NULL ? s->hostname : "") : NULL,
        .mounts = mounts,
        .n_mounts = pause_mounts(s, mounts),
        .namespaces = namespaces,
        .n_namespaces = pause_namespaces(s, namespaces),
        .cgroups_path = cgroups_path,
        .masked_paths = ck_oci_default_masked_paths,
        .readonly_paths = ck_oci_default_readonly_paths,
        .sysctls = s->sysctls,
        .n_sysctls = s->n_sysctls,
        .seccomp = s->seccomp,
        .annotations = s->annotations,
        .n_annotations = s->n_annotations,
        .uid_map = s->userns_path != NULL ? s->uid_map : NULL,
        .gid_map = s->userns_path != NULL ? s->gid_map : NULL,
    };
    /* A pause is never started again after a reboot: no fsync. */
    return write_spec(&spec, bundle, false, err);
}
