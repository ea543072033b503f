/*
 * Unit tests for common/mount: a recursively read-only tree is read-only at
 * every depth, also through an rbind of it (what runc does with it), leaves
 * the source writable, and detaching it leaves nothing mounted. Root only;
 * the tests run in a mount namespace of their own, so a failing test leaves
 * no mount on the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "common/mount.h"

typedef struct fixture {
    char dir[64];
    char src[128], sub[160], target[128], rbind[128];
} fixture;

static int setup(void **state)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 0; /* *state stays NULL: the tests skip */
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ck-mount.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
    snprintf(f->sub, sizeof(f->sub), "%s/src/tmpfs", f->dir);
    snprintf(f->target, sizeof(f->target), "%s/target", f->dir);
    snprintf(f->rbind, sizeof(f->rbind), "%s/rbind", f->dir);
    assert_int_equal(mkdir(f->src, 0755), 0);
    assert_int_equal(mkdir(f->sub, 0755), 0);
    assert_int_equal(mkdir(f->target, 0755), 0);
    assert_int_equal(mkdir(f->rbind, 0755), 0);
    assert_int_equal(mount("tmpfs", f->sub, "tmpfs", 0, "size=1m"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    umount2(f->rbind, MNT_DETACH);
    umount2(f->target, MNT_DETACH);
    umount2(f->sub, MNT_DETACH);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_rm_rf(f->dir, &err), 0);
    free(f);
    return 0;
}

/* errno of creating file under dir, 0 when it could be made. */
static int create_errno(const char *dir, const char *file)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    close(fd);
    unlink(path);
    return 0;
}

static bool is_mount_point(const char *path)
{
    char parent[256];
    snprintf(parent, sizeof(parent), "%s/..", path);
    struct stat a, b;
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

static const ck_mount_tree_attrs readonly = {.readonly = true, .userns_fd = -1};

static void test_readonly_at_every_depth(void **state)
{
    fixture *f = *state;
    if (f == NULL) {
        skip();
        return;
    }
    ck_err err;
    ck_err_clear(&err);
    assert_true(ck_mount_readonly_tree_supported(f->src, err.msg, sizeof(err.msg)));
    assert_int_equal(ck_mount_tree(f->src, f->target, &readonly, &err), 0);
    assert_int_equal(create_errno(f->target, "top"), EROFS);
    assert_int_equal(create_errno(f->target, "tmpfs/deep"), EROFS);
    /* The source stays writable, its submount too. */
    assert_int_equal(create_errno(f->src, "top"), 0);
    assert_int_equal(create_errno(f->src, "tmpfs/deep"), 0);
    /* runc's rbind copies each mount's read-only flag. */
    assert_int_equal(mount(f->target, f->rbind, NULL, MS_BIND | MS_REC, NULL), 0);
    assert_int_equal(create_errno(f->rbind, "tmpfs/deep"), EROFS);
    assert_int_equal(create_errno(f->rbind, "top"), EROFS);
    /* Detaching the staging tree leaves the rbind's copy as it was. */
    assert_int_equal(ck_mount_detach(f->target, &err), 0);
    assert_false(is_mount_point(f->target));
    assert_int_equal(create_errno(f->rbind, "tmpfs/deep"), EROFS);
    assert_int_equal(ck_mount_detach(f->target, &err), 0); /* nothing there: fine */
}

static void test_file_and_missing_source(void **state)
{
    fixture *f = *state;
    if (f == NULL) {
        skip();
        return;
    }
    ck_err err;
    ck_err_clear(&err);
    char file[160], target[160], missing[160];
    snprintf(file, sizeof(file), "%s/file", f->dir);
    snprintf(target, sizeof(target), "%s/file-target", f->dir);
    snprintf(missing, sizeof(missing), "%s/missing", f->dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ck_mount_tree(file, target, &readonly, &err), 0);
    assert_int_equal(open(target, O_WRONLY | O_CLOEXEC), -1);
    assert_int_equal(errno, EROFS);
    assert_int_equal(ck_mount_detach(target, &err), 0);
    assert_int_equal(ck_mount_tree(missing, f->target, &readonly, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, missing));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readonly_at_every_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_and_missing_source, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
