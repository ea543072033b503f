/*
 * id: the ids of pods and containers: 64 lowercase hex digits from the
 * kernel's random source, as containerd and CRI-O make them, so a unique
 * prefix names an object and no two daemons ever collide.
 */
#ifndef CK_COMMON_ID_H
#define CK_COMMON_ID_H

#include "common/err.h"

enum { CK_ID_LEN = 64 };

/* Fills id (CK_ID_LEN + 1 bytes) with a new id. */
int ck_random_id(char id[CK_ID_LEN + 1], ck_err *err);

#endif
