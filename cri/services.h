/*
 * services: the domain objects the CRI handlers call. Built by the daemon at
 * start-up and shared read-only by every worker thread; each domain object
 * does its own locking.
 *
 * config is swapped atomically by a reload (SIGHUP); a configuration once
 * published stays valid until the daemon exits, so a handler may keep the
 * pointer it read for the whole call. Keys that need a restart never differ
 * between the configurations published by one daemon run.
 */
#ifndef CK_CRI_SERVICES_H
#define CK_CRI_SERVICES_H

#include "config/config.h"

typedef struct ck_store ck_store;
typedef struct ck_cni ck_cni;
typedef struct ck_event_hub ck_event_hub;
typedef struct ck_images ck_images;
typedef struct ck_sandboxes ck_sandboxes;
typedef struct ck_containers ck_containers;
typedef struct ck_streaming ck_streaming;

typedef struct ck_services {
    const ck_config *_Atomic config;
    ck_store *store;
    ck_cni *cni;
    ck_event_hub *events;
    ck_images *images;
    ck_sandboxes *sandboxes;
    ck_containers *containers;
    ck_streaming *streaming; /* Exec, Attach, PortForward keep their requests there */
} ck_services;

#endif
