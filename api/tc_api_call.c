/* A call from its arrival to its final batch, whatever method it is: the methods served,
 * admission and routing to the handler, the request decoded and the reply encoded in the
 * worker's arena, the mapping of TC_E* codes to gRPC statuses and reasons, and the final batch
 * with its status and google.rpc.Status. The threads and slots that carry calls are
 * tc_api_server.c's; the handlers are tc_api_score.c's, tc_api_steward.c's, tc_api_admin.c's,
 * tc_api_model.c's, tc_api_health.c's and tc_api_reflect.c's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#include "tc_api_internal.h"
#include "tc_api_checks.h"
#include "tc_grpc_status.h"
#include "tc_text.h"

const tc_api_method_info tc_api_methods[M_COUNT] = {
    [M_SCORE] = {"/tinchap.v1.Scoring/Score", "Score", 0, TC_ROLE_SCORER, 64},
    [M_LIST_MODELS] = {"/tinchap.v1.Scoring/ListModels", "ListModels", 0, TC_ROLE_SCORER, 2},
    [M_GET_MODEL] = {"/tinchap.v1.Scoring/GetModel", "GetModel", 0, TC_ROLE_SCORER, 2},
    [M_PUT_CITIZENS] = {"/tinchap.v1.Steward/PutCitizens", "PutCitizens", 1, TC_ROLE_STEWARD, 2},
    [M_GRANT_CONSENT] = {"/tinchap.v1.Steward/GrantConsent", "GrantConsent", 0, TC_ROLE_STEWARD, 4},
    [M_REVOKE_CONSENT] = {"/tinchap.v1.Steward/RevokeConsent", "RevokeConsent", 0, TC_ROLE_STEWARD,
                          4},
    [M_ERASE_CITIZEN] = {"/tinchap.v1.Steward/EraseCitizen", "EraseCitizen", 0, TC_ROLE_STEWARD, 2},
    [M_LIST_INQUIRIES] = {"/tinchap.v1.Steward/ListInquiries", "ListInquiries", 0, TC_ROLE_STEWARD,
                          2},
    [M_LIST_CONSENTS] = {"/tinchap.v1.Steward/ListConsents", "ListConsents", 0, TC_ROLE_STEWARD, 2},
    [M_RELOAD_MODELS] = {"/tinchap.v1.Admin/ReloadModels", "ReloadModels", 0, TC_ROLE_ADMIN, 2},
    [M_GET_STATUS] = {"/tinchap.v1.Admin/GetStatus", "GetStatus", 0, TC_ROLE_ADMIN, 2},
    [M_GET_MONITOR] = {"/tinchap.v1.Admin/GetMonitor", "GetMonitor", 0, TC_ROLE_ADMIN, 2},
    [M_HEALTH_CHECK] = {"/grpc.health.v1.Health/Check", "Check", 0, 0, 8},
    [M_HEALTH_WATCH] = {"/grpc.health.v1.Health/Watch", "Watch", 0, 0, 4},
    /* Any known caller may discover the API; what it then calls is checked as usual. */
    [M_REFLECTION] = {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                      "ServerReflectionInfo", 1, 0, 2},
    [M_REFLECTION_ALPHA] = {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                            "ServerReflectionInfoV1alpha", 1, 0, 2},
    /* The benchmark floor: same binary, threads, slots and authentication as Score, no work
     * (api/tinchap/v1/diagnostics.proto). */
    [M_NOOP] = {"/tinchap.v1.Diagnostics/Noop", "Noop", 0, TC_ROLE_SCORER, 64},
    [M_UNKNOWN] = {NULL, "Unknown", 0, 0, 2},
};

const unsigned char *tc_api_payload(tc_api_slot *s, size_t *len)
{
    if (s->rest != NULL) {
        *len = s->rest_len;
        return s->rest_payload;
    }
    if (s->payload == NULL)
        return NULL;
    size_t n = grpc_byte_buffer_length(s->payload);
    unsigned char *out = tc_api_arena_alloc(s->w, n + 1);
    if (out == NULL) { /* larger than the arena, up to max_message_bytes: rare, on the heap */
        free(s->payload_heap);
        out = s->payload_heap = malloc(n + 1);
        if (out == NULL)
            return NULL;
    }
    grpc_byte_buffer_reader r;
    grpc_slice slice;
    size_t o = 0;
    if (!grpc_byte_buffer_reader_init(&r, s->payload))
        return NULL;
    while (grpc_byte_buffer_reader_next(&r, &slice)) {
        size_t l = GRPC_SLICE_LENGTH(slice);
        if (o + l <= n)
            memcpy(out + o, GRPC_SLICE_START_PTR(slice), l);
        o += l;
        grpc_slice_unref(slice);
    }
    grpc_byte_buffer_reader_destroy(&r);
    *len = o <= n ? o : n;
    return out;
}

