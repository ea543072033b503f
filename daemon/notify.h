/*
 * notify: the systemd service protocol (Type=notify). READY=1 once the CRI
 * socket accepts calls and restart recovery has finished, STATUS= lines on
 * the way there, STOPPING=1 at shutdown, WATCHDOG=1 pings when the unit sets
 * WatchdogSec. Without NOTIFY_SOCKET every call does nothing.
 *
 * NOTIFY_SOCKET and WATCHDOG_* stay in the daemon's environment, where
 * notify.c reads them on every call; no child ever gets them (nor
 * LISTEN_*): common/spawn withholds them, since runc acts on NOTIFY_SOCKET
 * and would make every `start` wait for a READY the pause process never
 * sends.
 */
#ifndef CK_DAEMON_NOTIFY_H
#define CK_DAEMON_NOTIFY_H

#include <stdint.h>

void ck_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ck_notify_ready(void);
void ck_notify_stopping(void);
void ck_notify_watchdog(void);

/* The watchdog interval the service manager expects pings within, in
 * microseconds, or 0 when there is no watchdog. */
uint64_t ck_notify_watchdog_usec(void);

#endif
