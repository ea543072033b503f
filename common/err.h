/*
 * err: the error object every fallible function fills.
 *
 * A fallible function returns a negative number and fills a ck_err passed as
 * its last argument; the caller either handles it or returns it upward,
 * adding context with ck_err_wrap ("start pod %s: <inner message>"). The kind
 * says what went wrong in terms a caller can act on; cri/ maps it to a gRPC
 * status code in one place, so no handler ever chooses a code by reading a
 * message.
 */
#ifndef CK_COMMON_ERR_H
#define CK_COMMON_ERR_H

#include <stddef.h>

typedef enum ck_errkind {
    CK_E_NONE = 0,
    CK_E_INVALID,       /* the request or input is malformed */
    CK_E_NOT_FOUND,     /* the named object does not exist */
    CK_E_EXISTS,        /* the name or id is already taken */
    CK_E_PRECONDITION,  /* the object is in the wrong state for this */
    CK_E_UNAVAILABLE,   /* a dependency (runtime, registry, network) is not ready */
    CK_E_INTERNAL,      /* our own fault or the host's: I/O, out of memory */
    CK_E_UNIMPLEMENTED, /* the operation is not supported */
    CK_E_CANCELLED,     /* the caller went away */
    CK_E_DEADLINE,      /* the caller's deadline or our timeout passed */
    CK_E_EXHAUSTED,     /* a limit was reached (size, count, disk) */
    CK_E_PERMISSION,    /* the caller or the host forbids it */
} ck_errkind;

#define CK_ERR_MSG_MAX 1024

typedef struct ck_err {
    ck_errkind kind;
    int errnum; /* the errno that caused it, 0 if none */
    char msg[CK_ERR_MSG_MAX];
} ck_err;

/* Sets kind and message (printf format); when errnum is not 0 the message
 * ends with ": strerror(errnum)". Always returns -1, so a caller can write
 * `return ck_err_set(err, CK_E_INVALID, 0, "bad name %s", name);`. err may be
 * NULL, in which case nothing is recorded. */
int ck_err_set(ck_err *err, ck_errkind kind, int errnum, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prefixes the message with context ("<context>: <old message>"), keeping the
 * kind and errnum. Returns -1. */
int ck_err_wrap(ck_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Out of memory, with what was being allocated. Returns -1. */
int ck_err_oom(ck_err *err, const char *what);

/* Copies src into dst (which may be NULL, as err arguments may). Returns -1,
 * so `return ck_err_copy(err, &inner);` passes an error on. */
int ck_err_copy(ck_err *dst, const ck_err *src);

void ck_err_clear(ck_err *err);

/* A stable lower-case name for the kind ("invalid", "not_found", ...), for logs. */
const char *ck_errkind_name(ck_errkind kind);

#if defined(__clang_analyzer__) && !defined(CK_ERR_IMPL)
/* clang's static analyzer sees one file at a time, so it cannot know that
 * these always return -1 and explores impossible paths where a failure
 * "succeeded" (and then reports null dereferences on them). Spelled out for
 * the analyzer only; the compiled code calls the functions as declared. */
/* clang-format off */
#define ck_err_set(...) ({ ck_err_set(__VA_ARGS__); -1; })
#define ck_err_wrap(...) ({ ck_err_wrap(__VA_ARGS__); -1; })
#define ck_err_oom(...) ({ ck_err_oom(__VA_ARGS__); -1; })
/* clang-format on */
#endif

#endif
