#include "test/critest/stream_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "streaming/bytes.h"
#include "streaming/websocket.h"

static const char *TLS_CA; /* NULL: https:// servers are not verified */

void crit_tls_set_ca(const char *ca_file)
{
    TLS_CA = ca_file;
}

typedef struct dial_target {
    bool tls;
    char host[64];
    struct sockaddr_in sa;
} dial_target;

/* http[s]://IPv4:port: the target, and the rest of the URL into path. */
static int parse_url(const char *url, dial_target *t, char *path, size_t size, ck_err *err)
{
    t->tls = strncmp(url, "https://", 8) == 0;
    const char *host = url + (t->tls ? 8 : 7);
    const char *colon = t->tls || strncmp(url, "http://", 7) == 0 ? strchr(host, ':') : NULL;
    if (colon == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "not an http[s]://host:port URL: %s", url);
    snprintf(t->host, sizeof(t->host), "%.*s", (int)(colon - host), host);
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    snprintf(path, size, "%s", end);
    t->sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port == 0 || port > 65535 || inet_pton(AF_INET, t->host, &t->sa.sin_addr) != 1)
        return ck_err_set(err, CK_E_INVALID, 0, "not an IPv4 host and port: %s", url);
    return 0;
}

static int tcp_connect(const dial_target *t, const char *url, ck_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "socket for %s", url);
    if (connect(fd, (const struct sockaddr *)&t->sa, sizeof(t->sa)) != 0) {
        int e = errno;
        close(fd);
        return ck_err_set(err, CK_E_UNAVAILABLE, e, "connect to %s", url);
    }
    return fd;
}

/* ---- TLS: a handshake, then a relay thread ------------------------------------------- */

static const char *tls_reason(void)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : "connection closed";
}

/* A TLS client on the connected fd (owned by the result), verifying the
 * peer against ca_file and ip when ca_file is not NULL. */
static SSL *tls_handshake(int fd, const char *ca_file, const char *ip, const char *url, ck_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ck_err_set(err, CK_E_INTERNAL, 0, "TLS context: %s", tls_reason());
        close(fd);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, ca_file != NULL ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL *ssl = NULL;
    if (ca_file == NULL || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1)
        ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL keeps its own reference */
    bool ok = ssl != NULL && SSL_set_fd(ssl, fd) == 1 &&
              (ca_file == NULL || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) == 1) && SSL_connect(ssl) == 1;
    if (!ok) {
        long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
        ck_err_set(err, CK_E_UNAVAILABLE, 0, "TLS handshake with %s: %s", url,
                   v != X509_V_OK ? X509_verify_cert_error_string(v) : tls_reason());
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    return ssl;
}

typedef struct relay {
    SSL *ssl;
    int tcp, plain;
} relay;

static bool write_plain(int fd, const char *p, size_t n)
{
    ck_err err;
    return crit_http_send_all(fd, p, n, &err) == 0;
}

/* Waits until the non-blocking socket under ssl can do what the last call
 * (returning rc) wanted; false on an error that is no such wait. */
