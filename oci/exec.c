/*
 * exec: ExecSync's engine. `runc exec` without -d runs the command in the
 * container and stays its parent: it copies the process's stdout and stderr
 * to its own (our pipes, through common/spawn), waits for it and exits with
 * its status, or with 255 and its own message when the process never
 * started. runc's own words go to its log (--log, JSON lines, a memfd passed
 * as its descriptor 3, so nothing is left on disk), which is how a failure
 * of runc is told from a process that wrote to stderr and exited non-zero:
 * only runc logs an "error" line.
 *
 * The timeout. runc runs the process in a session of its own (and the
 * process may start others, in sessions of their own), so killing runc's
 * process group does not reach it; killing runc instead would orphan the
 * process to a reaper that is slow here (DESIGN.md: the host's PID 1 reaps
 * after 1-1.5 s) while the conformance suite looks for it within 0.1 s. So
 * runc is left alive, to reap, and its descendants are killed:
 *   1. freeze: scan /proc for every descendant of runc (by parent links;
 *      runc is our unreaped child, so its pid cannot have been reused) and
 *      SIGSTOP each new one; scan again until a scan finds none new. A
 *      stopped process cannot fork, and one forked just before its parent
 *      stopped is found by the next scan while the parent, stopped but
 *      alive, still links it to the tree. Nothing escapes by dying parents
 *      either: no parent dies before step 2.
 *   2. SIGKILL every frozen process (its start time checked first: a pid
 *      is never signalled once it could belong to someone else).
 *   3. runc sees its child die, reaps it and exits; spawn reaps runc.
 *   4. wait (bounded) until every killed process is gone from /proc.
 * The process runc started is reaped by runc before runc exits, so it is
 * gone when this returns. What that process started is orphaned by the
 * kill in the container's pid namespace, where the kernel gives orphans to
 * the namespace's init and to nobody outside it: they are dead at once, and
 * gone as soon as that init reaps them (a pod's pause does; an init that
 * never calls wait leaves zombies, as it would for any process of its own,
 * and a warning says so).
 * The same kill is used when the call is cancelled, and when the client of
 * a streamed exec goes away.
 *
 * The streamed exec (Exec over the streaming server) is the same `runc
 * exec`, started with the caller's descriptors as its stdio and left
 * running: pipes, or with --tty a terminal of the caller's (runc copies
 * between it and the container's console, and resizes the console from
 * it on SIGWINCH).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/proc.h"
#include "common/spawn.h"
#include "common/timeutil.h"
#include "oci/runtime.h"

enum {
    EXEC_BASE_ARGS_MAX = 24,    /* the runtime's path, --root R, the handler's extra args */
    EXEC_OWN_ARGS = 8,          /* --log F --log-format json exec [--tty] -- id */
    EXEC_FREEZE_ROUNDS = 50,    /* scans at most; a fork bomb gets killed as far as it was seen */
    EXEC_GONE_WAIT_MS = 1000,   /* for the container's init to reap what the kill orphaned */
    EXEC_COMMAND_NAME_MAX = 200 /* of the command, in messages */
};

/* One process of the tree being killed, known by pid and start time. */
typedef struct victim {
    pid_t pid;
    uint64_t start_time;
} victim;

typedef struct victims {
    victim *v;
    size_t n, cap;
    pid_t runc;      /* the root of the tree: not a victim, it reaps */
    bool incomplete; /* out of memory or /proc unreadable: some may have been missed */
} victims;

static bool victims_has(const victims *vs, pid_t pid)
{
    for (size_t i = 0; i < vs->n; i++)
        if (vs->v[i].pid == pid)
            return true;
    return false;
}

static bool victims_add(victims *vs, pid_t pid, uint64_t start_time)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap == 0 ? 16 : vs->cap * 2;
        victim *v = realloc(vs->v, cap * sizeof(*v));
        if (v == NULL)
            return false;
        vs->v = v;
        vs->cap = cap;
    }
    vs->v[vs->n++] = (victim){pid, start_time};
    return true;
}

/* One process as a scan of /proc saw it. */
typedef struct proc_entry {
    pid_t pid, ppid;
    uint64_t start_time;
} proc_entry;

/* Every process of /proc, into a malloc'd array. -1 when /proc cannot be
 * read or memory runs out. */
