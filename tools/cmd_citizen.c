/* tinchap get / erase / stats / upgrade — a data steward's view of one citizen, erasure, and the
 * operator's view and upgrade of the database. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "tc_time.h"

static const char common_opts_help[] =
    "  --db DIR         database directory (required)\n"
    "  --key FILE       secret key (default $TINCHAP_KEY)\n"
    "  --catalog FILE   attribute catalog (default $TINCHAP_CATALOG or the shipped one)\n"
    "  -h, --help       this text\n";

enum { OPT_DB = 1000, OPT_KEY, OPT_CATALOG, OPT_JSON };

static const struct option db_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"key", required_argument, NULL, OPT_KEY},
    {"catalog", required_argument, NULL, OPT_CATALOG},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {0, 0, 0, 0},
};

/* Parse the options every database command shares. Returns -1 to continue, or an exit code. */
static int parse_db_opts(const char *cmd, const char *help, int argc, char **argv,
                         cli_db_options *o, int *json)
{
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", db_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            o->db = optarg;
            break;
        case OPT_KEY:
            o->key = optarg;
            break;
        case OPT_CATALOG:
            o->catalog = optarg;
            break;
        case OPT_JSON:
            if (json == NULL)
                return cli_usage(cmd, "unknown option '--json'");
            *json = 1;
            break;
        case 'h':
            fputs(help, stdout);
            fputs(common_opts_help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (o->db == NULL)
        return cli_usage(cmd, "--db DIR is required");
    return -1;
}

static json_t *value_json(const tc_attr *a, tc_value v)
{
    if (!v.present)
        return json_null();
    switch (a->type) {
    case TC_ATTR_INT:
        return json_integer((json_int_t)v.v);
    case TC_ATTR_REAL:
        return json_real(v.v);
    case TC_ATTR_BOOL:
        return json_boolean(v.v != 0);
    case TC_ATTR_CATEGORY:
        if (v.v >= 0 && (size_t)v.v < a->n_levels)
            return json_string(a->levels[(size_t)v.v]);
        return json_null();
    }
    return json_null();
}

static json_t *time_json(int64_t t)
{
    char buf[TC_TIME_TEXT_LEN];
    if (t == 0)
        return json_null();
    tc_time_format(t, buf);
    return json_string(buf);
}

static int add_consent(const tc_consent *c, void *arg)
{
    json_t *list = arg;
    json_array_append_new(
        list, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "institution", c->institution,
                        "purpose", c->purpose, "consent_ref", c->ref, "granted_at",
                        time_json(c->granted_at), "expires_at", time_json(c->expires_at),
                        "revoked_at", time_json(c->revoked_at), "valid_now",
                        tc_consent_valid_at(c, tc_time_now())));
    return 0;
}

static const char get_help[] =
    "usage: tinchap get --db DIR [--key FILE] [--catalog FILE] ID\n"
    "\n"
    "Print one citizen's attributes (missing values as null) and consents as JSON. The\n"
    "ID is hashed with the secret key; the output names the citizen by that pseudonym only.\n"
    "Exit status 3 when the citizen is not in the database.\n\n";

