/* images/manifest: the pure parsers of a pull, on documents written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "images/manifest.h"

#define A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

static json_t *parse(const char *text, const char *ctype, ck_manifest_kind want)
{
    json_t *j = NULL;
    ck_manifest_kind kind;
    ck_err err;
    ck_err_clear(&err);
    if (ck_manifest_parse(text, strlen(text), ctype, &j, &kind, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
    assert_int_equal(kind, want);
    return j;
}

static void refused(const char *text, const char *ctype, ck_errkind kind, const char *why)
{
    json_t *j = NULL;
    ck_manifest_kind k;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_manifest_parse(text, strlen(text), ctype, &j, &k, &err), -1);
    assert_null(j);
    assert_int_equal(err.kind, kind);
    if (strstr(err.msg, why) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, err.msg, why);
}

static void test_classify(void **state)
{
    (void)state;
    json_decref(parse("{\"mediaType\":\"" OCI_MANIFEST "\"}", NULL, CK_MANIFEST_IMAGE));
    json_decref(parse("{\"config\":{},\"layers\":[]}", OCI_MANIFEST, CK_MANIFEST_IMAGE)); /* type from HTTP */
    json_decref(parse("{\"config\":{},\"layers\":[]}", NULL, CK_MANIFEST_IMAGE));         /* from its shape */
    json_decref(parse("{\"manifests\":[]}", "application/json", CK_MANIFEST_INDEX));
    json_decref(parse("{\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\"}", NULL,
                      CK_MANIFEST_INDEX));
    refused("{\"schemaVersion\":1}", NULL, CK_E_UNIMPLEMENTED, "schema 1");
    refused("{\"mediaType\":\"text/plain\"}", NULL, CK_E_INVALID, "unknown manifest media type \"text/plain\"");
    refused("[]", NULL, CK_E_INVALID, "is not a JSON object");
    refused("{", NULL, CK_E_INVALID, "is not a JSON object");
}

static void test_index_prefers_exact_variant(void **state)
{
    (void)state;
    json_t *idx = parse("{\"manifests\":["
                        "{\"digest\":\"" A "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                        "{\"digest\":\"" B "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","
                        "\"variant\":\"v8\"}},"
                        "{\"digest\":\"" C "\",\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}",
                        NULL, CK_MANIFEST_INDEX);
    char d[CK_DIGEST_BUF];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_index_select(idx, "arm64", "v8", d, &err), 0);
    assert_string_equal(d, B);
    assert_int_equal(ck_index_select(idx, "arm64", "v9", d, &err), 0);
    assert_string_equal(d, A); /* no variant beats a wrong one */
    assert_int_equal(ck_index_select(idx, "amd64", "", d, &err), -1);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "it has: linux/arm64, linux/arm64/v8, windows/amd64"));
    json_decref(idx);
}

static void test_image_manifest_layers(void **state)
{
    (void)state;
    json_t *m = parse("{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":\"" A "\",\"size\":7},"
                      "\"layers\":[{\"mediaType\":\"" LAYER_GZIP "\",\"digest\":\"" B "\",\"size\":10},"
                      "{\"mediaType\":\"" LAYER_GZIP "\",\"digest\":\"" C "\",\"size\":0}]}",
                      NULL, CK_MANIFEST_IMAGE);
    char config[CK_DIGEST_BUF];
    int64_t size = 0;
    ck_layer *layers = NULL;
    size_t n = 0;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_manifest_image(m, config, &size, &layers, &n, &err), 0);
    assert_string_equal(config, A);
    assert_int_equal(size, 7);
    assert_int_equal(n, 2);
    assert_string_equal(layers[1].digest, C);
    assert_string_equal(layers[0].media_type, LAYER_GZIP);
    json_decref(m);

    /* Diff ids from the config, chain ids from them. */
    const char *cfg = "{\"rootfs\":{\"diff_ids\":[\"" A "\",\"" B "\"]},"
                      "\"config\":{\"User\":\"1000\",\"Env\":[\"A=b\"],\"Labels\":{\"k\":\"v\",\"n\":1}}}";
    json_t *c = NULL;
    assert_int_equal(ck_image_config_parse(cfg, strlen(cfg), "cfg", layers, n, &c, &err), 0);
    assert_string_equal(layers[0].chain_id, A);
    assert_string_equal(layers[1].chain_id, "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
    json_t *sum = ck_image_config_summary(c);
    char *text = json_dumps(sum, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"cmd\":[],\"entrypoint\":[],\"env\":[\"A=b\"],\"labels\":{\"k\":\"v\"},"
                              "\"stop_signal\":\"\",\"user\":\"1000\",\"volumes\":[],\"workdir\":\"\"}");
    free(text);
    json_decref(sum);
    json_decref(c);
    assert_int_equal(ck_image_config_parse(cfg, strlen(cfg), "cfg", layers, 1, &c, &err), -1);
    assert_null(c);
    assert_non_null(strstr(err.msg, "image config cfg: 2 diff ids for 1 layers"));
    free(layers);
}

static void test_bad_image_manifests(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"{\"config\":{\"digest\":\"" A "\"},\"layers\":[]}", "config descriptor lacks a digest or a size"},
        {"{\"config\":{\"digest\":\"" A "\",\"size\":-1},\"layers\":[]}", "lacks a digest or a size"},
        {"{\"config\":{\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}", "manifest: config: digest"},
        {"{\"config\":{\"digest\":\"" A "\",\"size\":1,\"mediaType\":\"text/x\"},\"layers\":[]}",
         "not a container image"},
        {"{\"config\":{\"digest\":\"" A "\",\"size\":1},\"layers\":{}}", "no \"layers\" list"},
        {"{\"config\":{\"digest\":\"" A "\",\"size\":1},\"layers\":[{\"digest\":\"" B "\",\"size\":1,"
         "\"mediaType\":\"text/html\"}]}",
         "layer 0 (" B "): unknown layer media type \"text/html\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *m = json_loads(cases[i].text, 0, NULL);
        assert_non_null(m);
        char config[CK_DIGEST_BUF];
        int64_t size;
        ck_layer *layers = (ck_layer *)1;
        size_t n = 9;
        ck_err err;
        ck_err_clear(&err);
        assert_int_equal(ck_manifest_image(m, config, &size, &layers, &n, &err), -1);
        assert_null(layers);
        assert_int_equal(n, 0);
        if (strstr(err.msg, cases[i].why) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].why);
        json_decref(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_index_prefers_exact_variant),
        cmocka_unit_test(test_image_manifest_layers),
        cmocka_unit_test(test_bad_image_manifests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
