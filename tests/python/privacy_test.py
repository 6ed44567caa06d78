"""A citizen ID put in every text field of every method, as an attacker (or a careless consent
system) would: the service keeps none of them in the clear. tests/cli/privacy.sh then searches
every file under the service's directories, its log, its metrics and what tinchap audit, get
and call print, for the IDs used here.

Also what must keep working: a consent reference that embeds the citizen's ID still matches on
Score; a request ID of any UUID form, or of 64 digits, is accepted, replayed on retry, and found
again by `tinchap audit --request-id` (the IDs and their inquiry IDs go to TC_OUT/requests.tsv).

Environment: TC_PORT, TC_PKI, TC_DIR (data/, models/), TC_OUT (a directory: planted IDs in
planted, request IDs in requests.tsv).
"""
import csv
import json
import os
import re
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import (Client, admin_pb2, citizen_record, ts,  # noqa: E402
                            diagnostics_pb2, health_pb2, scorable, scoring_pb2, steward_pb2,
                            text_fields)

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
OUT = os.environ["TC_OUT"]
DIGITS12 = re.compile(r"[0-9]{12}")
(CITIZEN, REF), (OTHER, OTHER_REF) = scorable(os.path.join(DIR, "data"))[:2]
with open(os.path.join(DIR, "data", "population.csv"), newline="") as f:
    LOADED = {r["citizen_id"] for r in csv.DictReader(f)}
UNKNOWN = next("001085%06d" % n for n in range(900000, 999999) if "001085%06d" % n not in LOADED)
with open(os.path.join(OUT, "planted"), "w") as f:
    f.write("%s\n%s\n%s\n" % (CITIZEN, OTHER, UNKNOWN))


def champion():
    for name in sorted(os.listdir(os.path.join(DIR, "models"))):
        if name.endswith(".json") and name not in ("catalog.json", "reasons.json"):
            with open(os.path.join(DIR, "models", name)) as f:
                doc = json.load(f)
            if doc.get("status") == "champion":
                return doc["name"]
    raise AssertionError("no champion")


def full_record(citizen):
    return citizen_record(os.path.join(DIR, "data", "population.csv"),
                          os.path.join(DIR, "models", "catalog.json"), citizen)

_n = [0]


def rid():
    _n[0] += 1
    return "priv-%d-%d" % (os.getpid(), _n[0])


# every method: path, caller, client streaming, a valid request to start from
METHODS = [
    ("/tinchap.v1.Scoring/Score", "bank-a", False, lambda: scoring_pb2.ScoreRequest(
        request_id=rid(), citizen_id=CITIZEN, consent_ref=REF, purpose="loan-origination",
        product="unsecured-consumer", loan_amount_vnd=1, loan_term_months=12)),
    ("/tinchap.v1.Scoring/ListModels", "bank-a", False,
     lambda: scoring_pb2.ListModelsRequest(product="unsecured-consumer")),
    ("/tinchap.v1.Scoring/GetModel", "bank-a", False,
     lambda: scoring_pb2.GetModelRequest(name=champion())),
    ("/tinchap.v1.Steward/PutCitizens", "steward", True, lambda: full_record(CITIZEN)),
    ("/tinchap.v1.Steward/GrantConsent", "steward", False, lambda: steward_pb2.GrantConsentRequest(
        citizen_id=CITIZEN, institution="bank-c", purpose="loan-origination",
        consent_ref="VNEID-C1", granted_at=ts(-1), expires_at=ts(365))),
    ("/tinchap.v1.Steward/RevokeConsent", "steward", False,
     lambda: steward_pb2.RevokeConsentRequest(citizen_id=CITIZEN, institution="bank-c",
                                              purpose="loan-origination")),
    ("/tinchap.v1.Steward/EraseCitizen", "steward", False,
     lambda: steward_pb2.EraseCitizenRequest(citizen_id=UNKNOWN)),
    ("/tinchap.v1.Steward/ListInquiries", "steward", False,
     lambda: steward_pb2.ListInquiriesRequest(citizen_id=CITIZEN)),
    ("/tinchap.v1.Steward/ListConsents", "steward", False,
     lambda: steward_pb2.ListConsentsRequest(citizen_id=CITIZEN)),
    ("/tinchap.v1.Admin/ReloadModels", "admin", False, admin_pb2.ReloadModelsRequest),
    ("/tinchap.v1.Admin/GetStatus", "admin", False, admin_pb2.GetStatusRequest),
    ("/tinchap.v1.Diagnostics/Noop", "bank-a", False, diagnostics_pb2.NoopRequest),
    ("/grpc.health.v1.Health/Check", "bank-a", False, health_pb2.HealthCheckRequest),
]


class PrivacyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = {w: Client(PORT, PKI, w) for w in ("bank-a", "bank-b", "steward", "admin")}

    def test_1_an_id_in_every_text_field_of_every_method(self):
        sent = 0
        for method, who, streaming, make in METHODS:
            for path, _ in text_fields(make()):
                for planted in (CITIZEN, UNKNOWN):
                    msg = make()
                    dict(text_fields(msg))[path](path.replace(".", "-") + "-" + planted)
                    code, details = self.c[who].send_wire(method, msg.SerializeToString(),
                                                          streaming)
                    self.assertIsNone(DIGITS12.search(details), "%s %s: %s" % (method, path,
                                                                               details))
                    # nor in the structured details of the refusal (reason, fields, metadata)
                    self.assertIsNone(DIGITS12.search(repr(self.c[who].last_error)),
                                      "%s %s: %s" % (method, path, self.c[who].last_error))
                    sent += 1
        # every text field of every method, twice: times are Timestamps now, not text
        self.assertGreaterEqual(sent, 2 * 23)

    def test_2_a_consent_reference_that_embeds_the_id(self):
        st, b = self.c["steward"], self.c["bank-b"]
        ref = "CCCD-" + OTHER
        st.steward.GrantConsent(steward_pb2.GrantConsentRequest(
            citizen_id=OTHER, institution="bank-b", purpose="loan-origination", consent_ref=ref,
            granted_at=ts(-1), expires_at=ts(365)), timeout=5)
        fields = dict(citizen_id=OTHER, purpose="loan-origination", product="unsecured-consumer")
        r = b.score(request_id=rid(), consent_ref=ref, **fields)
        self.assertEqual(len(r.inquiry_id), 24)
        # another citizen's ID in the reference, or the reference as kept (redacted): refused
        for wrong in ("CCCD-" + UNKNOWN, "CCCD-############"):
            with self.assertRaises(grpc.RpcError) as e:
                b.score(request_id=rid(), consent_ref=wrong, **fields)
            self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

    def test_3_request_ids_of_any_form(self):
        a = self.c["bank-a"]
        ids = [
            "req-" + CITIZEN,                                   # an ID, embedded
            "3f2c9a7b123456789012445566778899",                 # uuid4().hex, a 12-digit run
            "3f2c9a7b-1234-4567-8901-234567890123",             # str(uuid4()), a 12-digit group
            "3F2C9A7B-1234-4567-8901-ABCDEF012345",             # upper case
            "{3f2c9a7b-1234-4567-8901-234567890124}",           # braced (Windows GUID)
            "urn:uuid:3f2c9a7b-1234-4567-8901-234567890125",    # RFC 4122 URN
            "1" * 64,                                           # the longest, all digits
        ]
        with open(os.path.join(OUT, "requests.tsv"), "w") as f:
            for r_id in ids:
                first = a.score(request_id=r_id, citizen_id=CITIZEN, consent_ref=REF,
                                purpose="loan-origination", product="unsecured-consumer")
                again = a.score(request_id=r_id, citizen_id=CITIZEN, consent_ref=REF,
                                purpose="loan-origination", product="unsecured-consumer")
                self.assertEqual((first.request_id, first.replayed), (r_id, False))
                self.assertEqual((again.request_id, again.replayed, again.inquiry_id),
                                 (r_id, True, first.inquiry_id))
                f.write("%s\t%s\n" % (r_id, first.inquiry_id))


if __name__ == "__main__":
    unittest.main(verbosity=2)