int cmd_get(int argc, char **argv)
{
    cli_db_options o = {.need_key = 1, .read_only = 1};
    int rc = parse_db_opts("get", get_help, argc, argv, &o, NULL);
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return cli_usage("get", "expected one citizen ID");
    cli_db db;
    tc_error err = {0};
    tc_reader *r = NULL;
    json_t *out = NULL;
    unsigned char key[TC_CITIZEN_KEY_LEN];
    rc = CLI_EXIT_FAIL;
    if (cli_db_open(&o, &db, &err) != TC_OK)
        return cli_fail("get", &err);
    if (cli_citizen_key(&db, argv[optind], key, &err) != TC_OK ||
        tc_reader_new(db.store, &r, &err) != TC_OK || tc_reader_begin(r, &err) != TC_OK) {
        cli_fail("get", &err);
        goto out;
    }
    char hex[2 * TC_CITIZEN_KEY_LEN + 1];
    tc_hex(key, sizeof key, hex);
    json_t *consents = json_array();
    out = json_pack("{s:s}", "key", hex);
    tc_record rec;
    int found = tc_reader_citizen(r, key, &rec, &err);
    if (found == TC_OK) {
        json_t *attrs = json_object();
        for (size_t i = 0; i < db.catalog->n_attrs; i++)
            json_object_set_new(attrs, db.catalog->attrs[i].name,
                                value_json(&db.catalog->attrs[i], tc_record_get(&rec, i)));
        json_object_set_new(out, "updated_at", time_json(tc_record_updated_at(&rec)));
        json_object_set_new(out, "attributes", attrs);
    } else if (found == TC_ENOTFOUND) {
        json_object_set_new(out, "attributes", json_null());
    } else {
        json_decref(consents);
        cli_fail("get", &err);
        goto out;
    }
    if (tc_reader_consents(r, key, add_consent, consents, &err) != TC_OK) {
        json_decref(consents);
        cli_fail("get", &err);
        goto out;
    }
    json_object_set_new(out, "consents", consents);
    if (found == TC_ENOTFOUND && json_array_size(consents) == 0) {
        rc = cli_failf("get", "citizen not found");
        rc = 3;
        goto out;
    }
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    fputc('\n', stdout);
    rc = 0;
out:
    json_decref(out);
    if (r != NULL)
        tc_reader_end(r);
    tc_reader_free(r);
    cli_db_close(&db);
    return rc;
}

static const char erase_help[] =
    "usage: tinchap erase --db DIR [--key FILE] [--catalog FILE] ID\n"
    "\n"
    "Delete a citizen's attribute record and all their consents, in one transaction.\n"
    "Erasing a citizen who is not in the database is not an error.\n\n";

int cmd_erase(int argc, char **argv)
{
    cli_db_options o = {.need_key = 1};
    int rc = parse_db_opts("erase", erase_help, argc, argv, &o, NULL);
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return cli_usage("erase", "expected one citizen ID");
    cli_db db;
    tc_error err = {0};
    tc_writer *w = NULL;
    unsigned char key[TC_CITIZEN_KEY_LEN];
    int found = 0;
    if (cli_db_open(&o, &db, &err) != TC_OK)
        return cli_fail("erase", &err);
    rc = CLI_EXIT_FAIL;
    if (cli_citizen_key(&db, argv[optind], key, &err) != TC_OK ||
        tc_writer_begin(db.store, &w, &err) != TC_OK ||
        tc_writer_erase_citizen(w, key, &found, NULL, &err) != TC_OK) {
        tc_writer_abort(w);
        cli_fail("erase", &err);
        goto out;
    }
    if (tc_writer_commit(w, &err) != TC_OK) {
        cli_fail("erase", &err);
        goto out;
    }
    puts(found ? "erased the citizen's record and consents" : "nothing to erase: not in the database");
    rc = 0;
out:
    cli_db_close(&db);
    return rc;
}

static const char stats_help[] =
    "usage: tinchap stats --db DIR [--catalog FILE] [--json]\n"
    "\n"
    "Print counts and sizes: citizens, consents, file size, bytes per citizen, B-tree depth.\n"
    "Needs no secret key.\n\n";

