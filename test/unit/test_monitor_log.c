/*
 * The monitor's CRI log formatter, with a fixed clock: record layout, F for
 * a finished line, P cuts at CK_MON_LOG_LINE_MAX, the rest of a stream at
 * its end as P.
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

#include "containers/monitor/log_writer.h"

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
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* A log in a temporary file, its records read back. */
typedef struct rec {
    int64_t ns;
    char stream[8];
    char tag;
    size_t len;
    char first, last; /* of the text */
    char text[64];    /* its start */
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
        r->first = r->len ? text[0] : 0;
        r->last = r->len ? nl[-1] : 0;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
