#include "test/critest/stream_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "streaming/bytes.h"
#include "streaming/websocket.h"

int crit_http_dial(const char *url, int rcvbuf, int timeout_s, char *path, size_t size, ck_err *err)
{
    const char *colon = strncmp(url, "http://", 7) == 0 ? strchr(url + 7, ':') : NULL;
    if (colon == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "not an http://host:port URL: %s", url);
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - url - 7), url + 7);
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    snprintf(path, size, "%s", end);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port == 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return ck_err_set(err, CK_E_INVALID, 0, "not an IPv4 host and port: %s", url);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "socket for %s", url);
    struct timeval tv = {.tv_sec = timeout_s};
    if ((rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return ck_err_set(err, CK_E_UNAVAILABLE, e, "connect to %s", url);
    }
    return fd;
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