unsigned char *tc_api_pack(tc_api_slot *s, const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    unsigned char *out = tc_api_arena_alloc(s->w, n + 1);
    if (out == NULL)
        return NULL;
    *len = protobuf_c_message_pack(msg, out);
    return out;
}

void tc_api_timestamp(Google__Protobuf__Timestamp *out, int64_t t_us)
{
    google__protobuf__timestamp__init(out);
    /* floor division: the nanoseconds of a Timestamp are never negative */
    int64_t sec = t_us / 1000000 - (t_us % 1000000 < 0);
    out->seconds = sec;
    out->nanos = (int32_t)((t_us - sec * 1000000) * 1000);
}

ProtobufCMessage *tc_api_request(tc_api_slot *s, const ProtobufCMessageDescriptor *d)
{
    size_t len = 0;
    const unsigned char *data = tc_api_payload(s, &len);
    tc_api_error e;
    tc_api_error_set(&e, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST,
                     "%s", "");
    if (data != NULL && tc_api_check_strings(d, data, len, "", &e) > 0) {
        tc_api_invalid(&e, "");
        tc_api_fail_error(s, &e);
        return NULL;
    }
    ProtobufCMessage *m =
        data != NULL ? protobuf_c_message_unpack(d, &s->w->allocator, len, data) : NULL;
    if (m == NULL)
        tc_api_fail(s, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST,
                    "%s message is %s", d->short_name, data == NULL ? "missing" : "malformed");
    s->request_msg = m; /* freed once the handler returns (what did not fit the arena) */
    return m;
}

void tc_api_reply(tc_api_slot *s, const ProtobufCMessage *msg)
{
    size_t len = 0;
    unsigned char *out = tc_api_pack(s, msg, &len);
    if (out == NULL)
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "the reply is larger than the server's "
                    "scratch memory");
    else
        tc_api_finish(s, GRPC_STATUS_OK, out, len);
}

/* ---- status codes ---- */

grpc_status_code tc_api_status_of(int code)
{
    switch (code) {
    case TC_OK:
        return GRPC_STATUS_OK;
    case TC_EINVAL:
    case TC_EPARSE:
    case TC_EID:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case TC_ENOTFOUND:
        return GRPC_STATUS_NOT_FOUND;
    case TC_EEXIST:
        return GRPC_STATUS_ALREADY_EXISTS;
    case TC_ENOCONSENT:
        return GRPC_STATUS_PERMISSION_DENIED;
    case TC_EFULL:
    case TC_EBUSY:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case TC_EMODEL:
    case TC_ECATALOG:
    case TC_ECATALOG_MISMATCH:
        return GRPC_STATUS_FAILED_PRECONDITION;
    case TC_ECANCELLED:
        return GRPC_STATUS_CANCELLED;
    case TC_EIO:
    case TC_EDB:
        return GRPC_STATUS_UNAVAILABLE;
    default:
        return GRPC_STATUS_INTERNAL;
    }
}

tc_api_reason tc_api_reason_of(int code)
{
    switch (code) {
    case TC_EINVAL:
    case TC_EPARSE:
    case TC_EID:
        return TINCHAP__V1__ERROR_REASON__INVALID_REQUEST;
    case TC_ENOTFOUND:
        return TINCHAP__V1__ERROR_REASON__CITIZEN_NOT_FOUND;
    case TC_EEXIST:
        return TINCHAP__V1__ERROR_REASON__REQUEST_ID_REUSED;
    case TC_ENOCONSENT:
        return TINCHAP__V1__ERROR_REASON__CONSENT_NOT_VALID;
    case TC_EFULL:
        return TINCHAP__V1__ERROR_REASON__DATABASE_FULL;
    case TC_EBUSY:
        return TINCHAP__V1__ERROR_REASON__OVERLOADED;
    case TC_EMODEL:
    case TC_ECATALOG:
    case TC_ECATALOG_MISMATCH:
        return TINCHAP__V1__ERROR_REASON__RELOAD_REFUSED;
    case TC_ECANCELLED:
        return TINCHAP__V1__ERROR_REASON__CALL_CANCELLED;
    case TC_EIO:
    case TC_EDB:
        return TINCHAP__V1__ERROR_REASON__DATABASE_UNAVAILABLE;
    default:
        return TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR;
    }
}

const char *tc_api_status_name(grpc_status_code code)
{
    return tc_grpc_status_name((int)code);
}

/* The reason a refusal gets when its handler named none (a fault of ours to fix, not a path a
 * client should meet: every refusal names its reason). */
