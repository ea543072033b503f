/*
 * log: formatting of logfmt lines. The message is quoted and escaped so a
 * line stays one line whatever an error message holds.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = CK_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int ck_log_level_parse(const char *name, ck_log_level *out)
{
    if (name == NULL)
        return -1;
    for (int i = CK_LOG_DEBUG; i <= CK_LOG_ERROR; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (ck_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = CK_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *ck_log_level_name(ck_log_level level)
{
    if (level < CK_LOG_DEBUG || level > CK_LOG_ERROR)
        return "unknown";
    return level_names[level];
}

void ck_log_set_level(ck_log_level level)
{
    atomic_store(&current_level, (int)level);
}

ck_log_level ck_log_get_level(void)
{
    return (ck_log_level)atomic_load(&current_level);
}

bool ck_log_enabled(ck_log_level level)
{
    return (int)level >= atomic_load(&current_level);
}

/* Appends src to buf as a quoted logfmt value, escaping quotes, backslashes
 * and control characters. Returns the new length (capped at cap - 1). */
static size_t append_quoted(char *buf, size_t len, size_t cap, const char *src)
{
    if (len + 1 < cap)
        buf[len++] = '"';
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0' && len + 4 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)*p;
        } else if (*p == '\n') {
            buf[len++] = '\\';
            buf[len++] = 'n';
        } else if (*p < 0x20) {
            buf[len++] = ' ';
        } else {
            buf[len++] = (char)*p;
        }
    }
    if (len + 1 < cap)
        buf[len++] = '"';
    buf[len] = '\0';
    return len;
}

void ck_log_fields(ck_log_level level, const char *component, const char *fields, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);

    char line[8192];
    int n = snprintf(line, sizeof(line),
                     "time=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s component=%s msg=", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000,
                     ck_log_level_name(level), component != NULL ? component : "cricket");
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len >= sizeof(line))
        len = sizeof(line) - 1;
    len = append_quoted(line, len, sizeof(line), msg);
    if (fields != NULL && fields[0] != '\0') {
        n = snprintf(line + len, sizeof(line) - len, " %s", fields);
        if (n > 0)
            len += (size_t)n < sizeof(line) - len ? (size_t)n : sizeof(line) - len - 1;
    }
    if (len + 1 < sizeof(line))
        line[len++] = '\n';
    else
        line[sizeof(line) - 2] = '\n', len = sizeof(line) - 1;

    /* One write per line; a short write to stderr is not retried on purpose:
     * logging must never block the daemon for long. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    errno = saved_errno;
}
