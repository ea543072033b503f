/* RuntimeConfig: the node-level settings the kubelet reads (the cgroup
 * driver). */
#include "cri/handlers.h"
#include "cri/services.h"

int ck_handle_runtime_config(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    (void)req;
    Runtime__V1__RuntimeConfigResponse *r =
        CK_NEW(call, Runtime__V1__RuntimeConfigResponse, runtime__v1__runtime_config_response__init);
    Runtime__V1__LinuxRuntimeConfiguration *linux_cfg =
        CK_NEW(call, Runtime__V1__LinuxRuntimeConfiguration, runtime__v1__linux_runtime_configuration__init);
    if (r == NULL || linux_cfg == NULL)
        return ck_err_oom(err, "RuntimeConfig response");
    linux_cfg->cgroup_driver = call->svc->config->cgroup_driver == CK_CGROUP_SYSTEMD
                                   ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
                                   : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
    r->linux = linux_cfg;
    *resp = &r->base;
    return 0;
}
