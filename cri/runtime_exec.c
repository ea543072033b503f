/*
 * Exec: a command in a running container, streamed. The request is
 * checked here (the container runs, the options make sense) and kept by
 * the streaming server under a single-use token; the answer is the URL the
 * client connects to, where the command starts (streaming/).
 */
#include <string.h>

#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"
#include "streaming/server.h"

int ck_handle_exec(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__ExecRequest *in = (const void *)req;
    ck_call_set_object(call, "container %.64s", in->container_id);
    const char **argv = ck_call_alloc(call, (in->n_cmd + 1) * sizeof(*argv));
    if (argv == NULL)
        return ck_err_oom(err, "Exec request");
    for (size_t i = 0; i < in->n_cmd; i++)
        argv[i] = in->cmd[i] != NULL ? in->cmd[i] : "";
    argv[in->n_cmd] = NULL;
    ck_stream_request r = {
        .kind = CK_STREAM_EXEC,
        .argv = (char **)argv,
        .tty = in->tty,
        .in = in->stdin,
        .out = in->stdout,
        .err = in->stderr,
    };
    if (ck_stream_request_check(&r, "Exec", err) < 0)
        return -1;
    if (ck_container_check_running(call->svc->containers, in->container_id, r.container_id, sizeof(r.container_id),
                                   err) < 0)
        return ck_err_wrap(err, "Exec");
    char url[512];
    if (ck_streaming_put(call->svc->streaming, &r, url, sizeof(url), err) < 0)
        return -1;
    Runtime__V1__ExecResponse *out = CK_NEW(call, Runtime__V1__ExecResponse, runtime__v1__exec_response__init);
    if (out == NULL || (out->url = ck_call_strdup(call, url)) == NULL)
        return ck_err_oom(err, "Exec response");
    *resp = &out->base;
    return 0;
}
