/*
 * container_update: UpdateContainerResources. The request is merged into
 * the container's resources (a field left 0 keeps its value), the spec in
 * the bundle changed, the runtime applies it to the cgroup (the old spec
 * comes back if it refuses), then the record says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "containers/containers_internal.h"
#include "containers/spec.h"

/* containerd's rule: a field left 0 keeps the container's value, so a
 * partial update (crictl update --memory) leaves the rest as it was. */
static ck_container_resources merged(const ck_container_view *v, const ck_container_resources *r)
{
    ck_container_resources m = {0};
    if (v->has_resources)
        m = v->resources;
#define KEEP_UNLESS_SET(field) \
    if (r->field != 0)         \
    m.field = r->field
    KEEP_UNLESS_SET(cpu_period);
    KEEP_UNLESS_SET(cpu_quota);
    KEEP_UNLESS_SET(cpu_shares);
    KEEP_UNLESS_SET(memory_limit_in_bytes);
    KEEP_UNLESS_SET(memory_swap_limit_in_bytes);
    KEEP_UNLESS_SET(oom_score_adj);
#undef KEEP_UNLESS_SET
    if (r->cpuset_cpus != NULL && r->cpuset_cpus[0] != '\0')
        m.cpuset_cpus = r->cpuset_cpus;
    if (r->cpuset_mems != NULL && r->cpuset_mems[0] != '\0')
        m.cpuset_mems = r->cpuset_mems;
    if (r->n_hugepages > 0) {
        m.hugepages = r->hugepages;
        m.n_hugepages = r->n_hugepages;
    }
    if (r->unified.len > 0)
        m.unified = r->unified;
    return m;
}

/* The spec is changed before the runtime applies it (runc reads the
 * resources file it writes); when the runtime refuses, the old spec comes
 * back, so config.json never claims limits the cgroup does not have. A
 * container never started has no cgroup yet: its spec alone changes, and
 * the start applies it. */
static int apply(ck_containers *cs, const ck_container_record *row, json_t *data, const ck_container_resources *m,
                 ck_err *err)
{
    const char *id = row->id;
    ct_paths p;
    ct_paths_init(cs, id, &p);
    char spec[PATH_MAX], file[PATH_MAX];
    snprintf(spec, sizeof(spec), "%s/config.json", p.dir);
    json_t *old = json_load_file(spec, 0, NULL);
    if (old == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "container %s: %s cannot be read", id, spec);
    ck_oci_runtime rt;
    int rc = 0;
    if (ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, err) < 0 ||
        ck_container_update_spec(p.dir, m, file, sizeof(file), err) < 0)
        rc = -1;
    else if (row->state == CK_CONTAINER_RUNNING && ck_oci_update(&rt, id, file, err) < 0) {
        rc = -1;
        char *text = json_dumps(old, JSON_INDENT(1) | JSON_SORT_KEYS);
        ck_err e;
        ck_err_clear(&e);
        if (text == NULL || ck_write_file_atomic(spec, text, strlen(text), 0600, &e) < 0)
            ck_warn("containers", "container %s: put back %s after a failed update: %s", id, spec,
                    text == NULL ? "out of memory" : e.msg);
        free(text);
    }
    json_decref(old);
    return rc;
}

static int update_locked(ck_containers *cs, const char *id, const ck_container_resources *r, ck_err *err)
{
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    if (ct_load(cs, id, &row, &data, err) < 0)
        return -1;
    ck_container_view v = {0};
    int rc = ct_refresh(cs, &row, data, err);
    if (rc >= 0 && row.state != CK_CONTAINER_CREATED && row.state != CK_CONTAINER_RUNNING)
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is not created or running: nothing to update", id);
    if (rc >= 0)
        rc = ct_record_view(&row, &v, err);
    if (rc >= 0) {
        ck_container_resources m = merged(&v, r);
        rc = apply(cs, &row, data, &m, err);
        if (rc == 0) {
            ct_record_set_resources(data, &m);
            rc = ct_save(cs, &row, data, err);
        }
    }
    ck_container_view_clear(&v);
    json_decref(data);
    return rc < 0 ? -1 : 0;
}

int ck_container_update_resources(ck_containers *cs, const char *id, const ck_container_resources *r,
                                  const ck_cancel *cancel, ck_err *err)
{
    char full[65];
    if (ct_resolve_id(cs, id, full, sizeof(full), err) < 0 || ct_lock(cs, full, cancel, err) < 0)
        return -1;
    int rc = update_locked(cs, full, r, err);
    ct_unlock(cs, full);
    if (rc < 0)
        return ck_err_wrap(err, "UpdateContainerResources %.12s", full);
    return 0;
}
