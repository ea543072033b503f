/*
 * container_fixture: what the suites that run containers share
 * (test_containers, test_container_stats, test_container_isolation).
 *
 * A suite has one daemon with pods on its own bridge, subnet and cgroup
 * parent (pod_fixture), the registry fixture's busybox pulled, and a log
 * directory for its pods. Container requests start from one base: a
 * container named after the test running `sh -c script` (or the image's
 * command) that logs to <name>.log in the pod's log directory. The calls a
 * test expects to succeed fail it, with the daemon's log, when they do not;
 * the *_code variants give the status to a test that checks it.
 */
#ifndef CK_CRITEST_CONTAINER_FIXTURE_H
#define CK_CRITEST_CONTAINER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"
#include "test/critest/pod_fixture.h"

typedef struct crit_ctr_suite {
    crit_daemon daemon;
    crit_client *client;
    crit_pod_net net;
    char cgroup_parent[64];
    char log_dir[256]; /* the pods' log directory */
    char image[256];   /* busybox from the registry fixture, pulled */
} crit_ctr_suite;

/* Starts the registry fixture and the suite's daemon (net tag and base as
 * crit_pod_net_init; extra_yaml appended to its config, may be NULL), pulls
 * busybox. 0, or -1 with the reason printed. */
int crit_ctr_suite_start(crit_ctr_suite *s, const char *tag, unsigned net_base, const char *extra_yaml);
/* PullImage of image (a reference), which must succeed. */
void crit_ctr_pull(crit_ctr_suite *s, const char *image);
/* Removes the pods a failed test left (their containers outlive the daemon
 * by design), stops the daemon, removes the host resources. 0 when the
 * daemon stopped cleanly. */
int crit_ctr_suite_stop(crit_ctr_suite *s);
/* After crit_daemon_kill: the daemon started again, a new client. */
void crit_ctr_suite_restart(crit_ctr_suite *s);

/* Seconds a test waits, scaled when the daemon runs under valgrind. */
double crit_ctr_seconds(double seconds);
double crit_ctr_now(void);

/* ---- pods ---- */

/* A pod named name with the suite's cgroup parent and log directory: its id
 * (free it). */
char *crit_ctr_run_pod(crit_ctr_suite *s, const char *name);
/* The same pod run by the runtime handler named handler. */
char *crit_ctr_run_pod_with_handler(crit_ctr_suite *s, const char *name, const char *handler);
/* A pod whose containers have their own PID namespaces (pid CONTAINER, as
 * the kubelet asks unless the pod shares one): it runs no pause. */
char *crit_ctr_run_pod_without_pause(crit_ctr_suite *s, const char *name, const char *hostname);
/* The same pod with a privileged security context (what a privileged
 * container needs). */
char *crit_ctr_run_privileged_pod(crit_ctr_suite *s, const char *name);
/* How many pods ListPodSandbox lists. */
size_t crit_ctr_pods_listed(crit_ctr_suite *s);
/* StopPodSandbox then RemovePodSandbox, which take its containers. */
void crit_ctr_cleanup_pod(crit_ctr_suite *s, const char *pod);

/* Once every pod is gone: what crit_pod_wait_nothing_left checks, and no
 * container directory (root or state), runtime state or monitor of the
 * suite's daemon left. Waits up to 30 s (a restarted daemon cleans up
 * after it answers), then fails naming what is left. */
void crit_ctr_wait_nothing_left(crit_ctr_suite *s);

/* How many processes (the daemon aside) have a command line naming
 * needle (a container id names its monitor); each is sent sig unless 0. */
size_t crit_ctr_processes_naming(const crit_ctr_suite *s, const char *needle, int sig);

/* ---- container requests ---- */

enum { CRIT_CTR_MAX_ENV = 4, CRIT_CTR_MAX_MOUNTS = 4 };

/* One CreateContainer request; the strings given must outlive its calls. */
typedef struct crit_ctr_request {
    Runtime__V1__CreateContainerRequest req;
    Runtime__V1__ContainerConfig config;
    Runtime__V1__ContainerMetadata metadata;
    Runtime__V1__ImageSpec image;
    Runtime__V1__LinuxContainerConfig linux_config;
    Runtime__V1__PodSandboxConfig pod_config;
    char *command[4];
    Runtime__V1__KeyValue env[CRIT_CTR_MAX_ENV];
    Runtime__V1__KeyValue *envs[CRIT_CTR_MAX_ENV];
    Runtime__V1__Mount mount[CRIT_CTR_MAX_MOUNTS];
    Runtime__V1__Mount *mounts[CRIT_CTR_MAX_MOUNTS];
    Runtime__V1__ContainerConfig__LabelsEntry label;
    Runtime__V1__ContainerConfig__LabelsEntry *labels[1];
    Runtime__V1__ContainerConfig__AnnotationsEntry annotation;
    Runtime__V1__ContainerConfig__AnnotationsEntry *annotations[1];
    char log_path[128];
} crit_ctr_request;

