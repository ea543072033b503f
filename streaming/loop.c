/*
 * loop: epoll in level-triggered mode, so a handler that stops early (a
 * full send queue, a paused reader) loses nothing: the event comes again
 * once it is wanted again.
 */
#include "streaming/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

enum { LOOP_BATCH = 64 };

struct ck_loop {
    int epfd;
};

ck_loop *ck_loop_new(ck_err *err)
{
    ck_loop *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        ck_err_oom(err, "event loop");
        return NULL;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        ck_err_set(err, CK_E_INTERNAL, errno, "epoll_create1");
        free(l);
        return NULL;
    }
    return l;
}

void ck_loop_free(ck_loop *l)
{
    if (l == NULL)
        return;
    close(l->epfd);
    free(l);
}

int ck_loop_watch(ck_loop *l, ck_watch *w, int fd, uint32_t events, ck_watch_fn fn, void *ctx, ck_err *err)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "epoll_ctl add fd %d", fd);
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->ctx = ctx;
    return 0;
}

void ck_loop_want(ck_loop *l, ck_watch *w, uint32_t events)
{
    if (w->fd < 0 || w->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0)
        w->events = events;
}

void ck_loop_unwatch(ck_loop *l, ck_watch *w)
{
    if (w->fd < 0)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->fd = -1;
}

int ck_loop_run_once(ck_loop *l, int timeout_ms)
{
    struct epoll_event evs[LOOP_BATCH];
    int n = epoll_wait(l->epfd, evs, LOOP_BATCH, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        ck_watch *w = evs[i].data.ptr;
        if (w->fd >= 0) /* not unwatched by an earlier handler of this batch */
            w->fn(w->ctx, evs[i].events);
    }
    return n;
}
