/* tinchap call — call a running tinchapd from the command line: what a bank's integration
 * engineer, a data steward or an operator types to try the service, and what scripts use.
 * Requests are built from options, responses printed as JSON with the proto's field names, and
 * the gRPC status becomes the exit code, so scripts can tell a refusal from a failure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <grpc/support/log.h>

#include "cli.h"
#include "commands.h"
#include "call.h"
#include "call_monitor.h"
#include "csv_reader.h"
#include "tc_catalog.h"
#include "tc_client.h"
#include "tc_id.h"
#include "tc_pb_json.h"
#include "tc_time.h"

#include "grpc/health/v1/health.pb-c.h"
#include "tinchap/v1/admin.pb-c.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

static const char help[] =
    "usage: tinchap call METHOD [options]\n"
    "\n"
    "Call a running tinchapd and print its answer as JSON (field names as in the .proto\n"
    "files). Methods and their options:\n"
    "\n"
    "  score      --citizen ID --consent-ref REF --purpose P --product P [--request-id ID]\n"
    "             [--model NAME [--model-version N]] [--max-reasons N] [--amount VND]\n"
    "             [--term MONTHS]                           tinchap.v1.Scoring/Score\n"
    "  models     [--product P]                             Scoring/ListModels\n"
    "  model      --model NAME [--model-version N]          Scoring/GetModel\n"
    "  put        FILE.csv [--catalog FILE] [--batch N]     Steward/PutCitizens\n"
    "  grant      --citizen ID --institution I --purpose P --consent-ref REF\n"
    "             --granted-at T --expires-at T             Steward/GrantConsent\n"
    "  revoke     --citizen ID --institution I --purpose P [--revoked-at T]\n"
    "                                                       Steward/RevokeConsent\n"
    "  erase      --citizen ID                              Steward/EraseCitizen\n"
    "  inquiries  --citizen ID [--limit N] [--page-token T] [--from T] [--to T]\n"
    "                                                       Steward/ListInquiries (a page;\n"
    "                                                       the next with next_page_token)\n"
    "  consents   --citizen ID                              Steward/ListConsents (current\n"
    "                                                       and replaced, with their state)\n"
    "  reload                                               Admin/ReloadModels\n"
    "  status                                               Admin/GetStatus\n"
    "  monitor    [--json]                                  Admin/GetMonitor: per model, the\n"
    "                                                       window's grades against development,\n"
    "                                                       PSI and CSI, as a table\n"
    "  health     [--service NAME]                          grpc.health.v1.Health/Check\n"
    "  raw        /package.Service/Method                   an empty request to any method;\n"
    "                                                       prints the response's size\n"
    "\n"
    "Connection (every method):\n"
    "  --target HOST:PORT   server address (default $TINCHAP_TARGET or 127.0.0.1:50051)\n"
    "  --ca FILE            CA that signed the server's certificate (default $TINCHAP_CA)\n"
    "  --cert FILE          this client's certificate (default $TINCHAP_CERT)\n"
    "  --key FILE           its private key (default $TINCHAP_CERT_KEY; not the database\n"
    "                       secret, which tinchap call never needs)\n"
    "  --server-name NAME   name to verify in the server's certificate instead of HOST\n"
    "  --insecure           plaintext, for a server started with --insecure on loopback\n"
    "  --token TOKEN        bearer token for such a server (default $TINCHAP_TOKEN)\n"
    "  --timeout MS         deadline of the call (default 10000)\n"
    "  --compact            print the JSON on one line\n"
    "  --json               JSON where a table is the default (monitor)\n"
    "  -h, --help           this text\n"
    "\n"
    "Notes: times are UTC, \"2026-01-31T09:00:00Z\" or \"2026-01-31\". score makes a fresh\n"
    "random --request-id unless given; repeating one within 24 h replays the first answer.\n"
    "put reads citizen_id plus every catalog attribute by header name, checks every row\n"
    "before sending anything, and streams at most --batch rows per call (default and\n"
    "maximum 10000); each call is all or nothing. Citizen IDs are never printed.\n"
    "gRPC's own log lines are shown only with GRPC_VERBOSITY set (e.g. ERROR).\n"
    "\n"
    "Exit status: 0 OK; 1 a local error (unreadable file, bad CSV); 2 bad usage;\n"
    "10 + the gRPC status code when the server refused the call, e.g. 13 INVALID_ARGUMENT,\n"
    "14 DEADLINE_EXCEEDED, 15 NOT_FOUND, 16 ALREADY_EXISTS, 17 PERMISSION_DENIED,\n"
    "18 RESOURCE_EXHAUSTED, 19 FAILED_PRECONDITION, 22 UNIMPLEMENTED, 24 UNAVAILABLE\n"
    "(server not reachable), 26 UNAUTHENTICATED. Errors go to stderr as\n"
    "'tinchap call: STATUS_NAME: message'.\n";

static const char *const req_names[R_COUNT] = {
    "--citizen",       "--consent-ref", "--purpose", "--product", "--request-id",  "--model",
    "--model-version", "--max-reasons", "--amount",  "--term",    "--institution", "--granted-at",
    "--expires-at",    "--revoked-at",  "--limit",   "--service", "--catalog",     "--batch",
    "--page-token",    "--from",        "--to"};

enum {
    O_TIMEOUT = 1000,
    O_COMPACT,
    O_JSON,
    O_REQ /* O_REQ + R_* */
};

