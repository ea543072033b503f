/*
 * StreamPodSandboxMetrics: ListPodSandboxMetrics' answer, sent in batches
 * on a server stream.
 */
#include "cri/pod_metrics.h"
#include "cri/services.h"

static int send_metrics(ck_call *call, void *arg, size_t from, size_t count, ck_err *err)
{
    Runtime__V1__StreamPodSandboxMetricsResponse msg;
    runtime__v1__stream_pod_sandbox_metrics_response__init(&msg);
    msg.pod_sandbox_metrics = (Runtime__V1__PodSandboxMetrics **)arg + from;
    msg.n_pod_sandbox_metrics = count;
    return ck_call_send(call, &msg.base, err);
}

int ck_handle_stream_pod_sandbox_metrics(ck_call *call, const ProtobufCMessage *req, ck_err *err)
{
    (void)req;
    Runtime__V1__PodSandboxMetrics **items = NULL;
    size_t n = 0;
    if (ck_pod_metrics_collect(call, &items, &n, err) < 0)
        return -1;
    return ck_call_send_batches(call, n, send_metrics, items, err);
}
