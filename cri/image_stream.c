/*
 * StreamImages: ListImages's answer in batches, so a node with many images
 * never builds one huge message.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"

typedef struct image_batches {
    ck_image **imgs;
} image_batches;

/* Each batch is converted as it goes, so the arena holds one batch at a
 * time more than the listing itself. */
static int send_images(ck_call *call, void *arg, size_t from, size_t count, ck_err *err)
{
    const image_batches *b = arg;
    Runtime__V1__StreamImagesResponse msg;
    runtime__v1__stream_images_response__init(&msg);
    msg.images = ck_images_to_cri(call, b->imgs, from, count);
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
    image_batches b = {imgs};
    int rc = ck_call_send_batches(call, n, send_images, &b, err);
    ck_images_free_list(imgs, n);
    return rc;
}
