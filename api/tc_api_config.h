/* tc_api_config — tinchapd's configuration: a JSON file, then command-line flags over it.
 *
 * Identities: with mTLS (the default) a client is known by its certificate, matched against
 * "clients" only; with --insecure, by a bearer token whose SHA-256 is in "tokens" (tokens
 * themselves are never stored), matched against "tokens" only. Each identity maps to one
 * institution and a set of roles (none: health checks only, e.g. a load balancer's probe).
 *
 * Which certificate names count is explicit (tls.client_names): DNS subject alternative names
 * by default, URI SANs when asked for, and the subject's common name only when asked for and
 * the certificate has no SAN at all. An identity with a ':' is a URI and matches URI SANs only;
 * any other matches DNS SANs (or the CN). Other SAN types (e-mail, IP) never identify anyone.
 * Relative paths in the file are resolved against the file's directory.
 * The file format is documented in tools/tinchapd.example.json, setting by setting.
 */
#ifndef TC_API_CONFIG_H
#define TC_API_CONFIG_H

#include <stddef.h>

#include "tc_consent.h"
#include "tc_error.h"

#define TC_API_PATH_MAX 1024
#define TC_API_CLIENTS_MAX 256
#define TC_API_IDENTITY_MAX 256

enum {
    TC_ROLE_SCORER = 1 << 0,
    TC_ROLE_STEWARD = 1 << 1,
    TC_ROLE_ADMIN = 1 << 2,
};

/* Certificate names that may identify a client (tls.client_names). */
enum {
    TC_NAME_DNS = 1 << 0, /* DNS subject alternative names */
    TC_NAME_URI = 1 << 1, /* URI subject alternative names */
    TC_NAME_CN = 1 << 2,  /* the subject's common name, only in a certificate without SANs */
};

typedef struct tc_api_identity {
    char identity[TC_API_IDENTITY_MAX + 1]; /* SAN/CN, or the token's SHA-256 in hex */
    char institution[TC_INSTITUTION_MAX + 1];
    unsigned roles;                         /* 0: health checks only */
    int uri;                                /* clients: a URI identity (it has a ':') */
    unsigned index;                         /* its position in clients[] or tokens[] */
    unsigned institution_index;             /* institutions numbered from 0, by first use */
} tc_api_identity;

#define TC_API_REST_THREADS_MAX 16 /* rest_threads at most */

typedef struct tc_api_config {
    char listen[256];
    char database[TC_API_PATH_MAX];
    char audit_dir[TC_API_PATH_MAX];  /* "" = "audit" beside the database directory */
    char secret[TC_API_PATH_MAX];
    char catalog[TC_API_PATH_MAX];
    char models[TC_API_PATH_MAX];
    char reasons[TC_API_PATH_MAX];    /* "" = models/reasons.json */
    size_t map_size;                  /* 0 = the store's default */
    size_t audit_map_size;            /* 0 = the audit trail's default */
    int workers;
    int relaxed_audit;                /* audit_sync: "relaxed" */
    unsigned relaxed_sync_ms;
    char metrics_listen[256];         /* "" = no metrics endpoint */
    char rest_listen[256];            /* "" = no REST interface; else HOST:PORT (IPv4) */
    unsigned rest_threads;            /* REST requests served at once */
    unsigned drain_timeout_ms;
    unsigned drain_grace_ms;          /* NOT_SERVING before refusing calls, for balancers */
    unsigned max_inflight;            /* per worker; beyond it calls get RESOURCE_EXHAUSTED */
    unsigned monitor_window_s;        /* live monitoring: the PSI and CSI window */
    unsigned keepalive_ms;            /* ping connections with calls in flight this often; drop
                                       * one whose peer does not answer within as long */
    unsigned max_message_bytes;
    unsigned health_streams_per_identity; /* open Health/Watch streams one identity may hold */
    unsigned audit_denials_per_second;    /* audited Score refusals per institution, sustained
                                           * (0: no limit) */
    unsigned audit_denials_burst;         /* ... and at once */
    int access_log;
    int log_debug;
    int insecure;
    char tls_cert[TC_API_PATH_MAX], tls_key[TC_API_PATH_MAX], tls_client_ca[TC_API_PATH_MAX];
    char tls_crl_dir[TC_API_PATH_MAX]; /* "" = no revocation list */
    unsigned client_names;            /* TC_NAME_* bits; default TC_NAME_DNS */
    size_t n_clients;
    tc_api_identity clients[TC_API_CLIENTS_MAX]; /* certificate identities (mTLS) */
    size_t n_tokens;
    tc_api_identity tokens[TC_API_CLIENTS_MAX];  /* bearer-token identities (insecure) */
    size_t n_institutions;            /* distinct institutions over clients and tokens */
    /* The consent feed (tc_api_feed.h): "consent_feed" in the file; redis "" = no feed, the
     * single embedded node. */
    char feed_redis[256];             /* consent_feed.redis: the broker, "host:port" or
                                       * "unix:PATH" */
    char feed_stream[128];            /* consent_feed.stream: the stream's key */
    char feed_origin[64];             /* consent_feed.origin: this node, in what it publishes */
    char feed_user[64];               /* consent_feed.user: the broker's ACL user ("" = none) */
    char feed_password[TC_API_PATH_MAX]; /* consent_feed.password_file ("" = no AUTH) */
    unsigned feed_retain;             /* consent_feed.retain: entries the stream keeps, about */
    /* Audit shipping (tc_api_ship.h), through the same broker: every node ships its records to
     * audit_stream ("" = not shipped); the node with collect_audit keeps them all in its
     * consolidated trail (default: consolidated/ in the audit directory), which its
     * ListInquiries then reads. */
    char audit_stream[128];           /* consent_feed.audit_stream (default tinchap:audit) */
    unsigned audit_retain;            /* consent_feed.audit_retain: entries kept, about */
    int collect_audit;                /* consent_feed.collect_audit */
    char consolidated_audit[TC_API_PATH_MAX]; /* consent_feed.consolidated_audit */
    unsigned consent_max_lag_ms;      /* past it behind the feed: NOT_SERVING, Score refused */
} tc_api_config;

/* Defaults: listen 127.0.0.1:50051, 2 workers, durable audit, drain 10 s, 1 MiB messages,
 * access log on, mTLS. */
void tc_api_config_defaults(tc_api_config *c);

/* Read a config file over c. Refuses unknown fields and bad values, naming the JSON path. */
int tc_api_config_load(tc_api_config *c, const char *path, tc_error *err);

/* Fill in what defaults to other settings (the audit directory) and number the identities and
 * institutions. Call before check. */
void tc_api_config_finish(tc_api_config *c);

/* Check the whole configuration is usable (paths given, TLS complete unless insecure, insecure
 * only on a loopback address, roles known...). */
int tc_api_config_check(const tc_api_config *c, tc_error *err);

/* 1 if listen is a loopback address (127.0.0.0/8, [::1], localhost). */
int tc_api_listen_is_loopback(const char *listen);

/* The client (certificate) identity a certificate name of the given kind (TC_NAME_DNS, _URI or
 * _CN) maps to, or NULL: a URI name matches URI identities only, the others non-URI ones. */
const tc_api_identity *tc_api_config_find_client(const tc_api_config *c, unsigned kind,
                                                 const char *name, size_t len);

/* The token identity whose SHA-256 (64 lower-case hex digits) this is, or NULL. */
const tc_api_identity *tc_api_config_find_token(const tc_api_config *c, const char *sha256_hex);

/* Role names: "scorer", "steward", "admin". */
int tc_api_role_parse(const char *name, unsigned *out);

#endif
