/*
 * portforward: port-forward over a streaming connection. Each forwarded
 * connection is a pair: over SPDY two streams the client opens with the
 * same requestID (streamType error and data, the port in a header), over
 * WebSocket the channels 2n (data) and 2n+1 (error) of the n-th port the
 * URL names, each announced by a first message holding the port (two
 * bytes, little-endian).
 *
 * A pair dials 127.0.0.1:port (then [::1]:port) inside the pod's network
 * namespace: the socket is created by a short-lived thread that entered
 * the namespace (a socket stays in the namespace it was made in) and is
 * then served on the loop like any other descriptor, connecting without
 * blocking. A host-network pod's socket is made in the daemon's namespace.
 * Over SPDY the end of the socket ends the pair (both streams half-closed,
 * the socket closed), as in the reference server; the client's half-close
 * of the data stream only shuts the socket's writing side, so an answer
 * still comes back.
 * A failed dial writes its reason on the pair's error stream and closes
 * the pair; the connection and its other pairs go on.
 *
 * Bytes from the client go to the socket (held up to PENDING_MAX, then the
 * connection stops reading); bytes from the socket go to the client while
 * its send queue has room.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "streaming/sessions.h"

enum {
    MAX_PAIRS = 128,
    PENDING_MAX = 256 * 1024,
    REQUEST_ID_MAX = 64,
};

typedef struct pf_session pf_session;

typedef struct pair {
    pf_session *s;
    bool used;
    char request_id[REQUEST_ID_MAX];
    uint16_t port;
    uint32_t data_sid, err_sid;
    bool have_data, have_err;
    long long created_ms;
    int fd;
    ck_watch w;
    bool connecting, tried_v6;
    ck_bytes to_remote;
    bool client_done; /* the client half-closed the data stream */
    bool remote_done; /* the socket reached its end */
} pair;

struct pf_session {
    ck_conn *conn;
    ck_stream_request *req;
    ck_conn_transport transport;
    pair pairs[MAX_PAIRS];
};

/* ---- dialing in the pod's network namespace ------------------------------------------- */

typedef struct dial {
    const char *netns;
    uint16_t port;
    bool v6;
    int fd;
    int error;
} dial;

static void *dial_thread(void *arg)
{
    dial *d = arg;
    d->fd = -1;
    if (d->netns[0] != '\0') {
        int ns = open(d->netns, O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
            d->error = errno;
            if (ns >= 0)
                close(ns);
            return NULL;
        }
        close(ns);
    }
    d->fd = socket(d->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0) {
        d->error = errno;
        return NULL;
    }
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(d->port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(d->port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc =
        d->v6 ? connect(d->fd, (struct sockaddr *)&a6, sizeof(a6)) : connect(d->fd, (struct sockaddr *)&a4, sizeof(a4));
    d->error = rc < 0 && errno != EINPROGRESS ? errno : 0;
    return NULL;
}

/* A non-blocking socket connecting to localhost:port in netns ("" = ours):
 * the descriptor, or -1 with errno. */
static int dial_start(const char *netns, uint16_t port, bool v6)
{
    dial d = {.netns = netns, .port = port, .v6 = v6, .fd = -1};
    pthread_t t;
    int rc = pthread_create(&t, NULL, dial_thread, &d);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    pthread_join(t, NULL);
    if (d.error != 0) {
        if (d.fd >= 0)
            close(d.fd);
        errno = d.error;
        return -1;
    }
    return d.fd;
}

/* ---- pairs ---------------------------------------------------------------------------- */

static void pair_io(void *ctx, uint32_t events);

static void pair_free(pair *p)
{
    ck_loop_unwatch(conn_loop(p->s->conn), &p->w);
    if (p->fd >= 0)
        close(p->fd);
    ck_bytes_free(&p->to_remote);
    pf_session *s = p->s;
    memset(p, 0, sizeof(*p));
    p->s = s;
    p->fd = -1;
    p->w = (ck_watch)CK_WATCH_INIT;
}

/* The pair is over: both streams half-closed on our side, the socket gone. */
static void pair_close(pair *p)
{
    if (p->have_data)
        conn_fin(p->s->conn, p->data_sid);
    if (p->have_err)
        conn_fin(p->s->conn, p->err_sid);
    pair_free(p);
}

static void pair_error(pair *p, const char *fmt_reason)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "error forwarding port %u to pod %s: %s", p->port, p->s->req->pod_id, fmt_reason);
    ck_info("streaming", "%s: %s", conn_what(p->s->conn), msg);
    if (p->have_err)
        conn_send(p->s->conn, p->err_sid, msg, strlen(msg));
    if (p->s->transport == CK_CONN_SPDY)
        pair_close(p);
    else
        pair_free(p); /* WebSocket channels do not close: the pair just stops */
}

