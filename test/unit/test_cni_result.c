/* netcni/cni_result: a plugin's ADD output is checked before its IPs become
 * the pod's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netcni/cni_result.h"

static json_t *parse_ok(const char *text)
{
    json_t *r = NULL;
    ck_err err;
    ck_err_clear(&err);
    if (ck_cni_result_parse(text, strlen(text), &r, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
    return r;
}

static void refused(const char *text, const char *why)
{
    json_t *r = NULL;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_cni_result_parse(text, strlen(text), &r, &err), -1);
    assert_null(r);
    assert_int_equal(err.kind, CK_E_INTERNAL);
    if (strstr(err.msg, why) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, err.msg, why);
}

static void test_ips_ipv4_first_without_prefix(void **state)
{
    (void)state;
    json_t *r = parse_ok("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],"
                         "\"ips\":[{\"interface\":0,\"address\":\"fd00::5/64\"},{\"address\":\"10.88.0.5/16\"}]}");
    ck_cni_attachment a;
    memset(&a, 0, sizeof(a));
    ck_cni_result_ips(r, &a);
    assert_int_equal(a.n_ips, 2);
    assert_string_equal(a.ips[0], "10.88.0.5");
    assert_string_equal(a.ips[1], "fd00::5");
    json_decref(r);

    r = parse_ok("{}"); /* a result without IPs (a plugin that only sets up a device) */
    ck_cni_result_ips(r, &a);
    assert_int_equal(a.n_ips, 0);
    json_decref(r);

    r = parse_ok("{\"ips\":[{\"address\":\"10.0.0.1/8\"},{\"address\":\"10.0.0.2/8\"},{\"address\":\"10.0.0.3/8\"},"
                 "{\"address\":\"10.0.0.4/8\"},{\"address\":\"10.0.0.5/8\"}]}");
    ck_cni_result_ips(r, &a);
    assert_int_equal(a.n_ips, CK_CNI_MAX_IPS);
    assert_string_equal(a.ips[CK_CNI_MAX_IPS - 1], "10.0.0.4");
    json_decref(r);
}

static void test_malformed_results_refused(void **state)
{
    (void)state;
    refused("ok", "not a JSON object");
    refused("[1]", "not a JSON object");
    refused("{\"ips\":{}}", "ips is not a list");
    refused("{\"interfaces\":1}", "interfaces is not a list");
    refused("{\"ips\":[1]}", "ips[0] is not an object");
    refused("{\"ips\":[{\"address\":\"10.0.0.1\"}]}", "ips[0].address \"10.0.0.1\" is not an IP address with a prefix");
    refused("{\"ips\":[{\"address\":\"10.0.0.1/33\"}]}", "is not an IP address with a prefix");
    refused("{\"ips\":[{\"address\":\"10.0.0.1/-1\"}]}", "is not an IP address with a prefix");
    refused("{\"ips\":[{\"address\":\"10.0.0.1/8\"},{\"address\":\"fd00::1/129\"}]}", "ips[1].address");
    refused("{\"ips\":[{\"address\":\"eth0/8\"}]}", "is not an IP address with a prefix");
    refused("{\"ips\":[{}]}", "\"(none)\"");
    refused("{\"interfaces\":[],\"ips\":[{\"interface\":0,\"address\":\"10.0.0.1/8\"}]}",
            "ips[0].interface is not an index into interfaces (0)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ips_ipv4_first_without_prefix),
        cmocka_unit_test(test_malformed_results_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
