/*
 * sandbox_files: what a pod's containers share from the host side: the
 * read-only cricket-pause rootfs (one for all pods, unless a pause image is
 * configured: then each pod mounts the image's layers), and per pod /etc/hostname,
 * /etc/hosts, /etc/resolv.conf and a tmpfs for /dev/shm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/spawn.h"
#include "sandbox/sandbox_internal.h"

void sb_paths_init(const ck_sandboxes *sb, const char *id, sb_paths *p)
{
    snprintf(p->dir, sizeof(p->dir), "%s/sandboxes/%s", sb->cfg->root_dir, id);
    snprintf(p->run_dir, sizeof(p->run_dir), "%s/sandboxes/%s", sb->cfg->state_dir, id);
    snprintf(p->netns_dir, sizeof(p->netns_dir), "%s/netns", sb->cfg->state_dir);
    snprintf(p->userns_dir, sizeof(p->userns_dir), "%s/userns", sb->cfg->state_dir);
    snprintf(p->userns, sizeof(p->userns), "%s/%s", p->userns_dir, id);
    snprintf(p->shm, sizeof(p->shm), "%s/shm", p->dir);
    snprintf(p->hostname, sizeof(p->hostname), "%s/hostname", p->dir);
    snprintf(p->hosts, sizeof(p->hosts), "%s/hosts", p->dir);
    snprintf(p->resolv, sizeof(p->resolv), "%s/resolv.conf", p->dir);
    snprintf(p->rootfs, sizeof(p->rootfs), "%s/rootfs", p->dir);
    snprintf(p->upper, sizeof(p->upper), "%s/upper", p->dir);
    snprintf(p->work, sizeof(p->work), "%s/work", p->dir);
    snprintf(p->ipc_pin, sizeof(p->ipc_pin), "%s/ipc", p->run_dir);
    snprintf(p->uts_pin, sizeof(p->uts_pin), "%s/uts", p->run_dir);
    ck_oci_monitor_files_init(&p->mon, p->run_dir);
}

int sb_lock(ck_sandboxes *sb, const char *id, const ck_cancel *cancel, ck_err *err)
{
    char what[96];
    snprintf(what, sizeof(what), "pod %s", id);
    return ck_keylock_acquire(&sb->locks, id, cancel, what, err);
}

void sb_unlock(ck_sandboxes *sb, const char *id)
{
    ck_keylock_release(&sb->locks, id);
}

/* ck_write_file_atomic, or ck_write_file_for_this_boot for what only this
 * boot's pods read (see write_text). */
typedef int (*file_writer)(const char *path, const char *data, size_t len, unsigned mode, ck_err *err);

static int copy_file(const char *from, const char *to, mode_t mode, file_writer write_whole, ck_err *err)
{
    _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ck_err_set(err, CK_E_UNAVAILABLE, errno, "open %s", from);
    struct stat st;
    if (fstat(in, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s", from);
    _cleanup_free_ char *data = malloc((size_t)st.st_size + 1);
    if (data == NULL)
        return ck_err_oom(err, from);
    ssize_t n = read(in, data, (size_t)st.st_size);
    if (n != st.st_size)
        return ck_err_set(err, CK_E_INTERNAL, errno, "read %s", from);
    return write_whole(to, data, (size_t)n, mode, err);
}

static int mkdirs(const char *base, const char *const *names, ck_err *err)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", base, names[i]);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", path);
    }
    return 0;
}

static int touch(const char *base, const char *name, ck_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", base, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", path);
    close(fd);
    return 0;
}

/* <root>/pause/rootfs: /pause and the mount points runc needs, so the
 * rootfs can be mounted read-only and shared by every pod. */