static uint32_t pair_events(const pair *p)
{
    if (p->fd < 0)
        return 0;
    if (p->connecting)
        return EPOLLOUT;
    uint32_t ev = 0;
    if (!p->remote_done && !conn_congested(p->s->conn))
        ev |= EPOLLIN | EPOLLRDHUP;
    if (p->to_remote.len > 0)
        ev |= EPOLLOUT;
    return ev;
}

static void pair_update(pair *p)
{
    ck_loop_want(conn_loop(p->s->conn), &p->w, pair_events(p));
}

static void pair_dial(pair *p, bool v6)
{
    p->tried_v6 = v6;
    ck_debug("streaming", "%s: dial localhost:%u (%s) in %s", conn_what(p->s->conn), p->port, v6 ? "IPv6" : "IPv4",
             p->s->req->netns[0] != '\0' ? p->s->req->netns : "the host's network");
    p->fd = dial_start(p->s->req->netns, p->port, v6);
    if (p->fd < 0) {
        if (!v6 && errno == ECONNREFUSED) {
            pair_dial(p, true);
            return;
        }
        char why[160];
        snprintf(why, sizeof(why), "dial localhost:%u: %s", p->port,
                 strerror(v6 && errno == EAFNOSUPPORT ? ECONNREFUSED : errno));
        pair_error(p, why);
        return;
    }
    p->connecting = true;
    ck_err err;
    if (ck_loop_watch(conn_loop(p->s->conn), &p->w, p->fd, EPOLLOUT, pair_io, p, &err) < 0)
        pair_error(p, err.msg);
}

/* The client's end of the data stream: shut the socket's writing side once
 * everything is written. */
static void pair_maybe_shut(pair *p)
{
    if (p->client_done && p->to_remote.len == 0 && p->fd >= 0 && !p->connecting)
        shutdown(p->fd, SHUT_WR);
    if (p->client_done && p->remote_done)
        pair_close(p);
}

static void pair_write(pair *p)
{
    size_t off = 0;
    while (off < p->to_remote.len) {
        ssize_t n = send(p->fd, p->to_remote.data + off, p->to_remote.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            pair_error(p, strerror(errno));
            return;
        }
        off += (size_t)n;
    }
    memmove(p->to_remote.data, p->to_remote.data + off, p->to_remote.len - off);
    p->to_remote.len -= off;
    conn_pause_input(p->s->conn, p->to_remote.len > PENDING_MAX);
    pair_maybe_shut(p);
}

static void pair_connected(pair *p)
{
    int e = 0;
    socklen_t len = sizeof(e);
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e == 0) {
        p->connecting = false;
        return;
    }
    ck_loop_unwatch(conn_loop(p->s->conn), &p->w);
    close(p->fd);
    p->fd = -1;
    p->connecting = false;
    if (e == ECONNREFUSED && !p->tried_v6) {
        pair_dial(p, true);
        return;
    }
    char why[160];
    snprintf(why, sizeof(why), "dial localhost:%u: %s", p->port, strerror(e));
    pair_error(p, why);
}

