/* OCI runtime handlers: whether a configured handler's binary can be run
 * (what Status reports as RuntimeReady). Real files in a temp directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/oci.h"

static char dir[] = "/tmp/test_oci.XXXXXX";
static char path[sizeof(dir) + 32];

static void make_file(const char *name, mode_t mode)
{
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static int check(const char *file, ck_err *err)
{
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    ck_runtime_handler h = {.name = "myrt", .path = path, .type = "oci"};
    ck_err_clear(err);
    return ck_oci_handler_check(&h, err);
}

static void test_executable_is_ready(void **state)
{
    (void)state;
    ck_err err;
    make_file("runc", 0755);
    assert_int_equal(check("runc", &err), 0);
    assert_int_equal(err.kind, CK_E_NONE);
}

static void test_missing_binary_is_unavailable(void **state)
{
    (void)state;
    ck_err err;
    assert_int_equal(check("nope", &err), -1);
    assert_int_equal(err.kind, CK_E_UNAVAILABLE);
    assert_int_equal(err.errnum, ENOENT);
    char want[256];
    snprintf(want, sizeof(want), "runtime handler myrt: binary %s/nope: No such file or directory", dir);
    assert_string_equal(err.msg, want);
}

static void test_not_executable_is_unavailable(void **state)
{
    (void)state;
    ck_err err;
    char want[256];
    /* root passes access(X_OK) on a file with any x bit, so no x bit at all. */
    make_file("plain", 0644);
    assert_int_equal(check("plain", &err), -1);
    assert_int_equal(err.kind, CK_E_UNAVAILABLE);
    snprintf(want, sizeof(want), "runtime handler myrt: %s/plain is not an executable file", dir);
    assert_string_equal(err.msg, want);
    /* A directory is searchable, not runnable. */
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(check("sub", &err), -1);
    snprintf(want, sizeof(want), "runtime handler myrt: %s/sub is not an executable file", dir);
    assert_string_equal(err.msg, want);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    static const char *const made[] = {"runc", "plain"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/sub", dir);
    rmdir(path);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_executable_is_ready),
        cmocka_unit_test(test_missing_binary_is_unavailable),
        cmocka_unit_test(test_not_executable_is_unavailable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
