/* tinchapd — the scoring service. Flags override the configuration file; --help lists both. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <gsl/gsl_errno.h>

#include "paths.h"
#include "tc_api.h"
#include "tc_api_config.h"
#include "tc_file.h"
#include "tc_api_log.h"
#include "tc_api_rest.h"


static const char help[] =
    "usage: tinchapd [--config FILE] [options]\n"
    "\n"
    "Serve tinchap.v1.Scoring, Steward and Admin and grpc.health.v1.Health over gRPC.\n"
    "Settings come from the JSON configuration file (see tools/tinchapd.example.json, which\n"
    "documents every field), then from these flags:\n"
    "\n"
    "  -c, --config FILE        configuration file\n"
    "      --listen ADDR        address to serve on (default 127.0.0.1:50051; :0 = any port)\n"
    "      --db DIR             database directory (\"database\")\n"
    "      --audit-dir DIR      audit trail directory (\"audit\"; default: \"audit\" beside\n"
    "                           the database directory)\n"
    "      --key FILE           secret key (\"secret\")\n"
    "      --catalog FILE       attribute catalog (default: the shipped catalog)\n"
    "      --models DIR         models directory (default: the shipped models)\n"
    "      --workers N          worker threads, one completion queue each (default 2)\n"
    "      --audit-sync MODE    durable: answer only after the audit batch is on disk\n"
    "                           (default); relaxed: after it is committed, synced every\n"
    "                           --audit-sync-ms (a machine crash may lose that window)\n"
    "      --audit-sync-ms MS   relaxed mode's sync interval (default 100)\n"
    "      --metrics ADDR       Prometheus /metrics on this loopback address (default off)\n"
    "      --rest ADDR          also serve the methods over HTTPS and JSON on ADDR (default\n"
    "                           off; same certificates, identities and roles as gRPC)\n"
    "      --tls-cert FILE      server certificate (PEM)\n"
    "      --tls-key FILE       its private key (PEM)\n"
    "      --client-ca FILE     CA that signs client certificates (PEM); clients must present\n"
    "                           one, and one of its names (tls.client_names: DNS SANs by\n"
    "                           default) must be a configured client identity\n"
    "      --insecure           no TLS; clients send 'authorization: Bearer TOKEN' and tokens\n"
    "                           are configured by SHA-256. Refused unless listening on loopback\n"
    "      --map-size SIZE      maximum database size, e.g. 64G\n"
    "      --audit-map-size SIZE  maximum audit trail size (default 64G)\n"
    "      --max-inflight N     calls in flight per worker before RESOURCE_EXHAUSTED (1024)\n"
    "      --drain-timeout MS   on SIGTERM, wait this long for calls in flight (10000)\n"
    "      --drain-grace MS     on SIGTERM, answer health NOT_SERVING this long first (0)\n"
    "      --no-access-log      do not log every call\n"
    "      --log-level LEVEL    info (default) or debug\n"
    "      --port-file FILE     write the bound port to FILE once serving\n"
    "      --openapi            print the REST API's OpenAPI document and exit\n"
    "  -V, --version            print version and commit\n"
    "  -h, --help               this text\n"
    "\n"
    "Signals: SIGHUP reloads the models (a bad model keeps the old set); SIGTERM and SIGINT\n"
    "drain and exit 0. Logs are JSON lines on standard error, one object a line (gRPC's own\n"
    "messages and start-up errors included).\n";

enum {
    O_LISTEN = 1000, O_DB, O_AUDIT_DIR, O_KEY, O_CATALOG, O_MODELS, O_WORKERS, O_AUDIT_SYNC, O_AUDIT_MS,
    O_METRICS, O_TLS_CERT, O_TLS_KEY, O_CLIENT_CA, O_INSECURE, O_MAP, O_AUDIT_MAP, O_MAX_INFLIGHT,
    O_DRAIN, O_GRACE, O_NO_ACCESS, O_LEVEL, O_PORT_FILE, O_REST, O_OPENAPI
};

/* Everything tinchapd writes on standard error is a JSON line, usage errors included. */
#define usage(...) tc_api_log_eventf(NULL, "error", "usage", "error", __VA_ARGS__)

