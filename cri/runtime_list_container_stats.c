/*
 * ListContainerStats: the stats of every container (created, running and
 * exited, as containerd lists them), or of those the filter matches: id or
 * unique prefix, pod id or prefix, labels (every pair must match).
 */
#include "cri/container_view.h"
#include "cri/services.h"

int ck_container_stats_collect(ck_call *call, const Runtime__V1__ContainerStatsFilter *filter,
                               Runtime__V1__ContainerStats ***out, size_t *n_out, ck_err *err)
{
    if (filter == NULL)
        return ck_container_stats_items(call, NULL, out, n_out, err);
    ck_kv *kv = ck_call_alloc(call, (filter->n_label_selector + 1) * sizeof(*kv));
    if (kv == NULL)
        return ck_err_oom(err, "container stats filter");
    for (size_t i = 0; i < filter->n_label_selector; i++)
        kv[i] = (ck_kv){filter->label_selector[i]->key ?: "", filter->label_selector[i]->value ?: ""};
    ck_container_filter f = {
        .id = filter->id,
        .pod_id = filter->pod_sandbox_id,
        .labels = {kv, filter->n_label_selector},
    };
    return ck_container_stats_items(call, &f, out, n_out, err);
}

int ck_handle_list_container_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListContainerStatsRequest *in = (const void *)req;
    Runtime__V1__ListContainerStatsResponse *r =
        CK_NEW(call, Runtime__V1__ListContainerStatsResponse, runtime__v1__list_container_stats_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ListContainerStats response");
    if (ck_container_stats_collect(call, in->filter, &r->stats, &r->n_stats, err) < 0)
        return -1;
    *resp = &r->base;
    return 0;
}
