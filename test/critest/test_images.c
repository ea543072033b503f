/*
 * Conformance over the wire for the ImageService: a real daemon on a
 * temporary socket and root, pulling from the registry fixture
 * (test/fixtures/registry.sh: plain HTTP, TLS with the fixture's CA,
 * htpasswd basic auth, and a bad registry with a Bearer-token repository),
 * which this suite starts and stops itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "images/images.h"
#include "store/store.h"
#include "test/critest/client.h"
#include "test/critest/daemon.h"
#include "test/critest/registry_fixture.h"

static crit_daemon shared;
static crit_client *client;

/* A reference on one of the fixture registries: ref("PLAIN", "library/busybox"). */
static const char *ref(const char *reg, const char *path)
{
    static __thread char buf[4][600];
    static __thread int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", crit_fx(reg), path);
    return buf[k];
}

/* images.pull_progress_timeout of the shared daemon, in seconds: 2, so the
 * stalled-registry case is quick; 15 when the daemon runs under a wrapper
 * (CRICKET_WRAPPER, valgrind in scripts/valgrind.sh), where a TLS handshake
 * alone can take longer than 2 s. */
static int progress_timeout(void)
{
    return getenv("CRICKET_WRAPPER") != NULL ? 15 : 2;
}

static int start_shared(void **state)
{
    (void)state;
    if (crit_registry_start() < 0)
        return -1;
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "images:\n"
             "  pull_progress_timeout: %d\n"
             "  max_concurrent_downloads: 2\n"
             "registries:\n"
             "  ca_dirs: [%s]\n"
             "  hosts:\n"
             "    \"%s\": {insecure: true}\n"
             "    \"%s\": {insecure: true}\n"
             "    \"%s\": {insecure: true}\n"
             "    \"%s\": {insecure: true}\n"
             "    mirror.invalid:\n"
             "      mirrors: [\"http://%s\", \"http://%s/v2/\"]\n"
             "    \"localhost:%s\":\n"
             "      insecure: true\n"
             "      username: %s\n"
             "      password: %s\n"
             /* the bad registry as two mirrors, the first with credentials of its own */
             "    mirrored.invalid:\n"
             "      mirrors: [\"http://localhost:%s\", \"http://%s\"]\n"
             "    \"localhost:%s\":\n"
             "      username: mirror-user\n"
             "      password: mirror-pass\n",
             progress_timeout(), crit_fx("CERTS_D"), crit_fx("PLAIN"), crit_fx("AUTH"), crit_fx("BAD"), crit_fx("DOWN"),
             crit_fx("DOWN"), crit_fx("PLAIN"), strchr(crit_fx("AUTH"), ':') + 1, crit_fx("USER"), crit_fx("PASS"),
             strchr(crit_fx("BAD"), ':') + 1, crit_fx("BAD"), strchr(crit_fx("BAD"), ':') + 1);
    if (crit_daemon_prepare(&shared, yaml) < 0)
        return -1;
    client = crit_daemon_start_and_connect(&shared);
    return client != NULL ? 0 : -1;
}

static int stop_shared(void **state)
{
    (void)state;
    int rc = crit_daemon_teardown(&shared, client, 15000);
    crit_registry_stop();
    return rc == 0 ? 0 : -1;
}

/* ---- calls ------------------------------------------------------------------------------- */

static grpc_status_code pull_as(const char *image, const Runtime__V1__AuthConfig *auth, char *id, size_t cap,
                                char *details, size_t dcap)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    req.auth = (Runtime__V1__AuthConfig *)auth;
    crit_result r;
    grpc_status_code code =
        crit_call(client, IMAGE("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, 60000, &r);
    if (id != NULL)
        snprintf(id, cap, "%s",
                 code == GRPC_STATUS_OK ? ((Runtime__V1__PullImageResponse *)r.response)->image_ref : "");
    if (details != NULL)
        snprintf(details, dcap, "%s", r.details);
    crit_result_clear(&r);
    return code;
}

static void pull_ok(const char *image, const char *want_id)
{
    char id[128], details[1024];
    grpc_status_code code = pull_as(image, NULL, id, sizeof(id), details, sizeof(details));
    if (code != GRPC_STATUS_OK)
        fail_msg("pull %s: %d %s", image, code, details);
    if (want_id != NULL)
        assert_string_equal(id, want_id);
}

static void pull_fails(const char *image, const Runtime__V1__AuthConfig *auth, grpc_status_code want, const char *why)
{
    char details[1024];
    grpc_status_code code = pull_as(image, auth, NULL, 0, details, sizeof(details));
    if (code != want || strstr(details, why) == NULL)
        fail_msg("pull %s: got %d \"%s\", want %d with \"%s\"", image, code, details, want, why);
}

/* ImageStatus; NULL image when absent. The result must be cleared. */
static Runtime__V1__ImageStatusResponse *status_of(const char *name, bool verbose, crit_result *r)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)name;
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = &spec;
    req.verbose = verbose;
    grpc_status_code code =
        crit_call(client, IMAGE("ImageStatus"), &req.base, &runtime__v1__image_status_response__descriptor, 10000, r);
    if (code != GRPC_STATUS_OK)
        fail_msg("ImageStatus %s: %d %s", name, code, r->details);
    return (Runtime__V1__ImageStatusResponse *)r->response;
}

static bool has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void remove_image(const char *name)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)name;
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    grpc_status_code code =
        crit_call(client, IMAGE("RemoveImage"), &req.base, &runtime__v1__remove_image_response__descriptor, 10000, &r);
    if (code != GRPC_STATUS_OK)
        fail_msg("RemoveImage %s: %d %s", name, code, r.details);
    crit_result_clear(&r);
}

static Runtime__V1__ListImagesResponse *list_images(const char *filter, crit_result *r)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    Runtime__V1__ImageFilter f = RUNTIME__V1__IMAGE_FILTER__INIT;
    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    if (filter != NULL) {
        spec.image = (char *)filter;
        f.image = &spec;
        req.filter = &f;
    }
    grpc_status_code code =
        crit_call(client, IMAGE("ListImages"), &req.base, &runtime__v1__list_images_response__descriptor, 10000, r);
    assert_int_equal(code, GRPC_STATUS_OK);
    return (Runtime__V1__ListImagesResponse *)r->response;
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
    assert_true(img->used_bytes->value <= bytes0 + (1 << 20) + (uint64_t)64 * 1024);
    crit_result_clear(&r);
    unlink(path);
}

/* ---- pulls over the wire ------------------------------------------------------------------ */

static bool host_is_arm64(void)
{
    struct utsname u;
    return uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0;
}

static void assert_names(const char *name, const char *id, const char *tag, const char *digest_ref)
{
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(name, false, &r);
    assert_non_null(st->image);
    assert_string_equal(st->image->id, id);
    assert_string_equal(st->image->spec->image, id);
    if (tag != NULL && !has(st->image->repo_tags, st->image->n_repo_tags, tag))
        fail_msg("%s: no repo tag %s", name, tag);
    if (digest_ref != NULL && !has(st->image->repo_digests, st->image->n_repo_digests, digest_ref))
        fail_msg("%s: no repo digest %s", name, digest_ref);
    assert_true(st->image->size > 1000000); /* busybox-static is about 2 MB, 1 MB gzipped */
    crit_result_clear(&r);
}

static void test_pull_every_fixture_image(void **state)
{
    (void)state;
    char tag[600], dig[700];
    const struct {
        const char *path, *key;
    } images[] = {
        {"library/busybox:latest", "BUSYBOX"}, {"cricket/busybox-oci:1", "BUSYBOX_OCI"}, {"cricket/multi:1", "MULTI"},
        {"cricket/user:uid", "USER_UID"},      {"cricket/user:name", "USER_NAME"},       {"cricket/config:1", "CONFIG"},
    };
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s_ID", images[i].key);
        pull_ok(ref("PLAIN", images[i].path), crit_fx(key));
        snprintf(tag, sizeof(tag), "%s", ref("PLAIN", images[i].path));
        snprintf(key, sizeof(key), "%s_DIGEST", images[i].key);
        const char *tagged = ref("PLAIN", images[i].path);
        const char *colon = strrchr(tagged, ':');
        assert_non_null(colon);
        snprintf(dig, sizeof(dig), "%.*s@%s", (int)(colon - tagged), tagged, crit_fx(key));
        snprintf(key, sizeof(key), "%s_ID", images[i].key);
        assert_names(tag, crit_fx(key), tag, dig);
    }
    /* Short names normalize: busybox without a tag is :latest. */
    assert_names(ref("PLAIN", "library/busybox"), crit_fx("BUSYBOX_ID"), NULL, NULL);
    /* One image, two names: the schema2 and OCI busybox share a config. */
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(crit_fx("BUSYBOX_ID"), false, &r);
    assert_int_equal(st->image->n_repo_tags, 2);
    assert_int_equal(st->image->n_repo_digests, 2);
    crit_result_clear(&r);
}

