/*
 * StartContainer: runs a created container's process.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"

int ck_handle_start_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__StartContainerRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_container_start(call->svc->containers, in->container_id, &cancel, err) < 0)
        return -1;
    Runtime__V1__StartContainerResponse *r =
        CK_NEW(call, Runtime__V1__StartContainerResponse, runtime__v1__start_container_response__init);
    if (r == NULL)
        return ck_err_oom(err, "StartContainer response");
    *resp = &r->base;
    return 0;
}
