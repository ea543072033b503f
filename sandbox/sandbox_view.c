/*
 * sandbox_view: PodSandboxStatus, ListPodSandbox, pod stats and the CNI
 * CHECK a verbose status runs. A READY pod whose pause process has exited
 * reads as NOTREADY (and is recorded so).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "sandbox/sandbox_internal.h"

void ck_sandbox_view_clear(ck_sandbox_view *v)
{
    free(v->id);
    free(v->name);
    free(v->ns);
    free(v->uid);
    free(v->runtime_handler);
    json_decref(v->data);
    memset(v, 0, sizeof(*v));
}

void ck_sandbox_views_free(ck_sandbox_view *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        ck_sandbox_view_clear(&v[i]);
    free(v);
}

/* Moves the row's strings into the view. */
static int view_from_row(ck_sandboxes *sb, ck_pod_record *row, ck_sandbox_view *v, ck_err *err)
{
    memset(v, 0, sizeof(*v));
    v->data = json_loads(row->data != NULL ? row->data : "{}", 0, NULL);
    if (v->data == NULL)
        v->data = json_object();
    v->id = row->id;
    v->name = row->name;
    v->ns = row->ns;
    v->uid = row->uid;
    v->runtime_handler = row->runtime_handler != NULL ? row->runtime_handler : strdup("");
    row->id = row->name = row->ns = row->uid = row->runtime_handler = NULL;
    v->attempt = row->attempt;
    v->created_at_ns = row->created_at_ns;
    v->state = row->state == CK_SANDBOX_READY ? CK_SANDBOX_READY : CK_SANDBOX_NOTREADY;
    if (v->state == CK_SANDBOX_READY) {
        sb_paths p;
        sb_paths_init(sb, v->id, &p);
        if (sb_pause_exited(&p)) {
            v->state = CK_SANDBOX_NOTREADY;
            ck_err e;
            ck_err_clear(&e);
            ck_store_pod_set_state(sb->store, v->id, CK_SANDBOX_NOTREADY, &e);
        }
    }
    if (v->runtime_handler == NULL)
        return ck_err_oom(err, "pod view");
    return 0;
}

int ck_sandbox_status(ck_sandboxes *sb, const char *id, ck_sandbox_view *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "pod sandbox status: no id given");
    _cleanup_free_ char *full = NULL;
    if (ck_store_pod_find_prefix(sb->store, id, &full, err) < 0)
        return ck_err_wrap(err, "pod sandbox %s", id);
    _cleanup_pod_record_ ck_pod_record row = {0};
    if (ck_store_pod_get(sb->store, full, &row, err) < 0)
        return -1;
    if (view_from_row(sb, &row, out, err) < 0) {
        ck_sandbox_view_clear(out);
        return -1;
    }
    return 0;
}

static int check_locked(ck_sandboxes *sb, const char *id, ck_err *err)
{
    _cleanup_pod_record_ ck_pod_record row = {0};
    json_t *data = NULL;
    if (sb_load(sb, id, &row, &data, err) < 0)
        return -1;
    json_t *cni = json_object_get(data, "cni");
    int rc = 1;
    if (row.state == CK_SANDBOX_READY && cni != NULL && !json_is_null(cni)) {
        char *state = json_dumps(cni, JSON_COMPACT);
        ck_cni_pod pod;
        sb_cni_pod(&row, data, &pod);
        rc = state == NULL ? ck_err_oom(err, "CNI state") : ck_cni_check(sb->cni, &pod, state, err);
        free(state);
    }
    json_decref(data);
    return rc;
}

int ck_sandbox_check_network(ck_sandboxes *sb, const char *id, ck_err *err)
{
    _cleanup_free_ char *full = NULL;
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "check pod network: no id given");
    if (ck_store_pod_find_prefix(sb->store, id, &full, err) < 0)
        return ck_err_wrap(err, "pod sandbox %s", id);
    pthread_mutex_t *stripe = sb_stripe(sb, full);
    pthread_mutex_lock(stripe);
    int rc = check_locked(sb, full, err);
    pthread_mutex_unlock(stripe);
    return rc < 0 ? ck_err_wrap(err, "pod %s: CNI CHECK", full) : rc;
}