static int set(char *dst, size_t size, const char *v, const char *flag)
{
    if (strlen(v) >= size) {
        usage("%s: value too long", flag);
        return 2;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int number(const char *v, long min, long max, const char *flag, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        usage("%s: '%s' is not a number from %ld to %ld", flag, v, min, max);
        return 2;
    }
    *out = (unsigned)n;
    return 0;
}

static int size_arg(const char *v, const char *flag, size_t *out)
{
    char *end = NULL;
    double n = strtod(v, &end);
    double k = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0
             : *end == 'T' ? 1099511627776.0 : 1.0;
    if (end == v || !(n > 0) || (*end != '\0' && end[1] != '\0')) {
        usage("%s: '%s' is not a size like 64G", flag, v);
        return 2;
    }
    *out = (size_t)(n * k);
    return 0;
}

/* The configuration file first, wherever --config appears, so flags override it. */
static int load_config_files(int argc, char **argv, tc_api_config *cfg)
{
    tc_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *file = NULL;
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
        if (file != NULL && tc_api_config_load(cfg, file, &err) != TC_OK) {
            tc_api_log_eventf(NULL, "error", "start_refused", "error", "%s", err.msg);
            return 1;
        }
    }
    return 0;
}

/* The configuration: the file first, wherever --config appears, then the flags over it; checked.
 * -1: go on; otherwise the exit status (help or version printed, or refused). */
/* --openapi: the REST interface's OpenAPI document, on standard output. */
static int print_openapi(void)
{
    char *doc = tc_api_openapi_json();
    if (doc == NULL) {
        usage("--openapi: out of memory");
        return 1;
    }
    fputs(doc, stdout);
    putchar('\n');
    free(doc);
    return 0;
}

static int parse_opts(int argc, char **argv, tc_api_config *cfg_out, const char **port_file_out)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, O_LISTEN},
        {"db", required_argument, NULL, O_DB},
        {"audit-dir", required_argument, NULL, O_AUDIT_DIR},
        {"key", required_argument, NULL, O_KEY},
        {"catalog", required_argument, NULL, O_CATALOG},
        {"models", required_argument, NULL, O_MODELS},
        {"workers", required_argument, NULL, O_WORKERS},
        {"audit-sync", required_argument, NULL, O_AUDIT_SYNC},
        {"audit-sync-ms", required_argument, NULL, O_AUDIT_MS},
        {"metrics", required_argument, NULL, O_METRICS},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"client-ca", required_argument, NULL, O_CLIENT_CA},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"map-size", required_argument, NULL, O_MAP},
        {"audit-map-size", required_argument, NULL, O_AUDIT_MAP},
        {"max-inflight", required_argument, NULL, O_MAX_INFLIGHT},
        {"drain-timeout", required_argument, NULL, O_DRAIN},
        {"drain-grace", required_argument, NULL, O_GRACE},
        {"no-access-log", no_argument, NULL, O_NO_ACCESS},
        {"log-level", required_argument, NULL, O_LEVEL},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"rest", required_argument, NULL, O_REST},
        {"openapi", no_argument, NULL, O_OPENAPI},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    tc_api_config cfg;
    tc_error err = {0};
    const char *port_file = NULL;
    tc_api_config_defaults(&cfg);
    snprintf(cfg.catalog, sizeof cfg.catalog, "%s/catalog.json", tc_default_models_dir());
    snprintf(cfg.models, sizeof cfg.models, "%s", tc_default_models_dir());
    if (load_config_files(argc, argv, &cfg) != 0)
        return 1;
    int c, rc = 0;
    unsigned u;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            break;
        case O_LISTEN: rc = set(cfg.listen, sizeof cfg.listen, optarg, "--listen"); break;
        case O_DB: rc = set(cfg.database, sizeof cfg.database, optarg, "--db"); break;
        case O_AUDIT_DIR: rc = set(cfg.audit_dir, sizeof cfg.audit_dir, optarg, "--audit-dir"); break;
        case O_KEY: rc = set(cfg.secret, sizeof cfg.secret, optarg, "--key"); break;
        case O_CATALOG: rc = set(cfg.catalog, sizeof cfg.catalog, optarg, "--catalog"); break;
        case O_MODELS: rc = set(cfg.models, sizeof cfg.models, optarg, "--models"); break;
        case O_WORKERS:
            rc = number(optarg, 1, 64, "--workers", &u);
            cfg.workers = (int)u;
            break;
        case O_AUDIT_SYNC:
            if (strcmp(optarg, "durable") != 0 && strcmp(optarg, "relaxed") != 0) {
                usage("--audit-sync: durable or relaxed");
                rc = 2;
            }
            cfg.relaxed_audit = strcmp(optarg, "relaxed") == 0;
            break;
        case O_AUDIT_MS: rc = number(optarg, 1, 10000, "--audit-sync-ms", &cfg.relaxed_sync_ms); break;
        case O_METRICS: rc = set(cfg.metrics_listen, sizeof cfg.metrics_listen, optarg, "--metrics"); break;
        case O_TLS_CERT: rc = set(cfg.tls_cert, sizeof cfg.tls_cert, optarg, "--tls-cert"); break;
        case O_TLS_KEY: rc = set(cfg.tls_key, sizeof cfg.tls_key, optarg, "--tls-key"); break;
        case O_CLIENT_CA: rc = set(cfg.tls_client_ca, sizeof cfg.tls_client_ca, optarg, "--client-ca"); break;
        case O_INSECURE: cfg.insecure = 1; break;
        case O_MAP: rc = size_arg(optarg, "--map-size", &cfg.map_size); break;
        case O_AUDIT_MAP: rc = size_arg(optarg, "--audit-map-size", &cfg.audit_map_size); break;
        case O_MAX_INFLIGHT: rc = number(optarg, 1, 1000000, "--max-inflight", &cfg.max_inflight); break;
        case O_DRAIN: rc = number(optarg, 0, 3600000, "--drain-timeout", &cfg.drain_timeout_ms); break;
        case O_GRACE: rc = number(optarg, 0, 600000, "--drain-grace", &cfg.drain_grace_ms); break;
        case O_NO_ACCESS: cfg.access_log = 0; break;
        case O_LEVEL:
            if (strcmp(optarg, "info") != 0 && strcmp(optarg, "debug") != 0) {
                usage("--log-level: info or debug");
                rc = 2;
            }
            cfg.log_debug = strcmp(optarg, "debug") == 0;
            break;
        case O_PORT_FILE: port_file = optarg; break;
        case O_REST: rc = set(cfg.rest_listen, sizeof cfg.rest_listen, optarg, "--rest"); break;
        case O_OPENAPI:
            return print_openapi();
        case 'V':
            printf("tinchapd %s (commit %s)\n", tc_api_version(), tc_api_commit());
            return 0;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            usage("unknown option or missing value: '%s' (try 'tinchapd --help')",
                  argv[optind - 1]);
            return 2;
        }
    }
    if (rc != 0)
        return rc;
    if (optind < argc) {
        usage("unexpected argument '%s'", argv[optind]);
        return 2;
    }
    tc_api_config_finish(&cfg);
    if (tc_api_config_check(&cfg, &err) != TC_OK) {
        tc_api_log_eventf(NULL, "error", "start_refused", "error", "%s", err.msg);
        return 1;
    }
    *cfg_out = cfg;
    *port_file_out = port_file;
    return -1;
}