static void test_index_selects_host_platform(void **state)
{
    (void)state;
    const char *want = host_is_arm64() ? crit_fx("INDEX_ARM64_ID") : crit_fx("INDEX_AMD64_ID");
    pull_ok(ref("PLAIN", "cricket/multiarch:1"), want);
    char dig[700];
    snprintf(dig, sizeof(dig), "%s@%s", ref("PLAIN", "cricket/multiarch"), crit_fx("INDEX_DIGEST"));
    assert_names(ref("PLAIN", "cricket/multiarch:1"), want, ref("PLAIN", "cricket/multiarch:1"), dig);
    if (!host_is_arm64())
        pull_ok(ref("PLAIN", "cricket/multiarch-docker:1"), crit_fx("DLIST_AMD64_ID"));
    /* By digest, the index again. */
    snprintf(dig, sizeof(dig), "%s@%s", ref("PLAIN", "cricket/multiarch"), crit_fx("INDEX_DIGEST"));
    pull_ok(dig, want);
}

static void test_pull_by_digest_and_tag_with_digest(void **state)
{
    (void)state;
    char r1[700];
    snprintf(r1, sizeof(r1), "%s@%s", ref("PLAIN", "library/busybox"), crit_fx("BUSYBOX_DIGEST"));
    pull_ok(r1, crit_fx("BUSYBOX_ID"));
    snprintf(r1, sizeof(r1), "%s@%s", ref("PLAIN", "cricket/config:1"), crit_fx("CONFIG_DIGEST"));
    pull_ok(r1, crit_fx("CONFIG_ID"));
    /* A digest the repository does not have. */
    snprintf(r1, sizeof(r1), "%s@%s", ref("PLAIN", "library/busybox"), crit_fx("CONFIG_DIGEST"));
    pull_fails(r1, NULL, GRPC_STATUS_NOT_FOUND, "not found");
}

static void test_user_by_uid_and_by_name(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/user:uid"), crit_fx("USER_UID_ID"));
    pull_ok(ref("PLAIN", "cricket/user:name"), crit_fx("USER_NAME_ID"));
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(ref("PLAIN", "cricket/user:uid"), false, &r);
    assert_non_null(st->image->uid);
    assert_int_equal(st->image->uid->value, 1000);
    assert_string_equal(st->image->username, "");
    crit_result_clear(&r);
    st = status_of(ref("PLAIN", "cricket/user:name"), false, &r);
    assert_null(st->image->uid);
    assert_string_equal(st->image->username, "nobody");
    crit_result_clear(&r);
}

static void test_verbose_status_has_config(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/config:1"), crit_fx("CONFIG_ID"));
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(ref("PLAIN", "cricket/config:1"), true, &r);
    assert_int_equal(st->n_info, 1);
    assert_string_equal(st->info[0]->key, "info");
    json_error_t jerr;
    json_t *j = json_loads(st->info[0]->value, 0, &jerr);
    assert_non_null(j);
    json_t *c = json_object_get(j, "config");
    char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"cmd\":[\"echo $GREETING\"],\"entrypoint\":[\"/bin/sh\",\"-c\"],"
                              "\"env\":[\"PATH=/usr/bin:/bin\",\"GREETING=hello world\"],"
                              "\"labels\":{\"org.example.fixture\":\"config\"},\"stop_signal\":\"SIGUSR1\","
                              "\"user\":\"\",\"volumes\":[\"/data\"],\"workdir\":\"/tmp\"}");
    free(text);
    assert_string_equal(json_string_value(json_object_get(j, "manifest")), crit_fx("CONFIG_DIGEST"));
    json_decref(j);
    crit_result_clear(&r);
}

/* The "layers" of an image's verbose status (the caller drops it). */
static json_t *verbose_layers(const char *name)
{
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(name, true, &r);
    json_t *j = json_loads(st->info[0]->value, 0, NULL);
    crit_result_clear(&r);
    assert_non_null(j);
    json_t *layers = json_incref(json_object_get(j, "layers"));
    json_decref(j);
    assert_non_null(layers);
    return layers;
}

static void layer_dirs_of(const char *name, char dirs[][300], size_t *n)
{
    json_t *layers = verbose_layers(name);
    size_t i;
    json_t *l;
    *n = 0;
    json_array_foreach(layers, i, l)
    {
        const char *chain = json_string_value(json_object_get(l, "chain_id"));
        snprintf(dirs[(*n)++], 300, "%s/layers/%s", shared.root, chain + 7);
    }
    json_decref(layers);
}

/* The layer digests of an image, from its verbose status. */
static size_t layer_digests_of(const char *name, char digests[][80], size_t cap)
{
    json_t *layers = verbose_layers(name);
    size_t i, n = 0;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        if (n < cap)
            snprintf(digests[n++], 80, "%s", json_string_value(json_object_get(l, "digest")));
    }
    json_decref(layers);
    return n;
}

/* ImageFsInfo's image filesystem figures, and what one walk of content/ and
 * layers/ gives (how they were computed before layers were recorded). */
static void image_fs_figures(uint64_t *bytes, uint64_t *inodes, uint64_t *walked_bytes, uint64_t *walked_inodes)
{
    crit_result r;
    Runtime__V1__ImageFsInfoResponse *info = fs_info(&r);
    *bytes = info->image_filesystems[0]->used_bytes->value;
    *inodes = info->image_filesystems[0]->inodes_used->value;
    crit_result_clear(&r);
    char dir[300];
    uint64_t b[2], i[2];
    ck_err err;
    snprintf(dir, sizeof(dir), "%s/content", shared.root);
    assert_int_equal(ck_dir_usage(dir, &b[0], &i[0], &err), 0);
    snprintf(dir, sizeof(dir), "%s/layers", shared.root);
    assert_int_equal(ck_dir_usage(dir, &b[1], &i[1], &err), 0);
    *walked_bytes = b[0] + b[1];
    *walked_inodes = i[0] + i[1];
}

/* ImageFsInfo answers what a walk of every layer would, from the figures
 * recorded when each layer was unpacked: a file that appears in a layer
 * afterwards (nothing writes there; this stands in for a walk) changes no
 * answer. A layer without a row (unpacked before rows existed) is measured
 * once, then recorded. */
