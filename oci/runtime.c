/*
 * runtime: the OCI runtime CLI, one process per verb. The runtime's stderr
 * becomes the error message, so a failure reads as the runtime wrote it.
 * Every process here starts through common/spawn, the verbs and the
 * cricket-monitor alike, so each gets the same clean environment (runc must
 * never see the daemon's NOTIFY_SOCKET), no descriptor of ours and a group
 * a timeout kills whole. The monitor's command line, sync line and exit
 * file are defined once, in containers/monitor/protocol.h.
 */
#include "oci/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/proc.h"
#include "common/spawn.h"
#include "common/timeutil.h"
#include "common/unix_addr.h"
#include "containers/monitor/protocol.h"
#include "oci/oci.h"

/* MONITOR_DETACH_TIMEOUT_MS bounds the monitor's start only: its first
 * process exits and its second lets go of the stdio pipes at once. */
enum {
    MAX_ARGS = 48,
    RUNTIME_VERB_TIMEOUT_MS = 120 * 1000,
    MONITOR_DETACH_TIMEOUT_MS = 30 * 1000,
    MONITOR_ARGV_MAX = 7 + 2 * CK_MON_MAX_RUNTIME_ARGS + 20 + 1,
};

int ck_oci_runtime_get(const ck_config *cfg, const char *name, ck_oci_runtime *rt, ck_err *err)
{
    const char *want = (name == NULL || name[0] == '\0') ? cfg->default_runtime : name;
    const ck_runtime_handler *h = ck_config_find_runtime(cfg, want);
    if (h == NULL)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "runtime handler \"%s\" is not configured", want);
    if (ck_oci_handler_check(h, err) < 0)
        return -1;
    rt->handler = h;
    if (h->root != NULL)
        snprintf(rt->root, sizeof(rt->root), "%s", h->root);
    else
        snprintf(rt->root, sizeof(rt->root), "%s/runtime/%s", cfg->state_dir, h->name);
    return 0;
}

size_t ck_oci_base_args(const ck_oci_runtime *rt, const char **argv, size_t max)
{
    size_t n = 0;
    argv[n++] = rt->handler->path;
    argv[n++] = "--root";
    argv[n++] = rt->root;
    for (size_t i = 0; i < rt->handler->extra_args.len && n < max; i++)
        argv[n++] = rt->handler->extra_args.items[i];
    return n;
}

/* argv: runtime --root R extra... verb args... */
static size_t base_args(const ck_oci_runtime *rt, const char **argv)
{
    return ck_oci_base_args(rt, argv, MAX_ARGS - 12);
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* Runs one verb; on a non-zero exit the runtime's stderr is the message. */
static int run_verb(const ck_oci_runtime *rt, const char *const *verb_args, ck_spawn_result *res, ck_err *err)
{
    const char *argv[MAX_ARGS];
    size_t n = base_args(rt, argv);
    for (size_t i = 0; verb_args[i] != NULL && n < MAX_ARGS - 1; i++)
        argv[n++] = verb_args[i];
    argv[n] = NULL;
    if (ck_spawn(argv, NULL, NULL, RUNTIME_VERB_TIMEOUT_MS, res, err) < 0)
        return -1;
    if (res->timed_out)
        return ck_err_set(err, CK_E_DEADLINE, 0, "%s %s did not finish within %d s: killed", rt->handler->name,
                          verb_args[0], RUNTIME_VERB_TIMEOUT_MS / 1000);
    if (res->status != 0) {
        trim(res->errout);
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s %s: %s", rt->handler->name, verb_args[0],
                          res->errout[0] ? res->errout : "failed");
    }
    return 0;
}

static bool says_not_exist(const ck_spawn_result *res)
{
    return strstr(res->errout, "does not exist") != NULL || strstr(res->errout, "not found") != NULL ||
           strstr(res->errout, "No such file") != NULL;
}

int ck_oci_kill(const ck_oci_runtime *rt, const char *id, int sig, bool all, ck_err *err)
{
    char signum[16];
    snprintf(signum, sizeof(signum), "%d", sig);
    ck_spawn_result res;
    const char *args[] = {"kill", all ? "--all" : id, all ? id : signum, all ? signum : NULL, NULL};
    int rc = run_verb(rt, args, &res, err);
    if (rc < 0 && res.errout != NULL && says_not_exist(&res))
        err->kind = CK_E_NOT_FOUND;
    ck_spawn_result_clear(&res);
    return rc;
}