static void pair_read(pair *p)
{
    uint8_t buf[CK_CONN_CHUNK];
    ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        pair_error(p, strerror(errno));
        return;
    }
    if (n == 0) { /* the end of the forwarded connection ends the pair, as in the reference */
        if (p->s->transport == CK_CONN_SPDY)
            pair_close(p);
        else
            p->remote_done = true;
        return;
    }
    conn_send(p->s->conn, p->data_sid, buf, (size_t)n);
}

static void pair_io(void *ctx, uint32_t events)
{
    pair *p = ctx;
    if (p->connecting) {
        pair_connected(p);
        if (p->fd < 0 || p->connecting)
            return;
    }
    if ((events & EPOLLOUT) && p->to_remote.len > 0)
        pair_write(p);
    if (p->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) && !p->remote_done)
        pair_read(p);
    if (p->fd >= 0)
        pair_update(p);
}

static void pair_data(pair *p, const uint8_t *d, size_t n)
{
    if (p->client_done)
        return;
    ck_err err;
    if (ck_bytes_append(&p->to_remote, d, n, &err) < 0) {
        pair_error(p, err.msg);
        return;
    }
    if (p->fd >= 0 && !p->connecting)
        pair_write(p);
    else
        conn_pause_input(p->s->conn, p->to_remote.len > PENDING_MAX);
    if (p->fd >= 0)
        pair_update(p);
}

static pair *free_pair(pf_session *s)
{
    for (size_t i = 0; i < MAX_PAIRS; i++)
        if (!s->pairs[i].used)
            return &s->pairs[i];
    return NULL;
}

/* ---- SPDY streams --------------------------------------------------------------------- */

static pair *pair_by_request(pf_session *s, const char *request_id)
{
    for (size_t i = 0; i < MAX_PAIRS; i++)
        if (s->pairs[i].used && strcmp(s->pairs[i].request_id, request_id) == 0)
            return &s->pairs[i];
    return NULL;
}

static pair *pair_by_sid(pf_session *s, uint32_t sid, bool *is_data)
{
    for (size_t i = 0; i < MAX_PAIRS; i++) {
        pair *p = &s->pairs[i];
        if (p->used && ((p->have_data && p->data_sid == sid) || (p->have_err && p->err_sid == sid))) {
            *is_data = p->have_data && p->data_sid == sid;
            return p;
        }
    }
    return NULL;
}

static const char *header(const ck_spdy_frame *f, const char *name)
{
    const ck_spdy_header *h = ck_spdy_header_find(f, name);
    return h != NULL ? h->value : NULL;
}

static int op_stream_opened(void *ps, uint32_t sid, const ck_spdy_frame *f)
{
    pf_session *s = ps;
    const char *type = header(f, "streamtype"), *port = header(f, "port"), *rid = header(f, "requestid");
    int64_t port_n;
    if (type == NULL || port == NULL || ck_parse_i64(port, 1, 65535, &port_n, NULL) < 0) {
        ck_info("streaming", "%s: a stream without a valid streamType and port: reset", conn_what(s->conn));
        return -1;
    }
    bool data = strcmp(type, "data") == 0;
    if (!data && strcmp(type, "error") != 0)
        return -1;
    char id[REQUEST_ID_MAX];
    snprintf(id, sizeof(id), "%s", rid != NULL ? rid : port); /* old clients send no requestID */
    pair *p = pair_by_request(s, id);
    if (p == NULL) {
        p = free_pair(s);
        if (p == NULL)
            return -1;
        p->used = true;
        snprintf(p->request_id, sizeof(p->request_id), "%s", id);
        p->port = (uint16_t)port_n;
        p->created_ms = ck_mono_ms();
    }
    if ((data && p->have_data) || (!data && p->have_err))
        return -1;
    if (data) {
        p->have_data = true;
        p->data_sid = sid;
    } else {
        p->have_err = true;
        p->err_sid = sid;
    }
    if (p->have_data && p->have_err)
        pair_dial(p, false);
    return 0;
}

