/*
 * container_view: containers as the CRI lists them.
 */
#include "cri/container_view.h"

#include "cri/packed_answer.h"
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

/* One ListContainers entry and the messages it holds, allocated at once. */
typedef struct list_entry {
    Runtime__V1__Container c;
    Runtime__V1__ContainerMetadata metadata;
    Runtime__V1__ImageSpec image;
} list_entry;

/* v's entry, its strings v's own (ck_pb_borrow); NULL when out of memory. */
static Runtime__V1__Container *entry(ck_call *call, const ck_container_view *v)
{
    list_entry *e = ck_call_alloc(call, sizeof(*e));
    if (e == NULL)
        return NULL;
    Runtime__V1__Container *c = &e->c;
    runtime__v1__container__init(c);
    runtime__v1__container_metadata__init(&e->metadata);
    runtime__v1__image_spec__init(&e->image);
    e->metadata.name = ck_pb_borrow(v->name);
    e->metadata.attempt = v->attempt;
    e->image.image = ck_pb_borrow(v->image);
    e->image.user_specified_image = ck_pb_borrow(v->user_specified_image);
    c->id = ck_pb_borrow(v->id);
    c->pod_sandbox_id = ck_pb_borrow(v->pod_id);
    c->metadata = &e->metadata;
    c->image = &e->image;
    c->image_ref = ck_pb_borrow(v->image_ref);
    c->image_id = ck_pb_borrow(v->image_id);
    c->state = (Runtime__V1__ContainerState)v->state;
    c->created_at = v->created_at_ns;
    if (CK_PB_MAP_BORROW_KV(call, v->labels, v->n_labels, Runtime__V1__Container__LabelsEntry,
                            runtime__v1__container__labels_entry__init, c->labels, c->n_labels) < 0 ||
        CK_PB_MAP_BORROW_KV(call, v->annotations, v->n_annotations, Runtime__V1__Container__AnnotationsEntry,
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

/* What one list made: entries pointing into views. */
typedef struct listing {
    Runtime__V1__Container **items;
    size_t n_items;
    ck_container_view *views;
    size_t n_views;
    uint64_t version; /* ck_container_list_since */
} listing;

/* The entries for a filter (may be NULL), unless the containers are still
 * at version known (then l->version == known and nothing is listed). */
static int list_entries(ck_call *call, const Runtime__V1__ContainerFilter *filter, uint64_t known, listing *l,
                        ck_err *err)
{
    *l = (listing){0};
    ck_container_filter f;
    if (filter != NULL && filter_of(call, filter, &f, err) < 0)
        return -1;
    if (ck_container_list_since(call->svc->containers, filter != NULL ? &f : NULL, known, &l->views, &l->n_views,
                                &l->version, err) < 0)
        return -1;
    if (l->version == known)
        return 0;
    if ((l->items = ck_call_alloc(call, (l->n_views + 1) * sizeof(*l->items))) == NULL)
        goto oom;
    for (size_t i = 0; i < l->n_views; i++)
        if ((l->items[l->n_items++] = entry(call, &l->views[i])) == NULL)
            goto oom;
    return 0;
oom:
    ck_container_views_free(l->views, l->n_views);
    *l = (listing){0};
    return ck_err_oom(err, "container list");
}

int ck_container_list_items(ck_call *call, const Runtime__V1__ContainerFilter *filter, Runtime__V1__Container ***items,
                            size_t *n_items, ck_container_view **views, size_t *n_views, ck_err *err)
{
    listing l;
    if (list_entries(call, filter, 0, &l, err) < 0)
        return -1;
    *items = l.items;
    *n_items = l.n_items;
    *views = l.views;
    *n_views = l.n_views;
    return 0;
}

static bool no_text(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* The kept answer that serves filter, or -1: no filter or an empty one
 * (the domain treats an empty id or pod as any), or state RUNNING alone. */
static int packed_kind(const Runtime__V1__ContainerFilter *in)
{
    if (in == NULL)
        return CK_PACKED_CONTAINERS;
    if (!no_text(in->id) || !no_text(in->pod_sandbox_id) || in->n_label_selector > 0)
        return -1;
    if (in->state == NULL)
        return CK_PACKED_CONTAINERS;
    return in->state->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING ? CK_PACKED_RUNNING_CONTAINERS : -1;
}

static grpc_slice pack_answer(const listing *l)
{
    Runtime__V1__ListContainersResponse r;
    runtime__v1__list_containers_response__init(&r);
    r.containers = l->items;
    r.n_containers = l->n_items;
    return ck_call_pack(&r.base);
}

int ck_container_list_packed(ck_call *call, const Runtime__V1__ContainerFilter *filter, grpc_slice *out, ck_err *err)
{
    int kind = packed_kind(filter);
    ck_packed_answer *kept = kind >= 0 ? ck_call_packed_answer(call, kind) : NULL;
    uint64_t known = kept != NULL ? ck_packed_answer_version(kept) : 0;
    listing l;
    if (list_entries(call, filter, known, &l, err) < 0)
        return -1;
    if (known != 0 && l.version == known) {
        if (ck_packed_answer_take(kept, known, out))
            return 0;
        /* Replaced meanwhile (the containers changed since): list again. */
        if (list_entries(call, filter, 0, &l, err) < 0)
            return -1;
    }
    *out = pack_answer(&l);
    ck_container_views_free(l.views, l.n_views);
    if (kept != NULL)
        ck_packed_answer_put(kept, l.version, *out);
    return 0;
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
