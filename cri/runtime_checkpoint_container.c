/*
 * CheckpointContainer: cricket does not checkpoint. Checkpointing a
 * container means dumping its processes with CRIU, which cricket does not
 * use (Debian's runc can call it, but nothing here restores the archive), so
 * the answer is UNIMPLEMENTED saying so. The request is still checked first:
 * a missing or unknown container is the kubelet's mistake and gets the
 * answer that names it.
 */
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"

int ck_handle_checkpoint_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__CheckpointContainerRequest *in = (const void *)req;
    (void)resp;
    ck_call_set_object(call, "container %.64s", in->container_id);
    if (in->container_id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "container_id is required");
    ck_container_view v;
    if (ck_container_status(call->svc->containers, in->container_id, &v, err) < 0)
        return -1;
    ck_container_view_clear(&v);
    return ck_err_set(err, CK_E_UNIMPLEMENTED, 0,
                      "CheckpointContainer: checkpointing needs CRIU, which cricket does not use; the container was "
                      "left as it is");
}
