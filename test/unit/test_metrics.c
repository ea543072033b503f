/* The metrics registry and its text exposition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static int reset(void **state)
{
    (void)state;
    ck_metrics_reset();
    ck_metrics_enable(true);
    return 0;
}

static char *render(void)
{
    size_t len = 0;
    char *text = ck_metrics_render(&len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_disabled_records_nothing(void **state)
{
    (void)state;
    ck_metric *c = ck_metric_counter("t_total", "help", NULL);
    ck_metrics_enable(false);
    ck_metric_add(c, 5, NULL);
    ck_metrics_enable(true);
    char *text = render();
    assert_string_equal(text, "# HELP t_total help\n# TYPE t_total counter\n");
    free(text);
}

static void test_counter_labels_and_escaping(void **state)
{
    (void)state;
    ck_metric *c = ck_metric_counter("req_total", "Requests", "method,code");
    assert_ptr_equal(ck_metric_counter("req_total", "again", "x"), c);
    ck_metric_add(c, 1, (const char *const[]){"Version", "OK"});
    ck_metric_add(c, 2, (const char *const[]){"Version", "OK"});
    ck_metric_add(c, 1, (const char *const[]){"a\"b\\c\nd", "INTERNAL"});
    char *text = render();
    assert_non_null(strstr(text, "req_total{method=\"Version\",code=\"OK\"} 3\n"));
    assert_non_null(strstr(text, "req_total{method=\"a\\\"b\\\\c\\nd\",code=\"INTERNAL\"} 1\n"));
    free(text);
}

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    static const double buckets[] = {0.1, 1};
    ck_metric *h = ck_metric_histogram("lat_seconds", "Latency", "m", buckets, 2);
    const char *const v[] = {"X"};
    ck_metric_observe(h, 0.05, v);
    ck_metric_observe(h, 0.5, v);
    ck_metric_observe(h, 5, v);
    char *text = render();
    assert_non_null(strstr(text, "lat_seconds_bucket{m=\"X\",le=\"0.1\"} 1\n"
                                 "lat_seconds_bucket{m=\"X\",le=\"1\"} 2\n"
                                 "lat_seconds_bucket{m=\"X\",le=\"+Inf\"} 3\n"
                                 "lat_seconds_sum{m=\"X\"} 5.55\n"
                                 "lat_seconds_count{m=\"X\"} 3\n"));
    free(text);
}

static void set_gauge(void *ctx)
{
    ck_metric_set(ctx, 42, NULL);
}

static void test_collectors_run_at_scrape(void **state)
{
    (void)state;
    ck_metric *g = ck_metric_gauge("g", "A gauge", NULL);
    ck_metrics_add_collector(set_gauge, g);
    char *text = render();
    assert_non_null(strstr(text, "# TYPE g gauge\ng 42\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_disabled_records_nothing, reset),
        cmocka_unit_test_setup(test_counter_labels_and_escaping, reset),
        cmocka_unit_test_setup(test_histogram_is_cumulative, reset),
        cmocka_unit_test_setup(test_collectors_run_at_scrape, reset),
    };
    int failed = cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
    ck_metrics_reset();
    return failed;
}
