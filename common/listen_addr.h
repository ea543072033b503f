/*
 * listen_addr: the socket address a server of ours (the metrics endpoint,
 * the streaming server) binds, from the host and port its configuration
 * names. One place, so that both read an address the same way and say
 * the same when it is wrong.
 */
#ifndef CK_COMMON_LISTEN_ADDR_H
#define CK_COMMON_LISTEN_ADDR_H

#include <stdbool.h>
#include <netdb.h>

#include "common/err.h"

/* host: a name or an address, IPv6 with or without brackets; port:
 * decimal. numeric: the host must be an address (no name lookup). setting
 * names the configuration key in the error (CK_E_INVALID). The caller
 * frees *out with freeaddrinfo; its first entry is the one to bind. */
int ck_listen_addr(const char *setting, const char *host, const char *port, bool numeric, struct addrinfo **out,
                   ck_err *err);

#endif
