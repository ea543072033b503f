/*
 * container_record: the `data` JSON of a container row, owned by this file
 * and versioned ("v"). Version 1 holds:
 *   image, user_specified_image     the ImageSpec as given
 *   image_id, image_ref             the image it resolved to, and the reference shown (a digest when known)
 *   log_path                        absolute ("" without a log)
 *   labels, annotations             objects of strings, as given
 *   mounts                          [{container_path, host_path, readonly, recursive_read_only,
 *                                     selinux_relabel, propagation, image}] as requested
 *   resources                       the LinuxContainerResources as given (absent: none)
 *   uid, gid, groups                the user the spec runs
 *   stop_signal                     a number
 *   runtime_handler                 the pod's handler
 *   stdin, stdin_once, tty          how the monitor holds its stdio (started only by StartContainer)
 *   name_key                        the reserved name
 *   rootfs                          where the overlay is mounted ("" once unmounted)
 *   init_pid, init_start_time, boot_id, memory_cgroup
 *                                   who the init is once started (common/proc.h), and its memory cgroup
 *                                   (read at exit for the OOM kill count); the cgroup alone when the init
 *                                   ended before it could be identified
 *   reason, message                 how it ended
 * A reader tolerates missing keys.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "containers/containers_internal.h"

static json_t *kv_json(const ck_kvs *kv)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < kv->len; i++)
        json_object_set_new(o, kv->items[i].key, json_string(kv->items[i].value));
    return o;
}

static json_t *mounts_json(const ck_container_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < cfg->n_mounts; i++) {
        const ck_mount_req *m = &cfg->mounts[i];
        json_array_append_new(a,
                              json_pack("{s:s, s:s, s:b, s:b, s:b, s:i, s:s}", "container_path",
                                        m->container_path ?: "", "host_path", m->host_path ?: "", "readonly",
                                        m->readonly, "recursive_read_only", m->recursive_read_only, "selinux_relabel",
                                        m->selinux_relabel, "propagation", m->propagation, "image", m->image ?: ""));
    }
    return a;
}

static json_t *resources_json(const ck_container_resources *r)
{
    json_t *huge = json_array();
    for (size_t i = 0; huge != NULL && i < r->n_hugepages; i++)
        json_array_append_new(huge, json_pack("{s:s, s:I}", "page_size", r->hugepages[i].page_size, "limit",
                                              (json_int_t)r->hugepages[i].limit));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "cpu_period", (json_int_t)r->cpu_period,
                     "cpu_quota", (json_int_t)r->cpu_quota, "cpu_shares", (json_int_t)r->cpu_shares,
                     "memory_limit_in_bytes", (json_int_t)r->memory_limit_in_bytes, "memory_swap_limit_in_bytes",
                     (json_int_t)r->memory_swap_limit_in_bytes, "oom_score_adj", (json_int_t)r->oom_score_adj,
                     "cpuset_cpus", r->cpuset_cpus ?: "", "cpuset_mems", r->cpuset_mems ?: "", "hugepages", huge,
                     "unified", kv_json(&r->unified));
}

json_t *ct_record_new(const ck_container_config *cfg, const char *log_path, const char *runtime_handler)
{
    json_t *d = json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "v", CT_RECORD_VERSION, "image", cfg->image,
                          "user_specified_image", cfg->user_specified_image ?: "", "log_path", log_path, "labels",
                          kv_json(&cfg->labels), "annotations", kv_json(&cfg->annotations), "mounts", mounts_json(cfg),
                          "runtime_handler", runtime_handler, "rootfs", "");
    if (d != NULL && cfg->has_resources)
        json_object_set_new(d, "resources", resources_json(&cfg->resources));
    if (d != NULL) {
        json_object_set_new(d, "stdin", json_boolean(cfg->stdin_open));
        json_object_set_new(d, "stdin_once", json_boolean(cfg->stdin_once));
        json_object_set_new(d, "tty", json_boolean(cfg->tty));
    }
    return d;
}

int ct_save(ck_containers *cs, const ck_container_record *row, json_t *data, ck_err *err)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (text == NULL)
        return ck_err_oom(err, "container record");
    ck_container_record r = *row;
    r.data = text;
    int rc = ck_store_container_put(cs->store, &r, err);
    free(text);
    return rc;
}

int ct_save_transition(ck_containers *cs, ck_container_record *row, json_t *data, ck_container_transition tr,
                       ck_err *err)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (text == NULL)
        return ck_err_oom(err, "container record");
    tr.data = text;
    tr.set |= CK_CONTAINER_SET_DATA;
    if (ck_store_container_set_state(cs->store, row->id, &tr, err) < 0) {
        free(text);
        return -1;
    }
    free(row->data);
    row->data = text;
    row->state = tr.state;
    if (tr.set & CK_CONTAINER_SET_STARTED)
        row->started_at_ns = tr.started_at_ns;
    if (tr.set & CK_CONTAINER_SET_FINISHED)
        row->finished_at_ns = tr.finished_at_ns;
    if (tr.set & CK_CONTAINER_SET_EXIT_CODE)
        row->exit_code = tr.exit_code;
    return 0;
}

int ct_load(ck_containers *cs, const char *id, ck_container_record *row, json_t **data, ck_err *err)
{
    if (ck_store_container_get(cs->store, id, row, err) < 0)
        return -1;
    json_error_t jerr;
    *data = json_loads(row->data != NULL ? row->data : "{}", 0, &jerr);
    if (*data == NULL) {
        /* A damaged record must not make the container impossible to
         * stop or remove: what is missing reads as unknown. */
        ck_warn("containers", "container %s: record is not JSON (%s): using what the row holds", id, jerr.text);
        *data = json_object();
        if (*data == NULL) {
            ck_container_record_clear(row);
            return ck_err_oom(err, "container record");
        }
    }
    return 0;
}

