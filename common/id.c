#include "common/id.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/types.h>

int ck_random_id(char id[CK_ID_LEN + 1], ck_err *err)
{
    unsigned char raw[CK_ID_LEN / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return ck_err_set(err, CK_E_INTERNAL, errno, "generate an id");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}
