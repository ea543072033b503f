/*
 * spawn: runs a helper program (an OCI runtime verb, a CNI plugin) to
 * completion, feeding it stdin and collecting its stdout and stderr. Uses
 * posix_spawn (no fork of the big daemon) and pipes opened close-on-exec, so
 * the child inherits only its three standard streams.
 */
#ifndef CK_COMMON_SPAWN_H
#define CK_COMMON_SPAWN_H

#include <stddef.h>

#include "common/err.h"
#include "common/fs.h"

typedef struct ck_spawn_result {
    int status; /* exit code, or 128 + signal when killed */
    char *out;  /* stdout, NUL-terminated (free) */
    size_t out_len;
    char *errout; /* stderr, NUL-terminated (free) */
} ck_spawn_result;

/* Runs argv[0] (an absolute path) with argv and envp (NULL = the daemon's
 * environment), writing `input` (may be NULL) to its stdin. Output beyond
 * 4 MiB per stream is dropped. Fails only when the program cannot be run;
 * a non-zero exit is reported in res->status. */
int ck_spawn(const char *const *argv, const char *const *envp, const char *input, ck_spawn_result *res, ck_err *err);
void ck_spawn_result_clear(ck_spawn_result *res);

/* The directory of the running executable joined with name
 * ("/usr/bin" + "cricket-monitor"). Returns 0 or -1 (err filled). */
int ck_exe_sibling(const char *name, char *buf, size_t size, ck_err *err);

#endif
