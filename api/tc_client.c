/* The client: one channel, blocking unary and client-streaming calls on private completion
 * queues, and reusable asynchronous calls on a caller's queue. See tc_client.h. */
#include "tc_client.h"
#include "tc_grpc_status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tc_json.h"

typedef struct method_handle {
    char *path;
    void *handle; /* grpc_channel_register_call: no per-call method lookup or interning */
} method_handle;

struct tc_client {
    grpc_channel *channel;
    grpc_metadata md[1]; /* "authorization: Bearer TOKEN" when a token is set */
    size_t n_md;
    pthread_mutex_t mu; /* guards methods[] */
    size_t n_methods;
    method_handle methods[TC_CLIENT_METHODS_MAX];
};

struct tc_client_call {
    tc_client *client;
    grpc_call *call;
    int in_flight;
    void *user;
    grpc_byte_buffer *send;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *recv;
    grpc_status_code status;
    grpc_slice details;
    unsigned char *resp; /* grows to the largest response, kept for reuse */
    size_t resp_len, resp_cap;
    char message[TC_CLIENT_MESSAGE_MAX];
    unsigned char *sd;   /* the packed google.rpc.Status of a failure, kept for reuse */
    size_t sd_len, sd_cap;
};

struct tc_client_queue {
    grpc_completion_queue *cq;
};

struct tc_client_stream {
    tc_client *client;
    grpc_completion_queue *cq; /* pluck: this stream's batches only */
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *recv;
    grpc_status_code status;
    grpc_slice details;
    int recv_started, ended, finished;
    unsigned char *sd; /* the packed google.rpc.Status of a failure */
    size_t sd_len, sd_cap;
    /* distinct addresses, used as the tags of the stream's batches */
    char tag_md, tag_send, tag_close, tag_recv;
};

const char *tc_client_status_name(int code)
{
    return tc_grpc_status_name(code);
}

int tc_client_option(tc_client_options *o, int c, const char *arg)
{
    switch (c) {
    case TC_CLIENT_OPT_TARGET: o->target = arg; return 1;
    case TC_CLIENT_OPT_CA: o->ca_file = arg; return 1;
    case TC_CLIENT_OPT_CERT: o->cert_file = arg; return 1;
    case TC_CLIENT_OPT_KEY: o->key_file = arg; return 1;
    case TC_CLIENT_OPT_SERVER_NAME: o->server_name = arg; return 1;
    case TC_CLIENT_OPT_INSECURE: o->insecure = 1; return 1;
    case TC_CLIENT_OPT_TOKEN: o->token = arg; return 1;
    default: return 0;
    }
}

static void set_msg(char *msg, size_t size, const char *text)
{
    if (msg != NULL && size > 0)
        snprintf(msg, size, "%s", text);
}

