/*
 * Unit tests for oci/lsm: the AppArmor choice strings, cricket-default
 * compiling with the node's apparmor_parser (a profile the parser refuses
 * would refuse every RuntimeDefault container on an AppArmor node), and
 * RuntimeDefault on this node: cricket-default, loaded, where AppArmor is
 * enabled, no profile where it is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/lsm.h"

static void test_choices_parse(void **state)
{
    (void)state;
    ck_apparmor_choice c;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_apparmor_choice_parse("f", "", &c, &err), 0);
    assert_int_equal(c.kind, CK_APPARMOR_RUNTIME_DEFAULT);
    assert_int_equal(ck_apparmor_choice_parse("f", "runtime/default", &c, &err), 0);
    assert_int_equal(c.kind, CK_APPARMOR_RUNTIME_DEFAULT);
    assert_int_equal(ck_apparmor_choice_parse("f", "unconfined", &c, &err), 0);
    assert_int_equal(c.kind, CK_APPARMOR_UNCONFINED);
    assert_int_equal(ck_apparmor_choice_parse("f", "localhost/mine", &c, &err), 0);
    assert_int_equal(c.kind, CK_APPARMOR_LOCALHOST);
    assert_string_equal(c.name, "mine");
    assert_int_equal(ck_apparmor_choice_parse("f", "docker-default", &c, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, "docker-default"));
}

static void test_default_profile_compiles(void **state)
{
    (void)state;
    if (ck_apparmor_parser() == NULL) {
        fprintf(stderr, "no apparmor_parser (scripts/install-deps.sh installs it): skipped\n");
        skip();
    }
    ck_err err;
    ck_err_clear(&err);
    if (ck_apparmor_default_compile(false, &err) < 0)
        fail_msg("cricket-default does not compile: %s", err.msg);
}

static bool apparmor_enabled(void)
{
    FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");
    int c = f != NULL ? fgetc(f) : EOF;
    if (f != NULL)
        fclose(f);
    return c == 'Y';
}

static void test_runtime_default_on_this_node(void **state)
{
    (void)state;
    ck_apparmor_choice c = {CK_APPARMOR_RUNTIME_DEFAULT, NULL};
    const char *profile = "unset";
    ck_err err;
    ck_err_clear(&err);
    int rc = ck_apparmor_profile_for(&c, &profile, &err);
    if (!apparmor_enabled()) {
        assert_int_equal(rc, 0);
        assert_null(profile); /* nothing to confine with */
        return;
    }
    if (rc < 0)
        fail_msg("RuntimeDefault on a node with AppArmor: %s", err.msg);
    assert_string_equal(profile, CK_APPARMOR_DEFAULT_PROFILE);
    /* and the kernel has it now */
    ck_apparmor_choice mine;
    assert_int_equal(ck_apparmor_localhost("f", CK_APPARMOR_DEFAULT_PROFILE, &mine, &err), 0);
    assert_int_equal(ck_apparmor_profile_for(&mine, &profile, &err), 0);
}

static void test_unconfined_has_no_profile(void **state)
{
    (void)state;
    ck_apparmor_choice c = {CK_APPARMOR_UNCONFINED, NULL};
    const char *profile = "unset";
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_apparmor_profile_for(&c, &profile, &err), 0);
    assert_null(profile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choices_parse),
        cmocka_unit_test(test_default_profile_compiles),
        cmocka_unit_test(test_runtime_default_on_this_node),
        cmocka_unit_test(test_unconfined_has_no_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