static void test_image_fs_info_sums_recorded_layers(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/config:1"), crit_fx("CONFIG_ID"));
    uint64_t bytes, inodes, walked_bytes, walked_inodes;
    image_fs_figures(&bytes, &inodes, &walked_bytes, &walked_inodes);
    assert_int_equal(bytes, walked_bytes);
    assert_int_equal(inodes, walked_inodes);

    char dirs[2][300], probe[2][400];
    size_t n;
    layer_dirs_of(ref("PLAIN", "cricket/config:1"), dirs, &n);
    assert_int_equal(n, 1);
    snprintf(probe[0], sizeof(probe[0]), "%s/probe-1", dirs[0]);
    snprintf(probe[1], sizeof(probe[1]), "%s/probe-2", dirs[0]);
    write_file_of(probe[0], 1 << 20);
    uint64_t b2, i2, wb2, wi2;
    image_fs_figures(&b2, &i2, &wb2, &wi2);
    assert_true(wb2 >= walked_bytes + (1 << 20)); /* the file is there for a walk ... */
    assert_int_equal(wi2, walked_inodes + 1);
    assert_int_equal(b2, bytes); /* ... and ImageFsInfo did not walk */
    assert_int_equal(i2, inodes);

    /* The layer as a database from before rows knows it: measured once (the
     * probe counts now), recorded (a second probe does not). */
    ck_store *store = NULL;
    ck_err err;
    char chain[80];
    snprintf(chain, sizeof(chain), "sha256:%s", strrchr(dirs[0], '/') + 1);
    assert_int_equal(ck_store_open(shared.root, &store, &err), 0);
    assert_int_equal(ck_store_layer_delete(store, chain, &err), 0);
    image_fs_figures(&b2, &i2, &wb2, &wi2);
    assert_int_equal(b2, wb2);
    assert_int_equal(i2, wi2);
    write_file_of(probe[1], 1 << 20);
    uint64_t b3, i3, wb3, wi3;
    image_fs_figures(&b3, &i3, &wb3, &wi3);
    assert_int_equal(wi3, wi2 + 1);
    assert_int_equal(b3, b2);
    assert_int_equal(i3, i2);
    assert_true(crit_daemon_log_contains(&shared, "measured layer"));

    /* Leave the layer as it was, its row to be measured again. */
    unlink(probe[0]);
    unlink(probe[1]);
    assert_int_equal(ck_store_layer_delete(store, chain, &err), 0);
    ck_store_close(store);
    image_fs_figures(&b3, &i3, &wb3, &wi3);
    assert_int_equal(b3, wb3);
    assert_int_equal(i3, wi3);
}

static void test_whiteouts_visible_in_overlay(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/multi:1"), crit_fx("MULTI_ID"));
    char dirs[8][300];
    size_t n = 0;
    layer_dirs_of(ref("PLAIN", "cricket/multi:1"), dirs, &n);
    assert_int_equal(n, 3);
    char mnt[300], opts[1200], p[400];
    snprintf(mnt, sizeof(mnt), "%s/mnt", crit_registry_dir());
    assert_int_equal(mkdir(mnt, 0755), 0);
    snprintf(opts, sizeof(opts), "lowerdir=%s:%s:%s", dirs[2], dirs[1], dirs[0]);
    if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0)
        fail_msg("mount overlay %s: %s", opts, strerror(errno));
    struct stat st;
    snprintf(p, sizeof(p), "%s/etc/a", mnt);
    assert_int_equal(lstat(p, &st), -1); /* deleted by a whiteout */
    snprintf(p, sizeof(p), "%s/etc/b", mnt);
    assert_int_equal(lstat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/data/x", mnt);
    assert_int_equal(lstat(p, &st), -1); /* hidden by the opaque directory */
    snprintf(p, sizeof(p), "%s/data/z", mnt);
    assert_int_equal(lstat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/etc/setuid", mnt);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    snprintf(p, sizeof(p), "%s/etc/owned", mnt);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_mode & 07777, 0640);
    char val[8] = {0};
    assert_int_equal(getxattr(p, "user.fixture", val, sizeof(val)), 3);
    struct stat c1, c2;
    snprintf(p, sizeof(p), "%s/c", dirs[2]);
    char q[400];
    snprintf(q, sizeof(q), "%s/etc/c", dirs[2]);
    snprintf(p, sizeof(p), "%s/etc/c-link", dirs[2]);
    assert_int_equal(lstat(p, &c1), 0);
    assert_int_equal(lstat(q, &c2), 0);
    assert_int_equal(c1.st_ino, c2.st_ino); /* a hard link in the layer stays one */
    snprintf(p, sizeof(p), "%s/bin/sh", mnt);
    char target[64] = {0};
    assert_int_equal(readlink(p, target, sizeof(target) - 1), 7);
    assert_string_equal(target, "busybox");
    assert_int_equal(umount(mnt), 0);
    rmdir(mnt);
}

static void test_tls_with_fixture_ca(void **state)
{
    (void)state;
    pull_ok(ref("TLS", "library/busybox:latest"), crit_fx("BUSYBOX_ID"));
    /* The same server under a name whose CA directory we do not have: refused. */
    char other[300];
    snprintf(other, sizeof(other), "localhost:%s/library/busybox", strchr(crit_fx("TLS"), ':') + 1);
    pull_fails(other, NULL, GRPC_STATUS_UNAVAILABLE, "certificate");
}

static void test_basic_auth(void **state)
{
    (void)state;
    const char *image = ref("AUTH", "private/busybox:latest");
    pull_fails(image, NULL, GRPC_STATUS_PERMISSION_DENIED, "unauthorized (credentials needed)");
    Runtime__V1__AuthConfig bad = RUNTIME__V1__AUTH_CONFIG__INIT;
    bad.username = (char *)crit_fx("USER");
    bad.password = "wrong";
    pull_fails(image, &bad, GRPC_STATUS_PERMISSION_DENIED, "unauthorized (credentials refused)");
    Runtime__V1__AuthConfig good = RUNTIME__V1__AUTH_CONFIG__INIT;
    good.username = (char *)crit_fx("USER");
    good.password = (char *)crit_fx("PASS");
    char id[128], details[512];
    assert_int_equal(pull_as(image, &good, id, sizeof(id), details, sizeof(details)), GRPC_STATUS_OK);
    assert_string_equal(id, crit_fx("BUSYBOX_ID"));
    /* The same credentials as base64 "user:password" in `auth`. */
    Runtime__V1__AuthConfig b64 = RUNTIME__V1__AUTH_CONFIG__INIT;
    b64.auth = "Zml4dHVyZTpzM2NyZXQtcGFzcw=="; /* fixture:s3cret-pass */
    assert_int_equal(pull_as(image, &b64, id, sizeof(id), details, sizeof(details)), GRPC_STATUS_OK);
}

static void test_bearer_token_flow(void **state)
{
    (void)state;
    const char *image = ref("BAD", "token/busybox:1");
    pull_fails(image, NULL, GRPC_STATUS_PERMISSION_DENIED, "refused the anonymous request");
    Runtime__V1__AuthConfig good = RUNTIME__V1__AUTH_CONFIG__INIT;
    good.username = (char *)crit_fx("USER");
    good.password = (char *)crit_fx("PASS");
    char id[128], details[512];
    grpc_status_code code = pull_as(image, &good, id, sizeof(id), details, sizeof(details));
    if (code != GRPC_STATUS_OK)
        fail_msg("%s", details);
    /* An identity token (OAuth2 refresh token) is exchanged at the realm. */
    Runtime__V1__AuthConfig ident = RUNTIME__V1__AUTH_CONFIG__INIT;
    ident.identity_token = "fixture-identity-token";
    code = pull_as(image, &ident, id, sizeof(id), details, sizeof(details));
    if (code != GRPC_STATUS_OK)
        fail_msg("identity token: %s", details);
    ident.identity_token = "wrong-identity-token";
    pull_fails(image, &ident, GRPC_STATUS_PERMISSION_DENIED, "refused the credentials");
    /* A registry token given by the kubelet is used as it is. */
    Runtime__V1__AuthConfig tok = RUNTIME__V1__AUTH_CONFIG__INIT;
    tok.registry_token = "fixture-token-7f3a";
    assert_int_equal(pull_as(image, &tok, id, sizeof(id), details, sizeof(details)), GRPC_STATUS_OK);
}

/* Lines of a file (a log, what the bad registry recorded) holding both a and b. */
static int file_lines_with(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "r");
    if (f == NULL && errno == ENOENT)
        return 0;
    assert_non_null(f);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, a) != NULL && strstr(line, b) != NULL)
            n++;
    fclose(f);
    return n;
}

#define FIXTURE_BASIC "Basic Zml4dHVyZTpzM2NyZXQtcGFzcw=="    /* the image registry's fixture:s3cret-pass */
#define MIRROR_BASIC "Basic bWlycm9yLXVzZXI6bWlycm9yLXBhc3M=" /* mirror-user:mirror-pass, the mirror's own */

/* A mirror gets the credentials configured for its own host, never those
 * the kubelet (or the config) gave for the image's registry; a token goes
 * only to the endpoint whose challenge earned it. mirrored.invalid's first
 * mirror (the bad registry as localhost) asks for a token and then lacks
 * the image; the second (the same server as 127.0.0.1) serves it to anyone. */
