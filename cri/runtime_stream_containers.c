/*
 * StreamContainers: ListContainers' answer, sent in batches on a server
 * stream.
 */
#include "cri/container_view.h"
#include "cri/services.h"

static int send_containers(ck_call *call, void *arg, size_t from, size_t count, ck_err *err)
{
    Runtime__V1__StreamContainersResponse msg;
    runtime__v1__stream_containers_response__init(&msg);
    msg.containers = (Runtime__V1__Container **)arg + from;
    msg.n_containers = count;
    return ck_call_send(call, &msg.base, err);
}

int ck_handle_stream_containers(ck_call *call, const ProtobufCMessage *req, ck_err *err)
{
    const Runtime__V1__StreamContainersRequest *in = (const void *)req;
    Runtime__V1__Container **items = NULL;
    ck_container_view *views = NULL;
    size_t n = 0, n_views = 0;
    if (ck_container_list_items(call, in->filter, &items, &n, &views, &n_views, err) < 0)
        return -1;
    int rc = ck_call_send_batches(call, n, send_containers, items, err);
    ck_container_views_free(views, n_views);
    return rc;
}
