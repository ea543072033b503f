/*
 * cancel: how a long domain operation learns that the call it serves is
 * over (the client cancelled, its deadline passed, the daemon is shutting
 * down) without knowing anything of gRPC: cri/ fills one from its call.
 * Every wait that could last (a lock held by a slow operation, a creation
 * in progress) checks it at least every CK_CANCEL_POLL_MS.
 */
#ifndef CK_COMMON_CANCEL_H
#define CK_COMMON_CANCEL_H

#include <stdbool.h>
#include <stddef.h>

enum { CK_CANCEL_POLL_MS = 100 };

typedef struct ck_cancel {
    bool (*done)(void *arg); /* NULL: never cancelled */
    void *arg;
} ck_cancel;

static inline bool ck_cancelled(const ck_cancel *c)
{
    return c != NULL && c->done != NULL && c->done(c->arg);
}

#endif
