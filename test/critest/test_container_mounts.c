/*
 * critest_container_mounts: a container's mounts over the wire, checked
 * from inside real containers and from the host: mount propagation in
 * each mode (private, host to container, bidirectional), read-only binds
 * that stay read-only on the top mount only, recursive read-only binds
 * (read-only at every depth, refused where they cannot hold, no clone left
 * on the host), a read-only root filesystem,
 * host paths that are symlinks, absent host paths, and file binds as the
 * kubelet makes them for the termination message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/container_fixture.h"
#include "test/critest/registry_fixture.h"

static crit_ctr_suite S;

static int start_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_start(&S, "ckv", 50, NULL);
}

static int stop_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_stop(&S);
}

/* ---- host side ---- */

/* "<suite dir>/<name>" into buf, made as an empty directory. */
static void host_dir(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", S.daemon.dir, name);
    assert_int_equal(mkdir(buf, 0755), 0);
}

static void host_subdir(const char *dir, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", dir, name);
    assert_int_equal(mkdir(buf, 0755), 0);
}

/* dir bind-mounted on itself, with propagation flags (MS_SHARED or
 * MS_PRIVATE, recursively): what the kubelet's volume dirs are. */
static void host_mount_point(const char *dir, unsigned long propagation)
{
    assert_int_equal(mount(dir, dir, NULL, MS_BIND, NULL), 0);
    assert_int_equal(mount(NULL, dir, NULL, propagation | MS_REC, NULL), 0);
}

static void host_tmpfs(const char *dir)
{
    assert_int_equal(mount("ckm", dir, "tmpfs", 0, "size=1m"), 0);
}

static void host_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Unmounts everything at or below dir (deepest first: the order of
 * /proc/self/mounts reversed), then removes the tree. */
static void host_remove(const char *dir)
{
    for (int round = 0; round < 8; round++) {
        FILE *f = fopen("/proc/self/mounts", "re");
        assert_non_null(f);
        char line[1024], last[512] = "";
        size_t len = strlen(dir);
        while (fgets(line, sizeof(line), f) != NULL) {
            char target[512];
            if (sscanf(line, "%*s %511s", target) == 1 && strncmp(target, dir, len) == 0 &&
                (target[len] == '\0' || target[len] == '/'))
                snprintf(last, sizeof(last), "%s", target);
        }
        fclose(f);
        if (last[0] == '\0')
            break;
        assert_int_equal(umount2(last, MNT_DETACH), 0);
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A refused or failed creation left no container. */
static void expect_no_container(void)
{
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, NULL, &r);
    assert_int_equal(l->n_containers, 0);
    crit_result_clear(&r);
}

/* ---- propagation ---- */

typedef struct propagation_case {
    const char *name;
    Runtime__V1__MountPropagation mode;
    unsigned long host_flags; /* how the host's volume dir is mounted */
    bool host_to_container;   /* a host mount made after start is seen inside */
    bool container_to_host;   /* a mount made inside is seen on the host */
} propagation_case;

/* critest's g3-g5: a privileged container with the volume dir mounted in
 * mode; the host mounts a tmpfs under it after the start, the container
 * mounts one too, and each side looks for the other's file. */
static void check_propagation(const propagation_case *pc)
{
    char dir[256], host_side[300], container_side[300];
    host_dir(pc->name, dir, sizeof(dir));
    host_mount_point(dir, pc->host_flags);
    host_subdir(dir, "from-host", host_side, sizeof(host_side));
    host_subdir(dir, "from-container", container_side, sizeof(container_side));

    char *pod = crit_ctr_run_privileged_pod(&S, pc->name);
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, pc->name, "sleep 1000");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.privileged = true;
    c.linux_config.security_context = &sec;
    crit_ctr_mount(&c, dir, "/mnt/volume", false)->propagation = pc->mode;
    char *id = crit_ctr_create(&S, &c.req);

    /* Status lists the mount as asked, nothing the runtime added. */
    crit_result r;
    Runtime__V1__ContainerStatus *st = crit_ctr_status(&S, id, true, &r);
    assert_int_equal(st->n_mounts, 1);
    assert_string_equal(st->mounts[0]->host_path, dir);
    assert_string_equal(st->mounts[0]->container_path, "/mnt/volume");
    assert_int_equal(st->mounts[0]->propagation, pc->mode);
    assert_false(st->mounts[0]->readonly);
    crit_result_clear(&r);
    crit_ctr_start(&S, id);

    host_tmpfs(host_side);
    char marker[400];
    snprintf(marker, sizeof(marker), "%s/marker", host_side);
    host_write(marker, "host\n");
    int seen = crit_ctr_exec_sh(&S, id, "test -e /mnt/volume/from-host/marker", NULL, 0);
    assert_int_equal(seen == 0, pc->host_to_container);

    char out[512];
    int made = crit_ctr_exec_sh(
        &S, id, "mount -t tmpfs ckm /mnt/volume/from-container && touch /mnt/volume/from-container/marker", out,
        sizeof(out));
    if (made != 0)
        fail_msg("%s: mount inside the container failed (%d): %s", pc->name, made, out);
    snprintf(marker, sizeof(marker), "%s/marker", container_side);
    assert_int_equal(access(marker, F_OK) == 0, pc->container_to_host);

    crit_ctr_cleanup_pod(&S, pod);
    host_remove(dir);
    free(id);
    free(pod);
}