static void test_mirror_gets_only_its_own_credentials(void **state)
{
    (void)state;
    const char *image = "mirrored.invalid/mirror/busybox:1";
    pull_ok(image, NULL);
    Runtime__V1__AuthConfig basic = RUNTIME__V1__AUTH_CONFIG__INIT;
    basic.username = (char *)crit_fx("USER");
    basic.password = (char *)crit_fx("PASS");
    char details[1024];
    grpc_status_code code = pull_as(image, &basic, NULL, 0, details, sizeof(details));
    if (code != GRPC_STATUS_OK)
        fail_msg("pull with the registry's credentials: %d %s", code, details);
    Runtime__V1__AuthConfig tok = RUNTIME__V1__AUTH_CONFIG__INIT;
    tok.registry_token = "kubelet-token-for-the-registry";
    code = pull_as(image, &tok, NULL, 0, details, sizeof(details));
    if (code != GRPC_STATUS_OK)
        fail_msg("pull with the registry's token: %d %s", code, details);

    const char *log = crit_fx("BAD_LOG");
    assert_int_equal(file_lines_with(log, "mirror", FIXTURE_BASIC), 0);
    assert_int_equal(file_lines_with(log, "mirror", "kubelet-token-for-the-registry"), 0);
    /* The first mirror's token was asked for with its own credentials ... */
    assert_true(file_lines_with(log, "GET /mirror-token", MIRROR_BASIC) >= 3);
    /* ... and never shown to the second. */
    char host[80];
    snprintf(host, sizeof(host), "%s GET /v2/mirror/", crit_fx("BAD"));
    assert_true(file_lines_with(log, host, " -\n") >= 3);
    assert_int_equal(file_lines_with(log, host, "Bearer"), 0);
    assert_int_equal(file_lines_with(log, host, "Basic"), 0);
}

/* A registry verified over TLS whose Bearer realm is plain http on a host
 * not configured insecure: no credentials go there, the pull is refused. */
static void test_token_realm_must_be_verified_https(void **state)
{
    (void)state;
    pull_ok(ref("BADTLS", "mirror/busybox:1"), NULL); /* the TLS instance itself is trusted */
    Runtime__V1__AuthConfig basic = RUNTIME__V1__AUTH_CONFIG__INIT;
    basic.username = (char *)crit_fx("USER");
    basic.password = (char *)crit_fx("PASS");
    pull_fails(ref("BADTLS", "tlsrealm/busybox:1"), &basic, GRPC_STATUS_PERMISSION_DENIED,
               "is plain http; credentials and tokens go only over verified https");
    assert_int_equal(file_lines_with(crit_fx("BAD_LOG"), "localhost:", "/token?"), 0);
}

/* A blob of an https registry redirected to plain http is not fetched. */
static void test_no_redirect_from_https_to_http(void **state)
{
    (void)state;
    pull_fails(ref("BADTLS", "tlsredirect/busybox:1"), NULL, GRPC_STATUS_PERMISSION_DENIED,
               "refused a redirect from https to plain http");
    assert_true(file_lines_with(crit_fx("BADTLS_LOG"), "/v2/tlsredirect/busybox/blobs/", "GET") >= 1);
    assert_int_equal(file_lines_with(crit_fx("BAD_LOG"), "/cdn/", "from=tls"), 0);
}

/* A manifest declaring a 1 GiB config: refused from the declared size, and
 * the registry never sees a request for the blob. Layers sent longer than
 * the manifest gives are cut at the declared size. */
static void test_declared_sizes_are_limits(void **state)
{
    (void)state;
    pull_fails(ref("BAD", "bad/hugeconfig:1"), NULL, GRPC_STATUS_INVALID_ARGUMENT,
               "the manifest gives 1073741824 bytes, more than the 8388608 an image config may have; not fetched");
    assert_true(file_lines_with(crit_fx("BAD_LOG"), "/v2/bad/hugeconfig/manifests/1", "GET") >= 1);
    assert_int_equal(file_lines_with(crit_fx("BAD_LOG"), "/v2/bad/hugeconfig/blobs/", "GET"), 0);
    pull_fails(ref("BAD", "bad/oversize:1"), NULL, GRPC_STATUS_INVALID_ARGUMENT, "the manifest gives");
    pull_fails(ref("BAD", "bad/endless:1"), NULL, GRPC_STATUS_INVALID_ARGUMENT, "the manifest gives");
}

/* Every file name in the given directories below the root, sorted, in one string. */
static void snapshot_of(const char *const *sub, size_t n_sub, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n_sub; i++) {
        char d[300];
        snprintf(d, sizeof(d), "%s/%s", shared.root, sub[i]);
        struct dirent **names;
        int n = scandir(d, &names, NULL, alphasort);
        assert_true(n >= 0);
        for (int k = 0; k < n; k++) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "%s/%s\n", sub[i], names[k]->d_name);
            free(names[k]);
        }
        free(names);
    }
}

/* Every file name below the root's content and layers. */
static void snapshot(char *out, size_t cap)
{
    static const char *const sub[] = {"content/sha256", "content/ingest", "layers"};
    snapshot_of(sub, 3, out, cap);
}

