/*
 * spawn: helper programs run to completion (spawn.h says what every child
 * gets), and the path of a program installed beside the daemon.
 */
#include "common/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/timeutil.h"

extern char **environ;

typedef struct outbuf {
    char *data;
    size_t len, alloc;
    size_t cap; /* bytes kept at most */
    bool truncated;
} outbuf;

/* Room for len + more bytes and a NUL, grown by doubling but never past
 * what the cap can need. */
static bool buf_reserve(outbuf *b, size_t more)
{
    size_t need = b->len + more + 1;
    if (need <= b->alloc)
        return true;
    size_t alloc = b->alloc == 0 ? 4096 : b->alloc;
    while (alloc < need)
        alloc *= 2;
    if (alloc > b->cap + 1)
        alloc = b->cap + 1;
    char *d = realloc(b->data, alloc);
    if (d == NULL)
        return false;
    b->data = d;
    b->alloc = alloc;
    return true;
}

/* One read from fd: kept up to the cap, the rest dropped (and said so).
 * 0 at the end of the stream, 1 to go on. */
static int buf_read(outbuf *b, int fd)
{
    char chunk[16384];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
    size_t keep = (size_t)n;
    if (keep > b->cap - b->len)
        keep = b->cap - b->len;
    if (keep > 0 && !buf_reserve(b, keep))
        keep = 0; /* out of memory: dropped like output past the cap */
    if (keep < (size_t)n)
        b->truncated = true;
    if (keep > 0) {
        memcpy(b->data + b->len, chunk, keep);
        b->len += keep;
        b->data[b->len] = '\0';
    }
    return 1;
}

static char *buf_finish(outbuf *b)
{
    if (b->data == NULL)
        return strdup("");
    return b->data;
}

static void close_pair(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
}

/* After the kill, how long the pipes may stay open: a descendant that left
 * the group (setsid) may hold them for ever. */
enum { SPAWN_DRAIN_AFTER_KILL_MS = 1000 };

/* The child's group, and the child itself in case it left the group. The
 * child is not reaped yet, so its pid and group id are still ours. */
