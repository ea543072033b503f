/*
 * The monitor's stdin, terminal and attach socket (protocol.h, 1, 4 and
 * 6), with the real cricket-monitor and runc (root, else skipped) through
 * the daemon's own clients (ck_oci_attach_connect, ck_oci_resize):
 * a `cat` fed through attach echoes on stream 1 and into the CRI log, and
 * with --stdin-once ends when the client half-closes; a terminal sized
 * before start and resized while running; two clients at once get the
 * same output and then end of file; a client that never reads is dropped
 * and does not slow the log; resize without a terminal is an error.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "containers/monitor/protocol.h"
#include "monitor_harness.h"
#include "oci/runtime.h"

/* What one client received, per stream. */
typedef struct got {
    char data[3][16384]; /* [CK_MON_ATTACH_STDOUT], [CK_MON_ATTACH_STDERR] */
    size_t len[3];
    size_t total; /* bytes of output, kept or not */
    bool eof;
    bool ended; /* CK_MON_ATTACH_END came: the container's end, not a drop */
} got;

/* Reads one message (waiting up to ms): false when none came. */
static bool read_message(int fd, got *g, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return false;
    char msg[CK_MON_ATTACH_PACKET_MAX];
    ssize_t n = recv(fd, msg, sizeof(msg), 0);
    if (n <= 0) {
        g->eof = true;
        return false;
    }
    if (n == 1 && msg[0] == CK_MON_ATTACH_END) {
        assert_false(g->ended);
        g->ended = true;
        return true;
    }
    assert_false(g->ended); /* nothing after the end but end of file */
    assert_true(n >= 2);    /* a stream byte and some data */
    assert_true(msg[0] == CK_MON_ATTACH_STDOUT || msg[0] == CK_MON_ATTACH_STDERR);
    size_t s = (size_t)msg[0], len = (size_t)n - 1;
    g->total += len;
    size_t room = sizeof(g->data[s]) - 1 - g->len[s];
    memcpy(g->data[s] + g->len[s], msg + 1, len < room ? len : room);
    g->len[s] += len < room ? len : room;
    g->data[s][g->len[s]] = '\0';
    return true;
}

/* Reads until want is in stream's data: false at end of file or after ms. */
static bool read_until(int fd, got *g, int stream, const char *want, int ms)
{
    long long deadline = ck_mono_ms() + ms;
    while (strstr(g->data[stream], want) == NULL) {
        long long left = deadline - ck_mono_ms();
        if (g->eof || left <= 0 || !read_message(fd, g, (int)left))
            return strstr(g->data[stream], want) != NULL;
    }
    return true;
}

/* Reads until end of file: false when it did not come within ms. */
static bool read_to_eof(int fd, got *g, int ms)
{
    long long deadline = ck_mono_ms() + ms;
    while (!g->eof && ck_mono_ms() < deadline)
        read_message(fd, g, (int)(deadline - ck_mono_ms()));
    return g->eof;
}

static int attach(mh_env *e)
{
    ck_err err;
    ck_err_clear(&err);
    int fd = ck_oci_attach_connect(&e->files, &err);
    if (fd < 0)
        fail_msg("attach: %s", err.msg);
    return fd;
}

static void send_text(int fd, const char *text)
{
    unsigned char kind = CK_MON_ATTACH_IN_DATA;
    struct iovec iov[2] = {{&kind, 1}, {(char *)text, strlen(text)}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    assert_int_equal(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)strlen(text) + 1);
}

static void send_stdin_end(int fd)
{
    unsigned char kind = CK_MON_ATTACH_IN_END;
    assert_int_equal(send(fd, &kind, 1, MSG_NOSIGNAL), 1);
}

static void test_stdin_once_echo(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"cat", NULL};
    mh_start_monitor(&e, args, &(mh_opts){.stdin_open = true, .stdin_once = true, .attach = true});
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_resize(&e.files, 24, 80, &err), -1); /* no terminal */
    assert_int_equal(err.kind, CK_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "no terminal"));

    int c = attach(&e);
    mh_start(&e);
    static got g;
    memset(&g, 0, sizeof(g));
    send_text(c, "hello\n");
    assert_true(read_until(c, &g, CK_MON_ATTACH_STDOUT, "hello\n", 10000));
    /* Stdin stays open: cat is still there a moment later. */
    usleep(200 * 1000);
    assert_int_equal(mh_wait_exit_file(&e, 0), -1);
    assert_int_equal(shutdown(c, SHUT_WR), 0); /* the end of stdin: cat reads EOF and exits 0 */
    assert_int_equal(mh_wait_exit_file(&e, 10000), 0);
    assert_true(read_to_eof(c, &g, 5000));
    assert_string_equal(g.data[CK_MON_ATTACH_STDOUT], "hello\n");
    assert_int_equal(g.len[CK_MON_ATTACH_STDERR], 0);
    close(c);
    char *log = mh_slurp(e.files.container_log);
    assert_non_null(log);
    assert_non_null(strstr(log, " stdout F hello\n"));
    free(log);
    mh_cleanup(&e);
}

static void resize(mh_env *e, unsigned h, unsigned w)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_resize(&e->files, h, w, &err) < 0)
        fail_msg("resize: %s", err.msg);
}