/* A signal goes straight to the init when its identity is known: a `runc
 * kill` is a runtime process of tens of milliseconds on every stop, and the
 * pidfd wakes the wait below the moment the init exits. SIGKILL meant for
 * every process (whole) goes this way only when the init is pid 1 of its
 * own PID namespace, whose processes all die with it; otherwise (a pod's or
 * the host's PID namespace shared) the runtime finds them in the cgroup.
 * *pidfd: the descriptor kept for that wait, or -1. False when the runtime
 * must send it. */
static bool signal_init_directly(const ck_proc_id *init, int sig, bool whole, int *pidfd)
{
    *pidfd = -1;
    if (init == NULL || init->pid <= 0 || init->start_time == 0)
        return false;
    ck_err e;
    ck_err_clear(&e);
    int fd = ck_proc_id_open(init, &e);
    if (fd < 0)
        return e.kind == CK_E_NOT_FOUND; /* gone: alive says so, nothing to send */
    /* Read while fd holds the process: its pid cannot name another yet. */
    if ((whole && !ck_proc_is_pid_ns_init(init->pid)) || (pidfd_send_signal(fd, sig, NULL, 0) < 0 && errno != ESRCH)) {
        close(fd);
        return false;
    }
    *pidfd = fd;
    return true;
}

/* Up to 20 ms, or until the init's pidfd says it exited. Once it has, the
 * pidfd stays readable: the wait for the monitor's exit file goes on in
 * 1 ms steps (it follows within milliseconds) instead of spinning. */
static void wait_a_little(int *pidfd)
{
    if (*pidfd < 0) {
        usleep(20 * 1000);
        return;
    }
    struct pollfd p = {*pidfd, POLLIN, 0};
    int n = poll(&p, 1, 20);
    if (n < 0 && errno != EINTR) {
        usleep(20 * 1000);
    } else if (n > 0) {
        close(*pidfd);
        *pidfd = -1;
        usleep(1000);
    }
}

/* Sends sig and waits up to ms for alive to say gone (polled every 20
 * ms, or as the init exits). While the runtime does not know the container
 * (a create still under way in a monitor) the signal is tried again every
 * 200 ms. */
static bool signal_until_gone(const ck_oci_runtime *rt, const char *id, const ck_proc_id *init, int sig, bool all,
                              int ms, ck_oci_alive_fn alive, void *arg)
{
    long long deadline = ck_mono_ms() + ms, next_try = 0;
    _cleanup_close_ int pidfd = -1;
    bool sent = signal_init_directly(init, sig, all, &pidfd);
    for (;;) {
        if (!sent && ck_mono_ms() >= next_try) {
            ck_err e;
            ck_err_clear(&e);
            if (ck_oci_kill(rt, id, sig, all, &e) == 0) {
                sent = true;
            } else if (e.kind != CK_E_NOT_FOUND) {
                ck_warn("oci", "container %s: %s", id, e.msg);
                sent = true;
            } else {
                next_try = ck_mono_ms() + 200;
            }
        }
        if (!alive(arg))
            return true;
        if (ck_mono_ms() >= deadline)
            return false;
        wait_a_little(&pidfd);
    }
}

int ck_oci_stop(const ck_oci_runtime *rt, const char *id, const ck_proc_id *init, int sig, int grace_ms,
                ck_oci_alive_fn alive, void *arg, ck_err *err)
{
    /* No grace: SIGKILL at once, as containerd and CRI-O do; a polite
     * signal nobody waits for would only cost a call. */
    if (!alive(arg) || (grace_ms > 0 && signal_until_gone(rt, id, init, sig, false, grace_ms, alive, arg)) ||
        signal_until_gone(rt, id, init, SIGKILL, true, CK_OCI_KILL_WAIT_MS, alive, arg))
        return 0;
    return ck_err_set(err, CK_E_DEADLINE, 0, "container %s is still running %d ms after SIGKILL", id,
                      CK_OCI_KILL_WAIT_MS);
}

int ck_oci_update(const ck_oci_runtime *rt, const char *id, const char *resources_file, ck_err *err)
{
    ck_spawn_result res;
    const char *args[] = {"update", "--resources", resources_file, id, NULL};
    int rc = run_verb(rt, args, &res, err);
    if (rc < 0 && res.errout != NULL && says_not_exist(&res))
        err->kind = CK_E_NOT_FOUND;
    ck_spawn_result_clear(&res);
    return rc;
}

