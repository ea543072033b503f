/*
 * Unit tests for common/proc (knowing a process again by pid, start time
 * and boot) and common/keylock (one lock per object id, waits that end with
 * the caller's call).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/keylock.h"
#include "common/proc.h"
#include "common/stack.h"

static void test_own_identity(void **state)
{
    (void)state;
    ck_proc_id me;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_proc_id_capture(getpid(), &me, &err), 0);
    assert_true(me.start_time > 0);
    assert_int_equal(strlen(me.boot_id), CK_BOOT_ID_LEN);
    char why[200] = "";
    assert_true(ck_proc_id_alive(&me, why, sizeof(why)));
    /* The same pid with another start time is another process. */
    ck_proc_id other = me;
    other.start_time++;
    assert_false(ck_proc_id_alive(&other, why, sizeof(why)));
    assert_non_null(strstr(why, "belongs to another process"));
    /* Recorded in another boot: gone, whatever runs under that pid now. */
    other = me;
    snprintf(other.boot_id, sizeof(other.boot_id), "%s", "00000000-0000-0000-0000-000000000000");
    assert_false(ck_proc_id_alive(&other, why, sizeof(why)));
    assert_non_null(strstr(why, "rebooted"));
}

/* A command with spaces and parentheses cannot shift the fields. */
/* ck_proc_id_open: a descriptor only on the very process recorded; a dead
 * pid, a pid given to another process and another boot are "gone". */
