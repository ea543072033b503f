/*
 * container_update: UpdateContainerResources. The spec in the bundle is
 * changed first (so a restart or an inspect sees the new limits), then the
 * runtime applies them to the cgroup, then the record says so.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "containers/containers_internal.h"
#include "containers/spec.h"

static int update_locked(ck_containers *cs, const char *id, const ck_container_resources *r, ck_err *err)
{
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    if (ct_load(cs, id, &row, &data, err) < 0)
        return -1;
    int rc = ct_refresh(cs, &row, data, err);
    if (rc >= 0 && row.state != CK_CONTAINER_CREATED && row.state != CK_CONTAINER_RUNNING)
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is not created or running: nothing to update", id);
    ct_paths p;
    ct_paths_init(cs, id, &p);
    char file[PATH_MAX];
    ck_oci_runtime rt;
    if (rc >= 0 && (ck_container_update_spec(p.dir, r, file, sizeof(file), err) < 0 ||
                    ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), &rt, err) < 0 ||
                    ck_oci_update(&rt, id, file, err) < 0))
        rc = -1;
    if (rc >= 0) {
        ct_record_set_resources(data, r);
        rc = ct_save(cs, &row, data, err);
    }
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
