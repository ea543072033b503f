/*
 * loop: the streaming server's one event loop (epoll), on which every
 * upgraded connection, the processes of its exec sessions and the sockets
 * of its port-forwards are served: no connection costs a thread.
 *
 * A watch is a descriptor, the events wanted and a function called with
 * the events that came. Watches live inside their owners' objects; an
 * owner that stops watching must keep the memory until the current batch
 * of events is dispatched (the server frees closed connections between
 * batches), because a later event of the same batch may still point at it:
 * dispatch skips a watch whose fd was reset by ck_loop_unwatch.
 */
#ifndef CK_STREAMING_LOOP_H
#define CK_STREAMING_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef struct ck_loop ck_loop;

typedef void (*ck_watch_fn)(void *ctx, uint32_t events);

typedef struct ck_watch {
    int fd; /* -1 when not watched */
    uint32_t events;
    ck_watch_fn fn;
    void *ctx;
} ck_watch;

/* A watch that watches nothing yet. */
#define CK_WATCH_INIT \
    {                 \
        .fd = -1      \
    }

ck_loop *ck_loop_new(ck_err *err);
void ck_loop_free(ck_loop *l);

/* Starts watching fd for events (EPOLLIN, EPOLLOUT; errors and hang-ups
 * always come). The descriptor stays the caller's. */
int ck_loop_watch(ck_loop *l, ck_watch *w, int fd, uint32_t events, ck_watch_fn fn, void *ctx, ck_err *err);
/* Changes the events wanted (no system call when they are the same). */
void ck_loop_want(ck_loop *l, ck_watch *w, uint32_t events);
/* Stops watching (the caller closes the descriptor after). No-op when
 * not watched. */
void ck_loop_unwatch(ck_loop *l, ck_watch *w);

/* Waits up to timeout_ms for events and dispatches them. -1 only when
 * epoll itself fails. */
int ck_loop_run_once(ck_loop *l, int timeout_ms);

#endif
