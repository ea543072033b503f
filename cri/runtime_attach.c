/*
 * Attach: the streams of a running container's own process. The request
 * is checked as Exec's is; serving it needs the container monitor's attach
 * socket, which is not there yet, so a valid request is UNIMPLEMENTED with
 * that reason (the streaming server's sessions take an attach backend
 * when it lands).
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"
#include "streaming/request.h"

int ck_handle_attach(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    (void)resp;
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
    return ck_err_set(err, CK_E_UNIMPLEMENTED, 0,
                      "Attach to container %.12s: not served yet (the container monitor has no attach socket); "
                      "Exec works",
                      r.container_id);
}
