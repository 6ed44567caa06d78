/* tinchap model promote / retire — the risk team's controlled change of which model serves a
 * product, recorded in the audit trail (who, when, why, the files' SHA-256 before and after).
 *
 * The plan and its check are tc_governance's: the directory as it would be after the change is
 * loaded with the registry's code, so nothing is written that the service would refuse. The
 * change reaches the service at its next reload (SIGHUP or tinchap call reload), which loads the
 * directory again with that same code.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "tc_api_config.h"
#include "tc_audit.h"
#include "tc_governance.h"
#include "tc_time.h"

static const char help[] =
    "usage: tinchap model promote MODEL [--to champion|challenger] [--retire-previous]\n"
    "                     (--config FILE | --models DIR --audit DIR) [--by WHO] [--reason TEXT]\n"
    "       tinchap model retire MODEL [--force]\n"
    "                     (--config FILE | --models DIR --audit DIR) [--by WHO] [--reason TEXT]\n"
    "\n"
    "Change a model's status in the models directory the service serves, and record who did it,\n"
    "when and why in the audit trail (tinchap audit --governance lists the records).\n"
    "MODEL is NAME:VERSION (unsecured-consumer-scorecard:2) or a model file of the directory.\n"
    "\n"
    "promote   makes MODEL the champion of its product; the previous champion becomes a\n"
    "          challenger (with --retire-previous: retired). With --to challenger, takes a\n"
    "          retired model back into shadow scoring.\n"
    "retire    sets MODEL retired: loadable by name and version, never a default. Refuses the\n"
    "          champion of a product that still has challengers, and a product's only\n"
    "          champion unless --force.\n"
    "\n"
    "Before anything is written, the directory as it would be is loaded exactly as tinchapd\n"
    "loads it (every file as 'tinchap model check' checks it, then one champion per product,\n"
    "challengers only beside a champion); a change the service would refuse is refused here.\n"
    "Only the \"status\" value of each file changes, every other byte stays; each file is\n"
    "replaced atomically. Then reload the service: systemctl reload tinchapd, or\n"
    "tinchap call reload.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  tinchapd's configuration: its models, audit, catalog and reasons\n"
    "      --models DIR   the models directory\n"
    "      --audit DIR    the audit trail (tinchapd's \"audit\" setting)\n"
    "      --by WHO       who decides (default $SUDO_USER, else $USER)\n"
    "      --reason TEXT  why, e.g. a model-risk committee reference\n"
    "      --catalog FILE attribute catalog (default: the configuration's, or the shipped one)\n"
    "      --reasons FILE reason dictionary (default: reasons.json of the models directory)\n"
    "      --dry-run      check and print the change, write nothing\n"
    "  -h, --help         this text\n";

static const char *default_by(void)
{
    const char *v = getenv("SUDO_USER");
    if (v != NULL && v[0] != '\0')
        return v;
    v = getenv("USER");
    if (v != NULL && v[0] != '\0')
        return v;
    struct passwd *pw = getpwuid(geteuid());
    return pw != NULL ? pw->pw_name : NULL;
}

static void print_plan(const tc_governance_plan *p, const char *verb)
{
    for (size_t i = 0; i < p->n; i++) {
        const tc_governance_change *c = &p->changes[i];
        printf("%s %s version %d (%s): %s -> %s\n", verb, c->name, c->version, c->file,
               tc_model_status_name(c->from), tc_model_status_name(c->to));
    }
}

typedef struct gov_opts {
    int promote, dry;
    const char *cmd; /* "model promote" or "model retire", for messages */
    const char *config, *models, *audit_dir, *by, *reason, *catalog, *reasons;
    tc_governance_request rq;
} gov_opts;

/* The directories from tinchapd's own reading of its configuration, so they are the ones it
 * uses; options given on the command line win. */
