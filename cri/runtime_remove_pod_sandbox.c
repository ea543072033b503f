/*
 * RemovePodSandbox: removes the pod's containers (stopped at once if they
 * still run), then stops the pod if needed and removes it; idempotent, OK
 * for an unknown id.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"
#include "sandbox/sandbox.h"

int ck_handle_remove_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__RemovePodSandboxRequest *in = (const void *)req;
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_containers_remove_pod(call->svc->containers, in->pod_sandbox_id, &cancel, err) < 0 ||
        ck_sandbox_remove(call->svc->sandboxes, in->pod_sandbox_id, &cancel, err) < 0)
        return -1;
    Runtime__V1__RemovePodSandboxResponse *r =
        CK_NEW(call, Runtime__V1__RemovePodSandboxResponse, runtime__v1__remove_pod_sandbox_response__init);
    if (r == NULL)
        return ck_err_oom(err, "RemovePodSandbox response");
    *resp = &r->base;
    return 0;
}
