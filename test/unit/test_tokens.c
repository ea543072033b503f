/*
 * test_tokens: the streaming server's single-use tokens: taken once, by
 * their own kind's URL only when the server checks it, expired after their
 * life, the oldest evicted when the table is full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "streaming/tokens.h"

static char *put_exec(ck_tokens *t, const char *container, char token[CK_TOKEN_LEN + 1])
{
    char *argv[] = {"echo", "hi", NULL};
    ck_stream_request r = {.kind = CK_STREAM_EXEC, .argv = argv, .out = true};
    snprintf(r.container_id, sizeof(r.container_id), "%s", container);
    ck_stream_request *copy = ck_stream_request_dup(&r, NULL);
    assert_non_null(copy);
    assert_int_equal(ck_tokens_put(t, copy, token, NULL), 0);
    assert_int_equal(strlen(token), CK_TOKEN_LEN);
    return token;
}

static void test_taken_once(void **state)
{
    (void)state;
    ck_tokens *t = ck_tokens_new(10, 60000);
    char token[CK_TOKEN_LEN + 1], other[CK_TOKEN_LEN + 1];
    put_exec(t, "c1", token);
    put_exec(t, "c2", other);
    assert_string_not_equal(token, other);
    assert_int_equal(ck_tokens_count(t), 2);
    ck_stream_request *r = ck_tokens_take(t, token);
    assert_non_null(r);
    assert_string_equal(r->container_id, "c1");
    assert_string_equal(r->argv[1], "hi");
    assert_string_equal(r->netns, "");
    ck_stream_request_free(r);
    assert_null(ck_tokens_take(t, token)); /* used */
    assert_null(ck_tokens_take(t, "0123456789abcdef0123456789abcdef"));
    assert_null(ck_tokens_take(t, ""));
    assert_null(ck_tokens_take(t, NULL));
    assert_int_equal(ck_tokens_count(t), 1);
    ck_tokens_free(t); /* frees c2's request */
}

static void test_expired(void **state)
{
    (void)state;
    ck_tokens *t = ck_tokens_new(10, 50);
    char token[CK_TOKEN_LEN + 1];
    put_exec(t, "c1", token);
    usleep(120 * 1000);
    assert_int_equal(ck_tokens_count(t), 0);
    assert_null(ck_tokens_take(t, token));
    ck_tokens_free(t);
}

static void test_oldest_evicted(void **state)
{
    (void)state;
    ck_tokens *t = ck_tokens_new(3, 60000);
    char tokens[4][CK_TOKEN_LEN + 1];
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "c%d", i);
        put_exec(t, name, tokens[i]);
        usleep(2000); /* distinct creation times */
    }
    assert_int_equal(ck_tokens_count(t), 3);
    assert_null(ck_tokens_take(t, tokens[0])); /* the oldest made room; the new one was not refused */
    for (int i = 1; i < 4; i++) {
        ck_stream_request *r = ck_tokens_take(t, tokens[i]);
        assert_non_null(r);
        ck_stream_request_free(r);
    }
    ck_tokens_free(t);
}

static void test_request_checks(void **state)
{
    (void)state;
    char *argv[] = {"sh", NULL};
    ck_stream_request r = {.kind = CK_STREAM_EXEC, .argv = argv, .out = true};
    assert_int_equal(ck_stream_request_check(&r, "Exec", NULL), 0);
    r.tty = r.err = true;
    ck_err err;
    assert_int_equal(ck_stream_request_check(&r, "Exec", &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    r.tty = r.err = r.out = false;
    assert_int_equal(ck_stream_request_check(&r, "Exec", &err), -1);
    r.out = true;
    r.argv = NULL;
    assert_int_equal(ck_stream_request_check(&r, "Exec", &err), -1);
    r.kind = CK_STREAM_ATTACH; /* attach has no command */
    assert_int_equal(ck_stream_request_check(&r, "Attach", &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taken_once),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_oldest_evicted),
        cmocka_unit_test(test_request_checks),
    };
    return cmocka_run_group_tests_name("test_tokens", tests, NULL, NULL);
}
