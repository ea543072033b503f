/*
 * StreamImages: ListImages's answer in batches, so a node with many images
 * never builds one huge message.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"

/* arg: the listing (ck_image **); each batch is converted as it is sent. */
static int send_images(ck_call *call, void *arg, size_t from, size_t count, ck_err *err)
{
    Runtime__V1__StreamImagesResponse msg;
    runtime__v1__stream_images_response__init(&msg);
    msg.images = ck_images_to_cri(call, arg, from, count);
    msg.n_images = count;
    if (msg.images == NULL)
        return ck_err_oom(err, "StreamImages batch");
    return ck_call_send(call, &msg.base, err);
}

int ck_handle_stream_images(ck_call *call, const ProtobufCMessage *req, ck_err *err)
{
    const Runtime__V1__StreamImagesRequest *in = (const void *)req;
    ck_image **imgs = NULL;
    size_t n = 0;
    if (ck_images_list(call->svc->images, ck_image_filter_name(in->filter), &imgs, &n, err) < 0)
        return ck_err_wrap(err, "StreamImages");
    int rc = ck_call_send_batches(call, n, send_images, imgs, err);
    ck_images_free_list(imgs, n);
    return rc;
}
