/*
 * container_view: pieces shared by the container handlers: a typed
 * ck_container_view as CRI messages in the call's arena. The container's
 * stored record is never read here.
 */
#ifndef CK_CRI_CONTAINER_VIEW_H
#define CK_CRI_CONTAINER_VIEW_H

#include "containers/containers.h"
#include "cri/handlers.h"

Runtime__V1__ContainerMetadata *ck_container_metadata(ck_call *call, const ck_container_view *v);
Runtime__V1__ImageSpec *ck_container_image_spec(ck_call *call, const ck_container_view *v);

/* A container's ContainerStatus message (ContainerStatus, container
 * events); NULL when out of memory. */
Runtime__V1__ContainerStatus *ck_container_status_message(ck_call *call, const ck_container_view *v);

/* The ListContainers entries for a filter (may be NULL) in the call's
 * arena; their strings are those of *views: free them
 * (ck_container_views_free) once the entries are sent. */
int ck_container_list_items(ck_call *call, const Runtime__V1__ContainerFilter *filter, Runtime__V1__Container ***items,
                            size_t *n_items, ck_container_view **views, size_t *n_views, ck_err *err);
/* The ListContainers answer for a filter (may be NULL), packed (unref
 * *out). With no filter, an empty one or state RUNNING alone, it is the
 * answer the server keeps as long as no container changed (any check a
 * list does included), and kept for the next such call otherwise. */
int ck_container_list_packed(ck_call *call, const Runtime__V1__ContainerFilter *filter, grpc_slice *out, ck_err *err);

/* LinuxContainerResources as the domain takes them (strings in the call's
 * arena); -1 when out of memory. */
int ck_container_resources_from_pb(ck_call *call, const Runtime__V1__LinuxContainerResources *r,
                                   ck_container_resources *o);

/* One container's stats entry (attributes, CPU, memory, writable layer,
 * swap when the host accounts it); NULL when out of memory. */
Runtime__V1__ContainerStats *ck_container_stats_entry(ck_call *call, const ck_container_stats *st);
/* The stats entries of the containers a domain filter (may be NULL)
 * matches, in the call's arena. PodSandboxStats asks for its pod's. */
int ck_container_stats_items(ck_call *call, const ck_container_filter *f, Runtime__V1__ContainerStats ***out,
                             size_t *n_out, ck_err *err);
/* The same for ListContainerStats' and StreamContainerStats' filter (may
 * be NULL). */
int ck_container_stats_collect(ck_call *call, const Runtime__V1__ContainerStatsFilter *filter,
                               Runtime__V1__ContainerStats ***out, size_t *n_out, ck_err *err);

#endif