static void kill_child(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

/* A child's run against its bound: RUNNING until the timeout or a cancel;
 * then STOPPING while opts->stop takes effect (skipped without a hook);
 * then KILLED, its group SIGKILLed, the pipes drained for a short grace. */
typedef enum { RUN_RUNNING, RUN_STOPPING, RUN_KILLED } run_phase;

typedef struct run {
    pid_t pid;
    int pidfd; /* readable once the child exits; -1 where the kernel has none */
    const ck_spawn_opts *opts;
    run_phase phase;
    long long deadline; /* the current phase's end (monotonic ms), 0 = none */
    bool timed_out, cancelled;
} run;

/* True when the current phase is over: its deadline passed or, while
 * running, the call was cancelled. */
static bool phase_over(run *r)
{
    if (r->phase == RUN_RUNNING && ck_cancelled(r->opts->cancel)) {
        r->cancelled = true;
        return true;
    }
    return r->deadline > 0 && ck_mono_ms() >= r->deadline;
}

/* Ends the current phase and starts the next. */
static void escalate(run *r)
{
    if (r->phase == RUN_RUNNING) {
        r->timed_out = !r->cancelled;
        if (r->opts->stop != NULL) {
            r->opts->stop(r->pid, r->opts->stop_arg);
            r->phase = RUN_STOPPING;
            r->deadline = ck_mono_ms() + CK_SPAWN_STOP_GRACE_MS;
            return;
        }
    }
    kill_child(r->pid);
    r->phase = RUN_KILLED;
    r->deadline = ck_mono_ms() + SPAWN_DRAIN_AFTER_KILL_MS;
}

/* How long a wait may last before the bound is looked at again: -1 for
 * ever, else up to the phase's end, at most a second, and at most
 * CK_CANCEL_POLL_MS while a cancel is to be noticed. */
static int wait_ms(const run *r)
{
    int wait = -1;
    if (r->deadline > 0) {
        long long left = r->deadline - ck_mono_ms();
        wait = left <= 0 ? 0 : left > 1000 ? 1000 : (int)left;
    }
    if (r->phase == RUN_RUNNING && r->opts->cancel != NULL && r->opts->cancel->done != NULL &&
        (wait < 0 || wait > CK_CANCEL_POLL_MS))
        wait = CK_CANCEL_POLL_MS;
    return wait;
}

/* Feeds input and drains both outputs until both are closed, or until the
 * drain after a kill is over. Closes the three descriptors. */
static void pump(run *r, int in_fd, const char *input, int out_fd, int err_fd, outbuf *out, outbuf *errb)
{
    size_t in_len = input != NULL ? strlen(input) : 0, in_off = 0;
    if (in_fd >= 0 && in_len == 0) {
        close(in_fd);
        in_fd = -1;
    }
    if (in_fd >= 0 && fcntl(in_fd, F_SETFL, O_NONBLOCK) < 0) {
        close(in_fd); /* never block on a child that does not read: it gets EOF */
        in_fd = -1;
    }
    while (out_fd >= 0 || err_fd >= 0) {
        struct pollfd p[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
        if (phase_over(r)) {
            if (r->phase == RUN_KILLED)
                break; /* killed, and something outside the group holds a pipe */
            escalate(r);
            continue;
        }
        if (poll(p, 3, wait_ms(r)) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (in_fd >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in_fd, input + in_off, in_len - in_off);
            if (n > 0)
                in_off += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
        if (out_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && buf_read(out, out_fd) == 0) {
            close(out_fd);
            out_fd = -1;
        }
        if (err_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)) && buf_read(errb, err_fd) == 0) {
            close(err_fd);
            err_fd = -1;
        }
    }
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
}

/* Sleeps until the child may have exited: its pidfd readable, or up to ms
 * (10 ms ticks without a pidfd). */
static void await_exit(const run *r, int ms)
{
    if (r->pidfd >= 0) {
        struct pollfd p = {r->pidfd, POLLIN, 0};
        if (poll(&p, 1, ms) >= 0 || errno == EINTR)
            return;
    }
    struct timespec tick = {0, 10 * 1000000L};
    nanosleep(&tick, NULL);
}

/* Waits for the child; one that closed its outputs but runs on past its
 * bound is ended then as well. Returns its wait status. */
static int reap(run *r)
{
    int status = 0;
    for (;;) {
        bool bounded = r->phase != RUN_KILLED && (r->deadline > 0 || r->opts->cancel != NULL);
        pid_t got = waitpid(r->pid, &status, bounded ? WNOHANG : 0);
        if (got == r->pid)
            return status;
        if (got < 0 && errno != EINTR)
            return 255 << 8; /* not our child any more: cannot happen, reads as a failure */
        if (got == 0 && phase_over(r))
            escalate(r);
        else if (got == 0)
            await_exit(r, wait_ms(r));
    }
}

bool ck_spawn_env_withheld(const char *entry)
{
    return strncmp(entry, "NOTIFY_SOCKET=", 14) == 0 || strncmp(entry, "WATCHDOG_", 9) == 0 ||
           strncmp(entry, "LISTEN_", 7) == 0;
}

/* envp without the withheld variables. The strings stay envp's: free only
 * the array. NULL when out of memory. */
static char **child_env(const char *const *envp)
{
    size_t n = 0;
    while (envp[n] != NULL)
        n++;
    char **env = calloc(n + 1, sizeof(*env));
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!ck_spawn_env_withheld(envp[i]))
            env[k++] = (char *)envp[i];
    return env;
}

/* The file actions: pipes onto 0, 1 and 2, each kept descriptor (copied
 * above the range first, kept[i]) onto 3 + i, everything else closed.
 * Returns 0 or an error number. */
