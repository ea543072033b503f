/*
 * conn: the socket side of an upgraded connection. Input is read into a
 * fixed buffer and parsed frame by frame; the session sees each event at
 * once (SPDY DATA pieces point into the buffer), and a paused session
 * leaves the rest of the buffer for later, so nothing more is read from
 * the socket until it resumes. Output goes to one send queue, flushed when
 * the socket takes it. States: open, finishing (the queue is flushed),
 * lingering (written side shut, input read and dropped until the client
 * closes or CONN_LINGER_MS pass), closed.
 */
#include "streaming/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

enum {
    CONN_IN_SIZE = 64 * 1024,
    CONN_LINGER_MS = 5000,
    PEER_GRACE_MS = 500, /* after the TLS client hung up, for the relay to pass on what it sent before */
    CONN_MAX_FINS = 64,  /* SPDY streams whose FIN we sent: exec has 5, port-forward 2 per connection at once */
};

typedef enum conn_state { CONN_OPEN, CONN_FINISHING, CONN_LINGERING, CONN_CLOSED } conn_state;

struct ck_conn {
    ck_loop *loop;
    ck_conn_params p;
    char what[128];
    ck_watch watch;
    ck_watch peer_watch;    /* p.peer_fd's hang-up */
    long long peer_gone_ms; /* when it came; 0: not yet */
    conn_state state;
    bool gone_told, gone_pending, input_paused, congested;
    long long linger_deadline;
    uint8_t *in;
    size_t in_off, in_len;
    ck_bytes out;
    size_t out_off;
    ck_spdy_parser *sp;
    ck_spdy_encoder *se;
    ck_ws_parser *wp;
    uint32_t fins[CONN_MAX_FINS]; /* SPDY streams we half-closed (a ring: old ones forgotten) */
    size_t n_fins;
    const ck_session_ops *ops;
    void *s;
};

static void conn_io(void *ctx, uint32_t events);

ck_loop *conn_loop(const ck_conn *c)
{
    return c->loop;
}
ck_conn_transport conn_transport(const ck_conn *c)
{
    return c->p.transport;
}
ck_ws_protocol conn_ws_protocol(const ck_conn *c)
{
    return c->p.ws_protocol;
}
const char *conn_what(const ck_conn *c)
{
    return c->what;
}
bool conn_client_gone(const ck_conn *c)
{
    return c->state == CONN_CLOSED || c->gone_told || c->gone_pending;
}
bool conn_congested(const ck_conn *c)
{
    return c->out.len - c->out_off > CK_CONN_OUT_HIGH;
}

static void close_socket(ck_conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    ck_loop_unwatch(c->loop, &c->watch);
    ck_loop_unwatch(c->loop, &c->peer_watch); /* before the relay's end closes that socket */
    c->p.close_socket(c->p.close_arg);
    c->state = CONN_CLOSED;
}

/* The client is gone (or we gave up on it): the session learns it once. */
static void client_gone(ck_conn *c)
{
    close_socket(c);
    if (!c->gone_told) {
        c->gone_told = true;
        c->ops->gone(c->s);
    }
}

static void fail(ck_conn *c, const char *why)
{
    ck_info("streaming", "%s: closing the connection: %s", c->what, why);
    client_gone(c);
}

/* A failure found while a session writes: the session hears of it after
 * the current event (ck_conn_settle), never from inside its own call. */
static void fail_later(ck_conn *c, const char *why)
{
    if (c->state == CONN_CLOSED)
        return;
    ck_info("streaming", "%s: closing the connection: %s", c->what, why);
    close_socket(c);
    c->gone_pending = !c->gone_told;
}

void ck_conn_settle(ck_conn *c)
{
    if (c->gone_pending) {
        c->gone_pending = false;
        client_gone(c);
    }
}

static uint32_t wanted_events(const ck_conn *c)
{
    uint32_t ev = 0;
    if (!c->input_paused || c->state == CONN_LINGERING)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (c->out.len > c->out_off)
        ev |= EPOLLOUT;
    return ev;
}

static void update_interest(ck_conn *c)
{
    if (c->state != CONN_CLOSED)
        ck_loop_want(c->loop, &c->watch, wanted_events(c));
}

static void start_linger(ck_conn *c)
{
    shutdown(c->p.fd, SHUT_WR);
    c->state = CONN_LINGERING;
    c->linger_deadline = ck_mono_ms() + CONN_LINGER_MS;
    update_interest(c);
}

