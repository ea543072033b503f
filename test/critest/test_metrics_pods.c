/*
 * Metrics of the domains, end to end: a daemon with metrics.address set runs
 * a real pod (cricket-pause, runc, CNI bridge on a bridge and subnet of this
 * test's own), and a scrape of /metrics shows the pod as ready and the CNI
 * plugin calls with their latency; after the pod is removed it is gone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"

/* GET /metrics over a plain TCP socket on loopback; returns the body (malloc'd). */
static char *scrape(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    const char *req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - len - 1)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    assert_non_null(strstr(buf, "200 OK"));
    return buf;
}

/* A port nobody listens on now, from the ephemeral range the kernel picks. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd);
    return ntohs(addr.sin_port);
}

static void call_ok(crit_client *c, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *desc, crit_result *r)
{
    grpc_status_code code = crit_call(c, method, req, desc, 60000, r);
    if (code != GRPC_STATUS_OK)
        fprintf(stderr, "%s: %d %s\n", method, code, r->details);
    assert_int_equal(code, GRPC_STATUS_OK);
}

static void test_pod_and_cni_metrics(void **state)
{
    (void)state;
    unsigned n = (unsigned)getpid();
    char bridge[16], subnet[32], extra[128];
    snprintf(bridge, sizeof(bridge), "ckm%u", n % 100000);
    snprintf(subnet, sizeof(subnet), "10.%u.%u.0/24", 150 + (n / 250) % 50, n % 250);
    int port = free_port();
    snprintf(extra, sizeof(extra), "metrics:\n  address: 127.0.0.1:%d\n", port);
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare_pods(&d, bridge, subnet, extra), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);

    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = "metrics-pod";
    md.namespace_ = "critest";
    md.uid = "uid-metrics-pod";
    Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    cfg.metadata = &md;
    char parent[64];
    snprintf(parent, sizeof(parent), "/critest-metrics-%u", n);
    Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
    lx.cgroup_parent = parent;
    cfg.linux = &lx;
    Runtime__V1__RunPodSandboxRequest run = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    run.config = &cfg;
    crit_result r;
    call_ok(c, RUNTIME("RunPodSandbox"), &run.base, &runtime__v1__run_pod_sandbox_response__descriptor, &r);
    char *id = strdup(((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
    crit_result_clear(&r);

    char *text = scrape(port);
    assert_non_null(strstr(text, "cricket_pods{state=\"ready\"} 1\n"));
    assert_non_null(strstr(text, "cricket_cni_plugin_duration_seconds_count{plugin=\"bridge\",command=\"ADD\","
                                 "result=\"ok\"} 1\n"));
    assert_non_null(strstr(text, "cricket_grpc_requests_total{method=\"RunPodSandbox\",code=\"OK\"} 1\n"));
    free(text);

    Runtime__V1__StopPodSandboxRequest stop = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    stop.pod_sandbox_id = id;
    call_ok(c, RUNTIME("StopPodSandbox"), &stop.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &r);
    crit_result_clear(&r);
    Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    rm.pod_sandbox_id = id;
    call_ok(c, RUNTIME("RemovePodSandbox"), &rm.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &r);
    crit_result_clear(&r);

    text = scrape(port);
    assert_non_null(strstr(text, "cricket_pods{state=\"ready\"} 0\n"));
    assert_non_null(strstr(text, "command=\"DEL\",result=\"ok\"}"));
    free(text);
    free(id);
    assert_int_equal(crit_daemon_teardown(&d, c, 20000), 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null; rmdir /sys/fs/cgroup/*%s 2>/dev/null", bridge, parent);
    if (system(cmd) < 0)
        perror("cleanup");
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_and_cni_metrics),
    };
    int failed = cmocka_run_group_tests_name("critest_metrics_pods", tests, NULL, NULL);
    grpc_shutdown();
    return failed;
}
