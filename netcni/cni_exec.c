/*
 * cni_exec: running CNI plugins as the spec says. Each plugin gets the
 * environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 * CNI_ARGS, CNI_PATH) and on stdin its own configuration with the network's
 * name and cniVersion, runtimeConfig for the capabilities it declares
 * (portMappings, bandwidth) and prevResult. A failing plugin prints an error
 * object {code, msg, details} on stdout: its msg becomes our message.
 */
#include "netcni/cni.h"
#include "netcni/cni_result.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/spawn.h"
#include "common/timeutil.h"

/* A plugin may wait for locks (iptables, host-local); beyond this it hangs. */
enum { CK_CNI_PLUGIN_TIMEOUT_MS = 120 * 1000 };

typedef enum cni_cmd { CNI_ADD, CNI_DEL, CNI_CHECK, CNI_STATUS } cni_cmd;

static const char *cmd_name(cni_cmd c)
{
    static const char *const names[] = {"ADD", "DEL", "CHECK", "STATUS"};
    return names[c];
}

/* A single-plugin .conf becomes a one-entry list. */
static json_t *as_conflist(json_t *conf)
{
    if (json_is_array(json_object_get(conf, "plugins")))
        return json_incref(conf);
    json_t *plugin = json_deep_copy(conf);
    json_object_del(plugin, "cniVersion");
    json_object_del(plugin, "name");
    json_t *list = json_pack("{s:O?, s:O, s:[o]}", "cniVersion", json_object_get(conf, "cniVersion"), "name",
                             json_object_get(conf, "name"), "plugins", plugin);
    if (json_object_get(list, "cniVersion") == NULL)
        json_object_set_new(list, "cniVersion", json_string("0.4.0"));
    return list;
}

static bool has_capability(json_t *plugin, const char *cap)
{
    return json_is_true(json_object_get(json_object_get(plugin, "capabilities"), cap));
}

static json_t *runtime_config(json_t *plugin, const ck_cni_pod *pod)
{
    json_t *rc = json_object();
    if (has_capability(plugin, "portMappings")) {
        json_t *pm = json_array();
        for (size_t i = 0; i < pod->n_ports; i++) {
            const ck_cni_port *p = &pod->ports[i];
            if (p->host_port <= 0)
                continue;
            json_t *e = json_pack("{s:i, s:i, s:s}", "hostPort", (int)p->host_port, "containerPort",
                                  (int)p->container_port, "protocol", p->protocol);
            if (p->host_ip != NULL && p->host_ip[0] != '\0')
                json_object_set_new(e, "hostIP", json_string(p->host_ip));
            json_array_append_new(pm, e);
        }
        json_object_set_new(rc, "portMappings", pm);
    }
    if (has_capability(plugin, "bandwidth") && (pod->ingress_bps > 0 || pod->egress_bps > 0)) {
        /* The kubelet's annotations give rates only; the burst is left
         * unbounded as the other runtimes do. */
        json_t *bw = json_object();
        if (pod->ingress_bps > 0) {
            json_object_set_new(bw, "ingressRate", json_integer((json_int_t)pod->ingress_bps));
            json_object_set_new(bw, "ingressBurst", json_integer(2147483647));
        }
        if (pod->egress_bps > 0) {
            json_object_set_new(bw, "egressRate", json_integer((json_int_t)pod->egress_bps));
            json_object_set_new(bw, "egressBurst", json_integer(2147483647));
        }
        json_object_set_new(rc, "bandwidth", bw);
    }
    return rc;
}

static char *plugin_input(json_t *list, json_t *plugin, const ck_cni_pod *pod, json_t *prev)
{
    json_t *in = json_deep_copy(plugin);
    json_object_set(in, "name", json_object_get(list, "name"));
    json_object_set(in, "cniVersion", json_object_get(list, "cniVersion"));
    json_t *rc = runtime_config(plugin, pod);
    if (json_object_size(rc) > 0)
        json_object_set_new(in, "runtimeConfig", rc);
    else
        json_decref(rc);
    if (prev != NULL)
        json_object_set(in, "prevResult", prev);
    char *text = json_dumps(in, JSON_COMPACT);
    json_decref(in);
    return text;
}