/* A container named name (attempt 2) of the suite's image in pod_id
 * running `sh -c script` (NULL: the image's command). */
Runtime__V1__CreateContainerRequest *crit_ctr_init(crit_ctr_request *c, const crit_ctr_suite *s, const char *pod_id,
                                                   const char *name, const char *script);
void crit_ctr_env(crit_ctr_request *c, const char *key, const char *value);
void crit_ctr_label(crit_ctr_request *c, const char *key, const char *value);
void crit_ctr_annotation(crit_ctr_request *c, const char *key, const char *value);
/* Adds a bind mount of host_path at container_path; the returned mount
 * takes further settings (propagation, readonly). */
Runtime__V1__Mount *crit_ctr_mount(crit_ctr_request *c, const char *host_path, const char *container_path,
                                   bool readonly);

/* ---- calls ---- */

/* CreateContainer: its status; id (65 bytes) and details (size) when not NULL. */
grpc_status_code crit_ctr_create_code(crit_ctr_suite *s, const Runtime__V1__CreateContainerRequest *req, char *id,
                                      char *details, size_t size);
/* CreateContainer that must succeed: the id (free it). */
char *crit_ctr_create(crit_ctr_suite *s, const Runtime__V1__CreateContainerRequest *req);
/* StartContainer, StopContainer, RemoveContainer, ReopenContainerLog by id.
 * With details NULL anything but OK fails the test. */
grpc_status_code crit_ctr_start_code(crit_ctr_suite *s, const char *id, char *details, size_t size);
grpc_status_code crit_ctr_stop_code(crit_ctr_suite *s, const char *id, int64_t timeout, char *details, size_t size);
grpc_status_code crit_ctr_remove_code(crit_ctr_suite *s, const char *id, char *details, size_t size);
grpc_status_code crit_ctr_reopen_code(crit_ctr_suite *s, const char *id, char *details, size_t size);
void crit_ctr_start(crit_ctr_suite *s, const char *id);
void crit_ctr_stop(crit_ctr_suite *s, const char *id, int64_t timeout);

/* ContainerStatus, which must answer; r holds it until crit_result_clear. */
Runtime__V1__ContainerStatus *crit_ctr_status(crit_ctr_suite *s, const char *id, bool verbose, crit_result *r);
int crit_ctr_state(crit_ctr_suite *s, const char *id);
/* Waits up to seconds (scaled) for the container to reach state want;
 * fails the test with the daemon's log when it does not. */
void crit_ctr_wait_state(crit_ctr_suite *s, const char *id, int want, double seconds);
/* Waits (up to seconds) until id exited, and checks its exit code and reason. */
void crit_ctr_wait_exit(crit_ctr_suite *s, const char *id, int32_t code, const char *reason, double seconds);
/* The pid of the container's init, from its verbose status. */
pid_t crit_ctr_pid(crit_ctr_suite *s, const char *id);

/* ExecSync of `sh -c script` (60 s), which must answer: the exit code;
 * stdout then stderr into out (size) when out is not NULL. */
int crit_ctr_exec_sh(crit_ctr_suite *s, const char *id, const char *script, char *out, size_t size);

Runtime__V1__ListContainersResponse *crit_ctr_list(crit_ctr_suite *s, const Runtime__V1__ContainerFilter *f,
                                                   crit_result *r);
bool crit_ctr_listed(const Runtime__V1__ListContainersResponse *l, const char *id);

/* ---- the CRI log ---- */

/* "<log_dir>/<name>.log" into buf: where crit_ctr_init's container logs. */
void crit_ctr_log_path(const crit_ctr_suite *s, const char *name, char *buf, size_t size);
/* True when the CRI log at path holds a record of stream with exactly text. */
bool crit_ctr_log_has(const char *path, const char *stream, const char *text);
/* Waits up to seconds (scaled) for that record; fails with the log's text. */
void crit_ctr_wait_log(const char *path, const char *stream, const char *text, double seconds);

/* ---- the host ---- */

/* A file's text (up to 1 MiB; "" when it cannot be read): free it. */
char *crit_ctr_read_file(const char *path);
/* A cgroup v1 controller's file of pid's cgroup, as text (free it). */
char *crit_ctr_cgroup_file(pid_t pid, const char *controller, const char *file);

#endif