int ck_oci_delete(const ck_oci_runtime *rt, const char *id, ck_err *err)
{
    ck_spawn_result res;
    const char *args[] = {"delete", "--force", id, NULL};
    int rc = run_verb(rt, args, &res, err);
    if (rc < 0 && res.errout != NULL && says_not_exist(&res)) {
        ck_err_clear(err);
        rc = 0;
    }
    ck_spawn_result_clear(&res);
    return rc;
}

int ck_oci_state(const ck_oci_runtime *rt, const char *id, char *status, size_t size, pid_t *pid, ck_err *err)
{
    ck_spawn_result res;
    const char *args[] = {"state", id, NULL};
    int rc = run_verb(rt, args, &res, err);
    if (rc < 0) {
        if (res.errout != NULL && says_not_exist(&res))
            err->kind = CK_E_NOT_FOUND;
        ck_spawn_result_clear(&res);
        return -1;
    }
    json_t *root = json_loads(res.out, 0, NULL);
    ck_spawn_result_clear(&res);
    if (root == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s state %s: output is not JSON", rt->handler->name, id);
    snprintf(status, size, "%s", json_string_value(json_object_get(root, "status")) ?: "unknown");
    *pid = (pid_t)json_integer_value(json_object_get(root, "pid"));
    json_decref(root);
    return 0;
}

void ck_oci_monitor_files_init(ck_oci_monitor_files *f, const char *dir)
{
    snprintf(f->pid_file, sizeof(f->pid_file), "%s/pid", dir);
    snprintf(f->exit_file, sizeof(f->exit_file), "%s/exit", dir);
    snprintf(f->log_file, sizeof(f->log_file), "%s/runtime.log", dir);
    f->container_log[0] = '\0';
    f->control[0] = '\0';
    f->attach[0] = '\0';
    f->stdin_open = f->stdin_once = f->tty = false;
}

/* Connects a socket of type to the unix socket at path (any length: common/unix_addr, as the monitor binds it). */
static int connect_unix(const char *path, int type, ck_err *err)
{
    struct sockaddr_un sa;
    _cleanup_close_ int dir = -1;
    if (ck_unix_addr(path, &sa, &dir) < 0)
        return ck_err_set(err, errno == ENAMETOOLONG ? CK_E_INVALID : CK_E_INTERNAL, errno, "socket address %s", path);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        bool gone = e == ENOENT || e == ECONNREFUSED;
        return ck_err_set(err, gone ? CK_E_PRECONDITION : CK_E_INTERNAL, e, "connect to the monitor at %s", path);
    }
    return fd;
}

/* Reads the monitor's one-line answer on fd into line (NUL-terminated):
 * up to a newline, the end of the stream or a full buffer. 0, or 1 when
 * nothing ended it within timeout_ms. */
