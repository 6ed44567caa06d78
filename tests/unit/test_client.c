/* The client library against a real tinchapd core started in this process (plaintext on
 * 127.0.0.1 with bearer tokens, a database of synthetic citizens made by the tinchap binary):
 * blocking unary calls and their statuses, the asynchronous closed loop a load generator runs
 * (64 calls in flight on one thread, each call object reused), client streaming including a
 * server that refuses before the stream ends, deadlines, and the local refusals. Run under
 * ASan, it also shows that per-call state is released. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <openssl/evp.h>

#include "test_util.h"
#include "tc_api.h"
#include "tc_client.h"
#include "tc_key.h"

#include "grpc/health/v1/health.pb-c.h"
#include "tinchap/v1/scoring.pb-c.h"
#include "tinchap/v1/steward.pb-c.h"

#define TOKEN_BANK "bank-a-test-token"
#define TOKEN_STEWARD "steward-test-token"

typedef struct world {
    char *dir;
    tc_api_server *srv;
    char target[64];
    char citizen[16], consent_ref[80];
} world;

static world W;

static void token_hash(const char *token, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL);
    tc_hex(d, 32, out);
}

static void add_token(tc_api_config *c, const char *token, const char *inst, unsigned roles)
{
    tc_api_identity *id = &c->tokens[c->n_tokens++];
    token_hash(token, id->identity);
    snprintf(id->institution, sizeof id->institution, "%s", inst);
    id->roles = roles;
}

/* The first bank-a consent of the synthetic data: a citizen bank-a may score. */
static void pick_citizen(const char *consents)
{
    FILE *f = fopen(consents, "r");
    char line[512];
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        char id[16], inst[64], purpose[64], ref[80];
        if (sscanf(line, "%15[^,],%63[^,],%63[^,],%79[^,]", id, inst, purpose, ref) == 4 &&
            strcmp(inst, "bank-a") == 0 && strcmp(purpose, "loan-origination") == 0) {
            snprintf(W.citizen, sizeof W.citizen, "%s", id);
            snprintf(W.consent_ref, sizeof W.consent_ref, "%s", ref);
            break;
        }
    }
    fclose(f);
    assert_int_equal(strlen(W.citizen), 12);
}

static int setup(void **state)
{
    (void)state;
    char out[4096];
    W.dir = strdup(tu_tempdir());
    if (tu_run(out, sizeof out,
               "set -e; T=%s; D=%s; $T keygen $D/secret >/dev/null; "
               "$T synth -n 200 --history 0 --seed 5 --as-of $(date -u +%%F) --out $D/data "
               ">/dev/null; TINCHAP_KEY=$D/secret $T load --db $D/db --consents "
               "$D/data/consents.csv $D/data/population.csv >/dev/null",
               TC_TINCHAP, W.dir) != 0) {
        fprintf(stderr, "%s\n", out);
        return -1;
    }
    char consents[4200];
    snprintf(consents, sizeof consents, "%s/data/consents.csv", W.dir);
    pick_citizen(consents);
    tc_api_config cfg;
    tc_api_config_defaults(&cfg);
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:0");
    snprintf(cfg.database, sizeof cfg.database, "%s/db", W.dir);
    snprintf(cfg.secret, sizeof cfg.secret, "%s/secret", W.dir);
    snprintf(cfg.catalog, sizeof cfg.catalog, "%s/catalog.json", TC_MODELS);
    snprintf(cfg.models, sizeof cfg.models, "%s", TC_MODELS);
    cfg.insecure = 1;
    cfg.access_log = 0;
    cfg.drain_timeout_ms = 2000;
    /* 200 citizens: small maps, so that the test also runs under valgrind, whose address space
     * has no room for the defaults (32 + 64 GiB) */
    cfg.map_size = (size_t)1 << 30;
    cfg.audit_map_size = (size_t)1 << 30;
    add_token(&cfg, TOKEN_BANK, "bank-a", TC_ROLE_SCORER);
    add_token(&cfg, TOKEN_STEWARD, "population-data", TC_ROLE_STEWARD);
    tc_error err = {0};
    tc_api_config_finish(&cfg);
    grpc_init();
    if (tc_api_config_check(&cfg, &err) != TC_OK ||
        tc_api_server_start(&cfg, &W.srv, &err) != TC_OK) {
        fprintf(stderr, "server: %s\n", err.msg);
        return -1;
    }
    snprintf(W.target, sizeof W.target, "127.0.0.1:%d", tc_api_server_port(W.srv));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_api_server_stop(W.srv);
    grpc_shutdown_blocking();
    tu_rmtree(W.dir);
    free(W.dir);
    return 0;
}

