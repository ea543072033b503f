/*
 * netcni: configuration discovery and the pod CIDR.
 *
 * A network configuration is loadable when it is JSON with a "name", and
 * either a "type" (a single-plugin .conf/.json) or a non-empty "plugins" list
 * whose entries each have a "type" (a .conflist). The node is network-ready
 * when such a file exists and every plugin type it names is an executable in
 * one of bin_dirs: a config whose plugin is missing would fail every pod.
 */
#include "netcni/netcni.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"

struct ck_cni {
    char *conf_dir;
    char **bin_dirs;
    size_t n_bin_dirs;
    pthread_mutex_t mu;
    char pod_cidr[256];
};

int ck_cni_new(const char *conf_dir, const char *const *bin_dirs, size_t n_bin_dirs, ck_cni **out, ck_err *err)
{
    ck_cni *cni = calloc(1, sizeof(*cni));
    if (cni == NULL)
        return ck_err_oom(err, "cni");
    pthread_mutex_init(&cni->mu, NULL);
    cni->conf_dir = strdup(conf_dir);
    cni->bin_dirs = calloc(n_bin_dirs + 1, sizeof(char *));
    if (cni->conf_dir == NULL || cni->bin_dirs == NULL) {
        ck_cni_free(cni);
        return ck_err_oom(err, "cni");
    }
    for (size_t i = 0; i < n_bin_dirs; i++) {
        cni->bin_dirs[i] = strdup(bin_dirs[i]);
        if (cni->bin_dirs[i] == NULL) {
            ck_cni_free(cni);
            return ck_err_oom(err, "cni bin dir");
        }
        cni->n_bin_dirs++;
    }
    *out = cni;
    return 0;
}

void ck_cni_free(ck_cni *cni)
{
    if (cni == NULL)
        return;
    for (size_t i = 0; cni->bin_dirs != NULL && i < cni->n_bin_dirs; i++)
        free(cni->bin_dirs[i]);
    free(cni->bin_dirs);
    free(cni->conf_dir);
    pthread_mutex_destroy(&cni->mu);
    free(cni);
}

static bool has_config_suffix(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && (strcmp(dot, ".conf") == 0 || strcmp(dot, ".conflist") == 0 || strcmp(dot, ".json") == 0);
}

static bool plugin_installed(const ck_cni *cni, const char *type)
{
    if (strchr(type, '/') != NULL || type[0] == '.' || type[0] == '\0')
        return false;
    for (size_t i = 0; i < cni->n_bin_dirs; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", cni->bin_dirs[i], type);
        if (access(path, X_OK) == 0)
            return true;
    }
    return false;
}

/* Checks one plugin entry; returns false with a message when unusable. */
static bool check_plugin(const ck_cni *cni, json_t *plugin, const char *file, ck_cni_status *st)
{
    const char *type = json_string_value(json_object_get(plugin, "type"));
    if (type == NULL) {
        snprintf(st->message, sizeof(st->message), "%s: a plugin has no \"type\"", file);
        return false;
    }
    if (!plugin_installed(cni, type)) {
        snprintf(st->message, sizeof(st->message), "%s: CNI plugin %s not found in the configured bin_dirs", file,
                 type);
        return false;
    }
    return true;
}

/* Checks one parsed candidate; true when it is usable, with st describing it. */
static bool check_candidate(const ck_cni *cni, json_t *root, const char *file, ck_cni_status *st, json_t **keep)
{
    bool ok = false;
    const char *name = json_string_value(json_object_get(root, "name"));
    json_t *plugins = json_object_get(root, "plugins");
    if (name == NULL || name[0] == '\0') {
        snprintf(st->message, sizeof(st->message), "%s: no network \"name\"", file);
    } else if (json_is_array(plugins)) {
        ok = json_array_size(plugins) > 0;
        if (!ok)
            snprintf(st->message, sizeof(st->message), "%s: \"plugins\" is empty", file);
        size_t i;
        json_t *p;
        json_array_foreach(plugins, i, p)
        {
            if (ok && !check_plugin(cni, p, file, st))
                ok = false;
        }
    } else {
        ok = check_plugin(cni, root, file, st);
    }
    if (ok) {
        snprintf(st->config_file, sizeof(st->config_file), "%s", file);
        snprintf(st->network, sizeof(st->network), "%s", name);
        if (keep != NULL)
            *keep = json_incref(root);
    }
    return ok;
}

static bool parse_failed(json_t *root, const json_error_t *jerr, const char *file, ck_cni_status *st)
{
    if (root != NULL)
        return false;
    snprintf(st->message, sizeof(st->message), "%s:%d: %s", file, jerr->line, jerr->text);
    return true;
}

/* Loads one candidate file; true when it is usable, with st describing it
 * (and *keep, when not NULL, holding its parsed JSON). */
static bool load_candidate(const ck_cni *cni, const char *file, ck_cni_status *st, json_t **keep)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (parse_failed(root, &jerr, file, st))
        return false;
    bool ok = check_candidate(cni, root, file, st, keep);
    json_decref(root);
    return ok;
}

