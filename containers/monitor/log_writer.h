/*
 * log_writer: the container's stdout and stderr, turned into the CRI log
 * (protocol.h, section 1): each stream keeps the unfinished line in a
 * buffer of its own, and every finished line, every CK_MON_LOG_LINE_MAX
 * cut of a longer one and the rest at the stream's end becomes one record;
 * the records of one read share its time and go out together (one writev
 * per MON_LOG_BATCH_IOV entries). Nothing here polls or owns a
 * descriptor: main.c reads the pipes and feeds what arrives.
 */
#ifndef CK_MONITOR_LOG_WRITER_H
#define CK_MONITOR_LOG_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "containers/monitor/protocol.h"

/* Where records go. */
typedef struct mon_log {
    int fd;               /* the CRI log file, opened O_APPEND; -1 drops records */
    int64_t last_ns;      /* the last record's time: the next is never earlier */
    int64_t (*now)(void); /* ns since the epoch (CLOCK_REALTIME; tests fix it) */
    int write_errors;     /* records lost to a failed write, the stream drained still */
} mon_log;

/* One stream's unfinished line: at most CK_MON_LOG_LINE_MAX bytes plus the
 * one that tells a full line from a longer one. */
typedef struct mon_log_stream {
    const char *name; /* CK_MON_LOG_STDOUT or CK_MON_LOG_STDERR */
    size_t len;
    char buf[CK_MON_LOG_LINE_MAX + 1];
} mon_log_stream;

enum {
    MON_LOG_TIME_LEN = 30,    /* "2016-10-06T00:17:09.669794202Z" */
    MON_LOG_BATCH_IOV = 1024, /* IOV_MAX on Linux: one writev takes them all */
};

/* The RFC3339Nano UTC form of ns, always 9 fractional digits, into out
 * (at least MON_LOG_TIME_LEN + 1 bytes): its length, or 0 when it does not fit. */
size_t mon_log_time(int64_t ns, char *out, size_t cap);

/* Writes one record "<time> <stream> <tag> <text>\n". 0, or -1 with errno. */
int mon_log_record(mon_log *log, const char *stream, char tag, const char *text, size_t len);

/* Takes n more bytes of the stream: every finished line is an F record,
 * a line longer than CK_MON_LOG_LINE_MAX is cut into P records. The records
 * of one call carry one time. They are written each time the stream's
 * buffer has been scanned (once or twice for a read of the pipe) or the
 * batch holds MON_LOG_BATCH_IOV entries, whichever comes first. */
void mon_log_feed(mon_log *log, mon_log_stream *s, const char *data, size_t n);

/* The stream ended: text left without a newline is a P record. */
void mon_log_finish(mon_log *log, mon_log_stream *s);

#endif
