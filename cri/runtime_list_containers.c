/*
 * ListContainers: every container, or those matching the filter (id or
 * unique prefix, pod id or prefix, state, labels).
 */
#include "cri/container_view.h"
#include "cri/services.h"

int ck_handle_list_containers(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListContainersRequest *in = (const void *)req;
    Runtime__V1__ListContainersResponse *r =
        CK_NEW(call, Runtime__V1__ListContainersResponse, runtime__v1__list_containers_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ListContainers response");
    if (ck_container_list_items(call, in->filter, &r->containers, &r->n_containers, err) < 0)
        return -1;
    *resp = &r->base;
    return 0;
}
