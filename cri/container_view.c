/*
 * container_view: containers as the CRI lists them.
 */
#include "cri/container_view.h"

#include "cri/pod_view.h"
#include "cri/services.h"

Runtime__V1__ContainerMetadata *ck_container_metadata(ck_call *call, const ck_container_view *v)
{
    Runtime__V1__ContainerMetadata *m =
        CK_NEW(call, Runtime__V1__ContainerMetadata, runtime__v1__container_metadata__init);
    if (m == NULL || (m->name = ck_call_strdup(call, v->name)) == NULL)
        return NULL;
    m->attempt = v->attempt;
    return m;
}

Runtime__V1__ImageSpec *ck_container_image_spec(ck_call *call, const ck_container_view *v)
{
    Runtime__V1__ImageSpec *s = CK_NEW(call, Runtime__V1__ImageSpec, runtime__v1__image_spec__init);
    if (s == NULL || (s->image = ck_call_strdup(call, v->image)) == NULL ||
        (s->user_specified_image = ck_call_strdup(call, v->user_specified_image)) == NULL)
        return NULL;
    return s;
}

static Runtime__V1__Container *entry(ck_call *call, const ck_container_view *v)
{
    Runtime__V1__Container *c = CK_NEW(call, Runtime__V1__Container, runtime__v1__container__init);
    if (c == NULL)
        return NULL;
    c->id = ck_call_strdup(call, v->id);
    c->pod_sandbox_id = ck_call_strdup(call, v->pod_id);
    c->metadata = ck_container_metadata(call, v);
    c->image = ck_container_image_spec(call, v);
    c->image_ref = ck_call_strdup(call, v->image_ref);
    c->image_id = ck_call_strdup(call, v->image_id);
    c->state = (Runtime__V1__ContainerState)v->state;
    c->created_at = v->created_at_ns;
    if (!c->id || !c->pod_sandbox_id || !c->metadata || !c->image || !c->image_ref || !c->image_id)
        return NULL;
    if (CK_PB_MAP_FROM_KV(call, v->labels, v->n_labels, Runtime__V1__Container__LabelsEntry,
                          runtime__v1__container__labels_entry__init, c->labels, c->n_labels) < 0 ||
        CK_PB_MAP_FROM_KV(call, v->annotations, v->n_annotations, Runtime__V1__Container__AnnotationsEntry,
                          runtime__v1__container__annotations_entry__init, c->annotations, c->n_annotations) < 0)
        return NULL;
    return c;
}

static int filter_of(ck_call *call, const Runtime__V1__ContainerFilter *in, ck_container_filter *f, ck_err *err)
{
    *f = (ck_container_filter){.id = in->id, .pod_id = in->pod_sandbox_id};
    if (in->state != NULL) {
        f->has_state = true;
        f->state = (int)in->state->state;
    }
    ck_kv *kv = ck_call_alloc(call, (in->n_label_selector + 1) * sizeof(*kv));
    if (kv == NULL)
        return ck_err_oom(err, "ListContainers filter");
    for (size_t i = 0; i < in->n_label_selector; i++)
        kv[i] = (ck_kv){in->label_selector[i]->key ?: "", in->label_selector[i]->value ?: ""};
    f->labels = (ck_kvs){kv, in->n_label_selector};
    return 0;
}

int ck_container_list_items(ck_call *call, const Runtime__V1__ContainerFilter *filter, Runtime__V1__Container ***items,
                            size_t *n_items, ck_err *err)
{
    ck_container_filter f;
    if (filter != NULL && filter_of(call, filter, &f, err) < 0)
        return -1;
    ck_container_view *views = NULL;
    size_t n = 0;
    if (ck_container_list(call->svc->containers, filter != NULL ? &f : NULL, &views, &n, err) < 0)
        return -1;
    int rc = 0;
    *n_items = 0;
    if ((*items = ck_call_alloc(call, (n + 1) * sizeof(**items))) == NULL)
        rc = ck_err_oom(err, "container list");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        (*items)[i] = entry(call, &views[i]);
        if ((*items)[i] == NULL)
            rc = ck_err_oom(err, "container list");
        *n_items = i + 1;
    }
    ck_container_views_free(views, n);
    return rc;
}

static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

int ck_container_resources_from_pb(ck_call *call, const Runtime__V1__LinuxContainerResources *r,
                                   ck_container_resources *o)
{
    *o = (ck_container_resources){
        .cpu_period = r->cpu_period,
        .cpu_quota = r->cpu_quota,
        .cpu_shares = r->cpu_shares,
        .memory_limit_in_bytes = r->memory_limit_in_bytes,
        .memory_swap_limit_in_bytes = r->memory_swap_limit_in_bytes,
        .oom_score_adj = r->oom_score_adj,
        .cpuset_cpus = str_or_empty(r->cpuset_cpus),
        .cpuset_mems = str_or_empty(r->cpuset_mems),
    };
    ck_hugepage_limit *h = ck_call_alloc(call, (r->n_hugepage_limits + 1) * sizeof(*h));
    if (h == NULL)
        return -1;
    for (size_t i = 0; i < r->n_hugepage_limits; i++)
        h[i] = (ck_hugepage_limit){str_or_empty(r->hugepage_limits[i]->page_size), r->hugepage_limits[i]->limit};
    o->hugepages = h;
    o->n_hugepages = r->n_hugepage_limits;
    ck_kv *kv = ck_call_alloc(call, (r->n_unified + 1) * sizeof(*kv));
    if (kv == NULL)
        return -1;
    for (size_t i = 0; i < r->n_unified; i++)
        kv[i] = (ck_kv){str_or_empty(r->unified[i]->key), str_or_empty(r->unified[i]->value)};
    o->unified = (ck_kvs){kv, r->n_unified};
    return 0;
}