static bool labels_match(json_t *data, const ck_kvs *want)
{
    json_t *labels = json_object_get(data, "labels");
    for (size_t i = 0; i < want->len; i++) {
        const char *have = json_string_value(json_object_get(labels, want->items[i].key));
        if (have == NULL || strcmp(have, want->items[i].value) != 0)
            return false;
    }
    return true;
}

int ck_sandbox_list(ck_sandboxes *sb, const ck_sandbox_filter *f, ck_sandbox_view **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_free_ char *only = NULL;
    if (f != NULL && f->id != NULL && f->id[0] != '\0') {
        ck_err e;
        ck_err_clear(&e);
        if (ck_store_pod_find_prefix(sb->store, f->id, &only, &e) < 0)
            return e.kind == CK_E_NOT_FOUND || e.kind == CK_E_INVALID ? 0 : ck_err_copy(err, &e);
    }
    ck_pod_record *rows = NULL;
    size_t nrows = 0;
    if (ck_store_pod_list(sb->store, &rows, &nrows, err) < 0)
        return -1;
    ck_sandbox_view *views = calloc(nrows + 1, sizeof(*views));
    if (views == NULL) {
        ck_pod_records_free(rows, nrows);
        return ck_err_oom(err, "pod list");
    }
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < nrows && rc == 0; i++) {
        if (only != NULL && strcmp(rows[i].id, only) != 0)
            continue;
        if (rows[i].state == CK_SANDBOX_CREATING)
            continue; /* not a pod yet */
        rc = view_from_row(sb, &rows[i], &views[k], err);
        if (rc < 0) {
            k++;
            break;
        }
        bool keep = (f == NULL || !f->has_state || f->state == views[k].state) &&
                    (f == NULL || labels_match(views[k].data, &f->labels));
        if (keep)
            k++;
        else
            ck_sandbox_view_clear(&views[k]);
    }
    ck_pod_records_free(rows, nrows);
    if (rc < 0) {
        ck_sandbox_views_free(views, k);
        return -1;
    }
    *out = views;
    *n = k;
    return 0;
}

/* ---- stats ------------------------------------------------------------- */

/* A cgroup counter; 0 when the file is missing or does not hold a number. */
static uint64_t read_u64(const char *path)
{
    uint64_t v = 0;
    if (ck_read_u64_file(path, &v, NULL) < 0)
        return 0;
    return v;
}

/* The value of key in a "key value" per line file (memory.stat); 0 when absent. */
static uint64_t read_keyed(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    char line[256];
    size_t klen = strlen(key);
    uint64_t out = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            const char *p = line + klen;
            if (ck_parse_u64_word(&p, 10, &out, NULL) < 0)
                out = 0;
            break;
        }
    fclose(f);
    return out;
}

/* The pause process's cgroup path in one v1 controller ("memory"), or in
 * the v2 tree ("" controller). */
static bool cgroup_of(pid_t pid, const char *controller, bool pod_level, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        line[strcspn(line, "\n")] = '\0';
        char *rest = c2 + 1;
        rest[strcspn(rest, "\n")] = '\0';
        const char *ctrls = c1 + 1;
        bool match = controller[0] == '\0' ? ctrls[0] == '\0' : false;
        if (!match && controller[0] != '\0') {
            char copy[256];
            snprintf(copy, sizeof(copy), "%s", ctrls);
            char *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
                if (strcmp(t, controller) == 0)
                    match = true;
        }
        if (match) {
            /* Pure v2 mounts the tree at /sys/fs/cgroup, hybrid at .../unified. */
            bool pure_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
            if (controller[0] == '\0')
                snprintf(buf, size, "/sys/fs/cgroup%s%s", pure_v2 ? "" : "/unified", rest);
            else
                snprintf(buf, size, "/sys/fs/cgroup/%s%s", controller, rest);
            /* The pod's cgroup is the pause's parent when the kubelet gave one. */
            if (pod_level) {
                char *slash = strrchr(buf, '/');
                if (slash != NULL && slash > buf)
                    *slash = '\0';
            }
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void net_stats(pid_t pid, ck_sandbox_stats *st)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        /* "  eth0: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets errs ..." */
        const char *p = line + strspn(line, " ");
        if (strncmp(p, "eth0:", 5) != 0)
            continue;
        p += 5;
        uint64_t v[11];
        size_t k = 0;
        while (k < 11 && ck_parse_u64_word(&p, 10, &v[k], NULL) == 0)
            k++;
        if (k < 11)
            continue;
        snprintf(st->iface, sizeof(st->iface), "%s", "eth0");
        st->rx_bytes = v[0];
        st->rx_errors = v[2];
        st->tx_bytes = v[8];
        st->tx_errors = v[10];
    }
    fclose(f);
}

