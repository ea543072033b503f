/*
 * RunPodSandbox: the request's PodSandboxConfig becomes a plain
 * ck_sandbox_config (protobuf stays here), the sandbox domain does the rest.
 */
#include <string.h>

#include "cri/handlers.h"
#include "cri/security.h"
#include "cri/services.h"
#include "sandbox/sandbox.h"

static const char *protocol_name(Runtime__V1__Protocol p)
{
    switch (p) {
    case RUNTIME__V1__PROTOCOL__UDP: return "udp";
    case RUNTIME__V1__PROTOCOL__SCTP: return "sctp";
    default: return "tcp";
    }
}

#define KVS_FROM(call, out, entries, n)                                          \
    do {                                                                         \
        ck_kv *kv_ = ck_call_alloc((call), ((n) + 1) * sizeof(ck_kv));           \
        if (kv_ == NULL)                                                         \
            return -1;                                                           \
        for (size_t i_ = 0; i_ < (n); i_++)                                      \
            kv_[i_] = (ck_kv){(entries)[i_]->key ? (entries)[i_]->key : "",      \
                              (entries)[i_]->value ? (entries)[i_]->value : ""}; \
        (out).items = kv_;                                                       \
        (out).len = (n);                                                         \
    } while (0)

static int convert(ck_call *call, const Runtime__V1__RunPodSandboxRequest *in, ck_sandbox_config *c)
{
    const Runtime__V1__PodSandboxConfig *pc = in->config;
    memset(c, 0, sizeof(*c));
    c->name = pc->metadata->name;
    c->ns = pc->metadata->namespace_;
    c->uid = pc->metadata->uid;
    c->attempt = pc->metadata->attempt;
    c->hostname = pc->hostname;
    c->log_directory = pc->log_directory;
    c->runtime_handler = in->runtime_handler;
    c->userns.mode = CK_NS_NODE; /* no user namespace unless asked */
    if (pc->dns_config != NULL) {
        c->has_dns = true;
        c->dns_servers = (ck_strs){(const char *const *)pc->dns_config->servers, pc->dns_config->n_servers};
        c->dns_searches = (ck_strs){(const char *const *)pc->dns_config->searches, pc->dns_config->n_searches};
        c->dns_options = (ck_strs){(const char *const *)pc->dns_config->options, pc->dns_config->n_options};
    }
    ck_cni_port *ports = ck_call_alloc(call, (pc->n_port_mappings + 1) * sizeof(*ports));
    if (ports == NULL)
        return -1;
    for (size_t i = 0; i < pc->n_port_mappings; i++) {
        const Runtime__V1__PortMapping *pm = pc->port_mappings[i];
        ports[i] = (ck_cni_port){pm->host_port, pm->container_port, protocol_name(pm->protocol), pm->host_ip};
    }
    c->ports = ports;
    c->n_ports = pc->n_port_mappings;
    KVS_FROM(call, c->labels, pc->labels, pc->n_labels);
    KVS_FROM(call, c->annotations, pc->annotations, pc->n_annotations);
    const Runtime__V1__LinuxPodSandboxConfig *lx = pc->linux;
    if (lx != NULL) {
        c->cgroup_parent = lx->cgroup_parent;
        KVS_FROM(call, c->sysctls, lx->sysctls, lx->n_sysctls);
        c->privileged = lx->security_context != NULL && lx->security_context->privileged;
        const Runtime__V1__NamespaceOption *no =
            lx->security_context != NULL ? lx->security_context->namespace_options : NULL;
        if (no != NULL && ck_cri_userns(call, no->userns_options, &c->userns) < 0)
            return -1;
        if (no != NULL) {
            c->ns_network = no->network;
            c->ns_pid = no->pid;
            c->ns_ipc = no->ipc;
            c->ns_target_id = no->target_id;
        }
    }
    return 0;
}

int ck_handle_run_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__RunPodSandboxRequest *in = (const void *)req;
    if (in->config == NULL || in->config->metadata == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "RunPodSandbox: config.metadata is required");
    ck_sandbox_config cfg;
    if (convert(call, in, &cfg) < 0)
        return ck_err_oom(err, "RunPodSandbox request");
    const Runtime__V1__LinuxPodSandboxConfig *lx = in->config->linux;
    const Runtime__V1__LinuxSandboxSecurityContext *sc = lx != NULL ? lx->security_context : NULL;
    if (ck_cri_pod_seccomp(sc, &cfg.seccomp, err) < 0 || ck_cri_pod_apparmor(sc, &cfg.apparmor, err) < 0)
        return ck_err_wrap(err, "RunPodSandbox");
    cfg.selinux_labelled = ck_cri_pod_selinux_labelled(sc);
    char id[65];
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_sandbox_run(call->svc->sandboxes, &cfg, &cancel, id, err) < 0)
        return -1;
    Runtime__V1__RunPodSandboxResponse *r =
        CK_NEW(call, Runtime__V1__RunPodSandboxResponse, runtime__v1__run_pod_sandbox_response__init);
    if (r == NULL || (r->pod_sandbox_id = ck_call_strdup(call, id)) == NULL)
        return ck_err_oom(err, "RunPodSandbox response");
    *resp = &r->base;
    return 0;
}
