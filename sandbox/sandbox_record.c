/*
 * sandbox_record: the `data` JSON of a pod row, owned by this domain and
 * versioned ("v"). Version 1 holds:
 *   labels, annotations            objects of strings, as given
 *   hostname, log_directory, cgroup_parent
 *   ns_network, ns_pid, ns_ipc     the CRI NamespaceMode numbers; ns_target_id
 *   netns                          path of the pinned namespace ("" once removed or host network)
 *   cni                            the CNI attachment (config used + result), null once torn down
 *   ips                            the pod's IPs, IPv4 first
 *   port_mappings                  [{host_port, container_port, protocol, host_ip}]
 *   pause_pid                      the pause process
 *   pause_start_time, boot_id      with pause_pid, who the pause process is (common/proc.h);
 *                                  absent in records written before they were kept
 *   pinned                         true for a pod without a pause (sandbox_pins.c): its IPC and
 *                                  UTS namespaces pinned in its run dir; boot_id the boot they
 *                                  were made on
 *   image                          the pause image's id, when pause.image is set (absent otherwise)
 *   rootfs                         where its layers are mounted while the pod runs
 *   stopped                        true once StopPodSandbox (or a recovery) stopped it
 *   privileged                     the pod's security context's privileged (absent: false)
 *   userns                         {uid: [container, host, length], gid: [...]} of a pod with its
 *                                  own user namespace (pinned at <state>/userns/<id>); absent: the host's
 * A reader tolerates missing keys, so older records still load.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/sandbox_internal.h"

static json_t *kv_json(const ck_kvs *kv)
{
    json_t *o = json_object();
    for (size_t i = 0; i < kv->len; i++)
        json_object_set_new(o, kv->items[i].key, json_string(kv->items[i].value));
    return o;
}

json_t *sb_record_new(const ck_sandbox_config *cfg, const char *netns, const char *cgroup_parent)
{
    json_t *ports = json_array();
    for (size_t i = 0; i < cfg->n_ports; i++) {
        const ck_cni_port *p = &cfg->ports[i];
        json_array_append_new(ports, json_pack("{s:i, s:i, s:s, s:s}", "host_port", (int)p->host_port, "container_port",
                                               (int)p->container_port, "protocol", p->protocol, "host_ip",
                                               p->host_ip != NULL ? p->host_ip : ""));
    }
    return json_pack("{s:i, s:o, s:o, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:n, s:[], s:o, s:i, s:b}", "v",
                     SB_RECORD_VERSION, "labels", kv_json(&cfg->labels), "annotations", kv_json(&cfg->annotations),
                     "hostname", cfg->hostname != NULL ? cfg->hostname : "", "log_directory",
                     cfg->log_directory != NULL ? cfg->log_directory : "", "cgroup_parent", cgroup_parent, "ns_network",
                     cfg->ns_network, "ns_pid", cfg->ns_pid, "ns_ipc", cfg->ns_ipc, "ns_target_id",
                     cfg->ns_target_id != NULL ? cfg->ns_target_id : "", "netns", netns != NULL ? netns : "", "cni",
                     "ips", "port_mappings", ports, "pause_pid", 0, "privileged", cfg->privileged);
}

int sb_save(ck_sandboxes *sb, const ck_pod_record *row, json_t *data, int state, ck_err *err)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (text == NULL)
        return ck_err_oom(err, "pod record");
    ck_pod_record r = *row;
    r.state = state;
    r.data = text;
    int rc = ck_store_pod_put(sb->store, &r, err);
    free(text);
    return rc;
}

int sb_load(ck_sandboxes *sb, const char *id, ck_pod_record *row, json_t **data, ck_err *err)
{
    if (ck_store_pod_get(sb->store, id, row, err) < 0)
        return -1;
    json_error_t jerr;
    *data = json_loads(row->data != NULL ? row->data : "{}", 0, &jerr);
    if (*data == NULL) {
        ck_pod_record_clear(row);
        return ck_err_set(err, CK_E_INTERNAL, 0, "pod %s: record is not JSON: %s", id, jerr.text);
    }
    return 0;
}

static const char *sb_str(json_t *data, const char *key)
{
    const char *s = json_string_value(json_object_get(data, key));
    return s != NULL ? s : "";
}

void sb_cni_pod(const ck_pod_record *row, json_t *data, ck_cni_pod *pod)
{
    memset(pod, 0, sizeof(*pod));
    pod->id = row->id;
    pod->name = row->name;
    pod->ns = row->ns;
    pod->uid = row->uid;
    pod->netns = sb_str(data, "netns");
}

/* ---- fields the domain changes as the pod lives ----------------------------- */