static bool tls_wait(SSL *ssl, int fd, int rc)
{
    int e = SSL_get_error(ssl, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return false;
    struct pollfd p = {fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
    return poll(&p, 1, -1) >= 0 || errno == EINTR;
}

static bool write_tls(relay *r, const char *p, size_t n)
{
    while (n > 0) {
        int k = SSL_write(r->ssl, p, (int)n);
        if (k <= 0 && !tls_wait(r->ssl, r->tcp, k))
            return false;
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
    return true;
}

/* Copies both ways until both directions ended (or one failed). */
static void *relay_main(void *arg)
{
    relay *r = arg;
    char buf[16384];
    bool from_tls = true, from_plain = true;
    while (from_tls || from_plain) {
        struct pollfd p[2] = {{from_plain ? r->plain : -1, POLLIN, 0}, {from_tls ? r->tcp : -1, POLLIN, 0}};
        bool pending = from_tls && SSL_pending(r->ssl) > 0;
        if (!pending && poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (pending || (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            int n = SSL_read(r->ssl, buf, sizeof(buf));
            if (n > 0 && !write_plain(r->plain, buf, (size_t)n))
                break;
            int e = n <= 0 ? SSL_get_error(r->ssl, n) : SSL_ERROR_NONE;
            /* (a session ticket, or half a record: nothing for the caller yet) */
            if (n <= 0 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                from_tls = false;
                shutdown(r->plain, SHUT_WR);
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(r->plain, buf, sizeof(buf), 0);
            if (n > 0 && !write_tls(r, buf, (size_t)n))
                break;
            if (n <= 0) {
                from_plain = false;
                SSL_shutdown(r->ssl); /* close_notify: our half-close */
                if (p[0].revents & POLLHUP)
                    break; /* the caller closed its end, not only shut down writing: so do we */
            }
        }
    }
    SSL_free(r->ssl);
    close(r->tcp);
    close(r->plain);
    free(r);
    return NULL;
}

/* The caller's end of a socketpair relayed to ssl by a detached thread. */
static int tls_relay(SSL *ssl, int tcp, const char *url, ck_err *err)
{
    int sv[2] = {-1, -1};
    relay *r = calloc(1, sizeof(*r));
    pthread_t t;
    if (r == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        free(r);
        SSL_free(ssl);
        close(tcp);
        return ck_err_set(err, CK_E_INTERNAL, errno, "TLS relay for %s", url);
    }
    *r = (relay){ssl, tcp, sv[1]};
    int flags = fcntl(tcp, F_GETFL);
    if (flags >= 0)
        fcntl(tcp, F_SETFL, flags | O_NONBLOCK); /* SSL_read must not wait for data while there is some to send */
    if (pthread_create(&t, NULL, relay_main, r) != 0) {
        free(r);
        SSL_free(ssl);
        close(tcp);
        close(sv[0]);
        close(sv[1]);
        return ck_err_set(err, CK_E_INTERNAL, 0, "TLS relay thread for %s", url);
    }
    pthread_detach(t);
    return sv[0];
}

int crit_http_dial(const char *url, int rcvbuf, int timeout_s, char *path, size_t size, ck_err *err)
{
    dial_target t;
    if (parse_url(url, &t, path, size, err) < 0)
        return -1;
    int fd = tcp_connect(&t, url, err);
    if (fd >= 0 && t.tls) {
        SSL *ssl = tls_handshake(fd, TLS_CA, t.host, url, err);
        fd = ssl != NULL ? tls_relay(ssl, fd, url, err) : -1;
    }
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = timeout_s};
    if ((rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
        int e = errno;
        close(fd);
        return ck_err_set(err, CK_E_INTERNAL, e, "socket options for %s", url);
    }
    return fd;
}

static void describe_names(X509 *cert, char *names, size_t nsize)
{
    char subject[256] = "";
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
    size_t len = (size_t)snprintf(names, nsize, "subject %s; subjectAltName", subject);
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && len < nsize; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        char ip[INET6_ADDRSTRLEN] = "?";
        if (g->type == GEN_IPADD && g->d.ip->length == 4)
            inet_ntop(AF_INET, g->d.ip->data, ip, sizeof(ip));
        len += (size_t)snprintf(names + len, nsize - len, " %s:%s", g->type == GEN_IPADD ? "IP" : "other", ip);
    }
    GENERAL_NAMES_free(sans);
}

int crit_tls_peer_certificate(const char *url, char *fingerprint, size_t fsize, char *names, size_t nsize, ck_err *err)
{
    dial_target t;
    char path[512];
    if (parse_url(url, &t, path, sizeof(path), err) < 0)
        return -1;
    int fd = tcp_connect(&t, url, err);
    SSL *ssl = fd >= 0 ? tls_handshake(fd, NULL, t.host, url, err) : NULL;
    if (ssl == NULL)
        return -1;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    int r = cert != NULL && X509_digest(cert, EVP_sha256(), md, &len) == 1
                ? 0
                : ck_err_set(err, CK_E_INVALID, 0, "%s: no peer certificate", url);
    for (size_t i = 0; r == 0 && i < len && 3 * i + 3 <= fsize; i++)
        snprintf(fingerprint + 3 * i, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
    if (r == 0)
        describe_names(cert, names, nsize);
    X509_free(cert);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    return r;
}

int crit_http_send_all(int fd, const void *p, size_t n, ck_err *err)
{
    const char *b = p;
    while (n > 0) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k <= 0)
            return ck_err_set(err, CK_E_UNAVAILABLE, k < 0 ? errno : 0, "send %zu bytes", n);
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads until the end of the response head. */
static int read_head(crit_http_conn *c, const char *url, ck_err *err)
{
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + have, sizeof(c->buf) - have, 0);
        if (n <= 0)
            return ck_err_set(err, CK_E_UNAVAILABLE, n < 0 ? errno : 0, "no HTTP answer from %s%s", url,
                              n == 0 ? " (closed)" : "");
        have += (size_t)n;
        uint8_t *end = memmem(c->buf, have, "\r\n\r\n", 4);
        if (end != NULL) {
            size_t head_len = (size_t)(end - c->buf) + 4;
            snprintf(c->head, sizeof(c->head), "%.*s", (int)head_len, (char *)c->buf);
            c->off = head_len;
            c->len = have;
            break;
        }
        if (have == sizeof(c->buf))
            return ck_err_set(err, CK_E_INVALID, 0, "HTTP head from %s too long", url);
    }
    if (strncmp(c->head, "HTTP/1.1 ", 9) != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "not an HTTP/1.1 answer from %s: %.40s", url, c->head);
    c->status = (int)strtol(c->head + 9, NULL, 10);
    return 0;
}

int crit_http_request(crit_http_conn *c, const char *url, const char *method, const char *headers, int rcvbuf,
                      int timeout_s, ck_err *err)
{
    char path[512], req[4096];
    memset(c, 0, sizeof(*c));
    c->fd = crit_http_dial(url, rcvbuf, timeout_s, path, sizeof(path), err);
    if (c->fd < 0)
        return -1;
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", method, path, headers);
    if (n < 0 || (size_t)n >= sizeof(req) || crit_http_send_all(c->fd, req, (size_t)n, err) < 0 ||
        read_head(c, url, err) < 0) {
        if (n < 0 || (size_t)n >= sizeof(req))
            ck_err_set(err, CK_E_INVALID, 0, "request to %s too long", url);
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

bool crit_http_head_has(const crit_http_conn *c, const char *line)
{
    return strcasestr(c->head, line) != NULL;
}

bool crit_http_fill(crit_http_conn *c)
{
    if (c->off == c->len)
        c->off = c->len = 0;
    if (c->len == sizeof(c->buf)) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    return true;
}

int crit_ws_connect(crit_http_conn *c, const char *url, const char *protocol, int timeout_s, ck_err *err)
{
    /* The key and its accept value are RFC 6455's own example. */
    char headers[512];
    snprintf(headers, sizeof(headers),
             "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: %s\r\n",
             protocol);
    if (crit_http_request(c, url, "GET", headers, 0, timeout_s, err) < 0)
        return -1;
    if (c->status == 101 && crit_http_head_has(c, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        return 0;
    ck_err_set(err, CK_E_INVALID, 0, "WebSocket upgrade to %s refused: %.200s", url, c->head);
    close(c->fd);
    c->fd = -1;
    return -1;
}

int crit_ws_next(crit_http_conn *c, uint8_t *msg, size_t size, size_t *len)
{
    for (;;) {
        size_t have = c->len - c->off;
        const uint8_t *p = c->buf + c->off;
        if (have >= 2) {
            size_t hdr = 2, plen = p[1] & 0x7f;
            if (plen == 126 && have >= 4) {
                plen = ck_be16(p + 2);
                hdr = 4;
            } else if (plen == 127 && have >= 10) {
                plen = (size_t)ck_be64(p + 2);
                hdr = 10;
            }
            if (((p[1] & 0x7f) < 126 || hdr > 2) && have >= hdr + plen) {
                *len = plen < size ? plen : size;
                memcpy(msg, p + hdr, *len);
                c->off += hdr + plen;
                return p[0] & 0x0f;
            }
        }
        if (!crit_http_fill(c))
            return -1;
    }
}
