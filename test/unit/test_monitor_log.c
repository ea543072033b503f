/*
 * The monitor's CRI log. The formatter alone, with a fixed clock: record
 * layout, F for a finished line, P cuts at CK_MON_LOG_LINE_MAX, the rest of
 * a stream at its end as P. Then the real cricket-monitor and runc (root
 * only, else skipped) on a bundle of the host's /usr and /bin read-only:
 * what the container writes on stdout and stderr lands in the log, the file
 * exists before the sync line, the exit file follows; and a reopen through
 * the control socket (oci/runtime.c's client) answers only once the
 * original path exists again, with the new lines there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
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
#include "containers/monitor/log_writer.h"
#include "oci/probe.h"
#include "oci/runtime.h"

static int64_t fixed_ns;

static int64_t fixed_clock(void)
{
    return fixed_ns;
}

/* Reads the whole file into a malloc'd string. */
static char *slurp(const char *path)
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
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* A log in a temporary file, its records read back. */
typedef struct rec {
    int64_t ns;
    size_t len;
    char text[64]; /* its start */
    char stream[8];
    char tag;
    char first, last; /* of the text */
} rec;

/* Parses "<ts> <stream> <tag> <text>" records; returns how many, -1 on a
 * malformed one. */
static int parse_log(const char *data, rec *out, int max)
{
    int n = 0;
    for (const char *line = data; *line != '\0' && n < max; n++) {
        const char *nl = strchr(line, '\n');
        if (nl == NULL)
            return -1;
        struct tm tm = {0};
        const char *p = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
        if (p == NULL || *p != '.')
            return -1;
        char *end;
        long frac = strtol(p + 1, &end, 10);
        if (end != p + 10 || strncmp(end, "Z ", 2) != 0)
            return -1;
        rec *r = &out[n];
        r->ns = (int64_t)timegm(&tm) * 1000000000 + frac;
        p = end + 2;
        const char *sp = strchr(p, ' ');
        if (sp == NULL || sp - p > 6 || sp[1] == '\0' || sp[2] != ' ')
            return -1;
        snprintf(r->stream, sizeof(r->stream), "%.*s", (int)(sp - p), p);
        r->tag = sp[1];
        const char *text = sp + 3;
        r->len = (size_t)(nl - text);
        r->first = r->last = '\0';
        if (r->len > 0) {
            r->first = text[0];
            r->last = nl[-1];
        }
        snprintf(r->text, sizeof(r->text), "%.*s", (int)(r->len < 63 ? r->len : 63), text);
        line = nl + 1;
    }
    return n;
}

static void test_time_format(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(mon_log_time(0, buf, sizeof(buf)), MON_LOG_TIME_LEN);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
    mon_log_time(1475713029669794202LL, buf, sizeof(buf));
    assert_string_equal(buf, "2016-10-06T00:17:09.669794202Z");
    assert_int_equal(mon_log_time(0, buf, MON_LOG_TIME_LEN), 0); /* no room */
}

static void test_records(void **state)
{
    (void)state;
    char path[] = "/tmp/ck-monlog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    mon_log log = {.fd = fd, .now = fixed_clock};
    static mon_log_stream out = {.name = CK_MON_LOG_STDOUT}, err = {.name = CK_MON_LOG_STDERR};
    fixed_ns = 1475713029669794202LL;
    mon_log_feed(&log, &out, "hel", 3);
    mon_log_feed(&log, &out, "lo\nwin\r\n\n", 9); /* "hello", "win" (no \r), "" */
    mon_log_feed(&log, &err, "oops\n", 5);
    fixed_ns -= 5; /* the clock steps back: the record keeps the last time */
    static char big[3 * CK_MON_LOG_LINE_MAX];
    memset(big, 'a', sizeof(big));
    mon_log_feed(&log, &out, big, CK_MON_LOG_LINE_MAX); /* exactly the limit: one F */
    mon_log_feed(&log, &out, "\n", 1);
    big[0] = 'b';
    mon_log_feed(&log, &out, big, 2 * CK_MON_LOG_LINE_MAX + 7); /* P, P, then 7 */
    mon_log_feed(&log, &out, "\n", 1);
    mon_log_feed(&log, &out, "tail", 4);
    mon_log_finish(&log, &out);
    mon_log_finish(&log, &err); /* nothing left: nothing written */
    close(fd);

    char *data = slurp(path);
    unlink(path);
    assert_non_null(data);
    assert_memory_equal(data, "2016-10-06T00:17:09.669794202Z stdout F hello\n", 46);
    rec r[16];
    int n = parse_log(data, r, 16);
    free(data);
    assert_int_equal(n, 9);
    const struct {
        const char *stream;
        char tag;
        size_t len;
    } want[] = {
        {"stdout", 'F', 5},
        {"stdout", 'F', 3},
        {"stdout", 'F', 0},
        {"stderr", 'F', 4},
        {"stdout", 'F', CK_MON_LOG_LINE_MAX},
        {"stdout", 'P', CK_MON_LOG_LINE_MAX},
        {"stdout", 'P', CK_MON_LOG_LINE_MAX},
        {"stdout", 'F', 7},
        {"stdout", 'P', 4},
    };
    for (int i = 0; i < n; i++) {
        assert_string_equal(r[i].stream, want[i].stream);
        assert_int_equal(r[i].tag, want[i].tag);
        assert_int_equal(r[i].len, want[i].len);
        assert_int_equal(r[i].ns, 1475713029669794202LL);
    }
    assert_string_equal(r[1].text, "win");
    assert_int_equal(r[5].first, 'b');
    assert_string_equal(r[8].text, "tail");
}

