/*
 * PodSandboxStatus: state, creation time, the pod's IPs (IPv4 first, the
 * rest as additional IPs), namespace modes, labels, annotations and runtime
 * handler; with verbose, the sandbox domain's diagnostics under "info"
 * (ck_sandbox_verbose_info: the record, a CNI CHECK, why it is not ready).
 */
#include <stdlib.h>
#include <time.h>

#include "cri/pod_view.h"
#include "common/timeutil.h"
#include "cri/services.h"

Runtime__V1__PodSandboxMetadata *ck_pod_metadata(ck_call *call, const ck_sandbox_view *v)
{
    Runtime__V1__PodSandboxMetadata *m =
        CK_NEW(call, Runtime__V1__PodSandboxMetadata, runtime__v1__pod_sandbox_metadata__init);
    if (m == NULL)
        return NULL;
    m->name = ck_call_strdup(call, v->name);
    m->namespace_ = ck_call_strdup(call, v->ns);
    m->uid = ck_call_strdup(call, v->uid);
    m->attempt = v->attempt;
    return m->name && m->namespace_ && m->uid ? m : NULL;
}

static Runtime__V1__PodSandboxNetworkStatus *network(ck_call *call, const ck_sandbox_view *v)
{
    Runtime__V1__PodSandboxNetworkStatus *n =
        CK_NEW(call, Runtime__V1__PodSandboxNetworkStatus, runtime__v1__pod_sandbox_network_status__init);
    if (n == NULL)
        return NULL;
    if (v->n_ips > 0 && (n->ip = ck_call_strdup(call, v->ips[0])) == NULL)
        return NULL;
    n->additional_ips = ck_call_alloc(call, (v->n_ips + 1) * sizeof(*n->additional_ips));
    if (n->additional_ips == NULL)
        return NULL;
    for (size_t i = 1; i < v->n_ips; i++) {
        Runtime__V1__PodIP *ip = CK_NEW(call, Runtime__V1__PodIP, runtime__v1__pod_ip__init);
        if (ip == NULL || (ip->ip = ck_call_strdup(call, v->ips[i])) == NULL)
            return NULL;
        n->additional_ips[n->n_additional_ips++] = ip;
    }
    return n;
}

static Runtime__V1__LinuxPodSandboxStatus *linux_status(ck_call *call, const ck_sandbox_view *v)
{
    Runtime__V1__LinuxPodSandboxStatus *l =
        CK_NEW(call, Runtime__V1__LinuxPodSandboxStatus, runtime__v1__linux_pod_sandbox_status__init);
    Runtime__V1__Namespace *ns = CK_NEW(call, Runtime__V1__Namespace, runtime__v1__namespace__init);
    Runtime__V1__NamespaceOption *o = CK_NEW(call, Runtime__V1__NamespaceOption, runtime__v1__namespace_option__init);
    if (l == NULL || ns == NULL || o == NULL)
        return NULL;
    o->network = (Runtime__V1__NamespaceMode)v->ns_network;
    o->pid = (Runtime__V1__NamespaceMode)v->ns_pid;
    o->ipc = (Runtime__V1__NamespaceMode)v->ns_ipc;
    if ((o->target_id = ck_call_strdup(call, v->ns_target_id)) == NULL)
        return NULL;
    ns->options = o;
    l->namespaces = ns;
    return l;
}

static int verbose_info(ck_call *call, Runtime__V1__PodSandboxStatusResponse *r, const ck_sandbox_view *v)
{
    /* The sandbox domain's diagnostics, as JSON text it writes. */
    ck_cancel cancel = ck_call_cancel(call);
    char *text = ck_sandbox_verbose_info(call->svc->sandboxes, v, &cancel);
    Runtime__V1__PodSandboxStatusResponse__InfoEntry *e =
        CK_NEW(call, Runtime__V1__PodSandboxStatusResponse__InfoEntry,
               runtime__v1__pod_sandbox_status_response__info_entry__init);
    r->info = ck_call_alloc(call, sizeof(*r->info));
    if (text == NULL || e == NULL || r->info == NULL) {
        free(text);
        return -1;
    }
    e->key = "info";
    e->value = ck_call_strdup(call, text);
    free(text);
    r->info[0] = e;
    r->n_info = 1;
    return e->value != NULL ? 0 : -1;
}

Runtime__V1__PodSandboxStatus *ck_pod_status_message(ck_call *call, const ck_sandbox_view *v)
{
    Runtime__V1__PodSandboxStatus *s =
        CK_NEW(call, Runtime__V1__PodSandboxStatus, runtime__v1__pod_sandbox_status__init);
    if (s == NULL)
        return NULL;
    s->id = ck_call_strdup(call, v->id);
    s->metadata = ck_pod_metadata(call, v);
    s->state = v->state == CK_SANDBOX_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                            : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    s->created_at = v->created_at_ns;
    s->network = network(call, v);
    s->linux = linux_status(call, v);
    s->runtime_handler = ck_call_strdup(call, v->runtime_handler);
    if (!s->id || !s->metadata || !s->network || !s->linux || !s->runtime_handler)
        return NULL;
    if (CK_PB_MAP_FROM_KV(call, v->labels, v->n_labels, Runtime__V1__PodSandboxStatus__LabelsEntry,
                          runtime__v1__pod_sandbox_status__labels_entry__init, s->labels, s->n_labels) < 0 ||
        CK_PB_MAP_FROM_KV(call, v->annotations, v->n_annotations, Runtime__V1__PodSandboxStatus__AnnotationsEntry,
                          runtime__v1__pod_sandbox_status__annotations_entry__init, s->annotations,
                          s->n_annotations) < 0)
        return NULL;
    return s;
}

static int fill(ck_call *call, const ck_sandbox_view *v, bool verbose, Runtime__V1__PodSandboxStatusResponse *r)
{
    r->status = ck_pod_status_message(call, v);
    if (r->status == NULL)
        return -1;
    r->timestamp = ck_now_ns();
    return verbose ? verbose_info(call, r, v) : 0;
}

int ck_handle_pod_sandbox_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__PodSandboxStatusRequest *in = (const void *)req;
    ck_sandbox_view v;
    if (ck_sandbox_status(call->svc->sandboxes, in->pod_sandbox_id, &v, err) < 0)
        return -1;
    Runtime__V1__PodSandboxStatusResponse *r =
        CK_NEW(call, Runtime__V1__PodSandboxStatusResponse, runtime__v1__pod_sandbox_status_response__init);
    int rc = (r == NULL || fill(call, &v, in->verbose, r) < 0) ? ck_err_oom(err, "PodSandboxStatus response") : 0;
    ck_sandbox_view_clear(&v);
    if (rc == 0)
        *resp = &r->base;
    return rc;
}
