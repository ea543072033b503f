/*
 * fuzz_config_yaml: the YAML configuration loader (config/config.c) on any
 * bytes: libyaml's event parser, our node tree, the schema walk and the
 * cross-field validation. A load either succeeds, and then what it loaded
 * must print (ck_config_emit) and read back, or fails with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "config/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ck_log_set_level(CK_LOG_ERROR);
    return 0;
}

/* What loaded must print as YAML that loads again. */
static void round_trip(const ck_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL)
        abort();
    ck_err err;
    ck_err_clear(&err);
    int r = ck_config_emit(cfg, out, &err);
    if (fclose(out) != 0 || r < 0)
        abort();
    ck_config *again = NULL;
    if (ck_config_load_text("emitted.yaml", text, len, &again, &err) < 0) {
        fprintf(stderr, "emitted config does not load back: %s\n---\n%s---\n", err.msg, text);
        abort();
    }
    ck_config_free(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_config *cfg = NULL;
    ck_err err;
    ck_err_clear(&err);
    if (ck_config_load_text("fuzz.yaml", (const char *)data, size, &cfg, &err) < 0) {
        if (err.kind == CK_E_NONE || err.msg[0] == '\0')
            abort(); /* a refusal must say why */
        return 0;
    }
    round_trip(cfg);
    ck_config_free(cfg);
    return 0;
}