/* An option that sets a field of the request, named as in the .proto file. */
typedef struct field_opt {
    int opt; /* R_* */
    const char *field;
} field_opt;

#define FIELDS_MAX 10
#define REQUEST_BYTES_MAX 256 /* every request message built here is smaller (checked) */

/* A method: a unary call whose request is made from options (path, request, response, fields),
 * or one that run does itself (put, raw). */
typedef struct method {
    const char *name;
    const char *path;
    const ProtobufCMessageDescriptor *request, *response;
    field_opt fields[FIELDS_MAX]; /* in the order they are checked */
    unsigned required;
    int (*table)(const ProtobufCMessage *msg); /* the response as a table, or NULL: JSON */
    int (*run)(call_ctx *cx, const req_opts *r);
    unsigned allowed;       /* run's options (a unary method's are its fields') */
    const char *positional; /* what the one positional argument is, or NULL */
} method;

/* ---- output ---- */

int call_print_json(const call_ctx *cx, json_t *j)
{
    size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) |
                   (cx->compact ? JSON_COMPACT : JSON_INDENT(2));
    int rc = j != NULL && json_dumpf(j, stdout, flags) == 0 ? 0 : -1;
    json_decref(j);
    if (rc != 0)
        return cli_failf("call", "cannot write the JSON output");
    fputc('\n', stdout);
    return fflush(stdout) == 0 ? 0 : cli_failf("call", "cannot write the output");
}

/* "tinchap call: STATUS_NAME: message", then the google.rpc.Status's details, a line each
 * (reason, every bad field, retry advice); the server's text is quoted so that it cannot forge
 * terminal lines, and it never holds an ID (the server's contract). */
int call_rpc_fail(int status, const char *msg, const char *context,
                  const unsigned char *details, size_t details_len)
{
    char safe[TC_CLIENT_MESSAGE_MAX], lines[4096], safe_lines[sizeof lines];
    tc_error_quote(safe, sizeof safe, msg, strlen(msg));
    fprintf(stderr, "tinchap call: %s: %s%s\n", tc_client_status_name(status), safe,
            context != NULL ? context : "");
    if (tc_client_describe(details, details_len, "  ", lines, sizeof lines) > 0) {
        /* quote each line, keeping the newlines that separate them */
        for (char *line = strtok(lines, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            tc_error_quote(safe_lines, sizeof safe_lines, line, strlen(line));
            fprintf(stderr, "%s\n", safe_lines);
        }
    }
    return status > 0 && status <= 16 ? CALL_EXIT_RPC_BASE + status : CLI_EXIT_FAIL;
}

static unsigned char *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    unsigned char *buf = malloc(*len + 1);
    if (buf != NULL)
        protobuf_c_message_pack(m, buf);
    return buf;
}

