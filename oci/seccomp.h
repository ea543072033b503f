/*
 * seccomp: the seccomp profile of a container, as the OCI spec's
 * linux.seccomp carries it to the runtime (runc compiles it with
 * libseccomp; nothing here installs a filter).
 *
 * A profile is one of three choices (ck_seccomp_choice): none
 * (Unconfined), cricket's own RuntimeDefault, or a Localhost profile: a
 * JSON file on the node in the Docker/OCI format the kubelet points at by
 * absolute path. Both profiles become a ck_seccomp_profile whose strings
 * and arrays live in the caller's arena, so they last as long as the spec
 * being built.
 *
 * RuntimeDefault is an allow-list with the coverage of the default that
 * Docker and containerd ship: everything else fails with EPERM. Calls that
 * need a capability (mount, unshare, sethostname, ptrace, reboot, ...)
 * are allowed only when the container holds that capability, and without
 * CAP_SYS_ADMIN clone may not create namespaces and clone3 answers ENOSYS
 * (so libc falls back to clone, whose flags a filter can read).
 *
 * A Localhost profile is checked whole when read: every syscall name must
 * be one libseccomp knows, every action, operator and architecture valid;
 * a fault is CK_E_INVALID naming the file and what is wrong with it.
 */
#ifndef CK_OCI_SECCOMP_H
#define CK_OCI_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"

typedef enum ck_seccomp_kind {
    CK_SECCOMP_UNCONFINED = 0,
    CK_SECCOMP_RUNTIME_DEFAULT,
    CK_SECCOMP_LOCALHOST,
} ck_seccomp_kind;

typedef struct ck_seccomp_choice {
    ck_seccomp_kind kind;
    const char *path; /* CK_SECCOMP_LOCALHOST: the profile's absolute path on the node */
} ck_seccomp_choice;

/* One condition on a syscall argument (the OCI spec's linux.seccomp.syscalls[].args[]). */
typedef struct ck_seccomp_arg {
    unsigned index; /* 0-5 */
    uint64_t value, value_two;
    const char *op; /* "SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ", ... */
} ck_seccomp_arg;

typedef struct ck_seccomp_rule {
    const char *const *names;
    size_t n_names;
    const char *action; /* "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", ... */
    bool has_errno_ret;
    unsigned errno_ret;
    const ck_seccomp_arg *args; /* all must hold */
    size_t n_args;
} ck_seccomp_rule;

typedef struct ck_seccomp_profile {
    const char *default_action;
    bool has_default_errno_ret;
    unsigned default_errno_ret;
    const char *const *architectures; /* "SCMP_ARCH_X86_64", ...; none = the runtime's native one */
    size_t n_architectures;
    const char *const *flags; /* "SECCOMP_FILTER_FLAG_LOG", ... */
    size_t n_flags;
    const ck_seccomp_rule *rules;
    size_t n_rules;
} ck_seccomp_profile;

/* The CRI's deprecated seccomp_profile_path: "" and "unconfined" are
 * none, "runtime/default" and "docker/default" ours, "localhost/<path>"
 * the file at <path>, which must be absolute (the kubelet writes
 * "localhost//var/lib/kubelet/seccomp/..."). field names the request's
 * field in errors. */
int ck_seccomp_choice_parse(const char *field, const char *value, ck_seccomp_choice *out, ck_err *err);

/* Checks a choice before anything is made: a Localhost profile is read
 * and checked whole (then forgotten); the others need nothing. */
int ck_seccomp_check(const ck_seccomp_choice *choice, ck_err *err);

/* The profile a container with capability set caps (bit n = capability
 * n) gets for choice; *out is NULL when unconfined. Allocated in arena. */
int ck_seccomp_profile_for(const ck_seccomp_choice *choice, uint64_t caps, ck_arena *arena,
                           const ck_seccomp_profile **out, ck_err *err);

/* cricket's RuntimeDefault for a container holding caps. */
int ck_seccomp_runtime_default(uint64_t caps, ck_arena *arena, ck_seccomp_profile *out, ck_err *err);

/* Reads and checks the Docker/OCI JSON profile at path: "defaultAction",
 * "defaultErrnoRet", "architectures" (or Docker's "archMap", read for this
 * host's architecture), "flags", "syscalls" with "names" (or the older
 * "name"), "action", "errnoRet", "args", and Docker's "includes" and
 * "excludes" ("caps", "arches", "minKernel") evaluated against caps. */
int ck_seccomp_load(const char *path, uint64_t caps, ck_arena *arena, ck_seccomp_profile *out, ck_err *err);

#endif