static int child_fds(posix_spawn_file_actions_t *fa, const int std[3], const int *kept, size_t n_kept)
{
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(fa, std[i], i);
    for (size_t i = 0; i < n_kept && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(fa, kept[i], 3 + (int)i);
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(fa, 3 + (int)n_kept);
    return rc;
}

/* Own process group, default signal dispositions, nothing blocked.
 * Returns 0 or an error number. */
static int child_attr(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawnattr_setsigmask(attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(attr, &all);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    return rc;
}

/* Copies of the descriptors to keep, all at or above 3 + n, so that no
 * dup2 onto 3 + i in the child replaces one not yet moved. Returns 0 or an
 * error number (nothing left open). */
static int copy_kept(const int *fds, size_t n, int *copies)
{
    for (size_t i = 0; i < n; i++) {
        copies[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + (int)n);
        if (copies[i] < 0) {
            int e = errno;
            while (i-- > 0)
                close(copies[i]);
            return e;
        }
    }
    return 0;
}

/* Starts argv with std[] as its 0, 1, 2 and the kept descriptors after.
 * Returns 0 or an error number. */
static int start_child(const char *const *argv, const ck_spawn_opts *opts, const int std[3], pid_t *pid)
{
    int kept[CK_SPAWN_MAX_KEPT_FDS];
    for (size_t i = 0; i < CK_SPAWN_MAX_KEPT_FDS; i++)
        kept[i] = -1;
    const size_t n_kept = opts->n_keep_fds; /* read once: the analyzer cannot see that posix_spawn keeps it */
    int rc = copy_kept(opts->keep_fds, n_kept, kept);
    if (rc != 0)
        return rc;
    _cleanup_free_ char **env = child_env(opts->env != NULL ? opts->env : (const char *const *)environ);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_made = false, attr_made = false;
    if (env == NULL)
        rc = ENOMEM;
    if (rc == 0)
        fa_made = (rc = posix_spawn_file_actions_init(&fa)) == 0;
    if (rc == 0)
        rc = child_fds(&fa, std, kept, n_kept);
    if (rc == 0)
        attr_made = (rc = posix_spawnattr_init(&attr)) == 0;
    if (rc == 0)
        rc = child_attr(&attr);
    if (rc == 0)
        rc = posix_spawn(pid, argv[0], &fa, &attr, (char *const *)argv, env);
    if (fa_made)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_made)
        posix_spawnattr_destroy(&attr);
    for (size_t i = 0; i < n_kept; i++)
        close(kept[i]);
    return rc;
}

int ck_spawn_start(const char *const *argv, const ck_spawn_opts *opts, const int std[3], pid_t *pid, ck_err *err)
{
    if (opts->n_keep_fds > CK_SPAWN_MAX_KEPT_FDS)
        return ck_err_set(err, CK_E_INTERNAL, 0, "run %s: %zu descriptors to keep, at most %d", argv[0],
                          opts->n_keep_fds, CK_SPAWN_MAX_KEPT_FDS);
    int rc = start_child(argv, opts, std, pid);
    if (rc != 0)
        return ck_err_set(err, CK_E_UNAVAILABLE, rc, "run %s", argv[0]);
    return 0;
}

int ck_spawn_run(const char *const *argv, const ck_spawn_opts *opts, ck_spawn_result *res, ck_err *err)
{
    memset(res, 0, sizeof(*res));
    if (opts->n_keep_fds > CK_SPAWN_MAX_KEPT_FDS)
        return ck_err_set(err, CK_E_INTERNAL, 0, "run %s: %zu descriptors to keep, at most %d", argv[0],
                          opts->n_keep_fds, CK_SPAWN_MAX_KEPT_FDS);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        close_pair(er);
        return ck_err_set(err, CK_E_INTERNAL, e, "run %s: pipe", argv[0]);
    }
    pid_t pid;
    const int std[3] = {in[0], out[1], er[1]};
    int rc = start_child(argv, opts, std, &pid);
    close(in[0]);
    close(out[1]);
    close(er[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        close(er[0]);
        return ck_err_set(err, CK_E_UNAVAILABLE, rc, "run %s", argv[0]);
    }
    size_t cap = opts->output_cap > 0 ? opts->output_cap : CK_SPAWN_OUTPUT_MAX;
    outbuf ob = {.cap = cap}, eb = {.cap = cap};
    run r = {.pid = pid, .pidfd = pidfd_open(pid, 0), .opts = opts};
    if (opts->timeout_ms > 0)
        r.deadline = ck_mono_ms() + opts->timeout_ms;
    pump(&r, in[1], opts->input, out[0], er[0], &ob, &eb);
    int status = reap(&r);
    if (r.pidfd >= 0)
        close(r.pidfd);
    res->timed_out = r.timed_out;
    res->cancelled = r.cancelled;
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    res->out_len = ob.len;
    res->err_len = eb.len;
    res->out_truncated = ob.truncated;
    res->err_truncated = eb.truncated;
    res->out = buf_finish(&ob);
    res->errout = buf_finish(&eb);
    if (res->out == NULL || res->errout == NULL) {
        ck_spawn_result_clear(res);
        return ck_err_oom(err, "helper output");
    }
    return 0;
}

int ck_spawn(const char *const *argv, const char *const *envp, const char *input, int timeout_ms, ck_spawn_result *res,
             ck_err *err)
{
    const ck_spawn_opts opts = {.env = envp, .input = input, .timeout_ms = timeout_ms};
    return ck_spawn_run(argv, &opts, res, err);
}

void ck_spawn_result_clear(ck_spawn_result *res)
{
    free(res->out);
    free(res->errout);
    memset(res, 0, sizeof(*res));
}

int ck_exe_sibling(const char *name, char *buf, size_t size, ck_err *err)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "readlink /proc/self/exe");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    if (snprintf(buf, size, "%s/%s", self, name) >= (int)size)
        return ck_err_set(err, CK_E_INTERNAL, 0, "path of %s is too long", name);
    return 0;
}