char *sb_record_cni(json_t *data)
{
    json_t *cni = json_object_get(data, "cni");
    return cni != NULL && !json_is_null(cni) ? json_dumps(cni, JSON_COMPACT) : NULL;
}

int sb_record_set_cni(json_t *data, const char *state, ck_err *err)
{
    if (state == NULL)
        return json_object_set_new(data, "cni", json_null()) == 0 ? 0 : ck_err_oom(err, "pod record");
    json_error_t jerr;
    json_t *v = json_loads(state, 0, &jerr);
    if (v == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "CNI state is not JSON: %s", jerr.text);
    return json_object_set_new(data, "cni", v) == 0 ? 0 : ck_err_oom(err, "pod record");
}

const char *sb_record_netns(json_t *data)
{
    return sb_str(data, "netns");
}

void sb_record_set_netns(json_t *data, const char *path)
{
    json_object_set_new(data, "netns", json_string(path));
}

void sb_record_set_ips(json_t *data, const ck_cni_attachment *att)
{
    json_t *a = json_array();
    for (size_t i = 0; i < att->n_ips; i++)
        json_array_append_new(a, json_string(att->ips[i]));
    json_object_set_new(data, "ips", a);
}

const char *sb_record_hostname(json_t *data)
{
    return sb_str(data, "hostname");
}

void sb_record_set_hostname(json_t *data, const char *hostname)
{
    json_object_set_new(data, "hostname", json_string(hostname));
}

const char *sb_record_pause_image(json_t *data)
{
    return sb_str(data, "image");
}

void sb_record_set_pause_image(json_t *data, const char *image_id, const char *rootfs)
{
    json_object_set_new(data, "image", json_string(image_id));
    json_object_set_new(data, "rootfs", json_string(rootfs));
}

bool sb_record_stopped(json_t *data)
{
    return json_is_true(json_object_get(data, "stopped"));
}

void sb_record_set_stopped(json_t *data)
{
    json_object_set_new(data, "stopped", json_true());
}

bool sb_record_runtime_deleted(json_t *data)
{
    return json_is_true(json_object_get(data, "runtime_deleted"));
}

void sb_record_set_runtime_deleted(json_t *data)
{
    json_object_set_new(data, "runtime_deleted", json_true());
}

static json_t *id_map_json(const ck_id_map *m)
{
    return json_pack("[I, I, I]", (json_int_t)m->container_id, (json_int_t)m->host_id, (json_int_t)m->length);
}

void sb_record_set_userns(json_t *data, const ck_id_map *uid, const ck_id_map *gid)
{
    json_object_set_new(data, "userns", json_pack("{s:o, s:o}", "uid", id_map_json(uid), "gid", id_map_json(gid)));
}

static bool id_map_of(json_t *a, ck_id_map *m)
{
    json_int_t c = 0, h = 0, l = 0;
    if (json_unpack(a, "[I, I, I]", &c, &h, &l) < 0 || c < 0 || h < 0 || l <= 0 || c > UINT32_MAX || h > UINT32_MAX ||
        l > UINT32_MAX)
        return false;
    *m = (ck_id_map){(uint32_t)c, (uint32_t)h, (uint32_t)l};
    return true;
}

bool sb_record_userns(json_t *data, ck_id_map *uid, ck_id_map *gid)
{
    json_t *u = json_object_get(data, "userns");
    return u != NULL && id_map_of(json_object_get(u, "uid"), uid) && id_map_of(json_object_get(u, "gid"), gid);
}