static tc_api_reason fallback_reason(grpc_status_code status)
{
    switch (status) {
    case GRPC_STATUS_INVALID_ARGUMENT:
        return TINCHAP__V1__ERROR_REASON__INVALID_REQUEST;
    case GRPC_STATUS_UNAVAILABLE:
        return TINCHAP__V1__ERROR_REASON__DATABASE_UNAVAILABLE;
    case GRPC_STATUS_CANCELLED:
        return TINCHAP__V1__ERROR_REASON__CALL_CANCELLED;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return TINCHAP__V1__ERROR_REASON__DEADLINE_PASSED;
    default:
        return TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR;
    }
}

void tc_api_ensure_error(tc_api_slot *s, grpc_status_code status)
{
    if (s->has_status_details)
        return;
    tc_api_error e;
    tc_api_error_set(&e, (int)status, fallback_reason(status), "%s", s->status_text);
    tc_api_set_error(s, &e);
}

void tc_api_set_error(tc_api_slot *s, tc_api_error *e)
{
    /* a client may have put a citizen ID in any field a message quotes */
    tc_text_redact_ids(e->message);
    for (size_t i = 0; i < e->n_violations && i < TC_API_ERROR_VIOLATIONS_MAX; i++) {
        tc_text_redact_ids(e->violations[i].field);
        tc_text_redact_ids(e->violations[i].why);
    }
    for (size_t i = 0; i < e->n_meta; i++)
        tc_text_redact_ids(e->meta[i].value);
    snprintf(s->status_text, sizeof s->status_text, "%s", e->message);
    uint8_t packed[TC_API_ERROR_PACKED_MAX];
    size_t n = tc_api_error_pack(e, packed, sizeof packed);
    if (s->has_status_details)
        grpc_slice_unref(s->status_details);
    s->status_details = grpc_slice_from_copied_buffer((const char *)packed, n);
    s->has_status_details = 1;
}

void tc_api_finish(tc_api_slot *s, grpc_status_code status, const unsigned char *reply,
                   size_t reply_len)
{
    if (s->rest != NULL) {
        tc_api_rest_finish(s, status, reply, reply_len);
        return;
    }
    grpc_op ops[4];
    grpc_byte_buffer *bb = NULL;
    memset(ops, 0, sizeof ops);
    s->status = status;
    s->stage = SLOT_FINISHING;
    size_t n = tc_api_initial_op(s, ops);
    if (status == GRPC_STATUS_OK && reply != NULL) {
        grpc_slice slice = grpc_slice_from_copied_buffer((const char *)reply, reply_len);
        bb = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    if (status != GRPC_STATUS_OK)
        tc_api_ensure_error(s, status);
    tc_text_redact_ids(s->status_text); /* sent, then logged by finished() */
    s->status_slice = grpc_slice_from_copied_string(s->status_text);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n].data.send_status_from_server.status_details =
        status == GRPC_STATUS_OK ? NULL : &s->status_slice;
    if (status != GRPC_STATUS_OK) {
        /* every refusal carries its google.rpc.Status: reason, fields, retry advice */
        s->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
        s->trailer.value = s->status_details;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
        ops[n].data.send_status_from_server.trailing_metadata = &s->trailer;
    }
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &s->cancelled;
    grpc_call *call = s->call; /* s may be reused by its worker once the batch is started */
    /* The answer is decided: the call no longer counts against max_inflight, even if its peer
     * is slow to take the reply (or never reads it). What admission control bounds is work. */
    atomic_fetch_sub_explicit(&s->w->inflight, 1, memory_order_relaxed);
    HANDOFF_RELEASE(s);
    grpc_call_error e = grpc_call_start_batch(call, ops, n, s, NULL);
    if (bb != NULL)
        grpc_byte_buffer_destroy(bb); /* the batch holds its own reference */
    if (e != GRPC_CALL_OK) {
        /* Cannot happen for a well-formed batch; the slot would leak: say so loudly. */
        char fields[96];
        snprintf(fields, sizeof fields, "\"grpc_call_error\":%d", (int)e);
        tc_api_log_event(s->w->srv->log, "error", "start_batch_failed", fields);
    }
}

size_t tc_api_initial_op(const tc_api_slot *s, grpc_op *op)
{
    if (s->initial_sent)
        return 0;
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = 0;
    return 1;
}

grpc_call_error tc_api_send(tc_api_slot *s, const unsigned char *msg, size_t len)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = tc_api_initial_op(s, ops);
    grpc_slice slice = grpc_slice_from_copied_buffer((const char *)msg, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    HANDOFF_RELEASE(s);
    grpc_call_error e = grpc_call_start_batch(s->call, ops, n, s, NULL);
    grpc_byte_buffer_destroy(bb); /* the batch holds its own reference */
    if (e == GRPC_CALL_OK)
        s->initial_sent = 1;
    return e;
}