/* ---- the real monitor and runc ---- */

typedef struct env {
    char dir[PATH_MAX];
    char bundle[PATH_MAX], root[PATH_MAX], id[64];
    ck_oci_monitor_files files;
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

static int run(const char *const *argv)
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

/* Writes the bundle and runs the monitor on it with a log and a control
 * socket (its path longer than a socket address holds when long_ctl);
 * gives the sync line. */
static void run_monitor(env *e, const char *const *args, bool long_ctl, char *line, size_t cap)
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
    ck_oci_monitor_files_init(&e->files, e->dir);
    snprintf(e->files.container_log, sizeof(e->files.container_log), "%s/c.log", e->dir);
    snprintf(e->files.control, sizeof(e->files.control), "%s/ctl", e->dir);
    if (long_ctl) {
        char deep[PATH_MAX];
        snprintf(deep, sizeof(deep), "%s/%0120d", e->dir, 0);
        assert_int_equal(mkdir(deep, 0700), 0);
        snprintf(e->files.control, sizeof(e->files.control), "%s/ctl", deep);
    }

    int sync[2];
    assert_int_equal(pipe(sync), 0);
    char fd[16];
    snprintf(fd, sizeof(fd), "%d", sync[1]);
    /* CK_TEST_MONITOR_BIN: another build of the monitor (a release one, to measure its memory). */
    const char *bin = getenv("CK_TEST_MONITOR_BIN");
    if (bin == NULL)
        bin = CK_MONITOR_BIN;
    const char *argv[] = {bin,
                          "--id",
                          e->id,
                          "--bundle",
                          e->bundle,
                          "--runtime",
                          runc_path(),
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
                          fd,
                          "--create-timeout",
                          "60",
                          "--container-log",
                          e->files.container_log,
                          "--control",
                          e->files.control,
                          NULL};
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

/* run_monitor, which must succeed: the init's pid. */
static pid_t start_monitor(env *e, const char *const *args, bool long_ctl)
{
    char line[4096];
    run_monitor(e, args, long_ctl, line, sizeof(line));
    if (strncmp(line, "ok ", 3) != 0)
        fail_msg("sync line: %s", line);
    /* The log exists before the container starts. */
    struct stat sb;
    assert_int_equal(stat(e->files.container_log, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_int_equal(sb.st_size, 0);
    return (pid_t)strtol(line + 3, NULL, 10);
}

static void start(env *e)
{
    const char *argv[] = {runc_path(), "--root", e->root, "start", e->id, NULL};
    assert_int_equal(run(argv), 0);
}

/* Waits up to ms for the exit file; its code, or -1. */
static int wait_exit_file(env *e, int ms)
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

static void cleanup(env *e)
{
    const char *argv[] = {runc_path(), "--root", e->root, "delete", "--force", e->id, NULL};
    run(argv);
    ck_err err;
    ck_rm_rf(e->dir, &err);
}

/* The monitor's resident memory (a line of /proc/pid/status, e.g.
 * "VmRSS:"), in KiB, for the report. */
static long status_kib(pid_t pid, const char *key)
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

static pid_t parent_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *s = slurp(path);
    if (s == NULL)
        return -1;
    const char *p = strrchr(s, ')'); /* ") S <ppid> ..." */
    pid_t ppid = -1;
    if (p != NULL && strlen(p) > 4)
        ppid = (pid_t)strtol(p + 4, NULL, 10);
    free(s);
    return ppid;
}

static int root_setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || runc_path() == NULL) {
        fprintf(stderr, "test_monitor_log: needs root and runc, skipped\n");
        return 0;
    }
    return 0;
}

static bool can_run(void)
{
    return geteuid() == 0 && runc_path() != NULL;
}

