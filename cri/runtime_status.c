/*
 * Status: RuntimeReady when the default runtime handler can be run,
 * NetworkReady when a usable CNI configuration is present, the runtime
 * handlers with the features each really supports, and with verbose the
 * effective configuration as JSON (crictl info shows it).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_json.h"
#include "containers/containers.h"
#include "cri/handlers.h"
#include "cri/services.h"
#include "sandbox/sandbox.h"
#include "netcni/cni.h"
#include "netcni/netcni.h"
#include "oci/oci.h"

static Runtime__V1__RuntimeCondition *condition(ck_call *call, const char *type, bool ok, const char *reason,
                                                const char *message)
{
    Runtime__V1__RuntimeCondition *c =
        CK_NEW(call, Runtime__V1__RuntimeCondition, runtime__v1__runtime_condition__init);
    if (c == NULL)
        return NULL;
    c->type = (char *)type;
    c->status = ok;
    c->reason = ok ? "" : ck_call_strdup(call, reason);
    c->message = ok ? "" : ck_call_strdup(call, message);
    if (!ok && (c->reason == NULL || c->message == NULL))
        return NULL;
    return c;
}

static Runtime__V1__RuntimeCondition *runtime_condition(ck_call *call)
{
    const ck_config *cfg = call->svc->config;
    const ck_runtime_handler *h = ck_config_find_runtime(cfg, cfg->default_runtime);
    if (h == NULL) {
        char *msg = ck_call_printf(call, "default runtime handler %s is not configured (no runc or crun found)",
                                   cfg->default_runtime);
        return condition(call, "RuntimeReady", false, "RuntimeHandlerNotFound", msg != NULL ? msg : "");
    }
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_handler_check(h, &err) < 0)
        return condition(call, "RuntimeReady", false, "RuntimeHandlerNotReady", err.msg);
    return condition(call, "RuntimeReady", true, NULL, NULL);
}

/* Ready when a usable configuration exists and, for CNI 1.1 networks, every
 * plugin's STATUS succeeds. */
static Runtime__V1__RuntimeCondition *network_condition(ck_call *call, ck_cni_status *st)
{
    ck_cni_status_get(call->svc->cni, st);
    if (st->ready) {
        ck_err err;
        ck_err_clear(&err);
        if (ck_cni_plugins_status(call->svc->cni, &err) < 0)
            return condition(call, "NetworkReady", false, "NetworkPluginNotReady", err.msg);
    }
    return condition(call, "NetworkReady", st->ready, st->reason, st->message);
}

/* The kubelet lists the default handler under the empty name too. */
static Runtime__V1__RuntimeHandler *handler_entry(ck_call *call, const char *name)
{
    Runtime__V1__RuntimeHandler *h = CK_NEW(call, Runtime__V1__RuntimeHandler, runtime__v1__runtime_handler__init);
    Runtime__V1__RuntimeHandlerFeatures *f =
        CK_NEW(call, Runtime__V1__RuntimeHandlerFeatures, runtime__v1__runtime_handler_features__init);
    if (h == NULL || f == NULL)
        return NULL;
    h->name = (char *)name;
    /* Every handler gets the same mounts and namespaces: cricket makes the
     * read-only clones, the user namespace and the idmapped root
     * filesystems itself, whatever the runtime can do, where the start-up
     * probes found they work. */
    f->recursive_read_only_mounts = ck_containers_readonly_trees(call->svc->containers);
    f->user_namespaces = ck_sandboxes_userns_supported(call->svc->sandboxes, NULL, 0);
    h->features = f;
    return h;
}

static int fill_handlers(ck_call *call, Runtime__V1__StatusResponse *r)
{
    const ck_config *cfg = call->svc->config;
    r->runtime_handlers = ck_call_alloc(call, (cfg->n_runtimes + 1) * sizeof(*r->runtime_handlers));
    if (r->runtime_handlers == NULL)
        return -1;
    r->runtime_handlers[r->n_runtime_handlers++] = handler_entry(call, "");
    for (size_t i = 0; i < cfg->n_runtimes; i++)
        r->runtime_handlers[r->n_runtime_handlers++] = handler_entry(call, cfg->runtimes[i].name);
    for (size_t i = 0; i < r->n_runtime_handlers; i++)
        if (r->runtime_handlers[i] == NULL)
            return -1;
    return 0;
}

static char *verbose_config(ck_call *call, const ck_cni_status *st)
{
    json_t *root = ck_config_to_json(call->svc->config);
    if (root == NULL)
        return NULL;
    char cidr[256];
    ck_cni_pod_cidr(call->svc->cni, cidr, sizeof(cidr));
    json_object_set_new(root, "version", json_string(CK_VERSION));
    /* Under containerd's name too: critest checks that its parent directory
     * takes idmapped mounts before it runs the user namespace specs. */
    json_object_set_new(root, "stateDir", json_string(call->svc->config->state_dir));
    json_object_set_new(root, "pod_cidr", json_string(cidr));
    json_object_set_new(root, "cni_config_file", json_string(st->config_file));
    json_object_set_new(root, "cni_network", json_string(st->network));
    char written[4096];
    ck_cni_default_written(call->svc->cni, written, sizeof(written));
    json_object_set_new(root, "cni_default_network_written", json_string(written));
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (text == NULL)
        return NULL;
    char *copy = ck_call_strdup(call, text);
    free(text);
    return copy;
}

static int fill_info(ck_call *call, Runtime__V1__StatusResponse *r, const ck_cni_status *st)
{
    Runtime__V1__StatusResponse__InfoEntry *e =
        CK_NEW(call, Runtime__V1__StatusResponse__InfoEntry, runtime__v1__status_response__info_entry__init);
    r->info = ck_call_alloc(call, sizeof(*r->info));
    if (e == NULL || r->info == NULL)
        return -1;
    e->key = "config";
    e->value = verbose_config(call, st);
    if (e->value == NULL)
        return -1;
    r->info[0] = e;
    r->n_info = 1;
    return 0;
}

int ck_handle_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__StatusRequest *in = (const void *)req;
    Runtime__V1__StatusResponse *r = CK_NEW(call, Runtime__V1__StatusResponse, runtime__v1__status_response__init);
    Runtime__V1__RuntimeStatus *status = CK_NEW(call, Runtime__V1__RuntimeStatus, runtime__v1__runtime_status__init);
    Runtime__V1__RuntimeFeatures *features =
        CK_NEW(call, Runtime__V1__RuntimeFeatures, runtime__v1__runtime_features__init);
    if (r == NULL || status == NULL || features == NULL)
        return ck_err_oom(err, "Status response");
    status->conditions = ck_call_alloc(call, 2 * sizeof(*status->conditions));
    if (status->conditions == NULL)
        return ck_err_oom(err, "Status response");

    ck_cni_status cni_st;
    status->conditions[0] = runtime_condition(call);
    status->conditions[1] = network_condition(call, &cni_st);
    status->n_conditions = 2;
    if (status->conditions[0] == NULL || status->conditions[1] == NULL || fill_handlers(call, r) < 0)
        return ck_err_oom(err, "Status response");
    r->status = status;
    /* Merge and Strict are both honoured, and ContainerStatus reports the user. */
    features->supplemental_groups_policy = true;
    r->features = features;
    if (in->verbose && fill_info(call, r, &cni_st) < 0)
        return ck_err_oom(err, "Status verbose info");
    *resp = &r->base;
    return 0;
}