static void test_propagation_private(void **state)
{
    (void)state;
    const propagation_case pc = {"prop-private", RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE, MS_PRIVATE, false,
                                 false};
    check_propagation(&pc);
}

static void test_propagation_host_to_container(void **state)
{
    (void)state;
    const propagation_case pc = {"prop-slave", RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER, MS_SHARED,
                                 true, false};
    check_propagation(&pc);
}

static void test_propagation_bidirectional(void **state)
{
    (void)state;
    const propagation_case pc = {"prop-shared", RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, MS_SHARED,
                                 true, true};
    check_propagation(&pc);
}

/* Propagation needs a host mount that propagates: on a private one the
 * host is not ready for the request (FAILED_PRECONDITION, as the request
 * itself is fine), refused before anything is made, naming the mount. */
static void test_propagation_needs_a_shared_host_mount(void **state)
{
    (void)state;
    char dir[256];
    host_dir("prop-refused", dir, sizeof(dir));
    host_mount_point(dir, MS_PRIVATE);
    char *pod = crit_ctr_run_privileged_pod(&S, "prop-refused");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "refused", "sleep 1000");
    crit_ctr_mount(&c, dir, "/mnt/volume", false)->propagation =
        RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL;
    char details[512];
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    assert_non_null(strstr(details, "/mnt/volume"));
    assert_non_null(strstr(details, "shared"));
    expect_no_container();
    crit_ctr_cleanup_pod(&S, pod);
    host_remove(dir);
    free(pod);
}

/* ---- read-only ---- */

/* critest's g6: a read-only bind is read-only on its top mount only; a
 * mount below it (a tmpfs the kubelet put in the volume) stays writable,
 * so the bind must be recursive. */
