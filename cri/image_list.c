/*
 * ListImages: every image, or the one the filter names.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"

int ck_handle_list_images(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListImagesRequest *in = (const void *)req;
    ck_image **imgs = NULL;
    size_t n = 0;
    if (ck_images_list(call->svc->images, ck_image_filter_name(in->filter), &imgs, &n, err) < 0)
        return ck_err_wrap(err, "ListImages");
    Runtime__V1__ListImagesResponse *r =
        CK_NEW(call, Runtime__V1__ListImagesResponse, runtime__v1__list_images_response__init);
    if (r != NULL && (r->images = ck_images_to_cri(call, imgs, 0, n)) != NULL)
        r->n_images = n;
    ck_images_free_list(imgs, n);
    if (r == NULL || r->images == NULL)
        return ck_err_oom(err, "ListImages response");
    *resp = &r->base;
    return 0;
}
