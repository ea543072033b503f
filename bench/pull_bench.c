/*
 * pull_bench: one CRI PullImage (download + verify + unpack) timed from the
 * client's side, as the kubelet sees it. Prints:
 *
 *   pull_bench socket=... image=... ms=... id=...
 *
 * Usage: pull_bench SOCKET IMAGE
 */
#include <stdio.h>
#include <time.h>

#include "test/critest/client.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pull_bench SOCKET IMAGE\n");
        return 2;
    }
    grpc_init();
    crit_client *c = crit_connect(argv[1]);
    if (c == NULL) {
        fprintf(stderr, "pull_bench: cannot connect to %s\n", argv[1]);
        return 1;
    }
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = argv[2];
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    crit_result r;
    grpc_status_code code =
        crit_call(c, IMAGE("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, 300000, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    int rc = 0;
    if (code != GRPC_STATUS_OK) {
        fprintf(stderr, "pull_bench: %s: status %d: %s\n", argv[2], code, r.details);
        rc = 1;
    } else {
        printf("pull_bench socket=%s image=%s ms=%.1f id=%s\n", argv[1], argv[2], ms,
               ((Runtime__V1__PullImageResponse *)r.response)->image_ref);
    }
    crit_result_clear(&r);
    crit_close(c);
    grpc_shutdown();
    return rc;
}