static void test_open_only_the_recorded_process(void **state)
{
    (void)state;
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_true(child > 0);
    ck_proc_id id;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_proc_id_capture(child, &id, &err), 0);
    int fd = ck_proc_id_open(&id, &err);
    assert_true(fd >= 0);
    assert_int_equal(pidfd_send_signal(fd, SIGTERM, NULL, 0), 0);
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    /* Reaped: the pid names nobody. */
    assert_int_equal(ck_proc_id_open(&id, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    /* A live pid with another start time: another process. */
    assert_int_equal(ck_proc_id_capture(getpid(), &id, &err), 0);
    ck_proc_id other = id;
    other.start_time += 1;
    assert_int_equal(ck_proc_id_open(&other, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    /* Another boot. */
    other = id;
    memcpy(other.boot_id, "00000000-0000-0000-0000-000000000000", CK_BOOT_ID_LEN + 1);
    assert_int_equal(ck_proc_id_open(&other, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    other = id;
    other.pid = 0;
    assert_int_equal(ck_proc_id_open(&other, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
}

/* The first process of a new PID namespace is its init; we are not. */
static void test_pid_ns_init(void **state)
{
    (void)state;
    assert_false(ck_proc_is_pid_ns_init(getpid()));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t outer = fork();
    if (outer == 0) {
        /* The next child of this process is pid 1 of a new namespace. */
        if (unshare(CLONE_NEWPID) < 0)
            _exit(1);
        pid_t inner = fork();
        if (inner == 0) {
            close(ready[0]);
            pause();
            _exit(0);
        }
        ssize_t n = write(ready[1], &inner, sizeof(inner));
        int status = 0;
        waitpid(inner, &status, 0);
        _exit(n == (ssize_t)sizeof(inner) ? 0 : 1);
    }
    close(ready[1]);
    pid_t inner = 0;
    assert_int_equal(read(ready[0], &inner, sizeof(inner)), (ssize_t)sizeof(inner));
    close(ready[0]);
    assert_true(ck_proc_is_pid_ns_init(inner));
    assert_int_equal(kill(inner, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(outer, &status, 0), outer);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_false(ck_proc_is_pid_ns_init(inner)); /* gone: cannot be told */
}

static void test_odd_command_name(void **state)
{
    (void)state;
    int go[2], ready[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "a) b (c", 0, 0, 0);
        char x = 'r';
        if (write(ready[1], &x, 1) != 1 || read(go[0], &x, 1) < 0)
            _exit(1);
        _exit(0);
    }
    /* The odd name is in place before the child is looked at. */
    char x;
    assert_int_equal(read(ready[0], &x, 1), 1);
    char comm_path[64], comm[32] = "";
    snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", (int)child);
    FILE *f = fopen(comm_path, "re");
    assert_non_null(f);
    assert_non_null(fgets(comm, sizeof(comm), f));
    fclose(f);
    assert_string_equal(comm, "a) b (c\n");
    close(ready[0]);
    close(ready[1]);
    ck_proc_id id;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_proc_id_capture(child, &id, &err), 0);
    ck_proc_id me;
    assert_int_equal(ck_proc_id_capture(getpid(), &me, &err), 0);
    assert_true(id.start_time >= me.start_time);
    assert_true(ck_proc_id_alive(&id, NULL, 0));
    assert_int_equal(write(go[1], "x", 1), 1);
    waitpid(child, NULL, 0);
    char why[200];
    assert_false(ck_proc_id_alive(&id, why, sizeof(why)));
    assert_non_null(strstr(why, "is gone"));
    assert_int_equal(ck_proc_start_time(child, &id.start_time, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    close(go[0]);
    close(go[1]);
}

/* ---- keylock ---- */

static atomic_bool call_over;

static bool over(void *arg)
{
    (void)arg;
    return atomic_load(&call_over);
}

typedef struct waiter {
    ck_keylock *kl;
    const char *key;
    int rc;
    ck_err err;
    atomic_bool returned;
} waiter;

static void *acquire_in_thread(void *arg)
{
    waiter *w = arg;
    ck_cancel cancel = {.done = over};
    ck_err_clear(&w->err);
    w->rc = ck_keylock_acquire(w->kl, w->key, &cancel, "pod p1", &w->err);
    atomic_store(&w->returned, true);
    if (w->rc == 0)
        ck_keylock_release(w->kl, w->key);
    return NULL;
}

static void test_keylock_waits_end_with_the_call(void **state)
{
    (void)state;
    ck_keylock kl;
    ck_keylock_init(&kl);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_keylock_acquire(&kl, "p1", NULL, "pod p1", &err), 0);
    /* Another key is never held up by p1. */
    assert_int_equal(ck_keylock_acquire(&kl, "p2", NULL, "pod p2", &err), 0);
    ck_keylock_release(&kl, "p2");
    /* A waiter for p1 gives up when its call is over. */
    atomic_store(&call_over, false);
    waiter w = {.kl = &kl, .key = "p1"};
    pthread_t t;
    pthread_create(&t, NULL, acquire_in_thread, &w);
    usleep(150 * 1000);
    assert_false(atomic_load(&w.returned)); /* it waits, while its call goes on */
    atomic_store(&call_over, true);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_join(t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(w.rc, -1);
    assert_int_equal(w.err.kind, CK_E_CANCELLED);
    assert_non_null(strstr(w.err.msg, "pod p1 is busy"));
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
    /* A waiter whose call goes on gets the lock once it is released. */
    atomic_store(&call_over, false);
    atomic_store(&w.returned, false);
    pthread_create(&t, NULL, acquire_in_thread, &w);
    usleep(100 * 1000);
    assert_false(atomic_load(&w.returned));
    ck_keylock_release(&kl, "p1");
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    ck_keylock_destroy(&kl);
}

/* ---- stack ---------------------------------------------------------------------- */

/* Touches depth bytes of stack below the caller, a page at a time. */
static __attribute__((noinline)) void run_deep(size_t depth)
{
    volatile char frame[(size_t)16 * 1024];
    for (size_t i = 0; i < sizeof(frame); i += 4096)
        frame[i] = 1;
    if (depth > sizeof(frame))
        run_deep(depth - sizeof(frame));
    frame[0] = 2; /* no tail call */
}

/* How many pages of [lo, hi) are mapped in. */
static size_t resident_pages(uintptr_t lo, uintptr_t hi)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    lo &= ~(uintptr_t)(page - 1);
    size_t n = (hi - lo) / page;
    unsigned char *vec = calloc(n + 1, 1);
    assert_non_null(vec);
    assert_int_equal(mincore((void *)lo, n * page, vec), 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += vec[i] & 1;
    free(vec);
    return in;
}

typedef struct stack_probe {
    size_t before, after, released, kept;
} stack_probe;

static void *probe_stack(void *arg)
{
    stack_probe *p = arg;
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0 || pthread_attr_getstack(&attr, &addr, &size) != 0)
        return NULL;
    pthread_attr_destroy(&attr);
    char here;
    uintptr_t low = (uintptr_t)addr, margin = (uintptr_t)&here - (uintptr_t)64 * 1024;
    run_deep((size_t)512 * 1024);
    p->before = resident_pages(low, margin);
    p->released = ck_stack_release_unused((size_t)32 * 1024);
    p->after = resident_pages(low, margin);
    p->kept = resident_pages(margin, (uintptr_t)&here);
    return NULL;
}

/* A thread that ran deep gives the pages below its frame back, and keeps
 * the ones it still uses. */
static void test_stack_release_unused(void **state)
{
    (void)state;
    pthread_t t;
    stack_probe p = {0};
    assert_int_equal(pthread_create(&t, NULL, probe_stack, &p), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(p.before >= 100); /* 512 KB touched, 64 KB of it spared */
    assert_true(p.released >= (size_t)400 * 1024);
    assert_int_equal(p.after, 0);
    assert_true(p.kept > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_identity),
        cmocka_unit_test(test_odd_command_name),
        cmocka_unit_test(test_open_only_the_recorded_process),
        cmocka_unit_test(test_pid_ns_init),
        cmocka_unit_test(test_keylock_waits_end_with_the_call),
        cmocka_unit_test(test_stack_release_unused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
