/* Authentication and roles: who a call comes from, and whether it may call its method.
 *
 * Certificates are matched against "clients" only and tokens against "tokens" only (see
 * tc_api_config.h for which certificate names count). A certificate whose names match more than
 * one configured identity is refused: which of two institutions it speaks for would otherwise
 * depend on the order of its names. Every method, health checks included, needs a known
 * identity; methods with a role need that role. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tc_api_internal.h"

static const tc_api_identity *identify_by_token(tc_api_slot *s, const char **why)
{
    const tc_api_config *c = &s->w->srv->cfg;
    *why = "no known bearer token in the 'authorization' metadata";
    for (size_t i = 0; i < s->md.count; i++) {
        const grpc_metadata *m = &s->md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "authorization") != 0)
            continue;
        const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
        size_t len = GRPC_SLICE_LENGTH(m->value);
        if (len <= 7 || strncmp(v, "Bearer ", 7) != 0)
            return NULL;
        unsigned char digest[32];
        unsigned int dl = 0;
        char hex[65];
        if (EVP_Digest(v + 7, len - 7, digest, &dl, EVP_sha256(), NULL) != 1)
            return NULL;
        tc_hex(digest, 32, hex);
        return tc_api_config_find_token(c, hex);
    }
    return NULL;
}

/* Match every name of one property against the clients; count distinct identities matched. */
static void match_names(const tc_api_config *c, grpc_auth_context *ctx, const char *property,
                        unsigned kind, const tc_api_identity **found, int *distinct, int *any)
{
    grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, property);
    const grpc_auth_property *p;
    while ((p = grpc_auth_property_iterator_next(&it)) != NULL) {
        *any = 1;
        if (kind == 0)
            continue; /* a name that identifies nobody (e-mail, IP, or a kind not configured) */
        const tc_api_identity *id = tc_api_config_find_client(c, kind, p->value, p->value_length);
        if (id != NULL && id != *found) {
            (*distinct)++;
            *found = id;
        }
    }
}

static const tc_api_identity *identify_by_certificate(tc_api_slot *s, const char **why)
{
    const tc_api_config *c = &s->w->srv->cfg;
    const tc_api_identity *found = NULL;
    int distinct = 0, has_san = 0;
    *why = "the client certificate names no identity this server knows";
    grpc_auth_context *ctx = grpc_call_auth_context(s->call);
    if (ctx == NULL)
        return NULL;
    if (grpc_auth_context_peer_is_authenticated(ctx)) {
        match_names(c, ctx, GRPC_PEER_DNS_PROPERTY_NAME,
                    c->client_names & TC_NAME_DNS ? TC_NAME_DNS : 0, &found, &distinct, &has_san);
        match_names(c, ctx, GRPC_PEER_URI_PROPERTY_NAME,
                    c->client_names & TC_NAME_URI ? TC_NAME_URI : 0, &found, &distinct, &has_san);
        match_names(c, ctx, GRPC_PEER_EMAIL_PROPERTY_NAME, 0, &found, &distinct, &has_san);
        match_names(c, ctx, GRPC_PEER_IP_PROPERTY_NAME, 0, &found, &distinct, &has_san);
        /* the common name only when asked for, and only when the certificate has no SAN: a
         * SAN is what the CA vouched for as the holder's name */
        if (!has_san && (c->client_names & TC_NAME_CN))
            match_names(c, ctx, GRPC_X509_CN_PROPERTY_NAME, TC_NAME_CN, &found, &distinct,
                        &has_san);
    }
    grpc_auth_context_release(ctx);
    if (distinct > 1) {
        *why = "the client certificate names more than one configured identity; it is refused";
        return NULL;
    }
    return found;
}

static const char *role_names(unsigned roles)
{
    return roles & TC_ROLE_ADMIN ? "admin" : roles & TC_ROLE_STEWARD ? "steward" : "scorer";
}

int tc_api_authorize(tc_api_slot *s)
{
    const tc_api_method_info *mi = &tc_api_methods[s->method];
    const char *why = NULL;
    const tc_api_identity *id =
        s->w->srv->cfg.insecure ? identify_by_token(s, &why) : identify_by_certificate(s, &why);
    if (id == NULL) {
        tc_api_fail(s, GRPC_STATUS_UNAUTHENTICATED, TINCHAP__V1__ERROR_REASON__UNKNOWN_CALLER, "%s",
                    why);
        return 1;
    }
    s->who = id;
    if (mi->role != 0 && (id->roles & mi->role) == 0) {
        tc_api_error e;
        tc_api_error_set(&e, GRPC_STATUS_PERMISSION_DENIED,
                         TINCHAP__V1__ERROR_REASON__ROLE_REQUIRED,
                         "%s needs the %s role, which %s lacks", mi->name, role_names(mi->role),
                         id->institution);
        tc_api_error_meta(&e, "role", "%s", role_names(mi->role));
        tc_api_fail_error(s, &e);
        return 1;
    }
    return 0;
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
