/* tinchap keygen FILE — a new 32-byte secret with mode 0600. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static const char help[] =
    "usage: tinchap keygen FILE\n"
    "\n"
    "Write a new random 32-byte secret to FILE (mode 0600). The secret turns citizen IDs\n"
    "into database keys (HMAC-SHA256); keep it outside the database directory and back it\n"
    "up: a database cannot be used without the secret it was built with. An existing FILE\n"
    "is never replaced.\n";

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return 0;
        }
        return cli_usage("keygen", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return cli_usage("keygen", "expected one FILE");
    tc_error err = {0};
    if (tc_key_generate(argv[optind], &err) != TC_OK)
        return cli_fail("keygen", &err);
    printf("secret written to %s\n", argv[optind]);
    return 0;
}