static const char *str_of(json_t *data, const char *key)
{
    const char *s = json_string_value(json_object_get(data, key));
    return s != NULL ? s : "";
}

void ct_record_set_image(json_t *data, const char *image_id, const char *image_ref)
{
    json_object_set_new(data, "image_id", json_string(image_id));
    json_object_set_new(data, "image_ref", json_string(image_ref));
}

void ct_record_set_resources(json_t *data, const ck_container_resources *r)
{
    json_object_set_new(data, "resources", resources_json(r));
}

void ct_record_set_user(json_t *data, const ck_oci_user *user)
{
    json_t *groups = json_array();
    for (size_t i = 0; groups != NULL && i < user->n_additional_gids; i++)
        json_array_append_new(groups, json_integer(user->additional_gids[i]));
    json_object_set_new(data, "uid", json_integer(user->uid));
    json_object_set_new(data, "gid", json_integer(user->gid));
    json_object_set_new(data, "groups", groups);
}

void ct_record_set_stop_signal(json_t *data, int sig)
{
    json_object_set_new(data, "stop_signal", json_integer(sig));
}

int ct_record_stop_signal(json_t *data)
{
    int sig = (int)json_integer_value(json_object_get(data, "stop_signal"));
    return sig > 0 ? sig : 15;
}

void ct_record_set_rootfs(json_t *data, const char *rootfs)
{
    json_object_set_new(data, "rootfs", json_string(rootfs));
}

const char *ct_record_rootfs(json_t *data)
{
    return str_of(data, "rootfs");
}

const char *ct_record_runtime_handler(json_t *data)
{
    return str_of(data, "runtime_handler");
}

const char *ct_record_name_key(json_t *data)
{
    return str_of(data, "name_key");
}

void ct_record_set_name_key(json_t *data, const char *key)
{
    json_object_set_new(data, "name_key", json_string(key));
}

void ct_record_set_init(json_t *data, const ck_proc_id *who, const char *memory_cgroup)
{
    if (who != NULL) {
        json_object_set_new(data, "init_pid", json_integer(who->pid));
        json_object_set_new(data, "init_start_time", json_integer((json_int_t)who->start_time));
        json_object_set_new(data, "boot_id", json_string(who->boot_id));
    }
    json_object_set_new(data, "memory_cgroup", json_string(memory_cgroup));
}

void ct_record_forget_init(json_t *data)
{
    json_object_del(data, "init_pid");
    json_object_del(data, "init_start_time");
    json_object_del(data, "boot_id");
    json_object_del(data, "memory_cgroup");
}

void ct_record_stdio(json_t *data, ck_oci_monitor_files *mon)
{
    snprintf(mon->container_log, sizeof(mon->container_log), "%s", str_of(data, "log_path"));
    mon->stdin_open = json_is_true(json_object_get(data, "stdin"));
    mon->stdin_once = json_is_true(json_object_get(data, "stdin_once"));
    mon->tty = json_is_true(json_object_get(data, "tty"));
}

