/*
 * server: the HTTP side (libmicrohttpd's own thread: requests, tokens,
 * handshakes) and the loop thread (every upgraded connection). They meet
 * in one place: the upgrade handler queues the socket (with the bytes the
 * HTTP server read past the request) and wakes the loop through an
 * eventfd; the loop makes the connection and its session. Connections are
 * freed between event batches, never while an event of theirs may still
 * be dispatched.
 */
#include "streaming/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/listen_addr.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "streaming/conn.h"
#include "streaming/loop.h"
#include "streaming/sessions.h"
#include "streaming/tls.h"
#include "streaming/tokens.h"

enum {
    TICK_MS = 500,
    HTTP_TIMEOUT_S = 30,        /* a request that does not arrive whole */
    HTTP_CONNECTIONS_MAX = 512, /* upgraded ones included */
    STOP_WAIT_MS = 3000,        /* for killed exec processes to be reaped */
    OFFERS_MAX = 16,
};

/* A connection upgraded by the HTTP thread, for the loop to take. */
typedef struct handoff {
    struct handoff *next;
    ck_stream_request *req;
    ck_conn_transport transport;
    ck_ws_protocol ws_protocol;
    int version;
    int fd;
    int peer_fd; /* TLS: the client's TCP socket (fd is then a relay's socketpair), else -1 */
    struct MHD_UpgradeResponseHandle *urh;
    uint8_t *extra_in;
    size_t extra_in_len;
} handoff;

/* A request between its handshake and its upgrade (MHD's req_cls). */
typedef struct pending {
    ck_stream_request *req;
    ck_conn_transport transport;
    ck_ws_protocol ws_protocol;
    int version;
} pending;

typedef struct conn_node {
    struct conn_node *next;
    ck_conn *conn;
} conn_node;

struct ck_streaming {
    struct MHD_Daemon *mhd;
    ck_tls_pair tls; /* cert_pem NULL: plain HTTP */
    ck_tokens *tokens;
    ck_containers *containers;
    char base_url[128];
    ck_loop *loop;
    int wake_fd;
    ck_watch wake_w;
    pthread_t thread;
    bool thread_started;
    atomic_bool stopping;
    pthread_mutex_t lock; /* handoffs */
    handoff *handoffs;
    conn_node *conns; /* the loop thread's only */
};

/* ---- answers before the upgrade ------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *mc, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result reply(struct MHD_Connection *mc, unsigned status, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    /* The analyzer loses the va_start above on some paths into reply(). */
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    int n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(text) - 1 ? (size_t)n : sizeof(text) - 2;
    text[len] = '\n';
    text[len + 1] = '\0';
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(mc, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- protocol negotiation ------------------------------------------------------------- */

typedef struct offers {
    char *list[OFFERS_MAX];
    size_t n;
    char all[512]; /* for messages */
} offers;

typedef struct offer_scan {
    const char *name;
    offers *o;
} offer_scan;

/* Every value of header sc->name, comma-separated lists split, in order. */
static enum MHD_Result scan_offer(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    offer_scan *sc = cls;
    if (strcasecmp(key, sc->name) != 0 || value == NULL)
        return MHD_YES;
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", value);
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t != NULL && sc->o->n < OFFERS_MAX; t = strtok_r(NULL, ", ", &save)) {
        sc->o->list[sc->o->n] = strdup(t);
        if (sc->o->list[sc->o->n] == NULL)
            break;
        size_t len = strlen(sc->o->all);
        snprintf(sc->o->all + len, sizeof(sc->o->all) - len, "%s%s", len > 0 ? ", " : "", t);
        sc->o->n++;
    }
    return MHD_YES;
}

static void offers_get(struct MHD_Connection *mc, const char *name, offers *o)
{
    memset(o, 0, sizeof(*o));
    offer_scan sc = {name, o};
    MHD_get_connection_values(mc, MHD_HEADER_KIND, scan_offer, &sc);
}

static void offers_clear(offers *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->list[i]);
    o->n = 0;
}

static const char *const exec_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
                                             "v2.channel.k8s.io", "channel.k8s.io"};
static const int exec_versions[] = {5, 4, 3, 2, 1};

/* The first protocol the client offers that we speak (the client's order
 * wins, as in the reference): its index, -1 when none, -2 when the client
 * offered nothing (the oldest protocol, no header in the answer). */