static int read_line_within(int fd, char *line, size_t size, int timeout_ms)
{
    size_t len = 0;
    line[0] = '\0';
    long long deadline = ck_mono_ms() + timeout_ms;
    while (len < size - 1 && memchr(line, '\n', len) == NULL) {
        long long left = deadline - ck_mono_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return 1;
        ssize_t n = read(fd, line + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = '\0';
    }
    line[len] = '\0';
    return 0;
}

/* The monitor's one-line answer (protocol.h, 4): 0 for "ok", else -1 with
 * what and the monitor's words; an "error" answer is kind. */
static int control_answer(char *line, const char *what, ck_errkind kind, ck_err *err)
{
    if (strcmp(line, CK_MON_CTL_OK) == 0)
        return 0;
    trim(line);
    if (strncmp(line, CK_MON_CTL_ERROR, strlen(CK_MON_CTL_ERROR)) == 0)
        return ck_err_set(err, kind, 0, "%s: %s", what, line + strlen(CK_MON_CTL_ERROR));
    return ck_err_set(err, CK_E_INTERNAL, 0, "%s: the monitor answered \"%s\"", what, line);
}

/* Sends one request on the monitor's control socket and reads its one
 * line (protocol.h, 4): 0 for "ok", else -1 with what (the request's
 * description) and the monitor's words; an "error" answer is kind. */
static int control_request(const ck_oci_monitor_files *files, const char *req, const char *what, ck_errkind kind,
                           ck_err *err)
{
    if (files->control[0] == '\0')
        return ck_err_set(err, CK_E_PRECONDITION, 0, "%s: the monitor has no control socket", what);
    _cleanup_close_ int fd = connect_unix(files->control, SOCK_STREAM, err);
    if (fd < 0)
        return ck_err_wrap(err, "%s", what);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        return ck_err_set(err, CK_E_INTERNAL, errno, "%s: send to the monitor", what);
    char line[CK_MON_CTL_LINE_MAX];
    if (read_line_within(fd, line, sizeof(line), CK_OCI_CONTROL_TIMEOUT_MS) > 0)
        return ck_err_set(err, CK_E_DEADLINE, 0, "%s: the monitor did not answer within %d s", what,
                          CK_OCI_CONTROL_TIMEOUT_MS / 1000);
    return control_answer(line, what, kind, err);
}

int ck_oci_reopen_log(const ck_oci_monitor_files *files, ck_err *err)
{
    char what[600];
    snprintf(what, sizeof(what), "reopen %s", files->container_log);
    return control_request(files, CK_MON_CTL_REOPEN, what, CK_E_INTERNAL, err);
}

int ck_oci_resize(const ck_oci_monitor_files *files, unsigned height, unsigned width, ck_err *err)
{
    if (height < 1 || height > 65535 || width < 1 || width > 65535)
        return ck_err_set(err, CK_E_INVALID, 0, "terminal size %ux%u: each must be 1 to 65535", height, width);
    char req[64];
    snprintf(req, sizeof(req), CK_MON_CTL_RESIZE "%u %u\n", height, width);
    return control_request(files, req, "resize the terminal", CK_E_PRECONDITION, err);
}

_Static_assert(sizeof(((ck_oci_control_answer *)0)->line) >= CK_MON_CTL_LINE_MAX, "room for the monitor's line");

int ck_oci_resize_send(const ck_oci_monitor_files *files, unsigned height, unsigned width, ck_err *err)
{
    if (height < 1 || height > 65535 || width < 1 || width > 65535)
        return ck_err_set(err, CK_E_INVALID, 0, "terminal size %ux%u: each must be 1 to 65535", height, width);
    if (files->control[0] == '\0')
        return ck_err_set(err, CK_E_PRECONDITION, 0, "resize the terminal: the monitor has no control socket");
    int fd = connect_unix(files->control, SOCK_STREAM | SOCK_NONBLOCK, err);
    if (fd < 0)
        return ck_err_wrap(err, "resize the terminal");
    char req[64];
    int len = snprintf(req, sizeof(req), CK_MON_CTL_RESIZE "%u %u\n", height, width);
    /* A few bytes into a new socket's empty buffer: all or nothing. */
    if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
        int e = errno;
        close(fd);
        return ck_err_set(err, CK_E_INTERNAL, e, "resize the terminal: send to the monitor");
    }
    return fd;
}

