/*
 * StopContainer: the stop signal, up to timeout seconds, then SIGKILL. Idempotent: OK for a
 * stopped or unknown container.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"

int ck_handle_stop_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__StopContainerRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_container_stop(call->svc->containers, in->container_id, in->timeout, &cancel, err) < 0)
        return -1;
    Runtime__V1__StopContainerResponse *r =
        CK_NEW(call, Runtime__V1__StopContainerResponse, runtime__v1__stop_container_response__init);
    if (r == NULL)
        return ck_err_oom(err, "StopContainer response");
    *resp = &r->base;
    return 0;
}
