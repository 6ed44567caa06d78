/* Authentication and roles: the server's TLS credentials (the client certificate a peer must
 * present, checked against the CRLs), who a call comes from, and whether it may call its method.
 *
 * Certificates are matched against "clients" only and tokens against "tokens" only (see
 * tc_api_config.h for which certificate names count). A certificate whose names match more than
 * one configured identity is refused: which of two institutions it speaks for would otherwise
 * depend on the order of its names. Every method, health checks included, needs a known
 * identity; methods with a role need that role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tc_api_internal.h"
#include "tc_json.h"

const tc_api_identity *tc_api_identify_token(const tc_api_config *c, const char *v, size_t len,
                                             const char **why)
{
    *why = "no known bearer token in the 'authorization' metadata";
    if (v == NULL || len <= 7 || strncmp(v, "Bearer ", 7) != 0)
        return NULL;
    unsigned char digest[TC_SHA256_LEN];
    char hex[2 * TC_SHA256_LEN + 1];
    if (tc_sha256(v + 7, len - 7, digest) != 0)
        return NULL;
    tc_hex(digest, 32, hex);
    return tc_api_config_find_token(c, hex);
}

static const tc_api_identity *identify_by_token(tc_api_slot *s, const char **why)
{
    for (size_t i = 0; i < s->md.count; i++) {
        const grpc_metadata *m = &s->md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "authorization") == 0)
            return tc_api_identify_token(&s->w->srv->cfg,
                                         (const char *)GRPC_SLICE_START_PTR(m->value),
                                         GRPC_SLICE_LENGTH(m->value), why);
    }
    return tc_api_identify_token(&s->w->srv->cfg, NULL, 0, why);
}

const tc_api_identity *tc_api_identify_names(const tc_api_config *c, const tc_api_cert_name *names,
                                             size_t n, const char **why)
{
    const tc_api_identity *found = NULL;
    int distinct = 0, has_san = 0;
    *why = "the client certificate names no identity this server knows";
    for (int cn = 0; cn < 2; cn++) {
        /* the common name only when asked for, and only when the certificate has no SAN: a
         * SAN is what the CA vouched for as the holder's name */
        if (cn && (has_san || !(c->client_names & TC_NAME_CN)))
            break;
        for (size_t i = 0; i < n; i++) {
            unsigned kind = names[i].kind;
            if ((kind == TC_NAME_CN) != cn)
                continue;
            if (!cn)
                has_san = 1; /* every SAN counts as one, even of a type that identifies nobody */
            if (kind == 0 || !(c->client_names & kind))
                continue;
            const tc_api_identity *id =
                tc_api_config_find_client(c, kind, names[i].name, strlen(names[i].name));
            if (id != NULL && id != found) {
                distinct++;
                found = id;
            }
        }
    }
    if (distinct > 1) {
        *why = "the client certificate names more than one configured identity; it is refused";
        return NULL;
    }
    return found;
}

/* One property's names (DNS, URI, e-mail, IP SANs, or the CN) as kind. */
static void names_of(grpc_auth_context *ctx, const char *property, unsigned kind,
                     tc_api_cert_name *names, size_t *n)
{
    grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, property);
    const grpc_auth_property *p;
    while ((p = grpc_auth_property_iterator_next(&it)) != NULL && *n < TC_API_CERT_NAMES_MAX) {
        size_t len = p->value_length < TC_API_IDENTITY_MAX ? p->value_length : 0;
        names[*n].kind = len > 0 || kind == 0 ? kind : 0; /* too long: identifies nobody */
        memcpy(names[*n].name, p->value, len);
        names[*n].name[len] = '\0';
        (*n)++;
    }
}

