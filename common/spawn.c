/*
 * spawn: helper programs run to completion, plus small file helpers the
 * domains share (atomic writes, recursive removal).
 */
#include "common/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include <unistd.h>

#include "common/cleanup.h"

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

/* Feeds input and drains both outputs until both are closed. */
static void pump(int in_fd, const char *input, int out_fd, int err_fd, outbuf *out, outbuf *errb)
{
    size_t in_len = input != NULL ? strlen(input) : 0, in_off = 0;
    if (in_fd >= 0 && in_len == 0) {
        close(in_fd);
        in_fd = -1;
    }
    if (in_fd >= 0)
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
    while (out_fd >= 0 || err_fd >= 0) {
        struct pollfd p[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
        if (poll(p, 3, -1) < 0) {
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
}

int ck_spawn(const char *const *argv, const char *const *envp, const char *input, ck_spawn_result *res, ck_err *err)
{
    memset(res, 0, sizeof(*res));
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        close_pair(er);
        return ck_err_set(err, CK_E_INTERNAL, e, "run %s: pipe", argv[0]);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, envp != NULL ? (char *const *)envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
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
    pump(in[1], input, out[0], er[0], &ob, &eb);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
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