static int from_config(gov_opts *o, tc_error *err)
{
    static tc_api_config cfg;
    tc_api_config_defaults(&cfg);
    snprintf(cfg.catalog, sizeof cfg.catalog, "%s", cli_default_catalog());
    snprintf(cfg.models, sizeof cfg.models, "%s", cli_models_dir());
    if (tc_api_config_load(&cfg, o->config, err) != TC_OK)
        return cli_fail(o->cmd, err);
    tc_api_config_finish(&cfg);
    if (o->models == NULL)
        o->models = cfg.models;
    if (o->audit_dir == NULL && cfg.audit_dir[0] != '\0')
        o->audit_dir = cfg.audit_dir;
    if (o->catalog == NULL)
        o->catalog = cfg.catalog;
    if (o->reasons == NULL && cfg.reasons[0] != '\0')
        o->reasons = cfg.reasons;
    return 0;
}

/* -1: go on; otherwise the exit status (help printed, or bad usage). */
static int parse_opts(int argc, char **argv, gov_opts *o)
{
    enum { O_MODELS = 1000, O_AUDIT, O_BY, O_REASON, O_CATALOG, O_REASONS, O_TO, O_RETIRE_PREV,
           O_FORCE, O_DRY };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"models", required_argument, NULL, O_MODELS},
        {"audit", required_argument, NULL, O_AUDIT},
        {"by", required_argument, NULL, O_BY},
        {"reason", required_argument, NULL, O_REASON},
        {"catalog", required_argument, NULL, O_CATALOG},
        {"reasons", required_argument, NULL, O_REASONS},
        {"to", required_argument, NULL, O_TO},
        {"retire-previous", no_argument, NULL, O_RETIRE_PREV},
        {"force", no_argument, NULL, O_FORCE},
        {"dry-run", no_argument, NULL, O_DRY},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->promote = strcmp(argv[0], "promote") == 0;
    o->cmd = o->promote ? "model promote" : "model retire";
    o->rq.action = o->promote ? TC_GOV_PROMOTE : TC_GOV_RETIRE;
    o->rq.to = TC_STATUS_CHAMPION;
    const char *cmd = o->cmd;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case O_MODELS: o->models = optarg; break;
        case O_AUDIT: o->audit_dir = optarg; break;
        case O_BY: o->by = optarg; break;
        case O_REASON: o->reason = optarg; break;
        case O_CATALOG: o->catalog = optarg; break;
        case O_REASONS: o->reasons = optarg; break;
        case O_TO:
            if (!o->promote ||
                (strcmp(optarg, "champion") != 0 && strcmp(optarg, "challenger") != 0))
                return cli_usage(cmd, "--to champion or --to challenger, with promote");
            o->rq.to = strcmp(optarg, "champion") == 0 ? TC_STATUS_CHAMPION : TC_STATUS_CHALLENGER;
            break;
        case O_RETIRE_PREV:
            if (!o->promote)
                return cli_usage(cmd, "--retire-previous goes with promote");
            o->rq.retire_previous = 1;
            break;
        case O_FORCE:
            if (o->promote)
                return cli_usage(cmd, "--force goes with retire");
            o->rq.force = 1;
            break;
        case O_DRY: o->dry = 1; break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "expected one MODEL (NAME:VERSION or a model file)");
    o->rq.model = argv[optind];
    tc_error err = {0};
    int rc;
    if (o->config != NULL && (rc = from_config(o, &err)) != 0)
        return rc;
    if (o->models == NULL)
        return cli_usage(cmd, "which models directory? --models DIR or --config FILE");
    if (o->audit_dir == NULL && !o->dry)
        return cli_usage(cmd, "where is the audit trail? --audit DIR or --config FILE");
    if (o->by == NULL)
        o->by = default_by();
    if (o->by == NULL)
        return cli_usage(cmd, "who decides? --by WHO");
    if (tc_governance_check_by(o->by, &err) != TC_OK)
        return cli_usage(cmd, "--by: %s", err.msg);
    if (o->reason != NULL &&
        (o->reason[0] == '\0' || strlen(o->reason) > TC_GOVERNANCE_REASON_MAX))
        return cli_usage(cmd, "--reason: 1 to %d bytes", TC_GOVERNANCE_REASON_MAX);
    o->rq.models_dir = o->models;
    o->rq.reasons_path = o->reasons;
    return -1;
}

