/*
 * fuzz_text: the one way a fuzz target turns its input bytes into a C
 * string. The copy is made by hand: strndup may read one byte past an input
 * that does not end in NUL, which ASan then reports as the target's bug.
 */
#ifndef CK_FUZZ_TEXT_H
#define CK_FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of [data, data + size) (cut at an inner NUL when
 * read as a string), or NULL when out of memory. The caller frees it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return NULL;
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
