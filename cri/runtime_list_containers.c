/*
 * ListContainers: every container, or those matching the filter (id or
 * unique prefix, pod id or prefix, state, labels). The answer goes out
 * packed: the kubelet asks every second, mostly while nothing changed, and
 * then gets the bytes of the last answer again (container_view.c).
 */
#include "cri/container_view.h"
#include "cri/services.h"

int ck_handle_list_containers(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListContainersRequest *in = (const void *)req;
    grpc_slice packed;
    if (ck_container_list_packed(call, in->filter, &packed, err) < 0)
        return -1;
    ck_call_reply_packed(call, packed);
    grpc_slice_unref(packed);
    *resp = NULL;
    return 0;
}
