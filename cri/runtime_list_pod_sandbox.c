/*
 * ListPodSandbox: every pod, or those matching the filter (id or unique id
 * prefix, state, labels).
 */
#include "cri/pod_view.h"
#include "cri/services.h"

static Runtime__V1__PodSandbox *entry(ck_call *call, const ck_sandbox_view *v)
{
    Runtime__V1__PodSandbox *p = CK_NEW(call, Runtime__V1__PodSandbox, runtime__v1__pod_sandbox__init);
    if (p == NULL)
        return NULL;
    p->id = ck_call_strdup(call, v->id);
    p->metadata = ck_pod_metadata(call, v);
    p->state = v->state == CK_SANDBOX_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                            : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    p->created_at = v->created_at_ns;
    p->runtime_handler = ck_call_strdup(call, v->runtime_handler);
    if (!p->id || !p->metadata || !p->runtime_handler)
        return NULL;
    if (CK_PB_MAP_FROM_KV(call, v->labels, v->n_labels, Runtime__V1__PodSandbox__LabelsEntry,
                          runtime__v1__pod_sandbox__labels_entry__init, p->labels, p->n_labels) < 0 ||
        CK_PB_MAP_FROM_KV(call, v->annotations, v->n_annotations, Runtime__V1__PodSandbox__AnnotationsEntry,
                          runtime__v1__pod_sandbox__annotations_entry__init, p->annotations, p->n_annotations) < 0)
        return NULL;
    return p;
}

int ck_pod_list_items(ck_call *call, const Runtime__V1__PodSandboxFilter *pf, Runtime__V1__PodSandbox ***items,
                      size_t *n_items, ck_err *err)
{
    ck_sandbox_filter f = {0};
    if (pf != NULL) {
        f.id = pf->id;
        if (pf->state != NULL) {
            f.has_state = true;
            f.state = (int)pf->state->state;
        }
        ck_kv *kv = ck_call_alloc(call, (pf->n_label_selector + 1) * sizeof(*kv));
        if (kv == NULL)
            return ck_err_oom(err, "ListPodSandbox filter");
        for (size_t i = 0; i < pf->n_label_selector; i++)
            kv[i] = (ck_kv){pf->label_selector[i]->key ?: "", pf->label_selector[i]->value ?: ""};
        f.labels = (ck_kvs){kv, pf->n_label_selector};
    }
    ck_sandbox_view *views = NULL;
    size_t n = 0;
    if (ck_sandbox_list(call->svc->sandboxes, &f, &views, &n, err) < 0)
        return -1;
    int rc = 0;
    *n_items = 0;
    if ((*items = ck_call_alloc(call, (n + 1) * sizeof(**items))) == NULL)
        rc = ck_err_oom(err, "pod list");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        (*items)[i] = entry(call, &views[i]);
        if ((*items)[i] == NULL)
            rc = ck_err_oom(err, "pod list");
        *n_items = i + 1;
    }
    ck_sandbox_views_free(views, n);
    return rc;
}

int ck_handle_list_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListPodSandboxRequest *in = (const void *)req;
    Runtime__V1__ListPodSandboxResponse *r =
        CK_NEW(call, Runtime__V1__ListPodSandboxResponse, runtime__v1__list_pod_sandbox_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ListPodSandbox response");
    if (ck_pod_list_items(call, in->filter, &r->items, &r->n_items, err) < 0)
        return -1;
    *resp = &r->base;
    return 0;
}