static tc_client *open_client(const char *target, const char *token)
{
    tc_client_options o = {.target = target, .insecure = 1, .token = token};
    tc_client *c = NULL;
    tc_error err = {0};
    if (tc_client_open(&o, &c, &err) != TC_OK)
        fail_msg("tc_client_open: %s", err.msg);
    return c;
}

static unsigned char *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    unsigned char *b = malloc(*len + 1);
    assert_non_null(b);
    protobuf_c_message_pack(m, b);
    return b;
}

static unsigned char *score_request(const char *request_id, size_t *len)
{
    Tinchap__V1__ScoreRequest q = TINCHAP__V1__SCORE_REQUEST__INIT;
    q.request_id = (char *)request_id;
    q.citizen_id = W.citizen;
    q.consent_ref = W.consent_ref;
    q.purpose = (char *)"loan-origination";
    q.product = (char *)"unsecured-consumer";
    return pack(&q.base, len);
}

/* Health/Check needs no role, but a known token: without one, UNAUTHENTICATED. */
static void test_unary_health(void **state)
{
    (void)state;
    Grpc__Health__V1__HealthCheckRequest q = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    size_t len, rlen;
    unsigned char *req = pack(&q.base, &len), *resp = NULL;
    int status = -1;
    char msg[256];
    tc_client *anon = open_client(W.target, NULL);
    assert_int_equal(tc_client_unary(anon, "/grpc.health.v1.Health/Check", req, len, 5000, &resp,
                                     &rlen, &status, msg, sizeof msg),
                     TC_OK);
    assert_int_equal(status, 16); /* UNAUTHENTICATED */
    assert_null(resp);
    tc_client_close(anon);
    tc_client *c = open_client(W.target, TOKEN_BANK);
    assert_int_equal(tc_client_unary(c, "/grpc.health.v1.Health/Check", req, len, 5000, &resp,
                                     &rlen, &status, msg, sizeof msg),
                     TC_OK);
    assert_int_equal(status, 0);
    assert_string_equal(msg, "");
    Grpc__Health__V1__HealthCheckResponse *r =
        grpc__health__v1__health_check_response__unpack(NULL, rlen, resp);
    assert_non_null(r);
    assert_int_equal(r->status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    grpc__health__v1__health_check_response__free_unpacked(r, NULL);
    free(resp);
    free(req);
    tc_client_close(c);
}

static void test_unary_statuses(void **state)
{
    (void)state;
    size_t len, rlen;
    unsigned char *req = score_request("unary-1", &len), *resp = NULL;
    int status = -1;
    char msg[256];
    /* no token, a wrong token, a token without the role: each answered, no response bytes */
    struct {
        const char *token, *method;
        int want;
    } cases[] = {
        {NULL, "/tinchap.v1.Scoring/Score", 16},
        {"not-a-known-token", "/tinchap.v1.Scoring/Score", 16},
        {TOKEN_STEWARD, "/tinchap.v1.Scoring/Score", 7},
        {TOKEN_BANK, "/tinchap.v1.Nothing/Here", 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_client *c = open_client(W.target, cases[i].token);
        assert_int_equal(tc_client_unary(c, cases[i].method, req, len, 5000, &resp, &rlen, &status,
                                         msg, sizeof msg),
                         TC_OK);
        assert_int_equal(status, cases[i].want);
        assert_null(resp);
        assert_int_equal(rlen, 0);
        assert_true(strlen(msg) > 0);
        assert_null(strstr(msg, W.citizen));
        tc_client_close(c);
    }
    /* the right token: a score, and a retry of the same request_id is a replay */
    tc_client *c = open_client(W.target, TOKEN_BANK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tc_client_unary(c, "/tinchap.v1.Scoring/Score", req, len, 5000, &resp,
                                         &rlen, &status, msg, sizeof msg),
                         TC_OK);
        assert_int_equal(status, 0);
        Tinchap__V1__ScoreResponse *r = tinchap__v1__score_response__unpack(NULL, rlen, resp);
        assert_non_null(r);
        assert_string_equal(r->request_id, "unary-1");
        assert_true(r->pd_low <= r->pd && r->pd <= r->pd_high);
        assert_int_equal(r->replayed, k == 1);
        tinchap__v1__score_response__free_unpacked(r, NULL);
        free(resp);
    }
    tc_client_close(c);
    free(req);
}

/* The loop tc_client.h documents: 64 calls in flight on one thread, each object restarted as
 * soon as it completes, until 3000 calls have completed. */
static void test_async_closed_loop(void **state)
{
    (void)state;
    enum { CONC = 64, TOTAL = 3000 };
    tc_client *c = open_client(W.target, TOKEN_BANK);
    tc_client_queue *q = NULL;
    tc_client_call *calls[CONC];
    int slot_ids[CONC], per_slot[CONC] = {0};
    tc_error err = {0};
    size_t len;
    assert_int_equal(tc_client_queue_new(&q, &err), TC_OK);
    size_t noop_len = 0;
    unsigned char *score = score_request("async-fixed", &len);
    int started = 0, completed = 0, in_flight = 0, scored = 0, noops = 0;
    for (int i = 0; i < CONC; i++) {
        slot_ids[i] = i;
        assert_int_equal(tc_client_call_new(c, &calls[i], &err), TC_OK);
        /* odd slots score (replays after the first), even slots take the no-work path */
        int rc = i % 2 ? tc_client_call_start(calls[i], q, "/tinchap.v1.Scoring/Score", score, len,
                                              5000, &slot_ids[i])
                       : tc_client_call_start(calls[i], q, "/tinchap.v1.Diagnostics/Noop", "",
                                              noop_len, 5000, &slot_ids[i]);
        assert_int_equal(rc, TC_OK);
        started++, in_flight++;
    }
    /* a call in flight cannot be started twice */
    assert_int_equal(tc_client_call_start(calls[0], q, "/x.Y/Z", "", 0, 1000, NULL), TC_EBUSY);
    while (completed < TOTAL) {
        tc_client_call *done = NULL;
        assert_int_equal(tc_client_queue_next(q, 10000, &done), 1);
        in_flight--, completed++;
        int slot = *(int *)tc_client_call_user(done);
        assert_ptr_equal(done, calls[slot]);
        per_slot[slot]++;
        assert_int_equal(tc_client_call_status(done), 0);
        size_t rlen;
        const unsigned char *resp = tc_client_call_response(done, &rlen);
        if (slot % 2) {
            Tinchap__V1__ScoreResponse *r = tinchap__v1__score_response__unpack(NULL, rlen, resp);
            assert_non_null(r);
            assert_true(strlen(r->grade) > 0);
            assert_true(r->n_reasons > 0);
            tinchap__v1__score_response__free_unpacked(r, NULL);
            scored++;
        } else {
            assert_int_equal(rlen, 0);
            noops++;
        }
        if (started < TOTAL) {
            int rc = slot % 2 ? tc_client_call_start(done, q, "/tinchap.v1.Scoring/Score", score,
                                                     len, 5000, &slot_ids[slot])
                              : tc_client_call_start(done, q, "/tinchap.v1.Diagnostics/Noop", "", 0,
                                                     5000, &slot_ids[slot]);
            assert_int_equal(rc, TC_OK);
            started++, in_flight++;
        }
    }
    assert_int_equal(in_flight, 0);
    assert_int_equal(scored + noops, TOTAL);
    assert_true(scored >= CONC / 2);
    for (int i = 0; i < CONC; i++) {
        assert_true(per_slot[i] > 0); /* every slot took part: the loop really ran 64 wide */
        tc_client_call_free(calls[i]);
    }
    tc_client_queue_free(q);
    tc_client_close(c);
    free(score);
}

static void test_async_unreachable(void **state)
{
    (void)state;
    tc_client *c = open_client("127.0.0.1:1", NULL);
    tc_client_queue *q = NULL;
    tc_client_call *k = NULL;
    tc_client_call *done = NULL;
    assert_int_equal(tc_client_queue_new(&q, NULL), TC_OK);
    assert_int_equal(tc_client_call_new(c, &k, NULL), TC_OK);
    assert_int_equal(tc_client_call_start(k, q, "/grpc.health.v1.Health/Check", "", 0, 2000, k),
                     TC_OK);
    assert_int_equal(tc_client_queue_next(q, 10000, &done), 1);
    assert_ptr_equal(done, k);
    int st = tc_client_call_status(k);
    assert_true(st == 14 || st == 4); /* UNAVAILABLE, or DEADLINE_EXCEEDED */
    assert_true(strlen(tc_client_call_message(k)) > 0);
    /* nothing else is pending: next times out */
    assert_int_equal(tc_client_queue_next(q, 50, &done), 0);
    tc_client_call_free(k);
    tc_client_queue_free(q);
    tc_client_close(c);
}

static void put_records(const char *token, size_t n, int finish, int want_status,
                        const char *want_text)
{
    tc_client *c = open_client(W.target, token);
    tc_client_stream *s = NULL;
    tc_error err = {0};
    assert_int_equal(tc_client_stream_open(c, "/tinchap.v1.Steward/PutCitizens", 5000, &s, &err),
                     TC_OK);
    /* records with no attributes: the server refuses the call, naming the first record */
    Tinchap__V1__CitizenRecord r = TINCHAP__V1__CITIZEN_RECORD__INIT;
    r.citizen_id = W.citizen;
    size_t len;
    unsigned char *b = pack(&r.base, &len);
    int sent = 0;
    for (size_t i = 0; i < n; i++)
        if (tc_client_stream_send(s, b, len) == TC_OK)
            sent++;
    free(b);
    if (finish) {
        unsigned char *resp = NULL;
        size_t rlen = 0;
        int status = -1;
        char msg[256];
        assert_int_equal(tc_client_stream_finish(s, &resp, &rlen, &status, msg, sizeof msg), TC_OK);
        assert_int_equal(status, want_status);
        assert_non_null(strstr(msg, want_text));
        assert_null(strstr(msg, W.citizen));
        assert_null(resp);
        /* every refusal carries its google.rpc.Status; bad records are each named */
        size_t dlen = 0;
        const unsigned char *d = tc_client_stream_details(s, &dlen);
        char lines[4096];
        assert_true(tc_client_describe(d, dlen, "", lines, sizeof lines) > 0);
        assert_non_null(strstr(lines, "reason: "));
        if (want_status == 3) {
            assert_non_null(strstr(lines, "reason: INVALID_REQUEST (tinchap.v1)"));
            assert_non_null(strstr(lines, "field 'records[0].attributes': attribute "));
            assert_null(strstr(lines, W.citizen));
        }
        /* finishing twice is a misuse, reported as such */
        assert_int_equal(tc_client_stream_finish(s, &resp, &rlen, &status, NULL, 0), TC_EINVAL);
    }
    tc_client_stream_free(s);
    tc_client_close(c);
}

static void test_stream(void **state)
{
    (void)state;
    /* validated whole: the first bad record is named, nothing written */
    put_records(TOKEN_STEWARD, 3, 1, 3, "field 'records[0].attributes': attribute");
    /* refused before the stream ends; the sends stop failing fast and finish tells why */
    put_records(NULL, 2000, 1, 16, "bearer token");
    put_records(TOKEN_BANK, 10, 1, 7, "steward role");
    /* freed without finishing: cancelled, nothing leaks */
    put_records(TOKEN_STEWARD, 5, 0, 0, "");
}

static void test_local_refusals(void **state)
{
    (void)state;
    tc_client *c = NULL;
    tc_error err = {0};
    tc_client_options plain = {.target = "10.1.2.3:50051", .insecure = 1, .token = "t"};
    assert_int_equal(tc_client_open(&plain, &c, &err), TC_EINVAL);
    assert_non_null(strstr(err.msg, "plaintext"));
    tc_client_options badtok = {.target = "127.0.0.1:1", .insecure = 1, .token = "a b"};
    assert_int_equal(tc_client_open(&badtok, &c, &err), TC_EINVAL);
    tc_client_options nofile = {.target = "127.0.0.1:1",
                                .ca_file = "/nonexistent/ca.pem",
                                .cert_file = "/nonexistent/c.pem",
                                .key_file = "/nonexistent/c.key"};
    assert_int_not_equal(tc_client_open(&nofile, &c, &err), TC_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
    tc_client_options half = {.target = "127.0.0.1:1", .cert_file = "/x.pem"};
    assert_int_equal(tc_client_open(&half, &c, &err), TC_EINVAL);
    assert_null(c);
    assert_string_equal(tc_client_status_name(16), "UNAUTHENTICATED");
    assert_string_equal(tc_client_status_name(99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_health),
        cmocka_unit_test(test_unary_statuses),
        cmocka_unit_test(test_async_closed_loop),
        cmocka_unit_test(test_async_unreachable),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_local_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
