/*
 * cgroup: resource usage as the kernel's cgroup files report it, on every
 * layout a node may have: v1 controllers under /sys/fs/cgroup/<controller>,
 * the hybrid layout (v1 plus the v2 tree at /sys/fs/cgroup/unified) and pure
 * v2. The cgroup is found from a member process's /proc/<pid>/cgroup, so a
 * caller needs no knowledge of the cgroup driver or of the paths the
 * runtime chose. Pod stats and container stats use it.
 */
#ifndef CK_COMMON_CGROUP_H
#define CK_COMMON_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ck_cgroup_usage {
    uint64_t cpu_usage_ns;
    uint64_t memory_usage;       /* memory.usage_in_bytes (v1), memory.current (v2) */
    uint64_t memory_working_set; /* usage less inactive file pages, as the kubelet counts it */
    uint64_t memory_rss;         /* total_rss (v1), anon (v2) */
    uint64_t page_faults;        /* total_pgfault (v1), pgfault (v2) */
    uint64_t major_page_faults;  /* total_pgmajfault (v1), pgmajfault (v2) */
    uint64_t memory_limit;       /* memory.limit_in_bytes (v1), memory.max (v2); 0 = unlimited */
    bool has_swap;               /* the host accounts swap (memory.memsw.* in v1, memory.swap.* in v2) */
    uint64_t swap_usage;         /* memsw.usage less usage (v1), memory.swap.current (v2) */
    uint64_t swap_limit;         /* 0 = unlimited */
    uint64_t processes;          /* pids.current */
} ck_cgroup_usage;

/* The directory of pid's cgroup in one v1 controller ("memory"), or in the
 * v2 tree (controller ""); with parent_level, its parent (a pod's cgroup
 * holds its pause's cgroup and its containers'). False when pid is gone, is
 * not in that hierarchy, or is in its root: a zombie's cgroups read as the
 * roots, and no container's or pod's cgroup is the host's. */
bool ck_cgroup_dir_of(pid_t pid, const char *controller, bool parent_level, char *buf, size_t size);

/* The directory, when it exists, of the cgroup an OCI runtime makes for a
 * spec's linux.cgroupsPath (cgroupfs "/a/b", systemd "a-b.slice:prefix:name",
 * or a slice by itself, "a-b.slice"),
 * in one v1 controller or the v2 tree (controller ""): for a process that
 * ended before its /proc/<pid>/cgroup could be read (a zombie's reads as the
 * root). False for a relative path, which only the runtime can place. */
bool ck_cgroup_dir_of_path(const char *cgroups_path, const char *controller, char *buf, size_t size);

/* Usage of pid's cgroup (or its parent); each counter the host lacks is 0. */
void ck_cgroup_usage_of(pid_t pid, bool parent_level, ck_cgroup_usage *out);
/* Usage of the cgroup at a path as ck_cgroup_dir_of_path reads it, or a
 * systemd slice by itself (a pod's cgroup parent); all 0 when it is not
 * there. */
void ck_cgroup_usage_of_path(const char *cgroups_path, ck_cgroup_usage *out);

#endif
