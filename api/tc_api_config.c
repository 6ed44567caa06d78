#include "tc_api_config.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_json.h"

#define CONFIG_FILE_MAX (1u << 20)

void tc_api_config_defaults(tc_api_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:50051");
    c->workers = 2;
    c->relaxed_sync_ms = 100;
    c->drain_timeout_ms = 10000;
    c->max_inflight = 1024;
    c->monitor_window_s = 3600;
    c->rest_threads = 4;
    c->keepalive_ms = 20000;
    c->max_message_bytes = 1u << 20;
    c->access_log = 1;
    c->client_names = TC_NAME_DNS;
    c->health_streams_per_identity = 256;
    c->audit_denials_per_second = 20;
    c->audit_denials_burst = 200;
    snprintf(c->feed_stream, sizeof c->feed_stream, "tinchap:consent");
    c->feed_retain = 10000000;
    snprintf(c->audit_stream, sizeof c->audit_stream, "tinchap:audit");
    c->audit_retain = 10000000;
    c->consent_max_lag_ms = 1000;
}

int tc_api_role_parse(const char *name, unsigned *out)
{
    if (strcmp(name, "scorer") == 0)
        *out = TC_ROLE_SCORER;
    else if (strcmp(name, "steward") == 0)
        *out = TC_ROLE_STEWARD;
    else if (strcmp(name, "admin") == 0)
        *out = TC_ROLE_ADMIN;
    else
        return TC_EINVAL;
    return TC_OK;
}

/* Copy a path, resolving a relative one against the config file's directory. */
static int set_path(char *dst, size_t size, const char *dir, const char *value)
{
    int n = value[0] == '/' || dir[0] == '\0' ? snprintf(dst, size, "%s", value)
                                              : snprintf(dst, size, "%s/%s", dir, value);
    return n < 0 || (size_t)n >= size ? TC_EINVAL : TC_OK;
}

static int get_path(const tc_jctx *ctx, json_t *obj, const char *key, const char *dir, char *dst,
                    size_t size, tc_error *err)
{
    const char *v = NULL;
    int rc = tc_json_get_string(ctx, obj, key, 0, size - 1, &v, err);
    if (rc != TC_OK || v == NULL)
        return rc;
    if (v[0] == '\0')
        return tc_json_fail(ctx, key, err, "must not be empty");
    if (set_path(dst, size, dir, v) != TC_OK)
        return tc_json_fail(ctx, key, err, "path too long");
    return TC_OK;
}

static int get_text(const tc_jctx *ctx, json_t *obj, const char *key, char *dst, size_t size,
                    tc_error *err)
{
    const char *v = NULL;
    int rc = tc_json_get_string(ctx, obj, key, 0, size - 1, &v, err);
    if (rc == TC_OK && v != NULL)
        snprintf(dst, size, "%s", v);
    return rc;
}

static int get_uint(const tc_jctx *ctx, json_t *obj, const char *key, long min, long max,
                    unsigned *dst, tc_error *err)
{
    long v = (long)*dst;
    int rc = tc_json_get_int(ctx, obj, key, 0, min, max, &v, err);
    if (rc == TC_OK)
        *dst = (unsigned)v;
    return rc;
}

static int parse_roles(const tc_jctx *ic, json_t *roles, unsigned *out, tc_error *err)
{
    tc_jctx rc_ctx = tc_jctx_key(ic, "roles");
    *out = 0;
    for (size_t k = 0; k < json_array_size(roles); k++) {
        json_t *r = json_array_get(roles, k);
        unsigned bit;
        tc_jctx kc = tc_jctx_index(&rc_ctx, k);
        if (!json_is_string(r) || tc_api_role_parse(json_string_value(r), &bit) != TC_OK)
            return tc_json_fail(&kc, NULL, err, "roles are \"scorer\", \"steward\", \"admin\"");
        *out |= bit;
    }
    return TC_OK;
}

/* "clients" (tokens 0) or "tokens" (tokens 1) into their own list: a certificate name is never
 * compared with a token's hash, nor the other way round. */
