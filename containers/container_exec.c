/*
 * container_exec: ExecSync and the streamed exec. The command runs through
 * the runtime's `exec` in a running container. ExecSync's output comes back
 * exactly, and a timeout leaves nothing of it running (oci/exec.c); the
 * streamed exec is started with the streaming server's descriptors and left
 * to it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "containers/containers_internal.h"

/* The runtime of a running container, from its record. */
static int running_runtime(ck_containers *cs, const char *id, char *full, size_t size, ck_oci_runtime *rt, ck_err *err)
{
    if (ct_resolve_id(cs, id, full, size, err) < 0)
        return -1;
    _cleanup_container_record_ ck_container_record row = {0};
    json_t *data = NULL;
    if (ct_load(cs, full, &row, &data, err) < 0)
        return -1;
    int rc = ct_refresh(cs, &row, data, err);
    if (rc >= 0 && row.state != CK_CONTAINER_RUNNING) {
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "container %s is %s, not running", full, ct_state_name(row.state));
    }
    if (rc >= 0)
        rc = ck_oci_runtime_get(cs->cfg, ct_record_runtime_handler(data), rt, err);
    json_decref(data);
    return rc < 0 ? -1 : 0;
}

int ck_container_exec_sync(ck_containers *cs, const char *id, const char *const *argv, int timeout_s,
                           const ck_cancel *cancel, ck_exec_result *out, ck_err *err)
{
    if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "ExecSync: cmd is required");
    if (timeout_s < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "ExecSync: timeout %d is negative", timeout_s);
    char full[65];
    ck_oci_runtime rt;
    if (running_runtime(cs, id, full, sizeof(full), &rt, err) < 0)
        return -1;
    if (ck_oci_exec_sync(&rt, full, argv, timeout_s, CK_EXEC_SYNC_OUTPUT_CAP, cancel, out, err) < 0)
        return ck_err_wrap(err, "exec %s in container %.12s", argv[0], full);
    return 0;
}

int ck_container_check_running(ck_containers *cs, const char *id, char *full, size_t size, ck_err *err)
{
    ck_oci_runtime rt;
    return running_runtime(cs, id, full, size, &rt, err);
}

int ck_container_exec_start(ck_containers *cs, const char *id, const char *const *argv, bool tty, const int stdio[3],
                            ck_container_exec *out, ck_err *err)
{
    if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "Exec: cmd is required");
    if (running_runtime(cs, id, out->id, sizeof(out->id), &out->rt, err) < 0)
        return -1;
    if (ck_oci_exec_start(&out->rt, out->id, argv, tty, stdio, &out->proc, err) < 0)
        return ck_err_wrap(err, "exec %s in container %.12s", argv[0], out->id);
    return 0;
}
