/*
 * cricket-pause and the netns pin, run for real: pause exits 0 on SIGTERM
 * and SIGINT, and as pid 1 of a pid namespace it reaps the orphans that
 * re-parent to it. A pinned netns outlives its creator and is gone after
 * removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/spawn.h"
#include "netcni/netns.h"

static pid_t start_pause(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(CK_PAUSE_BIN, "cricket-pause", (char *)NULL);
        _exit(127);
    }
    usleep(100 * 1000); /* let it block its signals */
    return pid;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 10) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void test_pause_exits_zero_on_term_and_int(void **state)
{
    (void)state;
    pid_t p = start_pause();
    kill(p, SIGTERM);
    assert_int_equal(wait_exit(p, 2000), 0);
    p = start_pause();
    kill(p, SIGINT);
    assert_int_equal(wait_exit(p, 2000), 0);
    /* Other signals it does not handle keep their default: SIGHUP kills. */
    p = start_pause();
    usleep(200 * 1000);
    assert_int_equal(waitpid(p, NULL, WNOHANG), 0);
    kill(p, SIGHUP);
    assert_int_equal(wait_exit(p, 2000), 128 + SIGHUP);
}

static void test_pause_reaps_orphans_as_pid1(void **state)
{
    (void)state;
    /* pause becomes pid 1 of a new pid namespace. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t outer = fork();
    if (outer == 0) {
        if (unshare(CLONE_NEWPID) < 0)
            _exit(1);
        pid_t p = fork();
        if (p == 0) {
            execl(CK_PAUSE_BIN, "cricket-pause", (char *)NULL);
            _exit(127);
        }
        ssize_t w = write(pipefd[1], &p, sizeof(p));
        (void)w;
        int st;
        waitpid(p, &st, 0);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 100);
    }
    pid_t pause_pid;
    assert_int_equal(read(pipefd[0], &pause_pid, sizeof(pause_pid)), (ssize_t)sizeof(pause_pid));
    usleep(100 * 1000);
    /* Join its pid namespace for our children, and leave an orphan there. */
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/pid", (int)pause_pid);
    int nsfd = open(ns, O_RDONLY);
    assert_true(nsfd >= 0);
    int own = open("/proc/self/ns/pid_for_children", O_RDONLY);
    assert_int_equal(setns(nsfd, CLONE_NEWPID), 0);
    int gp[2];
    assert_int_equal(pipe(gp), 0);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t orphan = fork();
        if (orphan == 0) {
            usleep(200 * 1000);
            _exit(0);
        }
        _exit(0);
    }
    assert_int_equal(setns(own, CLONE_NEWPID), 0);
    close(nsfd);
    close(own);
    waitpid(mid, NULL, 0);
    /* The orphan is now pause's child; once it exits pause must reap it:
     * no zombie with pause as parent remains. */
    usleep(600 * 1000);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pause_pid, (int)pause_pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char kids[256] = "";
    size_t n = fread(kids, 1, sizeof(kids) - 1, f);
    kids[n] = '\0';
    fclose(f);
    assert_string_equal(kids, "");
    kill(pause_pid, SIGTERM);
    assert_int_equal(wait_exit(outer, 2000), 0);
    close(pipefd[0]);
    close(pipefd[1]);
    close(gp[0]);
    close(gp[1]);
}

static void test_pause_is_static(void **state)
{
    (void)state;
    const char *argv[] = {"/usr/bin/ldd", CK_PAUSE_BIN, NULL};
    ck_spawn_result r;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_spawn(argv, NULL, NULL, 10000, &r, &err), 0);
    assert_non_null(strstr(r.out[0] ? r.out : r.errout, "not a dynamic executable"));
    ck_spawn_result_clear(&r);
}

