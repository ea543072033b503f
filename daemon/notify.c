#include "daemon/notify.h"

#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"

static void send_state(const char *state)
{
    /* A failed notification is logged and otherwise ignored: the daemon
     * works the same without a service manager listening. */
    int r = sd_notify(0, state);
    if (r < 0)
        ck_warn("daemon", "sd_notify(%s): error %d", state, -r);
}

void ck_notify_status(const char *fmt, ...)
{
    char line[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + 7, sizeof(line) - 7, fmt, ap);
    va_end(ap);
    send_state(line);
}

void ck_notify_ready(void)
{
    send_state("READY=1\nSTATUS=serving CRI v1");
}

void ck_notify_stopping(void)
{
    send_state("STOPPING=1\nSTATUS=shutting down");
}

void ck_notify_watchdog(void)
{
    send_state("WATCHDOG=1");
}

uint64_t ck_notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return usec;
}
