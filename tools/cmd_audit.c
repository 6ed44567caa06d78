/* tinchap audit — the audit trail read straight from its directory: for a data steward
 * answering "who scored me?", an auditor exporting an institution's inquiries, or an operator
 * checking what the service answered. Read-only, so it runs beside a serving tinchapd (LMDB
 * gives it its own snapshot). */
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "tc_audit.h"
#include "tc_client.h"
#include "tc_id.h"
#include "tc_key.h"
#include "tc_text.h"
#include "tc_time.h"

static const char help[] =
    "usage: tinchap audit (--db DIR | --audit DIR) [--citizen ID | --request-id RID]\n"
    "                     [--institution I] [--from T] [--to T] [--limit N] [--key FILE]\n"
    "       tinchap audit (--db DIR | --audit DIR) --governance [--limit N]\n"
    "       tinchap audit (--db DIR | --audit DIR) --steward [--citizen ID] [--limit N]\n"
    "\n"
    "Print audit records of Score calls as JSON lines, one record per line: inquiry_id, time,\n"
    "request_id, institution, citizen_key (the citizen's pseudonym, hex), purpose, product,\n"
    "consent_ref, model, model_version, outcome (scored, denied, replayed), status, status_text,\n"
    "score, pd, pd_low, pd_high, grade (null unless scored), reasons, challengers (shadow\n"
    "scores of challenger models), loan_amount_vnd, loan_term_months, latency_us; in a\n"
    "consolidated trail (tinchapd's consent_feed.collect_audit, DIR/consolidated), origin\n"
    "{node, trail, seq}: the node the record was made on, its trail and its number there.\n"
    "\n"
    "With --citizen, that citizen's records, newest first (the ID is hashed with the secret\n"
    "key and never printed); otherwise every record, oldest first, or with --request-id those\n"
    "of that request ID (a bank's own, as it sent it in ScoreRequest.request_id: the answer and\n"
    "its replays, every institution's; give --from and --to to read only that time range).\n"
    "A request ID or consent reference is printed with its runs of 12 or more digits as\n"
    "'#': the trail never holds them (a request ID with such a run is found by its keyed hash,\n"
    "which needs the secret key). Opens the trail read-only: safe while tinchapd serves it.\n"
    "\n"
    "With --steward, the records of the steward's writes instead (GrantConsent,\n"
    "RevokeConsent, EraseCitizen, PutCitizens; all, or one citizen's), oldest first, one JSON\n"
    "object a line: seq, time, action (grant, revoke, erase, put), by {institution,\n"
    "identity}, citizen_key, consent and previous (the consent granted, revoked or replaced:\n"
    "institution, purpose, consent_ref, consent_ref_hashed, granted_at, expires_at,\n"
    "revoked_at), changed, consents_erased, applied (false in the record that follows a write\n"
    "the database then refused, with error).\n"
    "\n"
    "With --governance, the model governance records instead (tinchap model promote and\n"
    "retire), oldest first, one JSON object a line: seq, time, action, by, host, reason,\n"
    "models_dir, model {name, version, product} and changes [{file, name, version, from, to,\n"
    "sha256_before, sha256_after}].\n"
    "\n"
    "options:\n"
    "  --db DIR          the database directory; the trail is tinchapd's default beside it,\n"
    "                    DIR/../audit\n"
    "  --audit DIR       the audit trail directory (tinchapd's \"audit\" setting)\n"
    "  --citizen ID      only this citizen's records (needs the secret key)\n"
    "  --request-id RID  only the records of this request ID\n"
    "  --institution I   only this institution's records\n"
    "  --from T          records at or after T (UTC: 2026-01-31 or 2026-01-31T09:00:00Z)\n"
    "  --to T            records before T\n"
    "  --limit N         at most N records (default: all)\n"
    "  --governance      list the model governance records\n"
    "  --steward         list the steward's writes\n"
    "  --key FILE        secret key (default $TINCHAP_KEY); needed with --citizen and with a\n"
    "                    --request-id that holds 12 digits in a row, and when given, checked\n"
    "                    against the trail's\n"
    "  -h, --help        this text\n";

typedef struct filter {
    const char *institution;
    unsigned char request[TC_AUDIT_REQUEST_KEY_MAX]; /* --request-id's key, when given */
    size_t request_len;
    int64_t from_us, to_us; /* to_us 0: no upper bound */
    long limit;             /* 0: no limit */
    long printed;
    int write_error;
} filter;

