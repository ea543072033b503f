/* The error -> gRPC status mapping, and the method table against the proto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "cri/methods.h"
#include "cri/status.h"

static void test_every_kind_maps(void **state)
{
    (void)state;
    assert_int_equal(ck_status_from_errkind(CK_E_NONE), GRPC_STATUS_OK);
    assert_int_equal(ck_status_from_errkind(CK_E_INVALID), GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(ck_status_from_errkind(CK_E_NOT_FOUND), GRPC_STATUS_NOT_FOUND);
    assert_int_equal(ck_status_from_errkind(CK_E_EXISTS), GRPC_STATUS_ALREADY_EXISTS);
    assert_int_equal(ck_status_from_errkind(CK_E_PRECONDITION), GRPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(ck_status_from_errkind(CK_E_UNAVAILABLE), GRPC_STATUS_UNAVAILABLE);
    assert_int_equal(ck_status_from_errkind(CK_E_INTERNAL), GRPC_STATUS_INTERNAL);
    assert_int_equal(ck_status_from_errkind(CK_E_UNIMPLEMENTED), GRPC_STATUS_UNIMPLEMENTED);
    assert_int_equal(ck_status_from_errkind(CK_E_CANCELLED), GRPC_STATUS_CANCELLED);
    assert_int_equal(ck_status_from_errkind(CK_E_DEADLINE), GRPC_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(ck_status_from_errkind(CK_E_EXHAUSTED), GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_int_equal(ck_status_from_errkind(CK_E_PERMISSION), GRPC_STATUS_PERMISSION_DENIED);
    /* A kind we do not know is our bug: INTERNAL, never OK. */
    assert_int_equal(ck_status_from_errkind((ck_errkind)999), GRPC_STATUS_INTERNAL);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(ck_status_name(GRPC_STATUS_OK), "OK");
    assert_string_equal(ck_status_name(GRPC_STATUS_INVALID_ARGUMENT), "INVALID_ARGUMENT");
    assert_string_equal(ck_status_name(GRPC_STATUS_UNIMPLEMENTED), "UNIMPLEMENTED");
    assert_string_equal(ck_status_name((grpc_status_code)99), "UNKNOWN");
}

static const ck_method *find(const char *path)
{
    size_t n;
    const ck_method *m = ck_methods(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].path, path) == 0)
            return &m[i];
    return NULL;
}

static void test_method_table_covers_both_services(void **state)
{
    (void)state;
    size_t n;
    const ck_method *m = ck_methods(&n);
    /* CRI v1 as of Kubernetes 1.36: 35 runtime RPCs and 6 image RPCs. */
    assert_int_equal(n, 41);
    size_t runtime = 0, image = 0, streaming = 0;
    for (size_t i = 0; i < n; i++) {
        runtime += strncmp(m[i].path, "/runtime.v1.RuntimeService/", 27) == 0;
        image += strncmp(m[i].path, "/runtime.v1.ImageService/", 25) == 0;
        streaming += m[i].server_streaming;
        assert_non_null(m[i].input);
        assert_non_null(m[i].output);
        /* A handler of the wrong kind would never run. */
        if (m[i].server_streaming)
            assert_null(m[i].unary);
        else
            assert_null(m[i].stream);
    }
    assert_int_equal(runtime, 35);
    assert_int_equal(image, 6);
    /* Every name in the streaming list exists in the proto. */
    assert_int_equal(streaming, 7);
}

static void test_streaming_methods_and_handlers(void **state)
{
    (void)state;
    const ck_method *ev = find("/runtime.v1.RuntimeService/GetContainerEvents");
    assert_non_null(ev);
    assert_true(ev->server_streaming);
    assert_non_null(ev->stream);
    assert_string_equal(ev->output->name, "runtime.v1.ContainerEventResponse");
    assert_true(find("/runtime.v1.ImageService/StreamImages")->server_streaming);
    const ck_method *v = find("/runtime.v1.RuntimeService/Version");
    assert_non_null(v->unary);
    assert_false(v->server_streaming);
    assert_string_equal(v->input->name, "runtime.v1.VersionRequest");
    const ck_method *run = find("/runtime.v1.RuntimeService/RunPodSandbox");
    assert_non_null(run);
    assert_non_null(run->unary);
    /* Answered by a handler of its own (UNIMPLEMENTED naming CRIU), not
     * the generic answer of a method without one. */
    const ck_method *cp = find("/runtime.v1.RuntimeService/CheckpointContainer");
    assert_non_null(cp);
    assert_non_null(cp->unary);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_maps),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_method_table_covers_both_services),
        cmocka_unit_test(test_streaming_methods_and_handlers),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
