/* call — what the parts of `tinchap call` share (cmd_call.c: options, output, the unary
 * methods; call_put.c: PutCitizens from a CSV file). Not a contract for anyone else. */
#ifndef TC_CALL_H
#define TC_CALL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "tc_client.h"

#define CALL_EXIT_RPC_BASE 10 /* exit status = 10 + the gRPC status code */
#define CALL_DEFAULT_TIMEOUT_MS 10000
#define CALL_PUT_BATCH_MAX 10000 /* the server's limit of records per PutCitizens call */
#define CALL_CONTEXT_MAX 4352    /* a file path and a few numbers after a server message */

/* Request options; a bit per option says it was given, and each method says which it takes. */
enum {
    R_CITIZEN,
    R_CONSENT_REF,
    R_PURPOSE,
    R_PRODUCT,
    R_REQUEST_ID,
    R_MODEL,
    R_MODEL_VERSION,
    R_MAX_REASONS,
    R_AMOUNT,
    R_TERM,
    R_INSTITUTION,
    R_GRANTED_AT,
    R_EXPIRES_AT,
    R_REVOKED_AT,
    R_LIMIT,
    R_SERVICE,
    R_CATALOG,
    R_BATCH,
    R_PAGE_TOKEN,
    R_FROM,
    R_TO,
    R_COUNT
};
#define B(x) (1u << (x))

typedef struct req_opts {
    unsigned given;
    const char *v[R_COUNT];
    const char *positional;
} req_opts;

typedef struct call_ctx {
    tc_client *client;
    int timeout_ms;
    int compact;
    int json;                                  /* --json: JSON even where a table is the default */
    int (*table)(const ProtobufCMessage *msg); /* the method's table, or NULL: JSON */
} call_ctx;

/* The response as JSON (proto field names), indented unless --compact; the exit status. */
int call_print_json(const call_ctx *cx, json_t *j);

/* "tinchap call: STATUS_NAME: message" and the google.rpc.Status's details on stderr; the exit
 * status (10 + the gRPC code). */
int call_rpc_fail(int status, const char *msg, const char *context, const unsigned char *details,
                  size_t details_len);

/* A whole number from 0 to max for option opt, or a usage error (its exit status). */
int call_parse_u32(const char *opt, const char *v, uint32_t max, uint32_t *out);

/* put FILE.csv: the rows checked whole, then streamed through Steward/PutCitizens. */
int call_run_put(call_ctx *cx, const req_opts *r);

#endif