bool ct_record_init(json_t *data, ck_proc_id *who)
{
    memset(who, 0, sizeof(*who));
    who->pid = (pid_t)json_integer_value(json_object_get(data, "init_pid"));
    who->start_time = (uint64_t)json_integer_value(json_object_get(data, "init_start_time"));
    snprintf(who->boot_id, sizeof(who->boot_id), "%s", str_of(data, "boot_id"));
    return who->pid > 0;
}

const char *ct_record_memory_cgroup(json_t *data)
{
    return str_of(data, "memory_cgroup");
}

void ct_record_set_end(json_t *data, const char *reason, const char *message)
{
    json_object_set_new(data, "reason", json_string(reason));
    json_object_set_new(data, "message", json_string(message));
}

const char *ct_state_name(int state)
{
    static const char *const names[] = {"created", "running", "exited", "unknown", "being created"};
    return state >= 0 && state <= CK_CONTAINER_CREATING ? names[state] : "unknown";
}

void ct_name_key(const char *pod_id, const char *name, uint32_t attempt, char *buf, size_t size)
{
    /* Length-prefixed, so no name can be read two ways. */
    snprintf(buf, size, "container:%zu:%s:%s:%u", strlen(name), name, pod_id, attempt);
}

/* ---- the view ---------------------------------------------------------------- */

/* What a view's fields point into, shared by the copies of a view (the
 * list cache's and each caller's): freed with its last reference. */
