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

int cmd_model_governance(int argc, char **argv)
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
    const int promote = strcmp(argv[0], "promote") == 0;
    const char *cmd = promote ? "model promote" : "model retire";
    const char *config = NULL, *models = NULL, *audit_dir = NULL, *by = NULL, *reason = NULL;
    const char *catalog = NULL, *reasons = NULL;
    int c, dry = 0;
    tc_governance_request rq = {.action = promote ? TC_GOV_PROMOTE : TC_GOV_RETIRE,
                                .to = TC_STATUS_CHAMPION};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case O_MODELS: models = optarg; break;
        case O_AUDIT: audit_dir = optarg; break;
        case O_BY: by = optarg; break;
        case O_REASON: reason = optarg; break;
        case O_CATALOG: catalog = optarg; break;
        case O_REASONS: reasons = optarg; break;
        case O_TO:
            if (!promote || (strcmp(optarg, "champion") != 0 && strcmp(optarg, "challenger") != 0))
                return cli_usage(cmd, "--to champion or --to challenger, with promote");
            rq.to = strcmp(optarg, "champion") == 0 ? TC_STATUS_CHAMPION : TC_STATUS_CHALLENGER;
            break;
        case O_RETIRE_PREV:
            if (!promote)
                return cli_usage(cmd, "--retire-previous goes with promote");
            rq.retire_previous = 1;
            break;
        case O_FORCE:
            if (promote)
                return cli_usage(cmd, "--force goes with retire");
            rq.force = 1;
            break;
        case O_DRY: dry = 1; break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return cli_usage(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "expected one MODEL (NAME:VERSION or a model file)");
    rq.model = argv[optind];

    /* tinchapd's own reading of its configuration, so the directories are the ones it uses. */
    static tc_api_config cfg;
    tc_error err = {0};
    if (config != NULL) {
        tc_api_config_defaults(&cfg);
        snprintf(cfg.catalog, sizeof cfg.catalog, "%s", cli_default_catalog());
        snprintf(cfg.models, sizeof cfg.models, "%s", cli_models_dir());
        if (tc_api_config_load(&cfg, config, &err) != TC_OK)
            return cli_fail(cmd, &err);
        tc_api_config_finish(&cfg);
        if (models == NULL)
            models = cfg.models;
        if (audit_dir == NULL && cfg.audit_dir[0] != '\0')
            audit_dir = cfg.audit_dir;
        if (catalog == NULL)
            catalog = cfg.catalog;
        if (reasons == NULL && cfg.reasons[0] != '\0')
            reasons = cfg.reasons;
    }
    if (models == NULL)
        return cli_usage(cmd, "which models directory? --models DIR or --config FILE");
    if (audit_dir == NULL && !dry)
        return cli_usage(cmd, "where is the audit trail? --audit DIR or --config FILE");
    if (by == NULL)
        by = default_by();
    if (by == NULL)
        return cli_usage(cmd, "who decides? --by WHO");
    if (tc_governance_check_by(by, &err) != TC_OK)
        return cli_usage(cmd, "--by: %s", err.msg);
    if (reason != NULL && (reason[0] == '\0' || strlen(reason) > TC_GOVERNANCE_REASON_MAX))
        return cli_usage(cmd, "--reason: 1 to %d bytes", TC_GOVERNANCE_REASON_MAX);
    rq.models_dir = models;
    rq.reasons_path = reasons;

    tc_catalog *cat = NULL;
    tc_governance_plan *plan = NULL;
    tc_audit *audit = NULL;
    char *record = NULL;
    int lock = -1, status = CLI_EXIT_FAIL;
    uint64_t seq = 0;
    if (tc_catalog_load(catalog != NULL ? catalog : cli_default_catalog(), &cat, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    rq.catalog = cat;
    /* One change at a time per directory, from the plan to the record. */
    if (!dry && tc_governance_lock(models, &lock, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    if (tc_governance_plan_make(&rq, &plan, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    if (plan->n == 0) {
        printf("%s version %d is already %s: nothing to change\n", plan->name, plan->version,
               promote ? tc_model_status_name(rq.to) : "retired");
        status = 0;
        goto out;
    }
    if (dry) {
        print_plan(plan, "would change");
        printf("the models directory %s would load as the service loads it\n", models);
        status = 0;
        goto out;
    }
    /* Normally the service's trail, which tinchapd created at its first start. A new one
     * belongs to whoever runs this, and tinchapd runs as its own user: say so. */
    char probe[4096];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/data.mdb", audit_dir);
    int fresh = stat(probe, &st) != 0;
    tc_audit_options ao = {.dir = audit_dir};
    if (tc_audit_open(&ao, &audit, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    if (fresh)
        fprintf(stderr,
                "tinchap %s: created a new audit trail in %s; tinchapd's user must own it "
                "(e.g. chown -R tinchap: %s) before the service opens it\n",
                cmd, audit_dir, audit_dir);
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    record = tc_governance_record(plan, by, reason, tc_time_now_us(), host);
    if (record == NULL) {
        cli_failf(cmd, "cannot build the record (is --reason valid UTF-8?)");
        goto out;
    }
    if (tc_governance_apply(plan, &err) != TC_OK) {
        cli_fail(cmd, &err);
        goto out;
    }
    if (tc_audit_governance_append(audit, record, strlen(record), &seq, &err) != TC_OK) {
        /* No unrecorded change: put the files back. */
        tc_error uerr = {0};
        cli_fail(cmd, &err);
        if (tc_governance_undo(plan, &uerr) != TC_OK)
            cli_failf(cmd, "and the files could not be restored: %s", uerr.msg);
        else
            fprintf(stderr, "tinchap %s: the model files were restored\n", cmd);
        goto out;
    }
    print_plan(plan, "changed");
    printf("recorded as governance record %llu in %s (by %s)\n", (unsigned long long)seq,
           audit_dir, by);
    printf("the service serves it after a reload: systemctl reload tinchapd, or tinchap call "
           "reload\n");
    status = 0;
out:
    free(record);
    tc_audit_close(audit);
    tc_governance_plan_free(plan);
    tc_governance_unlock(lock);
    tc_catalog_free(cat);
    return status;
}
