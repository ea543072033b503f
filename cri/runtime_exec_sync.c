/*
 * ExecSync: a command in a running container, its exit code and its exact
 * stdout and stderr. The request's timeout (seconds, 0 = none) is enforced
 * here, not by the client's deadline: the kubelet's exec probes rely on it.
 */
#include <limits.h>
#include <string.h>

#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"

static ProtobufCBinaryData bytes_of(ck_call *call, const char *data, size_t len, bool *ok)
{
    ProtobufCBinaryData b = {0, NULL};
    if (len == 0)
        return b;
    b.data = ck_call_alloc(call, len);
    if (b.data == NULL) {
        *ok = false;
        return b;
    }
    memcpy(b.data, data, len);
    b.len = len;
    return b;
}

int ck_handle_exec_sync(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ExecSyncRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    if (in->timeout < 0 || in->timeout > INT_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "ExecSync: timeout %lld is out of range", (long long)in->timeout);
    const char **argv = ck_call_alloc(call, (in->n_cmd + 1) * sizeof(*argv));
    if (argv == NULL)
        return ck_err_oom(err, "ExecSync request");
    for (size_t i = 0; i < in->n_cmd; i++)
        argv[i] = in->cmd[i] != NULL ? in->cmd[i] : "";
    argv[in->n_cmd] = NULL;
    ck_cancel cancel = ck_call_cancel(call);
    ck_exec_result res = {0};
    if (ck_container_exec_sync(call->svc->containers, in->container_id, argv, (int)in->timeout, &cancel, &res, err) <
        0) {
        ck_exec_result_clear(&res);
        return -1;
    }
    Runtime__V1__ExecSyncResponse *r =
        CK_NEW(call, Runtime__V1__ExecSyncResponse, runtime__v1__exec_sync_response__init);
    bool ok = r != NULL;
    if (ok) {
        r->stdout = bytes_of(call, res.out, res.out_len, &ok);
        r->stderr = bytes_of(call, res.err, res.err_len, &ok);
        r->exit_code = res.exit_code;
    }
    ck_exec_result_clear(&res);
    if (!ok)
        return ck_err_oom(err, "ExecSync response");
    *resp = &r->base;
    return 0;
}
