/*
 * Unit tests for common/copy (ck_copy_dir_contents, what seeds a volume
 * from its image): owners, modes with setuid, extended attributes, times,
 * hard links, holes and symlinks come through as the source has them;
 * FIFOs are left out; nesting past the limit is refused. The owner checks
 * need root, as the daemon has. Also the whole-file writes of common/fs.
 */
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
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"

typedef struct fixture {
    char dir[64];
    int src, dst;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ck-copy.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    int top = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(top >= 0);
    assert_int_equal(mkdirat(top, "src", 0755), 0);
    assert_int_equal(mkdirat(top, "dst", 0755), 0);
    f->src = openat(top, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->dst = openat(top, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->src >= 0 && f->dst >= 0);
    close(top);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    close(f->src);
    close(f->dst);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_rm_rf(f->dir, &err), 0);
    free(f);
    return 0;
}

static void write_at(int dir, const char *name, const char *text, mode_t mode)
{
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void copy_ok(fixture *f)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_copy_dir_contents(f->src, f->dst, &err) < 0)
        fail_msg("copy: %s", err.msg);
}

static void test_owner_mode_times_and_attributes(void **state)
{
    fixture *f = *state;
    write_at(f->src, "tool", "#!/bin/sh\n", 04755);
    assert_int_equal(fchownat(f->src, "tool", 1234, 5678, 0), 0);
    assert_int_equal(fchmodat(f->src, "tool", 04755, 0), 0); /* chown cleared setuid */
    int fd = openat(f->src, "tool", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fsetxattr(fd, "user.origin", "image", 5, 0), 0);
    const struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 5}, {.tv_sec = 1200000000, .tv_nsec = 7}};
    assert_int_equal(futimens(fd, times), 0);
    close(fd);
    assert_int_equal(mkdirat(f->src, "sub", 0750), 0);
    assert_int_equal(utimensat(f->src, "sub", times, 0), 0);

    copy_ok(f);

    struct stat st;
    assert_int_equal(fstatat(f->dst, "tool", &st, 0), 0);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_mtim.tv_sec, 1200000000);
    assert_int_equal(st.st_mtim.tv_nsec, 7);
    char value[16] = {0};
    fd = openat(f->dst, "tool", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fgetxattr(fd, "user.origin", value, sizeof(value)), 5);
    assert_string_equal(value, "image");
    close(fd);
    assert_int_equal(fstatat(f->dst, "sub", &st, 0), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1200000000); /* set after it was filled */
}

static void test_hard_links_stay_links(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdirat(f->src, "a", 0755), 0);
    assert_int_equal(mkdirat(f->src, "b", 0755), 0);
    write_at(f->src, "a/one", "shared", 0644);
    assert_int_equal(linkat(f->src, "a/one", f->src, "b/two", 0), 0);
    assert_int_equal(linkat(f->src, "a/one", f->src, "three", 0), 0);

    copy_ok(f);

    struct stat one, two, three;
    assert_int_equal(fstatat(f->dst, "a/one", &one, 0), 0);
    assert_int_equal(fstatat(f->dst, "b/two", &two, 0), 0);
    assert_int_equal(fstatat(f->dst, "three", &three, 0), 0);
    assert_int_equal(one.st_ino, two.st_ino);
    assert_int_equal(one.st_ino, three.st_ino);
    assert_int_equal(one.st_nlink, 3);
    assert_int_equal(one.st_size, 6);
}

static void test_holes_stay_holes(void **state)
{
    fixture *f = *state;
    enum { SIZE = 64 << 20 };
    int fd = openat(f->src, "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "head", 4, 0), 4);
    assert_int_equal(pwrite(fd, "middle", 6, SIZE / 2), 6);
    assert_int_equal(ftruncate(fd, SIZE), 0); /* and a hole to the end */
    close(fd);

    copy_ok(f);

    struct stat st;
    assert_int_equal(fstatat(f->dst, "sparse", &st, 0), 0);
    assert_int_equal(st.st_size, SIZE);
    assert_true(st.st_blocks * 512 < 1 << 20); /* two small extents, not 64 MiB */
    char buf[8] = {0};
    fd = openat(f->dst, "sparse", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, 6, SIZE / 2), 6);
    assert_memory_equal(buf, "middle", 6);
    assert_int_equal(pread(fd, buf, 4, 0), 4);
    assert_memory_equal(buf, "head", 4);
    close(fd);
}

static void test_links_fifos_and_depth(void **state)
{
    fixture *f = *state;
    assert_int_equal(symlinkat("/etc/passwd", f->src, "escape"), 0);
    assert_int_equal(mkfifoat(f->src, "pipe", 0644), 0);

    copy_ok(f);

    char target[64] = {0};
    assert_int_equal(readlinkat(f->dst, "escape", target, sizeof(target) - 1), 11);
    assert_string_equal(target, "/etc/passwd"); /* copied as a link, never followed */
    struct stat st;
    assert_int_equal(fstatat(f->dst, "pipe", &st, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(errno, ENOENT);

    /* 130 nested directories: past the limit, refused with a reason. */
    int fd = openat(f->src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < 130; i++) {
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        fd = next;
        assert_true(fd >= 0);
    }
    close(fd);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(mkdirat(f->dst, "deep", 0755), 0);
    /* src was read whole by the copy above: a second copy reads it again. */
    int empty = openat(f->dst, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(empty >= 0);
    int rc = ck_copy_dir_contents(f->src, empty, &err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "nested deeper"));
    close(empty);
}

/* ck_write_file_atomic and ck_write_file_for_this_boot: the whole text
 * with the mode asked, an old file replaced (a new inode: a reader holding
 * the old one never sees a mix), no temp file left, and a clear error where
 * the directory is missing. */
static void test_whole_file_writes(void **state)
{
    fixture *f = *state;
    typedef int (*write_fn)(const char *, const char *, size_t, unsigned, ck_err *);
    const write_fn writers[] = {ck_write_file_atomic, ck_write_file_for_this_boot};
    for (size_t i = 0; i < 2; i++) {
        char path[128], tmp[140], text[64];
        snprintf(path, sizeof(path), "%s/file%zu", f->dir, i);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        ck_err err;
        ck_err_clear(&err);
        assert_int_equal(writers[i](path, "old text\n", 9, 0640, &err), 0);
        struct stat old_st, st;
        assert_int_equal(stat(path, &old_st), 0);
        assert_int_equal(old_st.st_mode & 07777, 0640);
        int reader = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(reader >= 0);
        assert_int_equal(writers[i](path, "new\n", 4, 0644, &err), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_ino != old_st.st_ino);
        assert_int_equal(st.st_size, 4);
        assert_int_equal(read(reader, text, sizeof(text)), 9); /* the old file, whole */
        close(reader);
        assert_int_equal(access(tmp, F_OK), -1);
        snprintf(path, sizeof(path), "%s/missing/file", f->dir);
        assert_int_equal(writers[i](path, "x", 1, 0644, &err), -1);
        assert_non_null(strstr(err.msg, "missing/file.tmp"));
    }
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_copy: needs root (owners are copied), skipped\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_owner_mode_times_and_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_links_stay_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holes_stay_holes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_fifos_and_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_file_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
