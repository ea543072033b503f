/*
 * test_challenge: WWW-Authenticate headers as registries send them (Docker
 * Hub, GHCR, Harbor, the distribution registry), several challenges in one
 * header, quoting and escapes, and the malformed ones, which are refused
 * with a message naming what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "images/challenge.h"

static ck_auth_challenge parse_ok(const char *header)
{
    ck_auth_challenge c;
    ck_err err;
    ck_err_clear(&err);
    if (ck_auth_challenge_parse(header, &c, &err) < 0)
        fail_msg("%s: %s", header, err.msg);
    return c;
}

static void expect_invalid(const char *header, const char *why)
{
    ck_auth_challenge c;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_auth_challenge_parse(header, &c, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_int_equal(c.scheme, CK_AUTH_NONE);
    if (strstr(err.msg, why) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", header, err.msg, why);
}

static void test_bearer_as_registries_send_it(void **state)
{
    (void)state;
    ck_auth_challenge c = parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                   "scope=\"repository:library/busybox:pull\"");
    assert_int_equal(c.scheme, CK_AUTH_BEARER);
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/busybox:pull");

    /* Scheme and names in any case, blanks around "=" and ",", extra parameters. */
    c = parse_ok("bearer  REALM = \"http://127.0.0.1:5001/token\" , Service=reg ,error=\"insufficient_scope\"");
    assert_int_equal(c.scheme, CK_AUTH_BEARER);
    assert_string_equal(c.realm, "http://127.0.0.1:5001/token");
    assert_string_equal(c.service, "reg");
    assert_string_equal(c.scope, "");

    /* An unquoted URL is taken whole. */
    c = parse_ok("Bearer realm=https://ghcr.io/token,service=ghcr.io");
    assert_string_equal(c.realm, "https://ghcr.io/token");
    assert_string_equal(c.service, "ghcr.io");
}

static void test_quoting(void **state)
{
    (void)state;
    /* A parameter name inside a quoted value is part of the value. */
    ck_auth_challenge c = parse_ok("Bearer realm=\"https://a/token?x=1, scope=evil\",scope=\"repository:a:pull\"");
    assert_string_equal(c.realm, "https://a/token?x=1, scope=evil");
    assert_string_equal(c.scope, "repository:a:pull");
    c = parse_ok("Bearer realm=\"a\\\"b\\\\c\"");
    assert_string_equal(c.realm, "a\"b\\c");
    c = parse_ok("Bearer realm=\"\"");
    assert_int_equal(c.scheme, CK_AUTH_BEARER);
    assert_string_equal(c.realm, "");
}

static void test_several_challenges(void **state)
{
    (void)state;
    ck_auth_challenge c =
        parse_ok("Basic realm=\"Harbor\", Bearer realm=\"https://h/service/token\",service=\"harbor\"");
    assert_int_equal(c.scheme, CK_AUTH_BEARER);
    assert_string_equal(c.realm, "https://h/service/token");
    c = parse_ok("Negotiate abc==, Basic realm=\"Registry Realm\"");
    assert_int_equal(c.scheme, CK_AUTH_BASIC);
    assert_string_equal(c.realm, "Registry Realm");
    c = parse_ok("Basic realm=\"first\", Basic realm=\"second\"");
    assert_string_equal(c.realm, "first");
    c = parse_ok("Negotiate");
    assert_int_equal(c.scheme, CK_AUTH_OTHER);
    c = parse_ok("");
    assert_int_equal(c.scheme, CK_AUTH_NONE);
    c = parse_ok(" , ,");
    assert_int_equal(c.scheme, CK_AUTH_NONE);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_invalid("Bearer realm=\"https://a/token", "realm: unterminated quoted string");
    expect_invalid("realm=\"x\"", "parameter realm before any scheme");
    expect_invalid("Bearer realm=\"a\"b", "unexpected 'b' after realm");
    expect_invalid("Bearer \"x\"", "unexpected '\"' at offset 7");
    expect_invalid("Bearer realm=\"x\", (", "unexpected '('");
    char big[1100 + 32];
    memset(big, 'a', sizeof(big));
    memcpy(big, "Bearer realm=", 13);
    big[sizeof(big) - 1] = '\0';
    expect_invalid(big, "realm is longer than 1023 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_as_registries_send_it),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_several_challenges),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
