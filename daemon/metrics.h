/*
 * metrics: the Prometheus endpoint (GET /metrics on metrics.address, off by
 * default) and the collectors read at each scrape: process memory, open
 * file descriptors and threads, pods and containers by state, build info.
 */
#ifndef CK_DAEMON_METRICS_H
#define CK_DAEMON_METRICS_H

#include "common/err.h"

typedef struct ck_store ck_store;
typedef struct ck_metrics_server ck_metrics_server;

/* Starts serving on address ("host:port", "[v6]:port") and enables recording. */
int ck_metrics_server_start(const char *address, ck_store *store, ck_metrics_server **out, ck_err *err);
void ck_metrics_server_stop(ck_metrics_server *srv);

#endif
