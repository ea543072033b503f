/*
 * PortForward: connections to ports of a ready pod, streamed. The pod's
 * network namespace is looked up here and kept with the request under a
 * single-use token; the client's connections are dialed inside it by the
 * streaming server (a host-network pod: in the host's). The ports named
 * here may be none: a SPDY client names each port per stream.
 */
#include "cri/handlers.h"
#include "cri/services.h"
#include "sandbox/sandbox.h"
#include "streaming/server.h"

int ck_handle_port_forward(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__PortForwardRequest *in = (const void *)req;
    ck_call_set_object(call, "pod %.64s", in->pod_sandbox_id);
    if (in->pod_sandbox_id == NULL || in->pod_sandbox_id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "PortForward: pod_sandbox_id is required");
    uint16_t *ports = ck_call_alloc(call, (in->n_port + 1) * sizeof(*ports));
    if (ports == NULL)
        return ck_err_oom(err, "PortForward request");
    for (size_t i = 0; i < in->n_port; i++) {
        if (in->port[i] < 1 || in->port[i] > 65535)
            return ck_err_set(err, CK_E_INVALID, 0, "PortForward: port %d is out of range", (int)in->port[i]);
        ports[i] = (uint16_t)in->port[i];
    }
    ck_sandbox_context *pod = ck_call_alloc(call, sizeof(*pod));
    if (pod == NULL)
        return ck_err_oom(err, "PortForward request");
    if (ck_sandbox_context_get(call->svc->sandboxes, in->pod_sandbox_id, pod, err) < 0)
        return ck_err_wrap(err, "PortForward");
    if (!pod->ready)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "PortForward: pod %.12s is not ready", pod->id);
    ck_stream_request r = {.kind = CK_STREAM_PORTFORWARD, .netns = pod->netns, .ports = ports, .n_ports = in->n_port};
    snprintf(r.pod_id, sizeof(r.pod_id), "%s", pod->id);
    char url[512];
    if (ck_streaming_put(call->svc->streaming, &r, url, sizeof(url), err) < 0)
        return -1;
    Runtime__V1__PortForwardResponse *out =
        CK_NEW(call, Runtime__V1__PortForwardResponse, runtime__v1__port_forward_response__init);
    if (out == NULL || (out->url = ck_call_strdup(call, url)) == NULL)
        return ck_err_oom(err, "PortForward response");
    *resp = &out->base;
    return 0;
}
