/* listen_addr: the address our servers bind, from their configuration. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/listen_addr.h"

static void test_addresses(void **state)
{
    (void)state;
    ck_err err;
    ck_err_clear(&err);
    struct addrinfo *ai = NULL;
    assert_int_equal(ck_listen_addr("streaming.address", "127.0.0.1", "0", true, &ai, &err), 0);
    assert_int_equal(ai->ai_family, AF_INET);
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)ai->ai_addr;
    assert_int_equal(ntohl(v4->sin_addr.s_addr), INADDR_LOOPBACK);
    freeaddrinfo(ai);
    /* IPv6 with or without brackets (metrics.address is "[::1]:9099"). */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ck_listen_addr("metrics.address", i == 0 ? "[::1]" : "::1", "9099", false, &ai, &err), 0);
        assert_int_equal(ai->ai_family, AF_INET6);
        assert_int_equal(ntohs(((const struct sockaddr_in6 *)ai->ai_addr)->sin6_port), 9099);
        freeaddrinfo(ai);
    }
}

static void test_refused(void **state)
{
    (void)state;
    ck_err err;
    ck_err_clear(&err);
    struct addrinfo *ai = NULL;
    /* A name where an address must be: it would go into clients' URLs. */
    assert_int_equal(ck_listen_addr("streaming.address", "localhost", "0", true, &ai, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, "streaming.address localhost port 0: "));
    ck_err_clear(&err);
    assert_int_equal(ck_listen_addr("metrics.address", "127.0.0.1", "http", false, &ai, &err), -1);
    assert_non_null(strstr(err.msg, "metrics.address 127.0.0.1 port http: "));
    char long_host[300];
    memset(long_host, 'a', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    assert_int_equal(ck_listen_addr("metrics.address", long_host, "1", false, &ai, &err), -1);
    assert_non_null(strstr(err.msg, "too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests_name("listen_addr", tests, NULL, NULL);
}