static void test_readonly_mount_is_top_only(void **state)
{
    (void)state;
    char dir[256], sub[300];
    host_dir("ro-volume", dir, sizeof(dir));
    host_subdir(dir, "tmpfs", sub, sizeof(sub));
    host_tmpfs(sub);
    char *pod = crit_ctr_run_pod(&S, "ro-volume");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "ro-volume", "sleep 1000");
    crit_ctr_mount(&c, dir, "/mnt", true);
    char *id = crit_ctr_create(&S, &c.req);
    crit_result r;
    Runtime__V1__ContainerStatus *st = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(st->n_mounts, 1);
    assert_true(st->mounts[0]->readonly);
    crit_result_clear(&r);
    crit_ctr_start(&S, id);

    char out[512];
    assert_int_not_equal(crit_ctr_exec_sh(&S, id, "touch /mnt/file", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Read-only file system"));
    assert_int_equal(crit_ctr_exec_sh(&S, id, "touch /mnt/tmpfs/file", out, sizeof(out)), 0);
    char file[400];
    snprintf(file, sizeof(file), "%s/file", sub);
    assert_int_equal(access(file, F_OK), 0);

    crit_ctr_cleanup_pod(&S, pod);
    host_remove(dir);
    free(id);
    free(pod);
}

/* critest's e15/e16: the message of a write to a read-only root goes to
 * the log as a stderr record; a writable root takes the file. */
static void test_readonly_rootfs(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ro-rootfs");
    const char *script = "touch test.go && [ -f test.go ] && echo Found";
    crit_ctr_request ro, rw;
    crit_ctr_init(&ro, &S, pod, "rootfs-ro", script);
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.readonly_rootfs = true;
    ro.linux_config.security_context = &sec;
    char *ro_id = crit_ctr_create(&S, &ro.req);
    char *rw_id = crit_ctr_create(&S, crit_ctr_init(&rw, &S, pod, "rootfs-rw", script));
    crit_ctr_start(&S, ro_id);
    crit_ctr_start(&S, rw_id);
    crit_ctr_wait_state(&S, ro_id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    crit_ctr_wait_state(&S, rw_id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);

    char path[512];
    crit_ctr_log_path(&S, "rootfs-ro", path, sizeof(path));
    crit_ctr_wait_log(path, "stderr", "touch: test.go: Read-only file system", 10);
    crit_ctr_log_path(&S, "rootfs-rw", path, sizeof(path));
    crit_ctr_wait_log(path, "stdout", "Found", 10);
    crit_result r;
    assert_int_not_equal(crit_ctr_status(&S, ro_id, false, &r)->exit_code, 0);
    crit_result_clear(&r);
    assert_int_equal(crit_ctr_status(&S, rw_id, false, &r)->exit_code, 0);
    crit_result_clear(&r);

    crit_ctr_cleanup_pod(&S, pod);
    free(ro_id);
    free(rw_id);
    free(pod);
}

/* ---- recursive read-only ---- */

/* The read-only clones on the host: mounts under <state>/containers
 * (<id>/rro/<i>), where nothing else is mounted. */
static size_t readonly_clones_on_host(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/containers/", S.daemon.state);
    return crit_mounts_under(dir);
}

/* A container binding a volume dir with a tmpfs below it (as in critest's
 * g6/g7) at /mnt, recursively read-only, created in a pod of its own. */
typedef struct rro_container {
    char dir[256], sub[300];
    char *pod, *id;
} rro_container;

static void rro_create(rro_container *rc, const char *name)
{
    host_dir(name, rc->dir, sizeof(rc->dir));
    host_subdir(rc->dir, "tmpfs", rc->sub, sizeof(rc->sub));
    host_tmpfs(rc->sub);
    rc->pod = crit_ctr_run_pod(&S, name);
    crit_ctr_request c;
    crit_ctr_init(&c, &S, rc->pod, name, "sleep 1000");
    crit_ctr_mount(&c, rc->dir, "/mnt", true)->recursive_read_only = true;
    rc->id = crit_ctr_create(&S, &c.req);
}

/* critest's own check: the tmpfs below the bind is read-only too. */
static void rro_expect_readonly_at_depth(const rro_container *rc)
{
    char out[512];
    assert_int_equal(
        crit_ctr_exec_sh(&S, rc->id, "touch /mnt/tmpfs/foo 2>&1 | grep -q 'Read-only file system'", out, sizeof(out)),
        0);
}

static void rro_cleanup(rro_container *rc)
{
    crit_ctr_cleanup_pod(&S, rc->pod);
    host_remove(rc->dir);
    crit_ctr_wait_nothing_left(&S);
    free(rc->id);
    free(rc->pod);
}

/* critest's g7: with recursive_read_only the tmpfs below the bind is
 * read-only too, while the host's own stays writable. The read-only clone
 * cricket binds is gone from the host once the container is created, and
 * nothing is left after RemoveContainer. */
static void test_recursive_readonly_mount(void **state)
{
    (void)state;
    rro_container rc;
    rro_create(&rc, "rro-volume");
    assert_int_equal(readonly_clones_on_host(), 0);
    crit_result r;
    Runtime__V1__ContainerStatus *st = crit_ctr_status(&S, rc.id, false, &r);
    assert_int_equal(st->n_mounts, 1);
    assert_true(st->mounts[0]->readonly);
    assert_true(st->mounts[0]->recursive_read_only);
    crit_result_clear(&r);
    crit_ctr_start(&S, rc.id);

    rro_expect_readonly_at_depth(&rc);
    char out[512];
    assert_int_not_equal(crit_ctr_exec_sh(&S, rc.id, "touch /mnt/file", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Read-only file system"));
    /* What is there is read, and the host writes on. */
    char file[400];
    snprintf(file, sizeof(file), "%s/seen", rc.sub);
    host_write(file, "from the host\n");
    assert_int_equal(crit_ctr_exec_sh(&S, rc.id, "cat /mnt/tmpfs/seen", out, sizeof(out)), 0);
    assert_string_equal(out, "from the host\n");

    assert_int_equal(crit_ctr_remove_code(&S, rc.id, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(readonly_clones_on_host(), 0);
    rro_cleanup(&rc);
}

/* critest's g8-g10: recursive_read_only with propagation to the host or
 * without readonly is INVALID_ARGUMENT naming the mount; nothing made. */
static void test_recursive_readonly_refusals(void **state)
{
    (void)state;
    char dir[256];
    host_dir("rro-refused", dir, sizeof(dir));
    char *pod = crit_ctr_run_privileged_pod(&S, "rro-refused");
    const struct {
        bool readonly;
        Runtime__V1__MountPropagation propagation;
        const char *said;
    } cases[] = {
        {true, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER, "not HOST_TO_CONTAINER"},
        {true, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, "not BIDIRECTIONAL"},
        {false, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE, "recursive_read_only needs readonly"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        crit_ctr_request c;
        crit_ctr_init(&c, &S, pod, "rro-refused", "sleep 1000");
        Runtime__V1__Mount *m = crit_ctr_mount(&c, dir, "/mnt/rro", cases[i].readonly);
        m->recursive_read_only = true;
        m->propagation = cases[i].propagation;
        char details[512];
        assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)),
                         GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(details, "/mnt/rro"));
        assert_non_null(strstr(details, cases[i].said));
    }
    expect_no_container();
    assert_int_equal(readonly_clones_on_host(), 0);
    crit_ctr_cleanup_pod(&S, pod);
    host_remove(dir);
    crit_ctr_wait_nothing_left(&S);
    free(pod);
}

/* A creation that fails takes back what it made: in the spec (another
 * mount's propagation the host cannot give). A start that fails in the
 * runtime (a command that is not there) after the clone was attached
 * takes the clone back. */
static void test_recursive_readonly_failed_creations(void **state)
{
    (void)state;
    char dir[256], sub[300], private_dir[256];
    host_dir("rro-failed", dir, sizeof(dir));
    host_subdir(dir, "tmpfs", sub, sizeof(sub));
    host_tmpfs(sub);
    host_dir("rro-failed-private", private_dir, sizeof(private_dir));
    host_mount_point(private_dir, MS_PRIVATE);
    char *pod = crit_ctr_run_privileged_pod(&S, "rro-failed");

    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "rro-spec", "sleep 1000");
    crit_ctr_mount(&c, dir, "/mnt/rro", true)->recursive_read_only = true;
    crit_ctr_mount(&c, private_dir, "/mnt/bidi", false)->propagation =
        RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL;
    char details[512];
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(readonly_clones_on_host(), 0);

    crit_ctr_init(&c, &S, pod, "rro-runtime", NULL);
    char *missing[] = {"/no/such/binary"};
    c.config.command = missing;
    c.config.n_command = 1;
    crit_ctr_mount(&c, dir, "/mnt/rro", true)->recursive_read_only = true;
    char *id = crit_ctr_create(&S, &c.req);
    assert_int_not_equal(crit_ctr_start_code(&S, id, details, sizeof(details)), GRPC_STATUS_OK);
    assert_non_null(strstr(details, "runc run exited"));
    assert_int_equal(readonly_clones_on_host(), 0);
    assert_int_equal(crit_ctr_remove_code(&S, id, NULL, 0), GRPC_STATUS_OK);
    free(id);

    expect_no_container();
    crit_ctr_cleanup_pod(&S, pod);
    host_remove(dir);
    host_remove(private_dir);
    crit_ctr_wait_nothing_left(&S);
    free(pod);
}

/* A daemon killed with a read-only clone still attached (simulated: the
 * window between the runtime's create and the release is short) releases
 * it when it starts again; the container works on. */
static void test_recursive_readonly_after_a_kill(void **state)
{
    (void)state;
    rro_container rc;
    rro_create(&rc, "rro-kill");
    crit_daemon_kill(&S.daemon);
    /* Checked once the daemon is back, so a failure leaves nothing the
     * suite's clean-up cannot take. */
    char clones[512], clone[512];
    snprintf(clones, sizeof(clones), "%s/containers/%s/rro", S.daemon.state, rc.id);
    snprintf(clone, sizeof(clone), "%s/0", clones);
    bool made =
        mkdir(clones, 0700) == 0 && mkdir(clone, 0700) == 0 && mount(rc.dir, clone, NULL, MS_BIND | MS_REC, NULL) == 0;
    size_t left = readonly_clones_on_host();
    crit_ctr_suite_restart(&S);
    assert_true(made);
    assert_int_equal(left, 2); /* the dir and its tmpfs */
    assert_int_equal(readonly_clones_on_host(), 0);
    assert_int_equal(access(clone, F_OK), -1);
    crit_ctr_start(&S, rc.id);
    rro_expect_readonly_at_depth(&rc);
    rro_cleanup(&rc);
}

/* ---- host paths ---- */

/* A host path that is a symlink is resolved on the host (never inside the
 * container's root); an absent one is made as a directory, as containerd
 * does; a file binds onto a file, as the kubelet's termination message. */
static void test_host_paths(void **state)
{
    (void)state;
    char dir[256], real[300], link[300], absent[300], message[300], file[400];
    host_dir("host-paths", dir, sizeof(dir));
    host_subdir(dir, "real", real, sizeof(real));
    snprintf(file, sizeof(file), "%s/hello", real);
    host_write(file, "through the link\n");
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(real, link), 0);
    snprintf(absent, sizeof(absent), "%s/absent/deeper", dir);
    snprintf(message, sizeof(message), "%s/termination-log", dir);
    host_write(message, "");

    char *pod = crit_ctr_run_pod(&S, "host-paths");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "host-paths", "sleep 1000");
    crit_ctr_mount(&c, link, "/mnt/link", false);
    crit_ctr_mount(&c, absent, "/mnt/absent", false);
    crit_ctr_mount(&c, message, "/dev/termination-log", false);
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);

    char out[512];
    assert_int_equal(crit_ctr_exec_sh(&S, id, "cat /mnt/link/hello", out, sizeof(out)), 0);
    assert_string_equal(out, "through the link\n");
    /* The link itself stays a link on the host. */
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(crit_ctr_exec_sh(&S, id, "echo made > /mnt/absent/inside", out, sizeof(out)), 0);
    snprintf(file, sizeof(file), "%s/inside", absent);
    assert_int_equal(access(file, F_OK), 0);
    assert_int_equal(crit_ctr_exec_sh(&S, id, "echo bye > /dev/termination-log", out, sizeof(out)), 0);
    char *said = crit_ctr_read_file(message);
    assert_string_equal(said, "bye\n");
    free(said);

    crit_ctr_cleanup_pod(&S, pod);
    host_remove(dir);
    free(id);
    free(pod);
}

