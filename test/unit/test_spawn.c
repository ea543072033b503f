/*
 * common/spawn: what every child of the daemon gets, checked from inside the
 * child with ordinary tools (ls, env, sh): no descriptor of ours above 2
 * unless kept (then as 3, 4, ...), none of systemd's per-service variables,
 * and a timeout that kills the child's whole process group and returns even
 * when something outside the group still holds the output pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/spawn.h"
#include "common/timeutil.h"

/* Runs argv to completion within timeout_ms; the call itself must succeed. */
static void run(const char *const *argv, const ck_spawn_opts *opts, ck_spawn_result *r)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_spawn_run(argv, opts, r, &err) < 0)
        fail_msg("run %s: %s", argv[0], err.msg);
}

/* The highest descriptor number `ls /proc/self/fd` lists: ls's own
 * directory is the lowest free one, 3 when nothing else is open. */
static int highest_listed_fd(const char *ls_out)
{
    long highest = -1;
    for (const char *p = ls_out; *p != '\0';) {
        char *end;
        long fd = strtol(p, &end, 10);
        if (end == p || (*end != '\n' && *end != '\0'))
            fail_msg("not a descriptor in the listing: %s", p);
        if (fd > highest)
            highest = fd;
        p = *end == '\n' ? end + 1 : end;
    }
    return (int)highest;
}

/* Descriptors the daemon holds without close-on-exec (an fopen without
 * "e", a library's socket) stay ours: the child sees 0, 1, 2 only. */
static void test_child_sees_no_descriptor_above_2(void **state)
{
    (void)state;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(devnull >= 0);
    int inherited = fcntl(devnull, F_DUPFD, 40); /* F_DUPFD: the copy has no close-on-exec */
    assert_true(inherited >= 40);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(sock >= 0);
    const char *ls[] = {"/bin/ls", "-1", "/proc/self/fd", NULL};
    ck_spawn_result r;
    run(ls, &(ck_spawn_opts){.timeout_ms = 10000}, &r);
    assert_int_equal(r.status, 0);
    if (highest_listed_fd(r.out) != 3)
        fail_msg("the child held descriptors beyond its own directory:\n%s", r.out);
    ck_spawn_result_clear(&r);
    /* ck_spawn, the short form, is the same. */
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_spawn(ls, NULL, NULL, 10000, &r, &err), 0);
    assert_int_equal(highest_listed_fd(r.out), 3);
    ck_spawn_result_clear(&r);
    close(sock);
    close(inherited);
    close(devnull);
}

/* Kept descriptors arrive as 3, 4, ... in the order given, whatever their
 * numbers here, and nothing else does. */
static void test_kept_descriptors_arrive_from_3(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    const int keep[] = {b[1], a[1]}; /* the later pipe first */
    const char *sh[] = {"/bin/sh", "-c", "echo first >&3; echo second >&4; exec /bin/ls -1 /proc/self/fd", NULL};
    ck_spawn_result r;
    run(sh, &(ck_spawn_opts){.keep_fds = keep, .n_keep_fds = 2, .timeout_ms = 10000}, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(highest_listed_fd(r.out), 5); /* 3, 4 and ls's directory */
    ck_spawn_result_clear(&r);
    close(a[1]);
    close(b[1]);
    char buf[64];
    ssize_t n = read(b[0], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "first\n");
    n = read(a[0], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "second\n");
    close(a[0]);
    close(b[0]);

    const int too_many[CK_SPAWN_MAX_KEPT_FDS + 1] = {0};
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(
        ck_spawn_run(sh, &(ck_spawn_opts){.keep_fds = too_many, .n_keep_fds = CK_SPAWN_MAX_KEPT_FDS + 1}, &r, &err),
        -1);
    assert_non_null(strstr(err.msg, "descriptors to keep"));
}

static const char *const service_vars[] = {
    "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES="};

static void assert_no_service_vars(const char *env_out)
{
    for (size_t i = 0; i < sizeof(service_vars) / sizeof(service_vars[0]); i++) {
        const char *hit = strstr(env_out, service_vars[i]);
        if (hit != NULL && (hit == env_out || hit[-1] == '\n'))
            fail_msg("the child inherited %s...:\n%s", service_vars[i], env_out);
    }
}

/* Under the shipped unit (Type=notify, maybe a watchdog and socket
 * activation) the daemon has systemd's variables; no child sees them, from
 * the daemon's environment or from one the caller made. */
static void test_child_environment_has_no_service_variables(void **state)
{
    (void)state;
    assert_int_equal(setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1), 0);
    assert_int_equal(setenv("WATCHDOG_USEC", "30000000", 1), 0);
    assert_int_equal(setenv("WATCHDOG_PID", "1", 1), 0);
    assert_int_equal(setenv("LISTEN_FDS", "1", 1), 0);
    assert_int_equal(setenv("LISTEN_PID", "1", 1), 0);
    assert_int_equal(setenv("LISTEN_FDNAMES", "cri", 1), 0);
    assert_int_equal(setenv("CKTEST_KEPT", "yes", 1), 0);
    const char *env[] = {"/usr/bin/env", NULL};
    ck_spawn_result r;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_spawn(env, NULL, NULL, 10000, &r, &err), 0);
    assert_int_equal(r.status, 0);
    assert_no_service_vars(r.out);
    assert_non_null(strstr(r.out, "CKTEST_KEPT=yes\n"));
    ck_spawn_result_clear(&r);

    const char *own[] = {"NOTIFY_SOCKET=/run/systemd/notify", "CNI_COMMAND=ADD", "LISTEN_FDS=1", "PATH=/bin", NULL};
    run(env, &(ck_spawn_opts){.env = own, .timeout_ms = 10000}, &r);
    assert_string_equal(r.out, "CNI_COMMAND=ADD\nPATH=/bin\n");
    ck_spawn_result_clear(&r);

    assert_true(ck_spawn_env_withheld("NOTIFY_SOCKET=@/x"));
    assert_true(ck_spawn_env_withheld("WATCHDOG_USEC=1"));
    assert_false(ck_spawn_env_withheld("NOTIFY_SOCKETS=1"));
    assert_false(ck_spawn_env_withheld("XLISTEN_FDS=1"));
    for (const char *const *v = (const char *const[]){"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                                                      "LISTEN_PID", "LISTEN_FDNAMES", "CKTEST_KEPT", NULL};
         *v != NULL; v++)
        unsetenv(*v);
}

