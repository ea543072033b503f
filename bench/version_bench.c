/*
 * version_bench: latency of sequential CRI Version calls on one connection,
 * the floor under every kubelet call. Prints one line per run:
 *
 *   version_bench socket=/run/cricket/cricket.sock calls=1000 median_us=... p99_us=... total_ms=...
 *
 * Usage: version_bench SOCKET [CALLS] [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/critest/client.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int one_run(crit_client *c, const char *socket, int calls)
{
    double *lat = calloc((size_t)calls, sizeof(double));
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    double start = now_us();
    for (int i = 0; i < calls; i++) {
        crit_result r;
        double t0 = now_us();
        grpc_status_code code =
            crit_call(c, RUNTIME("Version"), &req.base, &runtime__v1__version_response__descriptor, 10000, &r);
        lat[i] = now_us() - t0;
        crit_result_clear(&r);
        if (code != GRPC_STATUS_OK) {
            fprintf(stderr, "version_bench: call %d: status %d: %s\n", i, code, r.details);
            free(lat);
            return -1;
        }
    }
    double total = now_us() - start;
    qsort(lat, (size_t)calls, sizeof(double), cmp_double);
    printf("version_bench socket=%s calls=%d median_us=%.1f p99_us=%.1f total_ms=%.1f\n", socket, calls, lat[calls / 2],
           lat[(calls * 99) / 100], total / 1e3);
    fflush(stdout); /* bench/table.sh reads the lines of a run it kills */
    free(lat);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: version_bench SOCKET [CALLS] [RUNS]\n");
        return 2;
    }
    int calls = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1000;
    int runs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1;
    if (calls <= 0 || runs <= 0)
        return 2;
    grpc_init();
    crit_client *c = crit_connect(argv[1]);
    int rc = 0;
    for (int i = 0; i < runs && rc == 0; i++)
        rc = one_run(c, argv[1], calls);
    crit_close(c);
    grpc_shutdown();
    return rc == 0 ? 0 : 1;
}
