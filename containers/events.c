/*
 * events: one mutex for the hub's subscriber list; each subscriber a ring
 * buffer with its own condition variable. Publishing copies the event into
 * every ring under the hub lock (a few dozen bytes each), so the producer's
 * cost is bounded by the number of subscribers, never by their speed.
 */
#include "common/timeutil.h"
#include "containers/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct ck_event_sub {
    ck_event_sub *next;
    ck_event_hub *hub; /* its lock guards this ring too */
    ck_container_event *ring;
    size_t capacity, head, count;
    bool dropped;
    pthread_cond_t cv;
};

struct ck_event_hub {
    pthread_mutex_t mu;
    ck_event_sub *subs;
    size_t n_subs;
    bool closed;
};

ck_event_hub *ck_event_hub_new(void)
{
    ck_event_hub *hub = calloc(1, sizeof(*hub));
    if (hub != NULL)
        pthread_mutex_init(&hub->mu, NULL);
    return hub;
}

void ck_event_hub_close(ck_event_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    hub->closed = true;
    for (ck_event_sub *s = hub->subs; s != NULL; s = s->next)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&hub->mu);
}

void ck_event_hub_free(ck_event_hub *hub)
{
    if (hub == NULL)
        return;
    /* Subscribers unsubscribe before the hub goes; free any left over. */
    ck_event_sub *s = hub->subs;
    while (s != NULL) {
        ck_event_sub *next = s->next;
        pthread_cond_destroy(&s->cv);
        free(s->ring);
        free(s);
        s = next;
    }
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

void ck_event_publish(ck_event_hub *hub, const ck_container_event *ev)
{
    pthread_mutex_lock(&hub->mu);
    for (ck_event_sub *s = hub->subs; s != NULL; s = s->next) {
        if (s->dropped)
            continue;
        if (s->count == s->capacity) {
            s->dropped = true;
        } else {
            s->ring[(s->head + s->count) % s->capacity] = *ev;
            s->count++;
        }
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&hub->mu);
}

ck_event_sub *ck_event_subscribe(ck_event_hub *hub, size_t capacity)
{
    if (capacity == 0)
        capacity = 1;
    ck_event_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ring = calloc(capacity, sizeof(*s->ring));
    if (s->ring == NULL) {
        free(s);
        return NULL;
    }
    s->capacity = capacity;
    s->hub = hub;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);

    pthread_mutex_lock(&hub->mu);
    if (hub->closed) {
        pthread_mutex_unlock(&hub->mu);
        pthread_cond_destroy(&s->cv);
        free(s->ring);
        free(s);
        return NULL;
    }
    s->next = hub->subs;
    hub->subs = s;
    hub->n_subs++;
    pthread_mutex_unlock(&hub->mu);
    return s;
}

void ck_event_unsubscribe(ck_event_hub *hub, ck_event_sub *sub)
{
    if (sub == NULL)
        return;
    pthread_mutex_lock(&hub->mu);
    for (ck_event_sub **pp = &hub->subs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == sub) {
            *pp = sub->next;
            hub->n_subs--;
            break;
        }
    }
    pthread_mutex_unlock(&hub->mu);
    pthread_cond_destroy(&sub->cv);
    free(sub->ring);
    free(sub);
}

int ck_event_next(ck_event_sub *sub, ck_container_event *ev, int timeout_ms)
{
    ck_event_hub *hub = sub->hub;
    struct timespec until = ck_time_after_ms(CLOCK_MONOTONIC, timeout_ms);
    int result = CK_EVENT_TIMEOUT;
    pthread_mutex_lock(&hub->mu);
    for (;;) {
        if (sub->count > 0) {
            *ev = sub->ring[sub->head];
            sub->head = (sub->head + 1) % sub->capacity;
            sub->count--;
            result = CK_EVENT_GOT;
            break;
        }
        if (sub->dropped) {
            result = CK_EVENT_DROPPED;
            break;
        }
        if (hub->closed) {
            result = CK_EVENT_CLOSED;
            break;
        }
        if (pthread_cond_timedwait(&sub->cv, &hub->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&hub->mu);
    return result;
}

size_t ck_event_hub_subscribers(ck_event_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    size_t n = hub->n_subs;
    pthread_mutex_unlock(&hub->mu);
    return n;
}
