/*
 * exit_watch: learns a container's exit when its monitor writes the exit
 * file (protocol.h, 3: renamed into the container's run dir), so the
 * record says EXITED and GetContainerEvents publishes STOPPED at once,
 * not at the next status or list. One inotify watch per created or
 * running container's run dir, one thread for all of them; the kernel
 * drops a watch by itself when its directory is removed.
 * A list trusts what it reads once the queue is empty and no event is
 * being handled (ct_watch_settled): an exit file renamed before the list
 * began is then recorded. An end without an exit file (the monitor killed
 * too) is found by the thread's sweep each CT_SWEEP_MS (list_cache.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "containers/containers_internal.h"

struct ct_watch_entry {
    int wd;
    char id[65];
};

static int find_wd(const ck_containers *cs, int wd)
{
    for (size_t i = 0; i < cs->n_watches; i++)
        if (cs->watches[i].wd == wd)
            return (int)i;
    return -1;
}

static bool id_of_wd(ck_containers *cs, int wd, char id[65])
{
    pthread_mutex_lock(&cs->watch_mu);
    int i = find_wd(cs, wd);
    if (i >= 0)
        memcpy(id, cs->watches[i].id, 65);
    pthread_mutex_unlock(&cs->watch_mu);
    return i >= 0;
}

static void forget_wd(ck_containers *cs, int wd)
{
    pthread_mutex_lock(&cs->watch_mu);
    int i = find_wd(cs, wd);
    if (i >= 0)
        cs->watches[i] = cs->watches[--cs->n_watches];
    pthread_mutex_unlock(&cs->watch_mu);
}

void ct_look_at(ck_containers *cs, const char *id)
{
    _cleanup_container_record_ ck_container_record row = {0};
    ck_err e;
    ck_err_clear(&e);
    if (ck_store_container_get(cs->store, id, &row, &e) < 0) {
        if (e.kind != CK_E_NOT_FOUND)
            ck_warn("containers", "container %s: exit watch: %s", id, e.msg);
        return;
    }
    /* A container removed meanwhile has nothing left to record. */
    if (ct_refresh(cs, &row, NULL, &e) < 0 && e.kind != CK_E_NOT_FOUND)
        ck_warn("containers", "container %s: exit watch: %s", id, e.msg);
}

/* Events were lost (the kernel's queue overflowed): every watched
 * container is looked at. */
static void look_at_all(ck_containers *cs)
{
    pthread_mutex_lock(&cs->watch_mu);
    size_t n = cs->n_watches;
    char(*ids)[65] = calloc(n + 1, sizeof(*ids));
    for (size_t i = 0; ids != NULL && i < n; i++)
        memcpy(ids[i], cs->watches[i].id, sizeof(ids[i]));
    pthread_mutex_unlock(&cs->watch_mu);
    if (ids == NULL) {
        /* The list cannot trust the watch any more: it checks itself. */
        ck_error("containers", "exit watch: events lost and out of memory: lists check every container");
        atomic_store(&cs->watch_failures, 1);
        return;
    }
    ck_warn("containers", "exit watch: the event queue overflowed: looking at all %zu containers", n);
    for (size_t i = 0; i < n; i++)
        ct_look_at(cs, ids[i]);
    free(ids);
}

static void handle_events(ck_containers *cs, const char *buf, ssize_t len)
{
    for (ssize_t off = 0; off < len;) {
        const struct inotify_event *ev = (const struct inotify_event *)(const void *)(buf + off);
        off += (ssize_t)(sizeof(*ev) + ev->len);
        char id[65];
        if (ev->mask & IN_Q_OVERFLOW)
            look_at_all(cs);
        else if (ev->mask & IN_IGNORED)
            forget_wd(cs, ev->wd);
        else if (ev->len > 0 && strcmp(ev->name, "exit") == 0 && id_of_wd(cs, ev->wd, id))
            ct_look_at(cs, id);
    }
}

static void set_handling(ck_containers *cs, bool on)
{
    pthread_mutex_lock(&cs->watch_mu);
    cs->watch_handling = on;
    if (!on)
        pthread_cond_broadcast(&cs->watch_cv);
    pthread_mutex_unlock(&cs->watch_mu);
}

/* Reads and handles what the queue holds; lists wait meanwhile
 * (ct_watch_settled). */
static void drain(ck_containers *cs, char *buf, size_t size)
{
    set_handling(cs, true);
    ssize_t n = read(cs->inotify_fd, buf, size);
    if (n > 0)
        handle_events(cs, buf, n);
    set_handling(cs, false);
}