static int plugin_error(const char *type, cni_cmd cmd, const ck_spawn_result *res, ck_err *err)
{
    json_t *e = json_loads(res->out, 0, NULL);
    const char *msg = json_string_value(json_object_get(e, "msg"));
    const char *details = json_string_value(json_object_get(e, "details"));
    int code = (int)json_integer_value(json_object_get(e, "code"));
    if (msg != NULL)
        ck_err_set(err, CK_E_INTERNAL, 0, "CNI plugin %s %s failed (code %d): %s%s%s", type, cmd_name(cmd), code, msg,
                   details != NULL && details[0] ? ": " : "", details != NULL ? details : "");
    else
        ck_err_set(err, CK_E_INTERNAL, 0, "CNI plugin %s %s failed (exit %d): %s%s", type, cmd_name(cmd), res->status,
                   res->out, res->errout);
    json_decref(e);
    return -1;
}

/* cricket_cni_plugin_duration_seconds{plugin,command,result}: how long each
 * plugin invocation took and whether it succeeded. */
static void observe_plugin(const char *type, cni_cmd cmd, bool ok, const struct timespec *start)
{
    if (!ck_metrics_enabled())
        return;
    /* Looked up each time (defining returns the existing family): no cached
     * pointer to outlive a registry reset. */
    ck_metric *seconds = ck_metric_histogram(
        "cricket_cni_plugin_duration_seconds", "Time of one CNI plugin invocation, by plugin, command and result",
        "plugin,command,result", ck_metrics_latency_buckets, ck_metrics_latency_buckets_len);
    ck_metric_observe(seconds, ck_seconds_since(start),
                      (const char *const[]){type, cmd_name(cmd), ok ? "ok" : "error"});
}

/* Runs one plugin; *result gets its parsed stdout for ADD (NULL otherwise). */
static int run_plugin(ck_cni *cni, cni_cmd cmd, json_t *list, json_t *plugin, const ck_cni_pod *pod, json_t *prev,
                      json_t **result, ck_err *err)
{
    const char *type = json_string_value(json_object_get(plugin, "type"));
    char path[PATH_MAX];
    if (type == NULL || ck_cni_plugin_path(cni, type, path, sizeof(path)) < 0)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "CNI plugin %s not found in the configured bin_dirs",
                          type != NULL ? type : "(no type)");
    char e_cmd[32], e_id[160], e_netns[600], e_args[1200], e_path[2048], e_envpath[1024];
    snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", cmd_name(cmd));
    snprintf(e_id, sizeof(e_id), "CNI_CONTAINERID=%s", pod->id);
    snprintf(e_netns, sizeof(e_netns), "CNI_NETNS=%s", pod->netns != NULL ? pod->netns : "");
    snprintf(e_args, sizeof(e_args),
             "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s;"
             "K8S_POD_UID=%s",
             pod->ns, pod->name, pod->id, pod->uid);
    ck_cni_path_env(cni, e_path, sizeof(e_path));
    snprintf(e_envpath, sizeof(e_envpath), "PATH=%s",
             getenv("PATH") != NULL ? getenv("PATH") : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    const char *env[] = {e_cmd, e_id, e_netns, "CNI_IFNAME=eth0", e_args, e_path, e_envpath, NULL};
    const char *argv[] = {path, NULL};
    _cleanup_free_ char *input = plugin_input(list, plugin, pod, prev);
    if (input == NULL)
        return ck_err_oom(err, "CNI plugin input");
    ck_spawn_result res;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (ck_spawn(argv, env, input, CK_CNI_PLUGIN_TIMEOUT_MS, &res, err) < 0)
        return -1;
    observe_plugin(type, cmd, res.status == 0 && !res.timed_out, &start);
    int rc = 0;
    if (res.timed_out) {
        rc = ck_err_set(err, CK_E_DEADLINE, 0, "CNI plugin %s %s did not finish within %d s: killed", type,
                        cmd_name(cmd), CK_CNI_PLUGIN_TIMEOUT_MS / 1000);
    } else if (res.status != 0) {
        rc = plugin_error(type, cmd, &res, err);
    } else if (result != NULL) {
        if (ck_cni_result_parse(res.out, strlen(res.out), result, err) < 0)
            rc = ck_err_wrap(err, "CNI plugin %s %s", type, cmd_name(cmd));
    }
    ck_debug("cni", "%s %s for pod %s: exit %d", type, cmd_name(cmd), pod->id, res.status);
    ck_spawn_result_clear(&res);
    return rc;
}

