/*
 * test_userns: the rules a pod's user namespace mappings must follow, and
 * a pinned user namespace with its mappings, its network namespace owned
 * by it, and nothing left once removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/nsfs.h>

#include "common/userns.h"
#include "netcni/netns.h"

static void expect_refused(const ck_id_map *maps, size_t n, const char *needle)
{
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_userns_check_maps("uids", maps, n, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", err.msg, needle);
}

static void test_the_kubelets_mapping_is_accepted(void **state)
{
    (void)state;
    const ck_id_map ok[] = {{0, 1000, 100000}, {0, 65536, 65536}, {0, 1, 1}, {0, 4294901760u, 65535}};
    ck_err err;
    ck_err_clear(&err);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(ck_userns_check_maps("uids", &ok[i], 1, &err), 0);
}

static void test_bad_mappings_are_refused(void **state)
{
    (void)state;
    const ck_id_map two[] = {{0, 1000, 100000}, {100000, 200000, 10}};
    expect_refused(NULL, 0, "needs uids mappings");
    expect_refused(two, 2, "only one");
    expect_refused((const ck_id_map[]){{0, 1000, 0}}, 1, "length 0");
    expect_refused((const ck_id_map[]){{1, 1000, 100000}}, 1, "container id 0 is not mapped");
    expect_refused((const ck_id_map[]){{0, 0, 65536}}, 1, "host id 0");
    expect_refused((const ck_id_map[]){{0, 4294967295u, 2}}, 1, "past");
    expect_refused((const ck_id_map[]){{0, 1000, 4294967295u}}, 1, "past");
}

/* The three numbers of a uid_map line ("0 1000 100000", blank-padded) and
 * nothing after them: 0, or -1. */
static int three_numbers(const char *s, unsigned long v[3])
{
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        v[i] = strtoul(s, &end, 10);
        if (end == s)
            return -1;
        s = end;
    }
    return s[strspn(s, " \t\n")] == '\0' ? 0 : -1;
}

static int read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return 0;
}

/* Needs root (CAP_SYS_ADMIN): skipped otherwise. */
static void test_pinned_namespace_and_its_netns(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char dir[] = "/tmp/test-userns.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char udir[300], ndir[300], upath[400], npath[400];
    snprintf(udir, sizeof(udir), "%s/userns", dir);
    snprintf(ndir, sizeof(ndir), "%s/netns", dir);
    const ck_id_map m = {0, 1000, 100000};
    ck_err err;
    ck_err_clear(&err);
    if (ck_userns_create(udir, "pod", &m, &m, upath, sizeof(upath), &err) < 0)
        fail_msg("%s", err.msg);
    if (ck_netns_create_in(ndir, "pod", upath, npath, sizeof(npath), &err) < 0)
        fail_msg("%s", err.msg);
    /* A process in the namespace sees the mapping. */
    char cmd[1200], out[256];
    snprintf(cmd, sizeof(cmd), "nsenter --user=%s --net=%s cat /proc/self/uid_map > %s/out", upath, npath, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/out", dir);
    assert_int_equal(read_text(cmd, out, sizeof(out)), 0);
    unsigned long v[3] = {0};
    assert_int_equal(three_numbers(out, v), 0);
    assert_int_equal(v[0], 0);
    assert_int_equal(v[1], 1000);
    assert_int_equal(v[2], 100000);
    /* The network namespace is the user namespace's: its owner is it. */
    int nfd = open(npath, O_RDONLY | O_CLOEXEC);
    assert_true(nfd >= 0);
    int owner = ioctl(nfd, NS_GET_USERNS);
    assert_true(owner >= 0);
    struct stat os, us;
    assert_int_equal(fstat(owner, &os), 0);
    assert_int_equal(stat(upath, &us), 0);
    assert_true(os.st_ino == us.st_ino && os.st_dev == us.st_dev);
    close(owner);
    close(nfd);
    assert_int_equal(ck_netns_remove(npath, &err), 0);
    assert_int_equal(ck_userns_remove(upath, &err), 0);
    assert_int_equal(ck_userns_remove(upath, &err), 0); /* absent is fine */
    struct stat st;
    assert_int_equal(stat(upath, &st), -1);
    snprintf(cmd, sizeof(cmd), "grep -q %s /proc/self/mountinfo", dir);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_kubelets_mapping_is_accepted),
        cmocka_unit_test(test_bad_mappings_are_refused),
        cmocka_unit_test(test_pinned_namespace_and_its_netns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