/* Gone, or a zombie waiting for its new parent, within timeout_ms. */
static bool dead_within(pid_t pid, int timeout_ms)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        FILE *f = fopen(path, "re");
        if (f == NULL)
            return true;
        char buf[512];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        if (p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X')
            return true;
        usleep(10 * 1000);
    }
    return false;
}

/* A helper whose child holds stdout open and sleeps: at the timeout the
 * whole group dies and the call returns at once, not when the sleep ends. */
static void test_timeout_kills_the_whole_group(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "sleep 20 & echo $!; wait", NULL};
    ck_spawn_result r;
    long long t0 = ck_mono_ms();
    run(sh, &(ck_spawn_opts){.timeout_ms = 1000}, &r);
    long long took = ck_mono_ms() - t0;
    assert_true(r.timed_out);
    assert_int_equal(r.status, 128 + SIGKILL);
    if (took > 1000 + 2000) /* far below the 20 s the helper would take; slack for a loaded machine */
        fail_msg("returned after %lld ms for a timeout of 1000 ms", took);
    pid_t grandchild = (pid_t)strtol(r.out, NULL, 10);
    assert_true(grandchild > 0);
    if (!dead_within(grandchild, 2000)) {
        kill(grandchild, SIGKILL);
        fail_msg("the helper's child %d outlived the timeout", (int)grandchild);
    }
    ck_spawn_result_clear(&r);
}

/* A descendant that left the group (its own session) and keeps stdout open
 * cannot be killed with it: the call gives its pipes a short grace and
 * returns anyway. */
static void test_timeout_returns_despite_escaped_descendant(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "setsid sleep 20 & echo $!; wait", NULL};
    ck_spawn_result r;
    long long t0 = ck_mono_ms();
    run(sh, &(ck_spawn_opts){.timeout_ms = 1000}, &r);
    long long took = ck_mono_ms() - t0;
    pid_t escaped = (pid_t)strtol(r.out, NULL, 10);
    if (escaped > 0)
        kill(escaped, SIGKILL);
    assert_true(r.timed_out);
    if (took > 1000 + 1000 + 2000)
        fail_msg("returned after %lld ms for a timeout of 1000 ms", took);
    ck_spawn_result_clear(&r);
}

/* A helper that closes its output and hangs on is killed at the deadline
 * too: the wait for its exit is bounded like the drain. */
static void test_timeout_bounds_the_wait_after_output_closes(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "exec >/dev/null 2>&1; exec sleep 20", NULL};
    ck_spawn_result r;
    long long t0 = ck_mono_ms();
    run(sh, &(ck_spawn_opts){.timeout_ms = 1000}, &r);
    long long took = ck_mono_ms() - t0;
    assert_true(r.timed_out);
    assert_int_equal(r.status, 128 + SIGKILL);
    if (took > 1000 + 2000) /* far below the 20 s the helper would take; slack for a loaded machine */
        fail_msg("returned after %lld ms for a timeout of 1000 ms", took);
    ck_spawn_result_clear(&r);
}

