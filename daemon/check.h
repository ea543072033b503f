/*
 * check: `cricket check` inspects the host and says what will work and what
 * will not, each with the reason and the fix. Exit status 0 when the node can
 * run pods (the default runtime runs a container here), 1 otherwise.
 */
#ifndef CK_DAEMON_CHECK_H
#define CK_DAEMON_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"

int ck_check_host(const ck_config *cfg, bool json, FILE *out);

#endif
