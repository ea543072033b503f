#include "common/cgroup.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"

/* A cgroup counter; 0 when the file is missing or does not hold a number. */
static uint64_t read_u64(const char *path)
{
    uint64_t v = 0;
    if (ck_read_u64_file(path, &v, NULL) < 0)
        return 0;
    return v;
}

/* One key of a "key value" per line file (memory.stat, cpu.stat) and where
 * its value goes. */
typedef struct stat_key {
    const char *key;
    uint64_t *out;
} stat_key;

/* Reads the keys in one pass; a key the file lacks leaves its value 0. */
static void read_keys(const char *path, const stat_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *keys[i].out = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL)
        for (size_t i = 0; i < n; i++) {
            size_t klen = strlen(keys[i].key);
            if (strncmp(line, keys[i].key, klen) != 0 || line[klen] != ' ')
                continue;
            const char *p = line + klen;
            if (ck_parse_u64_word(&p, 10, keys[i].out, NULL) < 0)
                *keys[i].out = 0;
            break;
        }
    fclose(f);
}

static uint64_t read_keyed(const char *path, const char *key)
{
    uint64_t v = 0;
    stat_key k = {key, &v};
    read_keys(path, &k, 1);
    return v;
}

/* A limit as the kernel writes it; "unlimited" (v1's huge page-rounded
 * number, v2's "max", which reads as 0) becomes 0. The bound is
 * containerd's: above 2^62 nobody set a limit. */
static uint64_t read_limit(const char *path)
{
    uint64_t v = read_u64(path);
    return v > ((uint64_t)1 << 62) ? 0 : v;
}

/* The directory of cgroup path (from the hierarchy's root) in one v1
 * controller, or in the v2 tree (controller ""). */
static void dir_in_hierarchy(const char *controller, const char *path, char *buf, size_t size)
{
    /* Pure v2 mounts the tree at /sys/fs/cgroup, hybrid at .../unified. */
    bool pure_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    if (controller[0] == '\0')
        snprintf(buf, size, "/sys/fs/cgroup%s%s", pure_v2 ? "" : "/unified", path);
    else
        snprintf(buf, size, "/sys/fs/cgroup/%s%s", controller, path);
}

/* systemd's place for a slice: "a-b.slice" is /a.slice/a-b.slice ("-.slice"
 * the root); false for a name that is not a slice. */
static bool expand_slice(const char *slice, char *buf, size_t size)
{
    size_t len = strlen(slice);
    if (len < 7 || strcmp(slice + len - 6, ".slice") != 0 || strchr(slice, '/') != NULL)
        return false;
    buf[0] = '\0';
    if (strcmp(slice, "-.slice") == 0)
        return true;
    size_t used = 0;
    for (const char *dash = slice;; dash++) {
        dash = strchr(dash, '-');
        size_t prefix = dash != NULL ? (size_t)(dash - slice) : len - 6;
        int n = snprintf(buf + used, size - used, "/%.*s.slice", (int)prefix, slice);
        if (n < 0 || (size_t)n >= size - used)
            return false;
        used += (size_t)n;
        if (dash == NULL)
            return true;
    }
}

bool ck_cgroup_dir_of_path(const char *cgroups_path, const char *controller, char *buf, size_t size)
{
    char path[1024];
    const char *colon = strchr(cgroups_path, ':');
    if (colon != NULL) {
        /* systemd: "slice:prefix:name", the scope prefix-name.scope in that slice */
        char slice[256];
        const char *name = strchr(colon + 1, ':');
        if (name == NULL || (size_t)(colon - cgroups_path) >= sizeof(slice))
            return false;
        snprintf(slice, sizeof(slice), "%.*s", (int)(colon - cgroups_path), cgroups_path);
        char expanded[768];
        if (!expand_slice(slice[0] != '\0' ? slice : "system.slice", expanded, sizeof(expanded)))
            return false;
        int n =
            snprintf(path, sizeof(path), "%s/%.*s-%s.scope", expanded, (int)(name - colon - 1), colon + 1, name + 1);
        if (n < 0 || (size_t)n >= sizeof(path))
            return false;
    } else if (cgroups_path[0] == '/') {
        snprintf(path, sizeof(path), "%s", cgroups_path);
    } else if (expand_slice(cgroups_path, path, sizeof(path))) {
        /* a systemd slice by itself: a pod's cgroup parent */
    } else {
        return false; /* relative to the runtime's own cgroup: not ours to guess */
    }
    dir_in_hierarchy(controller, path, buf, size);
    return access(buf, F_OK) == 0;
}

