/*
 * test_reference: image references normalize as the kubelet and Docker
 * normalize them, and every malformed one is refused with a message naming
 * the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "images/reference.h"

static void expect(const char *in, const char *normalized)
{
    ck_ref r;
    ck_err err;
    ck_err_clear(&err);
    if (ck_ref_parse(in, &r, &err) < 0)
        fail_msg("%s: %s", in, err.msg);
    char buf[1024];
    ck_ref_string(&r, buf, sizeof(buf));
    assert_string_equal(buf, normalized);
}

static void expect_invalid(const char *in, const char *why)
{
    ck_ref r;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_ref_parse(in, &r, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    if (strstr(err.msg, why) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", in, err.msg, why);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalizes_like_docker(void **state)
{
    (void)state;
    expect("busybox", "docker.io/library/busybox:latest");
    expect("busybox:1.36", "docker.io/library/busybox:1.36");
    expect("library/busybox", "docker.io/library/busybox:latest");
    expect("docker.io/busybox", "docker.io/library/busybox:latest");
    expect("index.docker.io/library/busybox:1", "docker.io/library/busybox:1");
    expect("bitnami/redis", "docker.io/bitnami/redis:latest");
    expect("quay.io/ns/app:v1.2-rc_3", "quay.io/ns/app:v1.2-rc_3");
    expect("127.0.0.1:5000/ns/name:tag", "127.0.0.1:5000/ns/name:tag");
    expect("localhost/app", "localhost/app:latest");
    expect("localhost:5000/a/b/c", "localhost:5000/a/b/c:latest");
    expect("[::1]:5000/app", "[::1]:5000/app:latest");
    expect("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10");
    expect("my-reg.example.com/a__b/c-d/e.f", "my-reg.example.com/a__b/c-d/e.f:latest");
    expect("busybox@" D, "docker.io/library/busybox@" D);
    expect("busybox:1.36@" D, "docker.io/library/busybox:1.36@" D);
    expect("host:5000/x@" D, "host:5000/x@" D);
}

static void test_parts(void **state)
{
    (void)state;
    ck_ref r;
    assert_int_equal(ck_ref_parse("127.0.0.1:5000/ns/name:tag@" D, &r, NULL), 0);
    assert_string_equal(r.domain, "127.0.0.1:5000");
    assert_string_equal(r.path, "ns/name");
    assert_string_equal(r.tag, "tag");
    assert_string_equal(r.digest, D);
    char buf[512];
    ck_ref_tagged(&r, buf, sizeof(buf));
    assert_string_equal(buf, "127.0.0.1:5000/ns/name:tag");
    ck_ref_digested(&r, D, buf, sizeof(buf));
    assert_string_equal(buf, "127.0.0.1:5000/ns/name@" D);
    assert_int_equal(ck_ref_parse("busybox@" D, &r, NULL), 0);
    ck_ref_tagged(&r, buf, sizeof(buf));
    assert_string_equal(buf, "");
}

static void test_invalid_references_say_why(void **state)
{
    (void)state;
    expect_invalid("", "empty");
    expect_invalid("Busybox", "lowercase");
    expect_invalid("docker.io/Library/busybox", "lowercase");
    expect_invalid("busybox:", "invalid tag");
    expect_invalid("busybox:-x", "invalid tag");
    expect_invalid("busybox:a/b", "invalid registry host");
    expect_invalid("busy box", "blanks");
    expect_invalid("busybox@sha256:abc", "64 lower-case hex");
    expect_invalid("busybox@md5:0123", "unknown algorithm");
    expect_invalid("busybox@", "empty digest");
    expect_invalid("a//b", "invalid repository path component \"\"");
    expect_invalid("-a/b", "invalid repository path component \"-a\"");
    expect_invalid("a_/b", "invalid repository path component \"a_\"");
    expect_invalid("a___b", "invalid repository path component");
    expect_invalid("host:port/x", "invalid registry host");
    expect_invalid("-host.com/x", "invalid registry host");
    expect_invalid(":tag", "no repository name");
    expect_invalid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image id");
    expect_invalid(D, "image id");
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    expect_invalid(longname, "longer than 255");
    char longtag[200] = "busybox:";
    memset(longtag + 8, 't', 130);
    longtag[138] = '\0';
    expect_invalid(longtag, "invalid tag");
}

static void test_image_id_shapes(void **state)
{
    (void)state;
    assert_true(ck_ref_is_image_id(D));
    assert_true(ck_ref_is_image_id(D + 7));
    assert_false(ck_ref_is_image_id("sha256:abc"));
    assert_false(ck_ref_is_image_id("busybox"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalizes_like_docker),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_invalid_references_say_why),
        cmocka_unit_test(test_image_id_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