/* One unary call: pack, call, print the response as JSON. */
static int unary(call_ctx *cx, const char *path, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc)
{
    size_t len = 0, rlen = 0;
    unsigned char *buf = pack(req, &len), *resp = NULL, *details = NULL;
    size_t dlen = 0;
    char msg[TC_CLIENT_MESSAGE_MAX];
    int status = 0;
    if (buf == NULL)
        return cli_failf("call", "out of memory");
    int rc = tc_client_unary_details(cx->client, path, buf, len, cx->timeout_ms, &resp, &rlen,
                                     &status, msg, sizeof msg, &details, &dlen);
    free(buf);
    if (rc != TC_OK)
        return cli_failf("call", "%s", msg);
    if (status != 0) {
        free(resp);
        rc = call_rpc_fail(status, msg, NULL, details, dlen);
        free(details);
        return rc;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(resp_desc, NULL, rlen, resp);
    free(resp);
    if (m == NULL)
        return cli_failf("call", "the server's %s is malformed", resp_desc->short_name);
    rc = cx->table != NULL && !cx->json
             ? cx->table(m)
             : call_print_json(cx, tc_pb_json_encode(m, TC_PB_JSON_PROTO_NAMES | TC_PB_JSON_INT64_NUMBERS));
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* ---- option values ---- */

int call_parse_u32(const char *opt, const char *v, uint32_t max, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    if (end == NULL || *end != '\0' || errno != 0 || n > max)
        return cli_usage("call", "%s takes a whole number from 0 to %" PRIu32, opt, max);
    *out = (uint32_t)n;
    return 0;
}

/* A time option ("2026-01-31" or "2026-01-31T09:00:00Z", UTC) into *ts and *out = ts, or, when
 * the option was not given, *out = NULL. */
static int parse_time(const req_opts *r, int which, const char *opt,
                      Google__Protobuf__Timestamp *ts, Google__Protobuf__Timestamp **out)
{
    int64_t t;
    *out = NULL;
    if (!(r->given & B(which)))
        return 0;
    const char *v = r->v[which];
    if (tc_time_parse(v, strlen(v), &t) != TC_OK)
        return cli_usage("call", "%s takes a UTC time like 2026-01-31T09:00:00Z or a date like "
                                 "2026-01-31", opt);
    google__protobuf__timestamp__init(ts);
    ts->seconds = t;
    *out = ts;
    return 0;
}

static int parse_i64(const char *opt, const char *v, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0)
        return cli_usage("call", "%s takes a whole number", opt);
    *out = n;
    return 0;
}

static char *opt(const req_opts *r, int which)
{
    return (char *)(r->given & B(which) ? r->v[which] : "");
}

/* A fresh request ID: 20 letters = 94 bits of randomness (letters only, so that the trail and
 * the log keep it whole: a run of 12 digits would be kept redacted). */
static int fresh_request_id(char out[32])
{
    unsigned char rnd[20];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    memcpy(out, "cli-", 4);
    for (size_t i = 0; i < sizeof rnd; i++)
        out[4 + i] = (char)('a' + rnd[i] % 26);
    out[4 + sizeof rnd] = '\0';
    return 0;
}

/* ---- methods ---- */

/* Set the request's field f from its option; a usage error (its exit status) when the value
 * is not of the field's type. An absent request_id is a fresh one (rid). */
static int set_field(ProtobufCMessage *q, const field_opt *f, const req_opts *r,
                     Google__Protobuf__Timestamp *ts, char rid[32])
{
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(q->descriptor, f->field);
    if (fd == NULL)
        return cli_failf("call", "%s has no field %s", q->descriptor->short_name, f->field);
    void *p = (char *)q + fd->offset;
    const char *name = req_names[f->opt];
    int given = (r->given & B(f->opt)) != 0;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!given && f->opt == R_REQUEST_ID) {
            if (fresh_request_id(rid) != 0)
                return cli_failf("call", "no randomness for a request ID: %s", strerror(errno));
            *(char **)p = rid;
            return 0;
        }
        *(char **)p = opt(r, f->opt);
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
        return given ? call_parse_u32(name, r->v[f->opt], UINT32_MAX, p) : 0;
    case PROTOBUF_C_TYPE_INT64:
        return given ? parse_i64(name, r->v[f->opt], p) : 0;
    case PROTOBUF_C_TYPE_MESSAGE: /* a google.protobuf.Timestamp */
        return parse_time(r, f->opt, name, ts, p);
    default:
        return cli_failf("call", "%s: no option sets a field of its type", f->field);
    }
}

