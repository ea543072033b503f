/*
 * ListImages and StreamImages: every image, or the one the filter names.
 * StreamImages sends the same listing in batches, so a node with many
 * images never builds one huge message.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"

static const char *filter_name(const Runtime__V1__ImageFilter *f)
{
    return f != NULL && f->image != NULL && f->image->image != NULL && f->image->image[0] != '\0' ? f->image->image
                                                                                                  : NULL;
}

static Runtime__V1__Image **convert(ck_call *call, ck_image **imgs, size_t from, size_t n)
{
    Runtime__V1__Image **out = ck_call_alloc(call, (n + 1) * sizeof(*out));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((out[i] = ck_image_to_cri(call, imgs[from + i])) == NULL)
            return NULL;
    return out;
}

int ck_handle_list_images(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ListImagesRequest *in = (const void *)req;
    ck_image **imgs = NULL;
    size_t n = 0;
    if (ck_images_list(call->svc->images, filter_name(in->filter), &imgs, &n, err) < 0)
        return ck_err_wrap(err, "ListImages");
    Runtime__V1__ListImagesResponse *r =
        CK_NEW(call, Runtime__V1__ListImagesResponse, runtime__v1__list_images_response__init);
    if (r != NULL && (r->images = convert(call, imgs, 0, n)) != NULL)
        r->n_images = n;
    ck_images_free_list(imgs, n);
    if (r == NULL || r->images == NULL)
        return ck_err_oom(err, "ListImages response");
    *resp = &r->base;
    return 0;
}

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
    msg.images = convert(call, b->imgs, from, count);
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
    if (ck_images_list(call->svc->images, filter_name(in->filter), &imgs, &n, err) < 0)
        return ck_err_wrap(err, "StreamImages");
    image_batches b = {imgs};
    int rc = ck_call_send_batches(call, n, send_images, &b, err);
    ck_images_free_list(imgs, n);
    return rc;
}