int cmd_stats(int argc, char **argv)
{
    cli_db_options o = {.read_only = 1};
    int json = 0;
    int rc = parse_db_opts("stats", stats_help, argc, argv, &o, &json);
    if (rc >= 0)
        return rc;
    if (optind != argc)
        return cli_usage("stats", "unexpected argument '%s'", argv[optind]);
    cli_db db;
    tc_error err = {0};
    tc_store_stats st;
    if (cli_db_open(&o, &db, &err) != TC_OK)
        return cli_fail("stats", &err);
    if (tc_store_stats_get(db.store, &st, &err) != TC_OK) {
        cli_db_close(&db);
        return cli_fail("stats", &err);
    }
    double per = st.citizens ? (double)(st.citizens_pages * st.page_size) / (double)st.citizens
                             : 0;
    char created[TC_TIME_TEXT_LEN];
    tc_time_format(st.created_at, created);
    if (json) {
        json_t *j = json_pack(
            "{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:f}", "database",
            o.db, "format", st.format, "catalog", st.catalog_name, "catalog_hash", st.catalog_hash,
            "created_at", created, "citizens", (json_int_t)st.citizens, "consents",
            (json_int_t)st.consents, "file_bytes", (json_int_t)st.file_bytes, "used_bytes",
            (json_int_t)st.used_bytes, "map_bytes", (json_int_t)st.map_bytes, "page_size",
            (int)st.page_size, "citizens_depth", (int)st.citizens_depth, "citizens_pages",
            (json_int_t)st.citizens_pages, "bytes_per_citizen", per);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        printf("database        %s\n", o.db);
        printf("store format    %d%s\n", st.format,
               st.format < TC_STORE_FORMAT ? " (run 'tinchap upgrade' with the service stopped)"
                                           : "");
        printf("catalog         %s (%.12s)\n", st.catalog_name, st.catalog_hash);
        printf("created         %s\n", created);
        printf("citizens        %zu\n", st.citizens);
        printf("consents        %zu\n", st.consents);
        char a[32], b[32], m[32];
        printf("data file       %s (%s in use, map size %s)\n",
               cli_bytes((double)st.file_bytes, a, sizeof a),
               cli_bytes((double)st.used_bytes, b, sizeof b),
               cli_bytes((double)st.map_bytes, m, sizeof m));
        printf("bytes/citizen   %.1f (citizens table%s: %zu pages of %u bytes, depth %u)\n", per,
               st.format < TC_STORE_FORMAT ? "" : " with their consents", st.citizens_pages,
               st.page_size, st.citizens_depth);
    }
    cli_db_close(&db);
    return 0;
}

static const char upgrade_help[] =
    "usage: tinchap upgrade --db DIR [--key FILE] [--catalog FILE]\n"
    "\n"
    "Rewrite a database of store format 1 as format 2, in one transaction: a crash leaves it as\n"
    "it was. Format 1 kept consents in a table of their own, so each Score walked two B-trees;\n"
    "format 2 keeps each citizen's consents beside their record. Stop tinchapd and every other\n"
    "process using the database first: the command refuses while one has it open. The file\n"
    "keeps the freed pages for later writes; 'tinchap snapshot' writes a compact copy.\n"
    "A database already in format 2 is left as it is.\n\n";

int cmd_upgrade(int argc, char **argv)
{
    cli_db_options o = {.need_key = 1};
    int rc = parse_db_opts("upgrade", upgrade_help, argc, argv, &o, NULL);
    if (rc >= 0)
        return rc;
    if (optind != argc)
        return cli_usage("upgrade", "unexpected argument '%s'", argv[optind]);
    cli_db db;
    tc_error err = {0};
    size_t moved = 0;
    double t0 = cli_now();
    if (cli_db_open(&o, &db, &err) != TC_OK)
        return cli_fail("upgrade", &err);
    int from = tc_store_format(db.store);
    if (tc_store_upgrade(db.store, &moved, &err) != TC_OK) {
        cli_db_close(&db);
        return cli_fail("upgrade", &err);
    }
    cli_db_close(&db);
    if (from == TC_STORE_FORMAT)
        printf("%s is already store format %d: nothing to do\n", o.db, from);
    else
        printf("upgraded %s from store format %d to %d: %zu consents moved beside their "
               "citizens' records in %.2f s\n",
               o.db, from, TC_STORE_FORMAT, moved, cli_now() - t0);
    return 0;
}
