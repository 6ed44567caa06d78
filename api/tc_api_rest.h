/* tc_api_rest — the same methods over HTTPS and JSON (proto3 JSON mapping), beside gRPC.
 *
 * One handler per method serves both: a REST request is authenticated by its client
 * certificate against the same identities (or, with --insecure on loopback, by the same bearer
 * tokens), decoded from JSON into the method's request message, and run through the same checks,
 * handler, audit trail, limits and metrics as a gRPC call (tc_api_serve_rest). The answer, or the
 * google.rpc.Status of a failure, goes back as JSON with the HTTP status the gRPC code maps to.
 * Streaming methods (PutCitizens, Health/Watch, reflection) stay on gRPC.
 *
 * libmicrohttpd serves it with a pool of threads; each thread is a caller of its own (its own
 * arena, reader, eval workspace and metrics shard, like a gRPC worker), so the call path shares
 * no lock. A Score's answer waits for its audit record like a gRPC one, on that thread.
 *
 * Routes (api/openapi.json documents them; tinchapd serves it at GET /v1/openapi.json):
 *   POST /v1/score                 Scoring/Score
 *   GET  /v1/models?product=P      Scoring/ListModels
 *   GET  /v1/models/NAME?version=N Scoring/GetModel
 *   ...the Steward and Admin methods (tc_api_rest.c's table)
 */
#ifndef TC_API_REST_H
#define TC_API_REST_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "tc_api_config.h"
#include "tc_error.h"


struct tc_api_server;
typedef struct tc_api_rest tc_api_rest;

/* A route: an HTTP verb and path for one method. A path ending in '/' takes one path parameter
 * after it, which fills the request field param; a GET fills fields from its query string. */
#define TC_API_REST_QUERY_MAX 2
typedef struct tc_api_rest_route {
    const char *verb;  /* "GET" or "POST" */
    const char *path;
    const char *param; /* or NULL */
    const char *query[TC_API_REST_QUERY_MAX];
    int method;        /* the server's method index (tc_api_internal.h) */
    const char *rpc;   /* "tinchap.v1.Scoring/Score" */
    const ProtobufCMessageDescriptor *request, *response;
} tc_api_rest_route;

extern const tc_api_rest_route tc_api_rest_routes[];
extern const size_t tc_api_rest_n_routes;

#define TC_API_REST_OPENAPI_PATH "/v1/openapi.json"

/* The OpenAPI 3.1 document of these routes, their messages and their errors, from the
 * descriptors (and comments) of the served .proto files (tc_api_openapi.c): malloc'd JSON text,
 * or NULL when out of memory. api/openapi.json is this, as tinchapd --openapi prints it. */
char *tc_api_openapi_json(void);

/* Start serving on the configuration's rest_listen with threads threads, each using the
 * server's caller context first_caller + i. */
int tc_api_rest_start(struct tc_api_server *srv, size_t first_caller, size_t threads,
                      tc_api_rest **out, tc_error *err);

/* The port it listens on (an ephemeral one when rest_listen asked for port 0). */
int tc_api_rest_port(const tc_api_rest *r);

/* Stop accepting, finish the requests in progress, and free. */
void tc_api_rest_stop(tc_api_rest *r);

#endif
