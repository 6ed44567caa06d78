/* tinchap — the command-line tool for data stewards, risk teams and operators. */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli.h"
#include "commands.h"
#include "paths.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"keygen", cmd_keygen, "create the secret that pseudonymises citizen IDs"},
    {"synth", cmd_synth, "generate synthetic citizens, consents and loan history"},
    {"load", cmd_load, "load citizen attributes and consents from CSV into the database"},
    {"get", cmd_get, "print one citizen's attributes and consents as JSON"},
    {"erase", cmd_erase, "delete a citizen and all their consents"},
    {"stats", cmd_stats, "print database counts and sizes"},
    {"snapshot", cmd_snapshot, "copy a live database consistently, compacted, for a replica"},
    {"upgrade", cmd_upgrade, "rewrite a database of an older store format in this one"},
    {"score", cmd_score, "score a CSV file offline with a model (risk teams)"},
    {"explain", cmd_explain, "print the full breakdown of one citizen's score as JSON"},
    {"model", cmd_model, "model check | promote | retire: validate, promote and retire models"},
    {"call", cmd_call, "call a running tinchapd (score, put, grant, health ...); JSON out"},
    {"audit", cmd_audit, "print the audit trail of Score calls as JSON lines"},
    {"train", cmd_train, "build a model file from loan history and a training spec"},
    {"validate", cmd_validate, "score drift (PSI, CSI) and fairness between two CSV files"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tinchap COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'tinchap COMMAND --help' describes a command's options.\n"
                 "Environment: TINCHAP_KEY (secret key file), TINCHAP_CATALOG (catalog file),\n"
                 "TINCHAP_MODELS_DIR (catalog, reasons and shipped models; default %s).\n",
            cli_models_dir());
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("tinchap %s (commit %s)\n", tc_build_version(), tc_build_commit());
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tinchap: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
