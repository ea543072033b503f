/*
 * StopPodSandbox: the pod's containers first, then the pod. The kubelet has
 * normally stopped the containers already, each with its own grace, so
 * those left are killed at once, as containerd does: a grace here would
 * add up per container and make `crictl rmp -f` (2 s timeout) fail on a
 * container that ignores SIGTERM. Idempotent, OK for an unknown id.
 * Waiting for another call on the same pod ends with this call.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"
#include "sandbox/sandbox.h"

enum { POD_STOP_GRACE_S = 0 };

int ck_handle_stop_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__StopPodSandboxRequest *in = (const void *)req;
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_containers_stop_pod(call->svc->containers, in->pod_sandbox_id, POD_STOP_GRACE_S, &cancel, err) < 0 ||
        ck_sandbox_stop(call->svc->sandboxes, in->pod_sandbox_id, &cancel, err) < 0)
        return -1;
    Runtime__V1__StopPodSandboxResponse *r =
        CK_NEW(call, Runtime__V1__StopPodSandboxResponse, runtime__v1__stop_pod_sandbox_response__init);
    if (r == NULL)
        return ck_err_oom(err, "StopPodSandbox response");
    *resp = &r->base;
    return 0;
}
