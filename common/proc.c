#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/parse.h"

/* Reads a small /proc file whole into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t size, ck_err *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_set(err, errno == ENOENT || errno == ESRCH ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "open %s",
                          path);
    ssize_t n;
    while ((n = read(fd, buf, size - 1)) < 0 && errno == EINTR) {
    }
    if (n < 0)
        return ck_err_set(err, errno == ESRCH ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "read %s", path);
    buf[n] = '\0';
    return 0;
}

/* The boot id cannot change while this process runs: read once. */
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;
static char boot_id[CK_BOOT_ID_LEN + 1];
static ck_err boot_err;

static void read_boot_id(void)
{
    char buf[64];
    ck_err_clear(&boot_err);
    if (read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf), &boot_err) < 0)
        return;
    buf[strcspn(buf, "\n")] = '\0';
    if (strlen(buf) != CK_BOOT_ID_LEN) {
        ck_err_set(&boot_err, CK_E_INTERNAL, 0, "/proc/sys/kernel/random/boot_id: \"%s\" is not a boot id", buf);
        return;
    }
    memcpy(boot_id, buf, CK_BOOT_ID_LEN + 1);
}

int ck_boot_id(char out[CK_BOOT_ID_LEN + 1], ck_err *err)
{
    pthread_once(&boot_once, read_boot_id);
    if (boot_id[0] == '\0')
        return err != NULL ? ck_err_copy(err, &boot_err) : -1;
    memcpy(out, boot_id, CK_BOOT_ID_LEN + 1);
    return 0;
}

/* Skips to the start of field `to` from the start of field `from`
 * (fields separated by single spaces). NULL when the line ends first. */
static const char *skip_fields(const char *p, int from, int to)
{
    for (int field = from; field < to; field++) {
        p += strcspn(p, " ");
        if (*p == '\0')
            return NULL;
        p++;
    }
    return p;
}

int ck_proc_read_stat(pid_t pid, ck_proc_stat *st, ck_err *err)
{
    if (pid <= 0)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "no process %d", (int)pid);
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof(buf), err) < 0)
        return -1;
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses,
     * so fields are counted from the last ')', which closes field 2; the
     * state is field 3, the parent 4 and the start time 22. */
    const char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s: no command field", path);
    st->state = p[2];
    p += 4;
    int64_t ppid;
    if (ck_parse_i64_word(&p, 0, INT32_MAX, &ppid, err) < 0)
        return ck_err_wrap(err, "%s: parent", path);
    st->ppid = (pid_t)ppid;
    p = skip_fields(p + (*p == ' '), 5, 22);
    if (p == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s: too few fields", path);
    if (ck_parse_u64_word(&p, 10, &st->start_time, err) < 0)
        return ck_err_wrap(err, "%s: start time", path);
    return 0;
}

int ck_proc_start_time(pid_t pid, uint64_t *out, ck_err *err)
{
    ck_proc_stat st;
    if (ck_proc_read_stat(pid, &st, err) < 0)
        return -1;
    *out = st.start_time;
    return 0;
}

int ck_proc_id_capture(pid_t pid, ck_proc_id *id, ck_err *err)
{
    memset(id, 0, sizeof(*id));
    id->pid = pid;
    if (ck_proc_start_time(pid, &id->start_time, err) < 0 || ck_boot_id(id->boot_id, err) < 0)
        return ck_err_wrap(err, "identify process %d", (int)pid);
    return 0;
}

bool ck_proc_id_alive(const ck_proc_id *id, char *reason, size_t size)
{
    char boot[CK_BOOT_ID_LEN + 1];
    if (id->boot_id[0] != '\0' && ck_boot_id(boot, NULL) == 0 && strcmp(boot, id->boot_id) != 0) {
        if (reason != NULL)
            snprintf(reason, size, "the node has rebooted since process %d started", (int)id->pid);
        return false;
    }
    uint64_t start = 0;
    ck_err e;
    ck_err_clear(&e);
    if (ck_proc_start_time(id->pid, &start, &e) < 0) {
        /* Only "no such process" is an answer; any other failure (out of
         * descriptors, a /proc we may not read) says nothing about it, and
         * a live pod must never be declared dead for it. */
        if (e.kind != CK_E_NOT_FOUND)
            return true;
        if (reason != NULL)
            snprintf(reason, size, "process %d is gone", (int)id->pid);
        return false;
    }
    if (start != id->start_time) {
        if (reason != NULL)
            snprintf(reason, size, "process %d is gone (its pid now belongs to another process)", (int)id->pid);
        return false;
    }
    return true;
}

int ck_proc_id_open(const ck_proc_id *id, ck_err *err)
{
    char boot[CK_BOOT_ID_LEN + 1];
    if (id->pid <= 0)
        return ck_err_set(err, CK_E_INVALID, 0, "no process recorded");
    if (id->boot_id[0] != '\0' && ck_boot_id(boot, NULL) == 0 && strcmp(boot, id->boot_id) != 0)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "process %d started before the node rebooted", (int)id->pid);
    int fd = pidfd_open(id->pid, 0);
    if (fd < 0)
        return ck_err_set(err, errno == ESRCH ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "open process %d", (int)id->pid);
    uint64_t start = 0;
    if (ck_proc_start_time(id->pid, &start, err) < 0) {
        close(fd);
        return ck_err_wrap(err, "process %d", (int)id->pid);
    }
    if (start != id->start_time) {
        close(fd);
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "process %d is gone (its pid now belongs to another process)",
                          (int)id->pid);
    }
    return fd;
}

bool ck_proc_is_pid_ns_init(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof(buf), NULL) < 0)
        return false;
    const char *line = strstr(buf, "\nNSpid:");
    if (line == NULL)
        return false;
    const char *end = strchr(line + 1, '\n');
    if (end == NULL)
        return false;
    const char *last = end;
    while (last > line && (last[-1] == ' ' || last[-1] == '\t'))
        last--;
    const char *start = last;
    while (start > line && start[-1] >= '0' && start[-1] <= '9')
        start--;
    return last - start == 1 && *start == '1' && (start[-1] == ' ' || start[-1] == '\t');
}
