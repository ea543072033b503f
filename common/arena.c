#include "common/arena.h"

#include <stdarg.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define CK_ARENA_ONE_MALLOC_EACH 1
#else
#define CK_ARENA_ONE_MALLOC_EACH 0
#endif

enum { CHUNK_SIZE = 16 * 1024 };

struct ck_arena_chunk {
    ck_arena_chunk *next;
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

static ck_arena_chunk *chunk_new(size_t size)
{
    ck_arena_chunk *c = calloc(1, sizeof(*c) + size);
    if (c != NULL)
        c->size = size;
    return c;
}

void *ck_arena_alloc(ck_arena *arena, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX - align - sizeof(ck_arena_chunk))
        return NULL;
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (rounded == 0)
        rounded = align;

    ck_arena_chunk *head = arena->chunks;
    if (!CK_ARENA_ONE_MALLOC_EACH && head != NULL && head->size - arena->used >= rounded) {
        void *p = head->data + arena->used;
        arena->used += rounded;
        arena->total += rounded;
        return p;
    }

    /* A big object gets a chunk of its own behind the head, so the head's
     * free space stays usable for the small ones that follow. */
    size_t want = (CK_ARENA_ONE_MALLOC_EACH || rounded > CHUNK_SIZE / 4) ? rounded : CHUNK_SIZE;
    ck_arena_chunk *c = chunk_new(want);
    if (c == NULL)
        return NULL;
    arena->total += rounded;
    if (want == rounded && head != NULL) {
        c->next = head->next;
        head->next = c;
        return c->data;
    }
    c->next = head;
    arena->chunks = c;
    arena->used = rounded;
    return c->data;
}

char *ck_arena_strdup(ck_arena *arena, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    char *d = ck_arena_alloc(arena, len + 1);
    if (d != NULL)
        memcpy(d, s, len + 1);
    return d;
}

char *ck_arena_printf(ck_arena *arena, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = ck_arena_alloc(arena, (size_t)n + 1);
    if (d == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

void ck_arena_reset(ck_arena *arena)
{
    ck_arena_chunk *c = arena->chunks;
    while (c != NULL) {
        ck_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    arena->chunks = NULL;
    arena->used = 0;
    arena->total = 0;
}
