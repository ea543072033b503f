/*
 * stack: giving back what a thread's stack no longer uses. The kernel maps
 * a thread's stack pages as it first touches them and keeps them until the
 * thread exits, so a long-lived thread that once ran deep (a CRI poller
 * whose call started a pod reaches about 190 KB) holds that memory for its
 * whole life, every poller alike.
 */
#ifndef CK_COMMON_STACK_H
#define CK_COMMON_STACK_H

#include <stddef.h>

/* Releases the calling thread's stack pages more than keep bytes below its
 * current frame (their next touch maps a zeroed page again); returns how
 * many bytes that range spans, 0 when there was none or the stack's bounds
 * are not known. Only a thread itself may do this: what lies below its own
 * frame is unused by definition, and nobody else's stack is touched. */
size_t ck_stack_release_unused(size_t keep);

#endif