static void test_tty_resize(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"sh", "-c", "stty size; read x; stty size; cat", NULL};
    mh_start_monitor(&e, args, &(mh_opts){.tty = true, .stdin_open = true, .stdin_once = true, .attach = true});
    resize(&e, 40, 120); /* before start: the process sees it first thing */
    int c = attach(&e);
    mh_start(&e);
    static got g;
    memset(&g, 0, sizeof(g));
    assert_true(read_until(c, &g, CK_MON_ATTACH_STDOUT, "40 120\r\n", 10000));
    resize(&e, 50, 150);
    send_text(c, "go\n");
    assert_true(read_until(c, &g, CK_MON_ATTACH_STDOUT, "50 150\r\n", 10000));
    /* --stdin-once on a terminal: the client's end is a ^D, cat's EOF. */
    assert_int_equal(shutdown(c, SHUT_WR), 0);
    assert_int_equal(mh_wait_exit_file(&e, 10000), 0);
    assert_true(read_to_eof(c, &g, 5000));
    assert_int_equal(g.len[CK_MON_ATTACH_STDERR], 0); /* a terminal is all stdout */
    close(c);
    char *log = mh_slurp(e.files.container_log);
    assert_non_null(log);
    assert_non_null(strstr(log, " stdout F 40 120\n")); /* "\r\n" ends the record, as for any line */
    assert_non_null(strstr(log, " stdout F 50 150\n"));
    free(log);
    ck_err err;
    assert_int_equal(ck_oci_resize(&e.files, 10, 10, &err), -1); /* the monitor is gone */
    assert_int_equal(err.kind, CK_E_PRECONDITION);
    mh_cleanup(&e);
}

static void test_two_clients(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"sh", "-c", "read x; echo both; echo err >&2", NULL};
    /* The sockets through their directory: a path longer than an address. */
    mh_start_monitor(&e, args, &(mh_opts){.long_ctl = true, .stdin_open = true, .attach = true});
    int c1 = attach(&e), c2 = attach(&e);
    mh_start(&e);
    send_text(c1, "\n");
    static got g1, g2;
    memset(&g1, 0, sizeof(g1));
    memset(&g2, 0, sizeof(g2));
    assert_true(read_to_eof(c1, &g1, 10000));
    assert_true(read_to_eof(c2, &g2, 10000));
    for (int i = 0; i < 2; i++) {
        const got *g = i == 0 ? &g1 : &g2;
        assert_string_equal(g->data[CK_MON_ATTACH_STDOUT], "both\n");
        assert_string_equal(g->data[CK_MON_ATTACH_STDERR], "err\n");
        assert_true(g->ended);
    }
    assert_int_equal(mh_wait_exit_file(&e, 5000), 0);
    close(c1);
    close(c2);
    mh_cleanup(&e);
}

static void test_stuck_client_dropped(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    /* 20000 lines of 1000 bytes: far more than a socket buffer holds. */
    const char *args[] = {"sh", "-c", "yes $(printf %01000d 0) | head -n 20000", NULL};
    mh_start_monitor(&e, args, &(mh_opts){.attach = true});
    int stuck = attach(&e);
    long long t0 = ck_mono_ms();
    mh_start(&e);
    assert_int_equal(mh_wait_exit_file(&e, 60000), 0);
    fprintf(stderr, "test_monitor_attach: 20 MB through the log in %lld ms with a client that does not read\n",
            ck_mono_ms() - t0);
    char *log = mh_slurp(e.files.container_log);
    assert_non_null(log);
    /* Line by line with lengths known: strstr over 20 MB would be
     * quadratic under ASan's strict_string_checks. */
    size_t records = 0, left = strlen(log);
    static const char want[] = " stdout F 0000";
    for (const char *p = log, *nl; (nl = memchr(p, '\n', left)) != NULL; left -= (size_t)(nl + 1 - p), p = nl + 1)
        if (memmem(p, (size_t)(nl - p), want, sizeof(want) - 1) != NULL)
            records++;
    free(log);
    assert_int_equal(records, 20000);
    /* It got what fitted, then end of file: dropped, not waited for. */
    static got g;
    memset(&g, 0, sizeof(g));
    assert_true(read_to_eof(stuck, &g, 5000));
    assert_true(g.total > 0);
    assert_true(g.total < (size_t)20000 * 1001);
    assert_false(g.ended); /* dropped: end of file without the container's end */
    close(stuck);
    mh_cleanup(&e);
}

/* With stdin_once, a client that only watches (sends nothing) comes and
 * goes without touching the container's stdin; a client whose stdin ends
 * before it sent anything (the kubelet's attach -i closed at once) says so
 * with IN_END, and that closes it. */
static void test_stdin_end_without_data(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"cat", NULL};
    mh_start_monitor(&e, args, &(mh_opts){.stdin_open = true, .stdin_once = true, .attach = true});
    mh_start(&e);
    int watcher = attach(&e);
    close(watcher);
    usleep(200 * 1000);
    assert_int_equal(mh_wait_exit_file(&e, 0), -1); /* cat still reads */
    int c = attach(&e);
    send_stdin_end(c);
    assert_int_equal(mh_wait_exit_file(&e, 10000), 0);
    close(c);
    mh_cleanup(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdin_once_echo),      cmocka_unit_test(test_stdin_end_without_data),
        cmocka_unit_test(test_tty_resize),           cmocka_unit_test(test_two_clients),
        cmocka_unit_test(test_stuck_client_dropped),
    };
    if (!mh_can_run())
        fprintf(stderr, "test_monitor_attach: needs root and runc, skipped\n");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