static int parse_identities(const tc_jctx *root, json_t *list, int tokens, tc_api_config *c,
                            tc_error *err)
{
    static const char *const client_keys[] = {"identity", "institution", "roles", NULL};
    static const char *const token_keys[] = {"sha256", "institution", "roles", NULL};
    tc_jctx lc = tc_jctx_key(root, tokens ? "tokens" : "clients");
    tc_api_identity *all = tokens ? c->tokens : c->clients;
    size_t *n = tokens ? &c->n_tokens : &c->n_clients;
    *n = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        tc_jctx ic = tc_jctx_index(&lc, i);
        json_t *o = json_array_get(list, i);
        const char *id = NULL, *inst = NULL;
        json_t *roles = NULL;
        int rc;
        if (*n == TC_API_CLIENTS_MAX)
            return tc_json_fail(&ic, NULL, err, "more than %d identities", TC_API_CLIENTS_MAX);
        tc_api_identity *d = &all[*n];
        if ((rc = tc_json_expect_object(&ic, o, tokens ? token_keys : client_keys, err)) ||
            (rc = tc_json_get_string(&ic, o, tokens ? "sha256" : "identity", 1,
                                     TC_API_IDENTITY_MAX, &id, err)) ||
            (rc = tc_json_get_string(&ic, o, "institution", 1, TC_INSTITUTION_MAX, &inst,
                                     err)) ||
            (rc = tc_json_get_array(&ic, o, "roles", 1, 3, &roles, err)))
            return rc;
        if (tokens) {
            int hex = strlen(id) == 64;
            for (size_t k = 0; hex && id[k] != '\0'; k++)
                hex = (id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f');
            if (!hex)
                return tc_json_fail(&ic, "sha256", err,
                                    "expected 64 lower-case hex digits (sha256sum of the token)");
        } else if (id[0] == '\0') {
            return tc_json_fail(&ic, "identity", err, "must not be empty");
        }
        if (tc_consent_check_institution(inst, strlen(inst), NULL) != TC_OK)
            return tc_json_fail(&ic, "institution", err,
                                "'%s' is not an institution id (a-z, 0-9, '.', '_', '-')", inst);
        memset(d, 0, sizeof *d);
        snprintf(d->identity, sizeof d->identity, "%s", id);
        snprintf(d->institution, sizeof d->institution, "%s", inst);
        d->uri = !tokens && strchr(id, ':') != NULL;
        if ((rc = parse_roles(&ic, roles, &d->roles, err)) != TC_OK)
            return rc;
        for (size_t k = 0; k < *n; k++)
            if (strcmp(all[k].identity, d->identity) == 0)
                return tc_json_fail(&ic, tokens ? "sha256" : "identity", err,
                                    "repeats an earlier identity");
        (*n)++;
    }
    return TC_OK;
}

/* tls.client_names: some of "dns", "uri", "cn". */
static int parse_client_names(const tc_jctx *tc, json_t *names, unsigned *out, tc_error *err)
{
    tc_jctx nc = tc_jctx_key(tc, "client_names");
    *out = 0;
    for (size_t k = 0; k < json_array_size(names); k++) {
        json_t *v = json_array_get(names, k);
        const char *t = json_is_string(v) ? json_string_value(v) : "";
        tc_jctx kc = tc_jctx_index(&nc, k);
        unsigned bit = strcmp(t, "dns") == 0 ? TC_NAME_DNS
                       : strcmp(t, "uri") == 0 ? TC_NAME_URI
                       : strcmp(t, "cn") == 0  ? TC_NAME_CN
                                               : 0;
        if (bit == 0)
            return tc_json_fail(&kc, NULL, err, "certificate names are \"dns\", \"uri\", \"cn\"");
        *out |= bit;
    }
    return TC_OK;
}

/* "64G", "512M", "1.5T" or a number of bytes. */
static int parse_size(tc_jctx *r, const char *key, const char *text, size_t *out, tc_error *err)
{
    char *end = NULL;
    double v = strtod(text, &end);
    double mult = *end == 'G' ? 1073741824.0 : *end == 'M' ? 1048576.0 : *end == 'T' ? 1099511627776.0 : 1;
    if (end == text || !(v > 0) || (*end != '\0' && end[1] != '\0'))
        return tc_json_fail(r, key, err, "'%s' is not a size like \"64G\"", text);
    *out = (size_t)(v * mult);
    return TC_OK;
}

/* The "consent_feed" object: the broker, the stream and this node's name in it, and where the
 * audit records are shipped and collected. */