void tc_api_fail(tc_api_slot *s, grpc_status_code status, tc_api_reason reason, const char *fmt,
                 ...)
{
    tc_api_error e;
    va_list ap;
    va_start(ap, fmt);
    tc_api_error_vset(&e, (int)status, reason, fmt, ap);
    va_end(ap);
    tc_api_fail_error(s, &e);
}

void tc_api_fail_error(tc_api_slot *s, tc_api_error *e)
{
    tc_api_set_error(s, e);
    tc_api_finish(s, (grpc_status_code)e->code, NULL, 0);
}

int tc_api_past_deadline(tc_api_slot *s)
{
    gpr_timespec d = gpr_convert_clock_type(
        s->method == M_UNKNOWN ? s->details.deadline : s->deadline, GPR_CLOCK_MONOTONIC);
    if (gpr_time_cmp(d, gpr_now(GPR_CLOCK_MONOTONIC)) > 0)
        return 0;
    tc_api_fail(s, GRPC_STATUS_DEADLINE_EXCEEDED, TINCHAP__V1__ERROR_REASON__DEADLINE_PASSED,
                "the deadline passed before the call was served");
    return 1;
}

/* ---- dispatch ---- */

static void handle_noop(tc_api_slot *s)
{
    static const unsigned char empty[1];
    tc_api_finish(s, GRPC_STATUS_OK, empty, 0);
}

static void handle_unknown(tc_api_slot *s)
{
    char path[128];
    size_t n = GRPC_SLICE_LENGTH(s->details.method);
    if (n >= sizeof path)
        n = sizeof path - 1;
    memcpy(path, GRPC_SLICE_START_PTR(s->details.method), n);
    path[n] = '\0';
    char safe[128];
    tc_error_quote(safe, sizeof safe, path, n);
    tc_api_fail(s, GRPC_STATUS_UNIMPLEMENTED, TINCHAP__V1__ERROR_REASON__METHOD_NOT_FOUND,
                "no method %s on this server", safe);
}

int tc_api_admit(tc_api_slot *s)
{
    tc_api_worker *w = s->w;
    tc_api_error e;
    if (atomic_load_explicit(&w->srv->refusing, memory_order_relaxed) &&
        s->method != M_HEALTH_CHECK && s->method != M_HEALTH_WATCH) {
        tc_api_error_set(&e, GRPC_STATUS_UNAVAILABLE, TINCHAP__V1__ERROR_REASON__DRAINING,
                         "the server is draining; retry another replica");
        e.retry_ms = 100;
    } else if (atomic_load_explicit(&w->inflight, memory_order_relaxed) >
               w->srv->cfg.max_inflight) {
        tc_api_error_set(&e, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__OVERLOADED,
                         "the server is at its limit of calls in flight; retry with backoff");
        e.retry_ms = 50;
    } else {
        return 0;
    }
    tc_api_fail_error(s, &e);
    return 1;
}

void tc_api_dispatch(tc_api_slot *s)
{
    /* every method, health checks included: a certificate that names no configured identity
     * gets nothing but UNAUTHENTICATED */
    if (tc_api_admit(s) || tc_api_past_deadline(s) || tc_api_authorize(s))
        return;
    tc_api_route(s);
}

void tc_api_route(tc_api_slot *s)
{
    switch (s->method) {
    case M_SCORE:
        tc_api_handle_score(s);
        break;
    case M_LIST_MODELS:
        tc_api_handle_list_models(s);
        break;
    case M_GET_MODEL:
        tc_api_handle_get_model(s);
        break;
    case M_PUT_CITIZENS:
        tc_api_handle_put(s, NULL, 0, 0); /* start the stream */
        break;
    case M_GRANT_CONSENT:
        tc_api_handle_grant(s);
        break;
    case M_REVOKE_CONSENT:
        tc_api_handle_revoke(s);
        break;
    case M_ERASE_CITIZEN:
        tc_api_handle_erase(s);
        break;
    case M_LIST_INQUIRIES:
        tc_api_handle_inquiries(s);
        break;
    case M_LIST_CONSENTS:
        tc_api_handle_consents(s);
        break;
    case M_RELOAD_MODELS:
        tc_api_handle_reload(s);
        break;
    case M_GET_STATUS:
        tc_api_handle_status(s);
        break;
    case M_GET_MONITOR:
        tc_api_handle_monitor(s);
        break;
    case M_HEALTH_CHECK:
        tc_api_handle_health(s);
        break;
    case M_HEALTH_WATCH:
        tc_api_handle_health_watch(s);
        break;
    case M_NOOP:
        handle_noop(s);
        break;
    case M_UNKNOWN:
        handle_unknown(s);
        break;
    case M_REFLECTION:
    case M_REFLECTION_ALPHA:
        tc_api_handle_reflection(s);
        break;
    default:
        tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR,
                    "unrouted method");
        break;
    }
}