/* A unary method: its request made from the options, the response printed. */
static int run_unary(call_ctx *cx, const method *m, const req_opts *r)
{
    _Alignas(max_align_t) unsigned char buf[REQUEST_BYTES_MAX];
    Google__Protobuf__Timestamp ts[FIELDS_MAX];
    char rid[32];
    int rc;
    if (m->request->sizeof_message > sizeof buf)
        return cli_failf("call", "%s is larger than its buffer", m->request->short_name);
    protobuf_c_message_init(m->request, buf);
    ProtobufCMessage *q = (ProtobufCMessage *)buf;
    for (size_t i = 0; i < FIELDS_MAX && m->fields[i].field != NULL; i++)
        if ((rc = set_field(q, &m->fields[i], r, &ts[i], rid)) != 0)
            return rc;
    cx->table = m->table;
    return unary(cx, m->path, q, m->response);
}

static int run_raw(call_ctx *cx, const req_opts *r)
{
    const char *path = r->positional;
    unsigned char *resp = NULL;
    size_t rlen = 0;
    int status = 0;
    char msg[TC_CLIENT_MESSAGE_MAX];
    if (path[0] != '/' || strchr(path + 1, '/') == NULL)
        return cli_usage("call", "raw takes a method path like /package.Service/Method");
    unsigned char *details = NULL;
    size_t dlen = 0;
    int rc = tc_client_unary_details(cx->client, path, "", 0, cx->timeout_ms, &resp, &rlen,
                                     &status, msg, sizeof msg, &details, &dlen);
    free(resp);
    if (rc != TC_OK)
        return cli_failf("call", "%s", msg);
    if (status != 0) {
        rc = call_rpc_fail(status, msg, NULL, details, dlen);
        free(details);
        return rc;
    }
    return call_print_json(cx,
                      json_pack("{s:s, s:I}", "method", path, "response_bytes", (json_int_t)rlen));
}

/* ---- dispatch ---- */

/* A unary method: its path, and the messages it takes and answers (protobuf-c's names). */
#define UNARY(p, req, resp)                                                                        \
    .path = p, .request = &req##__descriptor, .response = &resp##__descriptor
#define SCORING(m) "/tinchap.v1.Scoring/" m
#define STEWARD(m) "/tinchap.v1.Steward/" m
#define ADMIN(m) "/tinchap.v1.Admin/" m

