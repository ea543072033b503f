/*
 * CreateContainer: the request's ContainerConfig becomes a plain
 * ck_container_config (protobuf stays here), the containers domain does
 * the rest.
 */
#include <string.h>

#include "containers/containers.h"
#include "cri/container_view.h"
#include "cri/handlers.h"
#include "cri/security.h"
#include "cri/services.h"

static const char *str(const char *s)
{
    return s != NULL ? s : "";
}

static ck_strs strs(char **items, size_t n)
{
    return (ck_strs){(const char *const *)items, n};
}

#define KVS_FROM(call, out, entries, n, keyf, valf)                                \
    do {                                                                           \
        ck_kv *kv_ = ck_call_alloc((call), ((n) + 1) * sizeof(ck_kv));             \
        if (kv_ == NULL)                                                           \
            return -1;                                                             \
        for (size_t i_ = 0; i_ < (n); i_++)                                        \
            kv_[i_] = (ck_kv){str((entries)[i_]->keyf), str((entries)[i_]->valf)}; \
        (out).items = kv_;                                                         \
        (out).len = (n);                                                           \
    } while (0)

static int convert_mounts(ck_call *call, const Runtime__V1__ContainerConfig *in, ck_container_config *c)
{
    ck_mount_req *m = ck_call_alloc(call, (in->n_mounts + 1) * sizeof(*m));
    if (m == NULL)
        return -1;
    for (size_t i = 0; i < in->n_mounts; i++) {
        const Runtime__V1__Mount *src = in->mounts[i];
        m[i] = (ck_mount_req){
            .container_path = str(src->container_path),
            .host_path = str(src->host_path),
            .readonly = src->readonly,
            .recursive_read_only = src->recursive_read_only,
            .selinux_relabel = src->selinux_relabel,
            .propagation = (int)src->propagation,
            .image = src->image != NULL ? str(src->image->image) : "",
            .uid_mappings = ck_cri_id_maps(call, src->uidmappings, src->n_uidmappings),
            .gid_mappings = ck_cri_id_maps(call, src->gidmappings, src->n_gidmappings),
            .n_uid_mappings = src->n_uidmappings,
            .n_gid_mappings = src->n_gidmappings,
        };
        if (m[i].uid_mappings == NULL || m[i].gid_mappings == NULL)
            return -1;
    }
    c->mounts = m;
    c->n_mounts = in->n_mounts;
    ck_device_req *d = ck_call_alloc(call, (in->n_devices + 1) * sizeof(*d));
    if (d == NULL)
        return -1;
    for (size_t i = 0; i < in->n_devices; i++)
        d[i] = (ck_device_req){str(in->devices[i]->container_path), str(in->devices[i]->host_path),
                               str(in->devices[i]->permissions)};
    c->devices = d;
    c->n_devices = in->n_devices;
    return 0;
}

static void convert_security(const Runtime__V1__LinuxContainerSecurityContext *s, ck_container_security *o)
{
    o->privileged = s->privileged;
    o->readonly_rootfs = s->readonly_rootfs;
    o->no_new_privs = s->no_new_privs;
    o->has_run_as_user = s->run_as_user != NULL;
    o->run_as_user = s->run_as_user != NULL ? s->run_as_user->value : 0;
    o->has_run_as_group = s->run_as_group != NULL;
    o->run_as_group = s->run_as_group != NULL ? s->run_as_group->value : 0;
    o->run_as_username = str(s->run_as_username);
    o->supplemental_groups = s->supplemental_groups;
    o->n_supplemental_groups = s->n_supplemental_groups;
    o->supplemental_groups_policy = (int)s->supplemental_groups_policy;
    if (s->capabilities != NULL) {
        o->add_capabilities = strs(s->capabilities->add_capabilities, s->capabilities->n_add_capabilities);
        o->drop_capabilities = strs(s->capabilities->drop_capabilities, s->capabilities->n_drop_capabilities);
    }
    if (s->namespace_options != NULL) {
        o->ns_pid = (int)s->namespace_options->pid;
        o->ns_target_id = str(s->namespace_options->target_id);
    }
    /* proto3 cannot tell an empty list from none: an empty list keeps the
     * defaults, as containerd reads it. */
    o->has_masked_paths = s->n_masked_paths > 0;
    o->masked_paths = strs(s->masked_paths, s->n_masked_paths);
    o->has_readonly_paths = s->n_readonly_paths > 0;
    o->readonly_paths = strs(s->readonly_paths, s->n_readonly_paths);
}

/* KeyValue's value is bytes on the wire (the same encoding as a string);
 * an environment value cannot hold a NUL, which check_envs refuses. */
static int convert_envs(ck_call *call, const Runtime__V1__ContainerConfig *cc, ck_container_config *c)
{
    ck_kv *kv = ck_call_alloc(call, (cc->n_envs + 1) * sizeof(*kv));
    if (kv == NULL)
        return -1;
    for (size_t i = 0; i < cc->n_envs; i++) {
        const ProtobufCBinaryData *v = &cc->envs[i]->value;
        char *value = ck_call_alloc(call, v->len + 1);
        if (value == NULL)
            return -1;
        if (v->len > 0)
            memcpy(value, v->data, v->len);
        value[v->len] = '\0';
        kv[i] = (ck_kv){str(cc->envs[i]->key), value};
    }
    c->envs = (ck_kvs){kv, cc->n_envs};
    return 0;
}

