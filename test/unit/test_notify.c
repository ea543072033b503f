/*
 * The daemon's service-manager notifications (daemon/notify.c), against
 * datagram sockets this test binds: a path and an abstract name, as
 * NOTIFY_SOCKET gives them; nothing sent without one or with an address
 * that is not a unix socket; the watchdog interval and whose it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/notify.h"

/* A datagram socket bound to addr (len bytes of it), non-blocking. */
static int bound(const struct sockaddr_un *addr, socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (const struct sockaddr *)addr, len), 0);
    return fd;
}

/* The next datagram on fd, or "" when none is waiting. */
static void next_message(int fd, char *buf, size_t size)
{
    ssize_t n = recv(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/ck-notify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir);
    int fd = bound(&sa, sizeof(sa));
    assert_int_equal(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
    char msg[256];
    ck_notify_ready();
    next_message(fd, msg, sizeof(msg));
    assert_string_equal(msg, "READY=1\nSTATUS=serving CRI v1");
    ck_notify_stopping();
    next_message(fd, msg, sizeof(msg));
    assert_string_equal(msg, "STOPPING=1\nSTATUS=shutting down");
    unsetenv("NOTIFY_SOCKET");
    ck_notify_watchdog(); /* no socket named: nothing sent */
    next_message(fd, msg, sizeof(msg));
    assert_string_equal(msg, "");
    close(fd);
    unlink(sa.sun_path);
    rmdir(dir);
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@ck-notify-test-%d", (int)getpid());
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, name, strlen(name));
    sa.sun_path[0] = '\0';
    int fd = bound(&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name)));
    assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
    char msg[256];
    ck_notify_status("recovering %d pods", 3);
    next_message(fd, msg, sizeof(msg));
    assert_string_equal(msg, "STATUS=recovering 3 pods");
    ck_notify_watchdog();
    next_message(fd, msg, sizeof(msg));
    assert_string_equal(msg, "WATCHDOG=1");
    /* An abstract name fills sun_path whole: it needs no terminator. */
    struct sockaddr_un full = {.sun_family = AF_UNIX};
    char longest[sizeof(full.sun_path) + 1];
    memset(longest, 'n', sizeof(full.sun_path));
    longest[0] = '@';
    snprintf(longest + 1, 12, "%d", (int)getpid()); /* a name of this test's own */
    longest[strlen(longest)] = 'n';
    longest[sizeof(full.sun_path)] = '\0';
    memcpy(full.sun_path, longest, sizeof(full.sun_path));
    full.sun_path[0] = '\0';
    int lfd = bound(&full, sizeof(full));
    assert_int_equal(setenv("NOTIFY_SOCKET", longest, 1), 0);
    ck_notify_ready();
    next_message(lfd, msg, sizeof(msg));
    assert_string_equal(msg, "READY=1\nSTATUS=serving CRI v1");
    close(lfd);
    /* Addresses that are no unix socket's are refused, not sent anywhere. */
    assert_int_equal(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
    ck_notify_ready();
    assert_int_equal(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
    ck_notify_ready();
    next_message(fd, msg, sizeof(msg));
    assert_string_equal(msg, "");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void test_watchdog_interval(void **state)
{
    (void)state;
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(ck_notify_watchdog_usec(), 0);
    assert_int_equal(setenv("WATCHDOG_USEC", "400000", 1), 0);
    assert_int_equal(ck_notify_watchdog_usec(), 400000);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
    assert_int_equal(ck_notify_watchdog_usec(), 400000);
    /* Meant for another process (this one inherited it): no watchdog. */
    snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
    assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
    assert_int_equal(ck_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    assert_int_equal(setenv("WATCHDOG_USEC", "soon", 1), 0);
    assert_int_equal(ck_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_watchdog_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