static gpr_timespec deadline_in(int timeout_ms)
{
    if (timeout_ms <= 0)
        return gpr_inf_future(GPR_CLOCK_REALTIME);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* ---- the channel ---- */

/* Where a bearer token may travel in plaintext: this machine only. */
static int target_is_local(const char *t)
{
    static const char *const prefixes[] = {
        "127.",  "localhost:",        "[::1]:",     "ipv4:127.", "ipv6:[::1]",
        "unix:", "dns:///localhost:", "dns:///127."};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(t, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

static int read_pem(const char *what, const char *path, char **out, tc_error *err)
{
    size_t len = 0;
    int rc = tc_read_file(path, TC_CLIENT_PEM_MAX, TC_EINVAL, out, &len, err);
    if (rc != TC_OK)
        tc_error_prefix(err, "%s", what);
    return rc;
}

/* What gRPC would only say as "empty address list" after a failed handshake: a file that is
 * not what it should be, a key that is not the certificate's, a certificate out of its dates.
 * Checked here, before any connection, with the files' own names in the message. */
static int check_pair(const tc_client_options *o, const char *cert_pem, const char *key_pem,
                      tc_error *err)
{
    int rc = TC_OK;
    BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
    X509 *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    if (cert == NULL)
        rc = tc_errorf(err, TC_EINVAL, "certificate %s: not a PEM certificate", o->cert_file);
    else if (key == NULL)
        rc = tc_errorf(err, TC_EINVAL, "key %s: not a PEM private key (or an encrypted one)",
                       o->key_file);
    else if (X509_check_private_key(cert, key) != 1)
        rc = tc_errorf(err, TC_EINVAL, "the key %s is not the key of the certificate %s: give "
                       "the pair that was issued together", o->key_file, o->cert_file);
    else if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
        rc = tc_errorf(err, TC_EINVAL, "the certificate %s has expired: ask for a new one",
                       o->cert_file);
    else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
        rc = tc_errorf(err, TC_EINVAL, "the certificate %s is not valid yet (is this machine's "
                       "clock right?)", o->cert_file);
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

static int check_ca(const char *path, const char *pem, tc_error *err)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *ca = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int rc = ca != NULL ? TC_OK
                        : tc_errorf(err, TC_EINVAL, "CA file %s: not a PEM certificate", path);
    ERR_clear_error();
    X509_free(ca);
    BIO_free(b);
    return rc;
}

static grpc_channel_credentials *tls_credentials(const tc_client_options *o, tc_error *err)
{
    char *ca = NULL, *cert = NULL, *key = NULL;
    grpc_channel_credentials *creds = NULL;
    if ((o->cert_file == NULL) != (o->key_file == NULL)) {
        tc_errorf(err, TC_EINVAL,
                  "a client certificate needs its key, and a key its "
                  "certificate");
        goto out;
    }
    if ((o->ca_file != NULL && read_pem("CA file", o->ca_file, &ca, err) != TC_OK) ||
        (o->cert_file != NULL && read_pem("certificate", o->cert_file, &cert, err) != TC_OK) ||
        (o->key_file != NULL && read_pem("key", o->key_file, &key, err) != TC_OK))
        goto out;
    if ((ca != NULL && check_ca(o->ca_file, ca, err) != TC_OK) ||
        (cert != NULL && check_pair(o, cert, key, err) != TC_OK))
        goto out;
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    /* ca NULL: gRPC's default roots (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH or its bundled set) */
    creds = grpc_ssl_credentials_create(ca, cert != NULL ? &pair : NULL, NULL, NULL);
    if (creds == NULL)
        tc_errorf(err, TC_EINVAL, "TLS: cannot use these CA, certificate and key files");
out:
    if (key != NULL)
        OPENSSL_cleanse(key, strlen(key));
    free(ca);
    free(cert);
    free(key);
    return creds;
}

int tc_client_open(const tc_client_options *o, tc_client **out, tc_error *err)
{
    const char *target =
        o->target != NULL && o->target[0] != '\0' ? o->target : TC_CLIENT_DEFAULT_TARGET;
    *out = NULL;
    if (o->token != NULL) {
        size_t n = strlen(o->token);
        if (n == 0 || n > TC_CLIENT_TOKEN_MAX)
            return tc_errorf(err, TC_EINVAL, "the token must be 1 to %d characters",
                             TC_CLIENT_TOKEN_MAX);
        for (size_t i = 0; i < n; i++)
            if (o->token[i] < 0x21 || o->token[i] > 0x7e)
                return tc_errorf(err, TC_EINVAL,
                                 "the token may hold only printable ASCII without spaces");
        if (o->insecure && !target_is_local(target))
            return tc_errorf(err, TC_EINVAL,
                             "refusing to send a bearer token in plaintext to %s: plaintext is "
                             "for loopback addresses only; use TLS",
                             target);
    }
    tc_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    grpc_init();
    grpc_channel_credentials *creds =
        o->insecure ? grpc_insecure_credentials_create() : tls_credentials(o, err);
    if (creds == NULL) {
        free(c);
        grpc_shutdown_blocking();
        return err != NULL && err->code != TC_OK ? err->code : TC_EINVAL;
    }
    grpc_arg args[2];
    size_t n_args = 0;
    if (o->max_message_bytes > 0) {
        args[n_args].type = GRPC_ARG_INTEGER;
        args[n_args].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
        args[n_args++].value.integer =
            o->max_message_bytes > 0x7fffffff ? 0x7fffffff : (int)o->max_message_bytes;
    }
    if (!o->insecure && o->server_name != NULL && o->server_name[0] != '\0') {
        args[n_args].type = GRPC_ARG_STRING;
        args[n_args].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[n_args++].value.string = (char *)o->server_name;
    }
    grpc_channel_args ca = {n_args, args};
    c->channel = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    if (o->token != NULL) {
        char value[TC_CLIENT_TOKEN_MAX + 8];
        snprintf(value, sizeof value, "Bearer %s", o->token);
        c->md[0].key = grpc_slice_from_static_string("authorization");
        c->md[0].value = grpc_slice_from_copied_string(value);
        OPENSSL_cleanse(value, sizeof value);
        c->n_md = 1;
    }
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return TC_OK;
}

void tc_client_close(tc_client *c)
{
    if (c == NULL)
        return;
    if (c->n_md > 0) {
        grpc_slice_unref(c->md[0].key);
        grpc_slice_unref(c->md[0].value);
    }
    grpc_channel_destroy(c->channel);
    for (size_t i = 0; i < c->n_methods; i++)
        free(c->methods[i].path);
    pthread_mutex_destroy(&c->mu);
    free(c);
    /* blocking: a process that exits next has no gRPC thread still cleaning up */
    grpc_shutdown_blocking();
}

/* A new call of method on cq: through a registered handle when the table has room. */
static grpc_call *create_call(tc_client *c, grpc_completion_queue *cq, const char *method,
                              gpr_timespec deadline)
{
    void *handle = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_methods && handle == NULL; i++)
        if (strcmp(c->methods[i].path, method) == 0)
            handle = c->methods[i].handle;
    if (handle == NULL && c->n_methods < TC_CLIENT_METHODS_MAX) {
        char *path = strdup(method);
        if (path != NULL) {
            handle = grpc_channel_register_call(c->channel, path, NULL, NULL);
            c->methods[c->n_methods].path = path;
            c->methods[c->n_methods++].handle = handle;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (handle != NULL)
        return grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                   handle, deadline, NULL);
    grpc_slice m = grpc_slice_from_copied_string(method);
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m,
                                               NULL, deadline, NULL);
    grpc_slice_unref(m);
    return call;
}

/* Copy a received message into a growing buffer. */
static int take_message(grpc_byte_buffer *bb, unsigned char **buf, size_t *len, size_t *cap)
{
    *len = 0;
    if (bb == NULL)
        return TC_OK;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return TC_EPARSE;
    grpc_slice all = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    size_t n = GRPC_SLICE_LENGTH(all);
    int rc = TC_OK;
    if (n + 1 > *cap) {
        unsigned char *p = realloc(*buf, n + 1);
        if (p == NULL) {
            rc = TC_ENOMEM;
            goto out;
        }
        *buf = p;
        *cap = n + 1;
    }
    memcpy(*buf, GRPC_SLICE_START_PTR(all), n);
    (*buf)[n] = 0;
    *len = n;
out:
    grpc_slice_unref(all);
    return rc;
}

static void take_details(grpc_slice details, char *msg, size_t size)
{
    if (msg == NULL || size == 0)
        return;
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= size)
        n = size - 1;
    memcpy(msg, GRPC_SLICE_START_PTR(details), n);
    msg[n] = '\0';
}

/* The "grpc-status-details-bin" trailer (a packed google.rpc.Status) into a growing buffer. */
static void take_status_details(const grpc_metadata_array *md, unsigned char **buf, size_t *len,
                                size_t *cap)
{
    *len = 0;
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "grpc-status-details-bin") != 0)
            continue;
        size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
        if (n > TC_CLIENT_DETAILS_MAX)
            return;
        if (n > *cap) {
            unsigned char *p = realloc(*buf, n);
            if (p == NULL)
                return;
            *buf = p;
            *cap = n;
        }
        memcpy(*buf, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
        *len = n;
        return;
    }
}

