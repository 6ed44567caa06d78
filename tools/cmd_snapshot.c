/* tinchap snapshot — a consistent compacted copy of a live database, for a replica to start
 * from or to be refreshed with. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static const char help[] =
    "usage: tinchap snapshot --db DIR --out DIR2 [--catalog FILE]\n"
    "\n"
    "Copy the database at DIR into the new directory DIR2: one consistent snapshot, compacted\n"
    "(free pages dropped), taken while tinchapd and loads carry on. A replica is started or\n"
    "refreshed from such a copy (see \"Operating tinchap\" in README.md). DIR2 must not exist\n"
    "or must be empty. Needs no secret key; the copy keeps the original's catalog hash and\n"
    "key fingerprint, so it opens only with the same catalog and secret.\n"
    "\n"
    "  --db DIR         the database to copy\n"
    "  --out DIR2       where to write the copy\n"
    "  --catalog FILE   attribute catalog (default $TINCHAP_CATALOG or the shipped one)\n"
    "  -h, --help       this text\n";

int cmd_snapshot(int argc, char **argv)
{
    enum { O_DB = 1000, O_OUT, O_CATALOG };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"out", required_argument, NULL, O_OUT},
        {"catalog", required_argument, NULL, O_CATALOG},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    cli_db_options o = {.read_only = 1};
    const char *out = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB:
            o.db = optarg;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_CATALOG:
            o.catalog = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return cli_usage("snapshot", "unknown option or missing value: '%s'",
                             argv[optind - 1]);
        }
    }
    if (o.db == NULL || out == NULL)
        return cli_usage("snapshot", "--db DIR and --out DIR2 are required");
    if (optind != argc)
        return cli_usage("snapshot", "unexpected argument '%s'", argv[optind]);
    cli_db db;
    tc_error err = {0};
    tc_store_stats st;
    double t0 = cli_now();
    if (cli_db_open(&o, &db, &err) != TC_OK)
        return cli_fail("snapshot", &err);
    int rc = tc_store_snapshot(db.store, out, &err);
    if (rc == TC_OK)
        rc = tc_store_stats_get(db.store, &st, &err);
    cli_db_close(&db);
    if (rc != TC_OK)
        return cli_fail("snapshot", &err);
    char size[32];
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", out);
    FILE *f = fopen(path, "rb");
    long bytes = 0;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        bytes = ftell(f);
    if (f != NULL)
        fclose(f);
    printf("snapshot of %s written to %s: %zu citizens, %zu consents, %s, in %.2f s\n", o.db,
           out, st.citizens, st.consents, cli_bytes((double)bytes, size, sizeof size),
           cli_now() - t0);
    return 0;
}
