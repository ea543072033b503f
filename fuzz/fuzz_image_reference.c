/*
 * fuzz_image_reference: image reference parsing and normalization
 * (images/reference.c) on any bytes, as the kubelet's PullImage,
 * ImageStatus and RemoveImage hand them over. A reference either fails with
 * a message or parses; what parses must print (ck_ref_string) as a
 * reference that parses again to exactly the same parts, and its name, tag
 * and digest forms must fit the buffers the image domain uses for them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/reference.h"

static void same_or_abort(const ck_ref *a, const ck_ref *b, const char *printed)
{
    if (strcmp(a->domain, b->domain) != 0 || strcmp(a->path, b->path) != 0 || strcmp(a->tag, b->tag) != 0 ||
        strcmp(a->digest, b->digest) != 0) {
        fprintf(stderr, "\"%s\" parses to %s/%s:%s@%s, not %s/%s:%s@%s\n", printed, b->domain, b->path, b->tag,
                b->digest, a->domain, a->path, a->tag, a->digest);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    (void)ck_ref_is_image_id(s);
    ck_ref r;
    ck_err err;
    ck_err_clear(&err);
    if (ck_ref_parse(s, &r, &err) < 0) {
        if (err.kind != CK_E_INVALID || err.msg[0] == '\0')
            abort(); /* a refusal is always INVALID with a reason */
        free(s);
        return 0;
    }
    /* The forms the image domain stores, in buffers of the sizes it uses. */
    char full[1100], name[1024], tagged[1024], digested[1024];
    ck_ref_string(&r, full, sizeof(full));
    ck_ref_name(&r, name, sizeof(name));
    ck_ref_tagged(&r, tagged, sizeof(tagged));
    ck_ref_digested(&r, "sha256:0000000000000000000000000000000000000000000000000000000000000000", digested,
                    sizeof(digested));
    if (strlen(full) >= sizeof(full) - 1 || strlen(name) > CK_REF_NAME_MAX || r.path[0] == '\0' ||
        (r.tag[0] == '\0' && r.digest[0] == '\0'))
        abort();
    ck_ref again;
    if (ck_ref_parse(full, &again, &err) < 0) {
        fprintf(stderr, "\"%s\" (from \"%s\") does not parse again: %s\n", full, s, err.msg);
        abort();
    }
    same_or_abort(&r, &again, full);
    free(s);
    return 0;
}
