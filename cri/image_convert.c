/*
 * image_convert: the one place that turns a ck_image into the CRI's Image.
 * The user of the image config becomes uid when it is numeric ("1000" or
 * "1000:1000") and username otherwise, as the kubelet expects.
 */
#include "cri/image_convert.h"

#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

static char **strv_copy(ck_call *call, char *const *v, size_t n)
{
    char **out = ck_call_alloc(call, (n + 1) * sizeof(char *));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((out[i] = ck_call_strdup(call, v[i])) == NULL)
            return NULL;
    return out;
}

static int set_user(ck_call *call, Runtime__V1__Image *out, const char *user)
{
    out->username = "";
    if (user == NULL || user[0] == '\0')
        return 0;
    size_t n = strcspn(user, ":");
    char name[256];
    snprintf(name, sizeof(name), "%.*s", (int)n, user);
    int64_t numeric;
    /* A uid is 32 bits; digits beyond that are no uid the kernel knows, kept as a name. */
    if (name[0] != '\0' && strspn(name, "0123456789") == strlen(name) &&
        ck_parse_i64(name, 0, UINT32_MAX, &numeric, NULL) == 0) {
        Runtime__V1__Int64Value *uid = CK_NEW(call, Runtime__V1__Int64Value, runtime__v1__int64_value__init);
        if (uid == NULL)
            return -1;
        uid->value = numeric;
        out->uid = uid;
        return 0;
    }
    out->username = ck_call_strdup(call, name);
    return out->username != NULL ? 0 : -1;
}

Runtime__V1__Image *ck_image_to_cri(ck_call *call, const ck_image *img)
{
    Runtime__V1__Image *out = CK_NEW(call, Runtime__V1__Image, runtime__v1__image__init);
    Runtime__V1__ImageSpec *spec = CK_NEW(call, Runtime__V1__ImageSpec, runtime__v1__image_spec__init);
    if (out == NULL || spec == NULL)
        return NULL;
    out->id = ck_call_strdup(call, img->id);
    out->repo_tags = strv_copy(call, img->repo_tags, img->n_repo_tags);
    out->n_repo_tags = img->n_repo_tags;
    out->repo_digests = strv_copy(call, img->repo_digests, img->n_repo_digests);
    out->n_repo_digests = img->n_repo_digests;
    out->size = img->size;
    out->pinned = img->pinned;
    spec->image = out->id;
    out->spec = spec;
    if (out->id == NULL || out->repo_tags == NULL || out->repo_digests == NULL || set_user(call, out, img->user) < 0)
        return NULL;
    return out;
}

int ck_image_spec_name(const Runtime__V1__ImageSpec *spec, const char *rpc, const char **name, ck_err *err)
{
    if (spec == NULL || spec->image == NULL || spec->image[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "%s: no image given (image.image is empty)", rpc);
    *name = spec->image;
    return 0;
}

const char *ck_image_filter_name(const Runtime__V1__ImageFilter *f)
{
    return f != NULL && f->image != NULL && f->image->image != NULL && f->image->image[0] != '\0' ? f->image->image
                                                                                                  : NULL;
}

Runtime__V1__Image **ck_images_to_cri(ck_call *call, ck_image **imgs, size_t from, size_t n)
{
    Runtime__V1__Image **out = ck_call_alloc(call, (n + 1) * sizeof(*out));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((out[i] = ck_image_to_cri(call, imgs[from + i])) == NULL)
            return NULL;
    return out;
}
