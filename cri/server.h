/*
 * server: the CRI gRPC server on gRPC's C core.
 *
 * Threading model: one completion queue for new calls, drained by a pool of
 * poller threads that also run the handlers. A poller that takes a call makes
 * sure enough other pollers stay idle (starting one if needed, up to
 * max_threads), so a slow call (a pull, a stop with a long timeout) never
 * holds up the next one; pollers beyond max_idle exit when they finish. This
 * is the shape of gRPC's own synchronous server, written for plain C.
 */
#ifndef CK_CRI_SERVER_H
#define CK_CRI_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct ck_services ck_services;
typedef struct ck_cri_server ck_cri_server;

typedef struct ck_cri_server_opts {
    const char *socket_path; /* absolute path of the unix socket */
    const ck_services *svc;
    int min_idle_pollers; /* 0 = default (2) */
    int max_idle_pollers; /* 0 = default (8) */
    int max_threads;      /* 0 = default (256) */
} ck_cri_server_opts;

/* 16 MiB, as the kubelet sets its own limits; ListContainers with 10 000
 * containers fits (see test/critest). */
#define CK_CRI_MAX_MESSAGE (16 * 1024 * 1024)

/* Binds the socket (mode 0660; parent created 0700 if missing; a stale socket
 * from a crashed run is replaced, one served by a live process refused) and
 * starts serving. */
int ck_cri_server_start(const ck_cri_server_opts *opts, ck_cri_server **out, ck_err *err);

/* Stops accepting calls, lets in-flight calls finish for up to grace_ms, then
 * cancels the rest, waits for every thread, removes the socket and frees. */
void ck_cri_server_stop(ck_cri_server *srv, int grace_ms);

/* Logs every call in flight: RPC, call id, object, how long it has run
 * (SIGUSR1, for debugging a hang). */
void ck_cri_server_dump_calls(ck_cri_server *srv);

/* Counts the call by method and status (int: a grpc_status_code) and records
 * its latency, once per call. ck_call_finish calls it just before the status
 * goes out, so a client that has its answer finds the call counted; calls
 * that never reach a status are counted when they are released. */
struct ck_call;
void ck_cri_server_observe_call(ck_cri_server *srv, struct ck_call *call, int code);

/* The answer of a kind (ck_packed_kind) the server keeps; NULL for no kind. */
struct ck_packed_answer;
struct ck_packed_answer *ck_cri_server_packed_answer(ck_cri_server *srv, int kind);

/* True once ck_cri_server_stop has begun: streams end, long calls give up. */
bool ck_cri_server_stopping(const ck_cri_server *srv);

#endif