/* Writes what the socket takes. */
static void flush(ck_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->p.fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            fail_later(c, strerror(errno));
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len)
        c->out_off = c->out.len = 0;
    if (c->state == CONN_FINISHING && c->out.len == 0)
        start_linger(c);
    update_interest(c);
    if (c->congested && c->out.len - c->out_off < CK_CONN_OUT_LOW && c->state == CONN_OPEN) {
        c->congested = false;
        c->ops->drained(c->s);
    }
}

/* After queueing: try to send at once, and note congestion. */
static void queued(ck_conn *c)
{
    if (conn_congested(c))
        c->congested = true;
    flush(c);
}

static bool writable(const ck_conn *c)
{
    return c->state == CONN_OPEN && !c->gone_told && !c->gone_pending;
}

static void out_of_step(ck_conn *c, const ck_err *err)
{
    ck_warn("streaming", "%s: %s", c->what, err->msg);
    fail_later(c, "cannot frame what we send");
}

void conn_send(ck_conn *c, uint32_t sid, const void *p, size_t n)
{
    const uint8_t *b = p;
    ck_err err;
    ck_err_clear(&err);
    do {
        if (!writable(c))
            return;
        size_t k = n > CK_CONN_CHUNK ? CK_CONN_CHUNK : n;
        int rc = c->p.transport == CK_CONN_SPDY
                     ? ck_spdy_put_data(&c->out, sid, 0, b, k, &err)
                     : ck_ws_put_channel(&c->out, c->p.ws_protocol, (uint8_t)sid, b, k, &err);
        if (rc < 0) {
            out_of_step(c, &err);
            return;
        }
        b += k;
        n -= k;
    } while (n > 0);
    queued(c);
}

static bool fin_sent(const ck_conn *c, uint32_t sid)
{
    size_t n = c->n_fins < CONN_MAX_FINS ? c->n_fins : CONN_MAX_FINS;
    for (size_t i = 0; i < n; i++)
        if (c->fins[i] == sid)
            return true;
    return false;
}

void conn_fin(ck_conn *c, uint32_t sid)
{
    if (c->p.transport != CK_CONN_SPDY || !writable(c) || fin_sent(c, sid))
        return;
    c->fins[c->n_fins++ % CONN_MAX_FINS] = sid;
    ck_err err;
    if (ck_spdy_put_data(&c->out, sid, CK_SPDY_FLAG_FIN, NULL, 0, &err) < 0) {
        out_of_step(c, &err);
        return;
    }
    queued(c);
}

void conn_reset(ck_conn *c, uint32_t sid)
{
    if (c->p.transport != CK_CONN_SPDY || !writable(c))
        return;
    ck_err err;
    if (ck_spdy_put_rst_stream(&c->out, sid, CK_SPDY_RST_CANCEL, &err) < 0) {
        out_of_step(c, &err);
        return;
    }
    queued(c);
}

void conn_pause_input(ck_conn *c, bool paused)
{
    if (c->input_paused == paused)
        return;
    c->input_paused = paused;
    update_interest(c);
    if (!paused && c->state == CONN_OPEN && c->in_off < c->in_len)
        conn_io(c, 0); /* what was left in the buffer first */
}

void conn_finish(ck_conn *c)
{
    if (c->state != CONN_OPEN)
        return;
    if (c->p.transport == CK_CONN_WEBSOCKET) {
        ck_err err;
        if (ck_ws_put_close(&c->out, CK_WS_CLOSE_NORMAL, "", &err) < 0)
            ck_warn("streaming", "%s: %s", c->what, err.msg);
    }
    c->state = CONN_FINISHING;
    flush(c);
}

/* ---- SPDY input ------------------------------------------------------------------- */

