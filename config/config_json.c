/*
 * config_json: the effective configuration as a JSON object, for Status's
 * verbose info (crictl info prints it). Secrets (registry passwords, auth,
 * identity tokens) are never included: only whether they are set.
 */
#include <jansson.h>

#include "config/config.h"
#include "config/config_json.h"

static json_t *strv_json(const ck_strv *v)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < v->len; i++)
        json_array_append_new(arr, json_string(v->items[i]));
    return arr;
}

static json_t *runtimes_json(const ck_config *cfg)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj != NULL && i < cfg->n_runtimes; i++) {
        const ck_runtime_handler *h = &cfg->runtimes[i];
        json_t *r = json_pack("{s:s, s:s, s:s?, s:o, s:i}", "path", h->path, "type", h->type, "root", h->root,
                              "extra_args", strv_json(&h->extra_args), "create_timeout", (json_int_t)h->create_timeout);
        json_object_set_new(obj, h->name, r);
    }
    return obj;
}

static json_t *registries_json(const ck_config *cfg)
{
    json_t *hosts = json_object();
    for (size_t i = 0; hosts != NULL && i < cfg->registries.n_hosts; i++) {
        const ck_registry_host *h = &cfg->registries.hosts[i];
        bool has_auth = h->username != NULL || h->auth != NULL || h->identity_token != NULL;
        json_t *r = json_pack("{s:o, s:b, s:s?, s:b}", "mirrors", strv_json(&h->mirrors), "insecure", h->insecure,
                              "ca_file", h->ca_file, "auth_configured", has_auth);
        json_object_set_new(hosts, h->host, r);
    }
    return json_pack("{s:o, s:o}", "ca_dirs", strv_json(&cfg->registries.ca_dirs), "hosts", hosts);
}

json_t *ck_config_to_json(const ck_config *cfg)
{
    return json_pack(
        "{s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:o, s:{s:b, s:s, s:s}}, s:{s:s, s:i, s:b, s:s?, s:s?}, s:o, s:{s:s?, s:b}, "
        "s:{s:i, s:i, s:b}}",
        "config_file", cfg->source_path, "listen", cfg->listen, "root_dir", cfg->root_dir, "state_dir", cfg->state_dir,
        "log_level", ck_log_level_name(cfg->log_level), "cgroup_driver",
        cfg->cgroup_driver == CK_CGROUP_SYSTEMD ? "systemd" : "cgroupfs", "default_runtime", cfg->default_runtime,
        "runtimes", runtimes_json(cfg), "cni", "conf_dir", cfg->cni.conf_dir, "bin_dirs", strv_json(&cfg->cni.bin_dirs),
        "default_network", "install", cfg->cni.default_network.install, "bridge", cfg->cni.default_network.bridge,
        "subnet", cfg->cni.default_network.subnet, "streaming", "address", cfg->streaming.address, "port",
        (int)cfg->streaming.port, "tls", cfg->streaming.tls, "tls_cert_file", cfg->streaming.tls_cert_file,
        "tls_key_file", cfg->streaming.tls_key_file, "registries", registries_json(cfg), "pause", "image",
        cfg->pause.image, "pin_namespaces", cfg->pause.pin_namespaces, "images", "pull_progress_timeout",
        (int)cfg->images.pull_progress_timeout, "max_concurrent_downloads", (int)cfg->images.max_concurrent_downloads,
        "allow_device_nodes", cfg->images.allow_device_nodes);
}
