/*
 * oci/exec.c, ExecSync's engine, against real containers run by runc (root
 * only, else skipped): a busybox rootfs (the host's static /bin/busybox and
 * its applet links) in new pid, mount, ipc, uts and network namespaces.
 * Two running containers: one whose init reaps orphans (a shell in `wait`,
 * as a pod's pause would) and one whose init never does (`tail -f`), plus
 * one that has exited. Checked: exact output (no newline added, NULs kept),
 * exit codes, the cap, runc's own failures told from the process's, and
 * the timeout and cancel kills: when the call returns, no `sleep` is left in
 * the container's /proc, neither the one runc started nor one a shell
 * started. Each container is removed with `runc delete --force`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "common/timeutil.h"
#include "oci/runtime.h"
#include "oci/spec.h"

static const char *const applets[] = {"sh", "sleep", "echo", "cat", "printf", "yes", "head", "tail", "true", NULL};

typedef struct box {
    char bundle[PATH_MAX];
    char id[64];
} box;

static struct {
    bool ready;
    char dir[PATH_MAX], rootfs[PATH_MAX], root[PATH_MAX];
    ck_runtime_handler handler;
    ck_oci_runtime rt;
    box reaping, quiet, exited;
} env;

static const char *runc_path(void)
{
    static const char *const paths[] = {"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc",
                                        "/usr/local/bin/runc"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Runs argv with its stdio on /dev/null (a detached container's init
 * inherits it and must not hold a pipe of ours); its exit status. */
static int run_quiet(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int make_rootfs(void)
{
    char path[PATH_MAX];
    const char *dirs[] = {"", "/bin", "/proc", "/dev", "/tmp", NULL};
    for (size_t i = 0; dirs[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s%s", env.rootfs, dirs[i]);
        if (mkdir(path, 0755) < 0)
            return -1;
    }
    snprintf(path, sizeof(path), "%s/bin/busybox", env.rootfs);
    const char *cp[] = {"/bin/cp", "/bin/busybox", path, NULL};
    if (run_quiet(cp) != 0)
        return -1;
    for (size_t i = 0; applets[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/bin/%s", env.rootfs, applets[i]);
        if (symlink("busybox", path) < 0)
            return -1;
    }
    return 0;
}

/* A container named after name running args, started detached. */
static int start_box(box *b, const char *name, const char *const *args)
{
    snprintf(b->id, sizeof(b->id), "ck-exec-%d-%s", (int)getpid(), name);
    snprintf(b->bundle, sizeof(b->bundle), "%s/%s", env.dir, name);
    if (mkdir(b->bundle, 0700) < 0)
        return -1;
    static const char *const environ_[] = {"PATH=/bin", "HOME=/", NULL};
    static const ck_oci_namespace ns[] = {
        {"pid", NULL}, {"mount", NULL}, {"ipc", NULL}, {"uts", NULL}, {"network", NULL}};
    static const char *const dev_opts[] = {"nosuid", "mode=755", NULL};
    const ck_oci_mount mounts[] = {{"/proc", "proc", "proc", NULL}, {"/dev", "tmpfs", "tmpfs", dev_opts}};
    ck_oci_spec spec = {
        .process = {.args = args, .env = environ_},
        .root_path = env.rootfs,
        .root_readonly = true,
        .hostname = "exec-test",
        .mounts = mounts,
        .n_mounts = 2,
        .namespaces = ns,
        .n_namespaces = sizeof(ns) / sizeof(ns[0]),
        .cgroups_path = b->id,
    };
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_spec_write(&spec, b->bundle, &err) < 0) {
        fprintf(stderr, "spec: %s\n", err.msg);
        return -1;
    }
    const char *run[] = {env.handler.path, "--root", env.root, "run", "-d", "--bundle", b->bundle, b->id, NULL};
    return run_quiet(run) == 0 ? 0 : -1;
}

static void delete_box(const box *b)
{
    if (b->id[0] == '\0')
        return;
    const char *del[] = {env.handler.path, "--root", env.root, "delete", "--force", b->id, NULL};
    run_quiet(del);
}

/* Waits until the runtime says the container has stopped. */
static int wait_stopped(const box *b)
{
    for (int i = 0; i < 250; i++) {
        char status[32];
        pid_t pid;
        ck_err err;
        if (ck_oci_state(&env.rt, b->id, status, sizeof(status), &pid, &err) == 0 && strcmp(status, "stopped") == 0)
            return 0;
        usleep(20 * 1000);
    }
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || runc_path() == NULL || access("/bin/busybox", X_OK) != 0) {
        fprintf(stderr, "test_oci_exec: needs root, runc and /bin/busybox, skipped\n");
        return 0;
    }
    snprintf(env.dir, sizeof(env.dir), "/tmp/ck-exec-%d", (int)getpid());
    snprintf(env.rootfs, sizeof(env.rootfs), "%s/rootfs", env.dir);
    snprintf(env.root, sizeof(env.root), "%s/state", env.dir);
    env.handler = (ck_runtime_handler){.name = "runc", .path = (char *)runc_path(), .type = "oci"};
    env.rt.handler = &env.handler;
    snprintf(env.rt.root, sizeof(env.rt.root), "%s", env.root);
    static const char *const reaping[] = {"sh", "-c", "tail -f /dev/null & wait", NULL};
    static const char *const quiet[] = {"tail", "-f", "/dev/null", NULL};
    static const char *const exited[] = {"true", NULL};
    if (mkdir(env.dir, 0700) < 0 || make_rootfs() < 0 || start_box(&env.reaping, "reaping", reaping) < 0 ||
        start_box(&env.quiet, "quiet", quiet) < 0 || start_box(&env.exited, "exited", exited) < 0 ||
        wait_stopped(&env.exited) < 0) {
        fprintf(stderr, "test_oci_exec: cannot run the test containers\n");
        return -1;
    }
    env.ready = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    delete_box(&env.reaping);
    delete_box(&env.quiet);
    delete_box(&env.exited);
    ck_err err;
    if (env.dir[0] != '\0')
        ck_rm_rf(env.dir, &err);
    return 0;
}

/* Runs argv in b, which must succeed (the process ran). */
static void exec_ok(const box *b, const char *const *argv, size_t cap, ck_exec_result *r)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_exec_sync(&env.rt, b->id, argv, 30, cap, NULL, r, &err) < 0)
        fail_msg("exec %s: %s", argv[0], err.msg);
}

