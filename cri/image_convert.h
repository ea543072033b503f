/* image_convert: an images-domain ck_image as a CRI Image message, built in the call's arena. */
#ifndef CK_CRI_IMAGE_CONVERT_H
#define CK_CRI_IMAGE_CONVERT_H

#include "cri/handlers.h"
#include "images/images.h"

Runtime__V1__Image *ck_image_to_cri(ck_call *call, const ck_image *img);
/* imgs[from, from + n) converted (NULL when out of memory). */
Runtime__V1__Image **ck_images_to_cri(ck_call *call, ck_image **imgs, size_t from, size_t n);
/* The image an ImageFilter names, NULL for every image. */
const char *ck_image_filter_name(const Runtime__V1__ImageFilter *f);

/* The image named by an ImageSpec, or an INVALID_ARGUMENT error naming the RPC. */
int ck_image_spec_name(const Runtime__V1__ImageSpec *spec, const char *rpc, const char **name, ck_err *err);

#endif