static int parse_feed(const tc_jctx *r, json_t *feed, const char *dir, tc_api_config *c,
                      tc_error *err)
{
    static const char *const feed_keys[] = {"redis",        "stream",       "origin",
                                            "retain",       "user",         "password_file",
                                            "audit_stream", "audit_retain", "collect_audit",
                                            "consolidated_audit", NULL};
    tc_jctx fc = tc_jctx_key(r, "consent_feed");
    int rc;
    if ((rc = tc_json_expect_object(&fc, feed, feed_keys, err)) ||
        (rc = get_text(&fc, feed, "redis", c->feed_redis, sizeof c->feed_redis, err)) ||
        (rc = get_text(&fc, feed, "stream", c->feed_stream, sizeof c->feed_stream, err)) ||
        (rc = get_text(&fc, feed, "origin", c->feed_origin, sizeof c->feed_origin, err)) ||
        (rc = get_text(&fc, feed, "user", c->feed_user, sizeof c->feed_user, err)) ||
        (rc = get_path(&fc, feed, "password_file", dir, c->feed_password, sizeof c->feed_password,
                       err)) ||
        (rc = get_uint(&fc, feed, "retain", 1000, 1000000000, &c->feed_retain, err)) ||
        (rc = get_text(&fc, feed, "audit_stream", c->audit_stream, sizeof c->audit_stream,
                       err)) ||
        (rc = get_uint(&fc, feed, "audit_retain", 1000, 1000000000, &c->audit_retain, err)) ||
        (rc = tc_json_get_bool(&fc, feed, "collect_audit", 0, &c->collect_audit, err)) ||
        (rc = get_path(&fc, feed, "consolidated_audit", dir, c->consolidated_audit,
                       sizeof c->consolidated_audit, err)))
        return rc;
    if (c->collect_audit && c->audit_stream[0] == '\0')
        return tc_json_fail(&fc, "collect_audit", err, "needs an audit_stream to collect from");
    if (c->feed_redis[0] == '\0' || strrchr(c->feed_redis, ':') == NULL)
        return tc_json_fail(&fc, "redis", err, "'%s' is not a broker address \"host:port\"",
                            c->feed_redis);
    if (c->feed_stream[0] == '\0')
        return tc_json_fail(&fc, "stream", err, "must not be empty");
    return TC_OK;
}

/* The "tls" object: the server's certificate and key, the client CA, its CRLs, and which names
 * of a client certificate identify it. */
static int parse_tls(const tc_jctx *r, json_t *tls, const char *dir, tc_api_config *c,
                     tc_error *err)
{
    static const char *const tls_keys[] = {"cert",         "key",     "client_ca",
                                           "client_names", "crl_dir", NULL};
    tc_jctx tc = tc_jctx_key(r, "tls");
    json_t *names = NULL;
    int rc;
    if ((rc = tc_json_expect_object(&tc, tls, tls_keys, err)) ||
        (rc = get_path(&tc, tls, "cert", dir, c->tls_cert, sizeof c->tls_cert, err)) ||
        (rc = get_path(&tc, tls, "key", dir, c->tls_key, sizeof c->tls_key, err)) ||
        (rc = get_path(&tc, tls, "client_ca", dir, c->tls_client_ca, sizeof c->tls_client_ca,
                       err)) ||
        (rc = get_path(&tc, tls, "crl_dir", dir, c->tls_crl_dir, sizeof c->tls_crl_dir, err)) ||
        (rc = tc_json_get_array(&tc, tls, "client_names", 0, 3, &names, err)) ||
        (names != NULL && (rc = parse_client_names(&tc, names, &c->client_names, err))))
        return rc;
    if (names != NULL && c->client_names == 0)
        return tc_json_fail(&tc, "client_names", err,
                            "must name at least one of \"dns\", \"uri\", \"cn\"");
    return TC_OK;
}