static void test_bad_cases_fail_clearly_and_leave_nothing(void **state)
{
    (void)state;
    static char before[65536], after[65536];
    char no_progress[64];
    snprintf(no_progress, sizeof(no_progress), "no progress for %d s", progress_timeout());
    pull_ok(ref("PLAIN", "library/busybox:latest"), crit_fx("BUSYBOX_ID"));
    snapshot(before, sizeof(before));
    const struct {
        const char *repo;
        grpc_status_code code;
        const char *why;
    } cases[] = {
        {"bad/wrongdigest:1", GRPC_STATUS_INVALID_ARGUMENT, "content has digest"},
        {"bad/regzipped:1", GRPC_STATUS_INVALID_ARGUMENT, "content has digest"},
        {"bad/truncated:1", GRPC_STATUS_INVALID_ARGUMENT, "truncated"},
        {"bad/dotdot:1", GRPC_STATUS_INVALID_ARGUMENT, "escapes the layer (..)"},
        {"bad/absolute:1", GRPC_STATUS_INVALID_ARGUMENT, "is an absolute path"},
        {"bad/symlink:1", GRPC_STATUS_INVALID_ARGUMENT, "Cannot extract through symlink"},
        {"bad/hardlink:1", GRPC_STATUS_INVALID_ARGUMENT, "hard link target"},
        {"bad/notjson:1", GRPC_STATUS_INVALID_ARGUMENT, "is not a JSON object"},
        {"bad/unknownmedia:1", GRPC_STATUS_INVALID_ARGUMENT, "unknown manifest media type"},
        {"bad/schema1:1", GRPC_STATUS_UNIMPLEMENTED, "schema 1 manifests are not supported"},
        {"badauth/busybox:1", GRPC_STATUS_INVALID_ARGUMENT, "WWW-Authenticate: realm: unterminated quoted string"},
        {"bad/slow:1", GRPC_STATUS_DEADLINE_EXCEEDED, no_progress},
        {"bad/nosuch:1", GRPC_STATUS_NOT_FOUND, "not found"},
        {"bad/hugeconfig:1", GRPC_STATUS_INVALID_ARGUMENT, "more than the 8388608 an image config may have"},
        {"bad/oversize:1", GRPC_STATUS_INVALID_ARGUMENT, "the manifest gives"},
        {"bad/endless:1", GRPC_STATUS_INVALID_ARGUMENT, "the manifest gives"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pull_fails(ref("BAD", cases[i].repo), NULL, cases[i].code, cases[i].why);
        snapshot(after, sizeof(after));
        if (strcmp(before, after) != 0)
            fail_msg("%s left files behind:\nbefore:\n%safter:\n%s", cases[i].repo, before, after);
        crit_result r;
        Runtime__V1__ImageStatusResponse *st = status_of(ref("BAD", cases[i].repo), false, &r);
        assert_null(st->image);
        crit_result_clear(&r);
    }
    pull_fails(ref("DOWN", "x:1"), NULL, GRPC_STATUS_UNAVAILABLE, "registry unreachable");
    const char *escapes[] = {"/tmp/cricket-escape-dotdot", "/tmp/cricket-escape-absolute",
                             "/tmp/cricket-escape-symlink"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(access(escapes[i], F_OK), -1);
    /* A device node from an image is not created. */
    pull_ok(ref("BAD", "bad/device:1"), NULL);
    char dirs[2][300];
    size_t n;
    layer_dirs_of(ref("BAD", "bad/device:1"), dirs, &n);
    char p[400];
    struct stat st;
    snprintf(p, sizeof(p), "%s/null", dirs[0]);
    assert_int_equal(lstat(p, &st), -1);
    snprintf(p, sizeof(p), "%s/ok", dirs[0]);
    assert_int_equal(lstat(p, &st), 0);
    remove_image(ref("BAD", "bad/device:1"));
}

static void test_invalid_references(void **state)
{
    (void)state;
    pull_fails("Busybox", NULL, GRPC_STATUS_INVALID_ARGUMENT, "must be lowercase");
    pull_fails("busybox:bad/tag", NULL, GRPC_STATUS_INVALID_ARGUMENT, "invalid");
    pull_fails("", NULL, GRPC_STATUS_INVALID_ARGUMENT, "no image given");
    pull_fails("busybox@sha256:123", NULL, GRPC_STATUS_INVALID_ARGUMENT, "64 lower-case hex");
}

static void test_list_filter_and_missing_status(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/user:uid"), crit_fx("USER_UID_ID"));
    crit_result r;
    Runtime__V1__ListImagesResponse *l = list_images(ref("PLAIN", "cricket/user:uid"), &r);
    assert_int_equal(l->n_images, 1);
    assert_string_equal(l->images[0]->id, crit_fx("USER_UID_ID"));
    crit_result_clear(&r);
    l = list_images(ref("PLAIN", "cricket/nothing:here"), &r);
    assert_int_equal(l->n_images, 0);
    crit_result_clear(&r);
    /* Missing: OK without an image. */
    Runtime__V1__ImageStatusResponse *st = status_of(ref("PLAIN", "cricket/nothing:here"), false, &r);
    assert_null(st->image);
    crit_result_clear(&r);
    /* By id, by id without sha256:, by a unique prefix. */
    const char *id = crit_fx("USER_UID_ID");
    const char *names[] = {id, id + 7};
    for (size_t i = 0; i < 2; i++) {
        st = status_of(names[i], false, &r);
        assert_non_null(st->image);
        assert_string_equal(st->image->id, id);
        crit_result_clear(&r);
    }
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%.12s", id + 7);
    st = status_of(prefix, false, &r);
    assert_non_null(st->image);
    assert_string_equal(st->image->id, id);
    crit_result_clear(&r);
}

static void test_stream_images_matches_list(void **state)
{
    (void)state;
    crit_result r;
    Runtime__V1__ListImagesResponse *l = list_images(NULL, &r);
    size_t want = l->n_images;
    assert_true(want >= 2);
    crit_result_clear(&r);
    Runtime__V1__StreamImagesRequest req = RUNTIME__V1__STREAM_IMAGES_REQUEST__INIT;
    crit_stream *s = crit_stream_open(client, IMAGE("StreamImages"), &req.base, 10000);
    size_t got = 0;
    ProtobufCMessage *msg = NULL;
    while (crit_stream_next(s, &runtime__v1__stream_images_response__descriptor, 5000, &msg) == 1) {
        got += ((Runtime__V1__StreamImagesResponse *)msg)->n_images;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    char details[256];
    assert_int_equal(crit_stream_finish(s, 5000, details, sizeof(details)), GRPC_STATUS_OK);
    crit_stream_free(s);
    assert_int_equal(got, want);
}

static void test_remove_by_tag_id_and_digest(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "library/busybox:latest"), crit_fx("BUSYBOX_ID"));
    pull_ok(ref("PLAIN", "cricket/busybox-oci:1"), crit_fx("BUSYBOX_ID"));
    pull_ok(ref("PLAIN", "cricket/user:uid"), crit_fx("USER_UID_ID"));
    /* A tag of an image with another tag: only that tag goes. */
    remove_image(ref("PLAIN", "cricket/busybox-oci:1"));
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(crit_fx("BUSYBOX_ID"), false, &r);
    assert_non_null(st->image);
    assert_false(has(st->image->repo_tags, st->image->n_repo_tags, ref("PLAIN", "cricket/busybox-oci:1")));
    assert_true(has(st->image->repo_tags, st->image->n_repo_tags, ref("PLAIN", "library/busybox:latest")));
    crit_result_clear(&r);
    /* By id: the image and all its names; its config blob goes, the layer
     * shared with cricket/user:uid stays. */
    char cfg_blob[400];
    snprintf(cfg_blob, sizeof(cfg_blob), "%s/content/sha256/%s", shared.root, crit_fx("BUSYBOX_ID") + 7);
    assert_int_equal(access(cfg_blob, F_OK), 0);
    remove_image(crit_fx("BUSYBOX_ID"));
    st = status_of(ref("PLAIN", "library/busybox:latest"), false, &r);
    assert_null(st->image);
    crit_result_clear(&r);
    assert_int_equal(access(cfg_blob, F_OK), -1);
    char dirs[2][300];
    size_t n;
    layer_dirs_of(ref("PLAIN", "cricket/user:uid"), dirs, &n);
    assert_int_equal(access(dirs[0], F_OK), 0);
    /* Again, and something never there: OK. */
    remove_image(crit_fx("BUSYBOX_ID"));
    remove_image(ref("PLAIN", "never/was:here"));
    /* By digest reference. */
    char dig[700];
    snprintf(dig, sizeof(dig), "%s@%s", ref("PLAIN", "cricket/user"), crit_fx("USER_UID_DIGEST"));
    remove_image(dig);
    st = status_of(crit_fx("USER_UID_ID"), false, &r);
    assert_null(st->image);
    crit_result_clear(&r);
}

static void *pull_thread(void *arg)
{
    char id[128], details[512];
    grpc_status_code code = pull_as(arg, NULL, id, sizeof(id), details, sizeof(details));
    return (void *)(intptr_t)(code == GRPC_STATUS_OK && strcmp(id, crit_fx("MULTI_ID")) == 0);
}

/* How often the daemon's log says it downloaded the blob. */
static int downloads_of(const char *digest)
{
    FILE *f = fopen(shared.log, "r");
    assert_non_null(f);
    char line[4096], needle[128];
    snprintf(needle, sizeof(needle), "downloaded blob %s ", digest);
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(f);
    return n;
}

static void test_concurrent_pulls_share_downloads(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/multi:1"), crit_fx("MULTI_ID"));
    char digests[3][80];
    assert_int_equal(layer_digests_of(crit_fx("MULTI_ID"), digests, 3), 3);
    const char *top = digests[2];
    remove_image(crit_fx("MULTI_ID"));
    int before = downloads_of(top);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, pull_thread, (void *)ref("PLAIN", "cricket/multi:1")), 0);
    for (int i = 0; i < 3; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        assert_true(ok != NULL);
    }
    assert_int_equal(downloads_of(top), before + 1);
}

/* Whether the daemon's content store holds the blob. */
static bool blob_stored(const char *digest)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/content/sha256/%s", shared.root, digest + 7);
    return access(p, F_OK) == 0;
}

/* ---- durability ------------------------------------------------------------------------- */

static unsigned files_checked, files_in_memory;

/* True when some extent of path is still in delayed allocation: data the
 * kernel holds in memory and writes back up to half a minute later. */
static bool held_in_memory(const char *path)
{
    enum { EXTENTS = 32 };
    struct fiemap *fm = calloc(1, sizeof(*fm) + EXTENTS * sizeof(struct fiemap_extent));
    assert_non_null(fm);
    fm->fm_length = FIEMAP_MAX_OFFSET;
    fm->fm_extent_count = EXTENTS;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    assert_true(fd >= 0);
    int rc = ioctl(fd, FS_IOC_FIEMAP, fm);
    int e = errno;
    close(fd);
    if (rc < 0) {
        free(fm);
        fail_msg("FIEMAP %s: %s (the suite's tree must be on a filesystem such as ext4)", path, strerror(e));
    }
    bool held = false;
    for (unsigned i = 0; i < fm->fm_mapped_extents; i++)
        held |= (fm->fm_extents[i].fe_flags & (FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_UNKNOWN)) != 0;
    free(fm);
    return held;
}

