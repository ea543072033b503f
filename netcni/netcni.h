/*
 * netcni: the node's CNI setup as the runtime sees it: which network
 * configuration the pods will use (the first loadable file of conf_dir, by
 * name, as the kubelet's other runtimes choose it), whether its plugins are
 * installed, and the pod CIDR the kubelet hands down with
 * UpdateRuntimeConfig; and the plugin invocations of a pod's network
 * (ADD, CHECK, DEL, STATUS) per the CNI spec 1.0/1.1.
 */
#ifndef CK_NETCNI_NETCNI_H
#define CK_NETCNI_NETCNI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct ck_cni ck_cni;

typedef struct ck_cni_status {
    bool ready;
    char reason[64]; /* CamelCase, as the kubelet shows it: "NetworkPluginNotReady" */
    char message[768];
    char config_file[512]; /* the file chosen, "" when none */
    char network[256];     /* its network name */
} ck_cni_status;

int ck_cni_new(const char *conf_dir, const char *const *bin_dirs, size_t n_bin_dirs, ck_cni **out, ck_err *err);
void ck_cni_free(ck_cni *cni);

/* Rescans conf_dir and reports whether pods can get a network. */
void ck_cni_status_get(ck_cni *cni, ck_cni_status *st);

/* As ck_cni_status_get; when the node is ready and conf_out is not NULL,
 * *conf_out gets the chosen file's parsed JSON (json_t *, decref it). */
void ck_cni_config_load(ck_cni *cni, ck_cni_status *st, void *conf_out);
/* Reads one configuration file's contents (len bytes) as the rescan does:
 * true when it is usable (st names its network), false with st->message
 * saying why not. file is only used in messages. The fuzz target feeds this. */
bool ck_cni_config_usable(const ck_cni *cni, const char *file, const char *text, size_t len, ck_cni_status *st);

/* Sets the pod CIDR(s): "10.88.0.0/16" or a comma-separated dual-stack pair.
 * An empty string keeps the current value, as the kubelet may send one
 * before the node has a CIDR. */
int ck_cni_set_pod_cidr(ck_cni *cni, const char *cidrs, ck_err *err);
/* Copies the current pod CIDR ("" if none) into buf. */
void ck_cni_pod_cidr(ck_cni *cni, char *buf, size_t size);

/* The executable of plugin `type` in bin_dirs (0), or -1 when none. */
int ck_cni_plugin_path(const ck_cni *cni, const char *type, char *buf, size_t size);
/* "CNI_PATH=<bin_dirs joined by :>". */
void ck_cni_path_env(const ck_cni *cni, char *buf, size_t size);
const char *ck_cni_conf_dir(const ck_cni *cni);

/* Validates one "address/prefix" (IPv4 or IPv6). */
bool ck_cidr_valid(const char *cidr);

#endif