/* ---- one unary call: the batch and its completion, shared by blocking and async use ---- */

static int call_start(tc_client_call *k, grpc_completion_queue *cq, const char *method,
                      const void *req, size_t req_len, int timeout_ms)
{
    tc_client *c = k->client;
    k->call = create_call(c, cq, method, deadline_in(timeout_ms));
    if (k->call == NULL) {
        snprintf(k->message, sizeof k->message, "cannot create a call of %s", method);
        return TC_EINVAL;
    }
    grpc_slice s = grpc_slice_from_copied_buffer(req, req_len);
    k->send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_metadata_array_init(&k->initial_md);
    grpc_metadata_array_init(&k->trailing_md);
    k->recv = NULL;
    k->status = GRPC_STATUS_UNKNOWN;
    k->details = grpc_empty_slice();
    k->resp_len = 0;
    k->message[0] = '\0';
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->n_md;
    ops[0].data.send_initial_metadata.metadata = c->n_md > 0 ? c->md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = k->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &k->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &k->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &k->trailing_md;
    ops[5].data.recv_status_on_client.status = &k->status;
    ops[5].data.recv_status_on_client.status_details = &k->details;
    /* Marked before the batch starts: the call may complete on another thread draining the
     * queue before grpc_call_start_batch returns here. */
    k->in_flight = 1;
    grpc_call_error e = grpc_call_start_batch(k->call, ops, 6, k, NULL);
    if (e != GRPC_CALL_OK) {
        k->in_flight = 0;
        snprintf(k->message, sizeof k->message, "cannot start the call (grpc_call_error %d)",
                 (int)e);
        grpc_call_unref(k->call);
        k->call = NULL;
        grpc_byte_buffer_destroy(k->send);
        k->send = NULL;
        grpc_metadata_array_destroy(&k->initial_md);
        grpc_metadata_array_destroy(&k->trailing_md);
        return TC_EINVAL;
    }
    return TC_OK;
}

