/*
 * bytes: the growable byte buffer the framers write into, and the
 * big-endian field readers and writers both wire formats use.
 *
 * An encoder appends whole frames to a ck_bytes the caller owns (the
 * server's send queue for one connection); on failure it leaves the buffer
 * as it was before the call, so a half-written frame is never queued. The
 * buffer grows by doubling; ck_bytes_free releases it.
 */
#ifndef CK_STREAMING_BYTES_H
#define CK_STREAMING_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct ck_bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
} ck_bytes;

/* Makes room for at least `more` bytes after len. CK_E_INTERNAL when out of memory. */
int ck_bytes_reserve(ck_bytes *b, size_t more, ck_err *err);

/* Appends n bytes (n may be 0; p may then be NULL). */
int ck_bytes_append(ck_bytes *b, const void *p, size_t n, ck_err *err);

void ck_bytes_free(ck_bytes *b);

static inline uint16_t ck_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ck_be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t ck_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ck_be64(const uint8_t *p)
{
    return (uint64_t)ck_be32(p) << 32 | ck_be32(p + 4);
}

static inline void ck_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ck_put_be24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void ck_put_be32(uint8_t *p, uint32_t v)
{
    ck_put_be16(p, (uint16_t)(v >> 16));
    ck_put_be16(p + 2, (uint16_t)v);
}

static inline void ck_put_be64(uint8_t *p, uint64_t v)
{
    ck_put_be32(p, (uint32_t)(v >> 32));
    ck_put_be32(p + 4, (uint32_t)v);
}

#endif
