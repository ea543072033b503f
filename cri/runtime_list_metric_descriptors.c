/*
 * ListMetricDescriptors: the descriptor of each metric cricket measures
 * (the table is in pod_metrics.c).
 */
#include "cri/pod_metrics.h"
#include "cri/services.h"

int ck_handle_list_metric_descriptors(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    (void)req;
    Runtime__V1__ListMetricDescriptorsResponse *r =
        CK_NEW(call, Runtime__V1__ListMetricDescriptorsResponse, runtime__v1__list_metric_descriptors_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ListMetricDescriptors response");
    if (ck_pod_metric_descriptors(call, &r->descriptors, &r->n_descriptors, err) < 0)
        return -1;
    *resp = &r->base;
    return 0;
}
