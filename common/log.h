/*
 * log: one line per event on stderr (journald keeps it), logfmt style:
 *
 *   time=2026-11-23T18:20:01.123456Z level=info component=cri msg="..." rpc=Version call=17 duration_ms=0.041
 *
 * or, with log_format json, the same keys as one JSON object per line:
 *
 *   {"time":"2026-11-23T18:20:01.123456Z","level":"info","component":"cri","msg":"...","rpc":"Version",...}
 *
 * The level filter is a single atomic, so a call below the level costs one
 * load. Each line is formatted into one buffer and written with one write(2),
 * so lines from different threads never interleave.
 */
#ifndef CK_COMMON_LOG_H
#define CK_COMMON_LOG_H

#include <stdbool.h>

typedef enum ck_log_level {
    CK_LOG_DEBUG = 0,
    CK_LOG_INFO,
    CK_LOG_WARN,
    CK_LOG_ERROR,
} ck_log_level;

typedef enum ck_log_format {
    CK_LOG_TEXT = 0, /* logfmt: key=value, msg quoted */
    CK_LOG_JSON,     /* one JSON object per line, the same keys */
} ck_log_format;

/* "text" or "json". Returns 0, or -1 if unknown. */
int ck_log_format_parse(const char *name, ck_log_format *out);
void ck_log_set_format(ck_log_format format);

/* "debug", "info", "warn" (or "warning"), "error". Returns 0, or -1 if unknown. */
int ck_log_level_parse(const char *name, ck_log_level *out);
const char *ck_log_level_name(ck_log_level level);

void ck_log_set_level(ck_log_level level);
ck_log_level ck_log_get_level(void);
bool ck_log_enabled(ck_log_level level);

/* Writes one line. fields, when not NULL, is a preformatted run of
 * `key=value` pairs appended after msg (values quoted by the caller when they
 * may hold spaces: key="a b"); in JSON format each pair becomes a member. */
void ck_log_fields(ck_log_level level, const char *component, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ck_log(level, component, ...)                               \
    do {                                                            \
        if (ck_log_enabled(level))                                  \
            ck_log_fields((level), (component), NULL, __VA_ARGS__); \
    } while (0)

#define ck_debug(component, ...) ck_log(CK_LOG_DEBUG, component, __VA_ARGS__)
#define ck_info(component, ...) ck_log(CK_LOG_INFO, component, __VA_ARGS__)
#define ck_warn(component, ...) ck_log(CK_LOG_WARN, component, __VA_ARGS__)
#define ck_error(component, ...) ck_log(CK_LOG_ERROR, component, __VA_ARGS__)

#endif
