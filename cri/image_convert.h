/* image_convert: an images-domain ck_image as a CRI Image message, built in the call's arena. */
#ifndef CK_CRI_IMAGE_CONVERT_H
#define CK_CRI_IMAGE_CONVERT_H

#include "cri/handlers.h"
#include "images/images.h"

Runtime__V1__Image *ck_image_to_cri(ck_call *call, const ck_image *img);

/* The image named by an ImageSpec, or an INVALID_ARGUMENT error naming the RPC. */
int ck_image_spec_name(const Runtime__V1__ImageSpec *spec, const char *rpc, const char **name, ck_err *err);

#endif
