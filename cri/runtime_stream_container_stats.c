/*
 * StreamContainerStats: ListContainerStats' answer, sent in batches on a
 * server stream.
 */
#include "cri/container_view.h"
#include "cri/services.h"

static int send_stats(ck_call *call, void *arg, size_t from, size_t count, ck_err *err)
{
    Runtime__V1__StreamContainerStatsResponse msg;
    runtime__v1__stream_container_stats_response__init(&msg);
    msg.container_stats = (Runtime__V1__ContainerStats **)arg + from;
    msg.n_container_stats = count;
    return ck_call_send(call, &msg.base, err);
}

int ck_handle_stream_container_stats(ck_call *call, const ProtobufCMessage *req, ck_err *err)
{
    const Runtime__V1__StreamContainerStatsRequest *in = (const void *)req;
    Runtime__V1__ContainerStats **items = NULL;
    size_t n = 0;
    if (ck_container_stats_collect(call, in->filter, &items, &n, err) < 0)
        return -1;
    return ck_call_send_batches(call, n, send_stats, items, err);
}
