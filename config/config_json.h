#ifndef CK_CONFIG_CONFIG_JSON_H
#define CK_CONFIG_CONFIG_JSON_H

#include <jansson.h>

#include "config/config.h"

/* A new JSON object (caller decrefs), or NULL when out of memory. */
json_t *ck_config_to_json(const ck_config *cfg);

#endif
