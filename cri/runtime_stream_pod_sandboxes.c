/*
 * StreamPodSandboxes: ListPodSandbox's answer, sent in batches on a server
 * stream.
 */
#include "cri/pod_view.h"
#include "cri/services.h"

static int send_pods(ck_call *call, void *arg, size_t from, size_t count, ck_err *err)
{
    Runtime__V1__StreamPodSandboxesResponse msg;
    runtime__v1__stream_pod_sandboxes_response__init(&msg);
    msg.pod_sandboxes = (Runtime__V1__PodSandbox **)arg + from;
    msg.n_pod_sandboxes = count;
    return ck_call_send(call, &msg.base, err);
}

int ck_handle_stream_pod_sandboxes(ck_call *call, const ProtobufCMessage *req, ck_err *err)
{
    const Runtime__V1__StreamPodSandboxesRequest *in = (const void *)req;
    Runtime__V1__PodSandbox **items = NULL;
    ck_sandbox_view *views = NULL;
    size_t n = 0, n_views = 0;
    if (ck_pod_list_items(call, in->filter, &items, &n, &views, &n_views, err) < 0)
        return -1;
    int rc = ck_call_send_batches(call, n, send_pods, items, err);
    ck_sandbox_views_free(views, n_views);
    return rc;
}
