/*
 * unix_addr: the address of a unix socket at any path. A path longer than
 * sun_path (108 bytes) is reached through a descriptor of its directory,
 * "/proc/self/fd/N/name", as conmon does; both the monitor (which binds its
 * sockets) and the daemon (which connects to them) go through here, so the
 * two sides always agree. No dependency beyond libc: it is part of
 * ck_errparse, which the monitor links.
 */
#ifndef CK_COMMON_UNIX_ADDR_H
#define CK_COMMON_UNIX_ADDR_H

#include <sys/un.h>

/* Fills sa for path. *dir_fd is -1, or the directory's O_PATH descriptor
 * the address names: keep it open until bind() or connect() returned, then
 * close it. 0, or -1 with errno (ENAMETOOLONG, or open's). */
int ck_unix_addr(const char *path, struct sockaddr_un *sa, int *dir_fd);

#endif