/* The batch completed: keep the response and the status, release everything gRPC gave us. */
static void call_complete(tc_client_call *k)
{
    take_details(k->details, k->message, sizeof k->message);
    take_status_details(&k->trailing_md, &k->sd, &k->sd_len, &k->sd_cap);
    if (take_message(k->recv, &k->resp, &k->resp_len, &k->resp_cap) != TC_OK &&
        k->status == GRPC_STATUS_OK) {
        k->status = GRPC_STATUS_RESOURCE_EXHAUSTED;
        snprintf(k->message, sizeof k->message, "out of memory for the response");
    }
    if (k->recv != NULL)
        grpc_byte_buffer_destroy(k->recv);
    k->recv = NULL;
    grpc_byte_buffer_destroy(k->send);
    k->send = NULL;
    grpc_slice_unref(k->details);
    grpc_metadata_array_destroy(&k->initial_md);
    grpc_metadata_array_destroy(&k->trailing_md);
    grpc_call_unref(k->call);
    k->call = NULL;
    k->in_flight = 0;
}

int tc_client_unary(tc_client *c, const char *method, const void *req, size_t req_len,
                    int timeout_ms, unsigned char **resp, size_t *resp_len, int *status, char *msg,
                    size_t msg_size)
{
    return tc_client_unary_details(c, method, req, req_len, timeout_ms, resp, resp_len, status,
                                   msg, msg_size, NULL, NULL);
}

