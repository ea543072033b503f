/*
 * ImageFsInfo: bytes and inodes of our image data (content store and
 * unpacked layers) and of the containers' writable layers. crictl calls it
 * before most commands, the kubelet for image GC and eviction.
 */
#include "cri/handlers.h"
#include "cri/services.h"
#include "images/images.h"

static Runtime__V1__FilesystemUsage *usage(ck_call *call, const ck_fs_usage *u)
{
    Runtime__V1__FilesystemUsage *f = CK_NEW(call, Runtime__V1__FilesystemUsage, runtime__v1__filesystem_usage__init);
    Runtime__V1__FilesystemIdentifier *id =
        CK_NEW(call, Runtime__V1__FilesystemIdentifier, runtime__v1__filesystem_identifier__init);
    Runtime__V1__UInt64Value *bytes = CK_NEW(call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    Runtime__V1__UInt64Value *inodes = CK_NEW(call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    if (f == NULL || id == NULL || bytes == NULL || inodes == NULL)
        return NULL;
    id->mountpoint = ck_call_strdup(call, u->mountpoint);
    if (id->mountpoint == NULL)
        return NULL;
    bytes->value = u->used_bytes;
    inodes->value = u->inodes_used;
    f->timestamp = u->timestamp_ns;
    f->fs_id = id;
    f->used_bytes = bytes;
    f->inodes_used = inodes;
    return f;
}

int ck_handle_image_fs_info(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    (void)req;
    ck_fs_usage image_fs, container_fs;
    if (ck_images_fs_info(call->svc->images, &image_fs, &container_fs, err) < 0)
        return -1;
    Runtime__V1__ImageFsInfoResponse *r =
        CK_NEW(call, Runtime__V1__ImageFsInfoResponse, runtime__v1__image_fs_info_response__init);
    Runtime__V1__FilesystemUsage **img = ck_call_alloc(call, sizeof(*img));
    Runtime__V1__FilesystemUsage **ctr = ck_call_alloc(call, sizeof(*ctr));
    if (r == NULL || img == NULL || ctr == NULL || (img[0] = usage(call, &image_fs)) == NULL ||
        (ctr[0] = usage(call, &container_fs)) == NULL)
        return ck_err_oom(err, "ImageFsInfo response");
    r->image_filesystems = img;
    r->n_image_filesystems = 1;
    r->container_filesystems = ctr;
    r->n_container_filesystems = 1;
    *resp = &r->base;
    return 0;
}
