/*
 * err: formatting and wrapping of ck_err. The message buffer is fixed so that
 * recording an error never allocates (it must work when memory is short).
 */
#define CK_ERR_IMPL /* the definitions below, not the analyzer's macros */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void append_errnum(ck_err *err)
{
    if (err->errnum == 0)
        return;
    size_t len = strlen(err->msg);
    if (len + 3 >= sizeof(err->msg))
        return;
    char buf[256];
    const char *text = strerror_r(err->errnum, buf, sizeof(buf));
    snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", text);
}

int ck_err_set(ck_err *err, ck_errkind kind, int errnum, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->kind = kind;
    err->errnum = errnum;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    append_errnum(err);
    return -1;
}

int ck_err_wrap(ck_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char context[CK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof(context), fmt, ap);
    va_end(ap);

    /* Built by hand: the result is meant to be cut at the buffer's end. */
    char old[CK_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    if (err->kind == CK_E_NONE)
        err->kind = CK_E_INTERNAL;
    size_t cap = sizeof(err->msg) - 1;
    size_t len = strnlen(context, cap);
    memcpy(err->msg, context, len);
    if (old[0] != '\0') {
        const char *parts[2] = {": ", old};
        for (int i = 0; i < 2; i++) {
            size_t n = strnlen(parts[i], cap - len);
            memcpy(err->msg + len, parts[i], n);
            len += n;
        }
    }
    err->msg[len] = '\0';
    return -1;
}

int ck_err_oom(ck_err *err, const char *what)
{
    return ck_err_set(err, CK_E_INTERNAL, ENOMEM, "allocate %s", what);
}

int ck_err_copy(ck_err *dst, const ck_err *src)
{
    if (dst != NULL && dst != src)
        *dst = *src;
    return -1;
}

void ck_err_clear(ck_err *err)
{
    if (err == NULL)
        return;
    err->kind = CK_E_NONE;
    err->errnum = 0;
    err->msg[0] = '\0';
}

const char *ck_errkind_name(ck_errkind kind)
{
    switch (kind) {
    case CK_E_NONE: return "none";
    case CK_E_INVALID: return "invalid";
    case CK_E_NOT_FOUND: return "not_found";
    case CK_E_EXISTS: return "exists";
    case CK_E_PRECONDITION: return "precondition";
    case CK_E_UNAVAILABLE: return "unavailable";
    case CK_E_INTERNAL: return "internal";
    case CK_E_UNIMPLEMENTED: return "unimplemented";
    case CK_E_CANCELLED: return "cancelled";
    case CK_E_DEADLINE: return "deadline";
    case CK_E_EXHAUSTED: return "exhausted";
    case CK_E_PERMISSION: return "permission";
    }
    return "unknown";
}