static void *watch_thread(void *arg)
{
    ck_containers *cs = arg;
    _Alignas(struct inotify_event) char buf[16 * 1024];
    long long next_sweep = ck_mono_ms() + CT_SWEEP_MS;
    for (;;) {
        struct pollfd fds[2] = {{.fd = cs->inotify_fd, .events = POLLIN}, {.fd = cs->watch_stop_fd, .events = POLLIN}};
        long long wait = next_sweep - ck_mono_ms();
        int ready = poll(fds, 2, wait > 0 ? (int)wait : 0);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            ck_error("containers", "exit watch: poll: %s: exits are learnt at the next look", strerror(errno));
            break;
        }
        if (fds[1].revents != 0)
            break;
        if (fds[0].revents != 0)
            drain(cs, buf, sizeof(buf));
        if (ck_mono_ms() >= next_sweep) {
            ct_list_cache_sweep(cs);
            next_sweep = ck_mono_ms() + CT_SWEEP_MS;
        }
    }
    /* Exits are no longer learnt here: lists check for themselves. */
    atomic_store(&cs->watch_failures, 1);
    set_handling(cs, false);
    return NULL;
}

bool ct_watch_settled(ck_containers *cs)
{
    if (!cs->watching || atomic_load(&cs->watch_failures) != 0)
        return false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CT_SETTLE_S;
    bool settled = false;
    pthread_mutex_lock(&cs->watch_mu);
    for (;;) {
        int queued = 0;
        if (ioctl(cs->inotify_fd, FIONREAD, &queued) < 0)
            break;
        if (!cs->watch_handling && queued == 0) {
            settled = true;
            break;
        }
        if (pthread_cond_timedwait(&cs->watch_cv, &cs->watch_mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&cs->watch_mu);
    return settled && atomic_load(&cs->watch_failures) == 0;
}

int ct_watch_start(ck_containers *cs, ck_err *err)
{
    cs->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    cs->watch_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (cs->inotify_fd < 0 || cs->watch_stop_fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "exit watch: inotify");
    int rc = pthread_create(&cs->watch_thread, NULL, watch_thread, cs);
    if (rc != 0)
        return ck_err_set(err, CK_E_INTERNAL, rc, "exit watch: start its thread");
    cs->watching = true;
    return 0;
}

void ct_watch_stop(ck_containers *cs)
{
    if (cs->watching) {
        uint64_t one = 1;
        if (write(cs->watch_stop_fd, &one, sizeof(one)) < 0)
            ck_warn("containers", "exit watch: wake its thread: %s", strerror(errno));
        pthread_join(cs->watch_thread, NULL);
        cs->watching = false;
    }
    if (cs->inotify_fd >= 0)
        close(cs->inotify_fd);
    if (cs->watch_stop_fd >= 0)
        close(cs->watch_stop_fd);
    cs->inotify_fd = cs->watch_stop_fd = -1;
    free(cs->watches);
    cs->watches = NULL;
    cs->n_watches = cs->cap_watches = 0;
    pthread_mutex_destroy(&cs->watch_mu);
    pthread_cond_destroy(&cs->watch_cv);
}

static int remember(ck_containers *cs, int wd, const char *id)
{
    int rc = 0;
    pthread_mutex_lock(&cs->watch_mu);
    int i = find_wd(cs, wd);
    if (i < 0 && cs->n_watches == cs->cap_watches) {
        size_t cap = cs->cap_watches == 0 ? 64 : cs->cap_watches * 2;
        struct ct_watch_entry *w = realloc(cs->watches, cap * sizeof(*w));
        if (w == NULL)
            rc = -1;
        else {
            cs->watches = w;
            cs->cap_watches = cap;
        }
    }
    if (rc == 0) {
        struct ct_watch_entry *e = i >= 0 ? &cs->watches[i] : &cs->watches[cs->n_watches++];
        e->wd = wd;
        snprintf(e->id, sizeof(e->id), "%s", id);
    }
    pthread_mutex_unlock(&cs->watch_mu);
    return rc;
}

void ct_watch_add(ck_containers *cs, const char *id)
{
    if (!cs->watching)
        return;
    ct_paths p;
    ct_paths_init(cs, id, &p);
    int wd = inotify_add_watch(cs->inotify_fd, p.run_dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    if (wd < 0 || remember(cs, wd, id) < 0) {
        /* Not fatal: the exit is still learnt at the next status or list,
         * which from now on checks every container itself. */
        atomic_store(&cs->watch_failures, 1);
        ck_warn("containers", "container %s: watch its exit: %s", id, wd < 0 ? strerror(errno) : "out of memory");
        return;
    }
    /* An exit written before the watch existed would be missed: look once. */
    ct_look_at(cs, id);
}