bool ck_cgroup_dir_of(pid_t pid, const char *controller, bool parent_level, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        line[strcspn(line, "\n")] = '\0';
        char *rest = c2 + 1;
        rest[strcspn(rest, "\n")] = '\0';
        const char *ctrls = c1 + 1;
        bool match = controller[0] == '\0' ? ctrls[0] == '\0' : false;
        if (!match && controller[0] != '\0') {
            char copy[256];
            snprintf(copy, sizeof(copy), "%s", ctrls);
            char *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
                if (strcmp(t, controller) == 0)
                    match = true;
        }
        if (match && strcmp(rest, "/") == 0)
            break; /* a zombie's cgroups read as the roots: no container's usage is the host's */
        if (match) {
            dir_in_hierarchy(controller, rest, buf, size);
            if (parent_level) {
                char *slash = strrchr(buf, '/');
                if (slash != NULL && slash > buf)
                    *slash = '\0';
            }
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void file_in(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Whose cgroup: a process's (or its parent), or one named by path. */
typedef struct cg_of {
    pid_t pid;
    bool parent_level;
    const char *path; /* set: ck_cgroup_dir_of_path */
} cg_of;

static bool dir_of(const cg_of *w, const char *controller, char *buf, size_t size)
{
    if (w->path != NULL)
        return ck_cgroup_dir_of_path(w->path, controller, buf, size);
    return ck_cgroup_dir_of(w->pid, controller, w->parent_level, buf, size);
}

static void cpu_usage(const cg_of *w, const char *v2, ck_cgroup_usage *out)
{
    char cg[1024], file[1200];
    if (dir_of(w, "cpuacct", cg, sizeof(cg))) {
        file_in(file, sizeof(file), cg, "cpuacct.usage");
        out->cpu_usage_ns = read_u64(file);
    } else if (v2[0] != '\0') {
        file_in(file, sizeof(file), v2, "cpu.stat");
        out->cpu_usage_ns = read_keyed(file, "usage_usec") * 1000;
    }
}

/* v1's memory controller. Swap is what memory+swap holds beyond memory,
 * when the kernel accounts swap at all (the memsw files exist). */
static void memory_v1(const char *cg, ck_cgroup_usage *out, uint64_t *inactive)
{
    char file[1200];
    file_in(file, sizeof(file), cg, "memory.usage_in_bytes");
    out->memory_usage = read_u64(file);
    file_in(file, sizeof(file), cg, "memory.limit_in_bytes");
    out->memory_limit = read_limit(file);
    file_in(file, sizeof(file), cg, "memory.stat");
    const stat_key keys[] = {{"total_inactive_file", inactive},
                             {"total_rss", &out->memory_rss},
                             {"total_pgfault", &out->page_faults},
                             {"total_pgmajfault", &out->major_page_faults}};
    read_keys(file, keys, sizeof(keys) / sizeof(keys[0]));
    file_in(file, sizeof(file), cg, "memory.memsw.usage_in_bytes");
    uint64_t memsw = 0;
    out->has_swap = ck_read_u64_file(file, &memsw, NULL) == 0;
    if (out->has_swap) {
        out->swap_usage = memsw > out->memory_usage ? memsw - out->memory_usage : 0;
        file_in(file, sizeof(file), cg, "memory.memsw.limit_in_bytes");
        uint64_t memsw_limit = read_limit(file);
        if (memsw_limit > 0 && out->memory_limit > 0 && memsw_limit >= out->memory_limit)
            out->swap_limit = memsw_limit - out->memory_limit;
    }
}

static void memory_v2(const char *v2, ck_cgroup_usage *out, uint64_t *inactive)
{
    char file[1200];
    file_in(file, sizeof(file), v2, "memory.current");
    out->memory_usage = read_u64(file);
    file_in(file, sizeof(file), v2, "memory.max");
    out->memory_limit = read_limit(file);
    file_in(file, sizeof(file), v2, "memory.stat");
    const stat_key keys[] = {{"inactive_file", inactive},
                             {"anon", &out->memory_rss},
                             {"pgfault", &out->page_faults},
                             {"pgmajfault", &out->major_page_faults}};
    read_keys(file, keys, sizeof(keys) / sizeof(keys[0]));
    file_in(file, sizeof(file), v2, "memory.swap.current");
    out->has_swap = ck_read_u64_file(file, &out->swap_usage, NULL) == 0;
    file_in(file, sizeof(file), v2, "memory.swap.max");
    out->swap_limit = out->has_swap ? read_limit(file) : 0;
}

static void usage(const cg_of *w, ck_cgroup_usage *out)
{
    memset(out, 0, sizeof(*out));
    char cg[1024], file[1200];
    char v2[1024] = "";
    if (!dir_of(w, "", v2, sizeof(v2)))
        v2[0] = '\0';
    cpu_usage(w, v2, out);
    uint64_t inactive = 0;
    if (dir_of(w, "memory", cg, sizeof(cg)))
        memory_v1(cg, out, &inactive);
    else if (v2[0] != '\0')
        memory_v2(v2, out, &inactive);
    out->memory_working_set = out->memory_usage > inactive ? out->memory_usage - inactive : 0;
    if (dir_of(w, "pids", cg, sizeof(cg))) {
        file_in(file, sizeof(file), cg, "pids.current");
        out->processes = read_u64(file);
    } else if (v2[0] != '\0') {
        file_in(file, sizeof(file), v2, "pids.current");
        out->processes = read_u64(file);
    }
}

void ck_cgroup_usage_of(pid_t pid, bool parent_level, ck_cgroup_usage *out)
{
    cg_of w = {.pid = pid, .parent_level = parent_level};
    usage(&w, out);
}

void ck_cgroup_usage_of_path(const char *cgroups_path, ck_cgroup_usage *out)
{
    cg_of w = {.path = cgroups_path};
    usage(&w, out);
}
