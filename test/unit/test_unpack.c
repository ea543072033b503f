/*
 * test_unpack: layers built here with libarchive, unpacked for real into a
 * temporary directory. Checks what a layer must keep (modes, owners, xattrs,
 * links), how whiteouts become overlay whiteouts, that the diff id is
 * verified, and that every malicious tar (.., absolute path, symlink or hard
 * link escape, device node) fails or is tamed with nothing written outside
 * and no half layer left behind; that a placed layer is on disk. Also the
 * content store's verification.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/parse.h"
#include "images/content.h"
#include "images/unpack.h"

static char base[256];    /* per test */
static char layers[300];  /* base/layers */
static char outside[300]; /* base/outside: must stay empty */
static char blob[300];    /* base/blob: the layer under test */

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/ck-unpack-XXXXXX");
    if (mkdtemp(base) == NULL)
        return -1;
    snprintf(layers, sizeof(layers), "%s/layers", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    snprintf(blob, sizeof(blob), "%s/blob", base);
    return mkdir(layers, 0700) | mkdir(outside, 0700);
}

static int teardown(void **state)
{
    (void)state;
    return ck_remove_tree(base, NULL);
}

/* ---- building tars ----------------------------------------------------------- */

typedef struct tb {
    struct archive *a;
} tb;

static void tb_open(tb *t, const char *filter)
{
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    if (strcmp(filter, "gzip") == 0)
        archive_write_add_filter_gzip(t->a);
    else if (strcmp(filter, "zstd") == 0)
        assert_int_equal(archive_write_add_filter_zstd(t->a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(t->a, blob), ARCHIVE_OK);
}

static void tb_add(tb *t, const char *name, mode_t type, mode_t perm, const char *data, const char *link, uid_t uid)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, uid);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(e, link);
    if (type == AE_IFCHR)
        archive_entry_set_rdev(e, makedev(1, 3));
    if (type == AE_IFREG && link != NULL) {
        archive_entry_set_hardlink(e, link);
        archive_entry_set_size(e, 0);
    } else {
        archive_entry_set_size(e, data != NULL ? (la_int64_t)strlen(data) : 0);
    }
    if (strcmp(name, "etc/owned") == 0)
        archive_entry_xattr_add_entry(e, "user.fixture", "yes", 3);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    if (data != NULL && link == NULL)
        assert_int_equal(archive_write_data(t->a, data, strlen(data)), (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

static void tb_close(tb *t)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
}

static void file(tb *t, const char *name, const char *data)
{
    tb_add(t, name, AE_IFREG, 0644, data, NULL, 0);
}
static void dir(tb *t, const char *name)
{
    tb_add(t, name, AE_IFDIR, 0755, NULL, NULL, 0);
}
static void symlnk(tb *t, const char *name, const char *to)
{
    tb_add(t, name, AE_IFLNK, 0777, NULL, to, 0);
}
static void hardlnk(tb *t, const char *name, const char *to)
{
    tb_add(t, name, AE_IFREG, 0644, NULL, to, 0);
}

/* ---- checks -------------------------------------------------------------------- */

static int unpack(const char *name, const ck_unpack_opts *o, ck_err *err)
{
    char dest[400];
    snprintf(dest, sizeof(dest), "%s/%s", layers, name);
    ck_err_clear(err);
    return ck_unpack_layer(blob, dest, o, NULL, NULL, err);
}

static size_t count_entries(const char *d)
{
    DIR *dd = opendir(d);
    assert_non_null(dd);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dd);
    return n;
}

/* A refused layer: an error naming why, no layer, no temporary dir, nothing outside. */
static void expect_refused(const char *why)
{
    ck_err err;
    assert_int_equal(unpack("L", NULL, &err), -1);
    if (strstr(err.msg, why) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
    assert_int_equal(count_entries(layers), 0);
    assert_int_equal(count_entries(outside), 0);
    char p[400];
    snprintf(p, sizeof(p), "%s/escape", base);
    assert_int_equal(access(p, F_OK), -1);
}

static void path_of(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/L/%s", layers, rel);
}

static void assert_file(const char *rel, const char *content, mode_t mode, uid_t uid)
{
    char p[600], got[256] = {0};
    path_of(p, sizeof(p), rel);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, mode);
    if (geteuid() == 0)
        assert_int_equal(st.st_uid, uid);
    int fd = open(p, O_RDONLY);
    assert_true(read(fd, got, sizeof(got) - 1) >= 0);
    close(fd);
    assert_string_equal(got, content);
}

