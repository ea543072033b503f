/*
 * PodSandboxStats: CPU and memory of the pod's cgroup, network counters of
 * its namespace's eth0, process count, for a READY pod (a stopped pod has no
 * usage: it answers with its attributes only), and the stats of each of its
 * containers (linux.containers), which the kubelet reads when it takes pod
 * and container stats from the CRI. ck_pod_stats builds the entry
 * ListPodSandboxStats and StreamPodSandboxStats send too.
 */
#include "containers/containers.h"
#include "cri/container_view.h"
#include "cri/pod_view.h"
#include "cri/services.h"

static Runtime__V1__PodSandboxAttributes *attributes(ck_call *call, const ck_sandbox_view *v)
{
    Runtime__V1__PodSandboxAttributes *a =
        CK_NEW(call, Runtime__V1__PodSandboxAttributes, runtime__v1__pod_sandbox_attributes__init);
    if (a == NULL || (a->id = ck_call_strdup(call, v->id)) == NULL || (a->metadata = ck_pod_metadata(call, v)) == NULL)
        return NULL;
    if (CK_PB_MAP_FROM_KV(call, v->labels, v->n_labels, Runtime__V1__PodSandboxAttributes__LabelsEntry,
                          runtime__v1__pod_sandbox_attributes__labels_entry__init, a->labels, a->n_labels) < 0 ||
        CK_PB_MAP_FROM_KV(call, v->annotations, v->n_annotations, Runtime__V1__PodSandboxAttributes__AnnotationsEntry,
                          runtime__v1__pod_sandbox_attributes__annotations_entry__init, a->annotations,
                          a->n_annotations) < 0)
        return NULL;
    return a;
}

static Runtime__V1__LinuxPodSandboxStats *linux_stats(ck_call *call, const ck_sandbox_stats *st)
{
    Runtime__V1__LinuxPodSandboxStats *l =
        CK_NEW(call, Runtime__V1__LinuxPodSandboxStats, runtime__v1__linux_pod_sandbox_stats__init);
    Runtime__V1__CpuUsage *cpu = CK_NEW(call, Runtime__V1__CpuUsage, runtime__v1__cpu_usage__init);
    Runtime__V1__MemoryUsage *mem = CK_NEW(call, Runtime__V1__MemoryUsage, runtime__v1__memory_usage__init);
    Runtime__V1__NetworkUsage *net = CK_NEW(call, Runtime__V1__NetworkUsage, runtime__v1__network_usage__init);
    Runtime__V1__ProcessUsage *proc = CK_NEW(call, Runtime__V1__ProcessUsage, runtime__v1__process_usage__init);
    if (!l || !cpu || !mem || !net || !proc)
        return NULL;
    cpu->timestamp = mem->timestamp = net->timestamp = proc->timestamp = st->timestamp_ns;
    cpu->usage_core_nano_seconds = ck_pb_u64(call, st->cpu_usage_ns);
    mem->working_set_bytes = ck_pb_u64(call, st->memory_working_set);
    mem->usage_bytes = ck_pb_u64(call, st->memory_usage);
    mem->rss_bytes = ck_pb_u64(call, st->memory_rss);
    proc->process_count = ck_pb_u64(call, st->processes);
    if (st->iface[0] != '\0') {
        Runtime__V1__NetworkInterfaceUsage *i =
            CK_NEW(call, Runtime__V1__NetworkInterfaceUsage, runtime__v1__network_interface_usage__init);
        if (i == NULL)
            return NULL;
        i->name = ck_call_strdup(call, st->iface);
        i->rx_bytes = ck_pb_u64(call, st->rx_bytes);
        i->rx_errors = ck_pb_u64(call, st->rx_errors);
        i->tx_bytes = ck_pb_u64(call, st->tx_bytes);
        i->tx_errors = ck_pb_u64(call, st->tx_errors);
        net->default_interface = i;
    }
    l->cpu = cpu;
    l->memory = mem;
    l->network = net;
    l->process = proc;
    return l;
}

Runtime__V1__PodSandboxStats *ck_pod_stats(ck_call *call, const ck_sandbox_view *v, ck_err *err)
{
    Runtime__V1__PodSandboxStats *s = CK_NEW(call, Runtime__V1__PodSandboxStats, runtime__v1__pod_sandbox_stats__init);
    if (s == NULL || (s->attributes = attributes(call, v)) == NULL) {
        ck_err_oom(err, "pod stats");
        return NULL;
    }
    ck_sandbox_stats st;
    if (ck_sandbox_stats_get(call->svc->sandboxes, v->id, &st, err) < 0)
        return NULL;
    if ((s->linux = linux_stats(call, &st)) == NULL) {
        ck_err_oom(err, "pod stats");
        return NULL;
    }
    ck_container_filter mine = {.pod_id = v->id};
    if (ck_container_stats_items(call, &mine, &s->linux->containers, &s->linux->n_containers, err) < 0) {
        ck_err_wrap(err, "stats of pod %s", v->id);
        return NULL;
    }
    return s;
}

int ck_handle_pod_sandbox_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__PodSandboxStatsRequest *in = (const void *)req;
    ck_sandbox_view v;
    if (ck_sandbox_status(call->svc->sandboxes, in->pod_sandbox_id, &v, err) < 0)
        return -1;
    Runtime__V1__PodSandboxStatsResponse *r =
        CK_NEW(call, Runtime__V1__PodSandboxStatsResponse, runtime__v1__pod_sandbox_stats_response__init);
    int rc = 0;
    if (r == NULL)
        rc = ck_err_oom(err, "PodSandboxStats response");
    else if ((r->stats = ck_pod_stats(call, &v, err)) == NULL)
        rc = -1;
    ck_sandbox_view_clear(&v);
    if (rc == 0)
        *resp = &r->base;
    return rc;
}