static const tc_api_identity *identify_by_certificate(tc_api_slot *s, const char **why)
{
    tc_api_cert_name names[TC_API_CERT_NAMES_MAX];
    size_t n = 0;
    *why = "the client certificate names no identity this server knows";
    grpc_auth_context *ctx = grpc_call_auth_context(s->call);
    if (ctx == NULL)
        return NULL;
    if (grpc_auth_context_peer_is_authenticated(ctx)) {
        names_of(ctx, GRPC_PEER_DNS_PROPERTY_NAME, TC_NAME_DNS, names, &n);
        names_of(ctx, GRPC_PEER_URI_PROPERTY_NAME, TC_NAME_URI, names, &n);
        names_of(ctx, GRPC_PEER_EMAIL_PROPERTY_NAME, 0, names, &n);
        names_of(ctx, GRPC_PEER_IP_PROPERTY_NAME, 0, names, &n);
        names_of(ctx, GRPC_X509_CN_PROPERTY_NAME, TC_NAME_CN, names, &n);
    }
    grpc_auth_context_release(ctx);
    return n > 0 ? tc_api_identify_names(&s->w->srv->cfg, names, n, why) : NULL;
}

static const char *role_names(unsigned roles)
{
    return roles & TC_ROLE_ADMIN ? "admin" : roles & TC_ROLE_STEWARD ? "steward" : "scorer";
}

int tc_api_authorize(tc_api_slot *s)
{
    const char *why = NULL;
    const tc_api_identity *id =
        s->w->srv->cfg.insecure ? identify_by_token(s, &why) : identify_by_certificate(s, &why);
    if (id == NULL) {
        tc_api_fail(s, GRPC_STATUS_UNAUTHENTICATED, TINCHAP__V1__ERROR_REASON__UNKNOWN_CALLER, "%s",
                    why);
        return 1;
    }
    s->who = id;
    return tc_api_require_role(s);
}

int tc_api_require_role(tc_api_slot *s)
{
    const tc_api_method_info *mi = &tc_api_methods[s->method];
    if (mi->role == 0 || (s->who->roles & mi->role) != 0)
        return 0;
    tc_api_error e;
    tc_api_error_set(&e, GRPC_STATUS_PERMISSION_DENIED, TINCHAP__V1__ERROR_REASON__ROLE_REQUIRED,
                     "%s needs the %s role, which %s lacks", mi->name, role_names(mi->role),
                     s->who->institution);
    tc_api_error_meta(&e, "role", "%s", role_names(mi->role));
    tc_api_fail_error(s, &e);
    return 1;
}

/* ---- the certificate revocation list ---- */

/* gRPC (1.51) hands tls.crl_dir to OpenSSL's hashed-directory lookup and lets a certificate
 * through when no CRL of its issuer is found there: a CRL under the wrong name, or none, would
 * silently revoke nothing. An expired CRL, on the other hand, refuses every client. So both are
 * refused at start, each with what to do. */
static int check_one_crl(const char *dir, X509 *ca, int64_t *next_update, tc_error *err)
{
    char path[TC_API_PATH_MAX + 32], subject[256];
    unsigned long hash = X509_NAME_hash_ex(X509_get_subject_name(ca), NULL, NULL, NULL);
    X509_NAME_oneline(X509_get_subject_name(ca), subject, sizeof subject);
    snprintf(path, sizeof path, "%s/%08lx.r0", dir, hash);
    BIO *in = BIO_new_file(path, "r");
    X509_CRL *crl = in != NULL ? PEM_read_bio_X509_CRL(in, NULL, NULL, NULL) : NULL;
    BIO_free(in);
    int rc = TC_OK;
    if (crl == NULL) {
        rc = tc_errorf(err, TC_EINVAL,
                       "tls.crl_dir %s holds no CRL of the client CA %s under its hashed name "
                       "%08lx.r0 (put the CA's CRL there, in PEM, and run 'openssl rehash %s'): "
                       "without it every certificate would be accepted, revoked or not",
                       dir, subject, hash, dir);
    } else if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
        rc = tc_errorf(err, TC_EINVAL, "%s is not a CRL signed by the client CA %s", path, subject);
    } else {
        const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
        struct tm t;
        if (nu == NULL || ASN1_TIME_to_tm(nu, &t) != 1) {
            rc = tc_errorf(err, TC_EINVAL, "%s has no next-update time", path);
        } else if (X509_cmp_time(nu, NULL) <= 0) {
            rc = tc_errorf(err, TC_EINVAL,
                           "%s expired (its next update was due): every client "
                           "would be refused; publish a fresh CRL of %s",
                           path, subject);
        } else {
            int64_t when = (int64_t)timegm(&t);
            if (*next_update == 0 || when < *next_update)
                *next_update = when;
        }
    }
    X509_CRL_free(crl);
    return rc;
}