static json_t *real_or_null(int scored, double v)
{
    return scored ? json_real(v) : json_null();
}

static int print_record(const tc_audit_record *r, void *arg)
{
    filter *f = arg;
    if (f->institution != NULL && strcmp(r->institution, f->institution) != 0)
        return 0;
    if (f->request_len > 0 && !tc_audit_is_request(r, f->request, f->request_len))
        return 0;
    if (r->time_us < f->from_us || (f->to_us != 0 && r->time_us >= f->to_us))
        return 0;
    int scored = r->outcome == TC_AUDIT_SCORED;
    char time[TC_TIME_US_TEXT_LEN], key[2 * TC_CITIZEN_KEY_LEN + 1];
    tc_time_format_us(r->time_us, time);
    tc_hex(r->citizen, TC_CITIZEN_KEY_LEN, key);
    json_t *reasons = json_array(), *challengers = json_array();
    for (size_t i = 0; i < r->n_reasons && i < TC_AUDIT_REASONS_MAX; i++)
        json_array_append_new(reasons, json_string(r->reasons[i]));
    for (size_t i = 0; i < r->n_challengers && i < TC_AUDIT_CHALLENGERS_MAX; i++) {
        const tc_audit_challenger *c = &r->challengers[i];
        json_array_append_new(challengers,
                              json_pack("{s:s, s:I, s:f, s:f, s:s}", "model", c->model,
                                        "model_version", (json_int_t)c->version, "score", c->score,
                                        "pd", c->pd, "grade", c->grade));
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, "
        "s:o, s:o, s:o, s:I, s:I, s:I}",
        "inquiry_id", r->inquiry_id, "time", time, "request_id", r->request_id, "institution",
        r->institution, "citizen_key", r->has_citizen ? json_string(key) : json_null(), "purpose",
        r->purpose, "product", r->product, "consent_ref", r->consent_ref, "model", r->model,
        "model_version", (json_int_t)r->model_version, "outcome", tc_audit_outcome_name(r->outcome),
        "status", tc_client_status_name(r->status), "status_text", r->status_text, "score",
        real_or_null(scored, r->score), "pd", real_or_null(scored, r->pd), "pd_low",
        real_or_null(scored, r->pd_low), "pd_high", real_or_null(scored, r->pd_high), "grade",
        scored ? json_string(r->grade) : json_null(), "reasons", reasons, "challengers",
        challengers, "loan_amount_vnd", (json_int_t)r->loan_amount_vnd, "loan_term_months",
        (json_int_t)r->loan_term_months, "latency_us", (json_int_t)r->latency_us);
    if (j != NULL && r->origin_trail[0] != '\0') /* a consolidated trail's: where it was made */
        json_object_set_new(j, "origin",
                            json_pack("{s:s, s:s, s:I}", "node", r->node, "trail",
                                      r->origin_trail, "seq", (json_int_t)r->origin_seq));
    if (j == NULL ||
        json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0 ||
        fputc('\n', stdout) == EOF) {
        json_decref(j);
        f->write_error = 1;
        return 1;
    }
    json_decref(j);
    f->printed++;
    return f->limit > 0 && f->printed >= f->limit;
}

static int parse_time_us(const char *opt, const char *v, int64_t *out)
{
    int64_t t;
    if (tc_time_parse(v, strlen(v), &t) != TC_OK)
        return cli_usage("audit",
                         "%s: not a UTC time like 2026-01-31T09:00:00Z or a date like "
                         "2026-01-31",
                         opt);
    *out = t * 1000000;
    return 0;
}

/* A governance record as stored, with its sequence number first. */
static int print_governance(uint64_t seq, const char *record, size_t len, void *arg)
{
    filter *f = arg;
    json_t *stored = json_loadb(record, len, 0, NULL);
    json_t *j = json_pack("{s:I}", "seq", (json_int_t)seq);
    if (stored != NULL && j != NULL)
        json_object_update(j, stored);
    else if (j != NULL)
        json_object_set_new(j, "unreadable", json_true());
    json_decref(stored);
    if (j == NULL || json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', stdout) == EOF) {
        json_decref(j);
        f->write_error = 1;
        return 1;
    }
    json_decref(j);
    f->printed++;
    return f->limit > 0 && f->printed >= f->limit;
}

