/*
 * PullImage: the reference and the AuthConfig go to the images domain;
 * the answer is the image id, the reference the kubelet then uses. A client
 * that cancels or whose deadline passes stops the pull.
 */
#include "cri/handlers.h"
#include "cri/image_convert.h"
#include "cri/services.h"
#include "images/registry.h"

#include <pthread.h>
#include <stdlib.h>

/* The pull asks from its download threads too; ck_call_done plucks the
 * call's queue, so one thread at a time asks, and a yes is remembered. */
typedef struct cancel_probe {
    ck_call *call;
    pthread_mutex_t mu;
    bool done;
} cancel_probe;

static bool call_done(void *arg)
{
    cancel_probe *p = arg;
    pthread_mutex_lock(&p->mu);
    if (!p->done)
        p->done = ck_call_done(p->call);
    bool done = p->done;
    pthread_mutex_unlock(&p->mu);
    return done;
}

int ck_handle_pull_image(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__PullImageRequest *in = (const void *)req;
    const char *name;
    if (ck_image_spec_name(in->image, "PullImage", &name, err) < 0)
        return -1;
    ck_auth auth = {0};
    if (in->auth != NULL)
        auth = (ck_auth){in->auth->username, in->auth->password, in->auth->auth, in->auth->identity_token,
                         in->auth->registry_token};
    char *id = NULL;
    cancel_probe probe = {.call = call};
    pthread_mutex_init(&probe.mu, NULL);
    int rc = ck_images_pull(call->svc->images, name, in->auth != NULL ? &auth : NULL, call_done, &probe, &id, err);
    pthread_mutex_destroy(&probe.mu);
    if (rc < 0)
        return -1;
    Runtime__V1__PullImageResponse *r =
        CK_NEW(call, Runtime__V1__PullImageResponse, runtime__v1__pull_image_response__init);
    if (r != NULL)
        r->image_ref = ck_call_strdup(call, id);
    free(id);
    if (r == NULL || r->image_ref == NULL)
        return ck_err_oom(err, "PullImage response");
    *resp = &r->base;
    return 0;
}