static const method methods[] = {
    {.name = "score",
     UNARY(SCORING("Score"), tinchap__v1__score_request, tinchap__v1__score_response),
     .fields = {{R_CITIZEN, "citizen_id"},
                {R_CONSENT_REF, "consent_ref"},
                {R_PURPOSE, "purpose"},
                {R_PRODUCT, "product"},
                {R_MODEL, "model_name"},
                {R_REQUEST_ID, "request_id"},
                {R_MODEL_VERSION, "model_version"},
                {R_MAX_REASONS, "max_reasons"},
                {R_AMOUNT, "loan_amount_vnd"},
                {R_TERM, "loan_term_months"}},
     .required = B(R_CITIZEN) | B(R_CONSENT_REF) | B(R_PURPOSE) | B(R_PRODUCT)},
    {.name = "models",
     UNARY(SCORING("ListModels"), tinchap__v1__list_models_request,
           tinchap__v1__list_models_response),
     .fields = {{R_PRODUCT, "product"}}},
    {.name = "model",
     UNARY(SCORING("GetModel"), tinchap__v1__get_model_request, tinchap__v1__model_description),
     .fields = {{R_MODEL, "name"}, {R_MODEL_VERSION, "version"}},
     .required = B(R_MODEL)},
    {.name = "put",
     .run = call_run_put,
     .allowed = B(R_CATALOG) | B(R_BATCH),
     .positional = "a population CSV file"},
    {.name = "grant",
     UNARY(STEWARD("GrantConsent"), tinchap__v1__grant_consent_request,
           tinchap__v1__grant_consent_response),
     .fields = {{R_CITIZEN, "citizen_id"},
                {R_INSTITUTION, "institution"},
                {R_PURPOSE, "purpose"},
                {R_CONSENT_REF, "consent_ref"},
                {R_GRANTED_AT, "granted_at"},
                {R_EXPIRES_AT, "expires_at"}},
     .required = B(R_CITIZEN) | B(R_INSTITUTION) | B(R_PURPOSE) | B(R_CONSENT_REF) |
                 B(R_GRANTED_AT) | B(R_EXPIRES_AT)},
    {.name = "revoke",
     UNARY(STEWARD("RevokeConsent"), tinchap__v1__revoke_consent_request,
           tinchap__v1__revoke_consent_response),
     .fields = {{R_CITIZEN, "citizen_id"},
                {R_INSTITUTION, "institution"},
                {R_PURPOSE, "purpose"},
                {R_REVOKED_AT, "revoked_at"}},
     .required = B(R_CITIZEN) | B(R_INSTITUTION) | B(R_PURPOSE)},
    {.name = "erase",
     UNARY(STEWARD("EraseCitizen"), tinchap__v1__erase_citizen_request,
           tinchap__v1__erase_citizen_response),
     .fields = {{R_CITIZEN, "citizen_id"}},
     .required = B(R_CITIZEN)},
    {.name = "inquiries",
     UNARY(STEWARD("ListInquiries"), tinchap__v1__list_inquiries_request,
           tinchap__v1__list_inquiries_response),
     .fields = {{R_CITIZEN, "citizen_id"},
                {R_PAGE_TOKEN, "page_token"},
                {R_FROM, "from"},
                {R_TO, "to"},
                {R_LIMIT, "limit"}},
     .required = B(R_CITIZEN)},
    {.name = "consents",
     UNARY(STEWARD("ListConsents"), tinchap__v1__list_consents_request,
           tinchap__v1__list_consents_response),
     .fields = {{R_CITIZEN, "citizen_id"}},
     .required = B(R_CITIZEN)},
    {.name = "reload",
     UNARY(ADMIN("ReloadModels"), tinchap__v1__reload_models_request,
           tinchap__v1__reload_models_response)},
    {.name = "status",
     UNARY(ADMIN("GetStatus"), tinchap__v1__get_status_request, tinchap__v1__get_status_response)},
    {.name = "monitor",
     UNARY(ADMIN("GetMonitor"), tinchap__v1__get_monitor_request,
           tinchap__v1__get_monitor_response),
     .table = call_monitor_print},
    {.name = "health",
     UNARY("/grpc.health.v1.Health/Check", grpc__health__v1__health_check_request,
           grpc__health__v1__health_check_response),
     .fields = {{R_SERVICE, "service"}}},
    {.name = "raw", .run = run_raw, .positional = "a method path"},
};