bool sb_record_privileged(json_t *data)
{
    return json_is_true(json_object_get(data, "privileged"));
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

void sb_record_set_resources(json_t *data, const ck_sandbox_resources *overhead, const ck_sandbox_resources *resources)
{
    json_object_set_new(data, "overhead", resources_json(overhead));
    json_object_set_new(data, "resources", resources_json(resources));
}

void sb_record_set_pause(json_t *data, const ck_proc_id *who)
{
    json_object_set_new(data, "pause_pid", json_integer(who->pid));
    json_object_set_new(data, "pause_start_time", json_integer((json_int_t)who->start_time));
    json_object_set_new(data, "boot_id", json_string(who->boot_id));
}

void sb_record_set_pinned(json_t *data, const char *boot_id)
{
    json_object_set_new(data, "pinned", json_true());
    json_object_set_new(data, "boot_id", json_string(boot_id));
}

bool sb_record_pinned(json_t *data)
{
    return json_is_true(json_object_get(data, "pinned"));
}

bool sb_record_pause(json_t *data, ck_proc_id *who)
{
    memset(who, 0, sizeof(*who));
    who->pid = (pid_t)json_integer_value(json_object_get(data, "pause_pid"));
    json_t *start = json_object_get(data, "pause_start_time");
    if (who->pid <= 0 || !json_is_integer(start))
        return false;
    who->start_time = (uint64_t)json_integer_value(start);
    snprintf(who->boot_id, sizeof(who->boot_id), "%s", sb_str(data, "boot_id"));
    return true;
}

void sb_name_key(const char *name, const char *ns, const char *uid, uint32_t attempt, char *buf, size_t size)
{
    /* Each field is preceded by its length, so no two pods share a key
     * whatever characters their fields hold ("a_b" in "c" and "a" in "b_c"). */
    snprintf(buf, size, "pod:%zu:%s:%zu:%s:%zu:%s:%u", strlen(name), name, strlen(ns), ns, strlen(uid), uid, attempt);
}

void sb_name_key_legacy(const char *name, const char *ns, const char *uid, uint32_t attempt, char *buf, size_t size)
{
    snprintf(buf, size, "pod:%s_%s_%s_%u", name, ns, uid, attempt);
}

/* ---- the typed view ------------------------------------------------------ */

/* What a view's fields point into. */
typedef struct view_record {
    json_t *data;
    const char **ips;
    ck_kv *labels, *annotations;
} view_record;

static int kv_list(json_t *obj, ck_kv **out, size_t *n)
{
    *n = 0;
    *out = calloc(json_object_size(obj) + 1, sizeof(**out));
    if (*out == NULL)
        return -1;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        const char *s = json_string_value(val);
        (*out)[(*n)++] = (ck_kv){key, s != NULL ? s : ""};
    }
    return 0;
}

/* The parsed record of one pod and the text it came from, with a pidfd on
 * the pause that text names (opened at the first question, so a list asks
 * the kernel with one poll instead of reading the exit file and
 * /proc/<pid>/stat of every pod). */
enum { PAUSE_FD_UNOPENED = -1, PAUSE_FD_NONE = -2 };
struct sb_parsed {
    char id[65];
    char *text;
    json_t *data;
    uint64_t epoch; /* sb->parsed_epoch when last used */
    int pause_fd;   /* a pidfd, PAUSE_FD_UNOPENED or PAUSE_FD_NONE (none could be opened) */
};

static void parsed_clear(ck_sandboxes *sb, struct sb_parsed *p)
{
    free(p->text);
    json_decref(p->data);
    if (p->pause_fd >= 0) {
        close(p->pause_fd);
        sb->n_pause_fds--;
    }
    p->text = NULL;
    p->data = NULL;
    p->pause_fd = PAUSE_FD_UNOPENED;
}

static struct sb_parsed *parsed_of(ck_sandboxes *sb, const char *id)
{
    for (size_t i = 0; i < sb->n_parsed; i++)
        if (strcmp(sb->parsed[i].id, id) == 0)
            return &sb->parsed[i];
    return NULL;
}

/* A reference to the parsed text of pod id's record, NULL when it was not
 * parsed yet (or the text changed since). */
static json_t *parsed_get(ck_sandboxes *sb, const char *id, const char *text)
{
    pthread_mutex_lock(&sb->parsed_mu);
    struct sb_parsed *p = parsed_of(sb, id);
    json_t *data = p != NULL && strcmp(p->text, text) == 0 ? json_incref(p->data) : NULL;
    if (data != NULL)
        p->epoch = sb->parsed_epoch;
    pthread_mutex_unlock(&sb->parsed_mu);
    return data;
}

