"""The data steward's writes, as an auditor checks them: a consent granted, replaced and revoked,
a citizen erased, records put; the consent history the steward can list; and replays of stored
answers after a revocation or an erasure, which must be refused exactly like a Score without
consent. Driven by tests/cli/steward.sh, which then reads the steward records of the audit
trail (the expected ones are written to TC_OUT/expected.json).

Environment: TC_PORT, TC_PKI, TC_DIR (data/, models/), TC_OUT.
"""
import csv
import datetime
import json
import os
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, citizen_record, steward_pb2, ts  # noqa: E402

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
OUT = os.environ["TC_OUT"]
PURPOSE, PRODUCT = "loan-origination", "unsecured-consumer"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def consent_rows():
    with open(os.path.join(DIR, "data", "consents.csv"), newline="") as f:
        return list(csv.DictReader(f))


ROWS = consent_rows()
T = now()
SCORABLE = [(r["citizen_id"], r["consent_ref"]) for r in ROWS
            if r["institution"] == "bank-a" and r["purpose"] == PURPOSE and
            not r["revoked_at"] and r["granted_at"] <= T < r["expires_at"]]
BANK_B = {r["citizen_id"] for r in ROWS if r["institution"] == "bank-b"}
EXPIRED = next(r for r in ROWS if r["expires_at"] <= T and not r["revoked_at"])
A_ONLY = [(c, ref) for c, ref in SCORABLE if c not in BANK_B]


def full_record(citizen):
    return citizen_record(os.path.join(DIR, "data", "population.csv"),
                          os.path.join(DIR, "models", "catalog.json"), citizen)

def status_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


class StewardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Client(PORT, PKI, "bank-a")
        cls.st = Client(PORT, PKI, "steward")
        cls.expected = {}

    @classmethod
    def tearDownClass(cls):
        with open(os.path.join(OUT, "expected.json"), "w") as f:
            json.dump(cls.expected, f)

    def score(self, citizen, ref, rid):
        return self.a.score(request_id=rid, citizen_id=citizen, consent_ref=ref, purpose=PURPOSE,
                            product=PRODUCT, loan_amount_vnd=1, loan_term_months=12)

    def no_consent(self):
        """The refusal of a Score without consent: an unknown citizen's."""
        return status_of(lambda: self.score("001085999991", "VNEID-NONE", "nc-%d" % os.getpid()))

    def test_1_replay_after_revocation_and_erasure(self):
        (c, ref), (d, dref) = A_ONLY[0], A_ONLY[1]
        refused = self.no_consent()
        self.assertEqual(refused[0], grpc.StatusCode.PERMISSION_DENIED)
        first = self.score(c, ref, "rv-1")
        self.assertTrue(self.score(c, ref, "rv-1").replayed)  # a retry while consent holds
        self.st.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
            citizen_id=c, institution="bank-a", purpose=PURPOSE), timeout=5)
        self.assertEqual(status_of(lambda: self.score(c, ref, "rv-1")), refused)
        self.score(d, dref, "er-1")
        self.assertTrue(self.st.steward.EraseCitizen(
            steward_pb2.EraseCitizenRequest(citizen_id=d), timeout=5).erased)
        self.assertEqual(status_of(lambda: self.score(d, dref, "er-1")), refused)
        self.expected["revoked"] = c
        self.expected["erased"] = d
        self.assertEqual(len(first.inquiry_id), 24)

    def test_2_consent_history(self):
        c, _ = A_ONLY[2]
        grant = lambda ref: self.st.steward.GrantConsent(steward_pb2.GrantConsentRequest(  # noqa
            citizen_id=c, institution="bank-b", purpose=PURPOSE, consent_ref=ref,
            granted_at=ts(-2), expires_at=ts(300)), timeout=5)
        grant("VNEID-B1")
        grant("VNEID-B2")  # replaces B1, which stays in the history
        self.st.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
            citizen_id=c, institution="bank-a", purpose=PURPOSE), timeout=5)
        got = self.st.steward.ListConsents(steward_pb2.ListConsentsRequest(citizen_id=c),
                                           timeout=5).consents
        states = sorted((e.institution, e.consent_ref, e.state, e.HasField("replaced_at"))
                        for e in got if e.institution in ("bank-a", "bank-b"))
        self.assertEqual(states, sorted([
            ("bank-a", A_ONLY[2][1], steward_pb2.CONSENT_STATE_REVOKED, False),
            ("bank-b", "VNEID-B2", steward_pb2.CONSENT_STATE_VALID, False),
            ("bank-b", "VNEID-B1", steward_pb2.CONSENT_STATE_REPLACED, True)]))
        for e in got:
            self.assertTrue(e.HasField("granted_at") and e.HasField("expires_at"))
            self.assertLess(e.granted_at.seconds, e.expires_at.seconds)
        # an expired consent shows as such
        old = self.st.steward.ListConsents(steward_pb2.ListConsentsRequest(
            citizen_id=EXPIRED["citizen_id"]), timeout=5).consents
        self.assertIn(steward_pb2.CONSENT_STATE_EXPIRED,
                      [e.state for e in old if e.institution == EXPIRED["institution"]])
        # revoking what is not there writes nothing
        self.assertEqual(status_of(lambda: self.st.steward.RevokeConsent(
            steward_pb2.RevokeConsentRequest(citizen_id=c, institution="bank-z",
                                             purpose=PURPOSE), timeout=5))[0],
                         grpc.StatusCode.NOT_FOUND)
        self.expected["history"] = c

    def test_3_put(self):
        e, _ = A_ONLY[3]
        rec = full_record(e)
        resp = self.st.steward.PutCitizens(iter([rec]), timeout=10)
        self.assertEqual((resp.written, resp.unchanged), (0, 1))
        for av in rec.attributes:
            if av.name == "cic_inquiries_6m":
                av.int_value = 7 if av.int_value != 7 else 8
        resp = self.st.steward.PutCitizens(iter([rec]), timeout=10)
        self.assertEqual((resp.written, resp.unchanged), (1, 0))
        self.expected["put"] = e


if __name__ == "__main__":
    unittest.main(verbosity=2)
