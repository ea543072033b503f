/* Version: who we are and which CRI we speak. */
#include "cri/handlers.h"

int ck_handle_version(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    (void)req; /* the kubelet's own API version needs no answer of its own */
    Runtime__V1__VersionResponse *r = CK_NEW(call, Runtime__V1__VersionResponse, runtime__v1__version_response__init);
    if (r == NULL)
        return ck_err_oom(err, "Version response");
    r->version = "0.1.0";
    r->runtime_name = "cricket";
    r->runtime_version = CK_VERSION;
    r->runtime_api_version = "v1";
    *resp = &r->base;
    return 0;
}
