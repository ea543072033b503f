/*
 * GetContainerEvents: a server stream of container lifecycle events, each
 * with its pod's status and its pod's container statuses. The
 * stream stays open until the client cancels or the daemon shuts down; a
 * client that falls so far behind that its queue overflows is dropped with
 * RESOURCE_EXHAUSTED (the kubelet then relists and reconnects).
 */
#include "containers/containers.h"
#include "containers/events.h"
#include "cri/container_view.h"
#include "cri/handlers.h"
#include "cri/pod_view.h"
#include "cri/services.h"

enum { SUBSCRIBER_QUEUE = 1024, WAKE_MS = 100 };

/* The pod's status and the statuses of its containers, as containerd
 * attaches them (the kubelet's evented PLEG reads them instead of asking). A
 * pod removed meanwhile has none; that is not an error. */
static void attach_statuses(ck_call *call, const char *pod_id, Runtime__V1__ContainerEventResponse *msg)
{
    ck_sandbox_view pv;
    ck_err e;
    ck_err_clear(&e);
    if (pod_id[0] == '\0' || ck_sandbox_status(call->svc->sandboxes, pod_id, &pv, &e) < 0)
        return;
    msg->pod_sandbox_status = ck_pod_status_message(call, &pv);
    ck_sandbox_view_clear(&pv);
    ck_container_filter f = {.pod_id = pod_id};
    ck_container_view *views = NULL;
    size_t n = 0;
    if (ck_container_list(call->svc->containers, &f, &views, &n, &e) < 0)
        return;
    msg->containers_statuses = ck_call_alloc(call, (n + 1) * sizeof(*msg->containers_statuses));
    for (size_t i = 0; msg->containers_statuses != NULL && i < n; i++) {
        Runtime__V1__ContainerStatus *st = ck_container_status_message(call, &views[i]);
        if (st != NULL)
            msg->containers_statuses[msg->n_containers_statuses++] = st;
    }
    ck_container_views_free(views, n);
}

static int send_event(ck_call *call, const ck_container_event *ev, ck_err *err)
{
    Runtime__V1__ContainerEventResponse msg;
    runtime__v1__container_event_response__init(&msg);
    msg.container_id = (char *)ev->container_id;
    msg.container_event_type = (Runtime__V1__ContainerEventType)ev->type;
    msg.created_at = ev->created_at_ns;
    /* A stream lives as long as the kubelet: each message's memory goes
     * with it. */
    ck_call_scratch_begin(call);
    attach_statuses(call, ev->pod_id, &msg);
    int rc = ck_call_send(call, &msg.base, err);
    ck_call_scratch_end(call);
    return rc;
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
