#include "oci/oci.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int ck_oci_handler_check(const ck_runtime_handler *handler, ck_err *err)
{
    struct stat st;
    if (stat(handler->path, &st) < 0)
        return ck_err_set(err, CK_E_UNAVAILABLE, errno, "runtime handler %s: binary %s", handler->name, handler->path);
    if (!S_ISREG(st.st_mode) || access(handler->path, X_OK) < 0)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "runtime handler %s: %s is not an executable file", handler->name,
                          handler->path);
    return 0;
}