/* Serve until SIGTERM or SIGINT; SIGHUP reloads the models. The exit status. */
static int serve(const tc_api_config *cfg, const char *port_file)
{
    tc_error err = {0};
    gsl_set_error_handler_off();
    /* One thread takes the signals; every other thread, gRPC's included, has them blocked. */
    sigset_t set_;
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, NULL);
    signal(SIGPIPE, SIG_IGN);
    tc_api_log_capture_grpc();
    grpc_init();
    tc_api_server *srv = NULL;
    if (tc_api_server_start(cfg, &srv, &err) != TC_OK) {
        tc_api_log_eventf(NULL, "error", "start_refused", "error", "%s", err.msg);
        grpc_shutdown_blocking();
        return 1;
    }
    if (port_file != NULL) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d\n", tc_api_server_port(srv));
        if (tc_file_write(port_file, text, (size_t)n, TC_FILE_REPLACE, 0644, &err) != TC_OK)
            tc_api_log_eventf(NULL, "error", "port_file_failed", "error",
                              "cannot write the port file: %s", err.msg);
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            tc_error rerr;
            tc_api_server_reload(srv, &rerr); /* logged either way */
            continue;
        }
        break;
    }
    tc_api_server_stop(srv);
    grpc_shutdown_blocking();
    return 0;
}

int main(int argc, char **argv)
{
    static tc_api_config cfg; /* large: not on the stack */
    const char *port_file = NULL;
    int status = parse_opts(argc, argv, &cfg, &port_file);
    return status >= 0 ? status : serve(&cfg, port_file);
}