int sb_prepare_rootfs(ck_sandboxes *sb, ck_err *err)
{
    char pause[PATH_MAX], base[PATH_MAX], bin[PATH_MAX];
    if (ck_exe_sibling("cricket-pause", pause, sizeof(pause), err) < 0)
        return -1;
    snprintf(base, sizeof(base), "%s/pause", sb->cfg->root_dir);
    snprintf(sb->rootfs, sizeof(sb->rootfs), "%s/rootfs", base);
    static const char *const dirs[] = {"proc", "dev", "sys", "etc", NULL};
    if ((mkdir(base, 0755) < 0 && errno != EEXIST) || (mkdir(sb->rootfs, 0755) < 0 && errno != EEXIST))
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", sb->rootfs);
    if (mkdirs(sb->rootfs, dirs, err) < 0 || touch(sb->rootfs, "etc/hostname", err) < 0 ||
        touch(sb->rootfs, "etc/hosts", err) < 0 || touch(sb->rootfs, "etc/resolv.conf", err) < 0)
        return -1;
    snprintf(bin, sizeof(bin), "%s/pause", sb->rootfs);
    if (copy_file(pause, bin, 0755, ck_write_file_atomic, err) < 0)
        return ck_err_wrap(err, "install the pause binary (built with the daemon as cricket-pause)");
    return 0;
}

/* A pod's hostname, hosts and resolv.conf serve its containers in this
 * boot only: no fsync. */
static int write_text(const char *path, const char *text, ck_err *err)
{
    return ck_write_file_for_this_boot(path, text, strlen(text), 0644, err);
}

int sb_write_hostname(const sb_paths *p, const char *hostname, ck_err *err)
{
    char text[300];
    snprintf(text, sizeof(text), "%s\n", hostname);
    return write_text(p->hostname, text, err);
}

/* The pod's /etc/hosts; with its IP once known. */
static void hosts_text(const char *hostname, const char *ip, char *text, size_t size)
{
    int n = snprintf(text, size,
                     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                     "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
    if (ip != NULL && ip[0] != '\0' && hostname != NULL && hostname[0] != '\0')
        snprintf(text + n, size - (size_t)n, "%s\t%s\n", ip, hostname);
}

int sb_write_hosts(const sb_paths *p, const char *hostname, const char *ip, bool host_network, ck_err *err)
{
    if (host_network)
        return copy_file("/etc/hosts", p->hosts, 0644, ck_write_file_for_this_boot, err);
    char text[1024];
    hosts_text(hostname, ip, text, sizeof(text));
    return write_text(p->hosts, text, err);
}

int sb_add_ip_to_hosts(const sb_paths *p, const char *hostname, const char *ip, ck_err *err)
{
    char text[1024];
    hosts_text(hostname, ip, text, sizeof(text));
    return ck_rewrite_file(p->hosts, text, strlen(text), err);
}

static void append_list(char *buf, size_t size, const char *key, const ck_strs *v, bool one_per_line)
{
    size_t len = strlen(buf);
    for (size_t i = 0; i < v->len && len < size; i++) {
        if (one_per_line)
            len += (size_t)snprintf(buf + len, size - len, "%s %s\n", key, v->items[i]);
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i == 0 ? key : " ", v->items[i]);
    }
    if (!one_per_line && v->len > 0 && len < size)
        snprintf(buf + len, size - len, "\n");
}

int sb_write_resolv(const sb_paths *p, const ck_sandbox_config *cfg, ck_err *err)
{
    if (!cfg->has_dns)
        return copy_file("/etc/resolv.conf", p->resolv, 0644, ck_write_file_for_this_boot, err);
    char text[8192] = "";
    append_list(text, sizeof(text), "search ", &cfg->dns_searches, false);
    append_list(text, sizeof(text), "nameserver", &cfg->dns_servers, true);
    append_list(text, sizeof(text), "options ", &cfg->dns_options, false);
    return write_text(p->resolv, text, err);
}

int sb_mount_shm(const sb_paths *p, ck_err *err)
{
    if (mkdir(p->shm, 0700) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", p->shm);
    if (mount("shm", p->shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "mount /dev/shm tmpfs on %s", p->shm);
    return 0;
}

void sb_unmount_shm(const sb_paths *p)
{
    while (umount2(p->shm, MNT_DETACH) == 0) {
    }
    if (errno != EINVAL && errno != ENOENT)
        ck_warn("sandbox", "unmount %s: %s", p->shm, strerror(errno));
}
