/*
 * ImageStatus: one image; a missing one is OK with no image. verbose adds
 * "info": our record (manifest, config, layers) as JSON.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"

int ck_handle_image_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ImageStatusRequest *in = (const void *)req;
    const char *name;
    if (ck_image_spec_name(in->image, "ImageStatus", &name, err) < 0)
        return -1;
    Runtime__V1__ImageStatusResponse *r =
        CK_NEW(call, Runtime__V1__ImageStatusResponse, runtime__v1__image_status_response__init);
    if (r == NULL)
        return ck_err_oom(err, "ImageStatus response");
    ck_image *img = NULL;
    ck_err e;
    ck_err_clear(&e);
    if (ck_images_get(call->svc->images, name, &img, &e) < 0) {
        if (e.kind != CK_E_NOT_FOUND) {
            ck_err_copy(err, &e);
            return ck_err_wrap(err, "ImageStatus");
        }
        *resp = &r->base;
        return 0;
    }
    r->image = ck_image_to_cri(call, img);
    if (r->image != NULL && in->verbose) {
        Runtime__V1__ImageStatusResponse__InfoEntry *entry = CK_NEW(
            call, Runtime__V1__ImageStatusResponse__InfoEntry, runtime__v1__image_status_response__info_entry__init);
        r->info = ck_call_alloc(call, sizeof(*r->info));
        if (entry != NULL && r->info != NULL) {
            entry->key = "info";
            entry->value = ck_call_strdup(call, img->record_json);
            r->info[0] = entry;
            r->n_info = entry->value != NULL ? 1 : 0;
        }
    }
    bool oom = r->image == NULL || (in->verbose && r->n_info == 0);
    ck_image_free(img);
    if (oom)
        return ck_err_oom(err, "ImageStatus response");
    *resp = &r->base;
    return 0;
}