static int negotiate_spdy(ck_stream_kind kind, const offers *o)
{
    if (o->n == 0)
        return -2;
    for (size_t i = 0; i < o->n; i++) {
        if (kind == CK_STREAM_PORTFORWARD) {
            if (strcmp(o->list[i], "portforward.k8s.io") == 0)
                return 0;
            continue;
        }
        for (size_t k = 0; k < sizeof(exec_protocols) / sizeof(exec_protocols[0]); k++)
            if (strcmp(o->list[i], exec_protocols[k]) == 0)
                return (int)k;
    }
    return -1;
}

/* ---- the upgrade ---------------------------------------------------------------------- */

static void wake(ck_streaming *srv)
{
    uint64_t one = 1;
    if (write(srv->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        ck_warn("streaming", "wake the loop: %s", strerror(errno));
}

static void close_upgraded(void *arg)
{
    MHD_upgrade_action(arg, MHD_UPGRADE_ACTION_CLOSE);
}

/* With TLS the socket we get is a relay's; the client's own one is watched
 * for its hang-up, which the relay does not pass on (conn.h). */
static int client_socket(const ck_streaming *srv, struct MHD_Connection *mc)
{
    if (srv->tls.cert_pem == NULL)
        return -1;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info != NULL ? info->connect_fd : -1;
}

static void on_upgraded(void *cls, struct MHD_Connection *mc, void *req_cls, const char *extra_in, size_t extra_in_len,
                        MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    ck_streaming *srv = cls;
    pending *pd = req_cls;
    handoff *h = calloc(1, sizeof(*h));
    uint8_t *extra = extra_in_len > 0 ? malloc(extra_in_len) : NULL;
    if (h == NULL || (extra_in_len > 0 && extra == NULL) || pd == NULL || pd->req == NULL) {
        ck_error("streaming", "upgraded connection dropped: out of memory");
        free(h);
        free(extra);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    if (extra_in_len > 0)
        memcpy(extra, extra_in, extra_in_len);
    int flags = fcntl(sock, F_GETFL);
    if (flags >= 0)
        fcntl(sock, F_SETFL, flags | O_NONBLOCK);
    *h = (handoff){.req = pd->req,
                   .transport = pd->transport,
                   .ws_protocol = pd->ws_protocol,
                   .version = pd->version,
                   .fd = sock,
                   .peer_fd = client_socket(srv, mc),
                   .urh = urh,
                   .extra_in = extra,
                   .extra_in_len = extra_in_len};
    pd->req = NULL;
    pthread_mutex_lock(&srv->lock);
    h->next = srv->handoffs;
    srv->handoffs = h;
    pthread_mutex_unlock(&srv->lock);
    wake(srv);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    (void)toe;
    pending *pd = *req_cls;
    if (pd == NULL)
        return;
    ck_stream_request_free(pd->req);
    free(pd);
    *req_cls = NULL;
}

/* Queues the 101 with headers (name, value pairs, NULL-terminated). */
static enum MHD_Result switch_protocols(ck_streaming *srv, struct MHD_Connection *mc, void **req_cls, pending *pd,
                                        const char *const *headers)
{
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, srv);
    if (r == NULL) {
        ck_stream_request_free(pd->req);
        free(pd);
        return MHD_NO;
    }
    for (size_t i = 0; headers[i] != NULL; i += 2)
        if (headers[i + 1] != NULL && headers[i + 1][0] != '\0')
            MHD_add_response_header(r, headers[i], headers[i + 1]);
    *req_cls = pd;
    enum MHD_Result rc = MHD_queue_response(mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return rc;
}

static bool has_token(const char *value, const char *token)
{
    if (value == NULL)
        return false;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", value);
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save))
        if (strcasecmp(t, token) == 0)
            return true;
    return false;
}

static enum MHD_Result upgrade_spdy(ck_streaming *srv, struct MHD_Connection *mc, void **req_cls,
                                    ck_stream_request *req)
{
    offers o;
    offers_get(mc, "X-Stream-Protocol-Version", &o);
    int chosen = negotiate_spdy(req->kind, &o);
    if (chosen == -1) {
        enum MHD_Result rc =
            reply(mc, MHD_HTTP_FORBIDDEN, "no common protocol: the client offers %s; cricket speaks %s", o.all,
                  req->kind == CK_STREAM_PORTFORWARD ? "portforward.k8s.io"
                                                     : "v5.channel.k8s.io (as v4), v4.channel.k8s.io, "
                                                       "v3.channel.k8s.io, v2.channel.k8s.io, "
                                                       "channel.k8s.io");
        offers_clear(&o);
        ck_stream_request_free(req);
        return rc;
    }
    offers_clear(&o);
    pending *pd = calloc(1, sizeof(*pd));
    if (pd == NULL) {
        ck_stream_request_free(req);
        return MHD_NO;
    }
    const char *proto = "";
    pd->version = 1;
    if (chosen >= 0 && req->kind == CK_STREAM_PORTFORWARD) {
        proto = "portforward.k8s.io";
    } else if (chosen >= 0) {
        proto = exec_protocols[chosen];
        pd->version = exec_versions[chosen] == 5 ? 4 : exec_versions[chosen];
    }
    pd->req = req;
    pd->transport = CK_CONN_SPDY;
    const char *headers[] = {"Connection", "Upgrade", "Upgrade", "SPDY/3.1", "X-Stream-Protocol-Version", proto, NULL};
    return switch_protocols(srv, mc, req_cls, pd, headers);
}

typedef struct port_scan {
    ck_stream_request *req;
    bool bad;
    uint16_t ports[64];
    size_t n;
} port_scan;

static enum MHD_Result scan_port(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    port_scan *ps = cls;
    int64_t port;
    if (strcmp(key, "port") != 0)
        return MHD_YES;
    if (value == NULL || ck_parse_i64(value, 1, 65535, &port, NULL) < 0 || ps->n == 64) {
        ps->bad = true;
        return MHD_NO;
    }
    ps->ports[ps->n++] = (uint16_t)port;
    return MHD_YES;
}

/* WebSocket port-forward: the ports are the URL's (?port=80&port=8080). */
static int ports_from_query(struct MHD_Connection *mc, ck_stream_request *req)
{
    port_scan ps = {.req = req};
    MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, scan_port, &ps);
    if (ps.bad || ps.n == 0)
        return -1;
    uint16_t *ports = calloc(ps.n, sizeof(*ports));
    if (ports == NULL)
        return -1;
    memcpy(ports, ps.ports, ps.n * sizeof(*ports));
    free(req->ports);
    req->ports = ports;
    req->n_ports = ps.n;
    return 0;
}

