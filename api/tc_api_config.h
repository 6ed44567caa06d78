/* tc_api_config — tinchapd's configuration: a JSON file, then command-line flags over it.
 *
 * Identities: with mTLS (the default) a client is known by its certificate's subject
 * alternative name (or common name); with --insecure, by a bearer token whose SHA-256 is in the
 * file (tokens themselves are never stored). Each identity maps to one institution and a set of
 * roles. Relative paths in the file are resolved against the file's directory.
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

typedef struct tc_api_identity {
    char identity[TC_API_IDENTITY_MAX + 1]; /* SAN/CN, or the token's SHA-256 in hex */
    char institution[TC_INSTITUTION_MAX + 1];
    unsigned roles;
} tc_api_identity;

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
    unsigned drain_timeout_ms;
    unsigned drain_grace_ms;          /* NOT_SERVING before refusing calls, for balancers */
    unsigned max_inflight;            /* per worker; beyond it calls get RESOURCE_EXHAUSTED */
    unsigned monitor_window_s;        /* live monitoring: the PSI and CSI window */
    unsigned keepalive_ms;            /* ping connections with calls in flight this often; drop
                                       * one whose peer does not answer within as long */
    unsigned max_message_bytes;
    int access_log;
    int log_debug;
    int insecure;
    char tls_cert[TC_API_PATH_MAX], tls_key[TC_API_PATH_MAX], tls_client_ca[TC_API_PATH_MAX];
    size_t n_clients;
    tc_api_identity clients[TC_API_CLIENTS_MAX]; /* certificates (or tokens when insecure) */
} tc_api_config;

/* Defaults: listen 127.0.0.1:50051, 2 workers, durable audit, drain 10 s, 1 MiB messages,
 * access log on, mTLS. */
void tc_api_config_defaults(tc_api_config *c);

/* Read a config file over c. Refuses unknown fields and bad values, naming the JSON path. */
int tc_api_config_load(tc_api_config *c, const char *path, tc_error *err);

/* Fill in what defaults to other settings (the audit directory). Call before check. */
void tc_api_config_finish(tc_api_config *c);

/* Check the whole configuration is usable (paths given, TLS complete unless insecure, insecure
 * only on a loopback address, roles known...). */
int tc_api_config_check(const tc_api_config *c, tc_error *err);

/* 1 if listen is a loopback address (127.0.0.0/8, [::1], localhost). */
int tc_api_listen_is_loopback(const char *listen);

/* The identity an authenticated name maps to, or NULL. */
const tc_api_identity *tc_api_config_find(const tc_api_config *c, const char *identity,
                                          size_t len);

/* Role names: "scorer", "steward", "admin". */
int tc_api_role_parse(const char *name, unsigned *out);

#endif