/* Apply the plan and record it in the audit trail; a change that cannot be recorded is undone.
 * 0, or the exit status. */
static int apply_recorded(const gov_opts *o, tc_governance_plan *plan, tc_error *err)
{
    const char *cmd = o->cmd;
    tc_audit *audit = NULL;
    char *record = NULL;
    int status = CLI_EXIT_FAIL;
    uint64_t seq = 0;
    /* Normally the service's trail, which tinchapd created at its first start. A new one
     * belongs to whoever runs this, and tinchapd runs as its own user: say so. */
    char probe[4096];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/data.mdb", o->audit_dir);
    int fresh = stat(probe, &st) != 0;
    tc_audit_options ao = {.dir = o->audit_dir};
    if (tc_audit_open(&ao, &audit, err) != TC_OK) {
        cli_fail(cmd, err);
        goto out;
    }
    if (fresh)
        fprintf(stderr,
                "tinchap %s: created a new audit trail in %s; tinchapd's user must own it "
                "(e.g. chown -R tinchap: %s) before the service opens it\n",
                cmd, o->audit_dir, o->audit_dir);
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    record = tc_governance_record(plan, o->by, o->reason, tc_time_now_us(), host);
    if (record == NULL) {
        cli_failf(cmd, "cannot build the record (is --reason valid UTF-8?)");
        goto out;
    }
    if (tc_governance_apply(plan, err) != TC_OK) {
        cli_fail(cmd, err);
        goto out;
    }
    if (tc_audit_governance_append(audit, record, strlen(record), &seq, err) != TC_OK) {
        /* No unrecorded change: put the files back. */
        tc_error uerr = {0};
        cli_fail(cmd, err);
        if (tc_governance_undo(plan, &uerr) != TC_OK)
            cli_failf(cmd, "and the files could not be restored: %s", uerr.msg);
        else
            fprintf(stderr, "tinchap %s: the model files were restored\n", cmd);
        goto out;
    }
    print_plan(plan, "changed");
    printf("recorded as governance record %llu in %s (by %s)\n", (unsigned long long)seq,
           o->audit_dir, o->by);
    printf("the service serves it after a reload: systemctl reload tinchapd, or tinchap call "
           "reload\n");
    status = 0;
out:
    free(record);
    tc_audit_close(audit);
    return status;
}

int cmd_model_governance(int argc, char **argv)
{
    gov_opts o;
    int status = parse_opts(argc, argv, &o);
    if (status >= 0)
        return status;
    const char *cmd = o.cmd;
    tc_error err = {0};
    tc_catalog *cat = NULL;
    tc_governance_plan *plan = NULL;
    int lock = -1;
    status = CLI_EXIT_FAIL;
    if (tc_catalog_load(o.catalog != NULL ? o.catalog : cli_default_catalog(), &cat, &err) !=
        TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    o.rq.catalog = cat;
    /* One change at a time per directory, from the plan to the record. */
    if (!o.dry && tc_governance_lock(o.models, &lock, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    if (tc_governance_plan_make(&o.rq, &plan, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    if (plan->n == 0) {
        printf("%s version %d is already %s: nothing to change\n", plan->name, plan->version,
               o.promote ? tc_model_status_name(o.rq.to) : "retired");
        status = 0;
    } else if (o.dry) {
        print_plan(plan, "would change");
        printf("the models directory %s would load as the service loads it\n", o.models);
        status = 0;
    } else {
        status = apply_recorded(&o, plan, &err);
    }
out:
    tc_governance_plan_free(plan);
    tc_governance_unlock(lock);
    tc_catalog_free(cat);
    return status;
}
