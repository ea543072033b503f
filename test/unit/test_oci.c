/*
 * The pause spec and cgroup paths (oci/spec.c), and the CNI pieces that need
 * no plugin run: bandwidth quantities and IPs from a saved attachment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/spawn.h"
#include "netcni/cni.h"
#include "oci/spec.h"

static void expect_path(ck_cgroup_driver d, const char *parent, const char *want)
{
    char buf[256];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_cgroups_path(d, parent, "abc", buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, want);
}

static void expect_bad_parent(ck_cgroup_driver d, const char *parent, const char *msg)
{
    char buf[256];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_cgroups_path(d, parent, "abc", buf, sizeof(buf), &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, msg));
}

static void test_cgroups_paths(void **state)
{
    (void)state;
    expect_path(CK_CGROUP_CGROUPFS, "", "/cricket/cricket-abc");
    expect_path(CK_CGROUP_CGROUPFS, NULL, "/cricket/cricket-abc");
    expect_path(CK_CGROUP_CGROUPFS, "/kubepods/burstable/pod1", "/kubepods/burstable/pod1/cricket-abc");
    expect_path(CK_CGROUP_CGROUPFS, "/", "/cricket-abc");
    expect_bad_parent(CK_CGROUP_CGROUPFS, "kubepods", "must be an absolute path");
    expect_bad_parent(CK_CGROUP_CGROUPFS, "/a/../b", "must not contain");
    expect_path(CK_CGROUP_SYSTEMD, "kubepods-burstable-pod1.slice", "kubepods-burstable-pod1.slice:cricket:abc");
    expect_path(CK_CGROUP_SYSTEMD, "/kubepods.slice/kubepods-pod2.slice", "kubepods-pod2.slice:cricket:abc");
    expect_path(CK_CGROUP_SYSTEMD, "", "system.slice:cricket:abc");
    expect_bad_parent(CK_CGROUP_SYSTEMD, "/kubepods/pod1", "must be a systemd slice");
}

static json_t *write_and_load(const ck_pause_spec *spec)
{
    char dir[] = "/tmp/test-oci.XXXXXX";
    assert_non_null(mkdtemp(dir));
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_write_pause_spec(spec, dir, &err), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    assert_int_equal(ck_rm_rf(dir, &err), 0);
    return root;
}

static bool has_ns(json_t *root, const char *type, const char **path)
{
    json_t *ns = json_object_get(json_object_get(root, "linux"), "namespaces");
    size_t i;
    json_t *e;
    json_array_foreach(ns, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0) {
            if (path != NULL)
                *path = json_string_value(json_object_get(e, "path"));
            return true;
        }
    }
    return false;
}

static json_t *mount_at(json_t *root, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(root, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return m;
    }
    return NULL;
}

static void test_pause_spec_pod_namespaces(void **state)
{
    (void)state;
    ck_kv sysctls[] = {{"net.ipv4.ip_forward", "1"}};
    ck_kv ann[] = {{"io.kubernetes.cri.container-type", "sandbox"}};
    ck_pause_spec spec = {.rootfs = "/r",
                          .hostname = "h1",
                          .netns_path = "/run/x/netns/abc",
                          .shm_path = "/s/shm",
                          .hostname_file = "/s/hostname",
                          .hosts_file = "/s/hosts",
                          .resolv_file = "/s/resolv.conf",
                          .cgroup_parent = "/p",
                          .id = "abc",
                          .oom_score_adj = -998,
                          .sysctls = sysctls,
                          .n_sysctls = 1,
                          .annotations = ann,
                          .n_annotations = 1};
    json_t *root = write_and_load(&spec);
    const char *netns = NULL;
    assert_true(has_ns(root, "network", &netns));
    assert_string_equal(netns, "/run/x/netns/abc");
    assert_true(has_ns(root, "pid", NULL));
    assert_true(has_ns(root, "ipc", NULL));
    assert_true(has_ns(root, "uts", NULL));
    assert_true(has_ns(root, "mount", NULL));
    assert_string_equal(json_string_value(json_object_get(root, "hostname")), "h1");
    assert_true(json_is_true(json_object_get(json_object_get(root, "root"), "readonly")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "root"), "path")), "/r");
    json_t *proc = json_object_get(root, "process");
    assert_int_equal(json_integer_value(json_object_get(proc, "oomScoreAdj")), -998);
    assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "args"), 0)), "/pause");
    json_t *lx = json_object_get(root, "linux");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lx, "sysctl"), "net.ipv4.ip_forward")), "1");
    assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/p/cricket-abc");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "source")), "/s/shm");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/etc/resolv.conf"), "source")),
                        "/s/resolv.conf");
    assert_non_null(mount_at(root, "/dev/mqueue"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "annotations"), "io.kubernetes.cri.container-type")),
        "sandbox");
    json_decref(root);
}

static void test_pause_spec_host_namespaces(void **state)
{
    (void)state;
    ck_pause_spec spec = {.rootfs = "/r",
                          .hostname = "ignored",
                          .netns_path = NULL,
                          .host_ipc = true,
                          .host_pid = true,
                          .cgroup_parent = "",
                          .id = "abc"};
    json_t *root = write_and_load(&spec);
    assert_false(has_ns(root, "network", NULL));
    assert_false(has_ns(root, "uts", NULL));
    assert_false(has_ns(root, "pid", NULL));
    assert_false(has_ns(root, "ipc", NULL));
    assert_null(json_object_get(root, "hostname"));
    assert_null(mount_at(root, "/dev/mqueue"));
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "type")), "tmpfs");
    json_decref(root);
}

static void test_bandwidth_quantities(void **state)
{
    (void)state;
    assert_int_equal(ck_cni_parse_bandwidth("10M"), 10000000);
    assert_int_equal(ck_cni_parse_bandwidth("1Gi"), 1073741824LL);
    assert_int_equal(ck_cni_parse_bandwidth("500k"), 500000);
    assert_int_equal(ck_cni_parse_bandwidth("1.5M"), 1500000);
    assert_int_equal(ck_cni_parse_bandwidth("100"), 100);
    assert_int_equal(ck_cni_parse_bandwidth(""), -1);
    assert_int_equal(ck_cni_parse_bandwidth("M"), -1);
    assert_int_equal(ck_cni_parse_bandwidth("10X"), -1);
    assert_int_equal(ck_cni_parse_bandwidth("-1M"), -1);
    assert_int_equal(ck_cni_parse_bandwidth(NULL), -1);
}

static void test_attachment_ips_v4_first(void **state)
{
    (void)state;
    ck_cni_attachment a = {0};
    ck_cni_attachment_ips("{\"result\":{\"ips\":[{\"address\":\"fd00::5/64\"},{\"address\":\"10.1.2.3/24\"}]}}", &a);
    assert_int_equal(a.n_ips, 2);
    assert_string_equal(a.ips[0], "10.1.2.3");
    assert_string_equal(a.ips[1], "fd00::5");
    ck_cni_attachment_ips("not json", &a);
    assert_int_equal(a.n_ips, 0);
    ck_cni_attachment_ips("{\"result\":{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}}", &a);
    assert_int_equal(a.n_ips, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgroups_paths),
        cmocka_unit_test(test_pause_spec_pod_namespaces),
        cmocka_unit_test(test_pause_spec_host_namespaces),
        cmocka_unit_test(test_bandwidth_quantities),
        cmocka_unit_test(test_attachment_ips_v4_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
