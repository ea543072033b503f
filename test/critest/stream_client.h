/*
 * stream_client: the client end of the streaming server's transport, as
 * small as the tests and benchmarks need it: plain HTTP/1.1 to the URL an
 * Exec/Attach/PortForward RPC returns, the upgrade request and response
 * head, and reading WebSocket messages after it. The SPDY and WebSocket
 * framing itself is streaming/spdy.h and streaming/websocket.h.
 *
 * https:// URLs go through TLS (OpenSSL): the dial returns one end of a
 * socketpair and a thread relays between it and the TLS connection, so the
 * callers read and write plain bytes on a socket either way (shutdown of
 * the write side sends the TLS close_notify).
 */
#ifndef CK_CRITEST_STREAM_CLIENT_H
#define CK_CRITEST_STREAM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct crit_http_conn {
    int fd;
    int status;
    char head[4096];    /* the response's status line and headers */
    uint8_t buf[65536]; /* read past the headers and not parsed yet */
    size_t off, len;
} crit_http_conn;

/* The CA file (PEM) https:// servers are verified against, also for their
 * IP address; NULL: no verification. */
void crit_tls_set_ca(const char *ca_file);

/* Connects to the host:port of an http:// or https://IPv4:port/... url (receive buffer
 * rcvbuf when > 0, reads time out after timeout_s); path gets the rest.
 * Returns the socket or -1. */
int crit_http_dial(const char *url, int rcvbuf, int timeout_s, char *path, size_t size, ck_err *err);

/* Completes a TLS handshake with the https:// url's server without
 * verifying it and describes its certificate: the SHA-256 fingerprint of
 * its DER ("AB:CD:...") and its subject and subjectAltName, one line. */
int crit_tls_peer_certificate(const char *url, char *fingerprint, size_t fsize, char *names, size_t nsize, ck_err *err);

/* Sends all n bytes. Returns 0 or -1. */
int crit_http_send_all(int fd, const void *p, size_t n, ck_err *err);

/* Sends `METHOD path` with extra header lines (each ending in \r\n) and
 * reads the response head into c (status and head); bytes after it stay in
 * c->buf. Returns 0 or -1 (c->fd is then closed or -1). */
int crit_http_request(crit_http_conn *c, const char *url, const char *method, const char *headers, int rcvbuf,
                      int timeout_s, ck_err *err);

/* Whether the response head holds line (case-insensitive). */
bool crit_http_head_has(const crit_http_conn *c, const char *line);

/* Reads more into the buffer; false at the end or on a timeout. */
bool crit_http_fill(crit_http_conn *c);

/* GETs url with a WebSocket upgrade offering protocol; 0 when the server
 * switched protocols with the right Sec-WebSocket-Accept. */
int crit_ws_connect(crit_http_conn *c, const char *url, const char *protocol, int timeout_s, ck_err *err);

/* The next server message: its opcode (CK_WS_CLOSE at the end), payload
 * (cut to size) into msg and its length into len; -1 when the connection
 * ended. Server frames are unmasked and taken as unfragmented. */
int crit_ws_next(crit_http_conn *c, uint8_t *msg, size_t size, size_t *len);

#endif