int tc_client_unary_details(tc_client *c, const char *method, const void *req, size_t req_len,
                            int timeout_ms, unsigned char **resp, size_t *resp_len, int *status,
                            char *msg, size_t msg_size, unsigned char **details,
                            size_t *details_len)
{
    tc_client_call k;
    memset(&k, 0, sizeof k);
    k.client = c;
    *resp = NULL;
    *resp_len = 0;
    *status = GRPC_STATUS_UNKNOWN;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    int rc = call_start(&k, cq, method, req, req_len, timeout_ms);
    if (rc == TC_OK) {
        /* the call's own deadline bounds this wait */
        grpc_completion_queue_pluck(cq, &k, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        call_complete(&k);
        *status = (int)k.status;
        if (k.resp_len > 0) {
            *resp = k.resp; /* handed over: the caller frees it */
            *resp_len = k.resp_len;
            k.resp = NULL;
        }
    }
    set_msg(msg, msg_size, k.message);
    if (details != NULL) {
        *details = k.sd_len > 0 ? k.sd : NULL; /* handed over: the caller frees it */
        *details_len = k.sd_len;
        if (k.sd_len > 0)
            k.sd = NULL;
    }
    free(k.sd);
    free(k.resp);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return rc;
}

/* ---- asynchronous calls ---- */

int tc_client_queue_new(tc_client_queue **out, tc_error *err)
{
    tc_client_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    grpc_init();
    q->cq = grpc_completion_queue_create_for_next(NULL);
    *out = q;
    return TC_OK;
}

void tc_client_queue_free(tc_client_queue *q)
{
    if (q == NULL)
        return;
    grpc_completion_queue_shutdown(q->cq);
    while (grpc_completion_queue_next(q->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(q->cq);
    free(q);
    grpc_shutdown_blocking();
}

int tc_client_queue_next(tc_client_queue *q, int timeout_ms, tc_client_call **done)
{
    gpr_timespec until = timeout_ms < 0 ? gpr_inf_future(GPR_CLOCK_REALTIME)
                                        : deadline_in(timeout_ms > 0 ? timeout_ms : 1);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(q->cq, until, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT || ev.type == GRPC_QUEUE_SHUTDOWN)
            return 0;
        if (ev.type != GRPC_OP_COMPLETE || ev.tag == NULL)
            continue;
        tc_client_call *k = ev.tag;
        call_complete(k);
        *done = k;
        return 1;
    }
}

int tc_client_call_new(tc_client *c, tc_client_call **out, tc_error *err)
{
    tc_client_call *k = calloc(1, sizeof *k);
    if (k == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    k->client = c;
    *out = k;
    return TC_OK;
}

int tc_client_call_start(tc_client_call *k, tc_client_queue *q, const char *method, const void *req,
                         size_t req_len, int timeout_ms, void *user)
{
    if (k->in_flight)
        return TC_EBUSY;
    k->user = user;
    return call_start(k, q->cq, method, req, req_len, timeout_ms);
}

void *tc_client_call_user(const tc_client_call *k)
{
    return k->user;
}

int tc_client_call_status(const tc_client_call *k)
{
    return (int)k->status;
}

const char *tc_client_call_message(const tc_client_call *k)
{
    return k->message;
}

const unsigned char *tc_client_call_response(const tc_client_call *k, size_t *len)
{
    *len = k->resp_len;
    return k->resp_len > 0 ? k->resp : NULL;
}

void tc_client_call_free(tc_client_call *k)
{
    if (k == NULL)
        return;
    free(k->resp);
    free(k->sd);
    free(k);
}

/* ---- client streaming ---- */

/* Run one batch on the stream's queue and wait for it; returns the batch's success. */
static int stream_batch(tc_client_stream *s, grpc_op *ops, size_t n, void *tag)
{
    if (grpc_call_start_batch(s->call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return 0;
    return grpc_completion_queue_pluck(s->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
        .success;
}

int tc_client_stream_open(tc_client *c, const char *method, int timeout_ms, tc_client_stream **out,
                          tc_error *err)
{
    tc_client_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    s->client = c;
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    s->call = create_call(c, s->cq, method, deadline_in(timeout_ms));
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->details = grpc_empty_slice();
    s->status = GRPC_STATUS_UNKNOWN;
    if (s->call == NULL) {
        tc_client_stream_free(s);
        return tc_errorf(err, TC_EINVAL, "cannot create a call of %s", method);
    }
    /* The receiving side is posted at once, so a server that answers before the stream ends
     * (a refusal) completes it, and the sends that follow fail fast instead of blocking. */
    grpc_op r[3];
    memset(r, 0, sizeof r);
    r[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    r[0].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
    r[1].op = GRPC_OP_RECV_MESSAGE;
    r[1].data.recv_message.recv_message = &s->recv;
    r[2].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    r[2].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    r[2].data.recv_status_on_client.status = &s->status;
    r[2].data.recv_status_on_client.status_details = &s->details;
    if (grpc_call_start_batch(s->call, r, 3, &s->tag_recv, NULL) != GRPC_CALL_OK) {
        tc_client_stream_free(s);
        return tc_errorf(err, TC_EINVAL, "cannot start the call");
    }
    s->recv_started = 1;
    grpc_op md;
    memset(&md, 0, sizeof md);
    md.op = GRPC_OP_SEND_INITIAL_METADATA;
    md.data.send_initial_metadata.count = c->n_md;
    md.data.send_initial_metadata.metadata = c->n_md > 0 ? c->md : NULL;
    if (!stream_batch(s, &md, 1, &s->tag_md))
        s->ended = 1; /* finish reports why */
    *out = s;
    return TC_OK;
}

int tc_client_stream_send(tc_client_stream *s, const void *msg, size_t len)
{
    if (s->ended || s->finished)
        return TC_ECANCELLED;
    grpc_slice slice = grpc_slice_from_copied_buffer(msg, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    int ok = stream_batch(s, &op, 1, &s->tag_send);
    grpc_byte_buffer_destroy(bb);
    if (!ok) {
        s->ended = 1;
        return TC_ECANCELLED;
    }
    return TC_OK;
}

int tc_client_stream_finish(tc_client_stream *s, unsigned char **resp, size_t *resp_len,
                            int *status, char *msg, size_t msg_size)
{
    *resp = NULL;
    *resp_len = 0;
    *status = GRPC_STATUS_UNKNOWN;
    if (s->finished) {
        set_msg(msg, msg_size, "the stream was already finished");
        return TC_EINVAL;
    }
    if (!s->ended) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        stream_batch(s, &op, 1, &s->tag_close); /* a failure shows in the status below */
    }
    grpc_completion_queue_pluck(s->cq, &s->tag_recv, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    s->finished = 1;
    *status = (int)s->status;
    take_details(s->details, msg, msg_size);
    take_status_details(&s->trailing_md, &s->sd, &s->sd_len, &s->sd_cap);
    size_t cap = 0;
    int rc = take_message(s->recv, resp, resp_len, &cap);
    if (rc != TC_OK) {
        free(*resp);
        *resp = NULL;
        *resp_len = 0;
        set_msg(msg, msg_size, "out of memory for the response");
        return rc;
    }
    if (*resp_len == 0) {
        free(*resp);
        *resp = NULL;
    }
    return TC_OK;
}

void tc_client_stream_free(tc_client_stream *s)
{
    if (s == NULL)
        return;
    if (s->call != NULL) {
        if (s->recv_started && !s->finished) {
            grpc_call_cancel(s->call, NULL);
            grpc_completion_queue_pluck(s->cq, &s->tag_recv, gpr_inf_future(GPR_CLOCK_REALTIME),
                                        NULL);
        }
        grpc_call_unref(s->call);
    }
    if (s->recv != NULL)
        grpc_byte_buffer_destroy(s->recv);
    grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_completion_queue_shutdown(s->cq);
    grpc_completion_queue_destroy(s->cq);
    free(s->sd);
    free(s);
}

const unsigned char *tc_client_stream_details(const tc_client_stream *s, size_t *len)
{
    *len = s->sd_len;
    return s->sd_len > 0 ? s->sd : NULL;
}

const unsigned char *tc_client_call_details(const tc_client_call *k, size_t *len)
{
    *len = k->sd_len;
    return k->sd_len > 0 ? k->sd : NULL;
}
