/* tc_client — a client of tinchapd (or any gRPC server) on the gRPC core C API.
 *
 * Messages travel as encoded protobuf bytes: callers pack requests and unpack responses with
 * the protobuf-c code generated from the .proto files under api/ (library tinchap_proto), so this
 * module depends on gRPC only and serves every method, present and future.
 *
 * A tc_client is one channel (one HTTP/2 connection, re-established by gRPC when it drops)
 * with its credentials: mutual TLS (CA, client certificate and key), or plaintext with a bearer
 * token for a server started with --insecure on loopback. The token, when set, is sent on every
 * call as "authorization: Bearer TOKEN".
 *
 * Three ways to call:
 *   - tc_client_unary: blocking, one request, one response. Thread-safe: any number of threads
 *     may call it on one client at once (each call has its own completion queue).
 *   - tc_client_stream_*: blocking client streaming (PutCitizens): send messages one by one,
 *     then finish to close the stream and receive the single response.
 *   - asynchronous unary calls on a caller-owned queue, for load generators. A closed loop at
 *     concurrency 64 on one thread:
 *
 *         tc_client_queue *q;   tc_client_call *calls[64];
 *         tc_client_queue_new(&q, &err);
 *         for (i = 0; i < 64; i++) {
 *             tc_client_call_new(client, &calls[i], &err);
 *             tc_client_call_start(calls[i], q, "/tinchap.v1.Scoring/Score", req, len,
 *                                  1000, &slot[i]);           // slot[i]: the caller's state
 *         }
 *         while (running) {
 *             tc_client_call *done;
 *             if (tc_client_queue_next(q, 100, &done) <= 0) continue;   // 0: nothing in 100 ms
 *             record(tc_client_call_user(done), tc_client_call_status(done));
 *             tc_client_call_start(done, q, method, req, len, 1000, tc_client_call_user(done));
 *         }
 *         // stop restarting: the 64 calls still in flight complete, then free everything
 *         for (n = 64; n > 0 && tc_client_queue_next(q, -1, &done) == 1; n--) {}
 *         for (i = 0; i < 64; i++) tc_client_call_free(calls[i]);
 *         tc_client_queue_free(q);
 *
 *     A call object is reused from one call to the next: its response buffer grows to the
 *     largest response and stays, so a steady loop allocates nothing of its own (gRPC's own
 *     per-call allocations aside). Method paths are registered with the channel once, on first
 *     use. The request bytes are copied when the call starts. The latency a load generator
 *     measures is its own clock around start and completion.
 *
 * Status: a call that reaches the server (or fails to) ends with a gRPC status code
 * (grpc_status_code values: 0 OK, 3 INVALID_ARGUMENT, 7 PERMISSION_DENIED, 14 UNAVAILABLE,
 * 16 UNAUTHENTICATED, ...) and the server's message. Functions that return int return 0 or a
 * TC_E* code for local failures (unreadable certificate files, out of memory, misuse).
 *
 * Lifetimes: free every call, stream and queue before closing the client whose channel they
 * use. Each object keeps gRPC initialised (grpc_init) while it exists.
 */
#ifndef TC_CLIENT_H
#define TC_CLIENT_H

#include <getopt.h>
#include <stddef.h>

#include "tc_error.h"

#define TC_CLIENT_DETAILS_MAX 65536 /* a status's details kept at most */
#define TC_CLIENT_MESSAGE_MAX 512 /* status message kept per call, longer ones are cut */
#define TC_CLIENT_METHODS_MAX 64  /* distinct method paths registered per client */
#define TC_CLIENT_TOKEN_MAX 4096
#define TC_CLIENT_PEM_MAX (1u << 20) /* CA, certificate and key files */
#define TC_CLIENT_DEFAULT_TARGET "127.0.0.1:50051"

typedef struct tc_client_options {
    const char *target;       /* gRPC target: "127.0.0.1:50051", "dns:///scoring.example:443" */
    int insecure;             /* 1: plaintext (only to a server started with --insecure) */
    const char *ca_file;      /* TLS: PEM of the CA that signed the server's certificate */
    const char *cert_file;    /* TLS: this client's certificate (PEM) */
    const char *key_file;     /* TLS: its private key (PEM) */
    const char *server_name;  /* TLS: name to verify in the server certificate instead of the
                               * target's host (tests, SSH tunnels); NULL = the target's */
    const char *token;        /* bearer token sent on every call, or NULL */
    size_t max_message_bytes; /* largest response accepted; 0 = gRPC's default (4 MiB) */
} tc_client_options;

typedef struct tc_client tc_client;

/* The connection options every client program takes (tinchap call, benchmarks/loadgen, the
 * fault tests' load), from one table: put TC_CLIENT_LONG_OPTIONS in the program's getopt_long
 * table and hand each option getopt returns to tc_client_option first. */
enum {
    TC_CLIENT_OPT_TARGET = 0x7100, /* above any short option and any program's own values */
    TC_CLIENT_OPT_CA,
    TC_CLIENT_OPT_CERT,
    TC_CLIENT_OPT_KEY,
    TC_CLIENT_OPT_SERVER_NAME,
    TC_CLIENT_OPT_INSECURE,
    TC_CLIENT_OPT_TOKEN,
};
#define TC_CLIENT_LONG_OPTIONS                                                                   \
    {"target", required_argument, NULL, TC_CLIENT_OPT_TARGET},                                   \
        {"ca", required_argument, NULL, TC_CLIENT_OPT_CA},                                       \
        {"cert", required_argument, NULL, TC_CLIENT_OPT_CERT},                                   \
        {"key", required_argument, NULL, TC_CLIENT_OPT_KEY},                                     \
        {"server-name", required_argument, NULL, TC_CLIENT_OPT_SERVER_NAME},                     \
        {"insecure", no_argument, NULL, TC_CLIENT_OPT_INSECURE},                                 \
        {"token", required_argument, NULL, TC_CLIENT_OPT_TOKEN}

