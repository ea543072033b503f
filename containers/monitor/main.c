/*
 * cricket-monitor: the parent of one container's init process, like conmon.
 *
 * The daemon starts it as it starts every child (common/spawn: a clean
 * environment, a process group of its own, no descriptor of the daemon's
 * but the sync pipe, stdio pipes the daemon drains). It forks once more and
 * the first process exits (the daemon reaps it at once); the second leaves
 * that group for a session of its own and points its stdio at /dev/null and
 * the log file, which ends the daemon's drain. So the monitor is re-parented
 * to the host, and a timeout of the daemon's never reaches it: it lives on
 * when the daemon restarts or is killed. As a child subreaper it runs
 * `<runtime> run --detach` (with --start: what the daemon asks for, for
 * pods and containers alike) or `<runtime> create` (without it: the unit
 * tests' way to watch a container before it starts): the runtime's init
 * process then ends up as the monitor's child. It reports "ok <pid>" or
 * "error <runtime's message>" on the sync pipe, waits for the init to exit (reaping anything else
 * re-parented to it), writes the exit file and exits. The command line, the
 * sync line and the exit file are defined in protocol.h, which the daemon's
 * side (oci/runtime.c) includes too.
 *
 * A runtime whose `run` or `create` hangs must not hang the call: after
 * --create-timeout seconds the runtime is killed with everything it started
 * (it runs in its own process group; what escaped to us as the subreaper is
 * reaped), and the sync pipe says "timeout <text>".
 *
 * A container (any of --container-log, --control, --attach, --stdin,
 * --tty; the pause has none) has its stdio held by the monitor: output
 * pipes or a terminal copied into the CRI log and to attach clients, a
 * stdin pipe they feed, a control socket that reopens the log and resizes
 * the terminal: io.c, log_writer.c, attach.c, console.c and control.c.
 * With --tty the wait for the runtime is a poll() that also takes the
 * terminal the runtime sends on the console socket, so a runtime that
 * waits for it to be taken cannot deadlock the monitor.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/parse.h"
#include "common/timeutil.h"
#include "containers/monitor/monitor.h"

/* A file descriptor number given on the command line; -1 when it is not one. */
static int parse_fd(const char *s)
{
    int64_t v;
    return ck_parse_i64(s, 0, INT_MAX, &v, NULL) < 0 ? -1 : (int)v;
}