/* Keeps data as the parse of text (a failure only costs a parse later). */
static void parsed_put(ck_sandboxes *sb, const char *id, const char *text, json_t *data)
{
    char *copy = strdup(text);
    if (copy == NULL || strlen(id) >= sizeof(sb->parsed[0].id)) {
        free(copy);
        return;
    }
    pthread_mutex_lock(&sb->parsed_mu);
    struct sb_parsed *p = parsed_of(sb, id);
    if (p == NULL && sb->n_parsed == sb->cap_parsed) {
        size_t cap = sb->cap_parsed == 0 ? 16 : sb->cap_parsed * 2;
        struct sb_parsed *grown = realloc(sb->parsed, cap * sizeof(*grown));
        if (grown != NULL) {
            sb->parsed = grown;
            sb->cap_parsed = cap;
        }
    }
    if (p == NULL && sb->n_parsed < sb->cap_parsed) {
        p = &sb->parsed[sb->n_parsed++];
        snprintf(p->id, sizeof(p->id), "%s", id);
        p->text = NULL;
        p->data = NULL;
        p->pause_fd = PAUSE_FD_UNOPENED;
    }
    if (p != NULL) {
        parsed_clear(sb, p); /* a new text may name another pause */
        p->text = copy;
        p->data = json_incref(data);
        p->epoch = sb->parsed_epoch;
        copy = NULL;
    }
    pthread_mutex_unlock(&sb->parsed_mu);
    free(copy);
}

uint64_t sb_record_views_begin(ck_sandboxes *sb)
{
    pthread_mutex_lock(&sb->parsed_mu);
    uint64_t epoch = ++sb->parsed_epoch;
    pthread_mutex_unlock(&sb->parsed_mu);
    return epoch;
}

void sb_record_views_end(ck_sandboxes *sb, uint64_t epoch)
{
    pthread_mutex_lock(&sb->parsed_mu);
    for (size_t i = 0; i < sb->n_parsed;) {
        if (sb->parsed[i].epoch >= epoch) {
            i++;
            continue;
        }
        parsed_clear(sb, &sb->parsed[i]);
        sb->parsed[i] = sb->parsed[--sb->n_parsed];
    }
    pthread_mutex_unlock(&sb->parsed_mu);
}

void sb_record_forget(ck_sandboxes *sb, const char *id)
{
    pthread_mutex_lock(&sb->parsed_mu);
    struct sb_parsed *p = parsed_of(sb, id);
    if (p != NULL) {
        parsed_clear(sb, p);
        *p = sb->parsed[--sb->n_parsed];
    }
    pthread_mutex_unlock(&sb->parsed_mu);
}

void sb_record_parsed_free(ck_sandboxes *sb)
{
    for (size_t i = 0; i < sb->n_parsed; i++)
        parsed_clear(sb, &sb->parsed[i]);
    free(sb->parsed);
    sb->parsed = NULL;
    sb->n_parsed = sb->cap_parsed = 0;
}

/* The pidfds kept stay within a quarter of the descriptors the daemon may
 * open (the soft limit its children inherit too, so it is not raised):
 * past it, pods are asked the slow way. */
static size_t pause_fds_allowed(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 256;
    return (size_t)(rl.rlim_cur / 4);
}

int sb_record_pause_exited(ck_sandboxes *sb, const char *id)
{
    pthread_mutex_lock(&sb->parsed_mu);
    struct sb_parsed *p = parsed_of(sb, id);
    if (p != NULL && p->pause_fd == PAUSE_FD_UNOPENED && sb->n_pause_fds < pause_fds_allowed()) {
        ck_proc_id who;
        ck_err e;
        ck_err_clear(&e);
        int fd = sb_record_pause(p->data, &who) ? ck_proc_id_open(&who, &e) : -1;
        p->pause_fd = fd >= 0 ? fd : PAUSE_FD_NONE;
        sb->n_pause_fds += fd >= 0;
    }
    int exited = -1;
    if (p != NULL && p->pause_fd >= 0) {
        struct pollfd pfd = {.fd = p->pause_fd, .events = POLLIN};
        int n = poll(&pfd, 1, 0);
        exited = n < 0 ? -1 : n > 0;
    }
    pthread_mutex_unlock(&sb->parsed_mu);
    return exited;
}

