/*
 * userns: the user namespaces of pods that ask for one (KEP-127, the CRI's
 * userns_options POD mode). cricket creates the pod's user namespace itself,
 * before anything else of the pod, and pins it by a bind mount of its nsfs
 * file under <state_dir>/userns/, as it pins network namespaces: the pod's
 * network namespace is then created inside it (so the pod's root owns its
 * network, and runc can mount sysfs there), the pause and every container
 * join it by that path, and the idmapped mounts of their root filesystems
 * map through it. Removing the pin (and the processes in it) ends it.
 *
 * The mappings are the CRI's IDMapping triples; what a pod may ask is
 * checked here, in one place the unit tests reach.
 */
#ifndef CK_COMMON_USERNS_H
#define CK_COMMON_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* container ids [container_id, container_id + length) are host ids
 * [host_id, host_id + length). */
typedef struct ck_id_map {
    uint32_t container_id, host_id, length;
} ck_id_map;

/* A CRI userns_options in plain C: mode is the CRI's NamespaceMode number
 * (POD 0, CONTAINER 1, NODE 2, TARGET 3). */
typedef struct ck_userns_req {
    bool given; /* false: the request had no userns_options */
    int mode;
    const ck_id_map *uids, *gids;
    size_t n_uids, n_gids;
} ck_userns_req;

/* What a pod's uid (what = "uids") or gid mappings must be: exactly one
 * mapping (what the kubelet sends; runc and the idmapped mounts take one
 * range; so none overlaps another), not empty, within 32 bits, mapping the container's 0 (its root
 * must be someone) and not the host's 0 (that would be the host's root).
 * CK_E_INVALID naming the rule otherwise. */
int ck_userns_check_maps(const char *what, const ck_id_map *maps, size_t n, ck_err *err);

/* Creates dir (if needed) and a user namespace with these mappings pinned
 * at dir/name (path_out). On failure nothing is left. */
int ck_userns_create(const char *dir, const char *name, const ck_id_map *uid, const ck_id_map *gid, char *path_out,
                     size_t size, ck_err *err);
/* Unmounts and removes a pinned user namespace; absent is fine. */
int ck_userns_remove(const char *path, ck_err *err);

/* Whether pods with a user namespace can work here: a user namespace can be
 * created, dir's filesystem takes an idmapped mount, and a process in a user
 * namespace can reach dir (a root filesystem under it must be reachable from
 * inside the pod). false with the reason in why. */
bool ck_userns_probe(const char *dir, char *why, size_t size);

#endif
