/*
 * listen_addr: getaddrinfo for a passive TCP socket (see listen_addr.h).
 */
#include "common/listen_addr.h"

#include <stdio.h>
#include <string.h>

int ck_listen_addr(const char *setting, const char *host, const char *port, bool numeric, struct addrinfo **out,
                   ck_err *err)
{
    char bare[256];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        snprintf(bare, sizeof(bare), "%.*s", (int)(len - 2), host + 1);
    else if (len < sizeof(bare))
        snprintf(bare, sizeof(bare), "%s", host);
    else
        return ck_err_set(err, CK_E_INVALID, 0, "%s: host of %zu bytes is too long", setting, len);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0)};
    int rc = getaddrinfo(bare, port, &hints, out);
    if (rc != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "%s %s port %s: %s", setting, host, port, gai_strerror(rc));
    return 0;
}
