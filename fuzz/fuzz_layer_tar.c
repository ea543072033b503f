/*
 * fuzz_layer_tar: the layer unpacker (images/unpack.c) on any bytes, as
 * a layer blob a registry or an image archive could hand over: compressed
 * or not, tar of any shape, whiteouts, links, device nodes, names with
 * "..", absolute names and symlinks pointing anywhere.
 *
 * The promise under test: nothing is written outside the destination, no
 * device node is made (allow_devices is off; the only character devices
 * allowed are overlayfs whiteouts, 0/0), and a failed unpack leaves
 * nothing behind.
 *
 * So that a broken promise cannot touch this machine, every unpack runs
 * chrooted into a jail: a small tmpfs (JAIL_SIZE, so a decompression bomb
 * ends in ENOSPC) mounted in a mount namespace of this process only. An
 * absolute name or a symlink to "/" then resolves inside the jail, where
 * the check after each input sees it. The process leaves the jail after
 * each unpack through a descriptor of the real root kept from before, so
 * libFuzzer's own files (corpus, artifacts) are written where they belong;
 * its paths are relative to the working directory, which the chroot does
 * not move. Needs root (CAP_SYS_ADMIN, CAP_SYS_CHROOT), as CI has.
 *
 * The jail: /blob (the input), /layers/dest (the unpack). After an input,
 * every path in the jail other than those, and anything left when the
 * unpack failed, is a finding.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "images/content.h"
#include "images/unpack.h"

#define JAIL_SIZE "size=64m,nr_inodes=65536,mode=0755"

static char jail[64];
static int real_root = -1;
static int work_dir = -1;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_layer_tar: %s: %s\n", what, strerror(errno));
    abort();
}

static void remove_jail(void)
{
    umount2(jail, MNT_DETACH);
    rmdir(jail);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ck_log_set_level(CK_LOG_ERROR);
    /* OpenSSL loads its configuration at first use: do that here, outside the jail. */
    char warm[CK_DIGEST_BUF];
    ck_digest_of("", 0, warm);
    if (unshare(CLONE_NEWNS) < 0)
        die("unshare a mount namespace (run as root)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make mounts private");
    snprintf(jail, sizeof(jail), "/tmp/ck-fuzz-unpack-XXXXXX");
    if (mkdtemp(jail) == NULL)
        die("mkdtemp");
    if (mount("tmpfs", jail, "tmpfs", MS_NOSUID | MS_NODEV, JAIL_SIZE) < 0)
        die("mount the jail's tmpfs");
    atexit(remove_jail);
    real_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    work_dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (real_root < 0 || work_dir < 0)
        die("open / and .");
    return 0;
}

static void enter_jail(void)
{
    if (chroot(jail) < 0)
        die("chroot into the jail");
}

static void leave_jail(void)
{
    if (fchdir(real_root) < 0 || chroot(".") < 0 || fchdir(work_dir) < 0)
        die("leave the jail");
}

/* ---- the check, from outside the jail --------------------------------------------------- */

static size_t jail_len;
static int unpack_ok;
static char finding[4200];

static int check_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)type;
    (void)ftw;
    const char *rel = path + jail_len; /* "", "/blob", "/layers", "/layers/dest/..." */
    if (strcmp(rel, "") == 0 || strcmp(rel, "/blob") == 0 || strcmp(rel, "/layers") == 0)
        return 0;
    bool in_dest = strcmp(rel, "/layers/dest") == 0 || strncmp(rel, "/layers/dest/", 13) == 0;
    if (strncmp(rel, "/layers/dest.tmp-", 17) == 0)
        snprintf(finding, sizeof(finding), "the unpack's temporary directory was left: %s", rel);
    else if (!in_dest)
        snprintf(finding, sizeof(finding), "written outside the destination: %s", rel);
    else if (!unpack_ok)
        snprintf(finding, sizeof(finding), "a failed unpack left %s", rel);
    else if (S_ISBLK(st->st_mode) || (S_ISCHR(st->st_mode) && st->st_rdev != makedev(0, 0)))
        snprintf(finding, sizeof(finding), "device node made: %s (%u:%u)", rel, major(st->st_rdev), minor(st->st_rdev));
    else
        return 0;
    return 1; /* stop the walk */
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (strcmp(path, jail) == 0)
        return 0;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
        die(path);
    return 0;
}

/* ---- one input ---------------------------------------------------------------------------- */

static void write_blob(const uint8_t *data, size_t size)
{
    int fd = open("/blob", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("create /blob");
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n < 0 && errno != EINTR)
            die("write /blob");
        if (n > 0)
            off += (size_t)n;
    }
    close(fd);
    if (mkdir("/layers", 0700) < 0)
        die("mkdir /layers");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enter_jail();
    write_blob(data, size);
    ck_unpack_opts opts = {.allow_devices = false};
    char diff_id[CK_DIGEST_BUF];
    uint64_t bytes = 0;
    ck_err err;
    ck_err_clear(&err);
    unpack_ok = ck_unpack_layer("/blob", "/layers/dest", &opts, diff_id, &bytes, &err) == 0;
    leave_jail();

    if (getenv("CK_FUZZ_VERBOSE") != NULL) /* to see what the seeds do: CK_FUZZ_VERBOSE=1 fuzz_layer_tar DIR */
        fprintf(stderr, "unpack %s%s\n", unpack_ok ? "ok: " : "refused: ", unpack_ok ? diff_id : err.msg);
    if (unpack_ok ? ck_digest_check(diff_id, NULL) < 0 : err.msg[0] == '\0')
        abort(); /* success has a diff id, failure a reason */
    jail_len = strlen(jail);
    finding[0] = '\0';
    if (nftw(jail, check_entry, 16, FTW_PHYS | FTW_MOUNT) < 0)
        die("walk the jail");
    if (finding[0] != '\0') {
        fprintf(stderr, "fuzz_layer_tar: %s (unpack %s%s)\n", finding,
                unpack_ok ? "succeeded" : "failed: ", unpack_ok ? "" : err.msg);
        abort();
    }
    if (nftw(jail, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        die("empty the jail");
    return 0;
}
