/*
 * ContainerStats: one container's CPU, memory, writable layer and swap.
 * A created or exited container answers with its attributes, zero usage
 * and a timestamp (cpu and memory are never left out: critest reads them
 * without checking). ck_container_stats_entry builds the entry
 * ListContainerStats, StreamContainerStats and PodSandboxStats send too.
 */
#include "cri/container_view.h"
#include "cri/pod_view.h"
#include "cri/services.h"

static Runtime__V1__ContainerAttributes *attributes(ck_call *call, const ck_container_view *v)
{
    Runtime__V1__ContainerAttributes *a =
        CK_NEW(call, Runtime__V1__ContainerAttributes, runtime__v1__container_attributes__init);
    if (a == NULL || (a->id = ck_call_strdup(call, v->id)) == NULL ||
        (a->metadata = ck_container_metadata(call, v)) == NULL)
        return NULL;
    if (CK_PB_MAP_FROM_KV(call, v->labels, v->n_labels, Runtime__V1__ContainerAttributes__LabelsEntry,
                          runtime__v1__container_attributes__labels_entry__init, a->labels, a->n_labels) < 0 ||
        CK_PB_MAP_FROM_KV(call, v->annotations, v->n_annotations, Runtime__V1__ContainerAttributes__AnnotationsEntry,
                          runtime__v1__container_attributes__annotations_entry__init, a->annotations,
                          a->n_annotations) < 0)
        return NULL;
    return a;
}

static Runtime__V1__CpuUsage *cpu(ck_call *call, const ck_container_stats *st)
{
    Runtime__V1__CpuUsage *c = CK_NEW(call, Runtime__V1__CpuUsage, runtime__v1__cpu_usage__init);
    if (c == NULL || (c->usage_core_nano_seconds = ck_pb_u64(call, st->cpu_usage_ns)) == NULL)
        return NULL;
    c->timestamp = st->timestamp_ns;
    /* Left out until a previous sample gives a rate: the kubelet then
     * computes its own, as it does for cAdvisor's first sample. */
    if (st->has_cpu_rate && (c->usage_nano_cores = ck_pb_u64(call, st->cpu_nano_cores)) == NULL)
        return NULL;
    return c;
}

static Runtime__V1__MemoryUsage *memory(ck_call *call, const ck_container_stats *st)
{
    Runtime__V1__MemoryUsage *m = CK_NEW(call, Runtime__V1__MemoryUsage, runtime__v1__memory_usage__init);
    if (m == NULL)
        return NULL;
    m->timestamp = st->timestamp_ns;
    m->working_set_bytes = ck_pb_u64(call, st->memory_working_set);
    m->available_bytes = ck_pb_u64(call, st->memory_available);
    m->usage_bytes = ck_pb_u64(call, st->memory_usage);
    m->rss_bytes = ck_pb_u64(call, st->memory_rss);
    m->page_faults = ck_pb_u64(call, st->page_faults);
    m->major_page_faults = ck_pb_u64(call, st->major_page_faults);
    if (!m->working_set_bytes || !m->available_bytes || !m->usage_bytes || !m->rss_bytes || !m->page_faults ||
        !m->major_page_faults)
        return NULL;
    return m;
}

static Runtime__V1__FilesystemUsage *writable_layer(ck_call *call, const ck_container_stats *st)
{
    Runtime__V1__FilesystemUsage *f = CK_NEW(call, Runtime__V1__FilesystemUsage, runtime__v1__filesystem_usage__init);
    Runtime__V1__FilesystemIdentifier *id =
        CK_NEW(call, Runtime__V1__FilesystemIdentifier, runtime__v1__filesystem_identifier__init);
    if (f == NULL || id == NULL || (id->mountpoint = ck_call_strdup(call, st->writable_mountpoint)) == NULL)
        return NULL;
    f->timestamp = st->writable_timestamp_ns;
    f->fs_id = id;
    f->used_bytes = ck_pb_u64(call, st->writable_bytes);
    f->inodes_used = ck_pb_u64(call, st->writable_inodes);
    return f->used_bytes != NULL && f->inodes_used != NULL ? f : NULL;
}

static Runtime__V1__SwapUsage *swap(ck_call *call, const ck_container_stats *st)
{
    Runtime__V1__SwapUsage *s = CK_NEW(call, Runtime__V1__SwapUsage, runtime__v1__swap_usage__init);
    if (s == NULL || (s->swap_usage_bytes = ck_pb_u64(call, st->swap_usage)) == NULL ||
        (s->swap_available_bytes = ck_pb_u64(call, st->swap_available)) == NULL)
        return NULL;
    s->timestamp = st->timestamp_ns;
    return s;
}

Runtime__V1__ContainerStats *ck_container_stats_entry(ck_call *call, const ck_container_stats *st)
{
    Runtime__V1__ContainerStats *s = CK_NEW(call, Runtime__V1__ContainerStats, runtime__v1__container_stats__init);
    if (s == NULL || (s->attributes = attributes(call, &st->view)) == NULL || (s->cpu = cpu(call, st)) == NULL ||
        (s->memory = memory(call, st)) == NULL || (s->writable_layer = writable_layer(call, st)) == NULL)
        return NULL;
    /* Swap is reported only where the host accounts it (and the container
     * runs): "0 bytes of swap" would be a claim nobody measured. */
    if (st->running && st->has_swap && (s->swap = swap(call, st)) == NULL)
        return NULL;
    return s;
}

int ck_container_stats_items(ck_call *call, const ck_container_filter *f, Runtime__V1__ContainerStats ***out,
                             size_t *n_out, ck_err *err)
{
    ck_container_stats *stats = NULL;
    size_t n = 0;
    *n_out = 0;
    if (ck_container_stats_list(call->svc->containers, f, &stats, &n, err) < 0)
        return -1;
    int rc = 0;
    if ((*out = ck_call_alloc(call, (n + 1) * sizeof(**out))) == NULL)
        rc = ck_err_oom(err, "container stats");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (((*out)[i] = ck_container_stats_entry(call, &stats[i])) == NULL)
            rc = ck_err_oom(err, "container stats");
        else
            *n_out = i + 1;
    }
    ck_container_stats_free(stats, n);
    return rc;
}

int ck_handle_container_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ContainerStatsRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    Runtime__V1__ContainerStatsResponse *r =
        CK_NEW(call, Runtime__V1__ContainerStatsResponse, runtime__v1__container_stats_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ContainerStats response");
    ck_container_stats st;
    if (ck_container_stats_get(call->svc->containers, in->container_id, &st, err) < 0)
        return -1;
    r->stats = ck_container_stats_entry(call, &st);
    ck_container_stats_clear(&st);
    if (r->stats == NULL)
        return ck_err_oom(err, "ContainerStats response");
    *resp = &r->base;
    return 0;
}
