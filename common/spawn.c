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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/timeutil.h"

extern char **environ;

enum { SPAWN_OUTPUT_MAX = 4 << 20 };

typedef struct outbuf {
    char *data;
    size_t len, cap;
} outbuf;

static int buf_read(outbuf *b, int fd)
{
    char chunk[16384];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
    if (b->len + (size_t)n + 1 > b->cap) {
        if (b->len + (size_t)n + 1 > SPAWN_OUTPUT_MAX)
            return 1; /* dropped, keep draining */
        size_t cap = (b->cap == 0 ? 4096 : b->cap * 2);
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return 1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, (size_t)n);
    b->len += (size_t)n;
    b->data[b->len] = '\0';
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

/* Feeds input and drains both outputs until both are closed. At the
 * deadline (0 = none) the child's group is killed (*killed set) and the
 * drain goes on for a short grace at most. Closes the three descriptors. */
static void pump(pid_t pid, long long deadline, int in_fd, const char *input, int out_fd, int err_fd, outbuf *out,
                 outbuf *errb, bool *killed)
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
        int wait = -1;
        if (deadline > 0) {
            long long left = deadline - ck_mono_ms();
            if (left <= 0 && *killed)
                break; /* killed, and something outside the group holds a pipe */
            if (left <= 0) {
                kill_child(pid);
                *killed = true;
                deadline = ck_mono_ms() + SPAWN_DRAIN_AFTER_KILL_MS;
                continue;
            }
            wait = left > 1000 ? 1000 : (int)left;
        }
        if (poll(p, 3, wait) < 0) {
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

/* Waits for the child; one that closed its outputs but runs on past the
 * deadline is killed then as well. Returns its wait status. */
static int reap(pid_t pid, long long deadline, bool *killed)
{
    int status = 0;
    for (;;) {
        bool poll_only = deadline > 0 && !*killed;
        pid_t got = waitpid(pid, &status, poll_only ? WNOHANG : 0);
        if (got == pid)
            return status;
        if (got < 0 && errno != EINTR)
            return 255 << 8; /* not our child any more: cannot happen, reads as a failure */
        if (got == 0 && ck_mono_ms() >= deadline) {
            kill_child(pid);
            *killed = true;
        } else if (got == 0) {
            struct timespec tick = {0, 10 * 1000000L};
            nanosleep(&tick, NULL);
        }
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
    int rc = copy_kept(opts->keep_fds, opts->n_keep_fds, kept);
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
        rc = child_fds(&fa, std, kept, opts->n_keep_fds);
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
    for (size_t i = 0; i < opts->n_keep_fds; i++)
        close(kept[i]);
    return rc;
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
    outbuf ob = {0}, eb = {0};
    long long deadline = opts->timeout_ms > 0 ? ck_mono_ms() + opts->timeout_ms : 0;
    bool killed = false;
    pump(pid, deadline, in[1], opts->input, out[0], er[0], &ob, &eb, &killed);
    int status = reap(pid, deadline, &killed);
    res->timed_out = killed;
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    res->out_len = ob.len;
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