/* A record kept as JSON text, as it is. */
static int print_text(uint64_t seq, const char *record, size_t len, void *arg)
{
    filter *f = arg;
    (void)seq;
    if (fwrite(record, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
        f->write_error = 1;
        return 1;
    }
    f->printed++;
    return f->limit > 0 && f->printed >= f->limit;
}

/* tinchapd's default trail directory: "audit" beside the database directory (see
 * tc_api_config_finish), so a database replaced by a snapshot keeps its trail. */
static void audit_beside(const char *db, char *out, size_t size)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", db);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(out, size, "audit");
    else if (slash == dir)
        snprintf(out, size, "/audit");
    else {
        *slash = '\0';
        snprintf(out, size, "%s/audit", dir);
    }
}

/* Hash a citizen ID argument; the message never contains the ID. */
static int citizen_key(const tc_key *k, const char *id, unsigned char out[TC_CITIZEN_KEY_LEN],
                       tc_error *err)
{
    tc_hasher *h = NULL;
    int rc = tc_id_parse(id, strlen(id), 0, NULL, err);
    if (rc == TC_OK && (rc = tc_hasher_new(k, &h, err)) == TC_OK &&
        (rc = tc_hasher_citizen(h, id, out)) != TC_OK)
        tc_errorf(err, rc, "hashing the citizen ID failed");
    tc_hasher_free(h);
    return rc;
}

/* The key --request-id's records are recognised by (the secret is needed only for an ID with
 * a digit run, which the trail keeps as its keyed hash). */
static int request_key(const tc_key *k, const char *rid, filter *f, tc_error *err)
{
    tc_hasher *h = NULL;
    int rc = k != NULL ? tc_hasher_new(k, &h, err) : TC_OK;
    if (rc == TC_OK && (f->request_len = tc_audit_request_key(h, rid, f->request)) == 0)
        rc = tc_errorf(err, TC_EKEY, "hashing the request ID failed");
    tc_hasher_free(h);
    return rc;
}

/* What tinchap audit was asked for. */
typedef struct audit_opts {
    filter f;
    const char *citizen, *rid, *audit_dir, *key_path;
    int governance, steward;
    char derived[4096]; /* the trail's directory derived from --db */
} audit_opts;