/* A whole number of seconds, 1 to a day: anything else is a usage error. */
static int parse_seconds(const char *s, unsigned *out)
{
    int64_t v;
    if (ck_parse_i64(s, 1, 86400, &v, NULL) < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse(int argc, char **argv, mon_opts *o)
{
    static const struct option longopts[] = {
        {CK_MON_OPT_ID, required_argument, NULL, 'i'},
        {CK_MON_OPT_BUNDLE, required_argument, NULL, 'b'},
        {CK_MON_OPT_RUNTIME, required_argument, NULL, 'r'},
        {CK_MON_OPT_RUNTIME_ARG, required_argument, NULL, 'a'},
        {CK_MON_OPT_PID_FILE, required_argument, NULL, 'p'},
        {CK_MON_OPT_EXIT_FILE, required_argument, NULL, 'e'},
        {CK_MON_OPT_LOG_FILE, required_argument, NULL, 'l'},
        {CK_MON_OPT_SYNC_FD, required_argument, NULL, 's'},
        {CK_MON_OPT_CREATE_TIMEOUT, required_argument, NULL, 't'},
        {CK_MON_OPT_CONTAINER_LOG, required_argument, NULL, 'c'},
        {CK_MON_OPT_CONTROL, required_argument, NULL, 'k'},
        {CK_MON_OPT_ATTACH, required_argument, NULL, 'A'},
        {CK_MON_OPT_STDIN, no_argument, NULL, 'I'},
        {CK_MON_OPT_STDIN_ONCE, no_argument, NULL, 'O'},
        {CK_MON_OPT_TTY, no_argument, NULL, 'T'},
        {CK_MON_OPT_START, no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    o->sync_fd = -1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': o->id = optarg; break;
        case 'b': o->bundle = optarg; break;
        case 'r': o->runtime = optarg; break;
        case 'a':
            if (o->n_runtime_args >= CK_MON_MAX_RUNTIME_ARGS)
                return -1;
            o->runtime_args[o->n_runtime_args++] = optarg;
            break;
        case 'p': o->pid_file = optarg; break;
        case 'e': o->exit_file = optarg; break;
        case 'l': o->log_file = optarg; break;
        case 's': o->sync_fd = parse_fd(optarg); break;
        case 't':
            if (parse_seconds(optarg, &o->create_timeout) < 0)
                return -1;
            break;
        case 'c': o->container_log = optarg; break;
        case 'k': o->control = optarg; break;
        case 'A': o->attach = optarg; break;
        case 'I': o->stdin_open = true; break;
        case 'O': o->stdin_once = true; break;
        case 'T': o->tty = true; break;
        case 'S': o->start = true; break;
        default: return -1;
        }
    }
    if (!o->id || !o->bundle || !o->runtime || !o->pid_file || !o->exit_file || !o->log_file || o->sync_fd < 0)
        return -1;
    if (o->stdin_once && !o->stdin_open)
        return -1;
    return 0;
}

static void sync_send(mon_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sync_send(mon_opts *o, const char *fmt, ...)
{
    char line[CK_MON_SYNC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    if (write(o->sync_fd, line, (size_t)n) < 0) {
        /* the daemon went away: nothing to tell */
    }
    close(o->sync_fd);
    o->sync_fd = -1;
}

/* stdin/stdout to /dev/null, stderr to the log file: the runtime's errors
 * land there, and the container inherits the same streams. */
static int setup_stdio(const mon_opts *o)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC); /* dup2 clears it on 0, 1, 2 */
    int log = open(o->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int rc = (null >= 0 && log >= 0 && dup2(null, 0) == 0 && dup2(null, 1) == 1 && dup2(log, 2) == 2) ? 0 : -1;
    if (null > 2)
        close(null);
    if (log > 2)
        close(log);
    return rc;
}

enum { REAPED_MAX = 16 };
static struct {
    pid_t pid;
    int status;
    int64_t at_ns;
} reaped[REAPED_MAX];
static size_t n_reaped;

void mon_reaped_keep(pid_t pid, int status)
{
    if (n_reaped == REAPED_MAX) { /* the oldest goes: the init is among the newest */
        memmove(&reaped[0], &reaped[1], (REAPED_MAX - 1) * sizeof(reaped[0]));
        n_reaped--;
    }
    reaped[n_reaped].pid = pid;
    reaped[n_reaped].status = status;
    reaped[n_reaped].at_ns = ck_now_ns();
    n_reaped++;
}

bool mon_reaped_take(pid_t pid, int *status, int64_t *at_ns)
{
    for (size_t i = 0; i < n_reaped; i++)
        if (reaped[i].pid == pid) {
            *status = reaped[i].status;
            *at_ns = reaped[i].at_ns;
            return true;
        }
    return false;
}

/* Waits for pid, reaping others on the way. -1 on error. */
static int wait_for(pid_t pid, int *status)
{
    int64_t at;
    if (mon_reaped_take(pid, status, &at))
        return 0;
    for (;;) {
        int st;
        pid_t got = waitpid(-1, &st, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == pid) {
            *status = st;
            return 0;
        }
    }
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void read_log_tail(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* The runtime's stdio when the monitor holds the container's: the pipes
 * (the runtime hands them to the init). With a terminal the runtime keeps
 * the monitor's own (its messages go to the runtime log). */
static int give_stdio(const mon_io *io)
{
    if (io == NULL || io->out_w < 0)
        return 0;
    if (io->in_r >= 0 && dup2(io->in_r, STDIN_FILENO) < 0)
        return -1;
    return dup2(io->out_w, STDOUT_FILENO) < 0 || dup2(io->err_w, STDERR_FILENO) < 0 ? -1 : 0;
}

/* What the runtime is asked to do, for messages. */
static const char *verb(const mon_opts *o)
{
    return o->start ? "run" : "create";
}

/* io: NULL for the pause, else the container's stdio. */
static pid_t run_create(const mon_opts *o, const mon_io *io)
{
    pid_t pid = fork();
    if (pid > 0)
        setpgid(pid, pid); /* both sides set it: no window where the group does not exist */
    if (pid != 0)
        return pid;
    setpgid(0, 0); /* the runtime and its helpers: one group to kill */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the monitor's blocked SIGCHLD is not the runtime's */
    if (give_stdio(io) < 0)
        _exit(127);
    const char *argv[CK_MON_MAX_RUNTIME_ARGS + 16];
    int n = 0;
    argv[n++] = o->runtime;
    for (int i = 0; i < o->n_runtime_args; i++)
        argv[n++] = o->runtime_args[i];
    if (o->start) {
        argv[n++] = "run";
        argv[n++] = "--detach";
    } else {
        argv[n++] = "create";
    }
    argv[n++] = "--bundle";
    argv[n++] = o->bundle;
    argv[n++] = "--pid-file";
    argv[n++] = o->pid_file;
    char console[128];
    if (io != NULL && io->console_lfd >= 0) {
        argv[n++] = "--console-socket";
        argv[n++] = mon_console_path(io->console_dir, console, sizeof(console));
    }
    argv[n++] = o->id;
    argv[n] = NULL;
    execv(o->runtime, (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", o->runtime, strerror(errno));
    _exit(127);
}

static pid_t read_pid(const char *path)
{
    int64_t pid; /* runc writes the pid alone, without a newline */
    return ck_read_i64_file(path, 1, INT32_MAX, &pid, NULL) < 0 ? -1 : (pid_t)pid;
}

/* The runtime's group is killed; whatever it left to us is reaped (for at
 * most a few seconds: a process stuck in the kernel is not worth a hang). */
static void kill_create(pid_t create)
{
    kill(-create, SIGKILL);
    kill(create, SIGKILL);
    for (int i = 0; i < 300; i++) {
        pid_t got = waitpid(-1, NULL, WNOHANG);
        if (got < 0 && errno == ECHILD)
            return;
        if (got <= 0)
            usleep(10 * 1000);
    }
}

/* Waits for `create` within --create-timeout, taking the terminal
 * meanwhile (--tty: the runtime may not finish before it is taken). 0
 * with its status, 1 when the time ran out, -1 with errno. */
static int wait_create(const mon_opts *o, mon_io *io, pid_t create, int *status)
{
    int sfd = mon_sigchld_fd();
    if (sfd < 0)
        return -1;
    long long deadline = o->create_timeout > 0 ? ck_mono_ms() + o->create_timeout * 1000LL : -1;
    int rc = 2;
    while (rc == 2) {
        int st;
        pid_t got;
        while ((got = waitpid(-1, &st, WNOHANG)) > 0 && got != create)
            mon_reaped_keep(got, st); /* the init may end before `run --detach` does */
        long long left = deadline < 0 ? -1 : deadline - ck_mono_ms();
        if (got == create) {
            *status = st;
            rc = 0;
        } else if (got < 0 && errno != EINTR) {
            rc = -1;
        } else if (deadline >= 0 && left <= 0) {
            rc = 1;
        } else {
            int console = io != NULL && io->console < 0 ? io->console_lfd : -1;
            struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = console, .events = POLLIN}};
            if (poll(p, 2, (int)left) < 0 && errno != EINTR)
                rc = -1;
            else if (p[0].revents)
                mon_sigchld_drain(sfd);
            if (rc == 2 && p[1].revents)
                mon_io_take_console(o, io);
        }
    }
    int saved = errno;
    close(sfd);
    errno = saved;
    return rc;
}

/* Runs `create` within the timeout: 0 with its status, -1 (reported). */
static int create_bounded(mon_opts *o, mon_io *io, int *status)
{
    pid_t create = run_create(o, io);
    if (create < 0) {
        sync_send(o, CK_MON_SYNC_ERROR "cannot run %s: %s\n", o->runtime, strerror(errno));
        return -1;
    }
    int rc = wait_create(o, io, create, status);
    if (rc > 0) {
        kill_create(create);
        sync_send(o, CK_MON_SYNC_TIMEOUT "%s %s did not finish within %u s: killed\n", o->runtime, verb(o),
                  o->create_timeout);
        return -1;
    }
    if (rc < 0) {
        sync_send(o, CK_MON_SYNC_ERROR "wait for %s %s: %s\n", o->runtime, verb(o), strerror(errno));
        return -1;
    }
    return 0;
}

/* The pause: stdio /dev/null, wait for the init. */
static int monitor(mon_opts *o)
{
    int status;
    if (create_bounded(o, NULL, &status) < 0)
        return 1;
    if (exit_code(status) != 0) {
        char msg[3000];
        read_log_tail(o->log_file, msg, sizeof(msg));
        sync_send(o, CK_MON_SYNC_ERROR "%s %s exited with %d: %s\n", o->runtime, verb(o), exit_code(status), msg);
        return 1;
    }
    pid_t init = read_pid(o->pid_file);
    if (init <= 0) {
        sync_send(o, CK_MON_SYNC_ERROR "no pid in %s\n", o->pid_file);
        return 1;
    }
    sync_send(o, CK_MON_SYNC_OK "%d\n", (int)init);
    if (wait_for(init, &status) < 0) {
        /* Not our child (should not happen as subreaper): poll for it. */
        while (kill(init, 0) == 0)
            sleep(1);
        status = 255 << 8;
    }
    return mon_write_exit_file(o->exit_file, exit_code(status), ck_now_ns()) < 0 ? 1 : 0;
}

/* protocol.h, 5: held until the process ends (the descriptor is never
 * closed and is close-on-exec, so `create` and the container do not keep
 * it). */
static int hold_liveness_lock(const mon_opts *o)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", o->exit_file);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* A container: its stdio held by the monitor (io.c). */
static int monitor_stdio(mon_opts *o)
{
    mon_io io;
    char why[1024];
    int status, rc = 1;
    if (mon_io_open(o, &io, why, sizeof(why)) < 0) {
        sync_send(o, CK_MON_SYNC_ERROR "%s\n", why);
        goto out;
    }
    int created = create_bounded(o, &io, &status);
    int stdio_rc = mon_io_after_create(o, &io, why, sizeof(why));
    if (created < 0)
        goto out;
    if (exit_code(status) != 0) {
        if (o->start)
            mon_io_runtime_failed(&io);
        char msg[3000];
        read_log_tail(o->log_file, msg, sizeof(msg));
        sync_send(o, CK_MON_SYNC_ERROR "%s %s exited with %d: %s\n", o->runtime, verb(o), exit_code(status), msg);
        goto out;
    }
    pid_t init = read_pid(o->pid_file);
    if (init <= 0) {
        sync_send(o, CK_MON_SYNC_ERROR "no pid in %s\n", o->pid_file);
        goto out;
    }
    if (stdio_rc < 0) {
        kill(init, SIGKILL); /* created without its terminal: no use to anyone */
        sync_send(o, CK_MON_SYNC_ERROR "%s\n", why);
        goto out;
    }
    sync_send(o, CK_MON_SYNC_OK "%d\n", (int)init);
    int64_t finished;
    mon_io_run(o, &io, init, &status, &finished);
    rc = mon_write_exit_file(o->exit_file, exit_code(status), finished) < 0 ? 1 : 0;
out:
    mon_io_close(o, &io);
    return rc;
}

/* Whatever the daemon had open without close-on-exec (its descriptors may
 * hold pipes others wait on) is no business of a process that outlives it. */
static void close_inherited(int keep)
{
    if (keep > 3)
        close_range(3, (unsigned)keep - 1, 0);
    close_range((unsigned)keep + 1, ~0U, 0);
}

int main(int argc, char **argv)
{
    mon_opts o = {0};
    if (parse(argc, argv, &o) < 0) {
        fprintf(
            stderr,
            "usage: cricket-monitor --id ID --bundle DIR --runtime PATH [--runtime-arg ARG]... "
            "--pid-file F --exit-file F --log-file F --sync-fd N [--create-timeout SECONDS] "
            "[--container-log F] [--control SOCKET] [--attach SOCKET] [--stdin [--stdin-once]] [--tty] [--start]\n");
        return CK_MON_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    close_inherited(o.sync_fd);
    pid_t pid = fork();
    if (pid < 0) {
        sync_send(&o, CK_MON_SYNC_ERROR "fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid > 0)
        _exit(0); /* the daemon reaps this one; the child lives on */
    setsid();
    if (hold_liveness_lock(&o) < 0) {
        sync_send(&o, CK_MON_SYNC_ERROR "lock the directory of %s: %s\n", o.exit_file, strerror(errno));
        return 1;
    }
    if (setup_stdio(&o) < 0) {
        sync_send(&o, CK_MON_SYNC_ERROR "open %s: %s\n", o.log_file, strerror(errno));
        return 1;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL); /* waited for with waitpid and a signalfd */
    return mon_opts_hold_stdio(&o) ? monitor_stdio(&o) : monitor(&o);
}
