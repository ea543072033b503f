/*
 * arena: a region allocator for data whose lifetimes end together, such as
 * everything one RPC decodes and answers. Allocations are zeroed; nothing is
 * freed one by one; ck_arena_reset releases it all at once.
 *
 * Under AddressSanitizer every allocation is its own malloc, so overflows
 * between neighbouring objects are still caught in the sanitized test run.
 */
#ifndef CK_COMMON_ARENA_H
#define CK_COMMON_ARENA_H

#include <stddef.h>

typedef struct ck_arena_chunk ck_arena_chunk;

typedef struct ck_arena {
    ck_arena_chunk *chunks;
    size_t used;  /* bytes used in the newest chunk */
    size_t total; /* bytes handed out, for limits and metrics */
} ck_arena;

#define CK_ARENA_INIT \
    {                 \
        NULL, 0, 0    \
    }

/* Zeroed memory, aligned for any type, or NULL when out of memory. */
void *ck_arena_alloc(ck_arena *arena, size_t size);
char *ck_arena_strdup(ck_arena *arena, const char *s);
char *ck_arena_printf(ck_arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ck_arena_reset(ck_arena *arena);

#endif