static void test_container_output_logged(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    env e;
    const char *args[] = {"sh", "-c",
                          "echo out; echo err >&2; printf partial; yes aa | head -n 20000 | tr -d '\\n'; echo; "
                          "printf tail",
                          NULL};
    start_monitor(&e, args, false);
    start(&e);
    assert_int_equal(wait_exit_file(&e, 20000), 0);
    char *data = slurp(e.files.container_log);
    assert_non_null(data);
    rec r[16];
    int n = parse_log(data, r, 16);
    free(data);
    assert_int_equal(n, 6);
    int64_t prev = 0;
    int out = 0, errs = 0;
    for (int i = 0; i < n; i++) {
        assert_true(r[i].ns >= prev);
        assert_true(r[i].ns > 1600000000LL * 1000000000LL); /* a time of this age, not zero */
        prev = r[i].ns;
        if (strcmp(r[i].stream, "stderr") == 0) {
            errs++;
            assert_string_equal(r[i].text, "err");
            assert_int_equal(r[i].tag, 'F');
            continue;
        }
        assert_string_equal(r[i].stream, "stdout");
        /* out F, then "partial" + 40000 a: P 16384, P 16384, F 7239; tail P */
        static const struct {
            char tag;
            size_t len;
        } want[] = {{'F', 3},
                    {'P', CK_MON_LOG_LINE_MAX},
                    {'P', CK_MON_LOG_LINE_MAX},
                    {'F', 7 + 40000 - 2 * CK_MON_LOG_LINE_MAX},
                    {'P', 4}};
        assert_true(out < 5);
        assert_int_equal(r[i].tag, want[out].tag);
        assert_int_equal(r[i].len, want[out].len);
        out++;
    }
    assert_int_equal(out, 5);
    assert_int_equal(errs, 1);
    cleanup(&e);
}

static void test_reopen(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    env e;
    const char *args[] = {"sh", "-c", "while true; do echo hello World; sleep 0.05; done", NULL};
    pid_t init = start_monitor(&e, args, true); /* the control socket through its directory */
    start(&e);
    struct stat sb;
    for (int t = 0; t < 5000 && (stat(e.files.container_log, &sb) < 0 || sb.st_size == 0); t += 20)
        usleep(20 * 1000);
    assert_true(sb.st_size > 0);
    pid_t monitor = parent_of(init);
    fprintf(stderr, "test_monitor_log: monitor %d VmRSS %ld KiB (RssAnon %ld, RssFile %ld) while its container runs\n",
            (int)monitor, status_kib(monitor, "VmRSS:"), status_kib(monitor, "RssAnon:"),
            status_kib(monitor, "RssFile:"));

    char moved[PATH_MAX];
    snprintf(moved, sizeof(moved), "%s.new", e.files.container_log);
    assert_int_equal(rename(e.files.container_log, moved), 0);
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_reopen_log(&e.files, &err) < 0)
        fail_msg("reopen: %s", err.msg);
    assert_int_equal(stat(e.files.container_log, &sb), 0); /* there when the answer comes */
    usleep(300 * 1000);
    struct stat moved_sb;
    assert_int_equal(stat(moved, &moved_sb), 0);
    usleep(300 * 1000);
    struct stat moved_later;
    assert_int_equal(stat(moved, &moved_later), 0);
    assert_int_equal(moved_later.st_size, moved_sb.st_size); /* the old file no longer grows */
    char *data = slurp(e.files.container_log);
    rec r[64];
    int n = parse_log(data, r, 64);
    free(data);
    assert_true(n > 0);
    assert_string_equal(r[0].text, "hello World");
    assert_string_equal(r[0].stream, "stdout");

    const char *argv[] = {runc_path(), "--root", e.root, "kill", e.id, "KILL", NULL};
    assert_int_equal(run(argv), 0);
    assert_int_equal(wait_exit_file(&e, 10000), 128 + SIGKILL);
    /* The monitor is gone and took its control socket along. */
    for (int t = 0; t < 3000 && access(e.files.control, F_OK) == 0; t += 20)
        usleep(20 * 1000);
    assert_int_equal(access(e.files.control, F_OK), -1);
    ck_err_clear(&err);
    assert_int_equal(ck_oci_reopen_log(&e.files, &err), -1);
    assert_int_equal(err.kind, CK_E_PRECONDITION);
    cleanup(&e);
}

/* A create the runtime refuses: its own words on the sync line (they came
 * on the container's stderr pipe), nothing in the CRI log, no control
 * socket left behind. */
static void test_create_error_reported(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    env e;
    const char *args[] = {"/no/such/program", NULL};
    char line[4096];
    run_monitor(&e, args, false, line, sizeof(line));
    if (strncmp(line, "error ", 6) != 0 || strstr(line, "no/such/program") == NULL)
        fail_msg("sync line: %s", line);
    struct stat sb;
    assert_int_equal(stat(e.files.container_log, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    for (int t = 0; t < 3000 && access(e.files.control, F_OK) == 0; t += 20)
        usleep(20 * 1000);
    assert_int_equal(access(e.files.control, F_OK), -1);
    cleanup(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_container_output_logged),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_create_error_reported),
    };
    return cmocka_run_group_tests(tests, root_setup, NULL);
}