static int run_del(ck_cni *cni, json_t *list, const ck_cni_pod *pod, json_t *result, ck_err *err)
{
    json_t *plugins = json_object_get(list, "plugins");
    int rc = 0;
    for (size_t i = json_array_size(plugins); i-- > 0;) {
        ck_err one;
        ck_err_clear(&one);
        if (run_plugin(cni, CNI_DEL, list, json_array_get(plugins, i), pod, result, NULL, &one) < 0 && rc == 0) {
            ck_err_copy(err, &one);
            rc = -1;
        }
    }
    return rc;
}

/* What runtimeConfig was built from, so DEL and CHECK pass the same (portmap
 * needs its mappings to remove its rules). */
static json_t *runtime_json(const ck_cni_pod *pod)
{
    json_t *ports = json_array();
    for (size_t i = 0; i < pod->n_ports; i++) {
        const ck_cni_port *p = &pod->ports[i];
        json_array_append_new(ports, json_pack("{s:i, s:i, s:s, s:s}", "host_port", (int)p->host_port, "container_port",
                                               (int)p->container_port, "protocol", p->protocol, "host_ip",
                                               p->host_ip != NULL ? p->host_ip : ""));
    }
    return json_pack("{s:o, s:I, s:I}", "ports", ports, "ingress_bps", (json_int_t)pod->ingress_bps, "egress_bps",
                     (json_int_t)pod->egress_bps);
}

int ck_cni_plan(ck_cni *cni, const ck_cni_pod *pod, char **plan_out, ck_err *err)
{
    *plan_out = NULL;
    ck_cni_status st;
    json_t *conf = NULL;
    ck_cni_config_load(cni, &st, &conf);
    if (!st.ready || conf == NULL)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "network not ready: %s", st.message);
    json_t *list = as_conflist(conf);
    json_decref(conf);
    json_t *plan = json_pack("{s:o, s:{}, s:o, s:s}", "config", list, "result", "runtime", runtime_json(pod), "file",
                             st.config_file);
    *plan_out = plan != NULL ? json_dumps(plan, JSON_COMPACT) : NULL;
    json_decref(plan);
    if (*plan_out == NULL)
        return ck_err_oom(err, "CNI plan");
    return 0;
}

int ck_cni_add(ck_cni *cni, const ck_cni_pod *pod, const char *plan_text, ck_cni_attachment *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *state = json_loads(plan_text, 0, &jerr);
    if (state == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "CNI plan is not JSON: %s", jerr.text);
    json_t *list = json_object_get(state, "config");
    json_t *plugins = json_object_get(list, "plugins");
    json_t *prev = NULL;
    int rc = 0;
    for (size_t i = 0; i < json_array_size(plugins) && rc == 0; i++) {
        json_t *result = NULL;
        rc = run_plugin(cni, CNI_ADD, list, json_array_get(plugins, i), pod, prev, &result, err);
        if (rc == 0) {
            json_decref(prev);
            prev = result;
        }
    }
    if (rc < 0) {
        ck_err ignored;
        ck_err_clear(&ignored);
        if (run_del(cni, list, pod, prev, &ignored) < 0)
            ck_warn("cni", "pod %s: DEL after a failed ADD: %s", pod->id, ignored.msg);
        json_decref(prev);
        ck_err_wrap(err, "network %s (%s)", json_string_value(json_object_get(list, "name")) ?: "?",
                    json_string_value(json_object_get(state, "file")) ?: "?");
        json_decref(state);
        return -1;
    }
    json_object_set_new(state, "result", prev != NULL ? prev : json_object());
    out->state = json_dumps(state, JSON_COMPACT);
    if (out->state != NULL)
        ck_cni_result_ips(json_object_get(state, "result"), out);
    json_decref(state);
    if (out->state == NULL)
        return ck_err_oom(err, "CNI state");
    return 0;
}

