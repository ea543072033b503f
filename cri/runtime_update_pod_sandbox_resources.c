/*
 * UpdatePodSandboxResources: the kubelet tells us the pod's new overhead and
 * resources after it resized the pod cgroup itself. The pause process lives
 * in that cgroup, so nothing needs moving: the values are recorded (shown by
 * verbose PodSandboxStatus) for the containers that come later.
 */
#include "cri/handlers.h"
#include "cri/services.h"
#include "sandbox/sandbox.h"

static void convert(const Runtime__V1__LinuxContainerResources *in, ck_sandbox_resources *out)
{
    out->set = in != NULL;
    if (in == NULL)
        return;
    out->cpu_period = in->cpu_period;
    out->cpu_quota = in->cpu_quota;
    out->cpu_shares = in->cpu_shares;
    out->memory_limit_in_bytes = in->memory_limit_in_bytes;
    out->cpuset_cpus = in->cpuset_cpus;
    out->cpuset_mems = in->cpuset_mems;
}

int ck_handle_update_pod_sandbox_resources(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                           ck_err *err)
{
    const Runtime__V1__UpdatePodSandboxResourcesRequest *in = (const void *)req;
    ck_sandbox_resources overhead, resources;
    convert(in->overhead, &overhead);
    convert(in->resources, &resources);
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_sandbox_update_resources(call->svc->sandboxes, in->pod_sandbox_id, &overhead, &resources, &cancel, err) < 0)
        return -1;
    Runtime__V1__UpdatePodSandboxResourcesResponse *r = CK_NEW(
        call, Runtime__V1__UpdatePodSandboxResourcesResponse, runtime__v1__update_pod_sandbox_resources_response__init);
    if (r == NULL)
        return ck_err_oom(err, "UpdatePodSandboxResources response");
    *resp = &r->base;
    return 0;
}
