/*
 * ContainerStatus: one container's state, exit, image, mounts as
 * requested, log path, resources and user; with verbose, "info" holds its
 * pid and OCI spec as JSON.
 */
#include <stdlib.h>

#include "cri/container_view.h"
#include "cri/pod_view.h"
#include "cri/services.h"

static Runtime__V1__Mount *mount_of(ck_call *call, const ck_mount_req *m)
{
    Runtime__V1__Mount *o = CK_NEW(call, Runtime__V1__Mount, runtime__v1__mount__init);
    if (o == NULL || (o->container_path = ck_call_strdup(call, m->container_path)) == NULL ||
        (o->host_path = ck_call_strdup(call, m->host_path)) == NULL)
        return NULL;
    o->readonly = m->readonly;
    o->recursive_read_only = m->recursive_read_only;
    o->selinux_relabel = m->selinux_relabel;
    o->propagation = (Runtime__V1__MountPropagation)m->propagation;
    if (m->image != NULL && m->image[0] != '\0') {
        o->image = CK_NEW(call, Runtime__V1__ImageSpec, runtime__v1__image_spec__init);
        if (o->image == NULL || (o->image->image = ck_call_strdup(call, m->image)) == NULL)
            return NULL;
    }
    return o;
}

static Runtime__V1__ContainerResources *resources_of(ck_call *call, const ck_container_resources *r)
{
    Runtime__V1__ContainerResources *o =
        CK_NEW(call, Runtime__V1__ContainerResources, runtime__v1__container_resources__init);
    Runtime__V1__LinuxContainerResources *l =
        CK_NEW(call, Runtime__V1__LinuxContainerResources, runtime__v1__linux_container_resources__init);
    if (o == NULL || l == NULL)
        return NULL;
    o->linux = l;
    l->cpu_period = r->cpu_period;
    l->cpu_quota = r->cpu_quota;
    l->cpu_shares = r->cpu_shares;
    l->memory_limit_in_bytes = r->memory_limit_in_bytes;
    l->memory_swap_limit_in_bytes = r->memory_swap_limit_in_bytes;
    l->oom_score_adj = r->oom_score_adj;
    l->cpuset_cpus = ck_call_strdup(call, r->cpuset_cpus);
    l->cpuset_mems = ck_call_strdup(call, r->cpuset_mems);
    l->hugepage_limits = ck_call_alloc(call, (r->n_hugepages + 1) * sizeof(*l->hugepage_limits));
    if (l->cpuset_cpus == NULL || l->cpuset_mems == NULL || l->hugepage_limits == NULL)
        return NULL;
    for (size_t i = 0; i < r->n_hugepages; i++) {
        Runtime__V1__HugepageLimit *h = CK_NEW(call, Runtime__V1__HugepageLimit, runtime__v1__hugepage_limit__init);
        if (h == NULL || (h->page_size = ck_call_strdup(call, r->hugepages[i].page_size)) == NULL)
            return NULL;
        h->limit = r->hugepages[i].limit;
        l->hugepage_limits[l->n_hugepage_limits++] = h;
    }
    if (CK_PB_MAP_FROM_KV(call, r->unified.items, r->unified.len, Runtime__V1__LinuxContainerResources__UnifiedEntry,
                          runtime__v1__linux_container_resources__unified_entry__init, l->unified, l->n_unified) < 0)
        return NULL;
    return o;
}

static Runtime__V1__ContainerUser *user_of(ck_call *call, const ck_container_view *v)
{
    Runtime__V1__ContainerUser *u = CK_NEW(call, Runtime__V1__ContainerUser, runtime__v1__container_user__init);
    Runtime__V1__LinuxContainerUser *l =
        CK_NEW(call, Runtime__V1__LinuxContainerUser, runtime__v1__linux_container_user__init);
    if (u == NULL || l == NULL)
        return NULL;
    u->linux = l;
    l->uid = v->uid;
    l->gid = v->gid;
    /* The primary group first, as containerd and the kubelet list them. */
    l->supplemental_groups = ck_call_alloc(call, (v->n_groups + 1) * sizeof(int64_t));
    if (l->supplemental_groups == NULL)
        return NULL;
    l->supplemental_groups[l->n_supplemental_groups++] = v->gid;
    for (size_t i = 0; i < v->n_groups; i++)
        if (v->groups[i] != v->gid)
            l->supplemental_groups[l->n_supplemental_groups++] = v->groups[i];
    return u;
}