static void test_spawn_input_output_and_timeout(void **state)
{
    (void)state;
    ck_spawn_result r;
    ck_err err;
    ck_err_clear(&err);
    const char *cat[] = {"/bin/cat", NULL};
    assert_int_equal(ck_spawn(cat, NULL, "hello stdin", 10000, &r, &err), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "hello stdin");
    assert_false(r.timed_out);
    ck_spawn_result_clear(&r);
    const char *sh[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    assert_int_equal(ck_spawn(sh, NULL, NULL, 10000, &r, &err), 0);
    assert_int_equal(r.status, 3);
    assert_string_equal(r.out, "out\n");
    assert_string_equal(r.errout, "err\n");
    ck_spawn_result_clear(&r);
    const char *sleeper[] = {"/bin/sleep", "30", NULL};
    time_t t0 = time(NULL);
    assert_int_equal(ck_spawn(sleeper, NULL, NULL, 300, &r, &err), 0);
    assert_true(r.timed_out);
    assert_int_equal(r.status, 128 + SIGKILL);
    assert_true(time(NULL) - t0 < 5);
    ck_spawn_result_clear(&r);
    const char *missing[] = {"/nonexistent/helper", NULL};
    assert_int_equal(ck_spawn(missing, NULL, NULL, 1000, &r, &err), -1);
    assert_int_equal(err.kind, CK_E_UNAVAILABLE);
}

/* Whether lo is up in the pinned network namespace at path (looked at from
 * a child, so the test's own namespace stays as it is). */
static bool loopback_up_in(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            _exit(2);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        memcpy(ifr.ifr_name, "lo", 3);
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
            _exit(3);
        _exit((ifr.ifr_flags & IFF_UP) != 0 ? 0 : 1);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_netns_pin_outlives_creator(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-netns.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_netns_create(dir, "pod1", path, sizeof(path), &err), 0);
    assert_true(ck_netns_is_pinned(path));
    /* A different namespace from ours. */
    struct stat a, b, mine;
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(stat("/proc/self/ns/net", &b), 0);
    assert_true(a.st_ino != b.st_ino);
    /* Made on another thread: the caller's own namespace is untouched. */
    assert_int_equal(stat("/proc/thread-self/ns/net", &mine), 0);
    assert_int_equal(mine.st_ino, b.st_ino);
    assert_true(loopback_up_in(path));
    /* The same name twice is refused and leaves the first alone. */
    char path2[256];
    assert_int_equal(ck_netns_create(dir, "pod1", path2, sizeof(path2), &err), -1);
    assert_int_equal(err.kind, CK_E_EXISTS);
    assert_true(ck_netns_is_pinned(path));
    assert_int_equal(ck_netns_remove(path, &err), 0);
    assert_false(ck_netns_is_pinned(path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(ck_netns_remove(path, &err), 0); /* idempotent */
    assert_int_equal(rmdir(dir), 0);
}

static void test_undo_runs_newest_first(void **state);

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_exits_zero_on_term_and_int),
        cmocka_unit_test(test_pause_reaps_orphans_as_pid1),
        cmocka_unit_test(test_pause_is_static),
        cmocka_unit_test(test_spawn_input_output_and_timeout),
        cmocka_unit_test(test_netns_pin_outlives_creator),
        cmocka_unit_test(test_undo_runs_newest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "common/undo.h"

static void record(void *ctx, void *arg)
{
    char *log = ctx; /* a char[16] in the test below */
    size_t used = strlen(log);
    snprintf(log + used, 16 - used, "%s", (const char *)arg);
}

static void test_undo_runs_newest_first(void **state)
{
    (void)state;
    char log[16] = "";
    ck_undo u;
    ck_undo_init(&u, log);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_undo_push(&u, "a", record, "a", false, &err), 0);
    assert_int_equal(ck_undo_push(&u, "b", record, "b", false, &err), 0);
    assert_int_equal(ck_undo_push(&u, "c", record, strdup("c"), true, &err), 0);
    ck_undo_run(&u);
    assert_string_equal(log, "cba");
    ck_undo_run(&u); /* empty now */
    assert_string_equal(log, "cba");
    assert_int_equal(ck_undo_push(&u, "d", record, strdup("d"), true, &err), 0);
    ck_undo_dismiss(&u);
    assert_string_equal(log, "cba");
}
