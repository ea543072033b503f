/*
 * request: what an Exec, Attach or PortForward call asked for, kept by the
 * streaming server under a token until the client connects. The options
 * of a session (command, stdin/stdout/stderr/tty, the pod's network
 * namespace) come from here, never from the URL. A request owns its
 * strings; cri/ builds one from the call's protobuf and the server keeps a
 * deep copy.
 */
#ifndef CK_STREAMING_REQUEST_H
#define CK_STREAMING_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum ck_stream_kind {
    CK_STREAM_EXEC,
    CK_STREAM_ATTACH,
    CK_STREAM_PORTFORWARD,
} ck_stream_kind;

typedef struct ck_stream_request {
    ck_stream_kind kind;
    char container_id[65];  /* exec, attach: the full id */
    char **argv;            /* exec: NULL-terminated */
    bool tty, in, out, err; /* exec, attach: stdin, stdout, stderr asked for */
    char pod_id[65];        /* port-forward: the full id */
    char *netns;            /* port-forward: the pod's pinned netns path, "" = the host's network */
    uint16_t *ports;        /* port-forward: the ports the request named (the client may name others) */
    size_t n_ports;
} ck_stream_request;

/* "exec", "attach", "portforward": the URL's first segment. */
const char *ck_stream_kind_name(ck_stream_kind kind);

/* The checks of Exec and Attach: a command (exec), at least one of stdin,
 * stdout and stderr, and no stderr with a tty (its output is the
 * terminal's). CK_E_INVALID naming the rpc. */
int ck_stream_request_check(const ck_stream_request *r, const char *rpc, ck_err *err);

/* A deep copy of src into a new request (free with ck_stream_request_free).
 * NULL strings of src read as "" (netns) or no command (argv). */
ck_stream_request *ck_stream_request_dup(const ck_stream_request *src, ck_err *err);
void ck_stream_request_free(ck_stream_request *r);

#endif
