/*
 * RemoveImage: by id, tag or digest reference; an image that is not there
 * is OK (the kubelet retries). A tag of an image with other tags removes
 * only that tag.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"

int ck_handle_remove_image(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__RemoveImageRequest *in = (const void *)req;
    const char *name;
    if (ck_image_spec_name(in->image, "RemoveImage", &name, err) < 0)
        return -1;
    if (ck_images_remove(call->svc->images, name, err) < 0)
        return -1;
    Runtime__V1__RemoveImageResponse *r =
        CK_NEW(call, Runtime__V1__RemoveImageResponse, runtime__v1__remove_image_response__init);
    if (r == NULL)
        return ck_err_oom(err, "RemoveImage response");
    *resp = &r->base;
    return 0;
}
