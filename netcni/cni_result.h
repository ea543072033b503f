/*
 * cni_result: what a CNI plugin prints after ADD, read and checked before
 * the daemon believes it (spec 1.0 "Success" result). The result must be a
 * JSON object; its "ips", when present, a list of objects whose "address"
 * is an IP address with a prefix ("10.88.0.5/16", "fd00::5/64") and whose
 * "interface", when present, indexes "interfaces". The pod's IPs come from
 * there: IPv4 first, then IPv6, without the prefix.
 *
 * Pure: no plugin runs here. cni_exec.c feeds it a plugin's stdout and a
 * saved state's "result"; fuzz/fuzz_cni_result.c feeds it anything.
 */
#ifndef CK_NETCNI_CNI_RESULT_H
#define CK_NETCNI_CNI_RESULT_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "netcni/cni.h"

/* Parses len bytes of a plugin's ADD output; *out is the parsed result (the
 * caller's reference). A malformed result is CK_E_INTERNAL (the plugin's
 * fault, not the caller's) naming the field. */
int ck_cni_result_parse(const char *text, size_t len, json_t **out, ck_err *err);

/* The pod IPs of a checked result into out->ips (at most CK_CNI_MAX_IPS). */
void ck_cni_result_ips(const json_t *result, ck_cni_attachment *out);

#endif