static int check_envs(const Runtime__V1__ContainerConfig *cc, ck_err *err)
{
    for (size_t i = 0; i < cc->n_envs; i++) {
        const ProtobufCBinaryData *v = &cc->envs[i]->value;
        if (v->len > 0 && memchr(v->data, '\0', v->len) != NULL)
            return ck_err_set(err, CK_E_INVALID, 0, "CreateContainer: envs[%zu] (%s): the value holds a NUL byte", i,
                              str(cc->envs[i]->key));
    }
    return 0;
}

/* The CRI's Signal enum by name ("SIGTERM"); RUNTIME_DEFAULT is "". */
static const char *signal_name(Runtime__V1__Signal sig)
{
    if (sig == RUNTIME__V1__SIGNAL__RUNTIME_DEFAULT)
        return "";
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&runtime__v1__signal__descriptor, (int)sig);
    return v != NULL ? v->name : "";
}

static int convert(ck_call *call, const Runtime__V1__CreateContainerRequest *in, ck_container_config *c)
{
    const Runtime__V1__ContainerConfig *cc = in->config;
    memset(c, 0, sizeof(*c));
    c->pod_id = str(in->pod_sandbox_id);
    c->name = str(cc->metadata->name);
    c->attempt = cc->metadata->attempt;
    c->image = cc->image != NULL ? str(cc->image->image) : "";
    c->user_specified_image = cc->image != NULL ? str(cc->image->user_specified_image) : "";
    c->command = strs(cc->command, cc->n_command);
    c->args = strs(cc->args, cc->n_args);
    c->working_dir = str(cc->working_dir);
    if (convert_envs(call, cc, c) < 0)
        return -1;
    KVS_FROM(call, c->labels, cc->labels, cc->n_labels, key, value);
    KVS_FROM(call, c->annotations, cc->annotations, cc->n_annotations, key, value);
    if (convert_mounts(call, cc, c) < 0)
        return -1;
    c->log_path = str(cc->log_path);
    c->stdin_open = cc->stdin;
    c->stdin_once = cc->stdin_once;
    c->tty = cc->tty;
    c->stop_signal = signal_name(cc->stop_signal);
    c->security.ns_pid = CK_NS_POD;
    c->security.run_as_username = "";
    c->security.ns_target_id = "";
    if (cc->linux != NULL && cc->linux->resources != NULL) {
        c->has_resources = true;
        if (ck_container_resources_from_pb(call, cc->linux->resources, &c->resources) < 0)
            return -1;
    }
    if (cc->linux != NULL && cc->linux->security_context != NULL) {
        const Runtime__V1__LinuxContainerSecurityContext *sc = cc->linux->security_context;
        convert_security(sc, &c->security);
        if (sc->namespace_options != NULL &&
            ck_cri_userns(call, sc->namespace_options->userns_options, &c->security.userns) < 0)
            return -1;
    }
    return 0;
}

int ck_handle_create_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err)
{
    const Runtime__V1__CreateContainerRequest *in = (const void *)req;
    if (in->pod_sandbox_id == NULL || in->pod_sandbox_id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "CreateContainer: pod_sandbox_id is required");
    if (in->config == NULL || in->config->metadata == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "CreateContainer: config.metadata is required");
    if (in->config->image == NULL || in->config->image->image == NULL || in->config->image->image[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "CreateContainer: config.image.image is required");
    if (check_envs(in->config, err) < 0)
        return -1;
    ck_container_config cfg;
    if (convert(call, in, &cfg) < 0)
        return ck_err_oom(err, "CreateContainer request");
    const Runtime__V1__LinuxContainerSecurityContext *sc =
        in->config->linux != NULL ? in->config->linux->security_context : NULL;
    if (ck_cri_container_seccomp(sc, &cfg.security.seccomp, err) < 0 ||
        ck_cri_container_apparmor(sc, &cfg.security.apparmor, err) < 0)
        return ck_err_wrap(err, "CreateContainer %s", cfg.name);
    cfg.security.selinux_labelled = ck_cri_container_selinux_labelled(sc);
    ck_call_set_object(call, "container %s in pod %.12s", cfg.name, cfg.pod_id);
    char id[65];
    ck_cancel cancel = ck_call_cancel(call);
    if (ck_container_create(call->svc->containers, &cfg, &cancel, id, err) < 0)
        return -1;
    Runtime__V1__CreateContainerResponse *r =
        CK_NEW(call, Runtime__V1__CreateContainerResponse, runtime__v1__create_container_response__init);
    if (r == NULL || (r->container_id = ck_call_strdup(call, id)) == NULL)
        return ck_err_oom(err, "CreateContainer response");
    *resp = &r->base;
    return 0;
}