/* The parsed record: shared with the other views of the same text. */
static json_t *parse(ck_sandboxes *sb, const char *id, const char *text)
{
    json_t *data = parsed_get(sb, id, text);
    if (data != NULL)
        return data;
    json_error_t jerr;
    data = json_loads(text, 0, &jerr);
    if (data == NULL) {
        /* A damaged record must not hide the pod: it lists, with no detail. */
        ck_warn("sandbox", "pod %s: record is not JSON (%s): shown without its details", id, jerr.text);
        return json_object();
    }
    /* The CNI attachment (the network's config and ADD's result) is about
     * three quarters of a record's parse, and no view reads it: the kept
     * parse, one per listed pod, goes without it (a verbose status reads
     * the whole record again). */
    json_object_del(data, "cni");
    parsed_put(sb, id, text, data);
    return data;
}

int sb_record_view(ck_sandboxes *sb, const char *text, ck_sandbox_view *v, ck_err *err)
{
    view_record *vr = calloc(1, sizeof(*vr));
    if (vr == NULL)
        return ck_err_oom(err, "pod view");
    v->record_ = vr;
    vr->data = parse(sb, v->id, text != NULL ? text : "{}");
    if (vr->data == NULL)
        return ck_err_oom(err, "pod view");
    json_t *d = vr->data;
    json_t *ips = json_object_get(d, "ips");
    vr->ips = calloc(json_array_size(ips) + 1, sizeof(*vr->ips));
    if (vr->ips == NULL || kv_list(json_object_get(d, "labels"), &vr->labels, &v->n_labels) < 0 ||
        kv_list(json_object_get(d, "annotations"), &vr->annotations, &v->n_annotations) < 0)
        return ck_err_oom(err, "pod view");
    for (size_t i = 0; i < json_array_size(ips); i++)
        if (json_string_value(json_array_get(ips, i)) != NULL)
            vr->ips[v->n_ips++] = json_string_value(json_array_get(ips, i));
    v->ips = vr->ips;
    v->labels = vr->labels;
    v->annotations = vr->annotations;
    v->ns_network = (int)json_integer_value(json_object_get(d, "ns_network"));
    v->ns_pid = (int)json_integer_value(json_object_get(d, "ns_pid"));
    v->ns_ipc = (int)json_integer_value(json_object_get(d, "ns_ipc"));
    v->ns_target_id = sb_str(d, "ns_target_id");
    v->netns = sb_str(d, "netns");
    v->cgroup_parent = sb_str(d, "cgroup_parent");
    v->hostname = sb_str(d, "hostname");
    v->log_directory = sb_str(d, "log_directory");
    v->pause_pid = (int)json_integer_value(json_object_get(d, "pause_pid"));
    return 0;
}

json_t *sb_record_of_view(const ck_sandbox_view *v)
{
    const view_record *vr = v->record_;
    return vr != NULL ? vr->data : NULL;
}

void sb_record_view_clear(ck_sandbox_view *v)
{
    view_record *vr = v->record_;
    if (vr == NULL)
        return;
    json_decref(vr->data);
    free(vr->ips);
    free(vr->labels);
    free(vr->annotations);
    free(vr);
    v->record_ = NULL;
}

static json_t *network_check(ck_sandboxes *sb, const char *id, const ck_cancel *cancel)
{
    ck_err e;
    ck_err_clear(&e);
    int rc = ck_sandbox_check_network(sb, id, cancel, &e);
    if (rc < 0)
        return json_pack("{s:s, s:s}", "result", "failed", "message", e.msg);
    return json_pack("{s:s}", "result", rc == 0 ? "ok" : "skipped");
}

/* The whole stored record (a view's parse lacks its CNI attachment); the
 * view's when the row cannot be read now. */
static json_t *whole_record(ck_sandboxes *sb, const ck_sandbox_view *v)
{
    _cleanup_pod_record_ ck_pod_record row = {0};
    json_t *d = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (sb_load(sb, v->id, &row, &d, &e) == 0)
        return d;
    return json_incref(sb_record_of_view(v));
}

char *ck_sandbox_verbose_info(ck_sandboxes *sb, const ck_sandbox_view *v, const ck_cancel *cancel)
{
    json_t *d = whole_record(sb, v);
    json_t *info =
        json_pack("{s:s, s:o*, s:s, s:o, s:s}", "id", v->id, "record", d, "runtime_handler", v->runtime_handler,
                  "network_check", network_check(sb, v->id, cancel), "state_reason", v->reason);
    char *text = info != NULL ? json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(info);
    return text;
}
