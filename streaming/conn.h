/*
 * conn: one upgraded connection of the streaming server, on the event
 * loop: the socket, its bounded send queue, and the transport (SPDY/3.1
 * streams or WebSocket channels) that turns bytes into the events of a
 * session (remotecommand for exec and attach, port-forward) and the
 * session's writes into frames.
 *
 * A session names where it writes by a sid: a SPDY stream id, or a
 * WebSocket channel number. Back-pressure both ways: a session stops
 * reading its own descriptors while conn_congested() and gets drained()
 * when the queue has room again; a session that cannot take more input
 * pauses the connection's reading (conn_pause_input).
 *
 * Lifetime: the client going away (end of file, an error, a protocol
 * error, a WebSocket close) calls the session's gone(); a session ends the
 * connection with conn_finish() (its last bytes are flushed, then the
 * socket is half-closed and drained for a while so nothing sent is lost to
 * a reset). The connection is freed, with its session, once the socket is
 * closed and the session is not busy (an exec still reaping its process).
 */
#ifndef CK_STREAMING_CONN_H
#define CK_STREAMING_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "streaming/loop.h"
#include "streaming/spdy.h"
#include "streaming/websocket.h"

typedef struct ck_conn ck_conn;

typedef enum ck_conn_transport {
    CK_CONN_SPDY,
    CK_CONN_WEBSOCKET,
} ck_conn_transport;

typedef struct ck_session_ops {
    /* Once, when the connection is on the loop (WebSocket sessions start
     * here; SPDY ones wait for their streams); c is theirs to write to. */
    void (*start)(void *s, ck_conn *c);
    /* SPDY: a stream the client opened, already answered with SYN_REPLY.
     * -1 resets it. */
    int (*stream_opened)(void *s, uint32_t sid, const ck_spdy_frame *f);
    /* Data on a stream or channel; p is valid during the call only. */
    void (*data)(void *s, uint32_t sid, const uint8_t *p, size_t n);
    /* The client half-closed (or reset) a stream, or (v5) a channel. */
    void (*half_closed)(void *s, uint32_t sid);
    /* The send queue has room again. */
    void (*drained)(void *s);
    /* The client is gone: no more writes reach it. */
    void (*gone)(void *s);
    /* About twice a second: timeouts. */
    void (*tick)(void *s, long long now_ms);
    /* Still something to wait for after the socket closed. */
    bool (*busy)(void *s);
    void (*free)(void *s);
} ck_session_ops;

typedef struct ck_conn_params {
    ck_conn_transport transport;
    ck_ws_protocol ws_protocol; /* WebSocket */
    int fd;                     /* the upgraded socket; closed through close_socket */
    /* With TLS, fd is a socketpair libmicrohttpd relays to the client's TCP
     * socket, and it tells the client's leaving only once both directions
     * ended: this is that TCP socket (-1 without TLS), watched for its
     * hang-up only, never read. It stays open until close_socket. */
    int peer_fd;
    void (*close_socket)(void *arg);
    void *close_arg;
    const uint8_t *extra_in; /* bytes the HTTP server read past the request */
    size_t extra_in_len;
    const char *what; /* "exec abc123...", for logs */
} ck_conn_params;

enum {
    CK_CONN_OUT_HIGH = 256 * 1024, /* the send queue's bound: sessions stop reading above it */
    CK_CONN_OUT_LOW = 64 * 1024,   /* and start again below it */
    CK_CONN_CHUNK = 32 * 1024,     /* what a session reads from a descriptor at once */
};

/* A connection on loop with its session (ops, s); the session is freed
 * with it, on failure too. */
ck_conn *ck_conn_new(ck_loop *loop, const ck_conn_params *p, const ck_session_ops *ops, void *s, ck_err *err);
/* Frees a connection whose socket is closed (ck_conn_reapable). */
void ck_conn_free(ck_conn *c);
/* Closed and not busy: the server frees it between event batches. */
bool ck_conn_reapable(const ck_conn *c);
/* After each batch of events: a failure met while the session wrote is
 * told to it now (gone), never from inside its own call. */
void ck_conn_settle(ck_conn *c);
/* Timeouts of the connection and its session. */
void ck_conn_tick(ck_conn *c, long long now_ms);
/* The daemon stops: the client is told nothing more, the session gone. */
void ck_conn_abort(ck_conn *c);

ck_loop *conn_loop(const ck_conn *c);
ck_conn_transport conn_transport(const ck_conn *c);
ck_ws_protocol conn_ws_protocol(const ck_conn *c);
const char *conn_what(const ck_conn *c);

/* Queues data on a stream or channel (cut into frames of at most
 * CK_CONN_CHUNK). Writes after the client is gone are dropped. */
void conn_send(ck_conn *c, uint32_t sid, const void *p, size_t n);
/* SPDY: half-closes our side of a stream (an empty DATA with FIN); once
 * per stream. WebSocket: nothing (channels do not close). */
void conn_fin(ck_conn *c, uint32_t sid);
/* SPDY: resets a stream. */
void conn_reset(ck_conn *c, uint32_t sid);
bool conn_congested(const ck_conn *c);
bool conn_client_gone(const ck_conn *c);
void conn_pause_input(ck_conn *c, bool paused);
/* The session is done: flush, then close gracefully. */
void conn_finish(ck_conn *c);

#endif