static enum MHD_Result upgrade_websocket(ck_streaming *srv, struct MHD_Connection *mc, void **req_cls,
                                         ck_stream_request *req)
{
    const char *version = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    const char *key = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    char accept[CK_WS_ACCEPT_LEN + 1];
    ck_err err;
    ck_err_clear(&err);
    enum MHD_Result rc = MHD_YES;
    bool answered = false;
    if (version == NULL || strcmp(version, "13") != 0) {
        rc = reply(mc, MHD_HTTP_BAD_REQUEST, "bad upgrade: Sec-WebSocket-Version must be 13, not %s",
                   version != NULL ? version : "missing");
        answered = true;
    } else if (key == NULL || ck_ws_accept(key, accept, &err) < 0) {
        rc = reply(mc, MHD_HTTP_BAD_REQUEST, "bad upgrade: Sec-WebSocket-Key: %s", key == NULL ? "missing" : err.msg);
        answered = true;
    }
    ck_ws_protocol proto = CK_WS_PROTO_NONE;
    if (!answered) {
        offers o;
        offers_get(mc, "Sec-WebSocket-Protocol", &o);
        ck_ws_service service = req->kind == CK_STREAM_PORTFORWARD ? CK_WS_SERVICE_PORTFORWARD : CK_WS_SERVICE_EXEC;
        if (ck_ws_select_protocol(service, (const char *const *)o.list, o.n, &proto, &err) < 0) {
            rc = reply(mc, MHD_HTTP_FORBIDDEN, "%s", err.msg);
            answered = true;
        }
        offers_clear(&o);
    }
    if (!answered && req->kind == CK_STREAM_PORTFORWARD && ports_from_query(mc, req) < 0) {
        rc = reply(mc, MHD_HTTP_BAD_REQUEST, "port-forward over WebSocket: the URL must name the ports (?port=N)");
        answered = true;
    }
    pending *pd = answered ? NULL : calloc(1, sizeof(*pd));
    if (pd == NULL) {
        ck_stream_request_free(req);
        return answered ? rc : MHD_NO;
    }
    *pd = (pending){
        .req = req, .transport = CK_CONN_WEBSOCKET, .ws_protocol = proto, .version = ck_ws_protocol_version(proto)};
    const char *headers[] = {"Connection",
                             "Upgrade",
                             "Upgrade",
                             "websocket",
                             "Sec-WebSocket-Accept",
                             accept,
                             "Sec-WebSocket-Protocol",
                             ck_ws_protocol_name(proto),
                             NULL};
    return switch_protocols(srv, mc, req_cls, pd, headers);
}

