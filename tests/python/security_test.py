"""What a client gets back, looked at as an attacker would: an answer carries no attribute value
and nothing but the documented fields, and no error message, whatever field a citizen ID was
put in, echoes its digits. Driven by tests/cli/security.sh, which then searches everything the
server wrote for the IDs used here.

Environment: TC_PORT, TC_PKI, TC_DIR (data/*.csv, models/), TC_PLANTED (a file: one ID per line
that this script puts in requests; the caller adds them to its search).
"""
import csv
import datetime
import json
import os
import re
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import (Client, admin_pb2, health_pb2, ts,  # noqa: E402
                            scoring_pb2, steward_pb2)

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
DIGITS12 = re.compile(r"[0-9]{12}")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def scorable():
    """A citizen with a bank-a loan-origination consent valid now: (id, consent_ref)."""
    t = now()
    with open(os.path.join(DIR, "data", "consents.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if (r["institution"] == "bank-a" and r["purpose"] == "loan-origination" and
                    not r["revoked_at"] and r["granted_at"] <= t < r["expires_at"]):
                return r["citizen_id"], r["consent_ref"]
    raise AssertionError("no scorable citizen")


def loaded_ids():
    with open(os.path.join(DIR, "data", "population.csv"), newline="") as f:
        return {r["citizen_id"] for r in csv.DictReader(f)}


CITIZEN, REF = scorable()
LOADED = loaded_ids()
# a well-formed ID (province 001, born 1985, male) that nobody loaded
UNKNOWN = next("001085%06d" % n for n in range(900000, 999999) if "001085%06d" % n not in LOADED)
with open(os.environ["TC_PLANTED"], "w") as f:
    f.write("%s\n%s\n" % (CITIZEN, UNKNOWN))


def status_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details() or ""
    return grpc.StatusCode.OK, ""


def score_request(**extra):
    fields = dict(request_id="sec-%d" % os.getpid(), citizen_id=CITIZEN, consent_ref=REF,
                  purpose="loan-origination", product="unsecured-consumer",
                  loan_amount_vnd=30000000, loan_term_months=12)
    fields.update(extra)
    return scoring_pb2.ScoreRequest(**fields)


class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Client(PORT, PKI, "bank-a")
        cls.steward = Client(PORT, PKI, "steward")
        cls.counter = 0

    def rid(self):
        SecurityTest.counter += 1
        return "sec-%d-%d" % (os.getpid(), SecurityTest.counter)

    def test_answer_has_only_documented_fields(self):
        r = self.a.scoring.Score(score_request(request_id=self.rid()), timeout=10)
        allowed = {"request_id", "inquiry_id", "score", "pd", "pd_low", "pd_high", "grade",
                   "grade_label_vi", "grade_label_en", "reasons", "model_name",
                   "model_version", "scored_at", "replayed"}
        self.assertLessEqual({f.name for f, _ in r.ListFields()}, allowed)
        self.assertEqual(len(r.UnknownFields()), 0)
        # reasons are the dictionary's fixed texts: no value of the citizen is spliced in
        with open(os.path.join(DIR, "models", "reasons.json")) as f:
            texts = {c["code"]: (c["vi"], c["en"]) for c in json.load(f)["codes"]}
        self.assertGreater(len(r.reasons), 0)
        for x in r.reasons:
            self.assertLessEqual({f.name for f, _ in x.ListFields()},
                                 {"code", "text_vi", "text_en", "points_lost"})
            self.assertEqual((x.text_vi, x.text_en), texts[x.code])
        wire = r.SerializeToString()
        self.assertNotIn(CITIZEN.encode(), wire)
        # the inquiry ID is 24 random hex digits, 12 of them decimal in a row about once in 20
        self.assertRegex(r.inquiry_id, "^[0-9a-f]{24}$")
        r.inquiry_id = ""
        self.assertIsNone(DIGITS12.search(r.SerializeToString().decode("latin-1")))

    def check_refusal(self, what, code, fn):
        got, details = status_of(fn)
        self.assertEqual(got, code, "%s: %s" % (what, details))
        self.assertNotIn(CITIZEN, details, what)
        self.assertNotIn(UNKNOWN, details, what)
        self.assertIsNone(DIGITS12.search(details), "%s echoes 12 digits: %s" % (what, details))
        return details

    def test_errors_never_echo_an_id(self):
        a, st = self.a, self.steward
        inv, den, nf = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.NOT_FOUND)
        score = lambda **kw: a.scoring.Score(score_request(**kw), timeout=10)  # noqa: E731
        cases = [
            ("citizen ID one digit too long", inv, lambda: score(
                request_id=self.rid(), citizen_id=CITIZEN + "0")),
            ("citizen ID with a letter", inv, lambda: score(
                request_id=self.rid(), citizen_id=CITIZEN[:11] + "x")),
            ("unknown citizen", den, lambda: score(request_id=self.rid(), citizen_id=UNKNOWN)),
            # a request ID may hold any digits (what is kept of it is redacted or hashed)
            ("ID in request_id", grpc.StatusCode.OK, lambda: score(request_id="r-" + CITIZEN)),
            ("ID in purpose", inv, lambda: score(request_id=self.rid(), purpose="p" + CITIZEN)),
            ("ID in product", inv, lambda: score(request_id=self.rid(), product=CITIZEN)),
            ("ID in model_name", inv, lambda: score(request_id=self.rid(),
                                                    model_name="m" + CITIZEN)),
            ("ID in an unknown method", grpc.StatusCode.UNIMPLEMENTED, lambda: a.raw(
                "/tinchap.v1.Scoring/" + CITIZEN)),
            ("ID as a model to describe", nf, lambda: a.scoring.GetModel(
                scoring_pb2.GetModelRequest(name="m-" + CITIZEN), timeout=5)),
            ("ID as a health service", nf, lambda: a.health("svc" + CITIZEN)),
            ("steward: bad ID", inv, lambda: st.steward.EraseCitizen(
                steward_pb2.EraseCitizenRequest(citizen_id=CITIZEN + "1"), timeout=5)),
            ("steward: ID as an institution", inv, lambda: st.steward.GrantConsent(
                steward_pb2.GrantConsentRequest(
                    citizen_id=CITIZEN, institution="bank-" + CITIZEN, purpose="loan-origination",
                    consent_ref="R1", granted_at=ts(-1), expires_at=ts(365)), timeout=5)),
            ("steward: revoke what is not there", nf, lambda: st.steward.RevokeConsent(
                steward_pb2.RevokeConsentRequest(citizen_id=UNKNOWN, institution="bank-a",
                                                 purpose="loan-origination"), timeout=5)),
            ("steward: inquiries, bad ID", inv, lambda: st.steward.ListInquiries(
                steward_pb2.ListInquiriesRequest(citizen_id="x" + CITIZEN), timeout=5)),
            ("scorer calling Steward", den, lambda: a.steward.EraseCitizen(
                steward_pb2.EraseCitizenRequest(citizen_id=CITIZEN), timeout=5)),
            ("scorer calling Admin", den, lambda: a.admin.GetStatus(
                admin_pb2.GetStatusRequest(), timeout=5)),
        ]
        for what, code, fn in cases:
            self.check_refusal(what, code, fn)

        # PutCitizens: an ID as a category level and as an attribute name, quoted back
        with open(os.path.join(DIR, "models", "catalog.json")) as f:
            catalog = json.load(f)

        def record(name_override=None, level_override=None):
            with open(os.path.join(DIR, "data", "population.csv"), newline="") as f:
                row = next(r for r in csv.DictReader(f) if r["citizen_id"] == CITIZEN)
            attrs = []
            for at in catalog["attributes"]:
                v = row[at["name"]]
                av = steward_pb2.AttributeValue(name=at["name"])
                if v == "":
                    av.missing = True
                elif at["type"] == "int":
                    av.int_value = int(v)
                elif at["type"] == "real":
                    av.real_value = float(v)
                elif at["type"] == "bool":
                    av.bool_value = v in ("1", "true")
                else:
                    av.level = level_override or v
                attrs.append(av)
            if name_override:
                attrs[0].name = name_override
            return steward_pb2.CitizenRecord(citizen_id=CITIZEN, attributes=attrs)

        d = self.check_refusal("ID as a category level", inv, lambda: st.steward.PutCitizens(
            iter([record(level_override="lv" + UNKNOWN)]), timeout=10))
        self.assertIn("not a level of this category", d)
        d = self.check_refusal("ID as an attribute name", inv, lambda: st.steward.PutCitizens(
            iter([record(name_override="a" + UNKNOWN)]), timeout=10))
        self.assertIn("is not in catalog", d)

    def test_health_needs_no_role_but_a_certificate(self):
        self.assertEqual(self.a.health().status, health_pb2.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    unittest.main(verbosity=2)
