/* The container event hub: order, bounded queues that drop a slow
 * subscriber instead of blocking the publisher, timeouts, and shutdown. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "containers/events.h"

static ck_container_event event(ck_event_type type, int n)
{
    ck_container_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    snprintf(ev.container_id, sizeof(ev.container_id), "c%d", n);
    snprintf(ev.pod_id, sizeof(ev.pod_id), "p%d", n);
    ev.created_at_ns = n;
    return ev;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_events_arrive_in_order_across_the_ring(void **state)
{
    (void)state;
    ck_event_hub *hub = ck_event_hub_new();
    ck_event_sub *sub = ck_event_subscribe(hub, 3);
    assert_non_null(sub);
    ck_container_event got;
    /* 7 events through a ring of 3, never more than 2 waiting: the ring wraps. */
    for (int i = 0; i < 7; i++) {
        ck_container_event ev = event(CK_EVENT_CONTAINER_STARTED, i);
        ck_event_publish(hub, &ev);
        if (i % 2 == 1) {
            for (int j = i - 1; j <= i; j++) {
                assert_int_equal(ck_event_next(sub, &got, 0), CK_EVENT_GOT);
                assert_int_equal(got.created_at_ns, j);
                assert_int_equal(got.type, CK_EVENT_CONTAINER_STARTED);
            }
        }
    }
    assert_int_equal(ck_event_next(sub, &got, 0), CK_EVENT_GOT);
    assert_string_equal(got.container_id, "c6");
    assert_string_equal(got.pod_id, "p6");
    assert_int_equal(ck_event_next(sub, &got, 0), CK_EVENT_TIMEOUT);
    ck_event_unsubscribe(hub, sub);
    ck_event_hub_free(hub);
}

static void test_every_subscriber_gets_every_event(void **state)
{
    (void)state;
    ck_event_hub *hub = ck_event_hub_new();
    ck_event_sub *a = ck_event_subscribe(hub, 4);
    ck_event_sub *b = ck_event_subscribe(hub, 4);
    assert_int_equal(ck_event_hub_subscribers(hub), 2);
    ck_container_event ev = event(CK_EVENT_CONTAINER_CREATED, 1), got;
    ck_event_publish(hub, &ev);
    assert_int_equal(ck_event_next(a, &got, 0), CK_EVENT_GOT);
    assert_string_equal(got.container_id, "c1");
    assert_int_equal(ck_event_next(b, &got, 0), CK_EVENT_GOT);
    assert_string_equal(got.container_id, "c1");
    ck_event_unsubscribe(hub, a);
    assert_int_equal(ck_event_hub_subscribers(hub), 1);
    ck_event_unsubscribe(hub, b);
    assert_int_equal(ck_event_hub_subscribers(hub), 0);
    ck_event_unsubscribe(hub, NULL); /* allowed, does nothing */
    ck_event_hub_free(hub);
}

static void test_slow_subscriber_is_dropped_not_waited_for(void **state)
{
    (void)state;
    ck_event_hub *hub = ck_event_hub_new();
    ck_event_sub *slow = ck_event_subscribe(hub, 2);
    ck_event_sub *fast = ck_event_subscribe(hub, 0); /* capacity 0 means 1 */
    ck_container_event got;
    for (int i = 0; i < 3; i++) {
        ck_container_event ev = event(CK_EVENT_CONTAINER_STOPPED, i);
        ck_event_publish(hub, &ev); /* never blocks, however full */
        assert_int_equal(ck_event_next(fast, &got, 0), CK_EVENT_GOT);
        assert_int_equal(got.created_at_ns, i);
    }
    /* The slow one still gets what it had queued, then learns it was dropped. */
    assert_int_equal(ck_event_next(slow, &got, 0), CK_EVENT_GOT);
    assert_int_equal(got.created_at_ns, 0);
    assert_int_equal(ck_event_next(slow, &got, 0), CK_EVENT_GOT);
    assert_int_equal(got.created_at_ns, 1);
    assert_int_equal(ck_event_next(slow, &got, 0), CK_EVENT_DROPPED);
    /* A dropped subscriber receives nothing more. */
    ck_container_event ev = event(CK_EVENT_CONTAINER_DELETED, 9);
    ck_event_publish(hub, &ev);
    assert_int_equal(ck_event_next(slow, &got, 0), CK_EVENT_DROPPED);
    assert_int_equal(ck_event_next(fast, &got, 0), CK_EVENT_GOT);
    assert_int_equal(got.type, CK_EVENT_CONTAINER_DELETED);
    ck_event_unsubscribe(hub, slow);
    ck_event_unsubscribe(hub, fast);
    ck_event_hub_free(hub);
}

static void test_next_waits_for_its_timeout(void **state)
{
    (void)state;
    ck_event_hub *hub = ck_event_hub_new();
    ck_event_sub *sub = ck_event_subscribe(hub, 1);
    ck_container_event got;
    double start = now_ms();
    assert_int_equal(ck_event_next(sub, &got, 1200), CK_EVENT_TIMEOUT);
    double waited = now_ms() - start;
    assert_true(waited >= 1190.0);
    assert_true(waited < 5000.0);
    ck_event_unsubscribe(hub, sub);
    ck_event_hub_free(hub);
}

typedef struct waiter {
    ck_event_sub *sub;
    int result;
} waiter;

static void *wait_for_event(void *arg)
{
    waiter *w = arg;
    ck_container_event got;
    w->result = ck_event_next(w->sub, &got, 10000);
    return NULL;
}

static void test_close_wakes_waiters_and_refuses_new_subscribers(void **state)
{
    (void)state;
    ck_event_hub *hub = ck_event_hub_new();
    waiter w = {ck_event_subscribe(hub, 4), 99};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_for_event, &w), 0);
    struct timespec pause = {0, 50L * 1000 * 1000};
    nanosleep(&pause, NULL);
    double start = now_ms();
    ck_event_hub_close(hub);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(now_ms() - start < 5000.0); /* woken, not timed out */
    assert_int_equal(w.result, CK_EVENT_CLOSED);
    assert_null(ck_event_subscribe(hub, 4));
    assert_int_equal(ck_event_hub_subscribers(hub), 1);
    /* A subscriber left behind is freed with the hub (LSan checks). */
    ck_event_hub_free(hub);
    ck_event_hub_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_arrive_in_order_across_the_ring),
        cmocka_unit_test(test_every_subscriber_gets_every_event),
        cmocka_unit_test(test_slow_subscriber_is_dropped_not_waited_for),
        cmocka_unit_test(test_next_waits_for_its_timeout),
        cmocka_unit_test(test_close_wakes_waiters_and_refuses_new_subscribers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
