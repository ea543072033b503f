/*
 * container_view: what the kubelet reads of containers (status, list,
 * verbose info), the entry points of stop, remove and log reopening,
 * which take the container's lock, and the way to a running container's
 * monitor for attach and resize (the streaming server's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "containers/containers_internal.h"

int ck_container_stop(ck_containers *cs, const char *id, int64_t timeout_s, const ck_cancel *cancel, ck_err *err)
{
    char full[65];
    ck_err e;
    ck_err_clear(&e);
    if (ct_resolve_id(cs, id, full, sizeof(full), &e) < 0) {
        if (e.kind == CK_E_NOT_FOUND)
            return 0; /* idempotent: the kubelet may stop what is gone */
        ck_err_copy(err, &e);
        return -1;
    }
    if (ct_lock(cs, full, cancel, err) < 0)
        return -1;
    int rc = ct_stop_locked(cs, full, timeout_s, err);
    ct_unlock(cs, full);
    return rc;
}

int ck_container_remove(ck_containers *cs, const char *id, const ck_cancel *cancel, ck_err *err)
{
    char full[65];
    ck_err e;
    ck_err_clear(&e);
    if (ct_resolve_id(cs, id, full, sizeof(full), &e) < 0) {
        if (e.kind == CK_E_NOT_FOUND)
            return 0;
        ck_err_copy(err, &e);
        return -1;
    }
    if (ct_lock(cs, full, cancel, err) < 0)
        return -1;
    int rc = ct_remove_locked(cs, full, err);
    ct_unlock(cs, full);
    return rc;
}

/* The view of row, brought up to date with its processes, its record
 * parsed once: a RUNNING container's refresh reads the view's own data (a
 * CREATED one's needs none unless it exited), and the view is built again
 * only when the refresh changed the row or failed (it may have touched the
 * data the view points into). *refresh_err gets a failed refresh's cause. */
static int refreshed_view(ck_containers *cs, ck_container_record *row, ck_container_view *v, ck_err *refresh_err,
                          ck_err *err)
{
    if (ct_record_view(row, v, err) < 0) {
        ck_container_view_clear(v);
        return -1;
    }
    json_t *data = row->state == CK_CONTAINER_RUNNING ? ct_record_of_view(v) : NULL;
    if (ct_refresh(cs, row, data, refresh_err) == 0)
        return 0;
    ck_container_view_clear(v);
    if (ct_record_view(row, v, err) < 0) {
        ck_container_view_clear(v);
        return -1;
    }
    return 0;
}

int ck_container_status(ck_containers *cs, const char *id, ck_container_view *out, ck_err *err)
{
    char full[65];
    if (ct_resolve_id(cs, id, full, sizeof(full), err) < 0)
        return -1;
    _cleanup_container_record_ ck_container_record row = {0};
    if (ck_store_container_get(cs->store, full, &row, err) < 0)
        return -1;
    if (row.state == CK_CONTAINER_CREATING)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "container %s is still being created", full);
    ck_err refresh;
    ck_err_clear(&refresh);
    if (refreshed_view(cs, &row, out, &refresh, err) < 0)
        return -1;
    if (refresh.kind != CK_E_NONE) {
        ck_container_view_clear(out);
        return ck_err_copy(err, &refresh);
    }
    return 0;
}

static bool labels_match(const ck_container_view *v, const ck_kvs *want)
{
    for (size_t i = 0; i < want->len; i++) {
        bool found = false;
        for (size_t j = 0; j < v->n_labels && !found; j++)
            found = strcmp(v->labels[j].key, want->items[i].key) == 0 &&
                    strcmp(v->labels[j].value, want->items[i].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return prefix == NULL || prefix[0] == '\0' || strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool view_passes(const ck_container_view *v, const void *arg)
{
    const ck_container_filter *f = arg;
    return has_prefix(v->id, f->id) && has_prefix(v->pod_id, f->pod_id) && (!f->has_state || v->state == f->state) &&
           labels_match(v, &f->labels);
}

int ck_container_list(ck_containers *cs, const ck_container_filter *f, ck_container_view **out, size_t *n, ck_err *err)
{
    uint64_t version = 0;
    return ct_list_views(cs, f != NULL ? view_passes : NULL, f, 0, out, n, &version, err);
}

int ck_container_list_since(ck_containers *cs, const ck_container_filter *f, uint64_t known, ck_container_view **out,
                            size_t *n, uint64_t *version, ck_err *err)
{
    return ct_list_views(cs, f != NULL ? view_passes : NULL, f, known, out, n, version, err);
}

static json_t *spec_of(ck_containers *cs, const char *id)
{
    ct_paths p;
    ct_paths_init(cs, id, &p);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", p.dir);
    return json_load_file(path, 0, NULL);
}

char *ck_container_verbose_info(ck_containers *cs, const ck_container_view *v)
{
    json_t *spec = spec_of(cs, v->id);
    json_t *info = json_pack("{s:s, s:s, s:i, s:s, s:O*, s:o*}", "id", v->id, "sandboxID", v->pod_id, "pid", v->pid,
                             "runtimeHandler", v->runtime_handler, "record", ct_record_of_view(v), "runtimeSpec", spec);
    char *text = info != NULL ? json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(info);
    return text;
}

int ck_container_reopen_log(ck_containers *cs, const char *id, ck_err *err)
{
    ck_container_view v;
    if (ck_container_status(cs, id, &v, err) < 0)
        return -1;
    int rc = 0;
    if (v.state != CK_CONTAINER_RUNNING)
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is not running: its log cannot be reopened", v.id);
    else if (v.log_path[0] == '\0')
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s has no log", v.id);
    if (rc == 0) {
        ct_paths p;
        ct_paths_init(cs, v.id, &p);
        snprintf(p.mon.container_log, sizeof(p.mon.container_log), "%s", v.log_path);
        if (ck_oci_reopen_log(&p.mon, err) < 0)
            rc = ck_err_wrap(err, "reopen the log of container %s", v.id);
    }
    ck_container_view_clear(&v);
    return rc;
}

/* The monitor files of a running container (id or unique prefix): what
 * attach and resize speak to. */
static int running_monitor(ck_containers *cs, const char *id, const char *what, ct_paths *p, ck_err *err)
{
    ck_container_view v;
    if (ck_container_status(cs, id, &v, err) < 0)
        return -1;
    int rc = 0;
    if (v.state != CK_CONTAINER_RUNNING)
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is not running: cannot %s", v.id, what);
    else
        ct_paths_init(cs, v.id, p);
    ck_container_view_clear(&v);
    return rc;
}

int ck_container_attach(ck_containers *cs, const char *id, ck_err *err)
{
    ct_paths p;
    if (running_monitor(cs, id, "attach", &p, err) < 0)
        return -1;
    return ck_oci_attach_connect(&p.mon, err);
}

int ck_container_monitor_files(ck_containers *cs, const char *id, ck_oci_monitor_files *out, ck_err *err)
{
    ct_paths p;
    if (running_monitor(cs, id, "reach its monitor", &p, err) < 0)
        return -1;
    *out = p.mon;
    return 0;
}

int ck_container_resize(ck_containers *cs, const char *id, unsigned height, unsigned width, ck_err *err)
{
    ct_paths p;
    if (running_monitor(cs, id, "resize its terminal", &p, err) < 0)
        return -1;
    return ck_oci_resize(&p.mon, height, width, err);
}
