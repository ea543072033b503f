/*
 * ListPodSandboxMetrics: the samples of every ready pod and its containers.
 */
#include "cri/pod_metrics.h"
#include "cri/services.h"

int ck_handle_list_pod_sandbox_metrics(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    (void)req;
    Runtime__V1__ListPodSandboxMetricsResponse *r =
        CK_NEW(call, Runtime__V1__ListPodSandboxMetricsResponse, runtime__v1__list_pod_sandbox_metrics_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ListPodSandboxMetrics response");
    if (ck_pod_metrics_collect(call, &r->pod_metrics, &r->n_pod_metrics, err) < 0)
        return -1;
    *resp = &r->base;
    return 0;
}
