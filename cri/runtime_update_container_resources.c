/*
 * UpdateContainerResources: new cgroup limits for a created or running
 * container (Linux resources; Windows ones are refused).
 */
#include "cri/container_view.h"
#include "cri/services.h"

int ck_handle_update_container_resources(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                         ck_err *err)
{
    const Runtime__V1__UpdateContainerResourcesRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    if (in->linux == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "UpdateContainerResources: linux resources are required");
    ck_container_resources r;
    if (ck_container_resources_from_pb(call, in->linux, &r) < 0)
        return ck_err_oom(err, "UpdateContainerResources request");
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_container_update_resources(call->svc->containers, in->container_id, &r, &cancel, err) < 0)
        return -1;
    Runtime__V1__UpdateContainerResourcesResponse *o = CK_NEW(call, Runtime__V1__UpdateContainerResourcesResponse,
                                                              runtime__v1__update_container_resources_response__init);
    if (o == NULL)
        return ck_err_oom(err, "UpdateContainerResources response");
    *resp = &o->base;
    return 0;
}
