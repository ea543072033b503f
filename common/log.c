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
static _Atomic int current_format = CK_LOG_TEXT;

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

int ck_log_format_parse(const char *name, ck_log_format *out)
{
    if (name != NULL && strcmp(name, "text") == 0)
        *out = CK_LOG_TEXT;
    else if (name != NULL && strcmp(name, "json") == 0)
        *out = CK_LOG_JSON;
    else
        return -1;
    return 0;
}

void ck_log_set_format(ck_log_format format)
{
    atomic_store(&current_format, (int)format);
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

/* A line under construction: appends never overflow, a full line is cut. */
typedef struct line_buf {
    char data[8192];
    size_t len;
} line_buf;

static void put_char(line_buf *b, char c)
{
    if (b->len + 2 < sizeof(b->data))
        b->data[b->len++] = c;
}

static void put_raw(line_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_char(b, s[i]);
}

static void put_str(line_buf *b, const char *s)
{
    put_raw(b, s, strlen(s));
}

/* Appends n bytes of src as a quoted value, escaping quotes, backslashes and
 * control characters; the same escapes serve logfmt and JSON. */
static void put_quoted(line_buf *b, const char *src, size_t n)
{
    put_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') {
            put_char(b, '\\');
            put_char(b, (char)c);
        } else if (c == '\n') {
            put_str(b, "\\n");
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put_str(b, esc);
        } else {
            put_char(b, (char)c);
        }
    }
    put_char(b, '"');
}

/* Splits "k=v k2=\"a b\"" into pairs; calls fn for each with the value
 * unquoted (escapes inside kept as written). */
static void each_field(const char *fields, void (*fn)(line_buf *, const char *, size_t, const char *, size_t, bool),
                       line_buf *b)
{
    const char *p = fields;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        const char *key = p;
        while (*p != '\0' && *p != '=' && *p != ' ')
            p++;
        size_t key_len = (size_t)(p - key);
        if (*p != '=' || key_len == 0) {
            while (*p != '\0' && *p != ' ')
                p++;
            continue;
        }
        p++;
        const char *val = p;
        bool quoted = *p == '"';
        if (quoted) {
            val = ++p;
            while (*p != '\0' && !(*p == '"' && p[-1] != '\\'))
                p++;
        } else {
            while (*p != '\0' && *p != ' ')
                p++;
        }
        fn(b, key, key_len, val, (size_t)(p - val), quoted);
        if (quoted && *p == '"')
            p++;
    }
}

static void json_member(line_buf *b, const char *key, size_t key_len, const char *val, size_t val_len, bool quoted)
{
    (void)quoted;
    put_char(b, ',');
    put_quoted(b, key, key_len);
    put_char(b, ':');
    put_quoted(b, val, val_len);
}

static void format_time(char *out, size_t cap)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);
}

static void format_text(line_buf *b, const char *when, const char *level, const char *component, const char *msg,
                        const char *fields)
{
    put_str(b, "time=");
    put_str(b, when);
    put_str(b, " level=");
    put_str(b, level);
    put_str(b, " component=");
    put_str(b, component);
    put_str(b, " msg=");
    put_quoted(b, msg, strlen(msg));
    if (fields != NULL && fields[0] != '\0') {
        put_char(b, ' ');
        put_str(b, fields);
    }
}

static void format_json(line_buf *b, const char *when, const char *level, const char *component, const char *msg,
                        const char *fields)
{
    put_str(b, "{\"time\":\"");
    put_str(b, when);
    put_str(b, "\",\"level\":\"");
    put_str(b, level);
    put_str(b, "\",\"component\":");
    put_quoted(b, component, strlen(component));
    put_str(b, ",\"msg\":");
    put_quoted(b, msg, strlen(msg));
    if (fields != NULL)
        each_field(fields, json_member, b);
    put_char(b, '}');
}

void ck_log_fields(ck_log_level level, const char *component, const char *fields, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char when[64];
    format_time(when, sizeof(when));
    line_buf b;
    b.len = 0;
    const char *comp = component != NULL ? component : "cricket";
    if (atomic_load(&current_format) == CK_LOG_JSON)
        format_json(&b, when, ck_log_level_name(level), comp, msg, fields);
    else
        format_text(&b, when, ck_log_level_name(level), comp, msg, fields);
    b.data[b.len++] = '\n';

    /* One write per line; a short write to stderr is not retried on purpose:
     * logging must never block the daemon for long. */
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    errno = saved_errno;
}
