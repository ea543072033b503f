/*
 * request: deep copies of the streaming requests the token table keeps.
 */
#include "streaming/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ck_stream_kind_name(ck_stream_kind kind)
{
    switch (kind) {
    case CK_STREAM_EXEC: return "exec";
    case CK_STREAM_ATTACH: return "attach";
    case CK_STREAM_PORTFORWARD: return "portforward";
    }
    return "unknown";
}

int ck_stream_request_check(const ck_stream_request *r, const char *rpc, ck_err *err)
{
    if (r->kind == CK_STREAM_EXEC && (r->argv == NULL || r->argv[0] == NULL || r->argv[0][0] == '\0'))
        return ck_err_set(err, CK_E_INVALID, 0, "%s: cmd is required", rpc);
    if (!r->in && !r->out && !r->err)
        return ck_err_set(err, CK_E_INVALID, 0, "%s: one of stdin, stdout or stderr must be set", rpc);
    if (r->tty && r->err)
        return ck_err_set(err, CK_E_INVALID, 0, "%s: tty and stderr cannot both be set (a terminal has one output)",
                          rpc);
    return 0;
}

static char **dup_argv(char *const *argv)
{
    size_t n = 0;
    while (argv != NULL && argv[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(argv[i]);
        if (out[i] == NULL) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    }
    return out;
}

ck_stream_request *ck_stream_request_dup(const ck_stream_request *src, ck_err *err)
{
    ck_stream_request *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        ck_err_oom(err, "streaming request");
        return NULL;
    }
    *r = *src;
    r->argv = dup_argv(src->argv);
    r->netns = strdup(src->netns != NULL ? src->netns : "");
    r->ports = NULL;
    bool ok = r->argv != NULL && r->netns != NULL;
    if (ok && src->n_ports > 0) {
        r->ports = calloc(src->n_ports, sizeof(*r->ports));
        ok = r->ports != NULL;
        if (ok)
            memcpy(r->ports, src->ports, src->n_ports * sizeof(*r->ports));
    }
    if (!ok) {
        ck_stream_request_free(r);
        ck_err_oom(err, "streaming request");
        return NULL;
    }
    return r;
}

void ck_stream_request_free(ck_stream_request *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; r->argv != NULL && r->argv[i] != NULL; i++)
        free(r->argv[i]);
    free(r->argv);
    free(r->netns);
    free(r->ports);
    free(r);
}