int ck_oci_resize_answer(int fd, ck_oci_control_answer *a, ck_err *err)
{
    while (a->len < sizeof(a->line) - 1 && memchr(a->line, '\n', a->len) == NULL) {
        ssize_t n = read(fd, a->line + a->len, sizeof(a->line) - 1 - a->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 1;
        if (n < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "resize the terminal: read the monitor's answer");
        if (n == 0)
            break;
        a->len += (size_t)n;
    }
    a->line[a->len] = '\0';
    return control_answer(a->line, "resize the terminal", CK_E_PRECONDITION, err);
}

int ck_oci_attach_connect(const ck_oci_monitor_files *files, ck_err *err)
{
    if (files->attach[0] == '\0')
        return ck_err_set(err, CK_E_PRECONDITION, 0, "attach: the monitor has no attach socket");
    int fd = connect_unix(files->attach, SOCK_SEQPACKET, err);
    return fd < 0 ? ck_err_wrap(err, "attach") : fd;
}

/* Reads the monitor's one sync line (protocol.h). The monitor bounds the
 * runtime's create itself; timeout_ms only guards against a monitor that
 * never answers. silent says why when it ended without a word. */
static int read_sync(int fd, const char *id, int timeout_ms, const char *silent, pid_t *pid, ck_err *err)
{
    char line[CK_MON_SYNC_LINE_MAX];
    if (read_line_within(fd, line, sizeof(line), timeout_ms) > 0)
        return ck_err_set(err, CK_E_DEADLINE, 0, "create container %s: the monitor did not answer within %d s", id,
                          timeout_ms / 1000);
    trim(line);
    if (strncmp(line, CK_MON_SYNC_OK, strlen(CK_MON_SYNC_OK)) == 0) {
        int64_t v;
        if (ck_parse_i64(line + strlen(CK_MON_SYNC_OK), 1, INT32_MAX, &v, err) < 0)
            return ck_err_wrap(err, "create container %s: the monitor's pid", id);
        *pid = (pid_t)v;
        return 0;
    }
    if (strncmp(line, CK_MON_SYNC_ERROR, strlen(CK_MON_SYNC_ERROR)) == 0)
        return ck_err_set(err, CK_E_INTERNAL, 0, "create container %s: %s", id, line + strlen(CK_MON_SYNC_ERROR));
    if (strncmp(line, CK_MON_SYNC_TIMEOUT, strlen(CK_MON_SYNC_TIMEOUT)) == 0)
        return ck_err_set(err, CK_E_DEADLINE, 0, "create container %s: %s", id, line + strlen(CK_MON_SYNC_TIMEOUT));
    return ck_err_set(err, CK_E_INTERNAL, 0, "create container %s: %s", id, silent);
}

/* The monitor's command line (protocol.h), into argv (MONITOR_ARGV_MAX
 * entries); sync_fd is the number the sync pipe has in the monitor. */
static int monitor_argv(const ck_oci_runtime *rt, const char *monitor, const char *id, const char *bundle,
                        const ck_oci_monitor_files *files, const char *sync_fd, const char *timeout, const char **argv,
                        ck_err *err)
{
    const char *rargs[MAX_ARGS];
    size_t nr = base_args(rt, rargs);
    if (nr - 1 > CK_MON_MAX_RUNTIME_ARGS)
        return ck_err_set(err, CK_E_INVALID, 0, "runtime handler %s: %zu global arguments, the monitor takes %d",
                          rt->handler->name, nr - 1, CK_MON_MAX_RUNTIME_ARGS);
    size_t n = 0;
    argv[n++] = monitor;
    argv[n++] = "--" CK_MON_OPT_ID;
    argv[n++] = id;
    argv[n++] = "--" CK_MON_OPT_BUNDLE;
    argv[n++] = bundle;
    argv[n++] = "--" CK_MON_OPT_RUNTIME;
    argv[n++] = rt->handler->path;
    for (size_t i = 1; i < nr; i++) {
        argv[n++] = "--" CK_MON_OPT_RUNTIME_ARG;
        argv[n++] = rargs[i];
    }
    argv[n++] = "--" CK_MON_OPT_PID_FILE;
    argv[n++] = files->pid_file;
    argv[n++] = "--" CK_MON_OPT_EXIT_FILE;
    argv[n++] = files->exit_file;
    argv[n++] = "--" CK_MON_OPT_LOG_FILE;
    argv[n++] = files->log_file;
    argv[n++] = "--" CK_MON_OPT_SYNC_FD;
    argv[n++] = sync_fd;
    argv[n++] = "--" CK_MON_OPT_CREATE_TIMEOUT;
    argv[n++] = timeout;
    if (files->container_log[0] != '\0') {
        argv[n++] = "--" CK_MON_OPT_CONTAINER_LOG;
        argv[n++] = files->container_log;
    }
    if (files->control[0] != '\0') {
        argv[n++] = "--" CK_MON_OPT_CONTROL;
        argv[n++] = files->control;
    }
    if (files->attach[0] != '\0') {
        argv[n++] = "--" CK_MON_OPT_ATTACH;
        argv[n++] = files->attach;
    }
    if (files->stdin_open)
        argv[n++] = "--" CK_MON_OPT_STDIN;
    if (files->stdin_open && files->stdin_once)
        argv[n++] = "--" CK_MON_OPT_STDIN_ONCE;
    if (files->tty)
        argv[n++] = "--" CK_MON_OPT_TTY;
    if (files->start)
        argv[n++] = "--" CK_MON_OPT_START;
    argv[n] = NULL;
    return 0;
}

int ck_oci_create(const ck_oci_runtime *rt, const char *id, const char *bundle, const ck_oci_monitor_files *files,
                  pid_t *pid_out, ck_err *err)
{
    char monitor[4096];
    const char *argv[MONITOR_ARGV_MAX];
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%u", rt->handler->create_timeout);
    /* The sync pipe is the one descriptor the monitor keeps: its 3. */
    if (ck_exe_sibling("cricket-monitor", monitor, sizeof(monitor), err) < 0 ||
        monitor_argv(rt, monitor, id, bundle, files, "3", timeout, argv, err) < 0)
        return ck_err_wrap(err, "create container %s", id);
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create container %s: pipe", id);
    const ck_spawn_opts opts = {.keep_fds = &sync[1], .n_keep_fds = 1, .timeout_ms = MONITOR_DETACH_TIMEOUT_MS};
    ck_spawn_result res;
    int rc = ck_spawn_run(argv, &opts, &res, err);
    close(sync[1]);
    if (rc < 0) {
        close(sync[0]);
        return ck_err_wrap(err, "create container %s: start the monitor", id);
    }
    /* The monitor's first process has exited and its second let go of the
     * stdio pipes; what it has to say comes on the sync pipe. */
    char silent[512];
    trim(res.errout);
    if (res.timed_out)
        snprintf(silent, sizeof(silent), "%s did not detach within %d s: killed", monitor,
                 MONITOR_DETACH_TIMEOUT_MS / 1000);
    else if (res.status != 0)
        snprintf(silent, sizeof(silent), "%s exited with %d: %s", monitor, res.status,
                 res.errout[0] != '\0' ? res.errout : "no message");
    else
        snprintf(silent, sizeof(silent), "the monitor ended without a word");
    ck_spawn_result_clear(&res);
    rc = read_sync(sync[0], id, ((int)rt->handler->create_timeout + 15) * 1000, silent, pid_out, err);
    close(sync[0]);
    return rc;
}

bool ck_oci_monitor_running(const ck_oci_monitor_files *files)
{
    char dir[sizeof(files->exit_file)];
    snprintf(dir, sizeof(dir), "%s", files->exit_file);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir)
        *slash = '\0';
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false; /* no directory: nobody can hold it */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

void ck_oci_wait_exit_file(const ck_oci_monitor_files *files)
{
    int64_t until = ck_mono_ms() + CK_MON_DRAIN_MS + 1000;
    while (ck_mono_ms() < until && access(files->exit_file, F_OK) < 0 && ck_oci_monitor_running(files))
        usleep(10 * 1000);
}

int ck_oci_read_exit(const ck_oci_monitor_files *files, int *code, long long *finished_at_ns, ck_err *err)
{
    _cleanup_close_ int fd = open(files->exit_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "read %s", files->exit_file);
    char buf[CK_MON_EXIT_RECORD_MAX * 2];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR) {
    }
    if (n < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "read %s", files->exit_file);
    buf[n] = '\0';
    /* CK_MON_EXIT_FORMAT: "<exit code> <finished, ns since the epoch>\n",
     * written whole by the monitor. */
    const char *p = buf;
    int64_t c, at;
    if (ck_parse_i64_word(&p, INT32_MIN, INT32_MAX, &c, err) < 0 || ck_parse_i64_word(&p, 0, INT64_MAX, &at, err) < 0 ||
        (*p != '\n' && *p != '\0'))
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s: malformed exit record", files->exit_file);
    *code = (int)c;
    *finished_at_ns = at;
    return 1;
}

/* True when the effective capabilities include CAP_SYS_RESOURCE (24). */
static bool has_sys_resource(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return false;
    char line[256];
    uint64_t eff = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "CapEff:", 7) == 0) {
            const char *p = line + 7;
            if (ck_parse_u64_word(&p, 16, &eff, NULL) < 0)
                eff = 0;
            break;
        }
    fclose(f);
    return (eff >> 24) & 1;
}

static int own_oom_score_adj(void)
{
    int64_t v = 0;
    if (ck_read_i64_file("/proc/self/oom_score_adj", -1000, 1000, &v, NULL) < 0)
        return 0;
    return (int)v;
}

int ck_oci_allowed_oom_score_adj(int requested)
{
    static atomic_int warned;
    int own = own_oom_score_adj();
    if (requested >= own || has_sys_resource())
        return requested;
    if (atomic_exchange(&warned, 1) == 0)
        ck_warn("oci",
                "oom_score_adj %d requested, but without CAP_SYS_RESOURCE this host refuses values below "
                "the daemon's own (%d): using %d (logged once)",
                requested, own, own);
    return own;
}