/* The names (comm) of every process in b's pid namespace, one a line. */
static char *processes_in(const box *b)
{
    static const char *const ps[] = {"sh", "-c", "for f in /proc/[0-9]*/comm; do cat $f; done", NULL};
    ck_exec_result r;
    exec_ok(b, ps, 0, &r);
    char *names = strdup(r.out);
    ck_exec_result_clear(&r);
    return names;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

#define NEED_CONTAINERS() \
    do {                  \
        if (!env.ready)   \
            skip();       \
    } while (0)

static void test_exact_stdout(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"echo", "-n", "hello", NULL};
    ck_exec_result r;
    exec_ok(&env.quiet, argv, 0, &r);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 5);
    assert_memory_equal(r.out, "hello", 5);
    assert_int_equal(r.err_len, 0);
    assert_false(r.timed_out || r.out_truncated || r.err_truncated);
    ck_exec_result_clear(&r);
}

static void test_stderr_and_exit_code(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"sh", "-c", "echo err >&2; exit 3", NULL};
    ck_exec_result r;
    exec_ok(&env.quiet, argv, 0, &r);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(r.err_len, 4);
    assert_memory_equal(r.err, "err\n", 4);
    ck_exec_result_clear(&r);
}

static void test_binary_output(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"printf", "a\\000b\\000\\377c", NULL};
    ck_exec_result r;
    exec_ok(&env.quiet, argv, 0, &r);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 6);
    assert_memory_equal(r.out, "a\0b\0\377c", 6);
    ck_exec_result_clear(&r);
}

static void test_output_capped(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"sh", "-c", "yes abcdefg | head -c 20971520; echo tail >&2", NULL};
    ck_exec_result r;
    exec_ok(&env.quiet, argv, CK_EXEC_SYNC_OUTPUT_CAP, &r);
    assert_int_equal(r.exit_code, 0);
    assert_true(r.out_truncated);
    assert_int_equal(r.out_len, CK_EXEC_SYNC_OUTPUT_CAP);
    assert_memory_equal(r.out, "abcdefg\nabcdefg\n", 16);
    assert_memory_equal(r.out + CK_EXEC_SYNC_OUTPUT_CAP - 8, "abcdefg\n", 8); /* 16 MiB is a multiple of 8 */
    assert_false(r.err_truncated);
    assert_int_equal(r.err_len, 5);
    assert_memory_equal(r.err, "tail\n", 5);
    ck_exec_result_clear(&r);
}

/* Past a deadline or a cancel, the call must return well before the
 * process would have ended (it sleeps 4321 s). The bound is loose on
 * purpose: a shared machine's stall must not fail the test, a call that
 * waited for the process would. */
enum { RETURNS_WITHIN_MS = 10000 };

/* argv gets timeout 1 s in b: the call must return CK_E_DEADLINE after 1 s
 * (within RETURNS_WITHIN_MS), and b's /proc must hold no sleep then. */
