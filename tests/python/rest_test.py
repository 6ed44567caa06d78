"""The REST/JSON interface of a real tinchapd, from Python `requests` under mutual TLS, checked
against the gRPC interface of the same server and against the OpenAPI document it serves.

Every answer is validated against api/openapi.json's schema for it and parsed with protobuf's
own proto3 JSON parser into the method's message; every error path answers a google.rpc.Status
with the HTTP status of its gRPC code. Driven by tests/cli/rest.sh.

Environment: TC_PORT (gRPC), TC_REST_PORT, TC_METRICS_PORT, TC_PKI, TC_DIR, TC_SOURCE.
"""
import json
import os
import sys
import unittest
import uuid

import jsonschema
import requests
from google.protobuf import json_format

sys.path.insert(0, os.path.dirname(__file__))
from service_client import (Client, admin_pb2, days_from_now, metric, scorable,  # noqa: E402
                            scoring_pb2, status_pb2, steward_pb2)

PORT = int(os.environ["TC_PORT"])
REST = "https://localhost:%s" % os.environ["TC_REST_PORT"]
METRICS = int(os.environ["TC_METRICS_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
with open(os.path.join(os.environ["TC_SOURCE"], "api", "openapi.json")) as f:
    OPENAPI = json.load(f)
CA = os.path.join(PKI, "ca.pem")


def session(who):
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would replace the CA below
    s.verify = CA
    if who is not None:
        s.cert = (os.path.join(PKI, who + ".pem"), os.path.join(PKI, who + ".key"))
    return s


BANK, STEWARD, ADMIN = session("bank-a"), session("steward"), session("admin")


def schema_of(ref):
    """A validator of components/schemas/ref, its $refs resolved in the whole document."""
    schema = {"$ref": "#/components/schemas/" + ref}
    resolver = jsonschema.RefResolver("", OPENAPI)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def response_schema(path, verb, code):
    """The schema name api/openapi.json gives for an answer of path/verb with HTTP code."""
    responses = OPENAPI["paths"][path][verb.lower()]["responses"]
    answer = responses.get(str(code), responses["default"])
    if "$ref" in answer:  # #/components/responses/NAME
        answer = OPENAPI["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def call(s, verb, path, body=None, route=None, **params):
    """(HTTP status, JSON answer); the answer checked against the document's schema."""
    r = s.request(verb, REST + path, json=body, params=params or None, timeout=10)
    answer = r.json()
    assert r.headers["Content-Type"] == "application/json", r.headers
    assert r.headers["Cache-Control"] == "no-store", r.headers
    schema_of(response_schema(route or path, verb, r.status_code)).validate(answer)
    return r.status_code, answer


def error(answer):
    """(code, reason, [field violations]) of a google.rpc.Status answer, read with protobuf's
    own JSON parser (so its details' type URLs must resolve to the real messages)."""
    st = json_format.ParseDict(answer, status_pb2.Status())
    reason, fields = None, []
    for d in answer.get("details", []):
        if d["@type"].endswith("google.rpc.ErrorInfo"):
            assert d["domain"] == "tinchap.v1", d
            reason = d["reason"]
        elif d["@type"].endswith("google.rpc.BadRequest"):
            fields = [v["field"] for v in d["fieldViolations"]]
    return st.code, reason, fields


def score_body(citizen, ref, **extra):
    body = {"citizenId": citizen, "requestId": str(uuid.uuid4()), "product": "unsecured-consumer",
            "purpose": "loan-origination", "consentRef": ref, "loanAmountVnd": "50000000",
            "loanTermMonths": 24}
    body.update(extra)
    return body


class Document(unittest.TestCase):
    def test_served_document_is_the_shipped_one(self):
        r = BANK.get(REST + "/v1/openapi.json", timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json(), OPENAPI)

    def test_every_schema_is_valid_json_schema(self):
        self.assertEqual(OPENAPI["openapi"][:2], "3.")
        for name, schema in OPENAPI["components"]["schemas"].items():
            jsonschema.Draft202012Validator.check_schema(schema)
        for path, verbs in OPENAPI["paths"].items():
            for verb, op in verbs.items():
                self.assertIn("operationId", op, (path, verb))
                self.assertIn("default", op["responses"], (path, verb))


class Score(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scorable = scorable(DIR)
        assert len(cls.scorable) >= 4, "too few scorable citizens"

    def test_same_answer_as_grpc(self):
        citizen, ref = self.scorable[0]
        code, rest = call(BANK, "POST", "/v1/score", score_body(citizen, ref))
        self.assertEqual(code, 200)
        parsed = json_format.ParseDict(rest, scoring_pb2.ScoreResponse())
        grpc_answer = Client(PORT, PKI, "bank-a").score(
            citizen_id=citizen, request_id=str(uuid.uuid4()), product="unsecured-consumer",
            purpose="loan-origination", consent_ref=ref, loan_amount_vnd=50000000,
            loan_term_months=24)
        for field in ("score", "pd", "pd_low", "pd_high", "grade", "grade_label_en",
                      "model_name", "model_version"):
            self.assertEqual(getattr(parsed, field), getattr(grpc_answer, field), field)
        self.assertEqual([r.code for r in parsed.reasons], [r.code for r in grpc_answer.reasons])
        self.assertNotEqual(parsed.inquiry_id, grpc_answer.inquiry_id)
        self.assertNotIn(citizen, json.dumps(rest))  # least data: the ID is not sent back

    def test_replay_and_reuse(self):
        citizen, ref = self.scorable[1]
        body = score_body(citizen, ref)
        code, first = call(BANK, "POST", "/v1/score", body)
        self.assertEqual(code, 200)
        code, again = call(BANK, "POST", "/v1/score", body)
        self.assertEqual(code, 200)
        self.assertTrue(again["replayed"])
        self.assertEqual(again["inquiryId"], first["inquiryId"])
        body["loanAmountVnd"] = "60000000"
        code, answer = call(BANK, "POST", "/v1/score", body)
        self.assertEqual(code, 409)
        self.assertEqual(error(answer)[:2], (6, "REQUEST_ID_REUSED"))

    def test_denial_is_the_same_for_unknown_and_unconsented(self):
        bank_b = {c for c, _ in scorable(DIR, institution="bank-b")}
        citizen, ref = next((c, r) for c, r in self.scorable if c not in bank_b)
        denials = []
        with open(os.path.join(DIR, "population.csv")) as f:
            loaded = {line.split(",", 1)[0] for line in f}
        unknown = next("001085%06d" % n for n in range(900000, 999999)
                       if "001085%06d" % n not in loaded)
        for who, cid in ((BANK, unknown), (session("bank-b"), citizen)):
            body = score_body(cid, ref, requestId="same-for-both")
            r = who.post(REST + "/v1/score", json=body, timeout=10)
            denials.append((r.status_code, r.content))
        self.assertEqual(denials[0], denials[1])
        self.assertEqual(denials[0][0], 403)
        self.assertEqual(error(json.loads(denials[0][1]))[:2], (7, "CONSENT_NOT_VALID"))

    def test_every_bad_field_is_listed(self):
        citizen, _ = self.scorable[0]
        code, answer = call(BANK, "POST", "/v1/score",
                            score_body(citizen, "bad ref", purpose="", loanAmountVnd="-1"))
        self.assertEqual(code, 400)
        st, reason, fields = error(answer)
        self.assertEqual((st, reason), (3, "INVALID_REQUEST"))
        self.assertEqual(sorted(fields), ["consent_ref", "loan_amount_vnd", "purpose"])

    def test_version_without_name_is_refused(self):
        citizen, ref = self.scorable[0]
        code, answer = call(BANK, "POST", "/v1/score", score_body(citizen, ref, modelVersion=2))
        self.assertEqual(code, 400)
        self.assertEqual(error(answer)[2], ["model_version"])

    def test_retired_model(self):
        citizen, ref = self.scorable[3]
        code, answer = call(BANK, "POST", "/v1/score", score_body(
            citizen, ref, modelName="unsecured-consumer-expert", modelVersion=1))
        self.assertEqual(code, 400)
        self.assertEqual(error(answer)[:2], (9, "MODEL_RETIRED"))
        self.assertIn("retired", answer["message"])

    def test_bodies_that_are_not_the_message(self):
        cases = [
            (b"{not json", [""]),
            (b"[1, 2]", [""]),
            (b'{"citizenId": 64303344477}', ["citizenId"]),
            (b'{"nosuchField": 1, "loanTermMonths": "x"}', ["nosuchField", "loanTermMonths"]),
            (b'{"citizenId": "1", "citizenId": "2"}', [""]),
            (b'{"loanAmountVnd": "1e400"}', ["loanAmountVnd"]),
        ]
        for raw, fields in cases:
            r = BANK.post(REST + "/v1/score", data=raw, timeout=10,
                          headers={"Content-Type": "application/json"})
            self.assertEqual(r.status_code, 400, raw)
            schema_of("google.rpc.Status").validate(r.json())
            st, reason, got = error(r.json())
            self.assertEqual((st, reason), (3, "INVALID_REQUEST"), raw)
            self.assertEqual(sorted(got), sorted(fields), raw)

    def test_body_too_large(self):
        r = BANK.post(REST + "/v1/score", data=b"{" + b" " * (5 << 20) + b"}", timeout=30)
        self.assertEqual(r.status_code, 429)
        self.assertEqual(error(r.json())[:2], (8, "MESSAGE_TOO_LARGE"))

    def test_an_id_in_any_text_never_comes_back(self):
        citizen, ref = self.scorable[0]
        probes = [
            ("POST", "/v1/score", {"requestId": "req-" + citizen}),
            ("POST", "/v1/score", {"x" + citizen: 1}),
            ("POST", "/v1/score", "{\"citizenId\": \"%s\"" % citizen),
            ("GET", "/v1/citizens/" + citizen, None),
            ("GET", "/v1/models/" + citizen, None),
        ]
        for verb, path, body in probes:
            data = body if isinstance(body, str) else json.dumps(body) if body else None
            r = BANK.request(verb, REST + path, data=data, timeout=10)
            self.assertGreaterEqual(r.status_code, 400, path)
            self.assertNotIn(citizen, r.text, (verb, path, body))


class Models(unittest.TestCase):
    def test_list_and_get(self):
        code, listed = call(BANK, "GET", "/v1/models", product="unsecured-consumer")
        self.assertEqual(code, 200)
        names = {(m["name"], m["status"]) for m in listed["models"]}
        self.assertIn(("unsecured-consumer-scorecard", "MODEL_STATUS_CHAMPION"), names)
        code, model = call(BANK, "GET", "/v1/models/unsecured-consumer-scorecard",
                           route="/v1/models/{name}", version="2")
        self.assertEqual(code, 200)
        parsed = json_format.ParseDict(model, scoring_pb2.ModelDescription())
        grpc_model = Client(PORT, PKI, "bank-a").scoring.GetModel(
            scoring_pb2.GetModelRequest(name="unsecured-consumer-scorecard", version=2),
            timeout=10)
        self.assertEqual(parsed, grpc_model)

    def test_unknown_model_and_bad_version(self):
        code, answer = call(BANK, "GET", "/v1/models/no-such-model", route="/v1/models/{name}")
        self.assertEqual(code, 404)
        self.assertEqual(error(answer)[:2], (5, "MODEL_NOT_FOUND"))
        code, answer = call(BANK, "GET", "/v1/models/unsecured-consumer-scorecard",
                            route="/v1/models/{name}", version="two")
        self.assertEqual(code, 400)
        self.assertEqual(error(answer)[2], ["version"])


class Callers(unittest.TestCase):
    def test_unknown_unsigned_and_missing_certificates(self):
        for who in ("norole", "rogue", None):
            r = session(who).get(REST + "/v1/models", timeout=10)
            self.assertEqual(r.status_code, 401, who)
            self.assertEqual(error(r.json())[:2], (16, "UNKNOWN_CALLER"), who)

    def test_roles(self):
        for s, path, verb in ((BANK, "/v1/status", "GET"), (BANK, "/v1/consents:list", "POST"),
                              (STEWARD, "/v1/models:reload", "POST"),
                              (ADMIN, "/v1/score", "POST")):
            code, answer = call(s, verb, path, {} if verb == "POST" else None)
            self.assertEqual(code, 403, path)
            self.assertEqual(error(answer)[1], "ROLE_REQUIRED", path)

    def test_unknown_route_and_verb(self):
        for verb, path in (("GET", "/v1/nothing"), ("DELETE", "/v1/models"),
                           ("GET", "/v1/score"), ("POST", "/v1/models")):
            r = BANK.request(verb, REST + path, timeout=10)
            self.assertEqual(r.status_code, 501, (verb, path))
            self.assertEqual(error(r.json())[:2], (12, "METHOD_NOT_FOUND"))


class StewardAndAdmin(unittest.TestCase):
    def test_grant_score_revoke_erase(self):
        # a citizen of the population with no consent from bank-b for this purpose
        consented = {c for c, _ in scorable(DIR, institution="bank-b")}
        citizen = next(c for c, _ in scorable(DIR) if c not in consented)
        grant = {"citizenId": citizen, "institution": "bank-b", "purpose": "loan-origination",
                 "consentRef": "REST-GRANT-1", "grantedAt": days_from_now(-1) + "T00:00:00Z",
                 "expiresAt": days_from_now(30) + "T00:00:00Z"}
        code, _ = call(STEWARD, "POST", "/v1/consents:grant", grant)
        self.assertEqual(code, 200)
        code, listed = call(STEWARD, "POST", "/v1/consents:list", {"citizenId": citizen})
        self.assertEqual(code, 200)
        mine = [c for c in listed["consents"] if c["institution"] == "bank-b"]
        self.assertEqual([(c["consentRef"], c["state"]) for c in mine],
                         [("REST-GRANT-1", "CONSENT_STATE_VALID")])
        bank_b = session("bank-b")
        code, scored = call(bank_b, "POST", "/v1/score", score_body(citizen, "REST-GRANT-1"))
        self.assertEqual(code, 200)
        code, _ = call(STEWARD, "POST", "/v1/consents:revoke", {
            "citizenId": citizen, "institution": "bank-b", "purpose": "loan-origination"})
        self.assertEqual(code, 200)
        code, answer = call(bank_b, "POST", "/v1/score", score_body(citizen, "REST-GRANT-1"))
        self.assertEqual(code, 403)
        code, inquiries = call(STEWARD, "POST", "/v1/inquiries:list", {"citizenId": citizen})
        self.assertEqual(code, 200)
        ids = [i["inquiryId"] for i in inquiries["inquiries"]]
        self.assertIn(scored["inquiryId"], ids)
        json_format.ParseDict(inquiries, steward_pb2.ListInquiriesResponse())
        code, erased = call(STEWARD, "POST", "/v1/citizens:erase", {"citizenId": citizen})
        self.assertEqual(code, 200)
        code, listed = call(STEWARD, "POST", "/v1/consents:list", {"citizenId": citizen})
        self.assertEqual((code, listed.get("consents", [])), (200, []))

    def test_status_monitor_reload_health(self):
        code, status = call(ADMIN, "GET", "/v1/status")
        self.assertEqual(code, 200)
        parsed = json_format.ParseDict(status, admin_pb2.GetStatusResponse())
        self.assertGreater(parsed.citizens, 0)
        code, reloaded = call(ADMIN, "POST", "/v1/models:reload", {})
        self.assertEqual(code, 200)
        self.assertGreater(int(reloaded["generation"]), int(status["generation"]))
        code, monitor = call(ADMIN, "GET", "/v1/monitor")
        self.assertEqual(code, 200)
        json_format.ParseDict(monitor, admin_pb2.GetMonitorResponse())
        code, health = call(BANK, "GET", "/v1/health", service="tinchap.v1.Scoring")
        self.assertEqual((code, health), (200, {"status": "SERVING"}))
        code, answer = call(BANK, "GET", "/v1/health", service="no.such.Service")
        self.assertEqual((code, error(answer)[0]), (404, 5))


def count(sample):
    """A counter of /metrics; 0 when not shown yet (a failure's is shown once it happened)."""
    try:
        return metric(METRICS, sample)
    except AssertionError:
        return 0


class Accounting(unittest.TestCase):
    def test_rest_calls_are_counted_with_grpc_ones(self):
        name = 'tinchap_requests_total{method="ListModels",status="%s"}'
        before_ok, before_bad = count(name % "OK"), count(name % "UNAUTHENTICATED")
        for _ in range(3):
            self.assertEqual(BANK.get(REST + "/v1/models", timeout=10).status_code, 200)
        self.assertEqual(session("norole").get(REST + "/v1/models", timeout=10).status_code, 401)
        self.assertEqual(count(name % "OK"), before_ok + 3)
        self.assertEqual(count(name % "UNAUTHENTICATED"), before_bad + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
