/*
 * registry_fixture: runs test/fixtures/registry.sh start|stop DIR and keeps
 * the facts of DIR/env in a table, filled by crit_registry_start and only
 * read after it (by any test thread).
 */
#include "test/critest/registry_fixture.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

enum { FX_MAX = 64 };

static char fx_dir[256];
static char fx_keys[FX_MAX][64], fx_vals[FX_MAX][512];
static size_t fx_n;

const char *crit_fx(const char *key)
{
    char full[80];
    snprintf(full, sizeof(full), "CK_FX_%s", key);
    for (size_t i = 0; i < fx_n; i++)
        if (strcmp(fx_keys[i], full) == 0)
            return fx_vals[i];
    fail_msg("fixture has no %s", full);
    return "";
}

const char *crit_registry_dir(void)
{
    return fx_dir;
}

static int load_fx_env(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    fx_n = 0;
    char line[700];
    while (fx_n < FX_MAX && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        snprintf(fx_keys[fx_n], sizeof(fx_keys[0]), "%s", line);
        snprintf(fx_vals[fx_n], sizeof(fx_vals[0]), "%s", eq + 1);
        fx_n++;
    }
    fclose(f);
    return 0;
}

/* Runs test/fixtures/registry.sh VERB fx_dir, its output on our stderr:
 * stdout is the test's report. */
static int fixture(const char *verb)
{
    char script[512];
    snprintf(script, sizeof(script), "%s/test/fixtures/registry.sh", CK_SOURCE_DIR);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl(script, script, verb, fx_dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int crit_registry_start(void)
{
    snprintf(fx_dir, sizeof(fx_dir), "/tmp/critest-fx.XXXXXX");
    if (mkdtemp(fx_dir) == NULL || fixture("start") < 0) {
        fprintf(stderr, "the registry fixture did not start (registry.sh start %s)\n", fx_dir);
        return -1;
    }
    char env[300];
    snprintf(env, sizeof(env), "%s/env", fx_dir);
    if (load_fx_env(env) < 0) {
        fprintf(stderr, "the registry fixture wrote no %s: %s\n", env, strerror(errno));
        return -1;
    }
    return 0;
}

void crit_registry_stop(void)
{
    fixture("stop");
}