static void spdy_frame(ck_conn *c, const ck_spdy_frame *f)
{
    ck_err err;
    ck_err_clear(&err);
    switch (f->type) {
    case CK_SPDY_SYN_STREAM:
        if (ck_spdy_put_syn_reply(c->se, &c->out, f->stream_id, 0, NULL, 0, &err) < 0) {
            out_of_step(c, &err);
            return;
        }
        queued(c);
        if (c->ops->stream_opened(c->s, f->stream_id, f) < 0)
            conn_reset(c, f->stream_id);
        else if (f->flags & CK_SPDY_FLAG_FIN)
            c->ops->half_closed(c->s, f->stream_id);
        break;
    case CK_SPDY_DATA:
        if (f->data_len > 0)
            c->ops->data(c->s, f->stream_id, f->data, f->data_len);
        if (f->data_end && (f->flags & CK_SPDY_FLAG_FIN))
            c->ops->half_closed(c->s, f->stream_id);
        break;
    case CK_SPDY_RST_STREAM: c->ops->half_closed(c->s, f->stream_id); break;
    case CK_SPDY_PING:
        if (ck_spdy_put_ping(&c->out, f->ping_id, &err) < 0) {
            out_of_step(c, &err);
            return;
        }
        queued(c);
        break;
    case CK_SPDY_HEADERS:
        if (f->flags & CK_SPDY_FLAG_FIN)
            c->ops->half_closed(c->s, f->stream_id);
        break;
    default: break; /* SETTINGS, WINDOW_UPDATE (spdystream has no flow control), GOAWAY, SYN_REPLY */
    }
}

/* One frame (or DATA piece) from the buffer: 1, 0 when the buffer is used
 * up, -1 when the connection failed. */
static int spdy_step(ck_conn *c)
{
    ck_spdy_frame f;
    ck_err err;
    ck_err_clear(&err);
    size_t used = 0;
    int rc = ck_spdy_parse(c->sp, c->in + c->in_off, c->in_len - c->in_off, &used, &f, &err);
    c->in_off += used;
    if (rc < 0) {
        ck_bytes_free(&c->out);
        c->out_off = 0;
        ck_spdy_put_goaway(&c->out, 0, ck_spdy_goaway_status_for(&err), NULL);
        flush(c);
        fail(c, err.msg);
        return -1;
    }
    if (rc == 1)
        spdy_frame(c, &f);
    return rc;
}

/* ---- WebSocket input -------------------------------------------------------------- */

static void ws_message(ck_conn *c, ck_ws_event *ev)
{
    ck_ws_channel_msg m;
    ck_err err;
    int rc = ck_ws_channel_decode(c->p.ws_protocol, ev->data, ev->len, &m, &err);
    if (rc < 0) {
        fail(c, err.msg);
        return;
    }
    if (rc == 0)
        return;
    if (m.close)
        c->ops->half_closed(c->s, m.closed_channel);
    else if (m.len > 0)
        c->ops->data(c->s, m.channel, m.data, m.len);
}

static void ws_event(ck_conn *c, ck_ws_event *ev)
{
    ck_err err;
    ck_err_clear(&err);
    switch (ev->opcode) {
    case CK_WS_TEXT:
    case CK_WS_BINARY: ws_message(c, ev); break;
    case CK_WS_PING:
        if (ck_ws_put_frame(&c->out, CK_WS_PONG, true, NULL, ev->data, ev->len, &err) < 0) {
            out_of_step(c, &err);
            return;
        }
        queued(c);
        break;
    case CK_WS_CLOSE: fail(c, "the client closed the WebSocket"); break;
    default: break; /* PONG */
    }
}

static int ws_step(ck_conn *c)
{
    ck_ws_event ev;
    ck_err err;
    ck_err_clear(&err);
    size_t used = 0;
    int rc = ck_ws_parse(c->wp, c->in + c->in_off, c->in_len - c->in_off, &used, &ev, &err);
    c->in_off += used;
    if (rc < 0) {
        ck_ws_put_close(&c->out, ck_ws_close_code_for(&err), "", NULL);
        flush(c);
        fail(c, err.msg);
        return -1;
    }
    if (rc == 1)
        ws_event(c, &ev);
    return rc;
}

/* ---- the socket ------------------------------------------------------------------- */

/* Parses the buffer while the session takes input. */
static void consume(ck_conn *c)
{
    while (c->state == CONN_OPEN && !c->gone_told && !c->input_paused && c->in_off < c->in_len) {
        int rc = c->p.transport == CK_CONN_SPDY ? spdy_step(c) : ws_step(c);
        if (rc < 0)
            return;
        if (rc == 0 && c->in_off < c->in_len)
            break; /* cannot happen: a parser takes all it is given when no frame is complete */
    }
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
}