static int check_on_disk(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode) && st->st_size > 0) {
        files_checked++;
        if (held_in_memory(path)) {
            fprintf(stderr, "not on disk yet: %s\n", path);
            files_in_memory++;
        }
    }
    return 0;
}

/* When PullImage answers, the layers' files are on disk: a power cut
 * right after must not leave a recorded image whose files are empty.
 * First in the list, so this pull is what unpacks the layers. */
static void test_pulled_layers_are_on_disk(void **state)
{
    (void)state;
    const char *name = ref("PLAIN", "library/busybox");
    time_t t0 = time(NULL);
    pull_ok(name, crit_fx("BUSYBOX_ID"));
    char dirs[8][300];
    size_t n = 0;
    layer_dirs_of(name, dirs, &n);
    assert_true(n > 0);
    files_checked = files_in_memory = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        assert_int_equal(stat(dirs[i], &st), 0);
        if (st.st_ctime < t0 - 1)
            fail_msg("layer %s was there before this pull: the test must unpack it", dirs[i]);
        assert_int_equal(nftw(dirs[i], check_on_disk, 16, FTW_PHYS), 0);
    }
    assert_true(files_checked > 0);
    if (files_in_memory > 0)
        fail_msg("%u of the %u files of the pulled layers were not on disk yet", files_in_memory, files_checked);
}

/* A pulled layer is kept as its tree, not also as its blob: the config and
 * the manifest stay in the content store, the layers' blobs never enter
 * it. Layer blobs already there (an older cricket kept them; an import
 * stores them to unpack them) go at the next collection, here the one at
 * start-up, and the image still runs from its trees. */
static void test_layers_kept_as_trees_not_blobs(void **state)
{
    (void)state;
    const char *name = ref("PLAIN", "cricket/multi:1");
    pull_ok(name, crit_fx("MULTI_ID"));
    char digests[8][80], dirs[8][300];
    size_t n = layer_digests_of(name, digests, 8), nd = 0;
    layer_dirs_of(name, dirs, &nd);
    assert_int_equal(n, 3);
    assert_int_equal(nd, n);
    assert_true(blob_stored(crit_fx("MULTI_ID"))); /* the config */
    for (size_t i = 0; i < n; i++) {
        if (blob_stored(digests[i]))
            fail_msg("layer %s was kept as a blob too", digests[i]);
        assert_int_equal(access(dirs[i], F_OK), 0);
    }

    /* What an older cricket left: the layers' blobs beside their trees. */
    for (size_t i = 0; i < n; i++) {
        char p[400];
        snprintf(p, sizeof(p), "%s/content/sha256/%s", shared.root, digests[i] + 7);
        write_file_of(p, 4096);
    }
    crit_close(client);
    assert_int_equal(crit_daemon_stop(&shared, 15000), 0);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    for (size_t i = 0; i < n; i++) {
        if (blob_stored(digests[i]))
            fail_msg("layer blob %s outlived the collection at start-up", digests[i]);
        assert_int_equal(access(dirs[i], F_OK), 0);
    }
    assert_true(blob_stored(crit_fx("MULTI_ID")));
    int downloads[8];
    for (size_t i = 0; i < n; i++)
        downloads[i] = downloads_of(digests[i]);
    pull_ok(name, crit_fx("MULTI_ID"));
    for (size_t i = 0; i < n; i++) /* everything is there: nothing fetched */
        assert_int_equal(downloads_of(digests[i]), downloads[i]);
}

static void test_images_survive_restart(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/config:1"), crit_fx("CONFIG_ID"));
    crit_result r;
    Runtime__V1__ListImagesResponse *l = list_images(NULL, &r);
    size_t before = l->n_images;
    crit_result_clear(&r);
    crit_close(client);
    assert_int_equal(crit_daemon_stop(&shared, 15000), 0);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    l = list_images(NULL, &r);
    assert_int_equal(l->n_images, before);
    crit_result_clear(&r);
    assert_names(ref("PLAIN", "cricket/config:1"), crit_fx("CONFIG_ID"), ref("PLAIN", "cricket/config:1"), NULL);
    char dirs[2][300];
    size_t n;
    layer_dirs_of(ref("PLAIN", "cricket/config:1"), dirs, &n);
    assert_int_equal(access(dirs[0], F_OK), 0);
    /* Pulling again finds everything there. */
    pull_ok(ref("PLAIN", "cricket/config:1"), crit_fx("CONFIG_ID"));
}

static int import(const char *file, char *out, size_t cap)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", crit_fx("ARCHIVES"), file);
    const char *args[] = {"--config", shared.config, "image", "import", path, NULL};
    return crit_run_cricket(args, out, cap);
}

static void test_import_archives_beside_running_daemon(void **state)
{
    (void)state;
    char out[8192];
    int rc = import("docker.tar", out, sizeof(out));
    if (rc != 0)
        fail_msg("import docker.tar: %d: %s", rc, out);
    assert_non_null(strstr(out, crit_fx("ARCHIVE_DOCKER_ID")));
    assert_names("cricket.test/imported/docker:1", crit_fx("ARCHIVE_DOCKER_ID"), "cricket.test/imported/docker:1",
                 NULL);
    rc = import("oci.tar", out, sizeof(out));
    if (rc != 0)
        fail_msg("import oci.tar: %d: %s", rc, out);
    char dig[300];
    snprintf(dig, sizeof(dig), "cricket.test/imported/oci@%s", crit_fx("ARCHIVE_OCI_DIGEST"));
    assert_names("cricket.test/imported/oci:1", crit_fx("ARCHIVE_OCI_ID"), "cricket.test/imported/oci:1", dig);
    char dirs[2][300];
    size_t n;
    layer_dirs_of("cricket.test/imported/oci:1", dirs, &n);
    char p[400];
    snprintf(p, sizeof(p), "%s/bin/busybox", dirs[0]);
    assert_int_equal(access(p, X_OK), 0);
    /* The archives' layers are kept as trees: their blobs, stored to be
     * unpacked, are gone once the images are recorded. */
    const char *imported[] = {"cricket.test/imported/docker:1", "cricket.test/imported/oci:1"};
    for (size_t k = 0; k < 2; k++) {
        char digests[8][80];
        size_t nl = layer_digests_of(imported[k], digests, 8);
        assert_true(nl > 0);
        for (size_t i = 0; i < nl; i++)
            if (blob_stored(digests[i]))
                fail_msg("%s: layer blob %s kept after the import", imported[k], digests[i]);
    }
    /* A blob that does not match its name: refused, no image. */
    assert_int_not_equal(import("corrupt.tar", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "content has digest"));
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(crit_fx("ARCHIVE_CORRUPT_ID"), false, &r);
    assert_null(st->image);
    crit_result_clear(&r);
    /* Not a tarball at all. */
    const char *args[] = {"--config", shared.config, "image", "import", "/etc/passwd", NULL};
    assert_int_not_equal(crit_run_cricket(args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "cricket image import"));
}

/* GET path on the bad registry (its /gate/open and /gate/close switches). */
static void bad_registry_get(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "curl -sf -m 10 -o /dev/null http://%s%s", crit_fx("BAD"), path);
    if (system(cmd) != 0)
        fail_msg("%s failed", cmd);
}

/* Whether the daemon's content/ingest holds a download or an import's
 * blob not yet placed. */
static bool ingest_busy(void)
{
    char d[300];
    snprintf(d, sizeof(d), "%s/content/ingest", shared.root);
    DIR *dir = opendir(d);
    assert_non_null(dir);
    struct dirent *e;
    bool busy = false;
    while (!busy && (e = readdir(dir)) != NULL)
        busy = e->d_name[0] != '.';
    closedir(dir);
    return busy;
}

/* The path of a tree the daemon is unpacking in layers/ ("<chain>.tmp-*":
 * a layer downloading into its unpack), looking `tries` times. */
