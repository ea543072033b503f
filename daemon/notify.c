/*
 * notify: the service manager's notification protocol, spoken directly: a
 * datagram of "KEY=value" lines to the AF_UNIX socket NOTIFY_SOCKET names
 * (a path, or an abstract name written with a leading '@'). systemd keeps
 * this protocol stable and documents it for programs that would rather not
 * link libsystemd; linking it cost the daemon three libraries (libsystemd,
 * libgcrypt, libgpg-error: about 700 KiB of resident pages) for one call.
 */
#include "daemon/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"

/* The address NOTIFY_SOCKET gives: 1, 0 without one, -1 for one this
 * daemon cannot use (too long, or not a unix socket: systemd also knows
 * vsock addresses, for virtual machines). */
static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    size_t n = strlen(name);
    /* A path needs its terminator inside sun_path; an abstract name has none. */
    size_t most = name[0] == '@' ? sizeof(sa->sun_path) : sizeof(sa->sun_path) - 1;
    if ((name[0] != '/' && name[0] != '@') || n > most)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: the name is the bytes after it, no terminator */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    return 1;
}

static void send_state(const char *state)
{
    /* A failed notification is logged and otherwise ignored: the daemon
     * works the same without a service manager listening. */
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t len = 0;
    int r = notify_address(name, &sa, &len);
    if (r == 0)
        return;
    if (r < 0) {
        static atomic_bool told; /* once, not at every watchdog ping */
        if (!atomic_exchange(&told, true))
            ck_warn("daemon", "notify %s: NOTIFY_SOCKET is not a unix socket address this daemon can use", name);
        return;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ck_warn("daemon", "notify %s: socket: %s", name, strerror(errno));
        return;
    }
    size_t n = strlen(state);
    ssize_t sent = sendto(fd, state, n, MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
    if (sent < 0 || (size_t)sent != n)
        ck_warn("daemon", "notify %s (%s): %s", name, state, sent < 0 ? strerror(errno) : "short send");
    close(fd);
}

void ck_notify_status(const char *fmt, ...)
{
    char line[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    /* clang 14's analyzer loses the va_start above here (as in streaming/server.c). */
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    vsnprintf(line + 7, sizeof(line) - 7, fmt, ap);
    va_end(ap);
    send_state(line);
}

void ck_notify_ready(void)
{
    send_state("READY=1\nSTATUS=serving CRI v1");
}

void ck_notify_stopping(void)
{
    send_state("STOPPING=1\nSTATUS=shutting down");
}

void ck_notify_watchdog(void)
{
    send_state("WATCHDOG=1");
}

uint64_t ck_notify_watchdog_usec(void)
{
    /* WATCHDOG_PID, when set, names the process the pings are expected
     * from: any other (a child that inherited the variables) has none. */
    uint64_t usec = 0, pid = 0;
    const char *want_pid = getenv("WATCHDOG_PID");
    const char *interval = getenv("WATCHDOG_USEC");
    if (interval == NULL || ck_parse_u64(interval, 10, &usec, NULL) < 0)
        return 0;
    if (want_pid != NULL && (ck_parse_u64(want_pid, 10, &pid, NULL) < 0 || pid != (uint64_t)getpid()))
        return 0;
    return usec;
}
