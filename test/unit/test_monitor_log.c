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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "containers/monitor/log_writer.h"
#include "monitor_harness.h"
#include "oci/runtime.h"

static int64_t fixed_ns;

static int64_t fixed_clock(void)
{
    return fixed_ns;
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

/* A log file of the test's own: its descriptor; path gets its name. */
static int temp_log(char path[22])
{
    snprintf(path, 22, "/tmp/ck-monlog-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    return fd;
}

/* The records of the log at path (removed after): how many. */
static int read_back(const char *path, rec *r, int cap)
{
    char *data = mh_slurp(path);
    unlink(path);
    assert_non_null(data);
    int n = parse_log(data, r, cap);
    free(data);
    return n;
}

static void test_records(void **state)
{
    (void)state;
    char path[22];
    int fd = temp_log(path);
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

    char *data = mh_slurp(path);
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

static int64_t ticking_ns;

/* A clock that moves at every reading. */
static int64_t ticking_clock(void)
{
    return ticking_ns += 1000;
}

/* The records of one feed share one time, however many there are (more
 * than one writev takes: 16 384 of them here) and whatever their endings;
 * the next feed's are later. */
static void test_one_read_one_time(void **state)
{
    (void)state;
    char path[22];
    int fd = temp_log(path);
    mon_log log = {.fd = fd, .now = ticking_clock};
    ticking_ns = 1475713029000000000LL;
    static mon_log_stream out = {.name = CK_MON_LOG_STDOUT};
    enum { LINES = 16384 };
    static char burst[2 * LINES];
    for (size_t i = 0; i < LINES; i++) {
        burst[2 * i] = (char)('a' + i % 26);
        burst[2 * i + 1] = '\n';
    }
    burst[200] = '\r'; /* line 100 is "\r\n": an empty text */
    mon_log_feed(&log, &out, burst, sizeof(burst));
    mon_log_feed(&log, &out, "later\n", 6);
    close(fd);
    assert_int_equal(log.write_errors, 0);

    static rec r[LINES + 2];
    int n = read_back(path, r, LINES + 2);
    assert_int_equal(n, LINES + 1);
    for (int i = 0; i < LINES; i++) {
        assert_int_equal(r[i].ns, r[0].ns);
        assert_int_equal(r[i].tag, 'F');
        assert_int_equal(r[i].len, i == 100 ? 0 : 1);
        if (i != 100)
            assert_int_equal(r[i].first, 'a' + i % 26);
    }
    assert_string_equal(r[n - 1].text, "later");
    assert_true(r[n - 1].ns > r[0].ns);
}

/* A write that fails part-way (here the file-size limit: what a full disk
 * does) loses its batch, counted, and leaves no torn record: the next
 * record starts a line of its own. */
static void test_failed_write_leaves_no_torn_record(void **state)
{
    (void)state;
    char path[22];
    int fd = temp_log(path);
    assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0); /* as mon_log_open opens the log */
    mon_log log = {.fd = fd, .now = fixed_clock};
    fixed_ns = 1475713029669794202LL;
    static mon_log_stream out = {.name = CK_MON_LOG_STDOUT};
    mon_log_feed(&log, &out, "first\n", 6);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    off_t first = st.st_size;

    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = (rlim_t)first + 1000; /* room for some of the batch, not all */
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    static char burst[8000];
    memset(burst, 'x', sizeof(burst));
    for (size_t i = 7; i < sizeof(burst); i += 8)
        burst[i] = '\n'; /* lines of 7 bytes */
    mon_log_feed(&log, &out, burst, sizeof(burst));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_int_equal(log.write_errors, (int)(sizeof(burst) / 8));
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, first); /* what went out of the batch is cut off again */

    mon_log_feed(&log, &out, "after\n", 6);
    close(fd);
    rec r[4];
    int n = read_back(path, r, 4);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].text, "first");
    assert_string_equal(r[1].text, "after");
}

/* ---- the real monitor and runc (monitor_harness) ---- */

static int root_setup(void **state)
{
    (void)state;
    if (!mh_can_run()) {
        fprintf(stderr, "test_monitor_log: needs root and runc, skipped\n");
        return 0;
    }
    return 0;
}

static void test_container_output_logged(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"sh", "-c",
                          "echo out; echo err >&2; printf partial; yes aa | head -n 20000 | tr -d '\\n'; echo; "
                          "printf tail",
                          NULL};
    mh_start_monitor(&e, args, &(mh_opts){0});
    mh_start(&e);
    assert_int_equal(mh_wait_exit_file(&e, 20000), 0);
    char *data = mh_slurp(e.files.container_log);
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
    mh_cleanup(&e);
}

static void test_reopen(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"sh", "-c", "while true; do echo hello World; sleep 0.05; done", NULL};
    pid_t init =
        mh_start_monitor(&e, args, &(mh_opts){.long_ctl = true}); /* the control socket through its directory */
    mh_start(&e);
    struct stat sb;
    for (int t = 0; t < 5000 && (stat(e.files.container_log, &sb) < 0 || sb.st_size == 0); t += 20)
        usleep(20 * 1000);
    assert_true(sb.st_size > 0);
    pid_t monitor = mh_parent_of(init);
    fprintf(stderr, "test_monitor_log: monitor %d VmRSS %ld KiB (RssAnon %ld, RssFile %ld) while its container runs\n",
            (int)monitor, mh_status_kib(monitor, "VmRSS:"), mh_status_kib(monitor, "RssAnon:"),
            mh_status_kib(monitor, "RssFile:"));

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
    char *data = mh_slurp(e.files.container_log);
    rec r[64];
    int n = parse_log(data, r, 64);
    free(data);
    assert_true(n > 0);
    assert_string_equal(r[0].text, "hello World");
    assert_string_equal(r[0].stream, "stdout");

    const char *argv[] = {mh_runc(), "--root", e.root, "kill", e.id, "KILL", NULL};
    assert_int_equal(mh_run(argv), 0);
    assert_int_equal(mh_wait_exit_file(&e, 10000), 128 + SIGKILL);
    /* The monitor is gone and took its control socket along. */
    for (int t = 0; t < 3000 && access(e.files.control, F_OK) == 0; t += 20)
        usleep(20 * 1000);
    assert_int_equal(access(e.files.control, F_OK), -1);
    ck_err_clear(&err);
    assert_int_equal(ck_oci_reopen_log(&e.files, &err), -1);
    assert_int_equal(err.kind, CK_E_PRECONDITION);
    mh_cleanup(&e);
}

/* A create the runtime refuses: its own words on the sync line (they came
 * on the container's stderr pipe), nothing in the CRI log, no control
 * socket left behind. */
static void test_create_error_reported(void **state)
{
    (void)state;
    if (!mh_can_run())
        skip();
    mh_env e;
    const char *args[] = {"/no/such/program", NULL};
    char line[4096];
    mh_run_monitor(&e, args, &(mh_opts){0}, line, sizeof(line));
    if (strncmp(line, "error ", 6) != 0 || strstr(line, "no/such/program") == NULL)
        fail_msg("sync line: %s", line);
    struct stat sb;
    assert_int_equal(stat(e.files.container_log, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    for (int t = 0; t < 3000 && access(e.files.control, F_OK) == 0; t += 20)
        usleep(20 * 1000);
    assert_int_equal(access(e.files.control, F_OK), -1);
    mh_cleanup(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_one_read_one_time),
        cmocka_unit_test(test_failed_write_leaves_no_torn_record),
        cmocka_unit_test(test_container_output_logged),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_create_error_reported),
    };
    return cmocka_run_group_tests(tests, root_setup, NULL);
}
