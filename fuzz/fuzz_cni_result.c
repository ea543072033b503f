/*
 * fuzz_cni_result: what a CNI plugin prints after ADD (netcni/cni_result.c)
 * on any bytes. A result either is refused with a reason, or is accepted,
 * and then every pod IP taken from it is a plain IPv4 or IPv6 address
 * (IPv4 ones first), at most CK_CNI_MAX_IPS of them.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcni/cni_result.h"

static int family_or_abort(const char *ip)
{
    unsigned char bin[16];
    if (inet_pton(AF_INET, ip, bin) == 1)
        return 4;
    if (inet_pton(AF_INET6, ip, bin) == 1)
        return 6;
    fprintf(stderr, "pod IP \"%s\" is not an address\n", ip);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *r = NULL;
    ck_err err;
    ck_err_clear(&err);
    if (ck_cni_result_parse((const char *)data, size, &r, &err) < 0) {
        if (r != NULL || err.msg[0] == '\0')
            abort();
        return 0;
    }
    ck_cni_attachment a;
    memset(&a, 0, sizeof(a));
    ck_cni_result_ips(r, &a);
    if (a.n_ips > CK_CNI_MAX_IPS)
        abort();
    int last = 4;
    for (size_t i = 0; i < a.n_ips; i++) {
        int f = family_or_abort(a.ips[i]);
        if (f < last)
            abort(); /* IPv4 first, then IPv6 */
        last = f;
    }
    json_decref(r);
    return 0;
}
