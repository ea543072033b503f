/*
 * thread: see thread.h.
 */
#include "common/thread.h"

#include <pthread.h>

int ck_thread_run_small(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t thread;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_attr_setstacksize(&attr, (size_t)64 * 1024);
    if (rc == 0)
        rc = pthread_create(&thread, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        rc = pthread_join(thread, NULL);
    return rc;
}