bool ck_cni_config_usable(const ck_cni *cni, const char *file, const char *text, size_t len, ck_cni_status *st)
{
    memset(st, 0, sizeof(*st));
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (parse_failed(root, &jerr, file, st))
        return false;
    bool ok = check_candidate(cni, root, file, st, NULL);
    json_decref(root);
    return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

void ck_cni_status_get(ck_cni *cni, ck_cni_status *st)
{
    ck_cni_config_load(cni, st, NULL);
}

void ck_cni_config_load(ck_cni *cni, ck_cni_status *st, void *conf_out_v)
{
    json_t **conf_out = conf_out_v;
    memset(st, 0, sizeof(*st));
    snprintf(st->reason, sizeof(st->reason), "NetworkPluginNotReady");
    struct dirent **entries = NULL;
    int n = scandir(cni->conf_dir, &entries, NULL, by_name);
    if (n < 0) {
        snprintf(st->message, sizeof(st->message), "no CNI configuration: cannot read %s: %s", cni->conf_dir,
                 strerror(errno));
        return;
    }
    /* Every rejected file's problem, in order: the operator sees them all. */
    char problems[sizeof(st->message)] = "";
    size_t used = 0;
    for (int i = 0; i < n && !st->ready; i++) {
        if (has_config_suffix(entries[i]->d_name)) {
            char file[PATH_MAX];
            snprintf(file, sizeof(file), "%s/%s", cni->conf_dir, entries[i]->d_name);
            st->ready = load_candidate(cni, file, st, conf_out);
            if (!st->ready && used < sizeof(problems) - 1) {
                int w = snprintf(problems + used, sizeof(problems) - used, "%s%s", used > 0 ? "; " : "", st->message);
                used += w > 0 ? (size_t)w : 0;
            }
        }
    }
    for (int i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
    if (st->ready) {
        st->reason[0] = '\0';
        st->message[0] = '\0';
    } else if (problems[0] != '\0') {
        snprintf(st->message, sizeof(st->message), "no usable CNI configuration in %s: %s", cni->conf_dir, problems);
    } else {
        snprintf(st->message, sizeof(st->message), "no CNI configuration file in %s", cni->conf_dir);
    }
}

bool ck_cidr_valid(const char *cidr)
{
    const char *slash = strchr(cidr, '/');
    if (slash == NULL || slash == cidr || (size_t)(slash - cidr) >= INET6_ADDRSTRLEN)
        return false;
    char addr[INET6_ADDRSTRLEN];
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = '\0';
    unsigned char buf[16];
    int max;
    if (inet_pton(AF_INET, addr, buf) == 1)
        max = 32;
    else if (inet_pton(AF_INET6, addr, buf) == 1)
        max = 128;
    else
        return false;
    const char *p = slash + 1;
    if (*p == '\0' || strlen(p) > 3)
        return false;
    int prefix = 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        prefix = prefix * 10 + (*p - '0');
    }
    return prefix <= max;
}

int ck_cni_set_pod_cidr(ck_cni *cni, const char *cidrs, ck_err *err)
{
    if (cidrs == NULL || cidrs[0] == '\0')
        return 0;
    if (strlen(cidrs) >= sizeof(cni->pod_cidr))
        return ck_err_set(err, CK_E_INVALID, 0, "pod CIDR \"%.64s...\" is too long", cidrs);
    char copy[sizeof(cni->pod_cidr)];
    snprintf(copy, sizeof(copy), "%s", cidrs);
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (!ck_cidr_valid(tok))
            return ck_err_set(err, CK_E_INVALID, 0, "pod CIDR \"%s\": \"%s\" is not an address/prefix", cidrs, tok);
        count++;
    }
    if (count == 0 || count > 2)
        return ck_err_set(err, CK_E_INVALID, 0, "pod CIDR \"%s\": expected one CIDR or a dual-stack pair", cidrs);
    pthread_mutex_lock(&cni->mu);
    snprintf(cni->pod_cidr, sizeof(cni->pod_cidr), "%s", cidrs);
    pthread_mutex_unlock(&cni->mu);
    return 0;
}

void ck_cni_pod_cidr(ck_cni *cni, char *buf, size_t size)
{
    pthread_mutex_lock(&cni->mu);
    snprintf(buf, size, "%s", cni->pod_cidr);
    pthread_mutex_unlock(&cni->mu);
}

int ck_cni_plugin_path(const ck_cni *cni, const char *type, char *buf, size_t size)
{
    if (strchr(type, '/') != NULL || type[0] == '.' || type[0] == '\0')
        return -1;
    for (size_t i = 0; i < cni->n_bin_dirs; i++) {
        snprintf(buf, size, "%s/%s", cni->bin_dirs[i], type);
        if (access(buf, X_OK) == 0)
            return 0;
    }
    return -1;
}

void ck_cni_path_env(const ck_cni *cni, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "CNI_PATH=");
    for (size_t i = 0; i < cni->n_bin_dirs && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i > 0 ? ":" : "", cni->bin_dirs[i]);
}

const char *ck_cni_conf_dir(const ck_cni *cni)
{
    return cni->conf_dir;
}
