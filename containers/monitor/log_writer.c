/*
 * log_writer: the CRI log format, and the line buffer of each stream.
 *
 * A record is "<time> <stream> <tag> <text>\n" (protocol.h). The kubelet
 * splits it with SplitN(line, " ", 4), so the space before an empty text is
 * always written. The records of one read are written together: one
 * writev for up to MON_LOG_BATCH_IOV entries (341 records or more). A line
 * is cut only when it outgrows CK_MON_LOG_LINE_MAX:
 * the buffer holds one byte more than that, so a line of exactly
 * CK_MON_LOG_LINE_MAX bytes is still one F record (as containerd's writer
 * does). Write errors are counted and the stream goes on: a full disk must
 * not stop the container on a blocked pipe.
 */
#include "containers/monitor/log_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
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
 * for a full disk or a signal); *done counts the bytes that went out. */
static int writev_all(int fd, struct iovec *iov, int n, size_t *done)
{
    *done = 0;
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        size_t left = (size_t)w;
        *done += left;
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

/* The records of one read of a stream, gathered to be written together
 * with one writev: they share the time the read was taken at (as conmon
 * stamps a read's lines), so a chatty container costs a system call per
 * read (per 341 records at least), not per line. Texts point into the
 * stream's buffer: the batch is written before that buffer moves. */
typedef struct log_batch {
    mon_log *log;
    const char *stream;
    int64_t ns;
    char head[2][MON_LOG_TIME_LEN + 16]; /* "<time> <stream> F " and the P one */
    size_t head_len[2];                  /* 0 until first needed */
    struct iovec iov[MON_LOG_BATCH_IOV];
    int n_iov;
    int records;
} log_batch;

static void batch_begin(log_batch *b, mon_log *log, const char *stream)
{
    b->log = log;
    b->stream = stream;
    b->n_iov = b->records = 0;
    b->head_len[0] = b->head_len[1] = 0;
    if (log->fd < 0)
        return;
    int64_t ns = log->now();
    if (ns < log->last_ns)
        ns = log->last_ns; /* the wall clock stepped back: keep the file in order */
    log->last_ns = b->ns = ns;
}

/* The batch's records so far, written. A failed write loses them all, and
 * what of them went out is cut off again: a torn record would glue the
 * next one to it (the monitor is the file's only writer). */
static int batch_write(log_batch *b)
{
    int rc = 0;
    size_t done = 0;
    if (b->n_iov > 0 && writev_all(b->log->fd, b->iov, b->n_iov, &done) < 0) {
        int e = errno;
        struct stat st;
        if (done > 0 && fstat(b->log->fd, &st) == 0 && (uint64_t)st.st_size >= done) {
            int cut = ftruncate(b->log->fd, st.st_size - (off_t)done);
            (void)cut; /* failing too, the file keeps the torn record: nothing more to try */
        }
        b->log->write_errors += b->records;
        errno = e;
        rc = -1;
    }
    b->n_iov = b->records = 0;
    return rc;
}

/* The head of a record with tag, made once per batch: its length, or 0. */
static size_t batch_head(log_batch *b, char tag)
{
    int k = tag == CK_MON_LOG_FULL ? 0 : 1;
    if (b->head_len[k] > 0)
        return b->head_len[k];
    char *h = b->head[k];
    size_t cap = sizeof(b->head[k]);
    size_t n = mon_log_time(b->ns, h, cap);
    int m = n == 0 ? -1 : snprintf(h + n, cap - n, " %s %c ", b->stream, tag);
    if (m < 0 || (size_t)m >= cap - n)
        return 0;
    return b->head_len[k] = n + (size_t)m;
}

/* Adds the record "<head> <text>\n"; newline_follows says text[len] is
 * already that '\n', so one entry carries both. */
static void batch_add(log_batch *b, char tag, const char *text, size_t len, bool newline_follows)
{
    if (b->log->fd < 0)
        return;
    size_t head = batch_head(b, tag);
    if (head == 0) {
        b->log->write_errors++;
        return;
    }
    if (b->n_iov + 3 > MON_LOG_BATCH_IOV)
        batch_write(b);
    struct iovec *v = b->iov + b->n_iov;
    v[0] = (struct iovec){b->head[tag == CK_MON_LOG_FULL ? 0 : 1], head};
    v[1] = (struct iovec){(char *)text, len + (newline_follows ? 1 : 0)};
    b->n_iov += 2;
    if (!newline_follows)
        b->iov[b->n_iov++] = (struct iovec){"\n", 1};
    b->records++;
}

int mon_log_record(mon_log *log, const char *stream, char tag, const char *text, size_t len)
{
    if (log->fd < 0)
        return 0;
    log_batch b;
    batch_begin(&b, log, stream);
    if (batch_head(&b, tag) == 0) {
        log->write_errors++;
        errno = EINVAL;
        return -1;
    }
    batch_add(&b, tag, text, len, false);
    return batch_write(&b);
}

/* One finished line of the buffer, without its "\n" (nor a "\r" before it). */
static void full_line(log_batch *b, const char *line, size_t len)
{
    bool cr = len > 0 && line[len - 1] == '\r';
    batch_add(b, CK_MON_LOG_FULL, line, cr ? len - 1 : len, !cr);
}

void mon_log_feed(mon_log *log, mon_log_stream *s, const char *data, size_t n)
{
    log_batch b;
    batch_begin(&b, log, s->name);
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
            full_line(&b, s->buf + start, len);
            start += len + 1;
        }
        /* One byte past the limit and no newline: the line is longer. */
        bool cut = s->len == sizeof(s->buf) && start == 0;
        if (cut)
            batch_add(&b, CK_MON_LOG_PARTIAL, s->buf, CK_MON_LOG_LINE_MAX, false);
        batch_write(&b); /* before the buffer moves under the texts */
        if (cut) {
            s->buf[0] = s->buf[CK_MON_LOG_LINE_MAX];
            s->len = 1;
        } else {
            memmove(s->buf, s->buf + start, s->len - start);
            s->len -= start;
        }
    }
}

void mon_log_finish(mon_log *log, mon_log_stream *s)
{
    if (s->len > 0)
        mon_log_record(log, s->name, CK_MON_LOG_PARTIAL, s->buf, s->len);
    s->len = 0;
}
