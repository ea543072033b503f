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

#include "common/cgroup.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "sandbox/sandbox_internal.h"

void ck_sandbox_view_clear(ck_sandbox_view *v)
{
    free(v->id);
    free(v->name);
    free(v->ns);
    free(v->uid);
    free(v->runtime_handler);
    sb_record_view_clear(v);
    memset(v, 0, sizeof(*v));
}

void ck_sandbox_views_free(ck_sandbox_view *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        ck_sandbox_view_clear(&v[i]);
    free(v);
}

/* A READY pod whose pause is gone reads NOTREADY, and is recorded so: stats
 * never read the /proc of whatever process has its pid now. A NOTREADY pod
 * says why. */
static void check_alive(ck_sandboxes *sb, ck_sandbox_view *v)
{
    json_t *data = sb_record_of_view(v);
    bool stopped = sb_record_stopped(data);
    /* What every list asks of every running pod: answered by its pidfd. A
     * pod without a pause has nothing that can exit: its pins go only with
     * a reboot, which the restart's recovery finds (or by hand). */
    if (v->state == CK_SANDBOX_READY && !stopped && (sb_record_pinned(data) || sb_record_pause_exited(sb, v->id) == 0))
        return;
    sb_paths p;
    sb_paths_init(sb, v->id, &p);
    bool alive = sb_pause_alive(&p, data, v->reason, sizeof(v->reason));
    if (stopped || (alive && v->state == CK_SANDBOX_NOTREADY))
        snprintf(v->reason, sizeof(v->reason), "%s",
                 stopped ? "stopped" : "its stop did not finish (retried at the next stop or remove)");
    if (alive || v->state != CK_SANDBOX_READY)
        return;
    v->state = CK_SANDBOX_NOTREADY;
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_pod_set_state(sb->store, v->id, CK_SANDBOX_NOTREADY, &e) < 0)
        ck_warn("sandbox", "pod %s: record NOTREADY: %s", v->id, e.msg);
}

/* Moves the row's strings into the view. */
static int view_from_row(ck_sandboxes *sb, ck_pod_record *row, ck_sandbox_view *v, ck_err *err)
{
    memset(v, 0, sizeof(*v));
    v->id = row->id;
    v->name = row->name;
    v->ns = row->ns;
    v->uid = row->uid;
    v->runtime_handler = row->runtime_handler != NULL ? row->runtime_handler : strdup("");
    row->id = row->name = row->ns = row->uid = row->runtime_handler = NULL;
    v->attempt = row->attempt;
    v->created_at_ns = row->created_at_ns;
    if (v->runtime_handler == NULL)
        return ck_err_oom(err, "pod view");
    if (sb_record_view(sb, row->data, v, err) < 0)
        return -1;
    v->state = row->state == CK_SANDBOX_READY ? CK_SANDBOX_READY : CK_SANDBOX_NOTREADY;
    if (row->state == CK_SANDBOX_CREATING)
        snprintf(v->reason, sizeof(v->reason), "being created");
    else
        check_alive(sb, v);
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
    char *state = sb_record_cni(data);
    int rc = 1;
    if (row.state == CK_SANDBOX_READY && state != NULL) {
        ck_cni_pod pod;
        sb_cni_pod(&row, data, &pod);
        rc = ck_cni_check(sb->cni, &pod, state, err);
    }
    free(state);
    json_decref(data);
    return rc;
}

int ck_sandbox_check_network(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err)
{
    _cleanup_free_ char *full = NULL;
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "check pod network: no id given");
    if (ck_store_pod_find_prefix(sb->store, id, &full, err) < 0)
        return ck_err_wrap(err, "pod sandbox %s", id);
    if (sb_lock(sb, full, cancel, err) < 0)
        return ck_err_wrap(err, "pod %s: CNI CHECK", full);
    int rc = check_locked(sb, full, err);
    sb_unlock(sb, full);
    return rc < 0 ? ck_err_wrap(err, "pod %s: CNI CHECK", full) : rc;
}

static bool has_label(const ck_sandbox_view *v, const ck_kv *want)
{
    for (size_t i = 0; i < v->n_labels; i++)
        if (strcmp(v->labels[i].key, want->key) == 0)
            return strcmp(v->labels[i].value, want->value) == 0;
    return false;
}

static bool labels_match(const ck_sandbox_view *v, const ck_kvs *want)
{
    for (size_t i = 0; i < want->len; i++)
        if (!has_label(v, &want->items[i]))
            return false;
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
    uint64_t epoch = only == NULL ? sb_record_views_begin(sb) : 0;
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
                    (f == NULL || labels_match(&views[k], &f->labels));
        if (keep)
            k++;
        else
            ck_sandbox_view_clear(&views[k]);
    }
    /* Every pod was viewed: the records of those removed go. */
    if (only == NULL && rc == 0)
        sb_record_views_end(sb, epoch);
    ck_pod_records_free(rows, nrows);
    if (rc < 0) {
        ck_sandbox_views_free(views, k);
        return -1;
    }
    *out = views;
    *n = k;
    return 0;
}

/* ---- the context containers read ------------------------------------------ */

static void ns_path(char *buf, size_t size, int pid, const char *ns)
{
    snprintf(buf, size, "/proc/%d/ns/%s", pid, ns);
}