/* The bandwidth plugin without limits does nothing at ADD, so CHECK has
 * nothing to verify; and the plugins before v1.9.1 (Debian 12 ships 1.1.1)
 * crash on exactly that CHECK (containernetworking/plugins#1221). */
static bool check_skipped(json_t *plugin, const ck_cni_pod *pod)
{
    const char *type = json_string_value(json_object_get(plugin, "type"));
    return type != NULL && strcmp(type, "bandwidth") == 0 && pod->ingress_bps == 0 && pod->egress_bps == 0;
}

static int with_state(ck_cni *cni, const ck_cni_pod *pod, const char *state, cni_cmd cmd, ck_err *err)
{
    if (state == NULL || state[0] == '\0')
        return 0;
    json_error_t jerr;
    json_t *root = json_loads(state, 0, &jerr);
    if (root == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "saved CNI state of pod %s is not JSON: %s", pod->id, jerr.text);
    json_t *list = json_object_get(root, "config");
    json_t *result = json_object_get(root, "result");
    if (json_object_size(result) == 0)
        result = NULL; /* a plan whose ADD never finished: DEL without prevResult */
    json_t *runtime = json_object_get(root, "runtime");
    json_t *jports = json_object_get(runtime, "ports");
    ck_cni_port ports[64];
    ck_cni_pod saved = *pod;
    saved.n_ports = 0;
    saved.ports = ports;
    for (size_t i = 0; i < json_array_size(jports) && i < 64; i++) {
        json_t *p = json_array_get(jports, i);
        ports[saved.n_ports++] = (ck_cni_port){
            (int32_t)json_integer_value(json_object_get(p, "host_port")),
            (int32_t)json_integer_value(json_object_get(p, "container_port")),
            json_string_value(json_object_get(p, "protocol")) ?: "tcp",
            json_string_value(json_object_get(p, "host_ip")),
        };
    }
    saved.ingress_bps = (uint64_t)json_integer_value(json_object_get(runtime, "ingress_bps"));
    saved.egress_bps = (uint64_t)json_integer_value(json_object_get(runtime, "egress_bps"));
    pod = &saved;
    int rc;
    if (cmd == CNI_DEL) {
        rc = run_del(cni, list, pod, result, err);
    } else {
        rc = 0;
        json_t *plugins = json_object_get(list, "plugins");
        for (size_t i = 0; i < json_array_size(plugins) && rc == 0; i++)
            if (cmd != CNI_CHECK || !check_skipped(json_array_get(plugins, i), pod))
                rc = run_plugin(cni, cmd, list, json_array_get(plugins, i), pod, result, NULL, err);
    }
    json_decref(root);
    return rc;
}

int ck_cni_del(ck_cni *cni, const ck_cni_pod *pod, const char *state, ck_err *err)
{
    return with_state(cni, pod, state, CNI_DEL, err);
}

int ck_cni_check(ck_cni *cni, const ck_cni_pod *pod, const char *state, ck_err *err)
{
    return with_state(cni, pod, state, CNI_CHECK, err);
}

static bool version_at_least_1_1(const char *v)
{
    /* "MAJOR.MINOR[.PATCH]": only the first two numbers matter. */
    if (v == NULL)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long major = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '.' || !isdigit((unsigned char)*v))
        return false;
    const char *m = end + 1;
    unsigned long minor = strtoul(m, &end, 10);
    if (errno != 0 || end == m || !isdigit((unsigned char)*m) || (*end != '.' && *end != '\0'))
        return false;
    return major > 1 || (major == 1 && minor >= 1);
}

int ck_cni_plugins_status(ck_cni *cni, ck_err *err)
{
    ck_cni_status st;
    json_t *conf = NULL;
    ck_cni_config_load(cni, &st, &conf);
    if (!st.ready || conf == NULL)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "%s", st.message);
    json_t *list = as_conflist(conf);
    json_decref(conf);
    int rc = 0;
    if (version_at_least_1_1(json_string_value(json_object_get(list, "cniVersion")))) {
        ck_cni_pod none = {.id = "", .name = "", .ns = "", .uid = "", .netns = ""};
        json_t *plugins = json_object_get(list, "plugins");
        for (size_t i = 0; i < json_array_size(plugins) && rc == 0; i++)
            rc = run_plugin(cni, CNI_STATUS, list, json_array_get(plugins, i), &none, NULL, NULL, err);
    }
    json_decref(list);
    return rc;
}

