/*
 * Attach: the streams of a running container's own process. The request
 * is checked as Exec's is (at least one stream, no stderr with a tty; the
 * container exists and runs) and kept by the streaming server under a
 * single-use token; the answer is the URL the client connects to, where
 * the session connects to the container monitor's attach socket
 * (streaming/remotecommand.c).
 *
 * stdin asked of a container created without stdin is not an error: as
 * with containerd and CRI-O, the client's stdin is taken and discarded
 * (the monitor reads none), its output is served. kubectl warns about it
 * on its side.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"
#include "streaming/server.h"

int ck_handle_attach(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__AttachRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    ck_stream_request r = {
        .kind = CK_STREAM_ATTACH,
        .tty = in->tty,
        .in = in->stdin,
        .out = in->stdout,
        .err = in->stderr,
    };
    if (ck_stream_request_check(&r, "Attach", err) < 0)
        return -1;
    if (ck_container_check_running(call->svc->containers, in->container_id, r.container_id, sizeof(r.container_id),
                                   err) < 0)
        return ck_err_wrap(err, "Attach");
    char url[512];
    if (ck_streaming_put(call->svc->streaming, &r, url, sizeof(url), err) < 0)
        return -1;
    Runtime__V1__AttachResponse *out = CK_NEW(call, Runtime__V1__AttachResponse, runtime__v1__attach_response__init);
    if (out == NULL || (out->url = ck_call_strdup(call, url)) == NULL)
        return ck_err_oom(err, "Attach response");
    *resp = &out->base;
    return 0;
}
