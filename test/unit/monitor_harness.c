/*
 * monitor_harness: see monitor_harness.h. The bundle is oci/probe's; a
 * terminal needs /dev with a devpts of its own, which the probe's spec
 * lacks, so for tty the config.json is amended here.
 */
#include "monitor_harness.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/fs.h"
#include "oci/probe.h"

const char *mh_runc(void)
{
    static const char *const paths[] = {"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc",
                                        "/usr/local/bin/runc"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

bool mh_can_run(void)
{
    return geteuid() == 0 && mh_runc() != NULL;
}

int mh_run(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *mh_slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

/* process.terminal, and /dev with its own devpts (runc's init opens the
 * pty inside the container). */
static void make_terminal_bundle(const char *bundle)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    json_t *spec = json_load_file(path, 0, NULL);
    assert_non_null(spec);
    assert_int_equal(json_object_set_new(json_object_get(spec, "process"), "terminal", json_true()), 0);
    json_t *mounts = json_object_get(spec, "mounts");
    json_t *dev = json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", "/dev", "type", "tmpfs", "source", "tmpfs",
                            "options", "nosuid", "strictatime", "mode=755");
    json_t *pts = json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination", "/dev/pts", "type", "devpts", "source",
                            "devpts", "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620");
    assert_int_equal(json_array_append_new(mounts, dev), 0);
    assert_int_equal(json_array_append_new(mounts, pts), 0);
    assert_int_equal(json_dump_file(spec, path, 0), 0);
    json_decref(spec);
}

/* The monitor's command line (protocol.h, 1) for e and o. */
static size_t monitor_argv(const mh_env *e, const mh_opts *o, const char *sync_fd, const char **argv)
{
    /* CK_TEST_MONITOR_BIN: another build of the monitor (a release one, to measure its memory). */
    const char *bin = getenv("CK_TEST_MONITOR_BIN");
    size_t n = 0;
    argv[n++] = bin != NULL ? bin : CK_MONITOR_BIN;
    const char *fixed[] = {"--id",
                           e->id,
                           "--bundle",
                           e->bundle,
                           "--runtime",
                           mh_runc(),
                           "--runtime-arg",
                           "--root",
                           "--runtime-arg",
                           e->root,
                           "--pid-file",
                           e->files.pid_file,
                           "--exit-file",
                           e->files.exit_file,
                           "--log-file",
                           e->files.log_file,
                           "--sync-fd",
                           sync_fd,
                           "--create-timeout",
                           "60",
                           "--container-log",
                           e->files.container_log,
                           "--control",
                           e->files.control};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = fixed[i];
    if (o->attach) {
        argv[n++] = "--attach";
        argv[n++] = e->files.attach;
    }
    if (o->stdin_open)
        argv[n++] = "--stdin";
    if (o->stdin_once)
        argv[n++] = "--stdin-once";
    if (o->tty)
        argv[n++] = "--tty";
    argv[n] = NULL;
    return n;
}

static void write_bundle(mh_env *e, const char *const *args, const mh_opts *o)
{
    snprintf(e->dir, sizeof(e->dir), "/tmp/ck-monlog-%d", (int)getpid());
    ck_err err;
    ck_rm_rf(e->dir, &err);
    assert_int_equal(mkdir(e->dir, 0700), 0);
    snprintf(e->bundle, sizeof(e->bundle), "%s/bundle", e->dir);
    snprintf(e->root, sizeof(e->root), "%s/root", e->dir);
    snprintf(e->id, sizeof(e->id), "ck-monlog-%d", (int)getpid());
    ck_err_clear(&err);
    if (ck_oci_probe_bundle(e->bundle, e->id, args, &err) < 0)
        fail_msg("bundle: %s", err.msg);
    if (o->tty)
        make_terminal_bundle(e->bundle);
    ck_oci_monitor_files_init(&e->files, e->dir);
    snprintf(e->files.container_log, sizeof(e->files.container_log), "%s/c.log", e->dir);
    snprintf(e->files.control, sizeof(e->files.control), "%s/ctl", e->dir);
    snprintf(e->files.attach, sizeof(e->files.attach), "%s/attach", e->dir);
    e->files.tty = o->tty;
    if (o->long_ctl) {
        char deep[PATH_MAX];
        snprintf(deep, sizeof(deep), "%s/%0120d", e->dir, 0);
        assert_int_equal(mkdir(deep, 0700), 0);
        snprintf(e->files.control, sizeof(e->files.control), "%s/ctl", deep);
        snprintf(e->files.attach, sizeof(e->files.attach), "%s/attach", deep);
    }
}

void mh_run_monitor(mh_env *e, const char *const *args, const mh_opts *o, char *line, size_t cap)
{
    write_bundle(e, args, o);
    int sync[2];
    assert_int_equal(pipe(sync), 0);
    char fd[16];
    snprintf(fd, sizeof(fd), "%d", sync[1]);
    const char *argv[48];
    monitor_argv(e, o, fd, argv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sync[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(sync[1]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid); /* the first process exits at once */
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ssize_t n = 0, r;
    while ((r = read(sync[0], line + n, cap - 1 - (size_t)n)) > 0)
        n += r;
    close(sync[0]);
    line[n] = '\0';
}

pid_t mh_start_monitor(mh_env *e, const char *const *args, const mh_opts *o)
{
    char line[4096];
    mh_run_monitor(e, args, o, line, sizeof(line));
    if (strncmp(line, "ok ", 3) != 0)
        fail_msg("sync line: %s", line);
    /* The log exists before the container starts. */
    struct stat sb;
    assert_int_equal(stat(e->files.container_log, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_int_equal(sb.st_size, 0);
    return (pid_t)strtol(line + 3, NULL, 10);
}

void mh_start(mh_env *e)
{
    const char *argv[] = {mh_runc(), "--root", e->root, "start", e->id, NULL};
    assert_int_equal(mh_run(argv), 0);
}

int mh_wait_exit_file(mh_env *e, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        int code;
        long long at;
        ck_err err;
        if (ck_oci_read_exit(&e->files, &code, &at, &err) == 1)
            return code;
        usleep(20 * 1000);
    }
    return -1;
}

void mh_cleanup(mh_env *e)
{
    const char *argv[] = {mh_runc(), "--root", e->root, "delete", "--force", e->id, NULL};
    mh_run(argv);
    /* The monitor is gone, and (a sanitizer build) said nothing on its
     * stderr, the runtime log, as it exited. */
    for (int t = 0; t < 5000 && ck_oci_monitor_running(&e->files); t += 20)
        usleep(20 * 1000);
    assert_false(ck_oci_monitor_running(&e->files));
    char *said = mh_slurp(e->files.log_file);
    if (said != NULL && strstr(said, "Sanitizer") != NULL)
        fail_msg("the monitor's stderr: %s", said);
    free(said);
    ck_err err;
    ck_rm_rf(e->dir, &err);
}

long mh_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    long kib = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, strlen(key)) == 0)
            kib = strtol(line + strlen(key), NULL, 10);
    if (f != NULL)
        fclose(f);
    return kib;
}

pid_t mh_parent_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *s = mh_slurp(path);
    if (s == NULL)
        return -1;
    const char *p = strrchr(s, ')'); /* ") S <ppid> ..." */
    pid_t ppid = -1;
    if (p != NULL && strlen(p) > 4)
        ppid = (pid_t)strtol(p + 4, NULL, 10);
    free(s);
    return ppid;
}
