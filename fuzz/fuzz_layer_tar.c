/*
 * fuzz_layer_tar: layer unpacking (images/unpack.c) on any bytes, as if a
 * registry served them as a layer blob: gzip, zstd or plain tar detection,
 * entry checks, whiteouts. Whatever happens, nothing may appear outside the
 * layer directory, and a failed unpack leaves no layer and no temporary
 * directory behind. Each input is written to a file in a private directory
 * made once per process and emptied after each run.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "images/unpack.h"

static char base[64];

static void remove_base(void)
{
    ck_remove_tree(base, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ck_log_set_level(CK_LOG_ERROR);
    snprintf(base, sizeof(base), "/tmp/fuzz-layer-XXXXXX");
    if (mkdtemp(base) == NULL)
        abort();
    atexit(remove_base);
    return 0;
}

static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        abort();
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char blob[128], layers[128], dest[160];
    snprintf(blob, sizeof(blob), "%s/blob", base);
    snprintf(layers, sizeof(layers), "%s/layers", base);
    snprintf(dest, sizeof(dest), "%s/L", layers);
    if (mkdir(layers, 0700) < 0)
        abort();
    int fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    ck_err err;
    ck_err_clear(&err);
    int rc = ck_unpack_layer(blob, dest, NULL, NULL, NULL, &err);
    if (rc < 0 && (entries(layers) != 0 || err.msg[0] == '\0'))
        abort(); /* a refused layer leaves nothing and says why */
    if (entries(base) != 2)
        abort(); /* only blob and layers/: nothing escaped */
    ck_remove_tree(layers, NULL);
    unlink(blob);
    return 0;
}
