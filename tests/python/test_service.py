"""tinchapd over the wire, from a Python grpcio client: every RPC, every status, probe
resistance, request-ID replay, concurrency with exactly-once audit, and a reload with a bad model.

Environment (set by tests/cli/service.sh, which starts the server):
  TC_PORT        the server's port            TC_PKI    the test PKI directory
  TC_DIR         secret, db, data/*.csv       TC_SERVING_MODELS  the server's models directory
  TINCHAP        the tinchap binary           TC_SERVER_PID      the server's pid
"""
import csv
import datetime
import json
import math
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

import grpc

from service_client import (Client, admin_pb2, citizen_record, error_details, scoring_pb2,
                            steward_pb2, ts)

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
TINCHAP = os.environ["TINCHAP"]
MODELS = os.environ["TC_SERVING_MODELS"]
PURPOSE = "loan-origination"
PRODUCT = "unsecured-consumer"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_time(t):
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def consents():
    """Consents by citizen: {id: {institution: row}}."""
    out = {}
    with open(os.path.join(DIR, "data", "consents.csv"), newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["citizen_id"], {})[row["institution"]] = row
    return out


def valid(row, at=None):
    at = at or now()
    if parse_time(row["granted_at"]) > at or parse_time(row["expires_at"]) <= at:
        return False
    return not row["revoked_at"] or parse_time(row["revoked_at"]) > at


CONSENTS = consents()
# citizens whose bank-a consent is valid now and who have no bank-b consent at all
A_ONLY = [c for c, by in sorted(CONSENTS.items())
          if "bank-a" in by and valid(by["bank-a"]) and "bank-b" not in by]
# citizens with a bank-a consent that expired, and one that was revoked
EXPIRED = [c for c, by in sorted(CONSENTS.items())
           if "bank-a" in by and parse_time(by["bank-a"]["expires_at"]) <= now()]
REVOKED = [c for c, by in sorted(CONSENTS.items())
           if "bank-a" in by and by["bank-a"]["revoked_at"]]


def champion_file():
    for name in sorted(os.listdir(MODELS)):
        if name.endswith(".json") and name not in ("catalog.json", "reasons.json"):
            with open(os.path.join(MODELS, name)) as f:
                doc = json.load(f)
            if doc.get("status") == "champion" and doc.get("product") == PRODUCT:
                return os.path.join(MODELS, name)
    raise AssertionError("no champion model for " + PRODUCT)


def explain(citizen):
    env = dict(os.environ, TINCHAP_KEY=os.path.join(DIR, "secret"))
    out = subprocess.run([TINCHAP, "explain", "--model", champion_file(), "--db",
                          os.path.join(DIR, "db"), citizen], check=True, capture_output=True,
                         env=env)
    return json.loads(out.stdout)


_counter = iter(range(1, 1 << 40))
_counter_lock = threading.Lock()


def new_request_id():
    """Unique per test run."""
    with _counter_lock:
        n = next(_counter)
    return "t-%d-%d-%d" % (os.getpid(), int(time.time()) % 100000, n)


def request(citizen, institution="bank-a", rid=None, **extra):
    row = CONSENTS.get(citizen, {}).get(institution)
    fields = dict(request_id=rid or new_request_id(),
                  citizen_id=citizen, consent_ref=row["consent_ref"] if row else "VNEID-NONE",
                  purpose=PURPOSE, product=PRODUCT, loan_amount_vnd=30000000, loan_term_months=12)
    fields.update(extra)
    return fields


def status_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


def refusal(fn):
    """(code, message, the google.rpc.Status's details as service_client.error_details reads
    them, and the raw trailer bytes) of a call that fails."""
    try:
        fn()
    except grpc.RpcError as e:
        raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
        return e.code(), e.details(), error_details(e), raw
    raise AssertionError("the call succeeded")


def full_record(citizen):
    """The citizen's attribute record as loaded, as a CitizenRecord message."""
    return citizen_record(os.path.join(DIR, "data", "population.csv"),
                          os.path.join(MODELS, "catalog.json"), citizen)


class ServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Client(PORT, PKI, "bank-a")
        cls.b = Client(PORT, PKI, "bank-b")
        cls.steward = Client(PORT, PKI, "steward")
        cls.admin = Client(PORT, PKI, "admin")

    def test_01_health(self):
        for c in (self.a, self.steward):
            self.assertEqual(c.health().status, 1)  # SERVING
        self.assertEqual(status_of(lambda: self.a.health("no.such.Service"))[0],
                         grpc.StatusCode.NOT_FOUND)
        # Watch, for client-side health checking: the status at once, the stream kept open;
        # an unknown service is SERVICE_UNKNOWN on the stream, as the protocol asks
        for service, want in (("tinchap.v1.Scoring", 1), ("no.such.Service", 3)):
            stream = self.a.watch(service)
            self.assertEqual(next(stream).status, want)
            stream.cancel()

    def test_02_score_matches_explain(self):
        for citizen in A_ONLY[:5]:
            r = self.a.score(**request(citizen))
            e = explain(citizen)
            self.assertAlmostEqual(r.score, e["score"], places=9)
            self.assertEqual(r.pd, e["pd"])
            self.assertEqual([r.pd_low, r.pd_high], e["pd_interval_95"])
            self.assertEqual(r.grade, e["grade"]["grade"])
            self.assertEqual(r.grade_label_en, e["grade"]["en"])
            self.assertEqual([(x.code, x.points_lost, x.text_vi) for x in r.reasons],
                             [(x["code"], x["points_lost"], x["vi"]) for x in e["reasons"]])
            self.assertEqual(r.model_name, e["model"]["name"])
            self.assertEqual(r.model_version, e["model"]["version"])
            self.assertTrue(r.pd_low <= r.pd <= r.pd_high)
            self.assertEqual(len(r.inquiry_id), 24)
            self.assertFalse(r.replayed)
            self.assertGreater(r.scored_at.seconds, 1.7e9)
            self.assertEqual(r.scored_at.nanos % 1000, 0)  # microseconds
            # least data: the answer carries no attribute values and no ID
            self.assertNotIn(citizen.encode(), r.SerializeToString())

    def test_03_models(self):
        models = self.a.scoring.ListModels(scoring_pb2.ListModelsRequest(), timeout=5)
        champions = [m for m in models.models if m.status == scoring_pb2.MODEL_STATUS_CHAMPION]
        self.assertEqual(len(champions), 1)
        self.assertEqual(champions[0].kind, scoring_pb2.MODEL_KIND_SCORECARD)
        self.assertGreaterEqual(models.generation, 1)
        d = self.a.scoring.GetModel(scoring_pb2.GetModelRequest(name=champions[0].name), timeout=5)
        self.assertEqual(d.summary.name, champions[0].name)
        with open(champion_file()) as f:
            doc = json.load(f)
        with open(os.path.join(MODELS, "catalog.json")) as f:
            catalog = {a["name"]: a for a in json.load(f)["attributes"]}
        self.assertEqual(d.summary.created_at.ToDatetime(),
                         datetime.datetime.fromisoformat(doc["created_at"]))
        self.assertNotIn("gender", [c.attribute for c in d.characteristics])
        codes = {r.code for r in d.reasons}
        # the whole scorecard: every bin with its points, values and unit, as the file has it
        self.assertEqual([c.attribute for c in d.characteristics],
                         [c["attribute"] for c in doc["characteristics"]])
        for c, fc in zip(d.characteristics, doc["characteristics"]):
            attr = catalog[c.attribute]
            self.assertIn(c.reason_code, codes)
            self.assertEqual(c.unit, attr.get("unit", ""))
            self.assertEqual(c.label, fc.get("label") or attr["description"]["en"])
            self.assertEqual(c.coefficient, fc["coefficient"])
            self.assertEqual([b.points for b in c.bins], [b["points"] for b in fc["bins"]])
            self.assertEqual(c.max_points, max(b["points"] for b in fc["bins"]))
            for b, fb in zip(c.bins, fc["bins"]):
                if "levels" in fb:
                    self.assertEqual(b.kind, scoring_pb2.BIN_KIND_LEVELS)
                    self.assertEqual(list(b.levels), [str(v).lower() for v in fb["levels"]])
                elif fb.get("missing"):
                    self.assertEqual((b.kind, b.description), (scoring_pb2.BIN_KIND_MISSING,
                                                               "missing"))
                elif "special" in fb:
                    self.assertEqual(list(b.special_values), fb["special"])
                else:
                    self.assertEqual(b.kind, scoring_pb2.BIN_KIND_INTERVAL)
                    self.assertEqual((b.has_lower, b.has_upper),
                                     (fb.get("lower") is not None, fb.get("upper") is not None))
                    self.assertEqual((b.lower, b.upper), (fb.get("lower") or 0,
                                                          fb.get("upper") or 0))
                    if attr.get("unit"):
                        self.assertTrue(b.description.endswith(" " + attr["unit"]), b.description)
        # every grade with the PD range its scores imply through the scaling
        sc = doc["scaling"]
        factor = sc["pdo"] / math.log(2)
        offset = sc["points"] - factor * math.log(sc["odds"])

        def pd_at(score):
            return 1 / (1 + math.exp(-(offset - score) / factor))
        self.assertEqual([g.grade for g in d.grades], [g["grade"] for g in doc["grades"]])
        for i, (g, fg) in enumerate(zip(d.grades, doc["grades"])):
            top = doc["score_bounds"]["max"] if i == 0 else doc["grades"][i - 1]["min_score"]
            self.assertEqual((g.min_score, g.max_score), (fg["min_score"], top))
            self.assertAlmostEqual(g.pd_low, 0 if i == 0 else pd_at(top), delta=1e-12)
            self.assertAlmostEqual(g.pd_high, 1 if i == len(d.grades) - 1
                                   else pd_at(fg["min_score"]), delta=1e-12)
            self.assertLess(g.pd_low, g.pd_high)
        # the file's model card as typed fields, for a bank's model-risk review
        card, fcard = d.model_card, doc["model_card"]
        self.assertEqual(card.intended_use, fcard["intended_use"])
        self.assertEqual(list(card.limitations), fcard["limitations"])
        td = fcard["training_data"]
        self.assertEqual((card.training_data.rows, card.training_data.events),
                         (td["rows"], td["events"]))
        self.assertEqual(card.training_data.to.ToDatetime().date().isoformat(), td["to"])
        for name in ("development", "validation"):
            got, want = getattr(card.validation, name), fcard["validation"][name]
            self.assertEqual((got.rows, got.auc, got.gini, got.ks, got.brier),
                             (want["rows"], want["auc"], want["gini"], want["ks"], want["brier"]))
            self.assertEqual((got.has_hl_p, got.hl_p), ("hl_p" in want, want.get("hl_p", 0)))
        self.assertEqual(card.validation.psi_score, fcard["validation"]["psi_score"])

    def test_04_probe_resistance(self):
        """An unknown citizen and one without consent are indistinguishable, details and all."""
        unknown = "001099" + "987654"  # a valid ID nobody in the database has
        self.assertNotIn(unknown, CONSENTS)
        no_consent = A_ONLY[10]  # known, consented to bank-a only
        st_unknown = refusal(lambda: self.b.score(**request(unknown, "bank-b")))
        st_other = refusal(lambda: self.b.score(**request(no_consent, "bank-b")))
        self.assertEqual(st_unknown[0], grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(st_unknown[2]["reason"], "CONSENT_NOT_VALID")
        self.assertEqual(st_unknown[2]["domain"], "tinchap.v1")
        # byte for byte: the trailer a client could compare is the same
        self.assertEqual(st_unknown, st_other)
        # bank-b presenting bank-a's consent reference: the same answer
        row = CONSENTS[no_consent]["bank-a"]
        st_borrowed = refusal(lambda: self.b.score(**request(
            no_consent, "bank-b", consent_ref=row["consent_ref"])))
        self.assertEqual(st_borrowed, st_unknown)
        # a wrong consent reference
        st_ref = refusal(lambda: self.a.score(**request(no_consent, consent_ref="VNEID-WRONG")))
        self.assertEqual(st_ref, st_unknown)
        # another purpose
        st_purpose = refusal(lambda: self.a.score(**request(no_consent, purpose="marketing")))
        self.assertEqual(st_purpose, st_unknown)

    def test_05_expired_and_revoked(self):
        self.assertTrue(EXPIRED and REVOKED)
        for c in EXPIRED[:2] + REVOKED[:2]:
            if "bank-b" in CONSENTS[c] and valid(CONSENTS[c]["bank-b"]):
                pass  # still loaded through bank-b; bank-a must be refused all the same
            st = status_of(lambda: self.a.score(**request(c)))
            self.assertEqual(st[0], grpc.StatusCode.PERMISSION_DENIED, c)
        # revoke now through the Steward API: the next Score is refused
        c = A_ONLY[20]
        self.assertEqual(status_of(lambda: self.a.score(**request(c)))[0], grpc.StatusCode.OK)
        self.steward.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
            citizen_id=c, institution="bank-a", purpose=PURPOSE), timeout=5)
        self.assertEqual(status_of(lambda: self.a.score(**request(c)))[0],
                         grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(status_of(lambda: self.steward.steward.RevokeConsent(
            steward_pb2.RevokeConsentRequest(citizen_id=c, institution="bank-z", purpose=PURPOSE),
            timeout=5))[0], grpc.StatusCode.NOT_FOUND)

    def test_06_validation(self):
        c = A_ONLY[0]
        cases = [
            (dict(citizen_id="12345"), "citizen_id", "citizen ID must be 12 digits, got 5 characters"),
            (dict(citizen_id="003085000001"), "citizen_id", "citizen ID digits 1-3 are not a province code"),
            (dict(request_id=""), "request_id", "is required"),
            (dict(request_id="app 1"), "request_id", "may hold only A-Z a-z 0-9 . _ : - { }"),
            (dict(purpose="Loan Origination"), "purpose", None),
            (dict(product=""), "product", None),
            (dict(max_reasons=9), "max_reasons", "9 is more than 8"),
            (dict(loan_amount_vnd=-1), "loan_amount_vnd", "must not be negative"),
            (dict(loan_amount_vnd=10000000001), "loan_amount_vnd",
             "10,000,000,001 is more than 10,000,000,000 VND"),
            (dict(model_version=2), "model_version", None),
        ]
        for extra, field, why in cases:
            code, details, d, _ = refusal(lambda: self.a.score(**request(c, **extra)))
            self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, extra)
            self.assertEqual(d["reason"], "INVALID_REQUEST")
            self.assertEqual(len(d["violations"]), 1, d)
            self.assertEqual(d["violations"][0][0], field)
            if why is not None:
                self.assertEqual(d["violations"][0][1], why)
                self.assertIn("field '%s'" % field, details)
                self.assertTrue(details.endswith(why), details)
            self.assertNotIn(c, details)
        # every bad field, not just the first
        code, details, d, _ = refusal(lambda: self.a.score(**request(
            c, citizen_id="12345", purpose="Loan Origination", max_reasons=9, loan_term_months=601)))
        self.assertEqual([f for f, _ in d["violations"]],
                         ["citizen_id", "purpose", "max_reasons", "loan_term_months"])
        self.assertTrue(details.startswith("4 fields are wrong"), details)
        # a retired model: still there, no longer scoring
        with open(os.path.join(MODELS, "unsecured-consumer-v1.json")) as f:
            retired = json.load(f)
        self.assertEqual(retired["status"], "retired")
        code, details, d, _ = refusal(lambda: self.a.score(**request(
            c, model_name=retired["name"], model_version=retired["version"],
            product=retired["product"])))
        self.assertEqual((code, d["reason"]), (grpc.StatusCode.FAILED_PRECONDITION, "MODEL_RETIRED"))
        self.assertIn("retired", details)
        code, _, d, _ = refusal(lambda: self.a.score(**request(c, product="mortgage")))
        self.assertEqual((code, d["reason"], d["metadata"]),
                         (grpc.StatusCode.NOT_FOUND, "PRODUCT_HAS_NO_CHAMPION",
                          {"product": "mortgage"}))
        code, _, d, _ = refusal(lambda: self.a.score(**request(c, model_name="no-such-model")))
        self.assertEqual((code, d["reason"]), (grpc.StatusCode.NOT_FOUND, "MODEL_NOT_FOUND"))
        # an empty message: the request was not sent at all
        code, _ = status_of(lambda: self.a.raw("/tinchap.v1.Scoring/Score", b"\xff\xff\xff"))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)

    def test_07_roles_and_identity(self):
        c = A_ONLY[1]
        code, details = status_of(lambda: self.a.steward.EraseCitizen(
            steward_pb2.EraseCitizenRequest(citizen_id=c), timeout=5))
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("needs the steward role", details)
        self.assertEqual(status_of(lambda: self.steward.score(**request(c)))[0],
                         grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(status_of(lambda: self.a.admin.GetStatus(
            admin_pb2.GetStatusRequest(), timeout=5))[0], grpc.StatusCode.PERMISSION_DENIED)
        # a certificate from the right CA for an identity the server does not know
        unknown = Client(PORT, PKI, "norole")
        code, details = status_of(lambda: unknown.score(**request(c)))
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        unknown.close()
        # no certificate, a certificate of another CA, an expired one: no TLS session at all
        for who in (None, "rogue", "expired"):
            cl = Client(PORT, PKI, who)
            code, _ = status_of(lambda: cl.score(timeout=3, **request(c)))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, who)
            cl.close()

    def test_08_limits(self):
        c = A_ONLY[2]
        big = "x" * (2 << 20)
        code, _ = status_of(lambda: self.a.score(**request(c, consent_ref=big)))
        self.assertEqual(code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        # a client that lets its deadline pass mid-call: a stream it never finishes. The record
        # it did send must not be written.
        before = self.a.score(**request(c))
        changed = full_record(c)
        for av in changed.attributes:
            if av.name == "cic_inquiries_6m":
                av.int_value = 20

        def slow_stream():
            yield changed
            time.sleep(1.0)

        code, _ = status_of(lambda: self.steward.steward.PutCitizens(slow_stream(), timeout=0.3))
        self.assertEqual(code, grpc.StatusCode.DEADLINE_EXCEEDED)
        time.sleep(0.2)
        self.assertEqual(self.a.score(**request(c)).score, before.score)
        # answered, not left to hang until the deadline (which would be DEADLINE_EXCEEDED)
        code, details = status_of(lambda: self.a.raw("/tinchap.v1.Scoring/Nothing"))
        self.assertEqual(code, grpc.StatusCode.UNIMPLEMENTED)
        # the server is still fine
        self.assertEqual(status_of(lambda: self.a.score(**request(c)))[0], grpc.StatusCode.OK)

    def test_09_replay(self):
        c = A_ONLY[3]
        before = self.admin.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5).inquiries
        rid = "replay-" + new_request_id()
        first = self.a.score(**request(c, rid=rid))
        again = self.a.score(**request(c, rid=rid))
        self.assertFalse(first.replayed)
        self.assertTrue(again.replayed)
        self.assertEqual(again.inquiry_id, first.inquiry_id)
        self.assertEqual(again.score, first.score)
        self.assertEqual(again.scored_at, first.scored_at)
        # another institution may use the same request_id for its own request
        other = A_ONLY[4]
        self.steward.steward.GrantConsent(steward_pb2.GrantConsentRequest(
            citizen_id=other, institution="bank-b", purpose=PURPOSE, consent_ref="VNEID-B-GRANT",
            granted_at=ts(-1), expires_at=ts(365)), timeout=5)
        r = self.b.score(**dict(request(other, rid=rid), consent_ref="VNEID-B-GRANT"))
        self.assertFalse(r.replayed)
        # the same request_id for a different request is refused
        code, details, d, _ = refusal(lambda: self.a.score(**request(other, rid=rid)))
        self.assertEqual((code, d["reason"]), (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED"))
        # one inquiry, one replay, the bank-b score and the refusal: four records
        after = self.admin.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5).inquiries
        self.assertEqual(after - before, 4)
        inq = self.steward.steward.ListInquiries(
            steward_pb2.ListInquiriesRequest(citizen_id=c), timeout=5).inquiries
        self.assertEqual([i.inquiry_id for i in inq].count(first.inquiry_id), 1)

    def test_10_steward(self):
        c = A_ONLY[5]
        before = self.a.score(**request(c))
        # PutCitizens: the same citizen with one attribute changed
        rec = full_record(c)
        resp = self.steward.steward.PutCitizens(iter([rec]), timeout=10)
        self.assertEqual((resp.received, resp.written, resp.unchanged), (1, 0, 1))
        worse = steward_pb2.CitizenRecord()
        worse.CopyFrom(rec)
        for av in worse.attributes:
            if av.name == "cic_inquiries_6m":
                av.int_value = 12
            if av.name == "cic_max_dpd_12m":
                av.int_value = 95
            if av.name == "cic_active_loans":
                av.int_value = 4
        resp = self.steward.steward.PutCitizens(iter([worse]), timeout=10)
        self.assertEqual((resp.received, resp.written), (1, 1))
        after = self.a.score(**request(c))
        self.assertLess(after.score, before.score)
        self.assertEqual(after.score, explain(c)["score"])
        # a bad record: nothing of the call is written, the message names record and field
        bad = steward_pb2.CitizenRecord()
        bad.CopyFrom(worse)
        for av in bad.attributes:
            if av.name == "household_size":
                av.int_value = 0
        code, details, d, _ = refusal(lambda: self.steward.steward.PutCitizens(
            iter([rec, bad, bad]), timeout=10))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        k = [a.name for a in bad.attributes].index("household_size")
        self.assertEqual(d["violations"], [
            ("records[%d].attributes[%d]" % (i, k), "field 'household_size' value '0': out of "
             "range [1, 50]") for i in (1, 2)])
        self.assertTrue(details.startswith("nothing was written: 2 fields are wrong"), details)
        self.assertEqual(self.a.score(**request(c)).score, after.score)
        # a citizen with no consent: refused, nothing written
        nobody = steward_pb2.CitizenRecord()
        nobody.CopyFrom(rec)
        nobody.citizen_id = c[:6] + "999998"
        self.assertNotIn(nobody.citizen_id, CONSENTS)
        code, details = status_of(lambda: self.steward.steward.PutCitizens(iter([nobody]),
                                                                            timeout=10))
        self.assertEqual(code, grpc.StatusCode.FAILED_PRECONDITION)
        self.assertNotIn(nobody.citizen_id, details)
        # erase: gone for scoring, the inquiries stay on record
        n_before = len(self.steward.steward.ListInquiries(
            steward_pb2.ListInquiriesRequest(citizen_id=c), timeout=5).inquiries)
        self.assertTrue(self.steward.steward.EraseCitizen(
            steward_pb2.EraseCitizenRequest(citizen_id=c), timeout=5).erased)
        self.assertFalse(self.steward.steward.EraseCitizen(
            steward_pb2.EraseCitizenRequest(citizen_id=c), timeout=5).erased)
        self.assertEqual(status_of(lambda: self.a.score(**request(c)))[0],
                         grpc.StatusCode.PERMISSION_DENIED)
        inq = self.steward.steward.ListInquiries(
            steward_pb2.ListInquiriesRequest(citizen_id=c), timeout=5).inquiries
        self.assertEqual(len(inq), n_before + 1)
        self.assertEqual((inq[0].outcome, inq[0].status),
                         (steward_pb2.INQUIRY_OUTCOME_DENIED, "PERMISSION_DENIED"))
        self.assertEqual((inq[1].outcome, inq[1].status),
                         (steward_pb2.INQUIRY_OUTCOME_SCORED, ""))
        self.assertEqual(inq[1].institution, "bank-a")

    def test_11_admin(self):
        st = self.admin.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5)
        self.assertTrue(st.serving)
        self.assertGreater(st.citizens, 100)
        self.assertEqual(st.audit_sync, admin_pb2.AUDIT_SYNC_DURABLE)
        r = self.admin.admin.ReloadModels(admin_pb2.ReloadModelsRequest(), timeout=10)
        self.assertEqual(r.generation, st.generation + 1)

    def test_12_concurrency(self):
        """16 clients x 1000 calls: all correct, each audited exactly once."""
        citizens = A_ONLY[30:80]
        expected = {c: self.a.score(**request(c)) for c in citizens}
        before = self.admin.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5).inquiries
        results, errors = [], []

        def client(k):
            cl = Client(PORT, PKI, "bank-a")
            try:
                for i in range(1000):
                    c = citizens[(k * 7 + i) % len(citizens)]
                    # a connection attempt that fails is retried by the channel, not failed
                    # to the caller: this test is about the answers under concurrency
                    r = cl.score(wait_for_ready=True,
                                 **request(c, rid="conc-%d-%d-%d" % (os.getpid(), k, i)))
                    e = expected[c]
                    if (r.score, r.pd, r.grade, [x.code for x in r.reasons]) != \
                            (e.score, e.pd, e.grade, [x.code for x in e.reasons]):
                        errors.append((c, r))
                    results.append(r.inquiry_id)
            except grpc.RpcError as ex:
                errors.append(ex)
            finally:
                cl.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 16000)
        self.assertEqual(len(set(results)), 16000)
        after = self.admin.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5).inquiries
        self.assertEqual(after - before, 16000)

    def test_13_reload_with_bad_model(self):
        c = A_ONLY[6]
        before = self.a.score(**request(c))
        bad = os.path.join(MODELS, "zz-broken.json")
        src = champion_file()
        with open(src) as f:
            text = f.read()
        with open(bad, "w") as f:
            f.write(text[: len(text) // 2])  # a half-written file
        try:
            os.kill(int(os.environ["TC_SERVER_PID"]), signal.SIGHUP)
            code, details = status_of(lambda: self.admin.admin.ReloadModels(
                admin_pb2.ReloadModelsRequest(), timeout=10))
            self.assertEqual(code, grpc.StatusCode.FAILED_PRECONDITION)
            self.assertIn("zz-broken.json", details)
            self.assertIn("keep serving", details)
            for _ in range(20):
                r = self.a.score(**request(c))
                self.assertEqual((r.score, r.pd, r.model_name), (before.score, before.pd,
                                                                  before.model_name))
        finally:
            os.remove(bad)
        self.admin.admin.ReloadModels(admin_pb2.ReloadModelsRequest(), timeout=10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
