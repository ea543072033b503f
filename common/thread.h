/*
 * thread: running a few system calls on a short-lived thread of their own.
 * Namespaces belong to threads: a thread may unshare or join a network,
 * IPC or UTS namespace, pin it (it shares the daemon's mount namespace) and
 * end, touching nothing else in the daemon. Forking instead would copy the
 * daemon's page tables and make every page it writes afterwards fault.
 */
#ifndef CK_COMMON_THREAD_H
#define CK_COMMON_THREAD_H

/* Runs fn(arg) on a new thread with a small stack (64 KB: system calls,
 * no deep frames) and waits for it: 0, or the errno pthread gave. */
int ck_thread_run_small(void *(*fn)(void *), void *arg);

#endif
