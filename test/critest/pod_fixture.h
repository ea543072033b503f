/*
 * pod_fixture: what the suites whose daemon runs pods share (test_pods,
 * test_pause_image, test_metrics_pods).
 *
 * A suite's pods use host resources of their own, named after the suite and
 * its pid, so that a suite never touches a host bridge such as cni0 and
 * never meets another suite running beside it: a bridge and subnet for the
 * daemon's default network, and a cgroup parent. Every RunPodSandbox request
 * starts from the same base, to which a suite adds what its pods need. The
 * pod calls a test expects to succeed fail it, with the status and the log
 * of the daemon that refused, when they do not.
 */
#ifndef CK_CRITEST_POD_FIXTURE_H
#define CK_CRITEST_POD_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"

/* ---- host resources ---- */

typedef struct crit_pod_net {
    char bridge[16];
    char subnet[32];
    char prefix[16]; /* "10.x.y.": how every pod address in subnet starts */
} crit_pod_net;

/* The bridge <tag><pid % 100000> and the subnet
 * 10.<base + pid / 250 % 50>.<pid % 250>.0/24: each suite has its own tag and
 * range of second octets, each run its pid. */
void crit_pod_net_init(crit_pod_net *net, const char *tag, unsigned base);
/* Deletes the bridge, which the daemon leaves behind when it stops. */
void crit_pod_net_remove(const crit_pod_net *net);

/* "/<tag>-<pid>" into buf: the cgroup parent of this run's pods. */
void crit_pod_cgroup_parent(char *buf, size_t size, const char *tag);
/* Removes that cgroup parent in every hierarchy, once its pods are gone. */
void crit_pod_cgroup_parent_remove(const char *parent);

/* ---- requests ---- */

typedef struct crit_pod_request {
    Runtime__V1__RunPodSandboxRequest req;
    Runtime__V1__PodSandboxConfig config;
    Runtime__V1__PodSandboxMetadata metadata;
    Runtime__V1__LinuxPodSandboxConfig linux_config;
    char uid[64];
} crit_pod_request;

/* A RunPodSandbox request with what every test pod has: name, namespace
 * critest, uid "uid-<name>", logs in /tmp and cgroup_parent. It points into
 * p and at name and cgroup_parent, which must outlive it. */
Runtime__V1__RunPodSandboxRequest *crit_pod_request_init(crit_pod_request *p, const char *name,
                                                         const char *cgroup_parent);

/* ---- calls that must succeed ----
 * c is the client, d the daemon it talks to, whose log is printed when a
 * call fails. */

/* Calls method (60 s); anything but OK fails the test. Returns the
 * response, which r holds until crit_result_clear. */
void *crit_call_ok(crit_client *c, const crit_daemon *d, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *desc, crit_result *r);
/* RunPodSandbox: the pod's id, 64 hex digits (free it). */
char *crit_pod_run(crit_client *c, const crit_daemon *d, const Runtime__V1__RunPodSandboxRequest *req);
/* RunPodSandbox that may be refused: its status; when OK the pod's id into
 * *id (free it), and the status's details into details, each unless NULL. */
grpc_status_code crit_pod_run_status(crit_client *c, const Runtime__V1__RunPodSandboxRequest *req, char **id,
                                     char *details, size_t size);
void crit_pod_stop(crit_client *c, const crit_daemon *d, const char *id);
void crit_pod_remove(crit_client *c, const crit_daemon *d, const char *id);
/* Verbose PodSandboxStatus, which r holds until crit_result_clear. When
 * record is not NULL, *record gets the pod's record from its one info entry
 * (json_decref it). */
Runtime__V1__PodSandboxStatusResponse *crit_pod_status(crit_client *c, const crit_daemon *d, const char *id,
                                                       crit_result *r, json_t **record);
/* The pid of the pod's pause process, from its record. */
pid_t crit_pod_pause_pid(crit_client *c, const crit_daemon *d, const char *id);

/* ---- the host ---- */

/* Writes text to path (a test file: conflists, fail switches). */
void crit_write_text(const char *path, const char *text);
/* Mounts whose mount point is below dir, from /proc/self/mountinfo. */
size_t crit_mounts_under(const char *dir);
/* The pod IPs starting with prefix that d's default network has handed
 * out (host-local keeps one file per address, named by it). */
size_t crit_pod_allocated_ips(const crit_daemon *d, const char *prefix);
/* Interfaces (pod veths) attached to net's bridge. */
size_t crit_pod_veths(const crit_pod_net *net);
/* The bridge plugin's masquerade rules (ipMasq) for pods of net: a rule in
 * the NAT table's POSTROUTING per pod address, left behind when a DEL did
 * not know the pod's addresses. */
size_t crit_pod_masquerade_rules(const crit_pod_net *net);
/* Nothing of any pod of d is left: no netns, IP, mount, veth, masquerade
 * rule, pod directory or pause cgroup under cgroup_parent. */
void crit_pod_assert_nothing_left(const crit_daemon *d, const crit_pod_net *net, const char *cgroup_parent);
/* The same, after waiting up to 30 s for it: a restarted daemon cleans up
 * what a killed one left on a thread of its own, after it answers. */
void crit_pod_wait_nothing_left(const crit_daemon *d, const crit_pod_net *net, const char *cgroup_parent);
/* Waits up to 30 s for the pod's verbose record to have no CNI attachment
 * (its network torn down, by recovery or a stop). */
void crit_pod_wait_network_gone(crit_client *c, const crit_daemon *d, const char *id);
/* Writes at path (in d's conf dir, named to sort before the default
 * network, so the daemon takes it) the default network's bridge and
 * host-local IPAM, under the same name "cricket" so leases stay where
 * crit_pod_allocated_ips counts them, followed by then_plugin (a JSON object). */
void crit_pod_write_bridge_conflist(const crit_daemon *d, const crit_pod_net *net, const char *path,
                                    const char *then_plugin);

/* Entries of the directory, dot files aside; 0 when it does not exist. */
size_t crit_dir_entries(const char *path);
/* Runs a shell command whose outcome the test does not check: set-up and
 * clean-up of host state. */
void crit_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