int tc_api_crl_check(const tc_api_config *c, int64_t *next_update, tc_error *err)
{
    *next_update = 0;
    BIO *in = BIO_new_file(c->tls_client_ca, "r");
    if (in == NULL)
        return tc_errorf(err, TC_EINVAL, "%s: cannot read the client CA", c->tls_client_ca);
    int rc = TC_OK, n = 0;
    X509 *ca;
    while (rc == TC_OK && (ca = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
        rc = check_one_crl(c->tls_crl_dir, ca, next_update, err);
        X509_free(ca);
        n++;
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    BIO_free(in);
    if (rc == TC_OK && n == 0)
        rc =
            tc_errorf(err, TC_EINVAL, "%s: no certificate in the client CA file", c->tls_client_ca);
    return rc;
}

/* ---- the server's credentials ---- */

static int read_pem(const char *path, char **out, tc_error *err)
{
    size_t len;
    return tc_read_file(path, 1u << 20, TC_EINVAL, out, &len, err);
}

/* mTLS through gRPC's TLS credentials (grpc_tls_*), which, unlike the older SSL ones, can
 * enforce certificate revocation lists: with tls.crl_dir set, every client certificate is
 * checked against the CRLs there (OpenSSL's hashed directory, X509_V_FLAG_CRL_CHECK), so a
 * revoked one does not complete the handshake. */
grpc_server_credentials *tc_api_credentials_new(const tc_api_config *c, tc_error *err)
{
    if (c->insecure)
        return grpc_insecure_server_credentials_create();
    char *cert = NULL, *key = NULL, *ca = NULL;
    grpc_server_credentials *creds = NULL;
    if (read_pem(c->tls_cert, &cert, err) == TC_OK && read_pem(c->tls_key, &key, err) == TC_OK &&
        read_pem(c->tls_client_ca, &ca, err) == TC_OK) {
        grpc_tls_identity_pairs *pairs = grpc_tls_identity_pairs_create();
        grpc_tls_identity_pairs_add_pair(pairs, key, cert); /* copied */
        /* the provider owns pairs from here */
        grpc_tls_certificate_provider *provider =
            grpc_tls_certificate_provider_static_data_create(ca, pairs);
        grpc_tls_credentials_options *o = grpc_tls_credentials_options_create();
        grpc_tls_credentials_options_set_certificate_provider(o, provider);
        grpc_tls_credentials_options_watch_root_certs(o);
        grpc_tls_credentials_options_watch_identity_key_cert_pairs(o);
        /* Clients must present a certificate signed by the client CA: identity is the cert. */
        grpc_tls_credentials_options_set_cert_request_type(
            o, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
        if (c->tls_crl_dir[0] != '\0')
            grpc_tls_credentials_options_set_crl_directory(o, c->tls_crl_dir);
        creds = grpc_tls_server_credentials_create(o); /* owns o */
        grpc_tls_certificate_provider_release(provider);
        if (creds == NULL)
            tc_errorf(err, TC_EINVAL, "TLS: cannot use %s / %s / %s", c->tls_cert, c->tls_key,
                      c->tls_client_ca);
    }
    if (key != NULL)
        OPENSSL_cleanse(key, strlen(key));
    free(cert);
    free(key);
    free(ca);
    return creds;
}
