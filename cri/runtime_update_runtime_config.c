/* UpdateRuntimeConfig: what the kubelet hands down to the node (the pod
 * CIDR, for the default network). */
#include "cri/handlers.h"
#include "cri/services.h"
#include "netcni/netcni.h"

int ck_handle_update_runtime_config(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__UpdateRuntimeConfigRequest *in = (const void *)req;
    if (in->runtime_config != NULL && in->runtime_config->network_config != NULL &&
        ck_cni_set_pod_cidr(call->svc->cni, in->runtime_config->network_config->pod_cidr, err) < 0)
        return ck_err_wrap(err, "UpdateRuntimeConfig");
    Runtime__V1__UpdateRuntimeConfigResponse *r =
        CK_NEW(call, Runtime__V1__UpdateRuntimeConfigResponse, runtime__v1__update_runtime_config_response__init);
    if (r == NULL)
        return ck_err_oom(err, "UpdateRuntimeConfig response");
    *resp = &r->base;
    return 0;
}
