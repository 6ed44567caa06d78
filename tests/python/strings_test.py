"""Malformed strings, on every string field of every method's request: a NUL byte, and bytes
that are not UTF-8 (0xff 0xfe), built on the wire since protobuf's own encoders refuse the
latter. Each is refused INVALID_ARGUMENT naming the field; a Score with
"loan-origination\\0marketing" as its purpose is not scored. Driven by tests/cli/strings.sh,
which then checks every line the server logged is one valid UTF-8 JSON object.

Environment: TC_PORT, TC_PKI, TC_DIR (data/consents.csv).
"""
import os
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import (Client, admin_pb2, diagnostics_pb2, health_pb2,  # noqa: E402
                            scorable, scoring_pb2, steward_pb2, text_fields)

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
INVALID = grpc.StatusCode.INVALID_ARGUMENT


CITIZEN, REF = scorable(os.path.join(DIR, "data"))[0]
PLACE = "Q" * 9  # what bad bytes replace on the wire, length for length


def score_request(rid, **kw):
    fields = dict(request_id=rid, citizen_id=CITIZEN, consent_ref=REF,
                  purpose="loan-origination", product="unsecured-consumer",
                  loan_amount_vnd=30000000, loan_term_months=12)
    fields.update(kw)
    return scoring_pb2.ScoreRequest(**fields)


def record(**attr):
    return steward_pb2.CitizenRecord(citizen_id=CITIZEN, attributes=[
        steward_pb2.AttributeValue(**(attr or {"name": "household_size", "int_value": 3}))])


# method path, role's client, request type, streaming, a request to start from
METHODS = [
    ("/tinchap.v1.Scoring/Score", "bank-a", False, lambda: score_request("str-1")),
    ("/tinchap.v1.Scoring/ListModels", "bank-a", False, scoring_pb2.ListModelsRequest),
    ("/tinchap.v1.Scoring/GetModel", "bank-a", False, scoring_pb2.GetModelRequest),
    ("/tinchap.v1.Steward/PutCitizens", "steward", True, record),
    ("/tinchap.v1.Steward/GrantConsent", "steward", False, steward_pb2.GrantConsentRequest),
    ("/tinchap.v1.Steward/RevokeConsent", "steward", False, steward_pb2.RevokeConsentRequest),
    ("/tinchap.v1.Steward/EraseCitizen", "steward", False, steward_pb2.EraseCitizenRequest),
    ("/tinchap.v1.Steward/ListInquiries", "steward", False, steward_pb2.ListInquiriesRequest),
    ("/tinchap.v1.Steward/ListConsents", "steward", False, steward_pb2.ListConsentsRequest),
    ("/tinchap.v1.Admin/ReloadModels", "admin", False, admin_pb2.ReloadModelsRequest),
    ("/tinchap.v1.Admin/GetStatus", "admin", False, admin_pb2.GetStatusRequest),
    ("/tinchap.v1.Diagnostics/Noop", "bank-a", False, diagnostics_pb2.NoopRequest),
    ("/grpc.health.v1.Health/Check", "bank-a", False, health_pb2.HealthCheckRequest),
]


def bad_encodings(make, path):
    """The request with the field at path holding a NUL, then bytes that are not UTF-8."""
    out = []
    for kind in ("NUL", "UTF-8"):
        msg = make()
        setter = dict(text_fields(msg))[path]
        setter("loan\0origin" if kind == "NUL" else PLACE)
        wire = msg.SerializeToString()
        if kind == "UTF-8":
            wire = wire.replace(PLACE.encode(), b"m\xff\xfeodel-1")
        out.append((kind, wire))
    return out


class StringsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clients = {w: Client(PORT, PKI, w) for w in ("bank-a", "steward", "admin")}

    def test_every_string_field_of_every_method(self):
        checked = 0
        for method, who, streaming, make in METHODS:
            for path, _ in text_fields(make()):
                for kind, wire in bad_encodings(make, path):
                    code, details = self.clients[who].send_wire(method, wire, streaming)
                    what = "%s %s with %s" % (method, path, kind)
                    self.assertEqual(code, INVALID, "%s: %s" % (what, details))
                    # a streamed record's fields are named within the stream: records[0].field
                    named = "records[0].%s" % path if streaming else path
                    named = named.replace("attributes.", "attributes[0].")  # the one repeated
                    self.assertIn("field '%s'" % named, details, what)
                    self.assertIn("NUL byte" if kind == "NUL" else "not valid UTF-8", details,
                                  what)
                    checked += 1
        # every string field of the public requests, twice: a method or field that lost its
        # check would have to drop out of the walk to pass
        self.assertGreaterEqual(checked, 2 * 23)  # times are Timestamps, not strings

    def test_the_purpose_is_not_cut_at_a_nul(self):
        a = self.clients["bank-a"]
        nul = score_request("str-nul", purpose="loan-origination\0marketing")
        code, details = a.send_wire("/tinchap.v1.Scoring/Score", nul.SerializeToString())
        self.assertEqual((code, details), (INVALID, "field 'purpose' holds a NUL byte"))
        # the same request without the NUL is scored: the refusal was the NUL's
        self.assertEqual(a.scoring.Score(score_request("str-ok"), timeout=10).request_id,
                         "str-ok")

    def test_a_model_name_that_is_not_utf8(self):
        wire = score_request("str-ff", model_name=PLACE).SerializeToString()
        code, details = self.clients["bank-a"].send_wire(
            "/tinchap.v1.Scoring/Score", wire.replace(PLACE.encode(), b"m\xff\xfeodel-1"))
        self.assertEqual((code, details), (INVALID, "field 'model_name' is not valid UTF-8"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
