/* tc_api — the tinchapd service: tinchap.v1.Scoring, Steward and Admin, and grpc.health.v1,
 * on the gRPC core C API with protobuf-c messages.
 *
 * tc_api_server_start opens everything the configuration names (catalog, secret, database,
 * models, audit trail), binds the port, starts the workers and the audit writer, and returns a
 * serving server. The caller owns signals: SIGHUP -> tc_api_server_reload, SIGTERM/SIGINT ->
 * tc_api_server_stop (drain: health turns NOT_SERVING, new calls are refused, calls in flight
 * finish up to the drain timeout, the audit trail is flushed).
 */
#ifndef TC_API_H
#define TC_API_H

#include "tc_api_config.h"
#include "tc_error.h"

typedef struct tc_api_server tc_api_server;

/* Call grpc_init() first (after blocking signals in every thread). */
int tc_api_server_start(const tc_api_config *cfg, tc_api_server **out, tc_error *err);

/* The bound port (useful with ":0"). */
int tc_api_server_port(const tc_api_server *s);

/* Reload the models; on error the old set keeps serving and err says why. */
int tc_api_server_reload(tc_api_server *s, tc_error *err);

/* Drain and stop; then free. Safe to call once. */
void tc_api_server_stop(tc_api_server *s);

/* Version and commit of this build. */
const char *tc_api_version(void);
const char *tc_api_commit(void);

#endif
