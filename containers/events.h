/*
 * events: the container lifecycle event hub behind GetContainerEvents.
 *
 * Publishers (the container and sandbox code, as state changes are recorded)
 * never block: each subscriber has a bounded queue, and a subscriber whose
 * queue is full is dropped (its stream ends, the kubelet reconnects and
 * relists) rather than slowing the producer.
 */
#ifndef CK_CONTAINERS_EVENTS_H
#define CK_CONTAINERS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

/* The values match the CRI's ContainerEventType. */
typedef enum ck_event_type {
    CK_EVENT_CONTAINER_CREATED = 0,
    CK_EVENT_CONTAINER_STARTED = 1,
    CK_EVENT_CONTAINER_STOPPED = 2,
    CK_EVENT_CONTAINER_DELETED = 3,
} ck_event_type;

typedef struct ck_container_event {
    ck_event_type type;
    char container_id[72];
    char pod_id[72];
    int64_t created_at_ns;
} ck_container_event;

typedef struct ck_event_hub ck_event_hub;
typedef struct ck_event_sub ck_event_sub;

enum {
    CK_EVENT_TIMEOUT = 0,  /* nothing arrived in time */
    CK_EVENT_GOT = 1,      /* *ev holds the next event */
    CK_EVENT_DROPPED = -1, /* this subscriber fell behind and was dropped */
    CK_EVENT_CLOSED = -2,  /* the hub is closing (daemon shutdown) */
};

ck_event_hub *ck_event_hub_new(void);
/* Wakes every subscriber with CK_EVENT_CLOSED; they still unsubscribe. */
void ck_event_hub_close(ck_event_hub *hub);
void ck_event_hub_free(ck_event_hub *hub);

void ck_event_publish(ck_event_hub *hub, const ck_container_event *ev);

/* NULL when out of memory or the hub is closed. */
ck_event_sub *ck_event_subscribe(ck_event_hub *hub, size_t capacity);
void ck_event_unsubscribe(ck_event_hub *hub, ck_event_sub *sub);
int ck_event_next(ck_event_sub *sub, ck_container_event *ev, int timeout_ms);

size_t ck_event_hub_subscribers(ck_event_hub *hub);

#endif