/* The options a method takes. */
static unsigned allowed_of(const method *m)
{
    unsigned allowed = m->allowed;
    for (size_t i = 0; i < FIELDS_MAX && m->fields[i].field != NULL; i++)
        allowed |= B(m->fields[i].opt);
    return allowed;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void drop_grpc_log(gpr_log_func_args *args)
{
    (void)args;
}

int cmd_call(int argc, char **argv)
{
    static const struct option opts[] = {
        TC_CLIENT_LONG_OPTIONS,
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"compact", no_argument, NULL, O_COMPACT},
        {"json", no_argument, NULL, O_JSON},
        {"citizen", required_argument, NULL, O_REQ + R_CITIZEN},
        {"consent-ref", required_argument, NULL, O_REQ + R_CONSENT_REF},
        {"purpose", required_argument, NULL, O_REQ + R_PURPOSE},
        {"product", required_argument, NULL, O_REQ + R_PRODUCT},
        {"request-id", required_argument, NULL, O_REQ + R_REQUEST_ID},
        {"model", required_argument, NULL, O_REQ + R_MODEL},
        {"model-version", required_argument, NULL, O_REQ + R_MODEL_VERSION},
        {"max-reasons", required_argument, NULL, O_REQ + R_MAX_REASONS},
        {"amount", required_argument, NULL, O_REQ + R_AMOUNT},
        {"term", required_argument, NULL, O_REQ + R_TERM},
        {"institution", required_argument, NULL, O_REQ + R_INSTITUTION},
        {"granted-at", required_argument, NULL, O_REQ + R_GRANTED_AT},
        {"expires-at", required_argument, NULL, O_REQ + R_EXPIRES_AT},
        {"revoked-at", required_argument, NULL, O_REQ + R_REVOKED_AT},
        {"limit", required_argument, NULL, O_REQ + R_LIMIT},
        {"service", required_argument, NULL, O_REQ + R_SERVICE},
        {"catalog", required_argument, NULL, O_REQ + R_CATALOG},
        {"batch", required_argument, NULL, O_REQ + R_BATCH},
        {"page-token", required_argument, NULL, O_REQ + R_PAGE_TOKEN},
        {"from", required_argument, NULL, O_REQ + R_FROM},
        {"to", required_argument, NULL, O_REQ + R_TO},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    tc_client_options co = {.target = env("TINCHAP_TARGET"),
                            .ca_file = env("TINCHAP_CA"),
                            .cert_file = env("TINCHAP_CERT"),
                            .key_file = env("TINCHAP_CERT_KEY"),
                            .token = env("TINCHAP_TOKEN")};
    call_ctx cx = {.timeout_ms = CALL_DEFAULT_TIMEOUT_MS};
    req_opts r;
    uint32_t u = 0;
    int c, rc;
    memset(&r, 0, sizeof r);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (tc_client_option(&co, c, optarg))
            continue;
        switch (c) {
        case O_TIMEOUT:
            if ((rc = call_parse_u32("--timeout", optarg, 3600000, &u)) != 0)
                return rc;
            cx.timeout_ms = (int)u;
            break;
        case O_COMPACT:
            cx.compact = 1;
            break;
        case O_JSON:
            cx.json = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            if (c >= O_REQ && c < O_REQ + R_COUNT) {
                r.given |= B(c - O_REQ);
                r.v[c - O_REQ] = optarg;
                break;
            }
            /* name the option, never its value: a value may be a citizen ID */
            if (optopt != 0 && optopt < 256)
                return cli_usage("call", "unknown option '-%c'", optopt);
            return cli_usage("call", "unknown option, or an option without its value");
        }
    }
    if (optind >= argc)
        return cli_usage("call", "which method? score, models, model, put, grant, revoke, "
                                 "erase, inquiries, consents, reload, status, monitor, health or "
                                 "raw");
    const method *m = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(argv[optind], methods[i].name) == 0)
            m = &methods[i];
    if (m == NULL) /* not echoed: a misplaced argument may be a citizen ID */
        return cli_usage("call", "unknown method; one of score, models, model, put, grant, "
                                 "revoke, erase, inquiries, consents, reload, status, monitor, "
                                 "health, raw");
    int extra = argc - optind - 1;
    if (m->positional != NULL && extra != 1)
        return cli_usage("call", "%s takes %s", m->name, m->positional);
    if (m->positional == NULL && extra != 0)
        return cli_usage("call", "%s takes options only; %d unexpected argument(s)", m->name,
                         extra);
    r.positional = m->positional != NULL ? argv[optind + 1] : NULL;
    for (int k = 0; k < R_COUNT; k++) {
        if ((r.given & B(k)) && !(allowed_of(m) & B(k)))
            return cli_usage("call", "%s does not apply to %s", req_names[k], m->name);
        if ((m->required & B(k)) && !(r.given & B(k)))
            return cli_usage("call", "%s needs %s", m->name, req_names[k]);
    }
    if (!co.insecure && (co.ca_file == NULL || co.cert_file == NULL || co.key_file == NULL))
        return cli_usage("call", "mutual TLS needs --ca, --cert and --key (or $TINCHAP_CA, "
                                 "$TINCHAP_CERT, $TINCHAP_CERT_KEY); for a server started with "
                                 "--insecure, pass --insecure [--token TOKEN]");
    tc_error err = {0};
    /* gRPC core's own lines (a failed handshake, a refused connection) repeat, less clearly,
     * what the status says; they stay available through gRPC's own GRPC_VERBOSITY. */
    if (getenv("GRPC_VERBOSITY") == NULL)
        gpr_set_log_function(drop_grpc_log);
    if (tc_client_open(&co, &cx.client, &err) != TC_OK)
        return cli_fail("call", &err);
    rc = m->run != NULL ? m->run(&cx, &r) : run_unary(&cx, m, &r);
    tc_client_close(cx.client);
    return rc;
}
