/*
 * tokens: the single-use tokens of the streaming URLs. Exec, Attach and
 * PortForward store their request here and answer with a URL holding the
 * token; the first connection that presents it takes the request, and
 * nobody else ever can. A token expires (ttl, one minute in the daemon, as
 * in the reference server). The table is bounded: when it is full the
 * oldest token is evicted, never the new one refused (a kubelet retrying
 * must always get a working URL). Thread-safe: RPC workers put, the HTTP
 * thread takes.
 */
#ifndef CK_STREAMING_TOKENS_H
#define CK_STREAMING_TOKENS_H

#include <stddef.h>

#include "common/err.h"
#include "streaming/request.h"

/* 32 lower-case hex digits: 128 random bits. */
enum { CK_TOKEN_LEN = 32 };

enum {
    CK_TOKENS_MAX = 1000,         /* outstanding tokens, as the reference server */
    CK_TOKENS_TTL_MS = 60 * 1000, /* a token's life */
};

typedef struct ck_tokens ck_tokens;

/* max outstanding tokens (> 0), each living ttl_ms. NULL when out of memory. */
ck_tokens *ck_tokens_new(size_t max, long long ttl_ms);
/* Frees the table and the requests still in it. */
void ck_tokens_free(ck_tokens *t);

/* Stores req, which the table owns from then on (on failure too), under a
 * new token written to token. */
int ck_tokens_put(ck_tokens *t, ck_stream_request *req, char token[CK_TOKEN_LEN + 1], ck_err *err);
/* The request of token, which the caller then owns; NULL when the token is
 * unknown, already taken, evicted or expired. */
ck_stream_request *ck_tokens_take(ck_tokens *t, const char *token);
/* Tokens outstanding (expired ones not counted). */
size_t ck_tokens_count(ck_tokens *t);

#endif
