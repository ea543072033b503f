#include "netcni/cni_result.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/parse.h"

/* "<IPv4>/<0..32>" or "<IPv6>/<0..128>"; *is6 says which. */
static bool is_cidr(const char *s, bool *is6)
{
    const char *slash = strchr(s, '/');
    char addr[INET6_ADDRSTRLEN];
    if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof(addr))
        return false;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    unsigned char bin[16];
    int64_t max;
    if (inet_pton(AF_INET, addr, bin) == 1)
        max = 32, *is6 = false;
    else if (inet_pton(AF_INET6, addr, bin) == 1)
        max = 128, *is6 = true;
    else
        return false;
    const char *prefix = slash + 1;
    int64_t bits;
    return prefix[0] >= '0' && prefix[0] <= '9' && ck_parse_i64(prefix, 0, max, &bits, NULL) == 0;
}

static int check_ip(const json_t *ip, size_t i, size_t n_interfaces, ck_err *err)
{
    if (!json_is_object(ip))
        return ck_err_set(err, CK_E_INTERNAL, 0, "ips[%zu] is not an object", i);
    const char *addr = json_string_value(json_object_get(ip, "address"));
    bool is6;
    if (addr == NULL || !is_cidr(addr, &is6))
        return ck_err_set(err, CK_E_INTERNAL, 0, "ips[%zu].address \"%.64s\" is not an IP address with a prefix", i,
                          addr != NULL ? addr : "(none)");
    json_t *iface = json_object_get(ip, "interface");
    if (iface != NULL &&
        (!json_is_integer(iface) || json_integer_value(iface) < 0 || (size_t)json_integer_value(iface) >= n_interfaces))
        return ck_err_set(err, CK_E_INTERNAL, 0, "ips[%zu].interface is not an index into interfaces (%zu)", i,
                          n_interfaces);
    return 0;
}

int ck_cni_result_parse(const char *text, size_t len, json_t **out, ck_err *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *r = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(r)) {
        json_decref(r);
        return ck_err_set(err, CK_E_INTERNAL, 0, "result is not a JSON object: %s", r == NULL ? jerr.text : "");
    }
    json_t *ifaces = json_object_get(r, "interfaces");
    json_t *ips = json_object_get(r, "ips");
    int rc = 0;
    if (ifaces != NULL && !json_is_array(ifaces))
        rc = ck_err_set(err, CK_E_INTERNAL, 0, "result: interfaces is not a list");
    else if (ips != NULL && !json_is_array(ips))
        rc = ck_err_set(err, CK_E_INTERNAL, 0, "result: ips is not a list");
    for (size_t i = 0; rc == 0 && i < json_array_size(ips); i++)
        if (check_ip(json_array_get(ips, i), i, json_array_size(ifaces), err) < 0)
            rc = ck_err_wrap(err, "result");
    if (rc < 0) {
        json_decref(r);
        return -1;
    }
    *out = r;
    return 0;
}

void ck_cni_result_ips(const json_t *result, ck_cni_attachment *out)
{
    out->n_ips = 0;
    json_t *ips = json_object_get(result, "ips");
    for (int want6 = 0; want6 < 2; want6++) {
        for (size_t i = 0; i < json_array_size(ips) && out->n_ips < CK_CNI_MAX_IPS; i++) {
            const char *addr = json_string_value(json_object_get(json_array_get(ips, i), "address"));
            bool is6;
            if (addr == NULL || !is_cidr(addr, &is6) || is6 != (want6 == 1))
                continue;
            char *ip = out->ips[out->n_ips++];
            snprintf(ip, sizeof(out->ips[0]), "%.*s", (int)strcspn(addr, "/"), addr);
        }
    }
}