int ck_sandbox_context_get(ck_sandboxes *sb, const char *id, ck_sandbox_context *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    ck_sandbox_view v;
    if (ck_sandbox_status(sb, id, &v, err) < 0)
        return -1;
    json_t *data = sb_record_of_view(&v);
    sb_paths p;
    sb_paths_init(sb, v.id, &p);
    snprintf(out->id, sizeof(out->id), "%s", v.id);
    out->ready = v.state == CK_SANDBOX_READY;
    out->ns_network = v.ns_network;
    out->ns_pid = v.ns_pid;
    out->ns_ipc = v.ns_ipc;
    snprintf(out->ns_target_id, sizeof(out->ns_target_id), "%s", v.ns_target_id);
    out->privileged = sb_record_privileged(data);
    out->pause_pid = v.pause_pid;
    snprintf(out->netns, sizeof(out->netns), "%s", v.netns);
    out->pinned = sb_record_pinned(data);
    if (out->ready && out->pinned) {
        snprintf(out->ipc_ns, sizeof(out->ipc_ns), "%s", p.ipc_pin);
        snprintf(out->uts_ns, sizeof(out->uts_ns), "%s", p.uts_pin);
    } else if (out->ready && v.pause_pid > 0) {
        ns_path(out->ipc_ns, sizeof(out->ipc_ns), v.pause_pid, "ipc");
        ns_path(out->uts_ns, sizeof(out->uts_ns), v.pause_pid, "uts");
        ns_path(out->pid_ns, sizeof(out->pid_ns), v.pause_pid, "pid");
    }
    snprintf(out->cgroup_parent, sizeof(out->cgroup_parent), "%s", v.cgroup_parent);
    snprintf(out->runtime_handler, sizeof(out->runtime_handler), "%s", v.runtime_handler);
    snprintf(out->hostname, sizeof(out->hostname), "%s", v.hostname);
    snprintf(out->hostname_file, sizeof(out->hostname_file), "%s", p.hostname);
    snprintf(out->hosts_file, sizeof(out->hosts_file), "%s", p.hosts);
    snprintf(out->resolv_file, sizeof(out->resolv_file), "%s", p.resolv);
    if (v.ns_ipc != CK_NS_NODE)
        snprintf(out->shm_dir, sizeof(out->shm_dir), "%s", p.shm);
    snprintf(out->log_directory, sizeof(out->log_directory), "%s", v.log_directory);
    if (sb_record_userns(data, &out->uid_map, &out->gid_map)) {
        out->own_userns = true;
        snprintf(out->userns, sizeof(out->userns), "%s", p.userns);
    }
    ck_sandbox_view_clear(&v);
    return 0;
}

/* ---- stats ------------------------------------------------------------- */

/* eth0's counters from a /proc/net/dev. */
static void read_net_dev(FILE *f, void *arg)
{
    ck_sandbox_stats *st = arg;
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
}

static void net_stats(pid_t pid, ck_sandbox_stats *st)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    read_net_dev(f, st);
    fclose(f);
}

static void usage_into(const ck_cgroup_usage *u, ck_sandbox_stats *out)
{
    out->cpu_usage_ns = u->cpu_usage_ns;
    out->memory_usage = u->memory_usage;
    out->memory_working_set = u->memory_working_set;
    out->memory_rss = u->memory_rss;
    out->processes = u->processes;
}

/* A pod without a pause: its cgroup by the parent the kubelet gave (none
 * given, there is no pod cgroup: zero, as nothing runs for the pod but
 * its containers), its network seen from inside its netns. */
static int pinned_stats(const ck_sandbox_context *ctx, ck_sandbox_stats *out)
{
    ck_cgroup_usage u;
    ck_cgroup_usage_of_path(ctx->cgroup_parent, &u);
    usage_into(&u, out);
    if (ctx->netns[0] == '\0')
        return 0;
    ck_err e;
    ck_err_clear(&e);
    if (sb_pins_read_net_dev(ctx->netns, read_net_dev, out, &e) < 0)
        ck_warn("sandbox", "pod %s: network stats: %s", ctx->id, e.msg);
    return 0;
}

int ck_sandbox_stats_get(ck_sandboxes *sb, const char *id, ck_sandbox_stats *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    ck_sandbox_context ctx;
    if (ck_sandbox_context_get(sb, id, &ctx, err) < 0)
        return -1;
    pid_t pid = (pid_t)ctx.pause_pid;
    bool ready = ctx.ready;
    /* The pod's cgroup is the pause's parent when the kubelet gave one. */
    bool pod = ctx.cgroup_parent[0] != '\0';
    out->timestamp_ns = ck_now_ns();
    if (ready && ctx.pinned)
        return pinned_stats(&ctx, out);
    if (!ready || pid <= 0)
        return 0;
    ck_cgroup_usage u;
    ck_cgroup_usage_of(pid, pod, &u);
    usage_into(&u, out);
    net_stats(pid, out);
    return 0;
}

int ck_sandbox_update_resources(ck_sandboxes *sb, const char *id, const ck_sandbox_resources *overhead,
                                const ck_sandbox_resources *resources, const ck_cancel *cancel, ck_err *err)
{
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "update pod sandbox resources: no id given");
    _cleanup_free_ char *full = NULL;
    if (ck_store_pod_find_prefix(sb->store, id, &full, err) < 0)
        return ck_err_wrap(err, "update resources of pod sandbox %s", id);
    if (sb_lock(sb, full, cancel, err) < 0)
        return ck_err_wrap(err, "update resources of pod sandbox %s", full);
    _cleanup_pod_record_ ck_pod_record row = {0};
    json_t *data = NULL;
    int rc = sb_load(sb, full, &row, &data, err);
    if (rc == 0) {
        sb_record_set_resources(data, overhead, resources);
        rc = sb_save(sb, &row, data, row.state, err);
        json_decref(data);
    }
    sb_unlock(sb, full);
    return rc;
}