typedef struct view_record {
    atomic_int refs;
    char *id, *pod_id, *name;
    json_t *data;
    ck_kv *labels, *annotations;
    ck_mount_req *mounts;
    ck_hugepage_limit *hugepages;
    ck_kv *unified;
    uint32_t *groups;
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

static int view_mounts(view_record *vr, ck_container_view *v)
{
    json_t *a = json_object_get(vr->data, "mounts");
    vr->mounts = calloc(json_array_size(a) + 1, sizeof(*vr->mounts));
    if (vr->mounts == NULL)
        return -1;
    size_t i;
    json_t *m;
    json_array_foreach(a, i, m)
    {
        vr->mounts[i] = (ck_mount_req){
            .container_path = str_of(m, "container_path"),
            .host_path = str_of(m, "host_path"),
            .readonly = json_is_true(json_object_get(m, "readonly")),
            .recursive_read_only = json_is_true(json_object_get(m, "recursive_read_only")),
            .selinux_relabel = json_is_true(json_object_get(m, "selinux_relabel")),
            .propagation = (int)json_integer_value(json_object_get(m, "propagation")),
            .image = str_of(m, "image"),
        };
    }
    v->mounts = vr->mounts;
    v->n_mounts = json_array_size(a);
    return 0;
}

static int64_t int_of(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

static int view_resources(view_record *vr, ck_container_view *v)
{
    json_t *r = json_object_get(vr->data, "resources");
    if (!json_is_object(r))
        return 0;
    v->has_resources = true;
    ck_container_resources *o = &v->resources;
    o->cpu_period = int_of(r, "cpu_period");
    o->cpu_quota = int_of(r, "cpu_quota");
    o->cpu_shares = int_of(r, "cpu_shares");
    o->memory_limit_in_bytes = int_of(r, "memory_limit_in_bytes");
    o->memory_swap_limit_in_bytes = int_of(r, "memory_swap_limit_in_bytes");
    o->oom_score_adj = int_of(r, "oom_score_adj");
    o->cpuset_cpus = str_of(r, "cpuset_cpus");
    o->cpuset_mems = str_of(r, "cpuset_mems");
    json_t *huge = json_object_get(r, "hugepages");
    vr->hugepages = calloc(json_array_size(huge) + 1, sizeof(*vr->hugepages));
    size_t n_unified = 0;
    if (vr->hugepages == NULL || kv_list(json_object_get(r, "unified"), &vr->unified, &n_unified) < 0)
        return -1;
    size_t i;
    json_t *h;
    json_array_foreach(huge, i, h)
    {
        vr->hugepages[i] = (ck_hugepage_limit){str_of(h, "page_size"), (uint64_t)int_of(h, "limit")};
    }
    o->hugepages = vr->hugepages;
    o->n_hugepages = json_array_size(huge);
    o->unified = (ck_kvs){vr->unified, n_unified};
    return 0;
}

static int view_user(view_record *vr, ck_container_view *v)
{
    json_t *g = json_object_get(vr->data, "groups");
    vr->groups = calloc(json_array_size(g) + 1, sizeof(*vr->groups));
    if (vr->groups == NULL)
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(g, i, e)
    {
        vr->groups[i] = (uint32_t)json_integer_value(e);
    }
    v->uid = (uint32_t)int_of(vr->data, "uid");
    v->gid = (uint32_t)int_of(vr->data, "gid");
    v->groups = vr->groups;
    v->n_groups = json_array_size(g);
    return 0;
}

static void view_strings(json_t *d, ck_container_view *v)
{
    v->image = str_of(d, "image");
    v->user_specified_image = str_of(d, "user_specified_image");
    v->image_id = str_of(d, "image_id");
    v->image_ref = str_of(d, "image_ref");
    v->log_path = str_of(d, "log_path");
    v->reason = str_of(d, "reason");
    v->message = str_of(d, "message");
    v->runtime_handler = str_of(d, "runtime_handler");
    ck_proc_id who;
    v->pid = v->state == CK_CONTAINER_RUNNING && ct_record_init(d, &who) ? (int)who.pid : 0;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

int ct_record_view(const ck_container_record *row, ck_container_view *v, ck_err *err)
{
    memset(v, 0, sizeof(*v));
    view_record *vr = calloc(1, sizeof(*vr));
    if (vr == NULL)
        return ck_err_oom(err, "container view");
    atomic_init(&vr->refs, 1);
    v->record_ = vr;
    v->id = vr->id = dup_or_empty(row->id);
    v->pod_id = vr->pod_id = dup_or_empty(row->pod_id);
    v->name = vr->name = dup_or_empty(row->name);
    if (v->id == NULL || v->pod_id == NULL || v->name == NULL)
        return ck_err_oom(err, "container view");
    v->attempt = row->attempt;
    v->state = row->state == CK_CONTAINER_CREATING ? CK_CONTAINER_UNKNOWN : row->state;
    v->created_at_ns = row->created_at_ns;
    /* A CREATED row's started_at_ns only says a start is under way. */
    v->started_at_ns = row->state == CK_CONTAINER_CREATED ? 0 : row->started_at_ns;
    v->finished_at_ns = row->finished_at_ns;
    v->exit_code = row->exit_code;
    json_error_t jerr;
    vr->data = json_loads(row->data != NULL ? row->data : "{}", 0, &jerr);
    if (vr->data == NULL) {
        ck_warn("containers", "container %s: record is not JSON (%s): shown without its details", row->id, jerr.text);
        vr->data = json_object();
        if (vr->data == NULL)
            return ck_err_oom(err, "container view");
    }
    if (kv_list(json_object_get(vr->data, "labels"), &vr->labels, &v->n_labels) < 0 ||
        kv_list(json_object_get(vr->data, "annotations"), &vr->annotations, &v->n_annotations) < 0 ||
        view_mounts(vr, v) < 0 || view_resources(vr, v) < 0 || view_user(vr, v) < 0)
        return ck_err_oom(err, "container view");
    v->labels = vr->labels;
    v->annotations = vr->annotations;
    view_strings(vr->data, v);
    return 0;
}

json_t *ct_record_of_view(const ck_container_view *v)
{
    const view_record *vr = v->record_;
    return vr != NULL ? vr->data : NULL;
}

void ct_view_share(const ck_container_view *v, ck_container_view *copy)
{
    *copy = *v;
    view_record *vr = v->record_;
    if (vr != NULL)
        atomic_fetch_add_explicit(&vr->refs, 1, memory_order_relaxed);
}

void ck_container_view_clear(ck_container_view *v)
{
    view_record *vr = v->record_;
    if (vr != NULL && atomic_fetch_sub_explicit(&vr->refs, 1, memory_order_acq_rel) == 1) {
        free(vr->id);
        free(vr->pod_id);
        free(vr->name);
        json_decref(vr->data);
        free(vr->labels);
        free(vr->annotations);
        free(vr->mounts);
        free(vr->hugepages);
        free(vr->unified);
        free(vr->groups);
        free(vr);
    }
    memset(v, 0, sizeof(*v));
}

void ck_container_views_free(ck_container_view *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        ck_container_view_clear(&v[i]);
    free(v);
}