int tc_api_config_load(tc_api_config *c, const char *path, tc_error *err)
{
    static const char *const keys[] = {
        "listen",  "database",        "audit",           "secret",           "catalog",     "models",
        "reasons", "map_size",        "audit_map_size",   "workers",          "audit_sync",  "audit_sync_ms",
        "metrics_listen", "drain_timeout_ms", "drain_grace_ms", "max_inflight", "keepalive_ms",
        "max_message_bytes", "access_log", "log_level", "insecure", "tls", "clients", "tokens",
        "monitor_window_s", "health_streams_per_identity", "audit_denials_per_second",
        "audit_denials_burst", "rest_listen", "rest_threads", "consent_feed",
        "consent_max_lag_ms", NULL};
    json_t *root = NULL, *tls = NULL, *clients = NULL, *tokens = NULL, *feed = NULL;
    const char *sync = NULL, *level = NULL, *map = NULL, *audit_map = NULL;
    long workers = c->workers;
    char dirbuf[TC_API_PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    const char *dir = dirname(dirbuf);
    int rc = tc_json_load_file(path, CONFIG_FILE_MAX, TC_EINVAL, &root, err);
    if (rc != TC_OK)
        return rc;
    tc_jctx r = {.origin = path, .code = TC_EINVAL};
    if ((rc = tc_json_expect_object(&r, root, keys, err)) ||
        (rc = get_text(&r, root, "listen", c->listen, sizeof c->listen, err)) ||
        (rc = get_path(&r, root, "database", dir, c->database, sizeof c->database, err)) ||
        (rc = get_path(&r, root, "audit", dir, c->audit_dir, sizeof c->audit_dir, err)) ||
        (rc = get_path(&r, root, "secret", dir, c->secret, sizeof c->secret, err)) ||
        (rc = get_path(&r, root, "catalog", dir, c->catalog, sizeof c->catalog, err)) ||
        (rc = get_path(&r, root, "models", dir, c->models, sizeof c->models, err)) ||
        (rc = get_path(&r, root, "reasons", dir, c->reasons, sizeof c->reasons, err)) ||
        (rc = tc_json_get_string(&r, root, "map_size", 0, 32, &map, err)) ||
        (rc = tc_json_get_string(&r, root, "audit_map_size", 0, 32, &audit_map, err)) ||
        (rc = tc_json_get_int(&r, root, "workers", 0, 1, 64, &workers, err)) ||
        (rc = tc_json_get_string(&r, root, "audit_sync", 0, 16, &sync, err)) ||
        (rc = get_uint(&r, root, "audit_sync_ms", 1, 10000, &c->relaxed_sync_ms, err)) ||
        (rc = get_text(&r, root, "metrics_listen", c->metrics_listen, sizeof c->metrics_listen,
                       err)) ||
        (rc = get_text(&r, root, "rest_listen", c->rest_listen, sizeof c->rest_listen, err)) ||
        (rc = get_uint(&r, root, "rest_threads", 1, TC_API_REST_THREADS_MAX, &c->rest_threads,
                       err)) ||
        (rc = get_uint(&r, root, "drain_timeout_ms", 0, 3600000, &c->drain_timeout_ms, err)) ||
        (rc = get_uint(&r, root, "drain_grace_ms", 0, 600000, &c->drain_grace_ms, err)) ||
        (rc = get_uint(&r, root, "max_inflight", 1, 1000000, &c->max_inflight, err)) ||
        (rc = get_uint(&r, root, "monitor_window_s", 60, 604800, &c->monitor_window_s, err)) ||
        (rc = get_uint(&r, root, "keepalive_ms", 1000, 3600000, &c->keepalive_ms, err)) ||
        (rc = get_uint(&r, root, "max_message_bytes", 1024, 64 << 20, &c->max_message_bytes,
                       err)) ||
        (rc = get_uint(&r, root, "health_streams_per_identity", 1, 65536,
                       &c->health_streams_per_identity, err)) ||
        (rc = get_uint(&r, root, "audit_denials_per_second", 0, 1000000,
                       &c->audit_denials_per_second, err)) ||
        (rc = get_uint(&r, root, "audit_denials_burst", 1, 1000000, &c->audit_denials_burst,
                       err)) ||
        (rc = tc_json_get_bool(&r, root, "access_log", 0, &c->access_log, err)) ||
        (rc = tc_json_get_string(&r, root, "log_level", 0, 16, &level, err)) ||
        (rc = tc_json_get_bool(&r, root, "insecure", 0, &c->insecure, err)) ||
        (rc = tc_json_get_object(&r, root, "tls", 0, &tls, err)) ||
        (rc = tc_json_get_array(&r, root, "clients", 0, TC_API_CLIENTS_MAX, &clients, err)) ||
        (rc = tc_json_get_array(&r, root, "tokens", 0, TC_API_CLIENTS_MAX, &tokens, err)) ||
        (rc = tc_json_get_object(&r, root, "consent_feed", 0, &feed, err)) ||
        (rc = get_uint(&r, root, "consent_max_lag_ms", 500, 3600000, &c->consent_max_lag_ms,
                       err)))
        goto out;
    if (feed != NULL && (rc = parse_feed(&r, feed, dir, c, err)) != TC_OK)
        goto out;
    c->workers = (int)workers;
    if (sync != NULL) {
        if (strcmp(sync, "durable") != 0 && strcmp(sync, "relaxed") != 0) {
            rc = tc_json_fail(&r, "audit_sync", err, "'%s' is not \"durable\" or \"relaxed\"",
                              sync);
            goto out;
        }
        c->relaxed_audit = strcmp(sync, "relaxed") == 0;
    }
    if (level != NULL) {
        if (strcmp(level, "info") != 0 && strcmp(level, "debug") != 0) {
            rc = tc_json_fail(&r, "log_level", err, "'%s' is not \"info\" or \"debug\"", level);
            goto out;
        }
        c->log_debug = strcmp(level, "debug") == 0;
    }
    if ((map != NULL && (rc = parse_size(&r, "map_size", map, &c->map_size, err)) != TC_OK) ||
        (audit_map != NULL &&
         (rc = parse_size(&r, "audit_map_size", audit_map, &c->audit_map_size, err)) != TC_OK))
        goto out;
    if (tls != NULL && (rc = parse_tls(&r, tls, dir, c, err)) != TC_OK)
        goto out;
    if (clients != NULL && (rc = parse_identities(&r, clients, 0, c, err)) != TC_OK)
        goto out;
    if (tokens != NULL && (rc = parse_identities(&r, tokens, 1, c, err)) != TC_OK)
        goto out;
out:
    json_decref(root);
    return rc;
}

int tc_api_listen_is_loopback(const char *listen)
{
    /* The host must be a literal loopback address: a name that merely starts with "127." can
     * resolve anywhere. "localhost" is the one name allowed (it is /etc/hosts', not DNS's). */
    if (strncmp(listen, "ipv4:", 5) == 0)
        listen += 5;
    if (strncmp(listen, "[::1]:", 6) == 0 || strncmp(listen, "localhost:", 10) == 0)
        return 1;
    const char *colon = strrchr(listen, ':');
    char host[INET_ADDRSTRLEN];
    struct in_addr a;
    size_t n = colon != NULL ? (size_t)(colon - listen) : 0;
    if (n == 0 || n >= sizeof host)
        return 0;
    memcpy(host, listen, n);
    host[n] = '\0';
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Number the identities, and the institutions they speak for (what per-institution limits
 * are kept by). */
static void number_identities(tc_api_config *c)
{
    const char *seen[2 * TC_API_CLIENTS_MAX];
    size_t n = 0;
    for (int tokens = 0; tokens < 2; tokens++) {
        tc_api_identity *all = tokens ? c->tokens : c->clients;
        size_t count = tokens ? c->n_tokens : c->n_clients;
        for (size_t i = 0; i < count; i++) {
            size_t k = 0;
            while (k < n && strcmp(seen[k], all[i].institution) != 0)
                k++;
            if (k == n)
                seen[n++] = all[i].institution;
            all[i].index = (unsigned)i;
            all[i].institution_index = (unsigned)k;
        }
    }
    c->n_institutions = n;
}

/* The consolidated trail, unless set: consolidated/ in the audit directory. */
static void finish_consolidated(tc_api_config *c)
{
    if (c->consolidated_audit[0] == '\0' && c->audit_dir[0] != '\0')
        snprintf(c->consolidated_audit, sizeof c->consolidated_audit, "%.*s/consolidated",
                 (int)(sizeof c->consolidated_audit - 14), c->audit_dir);
}

void tc_api_config_finish(tc_api_config *c)
{
    number_identities(c);
    if (c->audit_dir[0] != '\0' || c->database[0] == '\0') {
        finish_consolidated(c);
        return;
    }
    /* beside the database, not inside it: replacing the database by a snapshot keeps it */
    char dir[TC_API_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", c->database);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(c->audit_dir, sizeof c->audit_dir, "audit");
    else if (slash == dir)
        snprintf(c->audit_dir, sizeof c->audit_dir, "/audit");
    else {
        *slash = '\0';
        snprintf(c->audit_dir, sizeof c->audit_dir, "%.*s/audit", (int)(sizeof c->audit_dir - 8),
                 dir);
    }
    finish_consolidated(c);
}

int tc_api_config_check(const tc_api_config *c, tc_error *err)
{
    if (c->database[0] == '\0')
        return tc_errorf(err, TC_EINVAL, "no database: set \"database\" or --db DIR");
    if (c->secret[0] == '\0')
        return tc_errorf(err, TC_EINVAL, "no secret key: set \"secret\" or --key FILE");
    if (strcmp(c->audit_dir, c->database) == 0)
        return tc_errorf(err, TC_EINVAL,
                         "the audit trail needs its own directory, not the database's");
    if (c->insecure) {
        if (!tc_api_listen_is_loopback(c->listen))
            return tc_errorf(err, TC_EINVAL,
                             "--insecure serves without TLS and accepts bearer tokens: it is "
                             "refused on %s; bind it to 127.0.0.1 or [::1]",
                             c->listen);
        if (c->rest_listen[0] != '\0' && !tc_api_listen_is_loopback(c->rest_listen))
            return tc_errorf(err, TC_EINVAL,
                             "--insecure serves REST without TLS too: it is refused on %s; bind "
                             "rest_listen to 127.0.0.1",
                             c->rest_listen);
    } else if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0' || c->tls_client_ca[0] == '\0') {
        return tc_errorf(err, TC_EINVAL,
                         "mTLS needs a server certificate, its key and the CA of client "
                         "certificates (tls.cert, tls.key, tls.client_ca or --tls-cert, "
                         "--tls-key, --client-ca), or --insecure on a loopback address");
    }
    /* Each kind of identity belongs to one transport: a token is a password sent in the clear
     * of a loopback connection, a client identity a certificate name checked by TLS. */
    if (!c->insecure && c->n_tokens > 0)
        return tc_errorf(err, TC_EINVAL, "\"tokens\" are bearer tokens for a plaintext server on "
                         "loopback: they are refused unless \"insecure\" is set (with mTLS, "
                         "clients are identified by their certificates, \"clients\")");
    if (c->insecure && c->n_clients > 0)
        return tc_errorf(err, TC_EINVAL, "\"clients\" are certificate identities, and "
                         "\"insecure\" serves without TLS: with \"insecure\", identities are "
                         "\"tokens\"");
    if ((c->insecure ? c->n_tokens : c->n_clients) == 0)
        return tc_errorf(err, TC_EINVAL, "no %s configured: nobody could call the service",
                         c->insecure ? "tokens" : "clients");
    for (size_t i = 0; i < c->n_clients; i++) {
        const tc_api_identity *id = &c->clients[i];
        if (id->uri ? !(c->client_names & TC_NAME_URI)
                    : !(c->client_names & (TC_NAME_DNS | TC_NAME_CN)))
            return tc_errorf(err, TC_EINVAL, "clients[%zu]: identity '%s' is a %s, but "
                             "tls.client_names does not take %s names: no certificate could "
                             "match it", i, id->identity, id->uri ? "URI" : "DNS name",
                             id->uri ? "\"uri\"" : "\"dns\" or \"cn\"");
    }
    return TC_OK;
}

const tc_api_identity *tc_api_config_find_client(const tc_api_config *c, unsigned kind,
                                                 const char *name, size_t len)
{
    int uri = kind == TC_NAME_URI;
    for (size_t i = 0; i < c->n_clients; i++)
        if (c->clients[i].uri == uri && strlen(c->clients[i].identity) == len &&
            memcmp(c->clients[i].identity, name, len) == 0)
            return &c->clients[i];
    return NULL;
}

const tc_api_identity *tc_api_config_find_token(const tc_api_config *c, const char *sha256_hex)
{
    for (size_t i = 0; i < c->n_tokens; i++)
        if (strcmp(c->tokens[i].identity, sha256_hex) == 0)
            return &c->tokens[i];
    return NULL;
}