int ck_sandbox_stats_get(ck_sandboxes *sb, const char *id, ck_sandbox_stats *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    ck_sandbox_view v;
    if (ck_sandbox_status(sb, id, &v, err) < 0)
        return -1;
    pid_t pid = (pid_t)json_integer_value(json_object_get(v.data, "pause_pid"));
    bool ready = v.state == CK_SANDBOX_READY;
    const char *parent = json_string_value(json_object_get(v.data, "cgroup_parent"));
    bool pod = parent != NULL && parent[0] != '\0';
    ck_sandbox_view_clear(&v);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    out->timestamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (!ready || pid <= 0)
        return 0;
    char cg[1024], file[1200];
    char v2[1024] = "";
    bool has_v2 = cgroup_of(pid, "", pod, v2, sizeof(v2));
    if (cgroup_of(pid, "cpuacct", pod, cg, sizeof(cg))) {
        snprintf(file, sizeof(file), "%s/cpuacct.usage", cg);
        out->cpu_usage_ns = read_u64(file);
    } else if (has_v2) {
        snprintf(file, sizeof(file), "%s/cpu.stat", v2);
        out->cpu_usage_ns = read_keyed(file, "usage_usec") * 1000;
    }
    uint64_t inactive = 0;
    if (cgroup_of(pid, "memory", pod, cg, sizeof(cg))) {
        snprintf(file, sizeof(file), "%s/memory.usage_in_bytes", cg);
        out->memory_usage = read_u64(file);
        snprintf(file, sizeof(file), "%s/memory.stat", cg);
        inactive = read_keyed(file, "total_inactive_file");
        out->memory_rss = read_keyed(file, "total_rss");
    } else if (has_v2) {
        snprintf(file, sizeof(file), "%s/memory.current", v2);
        out->memory_usage = read_u64(file);
        snprintf(file, sizeof(file), "%s/memory.stat", v2);
        inactive = read_keyed(file, "inactive_file");
        out->memory_rss = read_keyed(file, "anon");
    }
    out->memory_working_set = out->memory_usage > inactive ? out->memory_usage - inactive : 0;
    if (cgroup_of(pid, "pids", pod, cg, sizeof(cg))) {
        snprintf(file, sizeof(file), "%s/pids.current", cg);
        out->processes = read_u64(file);
    } else if (has_v2) {
        snprintf(file, sizeof(file), "%s/pids.current", v2);
        out->processes = read_u64(file);
    }
    net_stats(pid, out);
    return 0;
}

static json_t *resources_json(const ck_sandbox_resources *r)
{
    if (!r->set)
        return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:s, s:s}", "cpu_period", (json_int_t)r->cpu_period, "cpu_quota",
                     (json_int_t)r->cpu_quota, "cpu_shares", (json_int_t)r->cpu_shares, "memory_limit_in_bytes",
                     (json_int_t)r->memory_limit_in_bytes, "cpuset_cpus", r->cpuset_cpus ? r->cpuset_cpus : "",
                     "cpuset_mems", r->cpuset_mems ? r->cpuset_mems : "");
}

int ck_sandbox_update_resources(ck_sandboxes *sb, const char *id, const ck_sandbox_resources *overhead,
                                const ck_sandbox_resources *resources, ck_err *err)
{
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "update pod sandbox resources: no id given");
    _cleanup_free_ char *full = NULL;
    if (ck_store_pod_find_prefix(sb->store, id, &full, err) < 0)
        return ck_err_wrap(err, "update resources of pod sandbox %s", id);
    pthread_mutex_t *stripe = sb_stripe(sb, full);
    pthread_mutex_lock(stripe);
    _cleanup_pod_record_ ck_pod_record row = {0};
    json_t *data = NULL;
    int rc = sb_load(sb, full, &row, &data, err);
    if (rc == 0) {
        json_object_set_new(data, "overhead", resources_json(overhead));
        json_object_set_new(data, "resources", resources_json(resources));
        rc = sb_save(sb, &row, data, row.state, err);
        json_decref(data);
    }
    pthread_mutex_unlock(stripe);
    return rc;
}
