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
#include "test/critest/pod_fixture.h"

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

static void test_pod_and_cni_metrics(void **state)
{
    (void)state;
    crit_pod_net net;
    crit_pod_net_init(&net, "ckm", 150);
    char parent[64], extra[128];
    crit_pod_cgroup_parent(parent, sizeof(parent), "critest-metrics");
    int port = free_port();
    snprintf(extra, sizeof(extra), "metrics:\n  address: 127.0.0.1:%d\n", port);
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare_pods(&d, net.bridge, net.subnet, extra), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);

    crit_pod_request pod;
    char *id = crit_pod_run(c, &d, crit_pod_request_init(&pod, "metrics-pod", parent));

    char *text = scrape(port);
    assert_non_null(strstr(text, "cricket_pods{state=\"ready\"} 1\n"));
    assert_non_null(strstr(text, "cricket_cni_plugin_duration_seconds_count{plugin=\"bridge\",command=\"ADD\","
                                 "result=\"ok\"} 1\n"));
    assert_non_null(strstr(text, "cricket_grpc_requests_total{method=\"RunPodSandbox\",code=\"OK\"} 1\n"));
    free(text);

    crit_pod_stop(c, &d, id);
    crit_pod_remove(c, &d, id);

    text = scrape(port);
    assert_non_null(strstr(text, "cricket_pods{state=\"ready\"} 0\n"));
    assert_non_null(strstr(text, "command=\"DEL\",result=\"ok\"}"));
    free(text);
    free(id);
    assert_int_equal(crit_daemon_teardown(&d, c, 20000), 0);
    crit_pod_net_remove(&net);
    crit_pod_cgroup_parent_remove(parent);
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
