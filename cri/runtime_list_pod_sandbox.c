/*
 * ListPodSandbox: every pod, or those matching the filter (id or unique id
 * prefix, state, labels).
 */
#include "cri/pod_view.h"
#include "cri/services.h"

/* One ListPodSandbox entry and its metadata, allocated at once. */
typedef struct list_entry {
    Runtime__V1__PodSandbox p;
    Runtime__V1__PodSandboxMetadata metadata;
} list_entry;

/* v's entry, its strings v's own (ck_pb_borrow); NULL when out of memory. */
static Runtime__V1__PodSandbox *entry(ck_call *call, const ck_sandbox_view *v)
{
    list_entry *e = ck_call_alloc(call, sizeof(*e));
    if (e == NULL)
        return NULL;
    Runtime__V1__PodSandbox *p = &e->p;
    runtime__v1__pod_sandbox__init(p);
    runtime__v1__pod_sandbox_metadata__init(&e->metadata);
    e->metadata.name = ck_pb_borrow(v->name);
    e->metadata.namespace_ = ck_pb_borrow(v->ns);
    e->metadata.uid = ck_pb_borrow(v->uid);
    e->metadata.attempt = v->attempt;
    p->id = ck_pb_borrow(v->id);
    p->metadata = &e->metadata;
    p->state = v->state == CK_SANDBOX_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                            : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    p->created_at = v->created_at_ns;
    p->runtime_handler = ck_pb_borrow(v->runtime_handler);
    if (CK_PB_MAP_BORROW_KV(call, v->labels, v->n_labels, Runtime__V1__PodSandbox__LabelsEntry,
                            runtime__v1__pod_sandbox__labels_entry__init, p->labels, p->n_labels) < 0 ||
        CK_PB_MAP_BORROW_KV(call, v->annotations, v->n_annotations, Runtime__V1__PodSandbox__AnnotationsEntry,
                            runtime__v1__pod_sandbox__annotations_entry__init, p->annotations, p->n_annotations) < 0)
        return NULL;
    return p;
}

int ck_pod_list_items(ck_call *call, const Runtime__V1__PodSandboxFilter *pf, Runtime__V1__PodSandbox ***items,
                      size_t *n_items, ck_sandbox_view **views_out, size_t *n_views, ck_err *err)
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
    if (rc < 0) {
        ck_sandbox_views_free(views, n);
        return -1;
    }
    *views_out = views;
    *n_views = n;
    return 0;
}

int ck_handle_list_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListPodSandboxRequest *in = (const void *)req;
    Runtime__V1__ListPodSandboxResponse r;
    runtime__v1__list_pod_sandbox_response__init(&r);
    ck_sandbox_view *views = NULL;
    size_t n_views = 0;
    if (ck_pod_list_items(call, in->filter, &r.items, &r.n_items, &views, &n_views, err) < 0)
        return -1;
    /* Packed here, while the views its entries point into are held. */
    grpc_slice packed = ck_call_pack(&r.base);
    ck_sandbox_views_free(views, n_views);
    ck_call_reply_packed(call, packed);
    grpc_slice_unref(packed);
    *resp = NULL;
    return 0;
}
