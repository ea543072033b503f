/*
 * cleanup: scope-bound release of memory, descriptors and streams, so a
 * function with six exits has no six copies of its free list.
 *
 *     _cleanup_free_ char *path = NULL;
 *     _cleanup_close_ int fd = -1;
 *
 * To hand ownership out of the scope, use ck_steal_ptr / ck_steal_fd.
 */
#ifndef CK_COMMON_CLEANUP_H
#define CK_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void ck_freep(void *p)
{
    free(*(void **)p);
}

static inline void ck_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void ck_fclosep(FILE **f)
{
    if (*f != NULL)
        fclose(*f);
}

static inline void *ck_steal_ptr_impl(void **p)
{
    void *v = *p;
    *p = NULL;
    return v;
}

static inline int ck_steal_fd(int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}

#define ck_steal_ptr(pp) ck_steal_ptr_impl((void **)(pp))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(ck_freep)
#define _cleanup_close_ _cleanup_(ck_closep)
#define _cleanup_fclose_ _cleanup_(ck_fclosep)

#endif