static void test_keeps_modes_owners_links_and_xattrs(const char *filter)
{
    tb t;
    tb_open(&t, filter);
    dir(&t, "etc");
    file(&t, "etc/a", "a\n");
    tb_add(&t, "etc/owned", AE_IFREG, 0640, "o\n", NULL, 1000);
    tb_add(&t, "bin/su", AE_IFREG, 04755, "s\n", NULL, 0); /* parent not in the tar */
    symlnk(&t, "etc/a-sym", "a");
    symlnk(&t, "etc/abs-sym", "/etc/passwd"); /* pointing anywhere is fine: it is never followed */
    hardlnk(&t, "etc/a-hard", "etc/a");
    tb_close(&t);
    ck_err err;
    char dest[400], diff[CK_DIGEST_BUF];
    snprintf(dest, sizeof(dest), "%s/L", layers);
    uint64_t size = 0;
    ck_err_clear(&err);
    if (ck_unpack_layer(blob, dest, NULL, diff, &size, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(strncmp(diff, "sha256:", 7), 0);
    assert_int_equal(size, 2 + 2 + 2);
    assert_file("etc/a", "a\n", 0644, 0);
    assert_file("etc/owned", "o\n", 0640, 1000);
    assert_file("bin/su", "s\n", 04755, 0);
    char p[600], q[600], target[64] = {0};
    path_of(p, sizeof(p), "etc/a-sym");
    assert_int_equal(readlink(p, target, sizeof(target) - 1), 1);
    assert_string_equal(target, "a");
    path_of(p, sizeof(p), "etc/a-hard");
    path_of(q, sizeof(q), "etc/a");
    struct stat s1, s2;
    assert_int_equal(stat(p, &s1), 0);
    assert_int_equal(stat(q, &s2), 0);
    assert_int_equal(s1.st_ino, s2.st_ino);
    char val[8] = {0};
    path_of(p, sizeof(p), "etc/owned");
    assert_int_equal(getxattr(p, "user.fixture", val, sizeof(val)), 3);
    assert_string_equal(val, "yes");
    assert_int_equal(count_entries(layers), 1); /* no temporary left */
}

static void test_plain_tar(void **state)
{
    (void)state;
    test_keeps_modes_owners_links_and_xattrs("none");
}
static void test_gzip_tar(void **state)
{
    (void)state;
    test_keeps_modes_owners_links_and_xattrs("gzip");
}
static void test_zstd_tar(void **state)
{
    (void)state;
    test_keeps_modes_owners_links_and_xattrs("zstd");
}

static void test_whiteouts_become_overlay_whiteouts(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    dir(&t, "etc");
    file(&t, "etc/.wh.a", "");
    file(&t, ".wh.top", "");
    dir(&t, "data");
    file(&t, "data/.wh..wh..opq", "");
    file(&t, "data/z", "z\n");
    file(&t, "gone/.wh..wh..opq", ""); /* its directory is not in the tar */
    tb_close(&t);
    ck_err err;
    if (unpack("L", NULL, &err) < 0)
        fail_msg("%s", err.msg);
    char p[600];
    struct stat st;
    const char *whiteouts[] = {"etc/a", "top"};
    for (size_t i = 0; i < 2; i++) {
        path_of(p, sizeof(p), whiteouts[i]);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
    }
    path_of(p, sizeof(p), "etc/.wh.a");
    assert_int_equal(lstat(p, &st), -1);
    const char *opaque[] = {"data", "gone"};
    for (size_t i = 0; i < 2; i++) {
        char val[4] = {0};
        path_of(p, sizeof(p), opaque[i]);
        assert_int_equal(getxattr(p, "trusted.overlay.opaque", val, sizeof(val)), 1);
        assert_string_equal(val, "y");
    }
    path_of(p, sizeof(p), "data/.wh..wh..opq");
    assert_int_equal(lstat(p, &st), -1);
    assert_file("data/z", "z\n", 0644, 0);
}

static void test_dotdot_refused(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    file(&t, "ok", "ok\n");
    file(&t, "a/../../escape", "x");
    tb_close(&t);
    expect_refused("escapes the layer (..)");
}

static void test_absolute_path_refused(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "none");
    char abs[400];
    snprintf(abs, sizeof(abs), "%s/escape", base);
    file(&t, abs, "x");
    tb_close(&t);
    expect_refused("is an absolute path");
}

static void test_symlink_escape_refused(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    symlnk(&t, "evil", outside);
    file(&t, "evil/pwned", "x");
    tb_close(&t);
    expect_refused("symlink");
}

static void test_relative_symlink_escape_refused(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    symlnk(&t, "evil", "../../outside");
    dir(&t, "evil/sub");
    tb_close(&t);
    expect_refused("symlink");
}

static void test_hardlink_escape_refused(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    hardlnk(&t, "passwd", "../../../../../../etc/passwd");
    tb_close(&t);
    expect_refused("hard link target");
}

static void test_hardlink_through_symlink_refused(void **state)
{
    (void)state;
    char secret[400];
    snprintf(secret, sizeof(secret), "%s/secret", base);
    int fd = open(secret, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    tb t;
    tb_open(&t, "gzip");
    symlnk(&t, "s", base);
    hardlnk(&t, "h", "s/secret");
    tb_close(&t);
    expect_refused("symlink");
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_nlink, 1); /* no link to it was made */
    unlink(secret);
}

static void test_device_nodes_skipped_unless_allowed(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    file(&t, "ok", "ok\n");
    tb_add(&t, "null", AE_IFCHR, 0666, NULL, NULL, 0);
    tb_close(&t);
    ck_err err;
    assert_int_equal(unpack("L", NULL, &err), 0);
    char p[600];
    struct stat st;
    path_of(p, sizeof(p), "null");
    assert_int_equal(lstat(p, &st), -1);
    assert_file("ok", "ok\n", 0644, 0);
    ck_unpack_opts allow = {.allow_devices = true};
    assert_int_equal(unpack("D", &allow, &err), 0);
    snprintf(p, sizeof(p), "%s/D/null", layers);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

static void test_diff_id_mismatch_refused(void **state)
{
    (void)state;
    tb t;
    tb_open(&t, "gzip");
    file(&t, "ok", "ok\n");
    tb_close(&t);
    ck_unpack_opts o = {.expected_diff_id = "sha256:0000000000000000000000000000000000000000000000000000000000000000"};
    ck_err err;
    assert_int_equal(unpack("L", &o, &err), -1);
    assert_non_null(strstr(err.msg, "is not the diff id"));
    assert_int_equal(count_entries(layers), 0);
}

static void test_garbage_refused(void **state)
{
    (void)state;
    int fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static const char junk[] = "\x1f\x8b garbage that is not gzip at all";
    assert_int_equal(write(fd, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
    close(fd);
    expect_refused("layer");
}

/* ---- durability ---------------------------------------------------------------- */

static char disk[300]; /* base/disk: a small ext4 of its own, mounted by the test */

/* The kilobytes written to the device under disk since it was mounted. */
static long disk_written_kb(void)
{
    struct stat st;
    assert_int_equal(stat(disk, &st), 0);
    char link[64], dev[PATH_MAX], path[PATH_MAX + 64];
    snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    assert_non_null(realpath(link, dev));
    snprintf(path, sizeof(path), "/sys/fs/ext4/%s/session_write_kbytes", strrchr(dev, '/') + 1);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    int64_t kb = -1;
    ck_err err;
    assert_int_equal(ck_parse_i64(line, 0, INT64_MAX, &kb, &err), 0);
    return (long)kb;
}

static int setup_disk(void **state)
{
    if (setup(state) < 0)
        return -1;
    snprintf(disk, sizeof(disk), "%s/disk", base);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "truncate -s 64M %s/disk.img && mkfs.ext4 -q -F %s/disk.img && mkdir %s && mount -o loop %s/disk.img %s",
             base, base, disk, base, disk);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown_disk(void **state)
{
    umount2(disk, MNT_DETACH); /* the loop device goes with it (autoclear) */
    return teardown(state);
}

/* A placed layer is a layer the node has: its files must be on disk before
 * it is placed, or a power cut leaves a recorded layer of empty files. The
 * kernel would keep them dirty in memory for half a minute (dirty_expire):
 * the device's write counter shows whether they reached it. */
static void test_placed_layer_is_on_disk(void **state)
{
    (void)state;
    enum { KB = 2048 };
    char *data = malloc((size_t)KB * 1024 + 1);
    assert_non_null(data);
    for (size_t i = 0; i < (size_t)KB * 1024; i++)
        data[i] = (char)('a' + (i * 7919 % 26));
    data[(size_t)KB * 1024] = '\0';
    tb t;
    tb_open(&t, "gzip");
    dir(&t, "data");
    file(&t, "data/big", data);
    tb_close(&t);
    free(data);
    char dest[400];
    snprintf(dest, sizeof(dest), "%s/layer", disk);
    sync();
    long before = disk_written_kb();
    ck_err err;
    assert_int_equal(ck_unpack_layer(blob, dest, NULL, NULL, NULL, &err), 0);
    long written = disk_written_kb() - before;
    if (written < KB)
        fail_msg("only %ld KB of the layer's %d KB reached the disk when it was placed", written, KB);
}

/* ---- content store ------------------------------------------------------------------ */

static void test_content_verifies_digest_and_size(void **state)
{
    (void)state;
    ck_content *c = NULL;
    ck_err err;
    assert_int_equal(ck_content_open(base, &c, &err), 0);
    char d[CK_DIGEST_BUF];
    ck_digest_of("hello", 5, d);
    assert_string_equal(d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    /* wrong content */
    ck_content_writer *w = NULL;
    assert_int_equal(ck_content_writer_open(c, d, 5, &w, &err), 0);
    assert_int_equal(ck_content_write(w, "HELLO", 5, &err), 0);
    assert_int_equal(ck_content_commit(w, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, "content has digest"));
    /* truncated */
    assert_int_equal(ck_content_writer_open(c, d, 5, &w, &err), 0);
    assert_int_equal(ck_content_write(w, "hell", 4, &err), 0);
    assert_int_equal(ck_content_commit(w, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    /* too long */
    assert_int_equal(ck_content_writer_open(c, d, 5, &w, &err), 0);
    assert_int_equal(ck_content_write(w, "hello!", 6, &err), -1);
    ck_content_abort(w);
    assert_false(ck_content_has(c, d));
    char ingest[400];
    snprintf(ingest, sizeof(ingest), "%s/content/ingest", base);
    assert_int_equal(count_entries(ingest), 0);
    /* right */
    assert_int_equal(ck_content_put(c, d, "hello", 5, &err), 0);
    assert_true(ck_content_has(c, d));
    assert_int_equal(ck_content_size(c, d), 5);
    char *buf;
    size_t len;
    assert_int_equal(ck_content_read(c, d, 100, &buf, &len, &err), 0);
    assert_string_equal(buf, "hello");
    free(buf);
    assert_int_equal(ck_content_read(c, d, 4, &buf, &len, &err), -1);
    assert_int_equal(err.kind, CK_E_EXHAUSTED);
    assert_int_equal(ck_content_delete(c, d, &err), 0);
    assert_false(ck_content_has(c, d));
    assert_int_equal(ck_content_delete(c, d, &err), 0);
    assert_int_equal(ck_digest_check("sha512:abcd", &err), -1);
    assert_int_equal(err.kind, CK_E_UNIMPLEMENTED);
    assert_int_equal(ck_digest_check("sha256:ABCD", &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    ck_content_free(c);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_plain_tar),
        T(test_gzip_tar),
        T(test_zstd_tar),
        T(test_whiteouts_become_overlay_whiteouts),
        T(test_dotdot_refused),
        T(test_absolute_path_refused),
        T(test_symlink_escape_refused),
        T(test_relative_symlink_escape_refused),
        T(test_hardlink_escape_refused),
        T(test_hardlink_through_symlink_refused),
        T(test_device_nodes_skipped_unless_allowed),
        T(test_diff_id_mismatch_refused),
        T(test_garbage_refused),
        T(test_content_verifies_digest_and_size),
        cmocka_unit_test_setup_teardown(test_placed_layer_is_on_disk, setup_disk, teardown_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
