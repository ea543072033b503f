/*
 * fuzz_cni_config: the CNI network configuration reader (netcni/netcni.c)
 * on any bytes, as if they were a .conf or .conflist file in conf_dir: JSON
 * parse with duplicate keys refused, then the checks for a network name and
 * plugin types. The plugin directory (made by fuzz/CMakeLists.txt in the
 * build tree) holds one executable, "bridge", that nothing ever runs, so a
 * valid config can be found usable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netcni/netcni.h"

static ck_cni *cni;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const bin_dirs[] = {CK_FUZZ_CNI_BIN_DIR};
    ck_err err;
    ck_err_clear(&err);
    if (ck_cni_new("/nonexistent/cni/net.d", bin_dirs, 1, &cni, &err) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_cni_status st;
    if (ck_cni_config_usable(cni, "fuzz.conflist", (const char *)data, size, &st)) {
        if (st.network[0] == '\0' || strcmp(st.config_file, "fuzz.conflist") != 0)
            abort(); /* usable means named */
    } else if (st.message[0] == '\0') {
        abort(); /* unusable means a reason */
    }
    return 0;
}