static int scan_procs(proc_entry **out, size_t *n_out)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return -1;
    proc_entry *procs = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t pid;
        ck_proc_stat st;
        if (ck_parse_i64(de->d_name, 1, INT32_MAX, &pid, NULL) < 0 || ck_proc_read_stat((pid_t)pid, &st, NULL) < 0)
            continue; /* not a process, or gone since */
        if (n == cap) {
            cap = cap == 0 ? 512 : cap * 2;
            proc_entry *p = realloc(procs, cap * sizeof(*p));
            if (p == NULL) {
                rc = -1;
                break;
            }
            procs = p;
        }
        procs[n++] = (proc_entry){(pid_t)pid, st.ppid, st.start_time};
    }
    closedir(d);
    if (rc < 0) {
        free(procs);
        return -1;
    }
    *out = procs;
    *n_out = n;
    return 0;
}

/* Whether p descends from runc through processes already frozen or found
 * in this scan (found marks them). */
static bool in_tree(const victims *vs, const proc_entry *p, const bool *found, const proc_entry *procs, size_t n)
{
    if (p->ppid == vs->runc || victims_has(vs, p->ppid))
        return true;
    for (size_t i = 0; i < n; i++)
        if (found[i] && procs[i].pid == p->ppid)
            return true;
    return false;
}

/* One freeze round: stops every descendant of runc not stopped yet.
 * Returns how many were new (0: the tree is frozen), -1 on failure. */
static int freeze_round(victims *vs)
{
    proc_entry *procs;
    size_t n;
    if (scan_procs(&procs, &n) < 0)
        return -1;
    bool *found = calloc(n > 0 ? n : 1, sizeof(*found));
    if (found == NULL) {
        free(procs);
        return -1;
    }
    int added = 0;
    /* Parents may come after their children in /proc's order: repeat
     * until a pass adds nothing (a chain of depth k takes k passes). */
    for (bool more = true; more && added >= 0;) {
        more = false;
        for (size_t i = 0; i < n && added >= 0; i++) {
            if (found[i] || victims_has(vs, procs[i].pid) || !in_tree(vs, &procs[i], found, procs, n))
                continue;
            kill(procs[i].pid, SIGSTOP);
            found[i] = more = true;
            if (victims_add(vs, procs[i].pid, procs[i].start_time))
                added++;
            else
                added = -1;
        }
    }
    free(found);
    free(procs);
    return added;
}

/* True while v is the process that was frozen (a zombie included). */
static bool victim_alive(const victim *v)
{
    ck_proc_stat st;
    return ck_proc_read_stat(v->pid, &st, NULL) == 0 && st.start_time == v->start_time;
}

/* spawn's stop hook at the timeout or a cancel: freezes and kills runc's
 * descendants, leaving runc to reap its child and exit (the header says
 * why). */
static void kill_exec_tree(pid_t runc, void *arg)
{
    victims *vs = arg;
    vs->runc = runc;
    int round = 0, added;
    while (round++ < EXEC_FREEZE_ROUNDS && (added = freeze_round(vs)) > 0) {
    }
    if (added != 0)
        vs->incomplete = true;
    for (size_t i = 0; i < vs->n; i++)
        if (victim_alive(&vs->v[i]))
            kill(vs->v[i].pid, SIGKILL);
}

/* Waits up to EXEC_GONE_WAIT_MS for every killed process to be reaped.
 * Returns how many are still there. */
static size_t wait_victims_gone(const victims *vs)
{
    long long deadline = ck_mono_ms() + EXEC_GONE_WAIT_MS;
    for (;;) {
        size_t left = 0;
        for (size_t i = 0; i < vs->n; i++)
            left += victim_alive(&vs->v[i]);
        if (left == 0 || ck_mono_ms() >= deadline)
            return left;
        usleep(5 * 1000);
    }
}

/* The command as one string for messages: its words joined by spaces,
 * cut at EXEC_COMMAND_NAME_MAX. */
static void command_name(const char *const *argv, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; argv[i] != NULL && len < size - 1; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i > 0 ? " " : "", argv[i]);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    if (len >= size - 1 && size > 4)
        memcpy(buf + size - 4, "...", 4);
}

/* runtime --root R [extra] --log /proc/self/fd/3 --log-format json exec
 * [--tty] -- id argv...: a malloc'd array. "--" ends runc's options, so a
 * command whose words start with "-" is the command's. */