/* 1 when c (a getopt_long result) is a connection option, applied to o from arg; else 0. */
int tc_client_option(tc_client_options *o, int c, const char *arg);

/* Open a channel. It connects lazily, on the first call. A bearer token over plaintext is
 * refused unless the target is a loopback address: anywhere else it would travel readable. */
int tc_client_open(const tc_client_options *opt, tc_client **out, tc_error *err);
void tc_client_close(tc_client *c);

/* Name of a gRPC status code: "OK", "INVALID_ARGUMENT", ... ("UNKNOWN" outside the table). */
const char *tc_client_status_name(int code);

/* ---- blocking unary call ---- */

/* Call method ("/tinchap.v1.Scoring/Score") with the encoded request. timeout_ms <= 0 waits
 * without a deadline. Returns 0 when the call ended with a status (stored in *status, the
 * server's message in msg, "" for OK); then *resp is a malloc'd copy of the response (NULL and
 * *resp_len 0 when the server sent none), which the caller frees with free(). Returns a TC_E*
 * code (message in msg) when the call could not be made at all. msg/msg_size may be NULL/0. */
int tc_client_unary(tc_client *c, const char *method, const void *req, size_t req_len,
                    int timeout_ms, unsigned char **resp, size_t *resp_len, int *status, char *msg,
                    size_t msg_size);

/* The same, and a failed call's google.rpc.Status as the server sent it (packed, from the
 * "grpc-status-details-bin" trailer): *details malloc'd (the caller frees it), or NULL when
 * there was none (a failure of the transport, not of the server). tc_client_describe reads it. */
int tc_client_unary_details(tc_client *c, const char *method, const void *req, size_t req_len,
                            int timeout_ms, unsigned char **resp, size_t *resp_len, int *status,
                            char *msg, size_t msg_size, unsigned char **details,
                            size_t *details_len);

/* A packed google.rpc.Status as lines a person reads: "reason: CONSENT_NOT_VALID (tinchap.v1)",
 * then one "field 'x': why" per violation of a BadRequest and "retry after: 0.250 s", each
 * line prefixed by indent. Writes at most size bytes (NUL-terminated); 0 if the bytes are not
 * a Status. */
size_t tc_client_describe(const unsigned char *details, size_t len, const char *indent, char *out,
                          size_t size);

/* ---- blocking client streaming ---- */

typedef struct tc_client_stream tc_client_stream;

/* Start a client-streaming call; the deadline covers the whole stream. */
int tc_client_stream_open(tc_client *c, const char *method, int timeout_ms, tc_client_stream **out,
                          tc_error *err);

/* Send one message; blocks while the transport applies flow control. TC_ECANCELLED when the
 * call has already ended (the server answered early, e.g. UNAUTHENTICATED, or the deadline
 * passed): stop sending and call tc_client_stream_finish to learn the status. */
int tc_client_stream_send(tc_client_stream *s, const void *msg, size_t len);

/* Close the sending side and wait for the response and status, as tc_client_unary. */
int tc_client_stream_finish(tc_client_stream *s, unsigned char **resp, size_t *resp_len,
                            int *status, char *msg, size_t msg_size);

/* A finished stream's google.rpc.Status (packed), or NULL; valid until the stream is freed. */
const unsigned char *tc_client_stream_details(const tc_client_stream *s, size_t *len);

/* Free the stream (cancelling it if it was not finished). */
void tc_client_stream_free(tc_client_stream *s);

/* ---- asynchronous unary calls (see the loop at the top) ---- */

typedef struct tc_client_queue tc_client_queue;
typedef struct tc_client_call tc_client_call;

/* A completion queue owned by the caller. Drain it from one thread at a time. */
int tc_client_queue_new(tc_client_queue **out, tc_error *err);

/* Free a queue. Every call started on it must have completed (been returned by
 * tc_client_queue_next) first. */
void tc_client_queue_free(tc_client_queue *q);

/* Wait up to timeout_ms (< 0: forever) for a call to complete. Returns 1 and *done, 0 on
 * timeout. The call's results are then ready and it may be started again or freed. */
int tc_client_queue_next(tc_client_queue *q, int timeout_ms, tc_client_call **done);

/* A reusable call object on c's channel. */
int tc_client_call_new(tc_client *c, tc_client_call **out, tc_error *err);

/* Start the call: method, the request (copied), a deadline timeout_ms from now (<= 0: none) and
 * an opaque user pointer handed back by tc_client_call_user. The call must not be in flight.
 * Returns 0, or a TC_E* code when it could not be started (nothing will complete). */
int tc_client_call_start(tc_client_call *call, tc_client_queue *q, const char *method,
                         const void *req, size_t req_len, int timeout_ms, void *user);

/* Results of the last completed call; valid until it is started again or freed. */
void *tc_client_call_user(const tc_client_call *call);
int tc_client_call_status(const tc_client_call *call);
const char *tc_client_call_message(const tc_client_call *call);
/* The call's google.rpc.Status (packed) when it failed with one, or NULL; valid until the call
 * is started again or freed. */
const unsigned char *tc_client_call_details(const tc_client_call *call, size_t *len);
const unsigned char *tc_client_call_response(const tc_client_call *call, size_t *len);

/* Free a call that is not in flight. */
void tc_client_call_free(tc_client_call *call);

#endif
