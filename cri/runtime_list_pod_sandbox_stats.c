/*
 * ListPodSandboxStats: the stats of every READY pod the filter matches (id
 * or id prefix, labels); a pod removed meanwhile is left out.
 */
#include "cri/pod_view.h"
#include "cri/services.h"

int ck_pod_stats_collect(ck_call *call, const Runtime__V1__PodSandboxStatsFilter *pf,
                         Runtime__V1__PodSandboxStats ***out, size_t *n_out, ck_err *err)
{
    ck_sandbox_filter f = {0};
    if (pf != NULL) {
        f.id = pf->id;
        ck_kv *kv = ck_call_alloc(call, (pf->n_label_selector + 1) * sizeof(*kv));
        if (kv == NULL)
            return ck_err_oom(err, "stats filter");
        for (size_t i = 0; i < pf->n_label_selector; i++)
            kv[i] = (ck_kv){pf->label_selector[i]->key ?: "", pf->label_selector[i]->value ?: ""};
        f.labels = (ck_kvs){kv, pf->n_label_selector};
    }
    f.has_state = true;
    f.state = CK_SANDBOX_READY;
    ck_sandbox_view *views = NULL;
    size_t n = 0;
    if (ck_sandbox_list(call->svc->sandboxes, &f, &views, &n, err) < 0)
        return -1;
    int rc = 0;
    *n_out = 0;
    if ((*out = ck_call_alloc(call, (n + 1) * sizeof(**out))) == NULL)
        rc = ck_err_oom(err, "stats list");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ck_err one;
        ck_err_clear(&one);
        Runtime__V1__PodSandboxStats *s = ck_pod_stats(call, &views[i], &one);
        if (s != NULL)
            (*out)[(*n_out)++] = s;
        else if (one.kind != CK_E_NOT_FOUND) /* removed meanwhile: skip */
            rc = ck_err_copy(err, &one);
    }
    ck_sandbox_views_free(views, n);
    return rc;
}

int ck_handle_list_pod_sandbox_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListPodSandboxStatsRequest *in = (const void *)req;
    Runtime__V1__ListPodSandboxStatsResponse *r =
        CK_NEW(call, Runtime__V1__ListPodSandboxStatsResponse, runtime__v1__list_pod_sandbox_stats_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ListPodSandboxStats response");
    if (ck_pod_stats_collect(call, in->filter, &r->stats, &r->n_stats, err) < 0)
        return -1;
    *resp = &r->base;
    return 0;
}
