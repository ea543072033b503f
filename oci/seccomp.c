/*
 * seccomp: the choice of profile, and cricket's RuntimeDefault.
 *
 * RuntimeDefault is written as tables: what every container may call,
 * what it may call only holding a capability (the kernel would refuse the
 * call without it anyway; the filter shrinks the kernel surface a
 * compromised process can reach), and the few calls allowed with
 * conditions on their arguments. Its coverage follows the default profile
 * of Docker and containerd, which is what workloads are tested against:
 * kexec, keyctl, add_key, userfaultfd, io_uring, the new mount API and
 * namespace creation stay out unless a capability lets them in.
 */
#include "oci/seccomp.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "oci/seccomp_internal.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* ---- the tables ------------------------------------------------------------------- */

/* What any container may call. */
static const char *const allowed[] = {
    /* files and directories */
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup", "dup2",
    "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
    "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
    "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
    "memfd_create", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat", "openat2", "pipe", "pipe2",
    "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
    "readv", "removexattr", "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "setxattr", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee",
    "truncate", "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
    "vmsplice", "write", "writev", "ioctl",
    /* asynchronous I/O (the old interface; io_uring stays out, as Docker and containerd now keep it) */
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit",
    "ioprio_get", "ioprio_set",
    /* waiting for events */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
    "_newselect", "signalfd", "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
    /* memory */
    "brk", "madvise", "membarrier", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap",
    "msync", "munlock", "munlockall", "munmap", "remap_file_pages", "pkey_alloc", "pkey_free", "pkey_mprotect",
    /* processes and threads (clone: see clone_rules) */
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "vfork", "futex", "futex_time64",
    "futex_waitv", "futex_wake", "get_robust_list", "set_robust_list", "get_thread_area", "set_thread_area", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "setpriority", "getsid", "gettid", "kill", "tkill", "tgkill",
    "pidfd_open", "pidfd_send_signal", "prctl", "process_mrelease", "restart_syscall", "rseq", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "setpgid", "setsid", "set_tid_address", "wait4", "waitid",
    "waitpid",
    /* identity */
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
    "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
    /* signals and timers */
    "alarm", "getitimer", "setitimer", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack",
    "sigprocmask", "sigreturn", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64",
    /* clocks (adjtimex and clock_adjtime only read the clock without CAP_SYS_TIME) */
    "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "gettimeofday", "nanosleep", "time", "times",
    /* limits and facts about the system */
    "getcpu", "getrandom", "getrlimit", "getrusage", "prlimit64", "setrlimit", "sysinfo", "ugetrlimit", "uname",
    /* sockets (socket itself: see socket_rules) */
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
    "socketcall", "socketpair",
    /* System V and POSIX IPC (in the pod's IPC namespace) */
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
    /* Landlock: a process may always confine itself further */
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self"};

#if defined(__x86_64__)
static const char *const allowed_arch[] = {"arch_prctl", "modify_ldt"};
#elif defined(__i386__)
static const char *const allowed_arch[] = {"modify_ldt"};
#elif defined(__aarch64__) || defined(__arm__)
static const char *const allowed_arch[] = {"arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush",
                                           "set_tls"};
#elif defined(__s390x__)
static const char *const allowed_arch[] = {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"};
#else
static const char *const allowed_arch[] = {"uname"}; /* nothing of its own; a harmless repeat */
#endif

/* Calls allowed only to a holder of the capability. */
static const char *const with_dac_read_search[] = {"open_by_handle_at", NULL};
static const char *const with_sys_admin[] = {"bpf",
                                             "clone",
                                             "clone3",
                                             "fanotify_init",
                                             "fsconfig",
                                             "fsmount",
                                             "fsopen",
                                             "fspick",
                                             "lookup_dcookie",
                                             "mount",
                                             "mount_setattr",
                                             "move_mount",
                                             "name_to_handle_at",
                                             "open_tree",
                                             "perf_event_open",
                                             "quotactl",
                                             "quotactl_fd",
                                             "setdomainname",
                                             "sethostname",
                                             "setns",
                                             "syslog",
                                             "umount",
                                             "umount2",
                                             "unshare",
                                             NULL};
static const char *const with_sys_boot[] = {"reboot", NULL};
static const char *const with_sys_chroot[] = {"chroot", NULL};
static const char *const with_sys_module[] = {"delete_module", "init_module", "finit_module", NULL};
static const char *const with_sys_pacct[] = {"acct", NULL};
static const char *const with_sys_ptrace[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace", NULL};
static const char *const with_sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const with_sys_time[] = {"settimeofday", "stime", "clock_settime", "clock_settime64", NULL};
static const char *const with_sys_tty_config[] = {"vhangup", NULL};
static const char *const with_sys_nice[] = {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL};
static const char *const with_syslog[] = {"syslog", NULL};
static const char *const with_bpf[] = {"bpf", NULL};
static const char *const with_perfmon[] = {"perf_event_open", NULL};

static const struct {
    int cap;
    const char *const *names; /* NULL-terminated */
} by_capability[] = {
    {CAP_DAC_READ_SEARCH, with_dac_read_search},
    {CAP_SYS_ADMIN, with_sys_admin},
    {CAP_SYS_BOOT, with_sys_boot},
    {CAP_SYS_CHROOT, with_sys_chroot},
    {CAP_SYS_MODULE, with_sys_module},
    {CAP_SYS_PACCT, with_sys_pacct},
    {CAP_SYS_PTRACE, with_sys_ptrace},
    {CAP_SYS_RAWIO, with_sys_rawio},
    {CAP_SYS_TIME, with_sys_time},
    {CAP_SYS_TTY_CONFIG, with_sys_tty_config},
    {CAP_SYS_NICE, with_sys_nice},
    {CAP_SYSLOG, with_syslog},
    {CAP_BPF, with_bpf},
    {CAP_PERFMON, with_perfmon},
};

/* personality(2) personas a container may switch to: Linux, Linux with
 * UNAME26, with ADDR_NO_RANDOMIZE, both, and the query 0xffffffff. */
static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

/* ---- building a profile ---------------------------------------------------------- */

int ck_seccomp_build_push(seccomp_build *sb, const ck_seccomp_rule *r, ck_err *err)
{
    if (sb->n == sb->cap) {
        size_t cap = sb->cap == 0 ? 32 : sb->cap * 2;
        ck_seccomp_rule *rules = ck_arena_alloc(sb->arena, cap * sizeof(*rules));
        if (rules == NULL)
            return ck_err_oom(err, "seccomp profile");
        if (sb->n > 0)
            memcpy(rules, sb->rules, sb->n * sizeof(*rules));
        sb->rules = rules;
        sb->cap = cap;
    }
    sb->rules[sb->n++] = *r;
    return 0;
}

int ck_seccomp_build_add(seccomp_build *sb, const char *const *names, size_t n_names, const char *action,
                         const ck_seccomp_arg *args, size_t n_args, ck_err *err)
{
    ck_seccomp_rule r = {.names = names, .n_names = n_names, .action = action, .args = args, .n_args = n_args};
    return ck_seccomp_build_push(sb, &r, err);
}

static size_t null_terminated_len(const char *const *v)
{
    size_t n = 0;
    while (v[n] != NULL)
        n++;
    return n;
}

static bool has_cap(uint64_t caps, int cap)
{
    return cap >= 0 && cap < 64 && (caps & (UINT64_C(1) << cap)) != 0;
}

int ck_seccomp_parse_version(const char *s, unsigned *major, unsigned *minor)
{
    char *end = NULL;
    errno = 0;
    unsigned long ma = strtoul(s, &end, 10);
    if (end == s || *end != '.' || errno != 0 || ma > 1000)
        return -1;
    const char *rest = end + 1;
    unsigned long mi = strtoul(rest, &end, 10);
    if (end == rest || errno != 0 || mi > 1000)
        return -1;
    *major = (unsigned)ma;
    *minor = (unsigned)mi;
    return 0;
}

bool ck_seccomp_kernel_at_least(unsigned major, unsigned minor)
{
    struct utsname u;
    unsigned ma = 0, mi = 0;
    if (uname(&u) < 0 || ck_seccomp_parse_version(u.release, &ma, &mi) < 0)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

/* Before 4.8 a ptraced process could change its syscall after the filter
 * had passed it, so only a holder of CAP_SYS_PTRACE may use it there. */
static int always_allowed(seccomp_build *sb, ck_err *err)
{
    static const char *const ptrace_names[] = {"ptrace"};
    static const char *const allow = "SCMP_ACT_ALLOW";
    if (ck_seccomp_build_add(sb, allowed, sizeof(allowed) / sizeof(allowed[0]), allow, NULL, 0, err) < 0 ||
        ck_seccomp_build_add(sb, allowed_arch, sizeof(allowed_arch) / sizeof(allowed_arch[0]), allow, NULL, 0, err) < 0)
        return -1;
    if (ck_seccomp_kernel_at_least(4, 8) && ck_seccomp_build_add(sb, ptrace_names, 1, allow, NULL, 0, err) < 0)
        return -1;
    return 0;
}

static int capability_rules(seccomp_build *sb, uint64_t caps, ck_err *err)
{
    for (size_t i = 0; i < sizeof(by_capability) / sizeof(by_capability[0]); i++)
        if (has_cap(caps, by_capability[i].cap) &&
            ck_seccomp_build_add(sb, by_capability[i].names, null_terminated_len(by_capability[i].names),
                                 "SCMP_ACT_ALLOW", NULL, 0, err) < 0)
            return -1;
    return 0;
}

/* Without CAP_SYS_ADMIN: clone without any namespace flag (its flags are
 * the first argument, the second on s390), and clone3, whose flags sit in
 * memory a filter cannot read, answers ENOSYS so libc falls back to clone. */
static int clone_rules(seccomp_build *sb, uint64_t caps, ck_err *err)
{
    static const char *const clone_names[] = {"clone"};
    static const char *const clone3_names[] = {"clone3"};
    if (has_cap(caps, CAP_SYS_ADMIN))
        return 0;
    ck_seccomp_arg *arg = ck_arena_alloc(sb->arena, sizeof(*arg));
    if (arg == NULL)
        return ck_err_oom(err, "seccomp profile");
#if defined(__s390x__) || defined(__s390__)
    arg->index = 1;
#else
    arg->index = 0;
#endif
    arg->value =
        CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
    arg->value_two = 0;
    arg->op = "SCMP_CMP_MASKED_EQ";
    if (ck_seccomp_build_add(sb, clone_names, 1, "SCMP_ACT_ALLOW", arg, 1, err) < 0)
        return -1;
    ck_seccomp_rule r = {.names = clone3_names,
                         .n_names = 1,
                         .action = "SCMP_ACT_ERRNO",
                         .has_errno_ret = true,
                         .errno_ret = 38 /* ENOSYS */};
    return ck_seccomp_build_push(sb, &r, err);
}

/* One rule per value: the conditions of one rule must all hold. */
static int argument_rules(seccomp_build *sb, ck_err *err)
{
    static const char *const personality_names[] = {"personality"};
    static const char *const socket_names[] = {"socket"};
    size_t n = sizeof(personas) / sizeof(personas[0]);
    ck_seccomp_arg *args = ck_arena_alloc(sb->arena, (n + 1) * sizeof(*args));
    if (args == NULL)
        return ck_err_oom(err, "seccomp profile");
    for (size_t i = 0; i < n; i++) {
        args[i] = (ck_seccomp_arg){0, personas[i], 0, "SCMP_CMP_EQ"};
        if (ck_seccomp_build_add(sb, personality_names, 1, "SCMP_ACT_ALLOW", &args[i], 1, err) < 0)
            return -1;
    }
    /* Any socket family but vsock, which reaches the hypervisor's host. */
    args[n] = (ck_seccomp_arg){0, AF_VSOCK, 0, "SCMP_CMP_NE"};
    return ck_seccomp_build_add(sb, socket_names, 1, "SCMP_ACT_ALLOW", &args[n], 1, err);
}

const char *const *ck_seccomp_host_architectures(size_t *n)
{
#if defined(__x86_64__)
    static const char *const arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
    static const char *const arches[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__s390x__)
    static const char *const arches[] = {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    static const char *const arches[] = {"SCMP_ARCH_PPC64LE"};
#elif defined(__riscv) && __riscv_xlen == 64
    static const char *const arches[] = {"SCMP_ARCH_RISCV64"};
#else
    static const char *const arches[] = {NULL}; /* the runtime's native one */
    *n = 0;
    return arches;
#endif
    *n = sizeof(arches) / sizeof(arches[0]);
    return arches;
}

int ck_seccomp_runtime_default(uint64_t caps, ck_arena *arena, ck_seccomp_profile *out, ck_err *err)
{
    seccomp_build sb = {.arena = arena};
    memset(out, 0, sizeof(*out));
    if (always_allowed(&sb, err) < 0 || capability_rules(&sb, caps, err) < 0 || clone_rules(&sb, caps, err) < 0 ||
        argument_rules(&sb, err) < 0)
        return ck_err_wrap(err, "RuntimeDefault seccomp profile");
    out->default_action = "SCMP_ACT_ERRNO";
    out->has_default_errno_ret = true;
    out->default_errno_ret = 1; /* EPERM */
    out->architectures = ck_seccomp_host_architectures(&out->n_architectures);
    out->rules = sb.rules;
    out->n_rules = sb.n;
    return 0;
}

/* ---- the choice ------------------------------------------------------------------ */

int ck_seccomp_choice_parse(const char *field, const char *value, ck_seccomp_choice *out, ck_err *err)
{
    static const char localhost[] = "localhost/";
    *out = (ck_seccomp_choice){CK_SECCOMP_UNCONFINED, NULL};
    if (value == NULL || value[0] == '\0' || strcmp(value, "unconfined") == 0)
        return 0;
    if (strcmp(value, "runtime/default") == 0 || strcmp(value, "docker/default") == 0) {
        out->kind = CK_SECCOMP_RUNTIME_DEFAULT;
        return 0;
    }
    if (strncmp(value, localhost, sizeof(localhost) - 1) == 0) {
        out->kind = CK_SECCOMP_LOCALHOST;
        out->path = value + sizeof(localhost) - 1;
        if (out->path[0] != '/')
            return ck_err_set(err, CK_E_INVALID, 0, "%s \"%s\": the profile's path must be absolute", field, value);
        return 0;
    }
    return ck_err_set(err, CK_E_INVALID, 0,
                      "%s \"%s\" is none of \"unconfined\", \"runtime/default\", \"docker/default\", "
                      "\"localhost/<path>\"",
                      field, value);
}

int ck_seccomp_check(const ck_seccomp_choice *choice, ck_err *err)
{
    if (choice->kind != CK_SECCOMP_LOCALHOST)
        return 0;
    ck_arena arena = CK_ARENA_INIT;
    ck_seccomp_profile p;
    /* Every capability: the includes and excludes are checked whichever apply. */
    int rc = ck_seccomp_load(choice->path, ~UINT64_C(0), &arena, &p, err);
    ck_arena_reset(&arena);
    return rc;
}

int ck_seccomp_profile_for(const ck_seccomp_choice *choice, uint64_t caps, ck_arena *arena,
                           const ck_seccomp_profile **out, ck_err *err)
{
    *out = NULL;
    if (choice->kind == CK_SECCOMP_UNCONFINED)
        return 0;
    ck_seccomp_profile *p = ck_arena_alloc(arena, sizeof(*p));
    if (p == NULL)
        return ck_err_oom(err, "seccomp profile");
    int rc = choice->kind == CK_SECCOMP_RUNTIME_DEFAULT ? ck_seccomp_runtime_default(caps, arena, p, err)
                                                        : ck_seccomp_load(choice->path, caps, arena, p, err);
    if (rc < 0)
        return -1;
    *out = p;
    return 0;
}