/* Options into o; 0, or the exit status of a usage error (-1: --help was printed). */
static int parse_opts(int argc, char **argv, audit_opts *o)
{
    enum { O_DB = 1000, O_AUDIT, O_KEY, O_CITIZEN, O_INSTITUTION, O_FROM, O_TO, O_LIMIT,
           O_GOVERNANCE, O_REQUEST_ID, O_STEWARD };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"audit", required_argument, NULL, O_AUDIT},
        {"key", required_argument, NULL, O_KEY},
        {"citizen", required_argument, NULL, O_CITIZEN},
        {"request-id", required_argument, NULL, O_REQUEST_ID},
        {"institution", required_argument, NULL, O_INSTITUTION},
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"limit", required_argument, NULL, O_LIMIT},
        {"governance", no_argument, NULL, O_GOVERNANCE},
        {"steward", no_argument, NULL, O_STEWARD},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    filter *f = &o->f;
    const char *db = NULL;
    int c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB:
            db = optarg;
            break;
        case O_AUDIT:
            o->audit_dir = optarg;
            break;
        case O_KEY:
            o->key_path = optarg;
            break;
        case O_CITIZEN:
            o->citizen = optarg;
            break;
        case O_REQUEST_ID:
            o->rid = optarg;
            break;
        case O_INSTITUTION:
            f->institution = optarg;
            break;
        case O_FROM:
            if ((rc = parse_time_us("--from", optarg, &f->from_us)) != 0)
                return rc;
            break;
        case O_TO:
            if ((rc = parse_time_us("--to", optarg, &f->to_us)) != 0)
                return rc;
            break;
        case O_LIMIT:
            if (cli_parse_count(optarg, 1, 1000000000L, &f->limit) != 0)
                return cli_usage("audit", "--limit takes a positive count");
            break;
        case O_GOVERNANCE:
            o->governance = 1;
            break;
        case O_STEWARD:
            o->steward = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return cli_usage("audit", "unknown option, or an option without its value");
        }
    }
    if (optind != argc) /* not echoed: a stray argument may be a citizen ID */
        return cli_usage("audit", "unexpected argument; the citizen goes in --citizen ID");
    if ((db == NULL) == (o->audit_dir == NULL))
        return cli_usage("audit", "give the database (--db DIR) or the trail (--audit DIR)");
    if (o->audit_dir == NULL) {
        audit_beside(db, o->derived, sizeof o->derived);
        o->audit_dir = o->derived;
    }
    int ranged = f->institution != NULL || f->from_us != 0 || f->to_us != 0;
    if (o->governance && (o->citizen != NULL || o->rid != NULL || ranged))
        return cli_usage("audit", "--governance takes only --limit");
    if (o->steward && (o->governance || o->rid != NULL || ranged))
        return cli_usage("audit", "--steward takes only --citizen and --limit");
    if (o->citizen != NULL && o->rid != NULL)
        return cli_usage("audit", "give --citizen or --request-id, not both");
    if (o->rid != NULL && (o->rid[0] == '\0' || strlen(o->rid) > TC_AUDIT_TEXT_MAX))
        return cli_usage("audit", "--request-id: 1 to %d characters", TC_AUDIT_TEXT_MAX);
    if (o->key_path == NULL)
        o->key_path = cli_default_key();
    if (o->citizen != NULL && o->key_path == NULL)
        return cli_usage("audit", "--citizen needs the secret key: --key FILE or $TINCHAP_KEY");
    if (o->rid != NULL && o->key_path == NULL && tc_text_has_id_run(o->rid, strlen(o->rid)))
        return cli_usage("audit", "a --request-id with 12 digits in a row is found by its keyed "
                         "hash: give the secret key (--key FILE or $TINCHAP_KEY)");
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    audit_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    filter *f = &o.f;
    tc_error err = {0};
    tc_key *key = NULL;
    tc_audit *audit = NULL;
    tc_audit_reader *reader = NULL;
    unsigned char ckey[TC_CITIZEN_KEY_LEN];
    rc = CLI_EXIT_FAIL;
    if ((o.key_path != NULL && tc_key_load(o.key_path, &key, &err) != TC_OK) ||
        (o.citizen != NULL && citizen_key(key, o.citizen, ckey, &err) != TC_OK) ||
        (o.rid != NULL && request_key(key, o.rid, f, &err) != TC_OK)) {
        cli_fail("audit", &err);
        goto out;
    }
    /* read-only: nothing is created, and a trail the service has not written yet is absent */
    tc_audit_options ao = {.dir = o.audit_dir, .key = key, .read_only = 1};
    int arc = tc_audit_open(&ao, &audit, &err);
    if (arc == TC_ENOTFOUND) {
        fprintf(stderr,
                "tinchap audit: no audit trail yet in %s (tinchapd has not served a "
                "Score call with this trail)\n",
                o.audit_dir);
        rc = 0;
        goto out;
    }
    if (arc != TC_OK || tc_audit_reader_new(audit, &reader, &err) != TC_OK) {
        cli_fail("audit", &err);
        goto out;
    }
    uint64_t pending = tc_audit_journal_pending(audit);
    if (pending > 0)
        fprintf(stderr,
                "tinchap audit: %llu more record(s) are in %s/journal only: the tinchapd that "
                "wrote them was stopped without closing the trail; they join its tables when "
                "tinchapd next starts on it\n",
                (unsigned long long)pending, o.audit_dir);
    int src;
    if (o.governance)
        src = tc_audit_governance_scan(reader, print_governance, f, &err);
    else if (o.steward)
        src = tc_audit_steward_scan(reader, o.citizen != NULL ? ckey : NULL, print_text, f,
                                    &err);
    else if (o.citizen != NULL)
        src = tc_audit_by_citizen(reader, ckey, 0, SIZE_MAX, print_record, f, &err);
    else
        src = tc_audit_scan(reader, f->from_us, f->to_us, print_record, f, &err);
    if (f->write_error || fflush(stdout) != 0) {
        cli_failf("audit", "cannot write the output");
        goto out;
    }
    if (src != TC_OK) {
        cli_fail("audit", &err);
        goto out;
    }
    rc = 0;
out:
    tc_audit_reader_free(reader);
    tc_audit_close(audit);
    tc_key_free(key);
    return rc;
}
