/*
 * PullImage: the reference and the AuthConfig go to the images domain;
 * the answer is the image id, the reference the kubelet then uses. A client
 * that cancels or whose deadline passes stops the pull.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"
#include "images/registry.h"

#include <stdlib.h>

static bool call_done(void *arg)
{
    return ck_call_done(arg);
}

int ck_handle_pull_image(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__PullImageRequest *in = (const void *)req;
    const char *name;
    if (ck_image_spec_name(in->image, "PullImage", &name, err) < 0)
        return -1;
    ck_auth auth = {0};
    if (in->auth != NULL)
        auth = (ck_auth){in->auth->username, in->auth->password, in->auth->auth, in->auth->identity_token,
                         in->auth->registry_token};
    char *id = NULL;
    if (ck_images_pull(call->svc->images, name, in->auth != NULL ? &auth : NULL, call_done, call, &id, err) < 0)
        return -1;
    Runtime__V1__PullImageResponse *r =
        CK_NEW(call, Runtime__V1__PullImageResponse, runtime__v1__pull_image_response__init);
    if (r != NULL)
        r->image_ref = ck_call_strdup(call, id);
    free(id);
    if (r == NULL || r->image_ref == NULL)
        return ck_err_oom(err, "PullImage response");
    *resp = &r->base;
    return 0;
}
