/*
 * GetContainerEvents: a server stream of container lifecycle events. The
 * stream stays open until the client cancels or the daemon shuts down; a
 * client that falls so far behind that its queue overflows is dropped with
 * RESOURCE_EXHAUSTED (the kubelet then relists and reconnects).
 */
#include "containers/events.h"
#include "cri/handlers.h"
#include "cri/services.h"

enum { SUBSCRIBER_QUEUE = 1024, WAKE_MS = 100 };

static int send_event(ck_call *call, const ck_container_event *ev, ck_err *err)
{
    Runtime__V1__ContainerEventResponse msg;
    runtime__v1__container_event_response__init(&msg);
    msg.container_id = (char *)ev->container_id;
    msg.container_event_type = (Runtime__V1__ContainerEventType)ev->type;
    msg.created_at = ev->created_at_ns;
    return ck_call_send(call, &msg.base, err);
}

int ck_handle_get_container_events(ck_call *call, const ProtobufCMessage *req, ck_err *err)
{
    (void)req;
    ck_event_hub *hub = call->svc->events;
    ck_event_sub *sub = ck_event_subscribe(hub, SUBSCRIBER_QUEUE);
    if (sub == NULL)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "GetContainerEvents: the event hub is closed");
    int rc = 0;
    while (rc == 0 && !ck_call_done(call)) {
        ck_container_event ev;
        switch (ck_event_next(sub, &ev, WAKE_MS)) {
        case CK_EVENT_GOT: rc = send_event(call, &ev, err); break;
        case CK_EVENT_DROPPED:
            rc = ck_err_set(err, CK_E_EXHAUSTED, 0, "GetContainerEvents: the client fell more than %d events behind",
                            SUBSCRIBER_QUEUE);
            break;
        case CK_EVENT_CLOSED:
            rc = ck_err_set(err, CK_E_UNAVAILABLE, 0, "GetContainerEvents: cricket is shutting down");
            break;
        default: break;
        }
    }
    ck_event_unsubscribe(hub, sub);
    if (rc == 0 && ck_call_done(call)) {
        /* The client cancelled, or the daemon is stopping. */
        return ck_err_set(err, call->client_cancelled ? CK_E_CANCELLED : CK_E_UNAVAILABLE, 0,
                          "GetContainerEvents: stream ended");
    }
    return rc;
}
