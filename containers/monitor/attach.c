/*
 * attach: the attach socket (protocol.h, section 6). A SOCK_SEQPACKET
 * listener and a fixed table of CK_MON_ATTACH_CLIENTS clients; nothing is
 * allocated. Output goes to every client with one non-blocking send per
 * message: a client whose socket has no room is closed on the spot, so a
 * slow reader costs the container and the log nothing, and never sees a
 * stream with a hole in it. What clients send is stdin; io.c decides where
 * it goes and when the container's stdin ends.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "containers/monitor/monitor.h"

int mon_attach_listen(mon_attach *a, const char *path)
{
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++)
        a->clients[i] = (mon_client){.fd = -1};
    a->lfd = mon_unix_listen(path, SOCK_SEQPACKET, CK_MON_ATTACH_CLIENTS);
    return a->lfd < 0 ? -1 : 0;
}

void mon_attach_pollfds(const mon_attach *a, struct pollfd *p, bool read_clients)
{
    p[0] = (struct pollfd){.fd = a->lfd, .events = POLLIN};
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++) {
        const mon_client *c = &a->clients[i];
        /* A client whose stdin ended is watched for its hang-up only. */
        short events = c->reading ? POLLIN : 0;
        p[1 + i] = (struct pollfd){.fd = read_clients ? c->fd : -1, .events = events};
    }
}

void mon_attach_accept(mon_attach *a)
{
    int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++)
        if (a->clients[i].fd < 0) {
            a->clients[i] = (mon_client){.fd = fd, .reading = true};
            return;
        }
    close(fd); /* full: the client sees end of file at once */
}

/* Closes client i; true when it had sent stdin and not ended it. */
static bool drop(mon_attach *a, int i)
{
    mon_client *c = &a->clients[i];
    bool stdin_open = c->sent_stdin && c->reading;
    close(c->fd);
    *c = (mon_client){.fd = -1};
    return stdin_open;
}

int mon_attach_send(mon_attach *a, int stream, const char *data, size_t n)
{
    unsigned char id = (unsigned char)stream;
    struct iovec iov[2] = {{&id, 1}, {(char *)data, n}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    int ended = 0;
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++) {
        if (a->clients[i].fd < 0)
            continue;
        ssize_t w;
        while ((w = sendmsg(a->clients[i].fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {
        }
        if (w != (ssize_t)(n + 1) && drop(a, i)) /* no room (EAGAIN), or gone */
            ended++;
    }
    return ended;
}

void mon_attach_end(mon_attach *a)
{
    const unsigned char end = CK_MON_ATTACH_END;
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++) {
        if (a->clients[i].fd < 0)
            continue;
        ssize_t w;
        while ((w = send(a->clients[i].fd, &end, 1, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {
        }
        if (w != 1) /* no room: behind to the last, it sees end of file alone */
            drop(a, i);
    }
}

size_t mon_attach_read(mon_attach *a, int i, short revents, char *buf, size_t cap, bool *stdin_ended)
{
    mon_client *c = &a->clients[i];
    *stdin_ended = false;
    if (!c->reading) {
        if (revents & (POLLHUP | POLLERR))
            drop(a, i); /* its stdin was done already */
        return 0;
    }
    unsigned char kind = 0;
    struct iovec iov[2] = {{&kind, 1}, {buf, cap}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n > 1 && kind == CK_MON_ATTACH_IN_DATA) {
        c->sent_stdin = true;
        return (size_t)n - 1;
    }
    if (n == 1 && kind == CK_MON_ATTACH_IN_DATA)
        return 0; /* nothing to feed */
    if (n >= 1 && kind == CK_MON_ATTACH_IN_END) {
        /* The client says its stdin ended, whether or not it sent any: the
         * kubelet's attach with stdin that closes at once ends a
         * stdin_once container's input too. */
        c->reading = false;
        *stdin_ended = true;
        return 0;
    }
    /* 0: the client shut down or closed without saying so: its stdin ends
     * if it had sent some. An error or an unknown kind drops it. The client
     * stays for output until it hangs up or the container ends. */
    c->reading = false;
    *stdin_ended = c->sent_stdin;
    if (n != 0)
        drop(a, i);
    return 0;
}

void mon_attach_close(mon_attach *a, const char *path)
{
    for (int i = 0; i < CK_MON_ATTACH_CLIENTS; i++)
        if (a->clients[i].fd >= 0)
            drop(a, i);
    if (a->lfd >= 0) {
        close(a->lfd);
        a->lfd = -1;
        unlink(path);
    }
}