static bool inflight_layer(char *name, size_t cap, int tries)
{
    char d[300];
    snprintf(d, sizeof(d), "%s/layers", shared.root);
    for (int i = 0; i < tries; i++) {
        DIR *dir = opendir(d);
        assert_non_null(dir);
        struct dirent *e;
        bool found = false;
        while (!found && (e = readdir(dir)) != NULL) {
            if (strstr(e->d_name, ".tmp-") != NULL) {
                snprintf(name, cap, "%s/%s", d, e->d_name);
                found = true;
            }
        }
        closedir(dir);
        if (found)
            return true;
        if (i + 1 < tries)
            usleep(100 * 1000);
    }
    return false;
}

typedef struct pull_job {
    const char *image;
    grpc_status_code code;
    char details[1024];
} pull_job;

static void *pull_job_run(void *arg)
{
    pull_job *j = arg;
    j->code = pull_as(j->image, NULL, NULL, 0, j->details, sizeof(j->details));
    return NULL;
}

/* `cricket image import` beside a pull in flight: the importer must leave the
 * daemon's unfinished layer (downloading into its unpack) alone, and the pull
 * must finish. */
static void test_import_beside_a_pull_keeps_its_download(void **state)
{
    (void)state;
    bad_registry_get("/gate/close");
    pull_job job = {.image = ref("BAD", "gate/busybox:1")};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pull_job_run, &job), 0);
    char inflight[600];
    bool started = inflight_layer(inflight, sizeof(inflight), 150);
    char out[8192];
    int rc = started ? import("docker.tar", out, sizeof(out)) : -1;
    bool kept = started && access(inflight, F_OK) == 0;
    bad_registry_get("/gate/open");
    pthread_join(t, NULL);
    assert_true(started);
    if (rc != 0)
        fail_msg("import docker.tar: %d: %s", rc, out);
    if (!kept)
        fail_msg("the import removed the daemon's download in flight %s", inflight);
    if (job.code != GRPC_STATUS_OK)
        fail_msg("pull beside the import: %d %s", job.code, job.details);
    remove_image(ref("BAD", "gate/busybox:1"));
}

typedef struct import_job {
    const char *path;
    int rc;
    char out[8192];
} import_job;

static void *import_job_run(void *arg)
{
    import_job *j = arg;
    const char *args[] = {"--config", shared.config, "image", "import", j->path, NULL};
    j->rc = crit_run_cricket(args, j->out, sizeof(j->out));
    return NULL;
}

/* Where a tar's entries end and its end-of-archive blocks begin. */
static size_t tar_entries_end(const unsigned char *tar, size_t len)
{
    static const unsigned char zero[512];
    size_t off = 0;
    while (off + 512 <= len && memcmp(tar + off, zero, 512) != 0) {
        char size[13] = {0};
        memcpy(size, tar + off + 124, 12);
        size_t n = (size_t)strtoull(size, NULL, 8);
        off += 512 + (n + 511) / 512 * 512;
    }
    return off;
}

/* The daemon collects garbage while an import beside it has stored blobs
 * it has not recorded yet: they must stay. The tarball comes through a FIFO
 * so the import waits, mid-way, for as long as the test needs. */
static void test_collection_spares_an_import_in_flight(void **state)
{
    (void)state;
    remove_image(crit_fx("ARCHIVE_DOCKER_ID"));
    char cfg_blob[400];
    snprintf(cfg_blob, sizeof(cfg_blob), "%s/content/sha256/%s", shared.root, crit_fx("ARCHIVE_DOCKER_ID") + 7);
    assert_int_equal(access(cfg_blob, F_OK), -1);
    char tarpath[400];
    snprintf(tarpath, sizeof(tarpath), "%s/docker.tar", crit_fx("ARCHIVES"));
    FILE *f = fopen(tarpath, "rb");
    assert_non_null(f);
    static unsigned char tar[16 << 20];
    size_t len = fread(tar, 1, sizeof(tar), f);
    fclose(f);
    assert_true(len > 0 && len < sizeof(tar));
    size_t end = tar_entries_end(tar, len);
    assert_true(end > 0 && end < len);

    import_job job = {0};
    char fifo[300];
    snprintf(fifo, sizeof(fifo), "%s/import.fifo", crit_registry_dir());
    assert_int_equal(mkfifo(fifo, 0600), 0);
    job.path = fifo;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, import_job_run, &job), 0);
    int fd = open(fifo, O_WRONLY); /* waits for the importer to open it */
    assert_true(fd >= 0);
    assert_int_equal(write(fd, tar, end), (ssize_t)end);
    /* Every entry is stored: the importer now waits for the end of the archive. */
    bool stored = false;
    for (int i = 0; i < 150 && !stored; i++) {
        stored = access(cfg_blob, F_OK) == 0;
        if (!stored)
            usleep(100 * 1000);
    }
    for (int i = 0; i < 150 && stored && ingest_busy(); i++)
        usleep(100 * 1000);
    remove_image("never/was:here"); /* a remove collects garbage */
    bool kept = access(cfg_blob, F_OK) == 0;
    assert_int_equal(write(fd, tar + end, len - end), (ssize_t)(len - end));
    close(fd);
    pthread_join(t, NULL);
    unlink(fifo);
    assert_true(stored);
    if (!kept)
        fail_msg("garbage collection removed %s, stored by the import in flight", cfg_blob);
    if (job.rc != 0)
        fail_msg("import through %s: %d: %s", fifo, job.rc, job.out);
    assert_names("cricket.test/imported/docker:1", crit_fx("ARCHIVE_DOCKER_ID"), "cricket.test/imported/docker:1",
                 NULL);
}

static void test_mirrors_in_order_then_origin(void **state)
{
    (void)state;
    /* mirror.invalid's first mirror is down, its second serves the image;
     * the origin (which does not exist) is never needed. */
    pull_ok("mirror.invalid/library/busybox", crit_fx("BUSYBOX_ID"));
    assert_names("mirror.invalid/library/busybox:latest", crit_fx("BUSYBOX_ID"),
                 "mirror.invalid/library/busybox:latest", NULL);
    assert_true(crit_daemon_log_contains(&shared, "trying the next endpoint"));
}

static void test_credentials_from_config(void **state)
{
    (void)state;
    char image[300];
    snprintf(image, sizeof(image), "localhost:%s/private/busybox:latest", strchr(crit_fx("AUTH"), ':') + 1);
    pull_ok(image, crit_fx("BUSYBOX_ID"));
}

static void test_blob_redirects_followed(void **state)
{
    (void)state;
    pull_ok(ref("BAD", "redirect/busybox:1"), NULL);
    crit_result r;
    Runtime__V1__ImageStatusResponse *st = status_of(ref("BAD", "redirect/busybox:1"), false, &r);
    assert_non_null(st->image);
    crit_result_clear(&r);
}

/* Lines of the daemon's log holding both a and b. */
static int log_lines_with(const char *a, const char *b)
{
    return file_lines_with(shared.log, a, b);
}

static void test_client_deadline_stops_the_pull(void **state)
{
    (void)state;
    static char before[65536], after[65536];
    snapshot(before, sizeof(before));
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)ref("BAD", "bad/slow:1");
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    /* The deadline (0.7 s) passes before the progress timeout (2 s) would. */
    assert_int_equal(
        crit_call(client, IMAGE("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, 700, &r),
        GRPC_STATUS_DEADLINE_EXCEEDED);
    crit_result_clear(&r);
    for (int i = 0; i < 50 && log_lines_with("bad/slow:1", ": cancelled") == 0; i++)
        usleep(100 * 1000);
    assert_int_equal(log_lines_with("bad/slow:1", ": cancelled"), 1);
    snapshot(after, sizeof(after));
    assert_string_equal(before, after);
}

/* Starts a pull of gate/busybox, held open, and waits until its layer is
 * downloading and unpacking at once. While it runs, no garbage collection
 * happens, so what a failed pull beside it leaves would stay. */
static bool start_gated_pull(pull_job *job, pthread_t *t)
{
    bad_registry_get("/gate/close");
    *job = (pull_job){.image = ref("BAD", "gate/busybox:1")};
    assert_int_equal(pthread_create(t, NULL, pull_job_run, job), 0);
    char inflight[600];
    return inflight_layer(inflight, sizeof(inflight), 150);
}

/* The first layer's digest in the bad registry's manifest of repo:1. */
static void first_layer_of(const char *repo, char *digest, size_t cap)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "curl -sf -m 10 http://%s/v2/%s/manifests/1", crit_fx("BAD"), repo);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    json_error_t jerr;
    json_t *m = json_loadf(f, 0, &jerr);
    pclose(f);
    assert_non_null(m);
    const char *d = json_string_value(json_object_get(json_array_get(json_object_get(m, "layers"), 0), "digest"));
    assert_non_null(d);
    snprintf(digest, cap, "%s", d);
    json_decref(m);
}

