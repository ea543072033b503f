/*
 * stack: see stack.h.
 */
#include "common/stack.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* The lowest usable address of this thread's stack (just above its guard),
 * asked once per thread; UINTPTR_MAX when it cannot be known. */
static _Thread_local uintptr_t stack_low;

static uintptr_t lowest_address(void)
{
    if (stack_low != 0)
        return stack_low;
    stack_low = UINTPTR_MAX;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return stack_low;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr != NULL)
        stack_low = (uintptr_t)addr;
    pthread_attr_destroy(&attr);
    return stack_low;
}

size_t ck_stack_release_unused(size_t keep)
{
    uintptr_t low = lowest_address();
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (low == UINTPTR_MAX || frame < low + keep + page)
        return 0;
    uintptr_t start = (low + page - 1) & ~(page - 1);
    uintptr_t end = (frame - keep) & ~(page - 1);
    if (end <= start || madvise((void *)start, end - start, MADV_DONTNEED) < 0)
        return 0;
    return end - start;
}
