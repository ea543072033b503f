/*
 * fuzz_image_reference: the image reference parser (images/reference.c) on
 * any bytes. A reference that parses must normalize to a string that parses
 * again to itself (normalizing is idempotent); one that does not must say
 * why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_text.h"
#include "images/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_text(data, size);
    if (s == NULL)
        return 0;
    ck_ref r, again;
    ck_err err;
    ck_err_clear(&err);
    if (ck_ref_parse(s, &r, &err) == 0) {
        char norm[1200], norm2[1200];
        ck_ref_string(&r, norm, sizeof(norm));
        if (ck_ref_parse(norm, &again, &err) != 0)
            abort(); /* the normalized form must parse */
        ck_ref_string(&again, norm2, sizeof(norm2));
        if (strcmp(norm, norm2) != 0)
            abort(); /* and normalize to itself */
    } else if (err.kind != CK_E_INVALID || err.msg[0] == '\0') {
        abort(); /* a refusal names its reason */
    }
    free(s);
    return 0;
}
