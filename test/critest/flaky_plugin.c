/*
 * cktest-flaky: a CNI plugin for the conformance suite. It passes the
 * previous result through on ADD and succeeds on DEL and CHECK, unless the
 * file named by its "failFile" setting exists: then the command named by
 * "failOn" (default "DEL") fails with a CNI error object, as a real plugin
 * whose backend is down would ("failOn" may list several, as "ADD,DEL"). With "hangFile" present, the command named by
 * "hangOn" writes its pid to <hangFile>.pid and sleeps (a daemon killed in
 * the middle of a CNI call). With "delayMs", ADD first sleeps that long (a
 * slow plugin). With "recordFile", every command first writes
 * there what it was given beside its input: its environment, one variable a
 * line, then "fds:" and the descriptors it holds above 2.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

/* True when cmd is one of the comma-separated words of list. */
static bool listed(const char *list, const char *cmd)
{
    size_t n = strlen(cmd);
    for (const char *p = list; p != NULL; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (strncmp(p, cmd, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return false;
}

extern char **environ;

/* The environment and the descriptors above 2 it was started with: listed
 * before the record file is opened, the listing's own aside. */
static void record(const char *path)
{
    char fds[1024] = "fds:";
    size_t len = strlen(fds);
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            long fd = strtol(ent->d_name, NULL, 10);
            if (ent->d_name[0] != '.' && fd > 2 && fd != dirfd(d) && len < sizeof(fds) - 16)
                len += (size_t)snprintf(fds + len, sizeof(fds) - len, " %ld", fd);
        }
        closedir(d);
    }
    FILE *f = fopen(path, "we");
    if (f == NULL)
        return;
    for (char **e = environ; *e != NULL; e++)
        fprintf(f, "%s\n", *e);
    fprintf(f, "%s\n", fds);
    fclose(f);
}

int main(void)
{
    const char *cmd = getenv("CNI_COMMAND");
    if (cmd != NULL && strcmp(cmd, "VERSION") == 0) {
        printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\"]}\n");
        return 0;
    }
    json_t *conf = json_loadf(stdin, 0, NULL);
    if (conf == NULL || cmd == NULL) {
        printf("{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"cktest-flaky: bad input\"}\n");
        return 1;
    }
    const char *record_file = json_string_value(json_object_get(conf, "recordFile"));
    if (record_file != NULL)
        record(record_file);
    const char *fail_file = json_string_value(json_object_get(conf, "failFile"));
    const char *fail_on = json_string_value(json_object_get(conf, "failOn"));
    if (fail_on == NULL)
        fail_on = "DEL";
    if (fail_file != NULL && access(fail_file, F_OK) == 0 && listed(fail_on, cmd)) {
        printf("{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"cktest-flaky: told to fail %s\","
               "\"details\":\"remove %s\"}\n",
               cmd, fail_file);
        json_decref(conf);
        return 1;
    }
    const char *hang_file = json_string_value(json_object_get(conf, "hangFile"));
    const char *hang_on = json_string_value(json_object_get(conf, "hangOn"));
    if (hang_file != NULL && hang_on != NULL && access(hang_file, F_OK) == 0 && strcmp(cmd, hang_on) == 0) {
        char pidfile[4096];
        snprintf(pidfile, sizeof(pidfile), "%s.pid", hang_file);
        FILE *f = fopen(pidfile, "w");
        if (f != NULL) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
        sleep(60);
        return 1;
    }
    json_int_t delay_ms = json_integer_value(json_object_get(conf, "delayMs"));
    if (strcmp(cmd, "ADD") == 0 && delay_ms > 0)
        usleep((useconds_t)delay_ms * 1000);
    if (strcmp(cmd, "ADD") == 0) {
        json_t *prev = json_incref(json_object_get(conf, "prevResult"));
        if (prev == NULL) /* the first plugin: an empty result */
            prev = json_pack("{s:s}", "cniVersion", "1.0.0");
        char *text = json_dumps(prev, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        json_decref(prev);
    }
    json_decref(conf);
    return 0;
}
