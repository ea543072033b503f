/*
 * sessions: the protocols served over an upgraded connection (conn.h):
 * remotecommand (exec, and attach as another backend of the same session:
 * the request's kind chooses) and port-forward. Each constructor takes over the request.
 */
#ifndef CK_STREAMING_SESSIONS_H
#define CK_STREAMING_SESSIONS_H

#include "common/err.h"
#include "streaming/conn.h"
#include "streaming/request.h"

typedef struct ck_containers ck_containers;

/* How long a SPDY client has to open the streams a session expects. */
enum { CK_STREAMS_TIMEOUT_MS = 30 * 1000 };

/* remotecommand (exec or attach, by req->kind) over SPDY (version 1..5: channel.k8s.io is 1, v5 is served
 * as v4) or WebSocket (version from the subprotocol). */
extern const ck_session_ops ck_exec_session_ops;
void *ck_exec_session_new(ck_stream_request *req, ck_containers *cs, ck_conn_transport transport, int version,
                          ck_err *err);

extern const ck_session_ops ck_portforward_session_ops;
void *ck_portforward_session_new(ck_stream_request *req, ck_conn_transport transport, ck_err *err);

#endif