/* "/exec/TOKEN": the kind, and the token into token. */
static int parse_path(const char *url, ck_stream_kind *kind, char *token, size_t size)
{
    const ck_stream_kind kinds[] = {CK_STREAM_EXEC, CK_STREAM_ATTACH, CK_STREAM_PORTFORWARD};
    for (size_t i = 0; i < 3; i++) {
        const char *name = ck_stream_kind_name(kinds[i]);
        size_t n = strlen(name);
        if (url[0] == '/' && strncmp(url + 1, name, n) == 0 && url[n + 1] == '/') {
            snprintf(token, size, "%s", url + n + 2);
            *kind = kinds[i];
            return 0;
        }
    }
    return -1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    ck_streaming *srv = cls;
    if (*req_cls != NULL) { /* a body: none is expected, and the answer is queued */
        *upload_data_size = 0;
        return MHD_YES;
    }
    ck_stream_kind kind;
    char token[128];
    if (parse_path(url, &kind, token, sizeof(token)) < 0)
        return reply(mc, MHD_HTTP_NOT_FOUND, "not found: %s", url);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        return reply(mc, MHD_HTTP_METHOD_NOT_ALLOWED, "%s: only GET and POST", method);
    ck_stream_request *req = ck_tokens_take(srv->tokens, token);
    if (req == NULL || req->kind != kind) {
        ck_stream_request_free(req);
        return reply(mc, MHD_HTTP_NOT_FOUND, "%s token unknown, already used or expired", ck_stream_kind_name(kind));
    }
    const char *upgrade = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Upgrade");
    const char *connection = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Connection");
    bool ws = upgrade != NULL && strcasecmp(upgrade, "websocket") == 0;
    bool spdy = upgrade != NULL && strcasecmp(upgrade, "SPDY/3.1") == 0;
    if (!has_token(connection, "upgrade") || (!ws && !spdy)) {
        ck_stream_request_free(req);
        return reply(mc, MHD_HTTP_BAD_REQUEST,
                     "bad upgrade: expected Connection: Upgrade and Upgrade: SPDY/3.1 or websocket (got "
                     "Connection: %s, Upgrade: %s)",
                     connection != NULL ? connection : "none", upgrade != NULL ? upgrade : "none");
    }
    return ws ? upgrade_websocket(srv, mc, req_cls, req) : upgrade_spdy(srv, mc, req_cls, req);
}

/* ---- the loop thread ------------------------------------------------------------------ */

static void handoff_free(handoff *h, bool close_it)
{
    if (close_it)
        MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
    ck_stream_request_free(h->req);
    free(h->extra_in);
    free(h);
}

static void *new_session(ck_streaming *srv, handoff *h, const ck_session_ops **ops, ck_err *err)
{
    ck_stream_request *req = h->req;
    h->req = NULL;
    switch (req->kind) {
    case CK_STREAM_EXEC:
    case CK_STREAM_ATTACH:
        *ops = &ck_exec_session_ops;
        return ck_exec_session_new(req, srv->containers, h->transport, h->version, err);
    case CK_STREAM_PORTFORWARD:
        *ops = &ck_portforward_session_ops;
        return ck_portforward_session_new(req, h->transport, err);
    }
    ck_stream_request_free(req);
    ck_err_set(err, CK_E_INTERNAL, 0, "unknown streaming request");
    return NULL;
}

static void adopt(ck_streaming *srv, handoff *h)
{
    char what[128];
    snprintf(what, sizeof(what), "%s %.12s%s%.12s", ck_stream_kind_name(h->req->kind), h->req->container_id,
             h->req->kind == CK_STREAM_PORTFORWARD ? "pod " : "", h->req->pod_id);
    ck_err err;
    ck_err_clear(&err);
    const ck_session_ops *ops = NULL;
    void *s = new_session(srv, h, &ops, &err);
    conn_node *node = s != NULL ? calloc(1, sizeof(*node)) : NULL;
    if (node == NULL) {
        if (s != NULL)
            ops->free(s);
        ck_warn("streaming", "%s: %s", what, s == NULL ? err.msg : "out of memory");
        handoff_free(h, true);
        return;
    }
    const ck_conn_params p = {.transport = h->transport,
                              .ws_protocol = h->ws_protocol,
                              .fd = h->fd,
                              .peer_fd = h->peer_fd,
                              .close_socket = close_upgraded,
                              .close_arg = h->urh,
                              .extra_in = h->extra_in,
                              .extra_in_len = h->extra_in_len,
                              .what = what};
    node->conn = ck_conn_new(srv->loop, &p, ops, s, &err);
    handoff_free(h, false);
    if (node->conn == NULL) {
        ck_warn("streaming", "%s: %s", what, err.msg);
        free(node);
        return;
    }
    node->next = srv->conns;
    srv->conns = node;
}