static int fill_lists(ck_call *call, const ck_container_view *v, Runtime__V1__ContainerStatus *s)
{
    s->mounts = ck_call_alloc(call, (v->n_mounts + 1) * sizeof(*s->mounts));
    if (s->mounts == NULL)
        return -1;
    for (size_t i = 0; i < v->n_mounts; i++)
        if ((s->mounts[s->n_mounts++] = mount_of(call, &v->mounts[i])) == NULL)
            return -1;
    if (CK_PB_MAP_FROM_KV(call, v->labels, v->n_labels, Runtime__V1__ContainerStatus__LabelsEntry,
                          runtime__v1__container_status__labels_entry__init, s->labels, s->n_labels) < 0 ||
        CK_PB_MAP_FROM_KV(call, v->annotations, v->n_annotations, Runtime__V1__ContainerStatus__AnnotationsEntry,
                          runtime__v1__container_status__annotations_entry__init, s->annotations, s->n_annotations) < 0)
        return -1;
    return 0;
}

Runtime__V1__ContainerStatus *ck_container_status_message(ck_call *call, const ck_container_view *v)
{
    Runtime__V1__ContainerStatus *s = CK_NEW(call, Runtime__V1__ContainerStatus, runtime__v1__container_status__init);
    if (s == NULL)
        return NULL;
    s->id = ck_call_strdup(call, v->id);
    s->metadata = ck_container_metadata(call, v);
    s->state = (Runtime__V1__ContainerState)v->state;
    s->created_at = v->created_at_ns;
    s->started_at = v->started_at_ns;
    s->finished_at = v->finished_at_ns;
    s->exit_code = v->exit_code;
    s->image = ck_container_image_spec(call, v);
    s->image_ref = ck_call_strdup(call, v->image_ref);
    s->image_id = ck_call_strdup(call, v->image_id);
    s->reason = ck_call_strdup(call, v->reason);
    s->message = ck_call_strdup(call, v->message);
    s->log_path = ck_call_strdup(call, v->log_path);
    s->user = user_of(call, v);
    if (!s->id || !s->metadata || !s->image || !s->image_ref || !s->image_id || !s->reason || !s->message ||
        !s->log_path || !s->user || fill_lists(call, v, s) < 0)
        return NULL;
    if (v->has_resources && (s->resources = resources_of(call, &v->resources)) == NULL)
        return NULL;
    return s;
}

static int add_info(ck_call *call, const ck_container_view *v, Runtime__V1__ContainerStatusResponse *r)
{
    char *text = ck_container_verbose_info(call->svc->containers, v);
    if (text == NULL)
        return -1;
    ck_kv info[] = {{"info", text}};
    int rc = CK_PB_MAP_FROM_KV(call, info, 1, Runtime__V1__ContainerStatusResponse__InfoEntry,
                               runtime__v1__container_status_response__info_entry__init, r->info, r->n_info);
    free(text);
    return rc;
}

int ck_handle_container_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ContainerStatusRequest *in = (const void *)req;
    ck_container_view v;
    if (ck_container_status(call->svc->containers, in->container_id, &v, err) < 0)
        return -1;
    Runtime__V1__ContainerStatusResponse *r =
        CK_NEW(call, Runtime__V1__ContainerStatusResponse, runtime__v1__container_status_response__init);
    int rc = 0;
    if (r == NULL || (r->status = ck_container_status_message(call, &v)) == NULL ||
        (in->verbose && add_info(call, &v, r) < 0))
        rc = ck_err_oom(err, "ContainerStatus response");
    ck_container_view_clear(&v);
    if (rc == 0)
        *resp = &r->base;
    return rc;
}
