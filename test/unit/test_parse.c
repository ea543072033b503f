/* common/parse: numbers from outside text, with every way atoi would have
 * answered wrongly refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/parse.h"

static void test_whole_numbers(void **state)
{
    (void)state;
    int64_t v = 7;
    assert_int_equal(ck_parse_i64("42", 0, 100, &v, NULL), 0);
    assert_int_equal(v, 42);
    assert_int_equal(ck_parse_i64("  -1000\n", -1000, 1000, &v, NULL), 0);
    assert_int_equal(v, -1000);
    assert_int_equal(ck_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v, NULL), 0);
    assert_true(v == INT64_MAX);

    ck_err err;
    ck_err_clear(&err);
    v = 7;
    assert_int_equal(ck_parse_i64("", 0, 100, &v, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_int_equal(ck_parse_i64("12abc", 0, 100, &v, NULL), -1);
    assert_int_equal(ck_parse_i64("abc", 0, 100, &v, NULL), -1);
    assert_int_equal(ck_parse_i64("101", 0, 100, &v, NULL), -1);
    assert_int_equal(ck_parse_i64("-1", 0, 100, &v, NULL), -1);
    assert_int_equal(ck_parse_i64("1 2", 0, 100, &v, NULL), -1);
    assert_int_equal(ck_parse_i64("- 1", -10, 10, &v, NULL), -1);
    assert_int_equal(ck_parse_i64("0x10", 0, 100, &v, NULL), -1);
    ck_err_clear(&err);
    assert_int_equal(ck_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(v, 7); /* untouched on failure */

    uint64_t u = 0;
    assert_int_equal(ck_parse_u64("18446744073709551615", 10, &u, NULL), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(ck_parse_u64("18446744073709551616", 10, &u, NULL), -1);
    assert_int_equal(ck_parse_u64("-1", 10, &u, NULL), -1); /* strtoull would wrap it */
    assert_int_equal(ck_parse_u64("a80425fb", 16, &u, NULL), 0);
    assert_true(u == 0xa80425fbULL);
    assert_int_equal(ck_parse_u64("0xff", 16, &u, NULL), -1);
    assert_int_equal(ck_parse_u64("ff", 10, &u, NULL), -1);
}

static void test_words_advance(void **state)
{
    (void)state;
    const char *p = "0 1711111111000000000\n";
    int64_t code, at;
    assert_int_equal(ck_parse_i64_word(&p, INT32_MIN, INT32_MAX, &code, NULL), 0);
    assert_int_equal(ck_parse_i64_word(&p, 0, INT64_MAX, &at, NULL), 0);
    assert_int_equal(code, 0);
    assert_true(at == 1711111111000000000LL);
    assert_string_equal(p, "\n");

    /* A /proc/net/dev line after the interface's colon. */
    p = "1234     10    0    0    0     0          0         0  5678  20  0  3";
    uint64_t v[12];
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(ck_parse_u64_word(&p, 10, &v[i], NULL), 0);
    assert_true(v[0] == 1234 && v[8] == 5678 && v[11] == 3);
    assert_int_equal(ck_parse_u64_word(&p, 10, &v[0], NULL), -1); /* nothing left */

    /* A failed word leaves the position where it was. */
    const char *q = "12x 3";
    const char *before = q;
    assert_int_equal(ck_parse_u64_word(&q, 10, &v[0], NULL), -1);
    assert_ptr_equal(q, before);
}

static void test_files(void **state)
{
    (void)state;
    char path[] = "/tmp/ck-parse-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "-500\n", 5), 5);
    close(fd);
    int64_t v = 0;
    assert_int_equal(ck_read_i64_file(path, -1000, 1000, &v, NULL), 0);
    assert_int_equal(v, -500);
    uint64_t u = 0;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_read_u64_file(path, &u, &err), -1);
    assert_non_null(strstr(err.msg, path)); /* the message names the file */
    unlink(path);
    ck_err_clear(&err);
    assert_int_equal(ck_read_u64_file(path, &u, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    assert_int_equal(ck_read_i64_file("/proc/self/oom_score_adj", -1000, 1000, &v, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_numbers),
        cmocka_unit_test(test_words_advance),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
