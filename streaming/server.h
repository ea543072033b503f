/*
 * server: the streaming server behind the URLs Exec, Attach and
 * PortForward return. libmicrohttpd serves HTTP/1.1 on streaming.address
 * and port (0: a free one) and does the upgrade: it checks the token
 * (single use, one minute: tokens.h), the upgrade (SPDY/3.1 with
 * X-Stream-Protocol-Version negotiation, or a WebSocket with its
 * subprotocol), answers 101 and hands the socket over. From then on one
 * thread serves every upgraded connection on an event loop (loop.h,
 * conn.h), with bounded buffers and back-pressure.
 *
 * Answers before the upgrade: 404 for an unknown, used or expired token
 * (or a path that is none of ours), 405 for a method other than GET and
 * POST, 400 with the reason for a bad upgrade, 403 when no protocol the
 * client offers is spoken here.
 *
 * With TLS (tls.h), libmicrohttpd does the handshake and, after the
 * upgrade, relays the decrypted bytes between the TLS socket and one end
 * of a socketpair from its own thread; the loop gets the other end, as it
 * would get the TCP socket without TLS, and closes it the same way
 * (MHD_upgrade_action). URLs then start with https://.
 */
#ifndef CK_STREAMING_SERVER_H
#define CK_STREAMING_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "streaming/request.h"

typedef struct ck_streaming ck_streaming;
typedef struct ck_containers ck_containers;

typedef struct ck_streaming_options {
    const char *address;    /* an IPv4 or IPv6 address of this host */
    unsigned port;          /* 0: a free port */
    long long token_ttl_ms; /* 0: CK_TOKENS_TTL_MS */
    bool tls;               /* HTTPS: with the pair below, or self-signed when it is NULL */
    const char *tls_cert_file;
    const char *tls_key_file;
} ck_streaming_options;

/* Starts serving; exec sessions start their processes through containers. */
int ck_streaming_start(const ck_streaming_options *opt, ck_containers *containers, ck_streaming **out, ck_err *err);
/* Ends every session (their processes killed and reaped) and stops. */
void ck_streaming_stop(ck_streaming *srv);

/* "http://127.0.0.1:PORT" ("https://" with TLS; IPv6 addresses in brackets), with the port
 * actually bound. */
const char *ck_streaming_base_url(const ck_streaming *srv);

/* Keeps a copy of req under a new token and writes its URL
 * ("<base>/exec/<token>") into url. */
int ck_streaming_put(ck_streaming *srv, const ck_stream_request *req, char *url, size_t size, ck_err *err);

#endif
