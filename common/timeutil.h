/*
 * timeutil: the few clock computations every module needs, in one place.
 */
#ifndef CK_COMMON_TIMEUTIL_H
#define CK_COMMON_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/* Now on `clock` plus ms milliseconds: an absolute deadline for
 * pthread_cond_timedwait and friends. */
struct timespec ck_time_after_ms(clockid_t clock, long ms);

/* CLOCK_MONOTONIC in milliseconds: deadlines of polling loops. */
long long ck_mono_ms(void);

/* CLOCK_REALTIME in nanoseconds since the epoch: the timestamps the CRI
 * reports (created_at, stats). */
int64_t ck_now_ns(void);

/* Seconds from start (CLOCK_MONOTONIC) to now. */
double ck_seconds_since(const struct timespec *start);

#endif