static void expect_timeout_kills(const box *b, const char *const *argv)
{
    ck_exec_result r;
    ck_err err;
    ck_err_clear(&err);
    long long t0 = ck_mono_ms();
    assert_int_equal(ck_oci_exec_sync(&env.rt, b->id, argv, 1, 0, NULL, &r, &err), -1);
    long long took = ck_mono_ms() - t0;
    assert_int_equal(err.kind, CK_E_DEADLINE);
    assert_true(r.timed_out);
    assert_non_null(strstr(err.msg, "sleep 4321"));
    assert_non_null(strstr(err.msg, "after 1 s"));
    ck_exec_result_clear(&r);
    fprintf(stderr, "timeout of 1 s on %s %s: returned after %lld ms\n", argv[0], argv[1], took);
    assert_true(took >= 1000 && took < RETURNS_WITHIN_MS);
    char *names = processes_in(b);
    assert_non_null(names);
    if (has_line(names, "sleep"))
        fail_msg("a sleep is left in the container:\n%s", names);
    free(names);
}

static void test_timeout_kills_the_process(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"sleep", "4321", NULL};
    /* The container's init never reaps: the process runc started is
     * reaped by runc itself. */
    expect_timeout_kills(&env.quiet, argv);
}

static void test_timeout_kills_what_it_started(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"sh", "-c", "sleep 4321; true", NULL};
    expect_timeout_kills(&env.reaping, argv);
}

static bool cancel_after(void *arg)
{
    return ck_mono_ms() >= *(long long *)arg;
}

static void test_cancel_kills(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"sleep", "4321", NULL};
    long long at = ck_mono_ms() + 300;
    ck_cancel cancel = {cancel_after, &at};
    ck_exec_result r;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_exec_sync(&env.rt, env.quiet.id, argv, 0, 0, &cancel, &r, &err), -1);
    assert_int_equal(err.kind, CK_E_CANCELLED);
    assert_true(ck_mono_ms() - at < RETURNS_WITHIN_MS);
    ck_exec_result_clear(&r);
    char *names = processes_in(&env.quiet);
    assert_false(has_line(names, "sleep"));
    free(names);
}

static void expect_error(const char *id, const char *const *argv, ck_errkind kind, const char *words)
{
    ck_exec_result r;
    ck_err err;
    ck_err_clear(&err);
    long long t0 = ck_mono_ms();
    assert_int_equal(ck_oci_exec_sync(&env.rt, id, argv, 10, 0, NULL, &r, &err), -1);
    assert_true(ck_mono_ms() - t0 < 5000);
    if (err.kind != kind || strstr(err.msg, words) == NULL)
        fail_msg("want %s with \"%s\", got %s: %s", ck_errkind_name(kind), words, ck_errkind_name(err.kind), err.msg);
    assert_null(r.out);
    assert_null(r.err);
    ck_exec_result_clear(&r);
}

static void test_missing_binary(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"no-such-binary", "x", NULL};
    expect_error(env.quiet.id, argv, CK_E_INVALID, "executable file not found");
}

static void test_exited_container(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"echo", "hi", NULL};
    expect_error(env.exited.id, argv, CK_E_PRECONDITION, "stopped");
}

static void test_unknown_container(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"echo", "hi", NULL};
    expect_error("ck-exec-no-such-container", argv, CK_E_NOT_FOUND, "does not exist");
}

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* For the report: an `echo` ExecSync's wall time, median of 20. */
static void test_echo_latency(void **state)
{
    (void)state;
    NEED_CONTAINERS();
    static const char *const argv[] = {"echo", "hello", NULL};
    long long us[20];
    for (int i = 0; i < 20; i++) {
        ck_exec_result r;
        long long t0 = mono_us();
        exec_ok(&env.quiet, argv, 0, &r);
        us[i] = mono_us() - t0;
        assert_memory_equal(r.out, "hello\n", 6);
        ck_exec_result_clear(&r);
    }
    qsort(us, 20, sizeof(us[0]), cmp_ll);
    fprintf(stderr, "echo ExecSync: median %lld us, min %lld us, max %lld us (20 runs)\n", (us[9] + us[10]) / 2, us[0],
            us[19]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_stdout),
        cmocka_unit_test(test_stderr_and_exit_code),
        cmocka_unit_test(test_binary_output),
        cmocka_unit_test(test_output_capped),
        cmocka_unit_test(test_timeout_kills_the_process),
        cmocka_unit_test(test_timeout_kills_what_it_started),
        cmocka_unit_test(test_cancel_kills),
        cmocka_unit_test(test_missing_binary),
        cmocka_unit_test(test_exited_container),
        cmocka_unit_test(test_unknown_container),
        cmocka_unit_test(test_echo_latency),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