/* Output past the cap is dropped, exactly the cap kept and said so, each
 * stream on its own; NULs are kept and counted. */
static void test_output_cap_and_binary_output(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero; printf 'a\\000b' >&2", NULL};
    ck_spawn_result r;
    run(sh, &(ck_spawn_opts){.output_cap = 65537}, &r);
    assert_int_equal(r.status, 0);
    assert_true(r.out_truncated);
    assert_int_equal(r.out_len, 65537);
    assert_false(r.err_truncated);
    assert_int_equal(r.err_len, 3);
    assert_memory_equal(r.errout, "a\0b", 3);
    ck_spawn_result_clear(&r);
}

static void stop_with_term(pid_t pid, void *arg)
{
    *(int *)arg += 1;
    kill(pid, SIGTERM);
}

/* With a stop hook the timeout calls it and lets the child exit by itself:
 * its group is not killed. */
static void test_timeout_calls_the_stop_hook(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "trap 'kill $!; echo stopped; exit 7' TERM; sleep 20 & wait", NULL};
    ck_spawn_result r;
    int calls = 0;
    long long t0 = ck_mono_ms();
    run(sh, &(ck_spawn_opts){.timeout_ms = 500, .stop = stop_with_term, .stop_arg = &calls}, &r);
    long long took = ck_mono_ms() - t0;
    assert_int_equal(calls, 1);
    assert_true(r.timed_out);
    assert_false(r.cancelled);
    assert_int_equal(r.status, 7); /* its own exit, not 128 + SIGKILL */
    assert_string_equal(r.out, "stopped\n");
    if (took > 500 + CK_SPAWN_STOP_GRACE_MS)
        fail_msg("returned after %lld ms", took);
    ck_spawn_result_clear(&r);
}

static bool cancelled_after(void *arg)
{
    return ck_mono_ms() >= *(long long *)arg;
}

/* A cancel ends the child as a timeout would, within CK_CANCEL_POLL_MS. */
static void test_cancel_ends_the_child(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "exec sleep 20", NULL};
    ck_spawn_result r;
    long long at = ck_mono_ms() + 200;
    ck_cancel cancel = {cancelled_after, &at};
    run(sh, &(ck_spawn_opts){.cancel = &cancel}, &r);
    long long late = ck_mono_ms() - at;
    assert_true(r.cancelled);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 128 + SIGKILL);
    if (late > CK_CANCEL_POLL_MS + 1000)
        fail_msg("returned %lld ms after the cancel", late);
    ck_spawn_result_clear(&r);
}

/* The child leads a process group of its own (a timeout can kill all of
 * it), with nothing blocked. The mask is read by the child itself, exec'd
 * into grep (a mask survives exec): read from the shell while it waits for
 * a command, it shows what dash blocks around its wait, not what it got. */
static void test_child_has_its_own_process_group(void **state)
{
    (void)state;
    const char *sh[] = {"/bin/sh", "-c", "echo $$; cut -d' ' -f5 /proc/$$/stat; exec grep SigBlk /proc/self/status",
                        NULL};
    ck_spawn_result r;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
    run(sh, &(ck_spawn_opts){.timeout_ms = 10000}, &r);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    assert_int_equal(r.status, 0);
    char *end;
    long pid = strtol(r.out, &end, 10);
    long pgid = strtol(end, &end, 10);
    assert_true(pid > 0);
    assert_int_equal(pid, pgid);
    assert_true(pgid != (long)getpgrp());
    const char *blk = strstr(end, "SigBlk:");
    assert_non_null(blk);
    blk += strlen("SigBlk:");
    blk += strspn(blk, " \t");
    assert_memory_equal(blk, "0000000000000000\n", 17);
    ck_spawn_result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_sees_no_descriptor_above_2),
        cmocka_unit_test(test_kept_descriptors_arrive_from_3),
        cmocka_unit_test(test_child_environment_has_no_service_variables),
        cmocka_unit_test(test_timeout_kills_the_whole_group),
        cmocka_unit_test(test_timeout_returns_despite_escaped_descendant),
        cmocka_unit_test(test_timeout_bounds_the_wait_after_output_closes),
        cmocka_unit_test(test_child_has_its_own_process_group),
        cmocka_unit_test(test_output_cap_and_binary_output),
        cmocka_unit_test(test_timeout_calls_the_stop_hook),
        cmocka_unit_test(test_cancel_ends_the_child),
    };
    return cmocka_run_group_tests_name("test_spawn", tests, NULL, NULL);
}
