/*
 * log_writer: the CRI log format, and the line buffer of each stream.
 *
 * A record is "<time> <stream> <tag> <text>\n" (protocol.h). The kubelet
 * splits it with SplitN(line, " ", 4), so the space before an empty text is
 * always written. A line is cut only when it outgrows CK_MON_LOG_LINE_MAX:
 * the buffer holds one byte more than that, so a line of exactly
 * CK_MON_LOG_LINE_MAX bytes is still one F record (as containerd's writer
 * does). Write errors are counted and the stream goes on: a full disk must
 * not stop the container on a blocked pipe.
 */
#include "containers/monitor/log_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

size_t mon_log_time(int64_t ns, char *out, size_t cap)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        secs--;
        frac += 1000000000;
    }
    struct tm tm;
    if (cap < MON_LOG_TIME_LEN + 1 || gmtime_r(&secs, &tm) == NULL)
        return 0;
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0)
        return 0;
    int m = snprintf(out + n, cap - n, ".%09ldZ", frac);
    if (m < 0 || (size_t)m >= cap - n)
        return 0;
    return n + (size_t)m;
}

/* writev until all of iov is written (a regular file writes it whole but
 * for a full disk or a signal). */
static int writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

int mon_log_record(mon_log *log, const char *stream, char tag, const char *text, size_t len)
{
    if (log->fd < 0)
        return 0;
    int64_t ns = log->now();
    if (ns < log->last_ns)
        ns = log->last_ns; /* the wall clock stepped back: keep the file in order */
    log->last_ns = ns;
    char head[MON_LOG_TIME_LEN + 16];
    size_t n = mon_log_time(ns, head, sizeof(head));
    int m = snprintf(head + n, sizeof(head) - n, " %s %c ", stream, tag);
    if (n == 0 || m < 0 || (size_t)m >= sizeof(head) - n) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov[3] = {
        {head, n + (size_t)m},
        {(char *)text, len},
        {"\n", 1},
    };
    if (writev_all(log->fd, iov, 3) < 0) {
        log->write_errors++;
        return -1;
    }
    return 0;
}

/* One finished line of the buffer, without its "\n" (nor a "\r" before it). */
static void full_line(mon_log *log, mon_log_stream *s, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    mon_log_record(log, s->name, CK_MON_LOG_FULL, line, len);
}

void mon_log_feed(mon_log *log, mon_log_stream *s, const char *data, size_t n)
{
    while (n > 0) {
        size_t take = sizeof(s->buf) - s->len;
        if (take > n)
            take = n;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        data += take;
        n -= take;

        size_t start = 0;
        const char *nl;
        while ((nl = memchr(s->buf + start, '\n', s->len - start)) != NULL) {
            size_t len = (size_t)(nl - (s->buf + start));
            full_line(log, s, s->buf + start, len);
            start += len + 1;
        }
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
        if (s->len == sizeof(s->buf)) {
            /* One byte past the limit and no newline: the line is longer. */
            mon_log_record(log, s->name, CK_MON_LOG_PARTIAL, s->buf, CK_MON_LOG_LINE_MAX);
            s->buf[0] = s->buf[CK_MON_LOG_LINE_MAX];
            s->len = 1;
        }
    }
}

void mon_log_finish(mon_log *log, mon_log_stream *s)
{
    if (s->len > 0)
        mon_log_record(log, s->name, CK_MON_LOG_PARTIAL, s->buf, s->len);
    s->len = 0;
}