/* ---- session operations --------------------------------------------------------------- */

static void op_start(void *ps, ck_conn *c)
{
    pf_session *s = ps;
    s->conn = c;
    if (s->transport != CK_CONN_WEBSOCKET)
        return;
    for (size_t i = 0; i < s->req->n_ports && i < MAX_PAIRS / 2; i++) {
        pair *p = &s->pairs[i];
        p->used = true;
        p->port = s->req->ports[i];
        p->have_data = p->have_err = true;
        p->data_sid = (uint32_t)(2 * i);
        p->err_sid = (uint32_t)(2 * i + 1);
        uint8_t le[2] = {(uint8_t)(p->port & 0xff), (uint8_t)(p->port >> 8)};
        conn_send(c, p->data_sid, le, 2);
        conn_send(c, p->err_sid, le, 2);
    }
    for (size_t i = 0; i < s->req->n_ports && i < MAX_PAIRS / 2; i++)
        if (s->pairs[i].used)
            pair_dial(&s->pairs[i], false);
}

static void op_data(void *ps, uint32_t sid, const uint8_t *d, size_t n)
{
    pf_session *s = ps;
    bool is_data = false;
    pair *p = pair_by_sid(s, sid, &is_data);
    if (p != NULL && is_data)
        pair_data(p, d, n);
}

static void op_half_closed(void *ps, uint32_t sid)
{
    pf_session *s = ps;
    bool is_data = false;
    pair *p = pair_by_sid(s, sid, &is_data);
    if (p == NULL || !is_data)
        return;
    p->client_done = true;
    if (p->fd < 0 && !p->connecting) { /* not dialed yet, or failed */
        pair_close(p);
        return;
    }
    pair_maybe_shut(p);
}

static void op_drained(void *ps)
{
    pf_session *s = ps;
    for (size_t i = 0; i < MAX_PAIRS; i++)
        if (s->pairs[i].used && s->pairs[i].fd >= 0)
            pair_update(&s->pairs[i]);
}

static void op_gone(void *ps)
{
    pf_session *s = ps;
    for (size_t i = 0; i < MAX_PAIRS; i++)
        if (s->pairs[i].used)
            pair_free(&s->pairs[i]);
}

static void op_tick(void *ps, long long now)
{
    pf_session *s = ps;
    for (size_t i = 0; i < MAX_PAIRS; i++) {
        pair *p = &s->pairs[i];
        if (p->used && !(p->have_data && p->have_err) && now - p->created_ms > CK_STREAMS_TIMEOUT_MS) {
            ck_info("streaming", "%s: request %s got only one of its two streams: reset", conn_what(s->conn),
                    p->request_id);
            conn_reset(s->conn, p->have_data ? p->data_sid : p->err_sid);
            pair_free(p);
        }
    }
}

static bool op_busy(void *ps)
{
    (void)ps;
    return false;
}

static void op_free(void *ps)
{
    pf_session *s = ps;
    if (s == NULL)
        return;
    if (s->conn != NULL)
        op_gone(s);
    ck_stream_request_free(s->req);
    free(s);
}

const ck_session_ops ck_portforward_session_ops = {
    .start = op_start,
    .stream_opened = op_stream_opened,
    .data = op_data,
    .half_closed = op_half_closed,
    .drained = op_drained,
    .gone = op_gone,
    .tick = op_tick,
    .busy = op_busy,
    .free = op_free,
};

void *ck_portforward_session_new(ck_stream_request *req, ck_conn_transport transport, ck_err *err)
{
    pf_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        ck_stream_request_free(req);
        ck_err_oom(err, "port-forward session");
        return NULL;
    }
    s->req = req;
    s->transport = transport;
    for (size_t i = 0; i < MAX_PAIRS; i++) {
        s->pairs[i].s = s;
        s->pairs[i].fd = -1;
        s->pairs[i].w = (ck_watch)CK_WATCH_INIT;
    }
    return s;
}
