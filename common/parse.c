#include "common/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *skip_blanks(const char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

static bool is_digit_of(char c, int base)
{
    if (c >= '0' && c <= '9')
        return true;
    return base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* strtoll/strtoull accept a sign, "0x" and leading blanks of their own; we
 * want digits only (a sign only where asked), so the first character is
 * checked here and the rest is left to the library with its end pointer. */
int ck_parse_i64_word(const char **p, int64_t min, int64_t max, int64_t *out, ck_err *err)
{
    const char *s = skip_blanks(*p);
    const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
    if (!is_digit_of(*digits, 10))
        return ck_err_set(err, CK_E_INVALID, 0, "\"%.40s\" is not a number", s);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || v < min || v > max)
        return ck_err_set(err, CK_E_INVALID, 0, "%.40s is out of range [%" PRId64 ", %" PRId64 "]", s, min, max);
    if (*end != '\0' && !is_blank(*end))
        return ck_err_set(err, CK_E_INVALID, 0, "\"%.40s\" is not a number", s);
    *out = v;
    *p = end;
    return 0;
}

int ck_parse_u64_word(const char **p, int base, uint64_t *out, ck_err *err)
{
    const char *s = skip_blanks(*p);
    if (!is_digit_of(*s, base) || (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        return ck_err_set(err, CK_E_INVALID, 0, "\"%.40s\" is not a number", s);
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno == ERANGE)
        return ck_err_set(err, CK_E_INVALID, 0, "%.40s is out of range", s);
    if (*end != '\0' && !is_blank(*end))
        return ck_err_set(err, CK_E_INVALID, 0, "\"%.40s\" is not a number", s);
    *out = v;
    *p = end;
    return 0;
}

static int at_end(const char *rest, const char *s, ck_err *err)
{
    if (*skip_blanks(rest) != '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "\"%.40s\" is not one number", s);
    return 0;
}

int ck_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, ck_err *err)
{
    const char *p = s;
    int64_t v = 0;
    if (ck_parse_i64_word(&p, min, max, &v, err) < 0 || at_end(p, s, err) < 0)
        return -1;
    *out = v;
    return 0;
}

int ck_parse_u64(const char *s, int base, uint64_t *out, ck_err *err)
{
    const char *p = s;
    uint64_t v = 0;
    if (ck_parse_u64_word(&p, base, &v, err) < 0 || at_end(p, s, err) < 0)
        return -1;
    *out = v;
    return 0;
}

static int read_small(const char *path, char *buf, size_t size, ck_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_set(err, errno == ENOENT ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "open %s", path);
    size_t len = 0;
    while (len < size - 1) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return ck_err_set(err, CK_E_INTERNAL, e, "read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return 0;
}

int ck_read_i64_file(const char *path, int64_t min, int64_t max, int64_t *out, ck_err *err)
{
    char buf[4096];
    if (read_small(path, buf, sizeof(buf), err) < 0)
        return -1;
    if (ck_parse_i64(buf, min, max, out, err) < 0)
        return ck_err_wrap(err, "%s", path);
    return 0;
}

int ck_read_u64_file(const char *path, uint64_t *out, ck_err *err)
{
    char buf[4096];
    if (read_small(path, buf, sizeof(buf), err) < 0)
        return -1;
    if (ck_parse_u64(buf, 10, out, err) < 0)
        return ck_err_wrap(err, "%s", path);
    return 0;
}
