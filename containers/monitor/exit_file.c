/*
 * exit_file: the monitor's record of how the container ended. Written once,
 * whole, so the daemon (maybe restarted since) reads either nothing (still
 * running) or the complete record.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "containers/monitor/monitor.h"

int mon_write_exit_file(const char *path, int code, int64_t finished_at_ns)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char line[CK_MON_EXIT_RECORD_MAX];
    int n = snprintf(line, sizeof(line), CK_MON_EXIT_FORMAT, code, (long long)finished_at_ns);
    int rc = (write(fd, line, (size_t)n) == n && fsync(fd) == 0) ? 0 : -1;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1;
    if (rc < 0)
        unlink(tmp);
    return rc;
}
