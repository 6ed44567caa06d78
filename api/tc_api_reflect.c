/* The ServerReflectionInfo stream: receive a request, send its answer, and again, until the
 * client half-closes. The answers come from tc_api_reflection, which knows nothing of gRPC.
 * One batch is pending at a time, receive or send, so the slot's stage alone tells which event
 * arrived. */
#include <string.h>

#include <grpc/byte_buffer.h>

#include "tc_api_internal.h"

static void receive_next(tc_api_slot *s)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->payload;
    s->stage = SLOT_REFLECTING;
    s->reflect_sending = 0;
    if (grpc_call_start_batch(s->call, &op, 1, s, NULL) != GRPC_CALL_OK)
        tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR,
                    "cannot read the stream");
}

static void send_answer(tc_api_slot *s, const unsigned char *msg, size_t len)
{
    s->stage = SLOT_REFLECTING;
    s->reflect_sending = 1;
    if (tc_api_send(s, msg, len) != GRPC_CALL_OK)
        tc_api_fail(s, GRPC_STATUS_INTERNAL, TINCHAP__V1__ERROR_REASON__INTERNAL_ERROR,
                    "cannot write the stream");
}

void tc_api_handle_reflection(tc_api_slot *s)
{
    memset(&s->reflect, 0, sizeof s->reflect);
    receive_next(s);
}

static void answer(tc_api_slot *s)
{
    size_t len = 0;
    const unsigned char *req = tc_api_payload(s, &len);
    grpc_byte_buffer_destroy(s->payload);
    s->payload = NULL;
    if (req == NULL) {
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "reflection request larger than the server's scratch memory");
        return;
    }
    unsigned char *out = NULL;
    size_t out_len = 0;
    tc_error err = {0};
    int rc = tc_api_reflection_answer(s->w->srv->reflection, &s->reflect, req, len,
                                      &s->w->allocator, &out, &out_len, &err);
    if (rc == TC_EPARSE)
        tc_api_fail(s, GRPC_STATUS_INVALID_ARGUMENT, TINCHAP__V1__ERROR_REASON__INVALID_REQUEST,
                    "%s", err.msg);
    else if (rc != TC_OK)
        tc_api_fail(s, GRPC_STATUS_RESOURCE_EXHAUSTED, TINCHAP__V1__ERROR_REASON__MESSAGE_TOO_LARGE,
                    "%s", err.msg);
    else
        send_answer(s, out, out_len);
}

void tc_api_reflection_event(tc_api_slot *s, int ok)
{
    if (!ok) { /* the client went away, or its deadline passed */
        tc_api_fail(s, GRPC_STATUS_CANCELLED, TINCHAP__V1__ERROR_REASON__CALL_CANCELLED,
                    "the stream ended");
        return;
    }
    if (s->reflect_sending)
        receive_next(s);
    else if (s->payload == NULL) /* the client half-closed: every request was answered */
        tc_api_finish(s, GRPC_STATUS_OK, NULL, 0);
    else
        answer(s);
}