static const char **exec_argv(const ck_oci_runtime *rt, const char *id, bool tty, const char *const *argv)
{
    size_t n_cmd = 0;
    while (argv[n_cmd] != NULL)
        n_cmd++;
    const char **a = calloc(EXEC_BASE_ARGS_MAX + EXEC_OWN_ARGS + n_cmd + 1, sizeof(*a));
    if (a == NULL)
        return NULL;
    size_t n = ck_oci_base_args(rt, a, EXEC_BASE_ARGS_MAX);
    const char *own[] = {"--log", "/proc/self/fd/3", "--log-format", "json", "exec"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        a[n++] = own[i];
    if (tty)
        a[n++] = "--tty";
    a[n++] = "--";
    a[n++] = id;
    for (size_t i = 0; i < n_cmd; i++)
        a[n++] = argv[i];
    a[n] = NULL;
    return a;
}

/* The last error runc logged (JSON lines in the memfd log), into msg.
 * True when there is one: runc failed, whatever the process would have
 * done. */
static bool runc_logged_error(int log_fd, char *msg, size_t size)
{
    off_t end = lseek(log_fd, 0, SEEK_END);
    if (end <= 0)
        return false;
    _cleanup_free_ char *text = malloc((size_t)end + 1);
    if (text == NULL)
        return false;
    ssize_t got = pread(log_fd, text, (size_t)end, 0);
    if (got <= 0)
        return false;
    text[got] = '\0';
    bool found = false;
    for (char *line = text, *next; *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        json_t *entry = json_loads(line, 0, NULL);
        const char *level = json_string_value(json_object_get(entry, "level"));
        const char *m = json_string_value(json_object_get(entry, "msg"));
        if (level != NULL && m != NULL && (strcmp(level, "error") == 0 || strcmp(level, "fatal") == 0)) {
            snprintf(msg, size, "%s", m);
            found = true;
        }
        json_decref(entry);
    }
    return found;
}

/* The kind of a runc failure, from its own words (the one place they are
 * read; see says_not_exist in runtime.c for the other verbs). */
static ck_errkind runc_error_kind(const char *msg)
{
    if (strstr(msg, "does not exist") != NULL)
        return CK_E_NOT_FOUND;
    if (strstr(msg, "stopped") != NULL || strstr(msg, "paused") != NULL || strstr(msg, "not running") != NULL)
        return CK_E_PRECONDITION;
    if (strstr(msg, "executable file not found") != NULL || strstr(msg, "no such file or directory") != NULL ||
        strstr(msg, "permission denied") != NULL)
        return CK_E_INVALID;
    return CK_E_INTERNAL;
}

void ck_exec_result_clear(ck_exec_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Moves spawn's result into r. */
static void take_output(ck_spawn_result *res, ck_exec_result *r)
{
    r->exit_code = res->status;
    r->out = ck_steal_ptr(&res->out);
    r->err = ck_steal_ptr(&res->errout);
    r->out_len = res->out_len;
    r->err_len = res->err_len;
    r->out_truncated = res->out_truncated;
    r->err_truncated = res->err_truncated;
    r->timed_out = res->timed_out;
}

/* After the kill: the tree's processes are dead; says so when some stay
 * in /proc (zombies of an init that does not reap, or a freeze cut short). */
static void report_leftovers(const victims *vs, const char *id, const char *cmd)
{
    size_t left = wait_victims_gone(vs);
    if (left > 0)
        ck_warn("oci",
                "exec %s in container %s: %zu of the %zu processes killed are still in /proc %d ms later "
                "(the container's init does not reap the orphans?)",
                cmd, id, left, vs->n, EXEC_GONE_WAIT_MS);
    if (vs->incomplete)
        ck_warn("oci", "exec %s in container %s: the process tree could not be frozen whole", cmd, id);
}

/* The outcome once runc has exited: the process ran (0), was ended by the
 * bound, or never started (runc's error). */
static int exec_outcome(const ck_oci_runtime *rt, const char *id, const char *cmd, int timeout_s, int log_fd,
                        ck_spawn_result *res, ck_exec_result *r, ck_err *err)
{
    take_output(res, r);
    if (res->cancelled)
        return ck_err_set(err, CK_E_CANCELLED, 0, "exec %s in container %s: the call was cancelled: killed", cmd, id);
    if (res->timed_out)
        return ck_err_set(err, CK_E_DEADLINE, 0, "command \"%s\" in container %s timed out after %d s: killed", cmd, id,
                          timeout_s);
    char msg[768];
    if (!runc_logged_error(log_fd, msg, sizeof(msg)))
        return 0;
    ck_exec_result_clear(r); /* runc's own message, not the process's output */
    return ck_err_set(err, runc_error_kind(msg), 0, "exec %s in container %s: %s: %s", cmd, id, rt->handler->name, msg);
}

int ck_oci_exec_sync(const ck_oci_runtime *rt, const char *id, const char *const *argv, int timeout_s, size_t cap,
                     const ck_cancel *cancel, ck_exec_result *r, ck_err *err)
{
    memset(r, 0, sizeof(*r));
    if (argv == NULL || argv[0] == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "exec in container %s: no command", id);
    char cmd[EXEC_COMMAND_NAME_MAX];
    command_name(argv, cmd, sizeof(cmd));
    _cleanup_free_ const char **a = exec_argv(rt, id, false, argv);
    if (a == NULL)
        return ck_err_oom(err, "exec arguments");
    _cleanup_close_ int log_fd = memfd_create("runc-exec-log", MFD_CLOEXEC);
    if (log_fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "exec %s in container %s: memfd for the runtime's log", cmd, id);
    victims vs = {0};
    const ck_spawn_opts opts = {
        .keep_fds = &log_fd,
        .n_keep_fds = 1,
        .timeout_ms = timeout_s > 0 ? timeout_s * 1000 : 0,
        .output_cap = cap > 0 ? cap : CK_EXEC_SYNC_OUTPUT_CAP,
        .cancel = cancel,
        .stop = kill_exec_tree,
        .stop_arg = &vs,
    };
    ck_spawn_result res;
    int rc = ck_spawn_run(a, &opts, &res, err);
    if (rc < 0) {
        free(vs.v);
        return ck_err_wrap(err, "exec %s in container %s", cmd, id);
    }
    if (vs.runc != 0)
        report_leftovers(&vs, id, cmd);
    free(vs.v);
    rc = exec_outcome(rt, id, cmd, timeout_s, log_fd, &res, r, err);
    ck_spawn_result_clear(&res);
    return rc;
}

/* ---- the streamed exec ------------------------------------------------------------ */

int ck_oci_exec_start(const ck_oci_runtime *rt, const char *id, const char *const *argv, bool tty, const int stdio[3],
                      ck_oci_exec_proc *out, ck_err *err)
{
    out->pid = -1;
    out->log_fd = -1;
    if (argv == NULL || argv[0] == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "exec in container %s: no command", id);
    _cleanup_free_ const char **a = exec_argv(rt, id, tty, argv);
    if (a == NULL)
        return ck_err_oom(err, "exec arguments");
    _cleanup_close_ int log_fd = memfd_create("runc-exec-log", MFD_CLOEXEC);
    if (log_fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "exec %s in container %s: memfd for the runtime's log", argv[0],
                          id);
    const ck_spawn_opts opts = {.keep_fds = &log_fd, .n_keep_fds = 1};
    if (ck_spawn_start(a, &opts, stdio, &out->pid, err) < 0)
        return ck_err_wrap(err, "exec %s in container %s", argv[0], id);
    out->log_fd = ck_steal_fd(&log_fd);
    return 0;
}

void ck_oci_exec_kill(pid_t runc)
{
    victims vs = {0};
    kill_exec_tree(runc, &vs);
    free(vs.v);
}

int ck_oci_exec_outcome(const ck_oci_runtime *rt, const char *id, const ck_oci_exec_proc *p, int status, int *exit_code,
                        ck_err *err)
{
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    char msg[768];
    if (p->log_fd >= 0 && runc_logged_error(p->log_fd, msg, sizeof(msg)))
        return ck_err_set(err, runc_error_kind(msg), 0, "exec in container %s: %s: %s", id, rt->handler->name, msg);
    return 0;
}

void ck_oci_exec_proc_close(ck_oci_exec_proc *p)
{
    if (p->log_fd >= 0)
        close(p->log_fd);
    p->log_fd = -1;
}
