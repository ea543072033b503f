/*
 * cricket: the command line. With no command it runs the daemon; `config`
 * prints the effective configuration (or, with --default, the commented
 * default file); `check` inspects the host; `image import FILE` loads an
 * image tarball into the store. A bad configuration never starts a daemon:
 * it is reported with file:line and exit status 2.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "daemon/check.h"
#include "daemon/daemon.h"
#include "images/images.h"
#include "store/store.h"

typedef enum command { CMD_RUN, CMD_CONFIG, CMD_CHECK, CMD_IMPORT } command;

typedef struct cli {
    ck_options opt;
    command cmd;
    bool print_default;
    bool json;
    const char *import_file; /* cricket image import FILE */
} cli;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cricket [command] [options]\n"
            "\n"
            "commands:\n"
            "  (none)          run the daemon\n"
            "  config          print the effective configuration as YAML and exit\n"
            "                  (--default: print the commented default configuration file)\n"
            "  check           inspect this host: what will work and what will not (--json)\n"
            "  image import FILE  load an OCI layout or docker-archive tarball into the image store\n"
            "\n"
            "options:\n"
            "  --config FILE     configuration file (default %s; absent is fine)\n"
            "  --listen ADDR     CRI socket, unix:///path (default %s)\n"
            "  --root DIR        persistent state directory (default %s)\n"
            "  --state DIR       volatile state directory (default %s)\n"
            "  --log-level LVL   debug, info, warn or error\n"
            "  --version         print the version and exit\n"
            "  --help            print this and exit\n",
            CK_CONFIG_DEFAULT_PATH, CK_CONFIG_DEFAULT_LISTEN, CK_CONFIG_DEFAULT_ROOT, CK_CONFIG_DEFAULT_STATE);
}

static int set_command(cli *c, const char *word)
{
    if (c->cmd != CMD_RUN) {
        fprintf(stderr, "cricket: one command at a time (\"%s\")\n", word);
        return -1;
    }
    if (strcmp(word, "config") == 0)
        c->cmd = CMD_CONFIG;
    else if (strcmp(word, "check") == 0)
        c->cmd = CMD_CHECK;
    else {
        fprintf(stderr, "cricket: unknown command \"%s\"\n", word);
        return -1;
    }
    return 0;
}

/* Returns 0 to go on, 1 to exit successfully (help, version), -1 on a usage error. */
static int parse_args(int argc, char **argv, cli *c)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"root", required_argument, NULL, 'r'},
        {"state", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'L'},
        {"default", no_argument, NULL, 'D'},
        {"json", no_argument, NULL, 'J'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': c->opt.config_path = optarg; break;
        case 'l': c->opt.listen = optarg; break;
        case 'r': c->opt.root = optarg; break;
        case 's': c->opt.state = optarg; break;
        case 'L': c->opt.log_level = optarg; break;
        case 'D': c->print_default = true; break;
        case 'J': c->json = true; break;
        case 'V': printf("cricket %s (CRI v1)\n", CK_VERSION); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "image") == 0 && c->cmd == CMD_RUN) {
            if (i + 2 >= argc || strcmp(argv[i + 1], "import") != 0) {
                fprintf(stderr, "cricket: usage: cricket image import FILE\n");
                return -1;
            }
            c->cmd = CMD_IMPORT;
            c->import_file = argv[i + 2];
            i += 2;
        } else if (set_command(c, argv[i]) < 0) {
            return -1;
        }
    }
    if (c->print_default && c->cmd != CMD_CONFIG) {
        fprintf(stderr, "cricket: --default goes with the config command\n");
        return -1;
    }
    if (c->json && c->cmd != CMD_CHECK) {
        fprintf(stderr, "cricket: --json goes with the check command\n");
        return -1;
    }
    return 0;
}

static int print_config(ck_config *cfg)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_config_emit(cfg, stdout, &err) < 0) {
        fprintf(stderr, "cricket config: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* cricket image import FILE: beside a running daemon or without one (the
 * store is shared through SQLite); prints the ids of the images loaded. */
static int run_import(const ck_config *cfg, const char *file)
{
    ck_log_set_level(cfg->log_level);
    ck_err err;
    ck_err_clear(&err);
    ck_store *store = NULL;
    ck_images *images = NULL;
    char **ids = NULL;
    size_t n = 0;
    int rc = 1;
    if (mkdir(cfg->root_dir, 0700) < 0 && errno != EEXIST)
        ck_err_set(&err, CK_E_INTERNAL, errno, "create directory %s", cfg->root_dir);
    else if (ck_store_open(cfg->root_dir, &store, &err) == 0 && ck_images_open(cfg, store, &images, &err) == 0 &&
             ck_images_import(images, file, &ids, &n, &err) == 0)
        rc = 0;
    for (size_t i = 0; i < n; i++)
        printf("%s\n", ids[i]);
    if (rc != 0)
        fprintf(stderr, "cricket image import: %s\n", err.msg);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    ck_images_free(images);
    ck_store_close(store);
    return rc;
}

int main(int argc, char **argv)
{
    cli c = {0};
    int r = parse_args(argc, argv, &c);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (c.cmd == CMD_RUN && !c.print_default)
        ck_daemon_tune_malloc(argv);
    if (c.print_default) {
        fputs(ck_config_default_yaml, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }

    ck_config *cfg = NULL;
    ck_err err;
    ck_err_clear(&err);
    if (ck_daemon_load_config(&c.opt, &cfg, &err) < 0) {
        fprintf(stderr, "cricket: configuration: %s\n", err.msg);
        return 2;
    }
    int rc;
    switch (c.cmd) {
    case CMD_CONFIG:
        rc = print_config(cfg);
        ck_config_free(cfg);
        return rc;
    case CMD_CHECK:
        rc = ck_check_host(cfg, c.json, stdout);
        ck_config_free(cfg);
        return rc;
    case CMD_IMPORT:
        rc = run_import(cfg, c.import_file);
        ck_config_free(cfg);
        return rc;
    case CMD_RUN:
    default: return ck_daemon_run(&c.opt, cfg);
    }
}
