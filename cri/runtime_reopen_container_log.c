/*
 * ReopenContainerLog: the container's monitor opens its log path anew; returns once
 * the path exists again (the kubelet has renamed the old file to rotate it).
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"

int ck_handle_reopen_container_log(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ReopenContainerLogRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    if (ck_container_reopen_log(call->svc->containers, in->container_id, err) < 0)
        return -1;
    Runtime__V1__ReopenContainerLogResponse *r =
        CK_NEW(call, Runtime__V1__ReopenContainerLogResponse, runtime__v1__reopen_container_log_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ReopenContainerLog response");
    *resp = &r->base;
    return 0;
}
