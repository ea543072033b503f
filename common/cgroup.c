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

/* The value of key in a "key value" per line file (memory.stat); 0 when absent. */
static uint64_t read_keyed(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    char line[256];
    size_t klen = strlen(key);
    uint64_t out = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            const char *p = line + klen;
            if (ck_parse_u64_word(&p, 10, &out, NULL) < 0)
                out = 0;
            break;
        }
    fclose(f);
    return out;
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
        if (match) {
            /* Pure v2 mounts the tree at /sys/fs/cgroup, hybrid at .../unified. */
            bool pure_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
            if (controller[0] == '\0')
                snprintf(buf, size, "/sys/fs/cgroup%s%s", pure_v2 ? "" : "/unified", rest);
            else
                snprintf(buf, size, "/sys/fs/cgroup/%s%s", controller, rest);
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

void ck_cgroup_usage_of(pid_t pid, bool parent_level, ck_cgroup_usage *out)
{
    memset(out, 0, sizeof(*out));
    char cg[1024], file[1200];
    char v2[1024] = "";
    bool has_v2 = ck_cgroup_dir_of(pid, "", parent_level, v2, sizeof(v2));
    if (ck_cgroup_dir_of(pid, "cpuacct", parent_level, cg, sizeof(cg))) {
        snprintf(file, sizeof(file), "%s/cpuacct.usage", cg);
        out->cpu_usage_ns = read_u64(file);
    } else if (has_v2) {
        snprintf(file, sizeof(file), "%s/cpu.stat", v2);
        out->cpu_usage_ns = read_keyed(file, "usage_usec") * 1000;
    }
    uint64_t inactive = 0;
    if (ck_cgroup_dir_of(pid, "memory", parent_level, cg, sizeof(cg))) {
        snprintf(file, sizeof(file), "%s/memory.usage_in_bytes", cg);
        out->memory_usage = read_u64(file);
        snprintf(file, sizeof(file), "%s/memory.stat", cg);
        inactive = read_keyed(file, "total_inactive_file");
        out->memory_rss = read_keyed(file, "total_rss");
    } else if (has_v2) {
        snprintf(file, sizeof(file), "%s/memory.current", v2);
        out->memory_usage = read_u64(file);
        snprintf(file, sizeof(file), "%s/memory.stat", v2);
        inactive = read_keyed(file, "inactive_file");
        out->memory_rss = read_keyed(file, "anon");
    }
    out->memory_working_set = out->memory_usage > inactive ? out->memory_usage - inactive : 0;
    if (ck_cgroup_dir_of(pid, "pids", parent_level, cg, sizeof(cg))) {
        snprintf(file, sizeof(file), "%s/pids.current", cg);
        out->processes = read_u64(file);
    } else if (has_v2) {
        snprintf(file, sizeof(file), "%s/pids.current", v2);
        out->processes = read_u64(file);
    }
}
