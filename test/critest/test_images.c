/*
 * Conformance over the wire for the ImageService: a real daemon on a
 * temporary socket and root.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"

static crit_daemon shared;
static crit_client *client;

static int start_shared(void **state)
{
    (void)state;
    if (crit_daemon_prepare(&shared, NULL) < 0 || crit_daemon_start(&shared) < 0)
        return -1;
    client = crit_connect(shared.socket);
    return client != NULL ? 0 : -1;
}

static int stop_shared(void **state)
{
    (void)state;
    crit_close(client);
    int rc = crit_daemon_stop(&shared, 15000);
    if (rc != 0)
        crit_daemon_dump_log(&shared);
    crit_daemon_cleanup(&shared);
    return rc == 0 ? 0 : -1;
}

static Runtime__V1__ImageFsInfoResponse *fs_info(crit_result *r)
{
    Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
    grpc_status_code code =
        crit_call(client, IMAGE("ImageFsInfo"), &req.base, &runtime__v1__image_fs_info_response__descriptor, 10000, r);
    if (code != GRPC_STATUS_OK)
        fprintf(stderr, "ImageFsInfo: %d %s\n", code, r->details);
    assert_int_equal(code, GRPC_STATUS_OK);
    return (Runtime__V1__ImageFsInfoResponse *)r->response;
}

static void write_file_of(const char *path, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    for (size_t done = 0; done < size; done += sizeof(buf))
        assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    assert_int_equal(fsync(fd), 0);
    close(fd);
}

static void test_image_fs_info_counts_our_data(void **state)
{
    (void)state;
    crit_result r;
    Runtime__V1__ImageFsInfoResponse *info = fs_info(&r);
    assert_int_equal(info->n_image_filesystems, 1);
    assert_int_equal(info->n_container_filesystems, 1);
    Runtime__V1__FilesystemUsage *img = info->image_filesystems[0];
    assert_string_equal(img->fs_id->mountpoint, shared.root);
    assert_non_null(img->used_bytes);
    assert_non_null(img->inodes_used);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    assert_true(img->timestamp <= now_ns && img->timestamp > now_ns - 10LL * 1000000000);
    uint64_t bytes0 = img->used_bytes->value, inodes0 = img->inodes_used->value;
    assert_true(inodes0 >= 4); /* content, content/sha256, content/ingest, layers */
    crit_result_clear(&r);

    /* One MiB and one inode more in the layers dir shows up exactly. */
    char path[256];
    snprintf(path, sizeof(path), "%s/layers/probe", shared.root);
    write_file_of(path, 1 << 20);
    info = fs_info(&r);
    img = info->image_filesystems[0];
    assert_int_equal(img->inodes_used->value, inodes0 + 1);
    assert_true(img->used_bytes->value >= bytes0 + (1 << 20));
    assert_true(img->used_bytes->value <= bytes0 + (1 << 20) + 64 * 1024);
    crit_result_clear(&r);
    unlink(path);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_fs_info_counts_our_data),
    };
    int failed = cmocka_run_group_tests_name("critest_images", tests, start_shared, stop_shared);
    grpc_shutdown();
    return failed;
}