/* Image VOLUMEs start as the image has them (owner, mode, files, links,
 * subdirectories), one copy per container; one the image lacks is empty. */
static void test_image_volumes_seeded_from_the_image(void **state)
{
    (void)state;
    char image[256];
    snprintf(image, sizeof(image), "%s/cricket/volumes:1", crit_fx("PLAIN"));
    crit_ctr_pull(&S, image);
    char *pod = crit_ctr_run_pod(&S, "volumes");
    crit_ctr_request a, b;
    crit_ctr_init(&a, &S, pod, "volumes-a", "sleep 1000");
    a.image.image = image;
    crit_ctr_init(&b, &S, pod, "volumes-b", "sleep 1000");
    b.image.image = image;
    char *ia = crit_ctr_create(&S, &a.req), *ib = crit_ctr_create(&S, &b.req);
    crit_ctr_start(&S, ia);
    crit_ctr_start(&S, ib);

    char out[512];
    assert_int_equal(crit_ctr_exec_sh(&S, ia,
                                      "stat -c '%u:%g %a' /seeded /seeded/seed /seeded/sub /seeded/sub/deep; "
                                      "cat /seeded/seed; readlink /seeded/link; grep -q ' /seeded ' /proc/mounts && "
                                      "echo mounted; ls -A /fresh | wc -l",
                                      out, sizeof(out)),
                     0);
    assert_string_equal(out, "1000:1000 750\n1000:1000 640\n1000:1000 700\n1000:1000 600\n"
                             "from the image\nseed\nmounted\n0\n");
    /* Each container writes to its own copy. */
    assert_int_equal(crit_ctr_exec_sh(&S, ia, "echo mine > /seeded/seed", NULL, 0), 0);
    assert_int_equal(crit_ctr_exec_sh(&S, ib, "cat /seeded/seed", out, sizeof(out)), 0);
    assert_string_equal(out, "from the image\n");

    crit_ctr_cleanup_pod(&S, pod);
    free(ia);
    free(ib);
    free(pod);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_propagation_private),
        cmocka_unit_test(test_propagation_host_to_container),
        cmocka_unit_test(test_propagation_bidirectional),
        cmocka_unit_test(test_propagation_needs_a_shared_host_mount),
        cmocka_unit_test(test_readonly_mount_is_top_only),
        cmocka_unit_test(test_recursive_readonly_mount),
        cmocka_unit_test(test_recursive_readonly_refusals),
        cmocka_unit_test(test_recursive_readonly_failed_creations),
        cmocka_unit_test(test_recursive_readonly_after_a_kill),
        cmocka_unit_test(test_readonly_rootfs),
        cmocka_unit_test(test_host_paths),
        cmocka_unit_test(test_image_volumes_seeded_from_the_image),
    };
    int failed = cmocka_run_group_tests_name("critest_container_mounts", tests, start_suite, stop_suite);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