static void on_wake(void *ctx, uint32_t events)
{
    ck_streaming *srv = ctx;
    (void)events;
    uint64_t n;
    if (read(srv->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        ck_warn("streaming", "eventfd: %s", strerror(errno));
    pthread_mutex_lock(&srv->lock);
    handoff *h = srv->handoffs;
    srv->handoffs = NULL;
    pthread_mutex_unlock(&srv->lock);
    while (h != NULL) {
        handoff *next = h->next;
        adopt(srv, h);
        h = next;
    }
}

/* Between batches: failures told, closed connections freed. */
static void settle(ck_streaming *srv, bool tick)
{
    long long now = ck_mono_ms();
    for (conn_node **pp = &srv->conns; *pp != NULL;) {
        conn_node *n = *pp;
        ck_conn_settle(n->conn);
        if (tick)
            ck_conn_tick(n->conn, now);
        ck_conn_settle(n->conn);
        if (ck_conn_reapable(n->conn)) {
            *pp = n->next;
            ck_conn_free(n->conn);
            free(n);
        } else {
            pp = &n->next;
        }
    }
}

static void *loop_main(void *arg)
{
    ck_streaming *srv = arg;
    long long next_tick = ck_mono_ms() + TICK_MS;
    while (!atomic_load(&srv->stopping)) {
        if (ck_loop_run_once(srv->loop, TICK_MS) < 0) {
            ck_error("streaming", "epoll_wait: %s: the streaming server stops", strerror(errno));
            break;
        }
        bool tick = ck_mono_ms() >= next_tick;
        if (tick)
            next_tick = ck_mono_ms() + TICK_MS;
        settle(srv, tick);
    }
    /* Stopping: every client told nothing more, every exec killed, and
     * their runc reaped (bounded). */
    for (conn_node *n = srv->conns; n != NULL; n = n->next)
        ck_conn_abort(n->conn);
    long long deadline = ck_mono_ms() + STOP_WAIT_MS;
    while (srv->conns != NULL && ck_mono_ms() < deadline) {
        ck_loop_run_once(srv->loop, 50);
        settle(srv, false);
    }
    while (srv->conns != NULL) { /* freeing kills and reaps what is left */
        conn_node *n = srv->conns;
        srv->conns = n->next;
        ck_conn_free(n->conn);
        free(n);
    }
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

/* The key pair to serve, read and checked (or made) before anything starts;
 * and whether this libmicrohttpd can serve TLS and upgrade over it. */
static int prepare_tls(ck_streaming *srv, const ck_streaming_options *opt, ck_err *err)
{
    if (!opt->tls)
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
        MHD_is_feature_supported(MHD_FEATURE_UPGRADE) != MHD_YES)
        return ck_err_set(err, CK_E_UNIMPLEMENTED, 0,
                          "streaming.tls: this libmicrohttpd was built without TLS or without upgrade support");
    if (opt->tls_cert_file != NULL) {
        if (ck_tls_pair_load(opt->tls_cert_file, opt->tls_key_file, &srv->tls, err) < 0)
            return -1;
        ck_info("streaming", "TLS certificate %s, SHA-256 fingerprint %s", opt->tls_cert_file, srv->tls.fingerprint);
        return 0;
    }
    if (ck_tls_pair_self_signed(opt->address, &srv->tls, err) < 0)
        return -1;
    ck_info("streaming", "TLS with an ephemeral self-signed certificate for %s, SHA-256 fingerprint %s", opt->address,
            srv->tls.fingerprint);
    return 0;
}

/* One start for both: with TLS the flag and the key pair are added, the
 * pair through an option array that is empty without it. */
static struct MHD_Daemon *start_mhd(ck_streaming *srv, unsigned flags, const struct sockaddr *addr)
{
    bool tls = srv->tls.cert_pem != NULL;
    struct MHD_OptionItem pair[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls.cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls.key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags | (tls ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                            MHD_OPTION_ARRAY, tls ? pair : pair + 2, MHD_OPTION_END);
}

static int start_http(ck_streaming *srv, const ck_streaming_options *opt, ck_err *err)
{
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%u", opt->port);
    /* An address, not a name: it goes into the URLs clients are given. */
    if (ck_listen_addr("streaming.address", opt->address, service, true, &ai, err) < 0)
        return -1;
    /* epoll, not MHD's default select(): a node's daemon holds well over
     * FD_SETSIZE descriptors, and select() cannot watch one numbered 1024
     * or more (MHD refuses such a connection). */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    bool v6 = ai->ai_family == AF_INET6;
    if (v6)
        flags |= MHD_USE_IPv6;
    srv->mhd = start_mhd(srv, flags, ai->ai_addr);
    freeaddrinfo(ai);
    if (srv->mhd == NULL)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0,
                          "streaming server on %s port %u: cannot bind (in use, or not an address of this host)",
                          opt->address, opt->port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info != NULL ? info->port : opt->port;
    const char *scheme = srv->tls.cert_pem != NULL ? "https" : "http";
    snprintf(srv->base_url, sizeof(srv->base_url), v6 ? "%s://[%s]:%u" : "%s://%s:%u", scheme, opt->address, port);
    return 0;
}

static int start_loop(ck_streaming *srv, ck_err *err)
{
    srv->loop = ck_loop_new(err);
    if (srv->loop == NULL)
        return -1;
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->wake_fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "eventfd");
    if (ck_loop_watch(srv->loop, &srv->wake_w, srv->wake_fd, EPOLLIN, on_wake, srv, err) < 0)
        return -1;
    int rc = pthread_create(&srv->thread, NULL, loop_main, srv);
    if (rc != 0)
        return ck_err_set(err, CK_E_INTERNAL, rc, "streaming thread");
    srv->thread_started = true;
    return 0;
}

int ck_streaming_start(const ck_streaming_options *opt, ck_containers *containers, ck_streaming **out, ck_err *err)
{
    ck_streaming *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return ck_err_oom(err, "streaming server");
    srv->containers = containers;
    srv->wake_fd = -1;
    srv->wake_w = (ck_watch)CK_WATCH_INIT;
    pthread_mutex_init(&srv->lock, NULL);
    srv->tokens = ck_tokens_new(CK_TOKENS_MAX, opt->token_ttl_ms > 0 ? opt->token_ttl_ms : CK_TOKENS_TTL_MS);
    if (srv->tokens == NULL) {
        ck_streaming_stop(srv);
        return ck_err_oom(err, "streaming tokens");
    }
    if (prepare_tls(srv, opt, err) < 0 || start_loop(srv, err) < 0 || start_http(srv, opt, err) < 0) {
        ck_streaming_stop(srv);
        return -1;
    }
    ck_info("streaming", "serving exec, attach and port-forward on %s", srv->base_url);
    *out = srv;
    return 0;
}

void ck_streaming_stop(ck_streaming *srv)
{
    if (srv == NULL)
        return;
    if (srv->mhd != NULL)
        MHD_quiesce_daemon(srv->mhd);
    atomic_store(&srv->stopping, true);
    if (srv->thread_started) {
        wake(srv);
        pthread_join(srv->thread, NULL);
    }
    while (srv->handoffs != NULL) { /* upgraded after the loop stopped */
        handoff *h = srv->handoffs;
        srv->handoffs = h->next;
        handoff_free(h, true);
    }
    if (srv->mhd != NULL)
        MHD_stop_daemon(srv->mhd);
    while (srv->handoffs != NULL) {
        handoff *h = srv->handoffs;
        srv->handoffs = h->next;
        handoff_free(h, false);
    }
    ck_loop_unwatch(srv->loop, &srv->wake_w);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    ck_loop_free(srv->loop);
    ck_tokens_free(srv->tokens);
    ck_tls_pair_clear(&srv->tls);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}

const char *ck_streaming_base_url(const ck_streaming *srv)
{
    return srv->base_url;
}

int ck_streaming_put(ck_streaming *srv, const ck_stream_request *req, char *url, size_t size, ck_err *err)
{
    ck_stream_request *copy = ck_stream_request_dup(req, err);
    if (copy == NULL)
        return -1;
    char token[CK_TOKEN_LEN + 1];
    if (ck_tokens_put(srv->tokens, copy, token, err) < 0)
        return -1;
    int n = snprintf(url, size, "%s/%s/%s", srv->base_url, ck_stream_kind_name(req->kind), token);
    if (n < 0 || (size_t)n >= size)
        return ck_err_set(err, CK_E_INTERNAL, 0, "streaming URL longer than %zu bytes", size);
    return 0;
}
