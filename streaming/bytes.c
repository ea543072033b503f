/*
 * bytes: growth of ck_bytes. Sizes are checked before they are added, so a
 * length from the network can never wrap the capacity around.
 */
#include "streaming/bytes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int ck_bytes_reserve(ck_bytes *b, size_t more, ck_err *err)
{
    if (more <= b->cap - b->len)
        return 0;
    if (more > SIZE_MAX / 2 - b->len)
        return ck_err_set(err, CK_E_EXHAUSTED, 0, "byte buffer of %zu bytes cannot grow by %zu", b->len, more);
    size_t cap = b->cap > 0 ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL)
        return ck_err_oom(err, "byte buffer");
    b->data = data;
    b->cap = cap;
    return 0;
}

int ck_bytes_append(ck_bytes *b, const void *p, size_t n, ck_err *err)
{
    if (n == 0)
        return 0;
    if (ck_bytes_reserve(b, n, err) < 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void ck_bytes_free(ck_bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
