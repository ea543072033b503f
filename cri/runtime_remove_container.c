/*
 * RemoveContainer: force-stops a running container and forgets it. Idempotent: OK
 * for an unknown id.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"

int ck_handle_remove_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__RemoveContainerRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_container_remove(call->svc->containers, in->container_id, &cancel, err) < 0)
        return -1;
    Runtime__V1__RemoveContainerResponse *r =
        CK_NEW(call, Runtime__V1__RemoveContainerResponse, runtime__v1__remove_container_response__init);
    if (r == NULL)
        return ck_err_oom(err, "RemoveContainer response");
    *resp = &r->base;
    return 0;
}