/* A layer is unpacked while it downloads, and its blob is verified only at
 * its end: a blob that is not the one the manifest names (the same tar,
 * gzipped with another header time, so the unpack itself succeeds) and a
 * pull cancelled mid-layer leave neither tree nor blob nor download, even
 * when no garbage collection follows to sweep them (a pull in flight
 * beside them holds it off; their manifests and configs, stored before,
 * wait for the next collection as always). */
static void test_streamed_layers_that_fail_leave_nothing(void **state)
{
    (void)state;
    static const char *const sub[] = {"content/ingest", "layers"};
    static char before[65536], after_wrong[65536], after_cancel[65536];
    char regzipped[128], slow[128];
    first_layer_of("bad/regzipped", regzipped, sizeof(regzipped));
    first_layer_of("bad/slow", slow, sizeof(slow));
    pull_job job;
    pthread_t t;
    bool started = start_gated_pull(&job, &t);
    char details[1024] = "";
    grpc_status_code wrong = GRPC_STATUS_OK, cancelled = GRPC_STATUS_OK;
    if (started) {
        snapshot_of(sub, 2, before, sizeof(before));
        wrong = pull_as(ref("BAD", "bad/regzipped:1"), NULL, NULL, 0, details, sizeof(details));
        snapshot_of(sub, 2, after_wrong, sizeof(after_wrong));
        Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
        spec.image = (char *)ref("BAD", "bad/slow:1");
        Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
        req.image = &spec;
        crit_result r;
        int lines = log_lines_with("bad/slow:1", ": cancelled");
        cancelled =
            crit_call(client, IMAGE("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, 700, &r);
        crit_result_clear(&r);
        for (int i = 0; i < 50 && log_lines_with("bad/slow:1", ": cancelled") == lines; i++)
            usleep(100 * 1000);
        snapshot_of(sub, 2, after_cancel, sizeof(after_cancel));
    }
    bool blobs_stored = blob_stored(regzipped) || blob_stored(slow);
    bad_registry_get("/gate/open");
    pthread_join(t, NULL);
    remove_image(ref("BAD", "gate/busybox:1"));
    assert_true(started);
    assert_int_equal(wrong, GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(details, "content has digest"));
    assert_int_equal(cancelled, GRPC_STATUS_DEADLINE_EXCEEDED);
    assert_string_equal(before, after_wrong);
    assert_string_equal(before, after_cancel);
    assert_false(blobs_stored);
    if (job.code != GRPC_STATUS_OK)
        fail_msg("the gated pull: %d %s", job.code, job.details);
}

/* The daemon killed while a layer downloads into its unpack: the next start
 * removes the unfinished download and the half-unpacked tree, and the pull
 * then succeeds. */
static void test_daemon_killed_mid_streamed_unpack_recovers(void **state)
{
    (void)state;
    static char before[65536], after[65536];
    snapshot(before, sizeof(before));
    pull_job job;
    pthread_t t;
    bool started = start_gated_pull(&job, &t);
    crit_daemon_kill(&shared);
    pthread_join(t, NULL);
    crit_close(client);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    snapshot(after, sizeof(after));
    bad_registry_get("/gate/open");
    assert_true(started);
    assert_int_not_equal(job.code, GRPC_STATUS_OK);
    assert_string_equal(before, after);
    pull_ok(ref("BAD", "gate/busybox:1"), NULL);
    remove_image(ref("BAD", "gate/busybox:1"));
}

static void test_image_in_use_by_container_is_kept(void **state)
{
    (void)state;
    pull_ok(ref("PLAIN", "cricket/user:name"), crit_fx("USER_NAME_ID"));
    /* A container record naming the image, written as the containers
     * domain will write it (the store is shared through SQLite). */
    ck_store *store = NULL;
    ck_err err;
    assert_int_equal(ck_store_open(shared.root, &store, &err), 0);
    ck_pod_record pod = {.id = "pod-in-use", .name = "p", .ns = "default", .uid = "u"};
    ck_container_record ctr = {
        .id = "ctr-in-use", .pod_id = "pod-in-use", .name = "c", .image_ref = (char *)crit_fx("USER_NAME_ID")};
    assert_int_equal(ck_store_pod_put(store, &pod, &err), 0);
    assert_int_equal(ck_store_container_put(store, &ctr, &err), 0);
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)ref("PLAIN", "cricket/user:name");
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    assert_int_equal(
        crit_call(client, IMAGE("RemoveImage"), &req.base, &runtime__v1__remove_image_response__descriptor, 10000, &r),
        GRPC_STATUS_FAILED_PRECONDITION);
    assert_non_null(strstr(r.details, "in use by container ctr-in-use"));
    crit_result_clear(&r);
    Runtime__V1__ImageStatusResponse *st = status_of(crit_fx("USER_NAME_ID"), false, &r);
    assert_non_null(st->image);
    crit_result_clear(&r);
    assert_int_equal(ck_store_container_delete(store, "ctr-in-use", &err), 0);
    assert_int_equal(ck_store_pod_delete(store, "pod-in-use", &err), 0);
    ck_store_close(store);
    remove_image(ref("PLAIN", "cricket/user:name"));
    st = status_of(crit_fx("USER_NAME_ID"), false, &r);
    assert_null(st->image);
    crit_result_clear(&r);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pulled_layers_are_on_disk),
        cmocka_unit_test(test_image_fs_info_counts_our_data),
        cmocka_unit_test(test_pull_every_fixture_image),
        cmocka_unit_test(test_index_selects_host_platform),
        cmocka_unit_test(test_pull_by_digest_and_tag_with_digest),
        cmocka_unit_test(test_user_by_uid_and_by_name),
        cmocka_unit_test(test_verbose_status_has_config),
        cmocka_unit_test(test_whiteouts_visible_in_overlay),
        cmocka_unit_test(test_image_fs_info_sums_recorded_layers),
        cmocka_unit_test(test_tls_with_fixture_ca),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_bearer_token_flow),
        cmocka_unit_test(test_mirrors_in_order_then_origin),
        cmocka_unit_test(test_credentials_from_config),
        cmocka_unit_test(test_blob_redirects_followed),
        cmocka_unit_test(test_mirror_gets_only_its_own_credentials),
        cmocka_unit_test(test_token_realm_must_be_verified_https),
        cmocka_unit_test(test_no_redirect_from_https_to_http),
        cmocka_unit_test(test_declared_sizes_are_limits),
        cmocka_unit_test(test_bad_cases_fail_clearly_and_leave_nothing),
        cmocka_unit_test(test_client_deadline_stops_the_pull),
        cmocka_unit_test(test_invalid_references),
        cmocka_unit_test(test_list_filter_and_missing_status),
        cmocka_unit_test(test_stream_images_matches_list),
        cmocka_unit_test(test_remove_by_tag_id_and_digest),
        cmocka_unit_test(test_image_in_use_by_container_is_kept),
        cmocka_unit_test(test_concurrent_pulls_share_downloads),
        cmocka_unit_test(test_layers_kept_as_trees_not_blobs),
        cmocka_unit_test(test_import_archives_beside_running_daemon),
        cmocka_unit_test(test_import_beside_a_pull_keeps_its_download),
        cmocka_unit_test(test_collection_spares_an_import_in_flight),
        cmocka_unit_test(test_streamed_layers_that_fail_leave_nothing),
        cmocka_unit_test(test_daemon_killed_mid_streamed_unpack_recovers),
        cmocka_unit_test(test_images_survive_restart),
    };
    int failed = cmocka_run_group_tests_name("critest_images", tests, start_shared, stop_shared);
    grpc_shutdown();
    return failed;
}
