/* Error objects, the arena, and the event hub's non-blocking contract. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/log.h"

static void test_set_and_wrap(void **state)
{
    (void)state;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_err_set(&err, CK_E_NOT_FOUND, ENOENT, "open %s", "/x"), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    assert_int_equal(err.errnum, ENOENT);
    assert_string_equal(err.msg, "open /x: No such file or directory");
    assert_int_equal(ck_err_wrap(&err, "start pod %s", "p1"), -1);
    assert_string_equal(err.msg, "start pod p1: open /x: No such file or directory");
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    /* NULL err is allowed and still returns -1. */
    assert_int_equal(ck_err_set(NULL, CK_E_INVALID, 0, "x"), -1);
}

static void test_copy_to_null_or_real(void **state)
{
    (void)state;
    ck_err inner, outer;
    ck_err_set(&inner, CK_E_NOT_FOUND, 0, "pod %s", "p1");
    ck_err_clear(&outer);
    assert_int_equal(ck_err_copy(&outer, &inner), -1);
    assert_int_equal(outer.kind, CK_E_NOT_FOUND);
    assert_string_equal(outer.msg, "pod p1");
    /* A NULL destination is allowed, as for every err argument. */
    assert_int_equal(ck_err_copy(NULL, &inner), -1);
}

static void test_long_messages_truncate(void **state)
{
    (void)state;
    ck_err err;
    char big[4 * CK_ERR_MSG_MAX];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_err_set(&err, CK_E_INVALID, 0, "%s", big);
    assert_int_equal(strlen(err.msg), CK_ERR_MSG_MAX - 1);
    ck_err_wrap(&err, "ctx");
    assert_int_equal(strlen(err.msg), CK_ERR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "ctx: aaa", 8);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(ck_errkind_name(CK_E_INVALID), "invalid");
    assert_string_equal(ck_errkind_name(CK_E_PERMISSION), "permission");
}

static void test_log_levels(void **state)
{
    (void)state;
    ck_log_level l;
    assert_int_equal(ck_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, CK_LOG_DEBUG);
    assert_int_equal(ck_log_level_parse("warning", &l), 0);
    assert_int_equal(l, CK_LOG_WARN);
    assert_int_equal(ck_log_level_parse("loud", &l), -1);
    ck_log_set_level(CK_LOG_WARN);
    assert_false(ck_log_enabled(CK_LOG_INFO));
    assert_true(ck_log_enabled(CK_LOG_ERROR));
    ck_log_set_level(CK_LOG_INFO);
}

/* Runs one log call with stderr captured; returns the line. */
static void capture_log(ck_log_format format, char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    ck_log_set_format(format);
    ck_log_fields(CK_LOG_WARN, "cri", "rpc=Version call=7 pod=\"a b\"", "bad \"thing\"\nhappened");
    ck_log_set_format(CK_LOG_TEXT);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, cap - 1);
    close(fds[0]);
    assert_true(n > 0);
    out[n] = '\0';
}

static void test_log_text_format(void **state)
{
    (void)state;
    char line[1024];
    capture_log(CK_LOG_TEXT, line, sizeof(line));
    assert_non_null(strstr(
        line, " level=warn component=cri msg=\"bad \\\"thing\\\"\\nhappened\" rpc=Version call=7 pod=\"a b\"\n"));
    assert_int_equal(strncmp(line, "time=", 5), 0);
    /* One line, whatever the message held. */
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
}

static void test_log_json_format(void **state)
{
    (void)state;
    char line[1024];
    capture_log(CK_LOG_JSON, line, sizeof(line));
    json_error_t jerr;
    json_t *obj = json_loads(line, 0, &jerr);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(obj, "component")), "cri");
    assert_string_equal(json_string_value(json_object_get(obj, "msg")), "bad \"thing\"\nhappened");
    assert_string_equal(json_string_value(json_object_get(obj, "rpc")), "Version");
    assert_string_equal(json_string_value(json_object_get(obj, "call")), "7");
    assert_string_equal(json_string_value(json_object_get(obj, "pod")), "a b");
    assert_non_null(json_string_value(json_object_get(obj, "time")));
    json_decref(obj);
    ck_log_format f;
    assert_int_equal(ck_log_format_parse("json", &f), 0);
    assert_int_equal(f, CK_LOG_JSON);
    assert_int_equal(ck_log_format_parse("xml", &f), -1);
}

static void test_arena(void **state)
{
    (void)state;
    ck_arena a = CK_ARENA_INIT;
    char *s = ck_arena_strdup(&a, "hello");
    assert_string_equal(s, "hello");
    /* Many small and a few big allocations, all zeroed and aligned. */
    for (int i = 0; i < 10000; i++) {
        unsigned char *p = ck_arena_alloc(&a, (size_t)(i % 97) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        assert_int_equal(p[0], 0);
        p[0] = 0xff;
    }
    unsigned char *big = ck_arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    assert_int_equal(big[(1 << 20) - 1], 0);
    assert_string_equal(ck_arena_printf(&a, "%s-%d", "x", 7), "x-7");
    assert_string_equal(s, "hello");
    ck_arena_reset(&a);
    assert_null(a.chunks);
    assert_int_equal(a.total, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_wrap),
        cmocka_unit_test(test_copy_to_null_or_real),
        cmocka_unit_test(test_long_messages_truncate),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_text_format),
        cmocka_unit_test(test_log_json_format),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
