/*
 * cni: a pod's network through CNI plugins (spec 1.0, STATUS from 1.1).
 *
 * A plan fixes the network first (saved by the caller before anything
 * runs); ADD then runs its plugins in order (each gets the previous
 * one's result as prevResult) and returns an attachment: the exact network
 * configuration used plus the final result, as JSON the sandbox keeps in its
 * record. DEL and CHECK use that saved configuration, not whatever conf_dir
 * holds later, so a pod is always torn down with the config it was set up
 * with. A failed ADD runs DEL for the whole chain before it returns, so it
 * leaves no veth, IP or iptables rule behind.
 */
#ifndef CK_NETCNI_CNI_H
#define CK_NETCNI_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "netcni/netcni.h"

typedef struct ck_cni_port {
    int32_t host_port;
    int32_t container_port;
    const char *protocol; /* "tcp", "udp", "sctp" */
    const char *host_ip;  /* may be NULL or "" */
} ck_cni_port;

typedef struct ck_cni_pod {
    const char *id; /* the sandbox id: CNI_CONTAINERID, K8S_POD_INFRA_CONTAINER_ID */
    const char *name;
    const char *ns;
    const char *uid;
    const char *netns; /* path of the pinned namespace */
    const ck_cni_port *ports;
    size_t n_ports;
    /* bits per second, 0 = unlimited (from kubernetes.io/{ingress,egress}-bandwidth) */
    uint64_t ingress_bps;
    uint64_t egress_bps;
} ck_cni_pod;

enum { CK_CNI_MAX_IPS = 4 };

typedef struct ck_cni_attachment {
    char *state;                  /* JSON {"config":..., "result":...}: keep it for DEL (free) */
    char ips[CK_CNI_MAX_IPS][64]; /* IPv4 first, then IPv6, without prefix */
    size_t n_ips;
} ck_cni_attachment;

/* Chooses the network for a pod (conf_dir's first usable file) and returns
 * the plan: the state DEL needs, before ADD runs. Keep it first, so a crash
 * during ADD still leaves enough to undo it. */
int ck_cni_plan(ck_cni *cni, const ck_cni_pod *pod, char **plan, ck_err *err);
/* ADD along the plan. */
int ck_cni_add(ck_cni *cni, const ck_cni_pod *pod, const char *plan, ck_cni_attachment *out, ck_err *err);
/* DEL with the saved state (NULL state: nothing was attached, 0). */
int ck_cni_del(ck_cni *cni, const ck_cni_pod *pod, const char *state, ck_err *err);
int ck_cni_check(ck_cni *cni, const ck_cni_pod *pod, const char *state, ck_err *err);
/* STATUS of the current network's plugins (cniVersion 1.1.0 or newer;
 * older configurations have no STATUS and count as ready). */
int ck_cni_plugins_status(ck_cni *cni, ck_err *err);
/* The IPs in a saved state. */
void ck_cni_attachment_ips(const char *state, ck_cni_attachment *out);
void ck_cni_attachment_clear(ck_cni_attachment *a);

/* A parsed quantity ("10M", "1Gi", "500k") in bits per second; -1 if bad. */
int64_t ck_cni_parse_bandwidth(const char *quantity);

/* Writes <conf_dir>/10-cricket.conflist (bridge + host-local + portmap +
 * bandwidth) when conf_dir holds no configuration file; subnet is one CIDR
 * or "v4cidr,v6cidr" (dual stack: each pod gets one address of each).
 * Returns 1 when it wrote one, 0 when conf_dir already had one. */
int ck_cni_install_default(ck_cni *cni, const char *bridge, const char *subnet, const char *ipam_dir, ck_err *err);

#endif