void ck_cni_attachment_ips(const char *state, ck_cni_attachment *out)
{
    out->n_ips = 0;
    json_t *root = state != NULL ? json_loads(state, 0, NULL) : NULL;
    if (root != NULL)
        ck_cni_result_ips(json_object_get(root, "result"), out);
    json_decref(root);
}

void ck_cni_attachment_clear(ck_cni_attachment *a)
{
    free(a->state);
    memset(a, 0, sizeof(*a));
}

int64_t ck_cni_parse_bandwidth(const char *q)
{
    if (q == NULL || *q < '0' || *q > '9')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(q, &end);
    if (errno != 0 || v < 0)
        return -1;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},           {"k", 1e3},           {"M", 1e6},
                 {"G", 1e9},        {"T", 1e12},          {"Ki", 1024.0},
                 {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].suffix) == 0) {
            double r = v * units[i].mult;
            return r > 9.2e18 ? -1 : (int64_t)r;
        }
    return -1;
}

static bool dir_has_config(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        found =
            dot != NULL && (strcmp(dot, ".conf") == 0 || strcmp(dot, ".conflist") == 0 || strcmp(dot, ".json") == 0);
    }
    closedir(d);
    return found;
}

/* host-local's ranges and routes for "cidr" or a dual-stack "v4,v6": one
 * range set per family (each pod gets an address of each) and a default
 * route for each. */
static int ipam_ranges(const char *subnets, json_t **ranges, json_t **routes)
{
    *ranges = json_array();
    *routes = json_array();
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", subnets);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
        bool v6 = strchr(s, ':') != NULL;
        json_array_append_new(*ranges, json_pack("[{s:s}]", "subnet", s));
        json_array_append_new(*routes, json_pack("{s:s}", "dst", v6 ? "::/0" : "0.0.0.0/0"));
    }
    return *ranges != NULL && *routes != NULL && json_array_size(*ranges) > 0 ? 0 : -1;
}

int ck_cni_install_default(ck_cni *cni, const char *bridge, const char *subnet, const char *ipam_dir, ck_err *err)
{
    const char *dir = ck_cni_conf_dir(cni);
    if (dir_has_config(dir))
        return 0;
    json_t *ranges = NULL, *routes = NULL;
    if (ipam_ranges(subnet, &ranges, &routes) < 0) {
        json_decref(ranges);
        json_decref(routes);
        return ck_err_set(err, CK_E_INVALID, 0, "default network subnet \"%s\" has no range", subnet);
    }
    json_t *conf = json_pack("{s:s, s:s, s:[{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:o, s:o, s:s}}, {s:s, s:{s:b}},"
                             " {s:s, s:{s:b}}]}",
                             "cniVersion", "1.0.0", "name", "cricket", "plugins", "type", "bridge", "bridge", bridge,
                             "isGateway", 1, "ipMasq", 1, "hairpinMode", 1, "ipam", "type", "host-local", "ranges",
                             ranges, "routes", routes, "dataDir", ipam_dir, "type", "portmap", "capabilities",
                             "portMappings", 1, "type", "bandwidth", "capabilities", "bandwidth", 1);
    if (conf == NULL)
        return ck_err_oom(err, "default CNI config");
    char *text = json_dumps(conf, JSON_INDENT(2));
    json_decref(conf);
    if (text == NULL)
        return ck_err_oom(err, "default CNI config");
    if (ck_mkdir_p(dir, 0755, err) < 0) {
        free(text);
        return ck_err_wrap(err, "default CNI config");
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/10-cricket.conflist", dir);
    int rc = ck_write_file_atomic(path, text, strlen(text), 0644, err);
    free(text);
    if (rc < 0)
        return -1;
    ck_cni_set_default_written(cni, path);
    ck_info("cni", "%s had no network configuration: wrote %s (bridge %s, subnet %s)", dir, path, bridge, subnet);
    return 1;
}