/* Reads once into an empty buffer: false when the client is gone. */
static bool read_some(ck_conn *c)
{
    ssize_t n = recv(c->p.fd, c->in, CONN_IN_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
    if (n <= 0) {
        if (c->state == CONN_LINGERING)
            close_socket(c);
        else
            fail(c, n == 0 ? "the client closed the connection" : strerror(errno));
        return false;
    }
    c->in_off = 0;
    c->in_len = (size_t)n;
    return true;
}

static void conn_io(void *ctx, uint32_t events)
{
    ck_conn *c = ctx;
    if (events & EPOLLOUT)
        flush(c);
    if (c->state == CONN_LINGERING) {
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
            read_some(c); /* dropped */
        return;
    }
    if (c->state != CONN_OPEN || c->gone_told)
        return;
    if (c->in_off < c->in_len) {
        consume(c);
        return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) && !c->input_paused && read_some(c))
        consume(c);
}

/* The TLS client's TCP socket hung up: what it sent before may still be in
 * the relay, so the connection ends a little later (ck_conn_tick). */
static void peer_io(void *ctx, uint32_t events)
{
    ck_conn *c = ctx;
    (void)events;
    ck_loop_unwatch(c->loop, &c->peer_watch); /* level-triggered: once is enough */
    c->peer_gone_ms = ck_mono_ms();
}

static int watch_peer(ck_conn *c, ck_err *err)
{
    if (c->p.peer_fd < 0)
        return 0;
    return ck_loop_watch(c->loop, &c->peer_watch, c->p.peer_fd, EPOLLRDHUP, peer_io, c, err);
}

static void drop_buffers(ck_conn *c)
{
    ck_spdy_parser_free(c->sp);
    ck_spdy_encoder_free(c->se);
    ck_ws_parser_free(c->wp);
    ck_bytes_free(&c->out);
    free(c->in);
}

ck_conn *ck_conn_new(ck_loop *loop, const ck_conn_params *p, const ck_session_ops *ops, void *s, ck_err *err)
{
    ck_conn *c = calloc(1, sizeof(*c));
    uint8_t *in = malloc(CONN_IN_SIZE);
    if (c == NULL || in == NULL || p->extra_in_len > CONN_IN_SIZE) {
        free(c);
        free(in);
        ops->free(s);
        p->close_socket(p->close_arg);
        ck_err_oom(err, "streaming connection");
        return NULL;
    }
    *c = (ck_conn){
        .loop = loop, .p = *p, .watch = CK_WATCH_INIT, .peer_watch = CK_WATCH_INIT, .in = in, .ops = ops, .s = s};
    snprintf(c->what, sizeof(c->what), "%s", p->what);
    if (p->extra_in_len > 0)
        memcpy(c->in, p->extra_in, p->extra_in_len);
    c->in_len = p->extra_in_len;
    c->p.extra_in = NULL;
    int rc = 0;
    if (p->transport == CK_CONN_SPDY) {
        c->sp = ck_spdy_parser_new(err);
        c->se = c->sp != NULL ? ck_spdy_encoder_new(err) : NULL;
        rc = c->se != NULL ? 0 : -1;
    } else {
        c->wp = ck_ws_parser_new(0, err);
        rc = c->wp != NULL ? 0 : -1;
    }
    if (rc == 0)
        rc = ck_loop_watch(loop, &c->watch, p->fd, EPOLLIN | EPOLLRDHUP, conn_io, c, err);
    if (rc == 0)
        rc = watch_peer(c, err);
    if (rc < 0) {
        close_socket(c);
        ops->free(s);
        drop_buffers(c);
        free(c);
        return NULL;
    }
    ops->start(s, c);
    if (c->in_len > 0)
        consume(c);
    return c;
}

bool ck_conn_reapable(const ck_conn *c)
{
    return c->state == CONN_CLOSED && !c->gone_pending && !c->ops->busy(c->s);
}

void ck_conn_free(ck_conn *c)
{
    if (c == NULL)
        return;
    close_socket(c);
    c->ops->free(c->s);
    drop_buffers(c);
    free(c);
}

void ck_conn_tick(ck_conn *c, long long now_ms)
{
    if (c->state == CONN_LINGERING && now_ms >= c->linger_deadline)
        close_socket(c);
    if (c->peer_gone_ms > 0 && now_ms - c->peer_gone_ms >= PEER_GRACE_MS && c->state != CONN_CLOSED)
        fail_later(c, "the client closed the connection");
    c->ops->tick(c->s, now_ms);
}

void ck_conn_abort(ck_conn *c)
{
    client_gone(c);
}
