/*
 * seccomp_internal: what seccomp.c (the RuntimeDefault) and seccomp_load.c
 * (Localhost profiles) share: a growing list of rules in an arena, and
 * facts about this host.
 */
#ifndef CK_OCI_SECCOMP_INTERNAL_H
#define CK_OCI_SECCOMP_INTERNAL_H

#include "oci/seccomp.h"

typedef struct seccomp_build {
    ck_arena *arena;
    ck_seccomp_rule *rules;
    size_t n, cap;
} seccomp_build;

/* Appends a rule without errnoRet; names and args must outlive the profile. */
int ck_seccomp_build_add(seccomp_build *sb, const char *const *names, size_t n_names, const char *action,
                         const ck_seccomp_arg *args, size_t n_args, ck_err *err);
int ck_seccomp_build_push(seccomp_build *sb, const ck_seccomp_rule *r, ck_err *err);

/* "6.18.0-1-amd64", "4.8": the first two numbers; -1 when it is not like that. */
int ck_seccomp_parse_version(const char *s, unsigned *major, unsigned *minor);
/* The running kernel is major.minor or newer. */
bool ck_seccomp_kernel_at_least(unsigned major, unsigned minor);

/* The OCI architectures of this host's native ABI and the ones its kernel
 * also runs (x86_64: x86 and x32); *n = 0 where cricket knows none. */
const char *const *ck_seccomp_host_architectures(size_t *n);

#endif
