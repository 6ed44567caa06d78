"""Limits that must hold what they promise, on a real tinchapd (tests/cli/limits.sh starts it
with audit_denials_per_second 5 and audit_denials_burst 20):

- every request up to max_message_bytes (1 MiB) is served, one byte more is refused;
- ListInquiries returns up to its documented 1000 per page, and pages (page token, time range)
  through all of a citizen's inquiries, even under a flood of another bank's refusals;
- refusals are audited at most at the institution's rate: past it, that institution's calls are
  turned away RESOURCE_EXHAUSTED and counted in tinchap_audit_denials_throttled_total, while
  other institutions are served.

Environment: TC_PORT, TC_PKI, TC_DIR (data/consents.csv), TC_METRICS_PORT.
"""
import concurrent.futures
import csv
import datetime
import os
import sys
import time
import unittest

import grpc
from google.protobuf import timestamp_pb2

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, metric as scrape, scoring_pb2, steward_pb2  # noqa: E402

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
MAX_MESSAGE = 1 << 20
RATE, BURST = 5, 20


def scorable_a_only():
    t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = list(csv.DictReader(open(os.path.join(DIR, "data", "consents.csv"), newline="")))
    with_b = {r["citizen_id"] for r in rows if r["institution"] == "bank-b"}
    return [(r["citizen_id"], r["consent_ref"]) for r in rows
            if r["institution"] == "bank-a" and r["purpose"] == "loan-origination" and
            not r["revoked_at"] and r["granted_at"] <= t < r["expires_at"] and
            r["citizen_id"] not in with_b]


CITIZENS = scorable_a_only()


def request(citizen, ref, rid):
    return scoring_pb2.ScoreRequest(request_id=rid, citizen_id=citizen, consent_ref=ref,
                                    purpose="loan-origination", product="unsecured-consumer",
                                    loan_amount_vnd=1, loan_term_months=12)


def padded(msg, size):
    """msg's encoding followed by an unknown field 99 (bytes), size bytes in all: what a client
    built from a newer .proto may send."""
    wire = msg.SerializeToString()
    for n in range(size - len(wire) - 6, size - len(wire) - 2):
        body = b"\0" * max(n, 0)
        length, x = b"", len(body)
        while True:
            length += bytes([(x & 0x7f) | (0x80 if x > 0x7f else 0)])
            x >>= 7
            if not x:
                break
        out = wire + bytes([0x9a, 0x06]) + length + body  # field 99, length-delimited
        if len(out) == size:
            return out
    raise AssertionError("cannot pad to %d" % size)


def micros(t):
    """A Timestamp -> microseconds since the epoch."""
    return t.seconds * 1000000 + t.nanos // 1000


def second(s):
    t = timestamp_pb2.Timestamp()
    t.seconds = s
    return t


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def metric(name):
    return scrape(os.environ["TC_METRICS_PORT"], name)

class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Client(PORT, PKI, "bank-a")
        cls.b = Client(PORT, PKI, "bank-b")
        cls.st = Client(PORT, PKI, "steward")

    def test_1_every_request_up_to_max_message_bytes(self):
        c, ref = CITIZENS[0]
        call = self.a.channel.unary_unary("/tinchap.v1.Scoring/Score",
                                          response_deserializer=scoring_pb2.ScoreResponse.FromString)
        for size in (300 << 10, 700 << 10, MAX_MESSAGE):
            r = call(padded(request(c, ref, "big-%d" % size), size), timeout=20)
            self.assertEqual(r.request_id, "big-%d" % size)
            self.assertFalse(r.replayed)
        self.assertEqual(code_of(lambda: call(padded(request(c, ref, "too-big"), MAX_MESSAGE + 1),
                                              timeout=20)),
                         grpc.StatusCode.RESOURCE_EXHAUSTED)
        # a steward's request too: one record of 900 KiB
        big = steward_pb2.ListInquiriesRequest(citizen_id=c, limit=5)
        call = self.st.channel.unary_unary(
            "/tinchap.v1.Steward/ListInquiries",
            response_deserializer=steward_pb2.ListInquiriesResponse.FromString)
        self.assertGreater(len(call(padded(big, 900 << 10), timeout=20).inquiries), 0)

    def test_2_inquiries_page_through_a_flood(self):
        c, ref = CITIZENS[1]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: self.a.scoring.Score(
                request(c, ref, "inq-%d" % i), timeout=20), range(1050)))
        ours = {r.inquiry_id for r in answers}
        self.assertEqual(len(ours), 1050)
        # another bank floods this citizen with refusals: a few are audited, then turned away
        t0, codes = time.monotonic(), []
        for i in range(300):
            codes.append(code_of(lambda: self.b.scoring.Score(request(c, "VNEID-X", "fl-%d" % i),
                                                              timeout=10)))
        elapsed = time.monotonic() - t0
        denied = codes.count(grpc.StatusCode.PERMISSION_DENIED)
        turned = codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(denied + turned, 300)
        self.assertGreaterEqual(denied, BURST)
        self.assertLessEqual(denied, BURST + 1 + RATE * elapsed + 1)
        self.assertEqual(metric('tinchap_audit_denials_throttled_total{institution="bank-b"}'),
                         turned)
        self.assertEqual(metric('tinchap_audit_denials_throttled_total{institution="bank-a"}'), 0)
        # bank-a is served all the while
        during = self.a.scoring.Score(request(c, ref, "inq-during"), timeout=10)
        self.assertFalse(during.replayed)
        ours.add(during.inquiry_id)

        list_ = lambda **kw: self.st.steward.ListInquiries(  # noqa: E731
            steward_pb2.ListInquiriesRequest(citizen_id=c, **kw), timeout=20)
        first = list_(limit=1000)
        self.assertEqual(len(first.inquiries), 1000)
        self.assertNotEqual(first.next_page_token, "")
        # every inquiry, a page of 400 at a time, newest first, each once
        seen, token, pages = [], "", 0
        while True:
            page = list_(limit=400, page_token=token)
            seen += list(page.inquiries)
            pages += 1
            token = page.next_page_token
            if not token:
                break
        ids = [i.inquiry_id for i in seen]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(ids), 1051 + denied)
        self.assertLessEqual(ours, set(ids))
        self.assertEqual(pages, (len(ids) + 399) // 400)
        us = [micros(i.time) for i in seen]  # newest first, to within a commit batch
        self.assertTrue(all(a >= b - 1000000 for a, b in zip(us, us[1:])))
        self.assertEqual(sum(i.institution == "bank-b" for i in seen), denied)
        # a time range (whole seconds): the second of the oldest inquiry
        lo = us[-1] // 1000000
        ranged, token = [], ""
        while True:
            page = list_(limit=30, page_token=token, **{"from": second(lo), "to": second(lo + 1)})
            ranged += [i.inquiry_id for i in page.inquiries]
            token = page.next_page_token
            if not token:
                break
        in_range = [i.inquiry_id for i, t in zip(seen, us) if lo * 1000000 <= t < (lo + 1) * 1000000]
        self.assertEqual(ranged, in_range)
        self.assertGreater(len(ranged), 0)
        # what is not a page or a limit
        before_1970 = timestamp_pb2.Timestamp(seconds=-1)
        for bad in (dict(limit=1001), dict(page_token="p-not-a-token"), {"from": before_1970}):
            self.assertEqual(code_of(lambda: list_(**bad)), grpc.StatusCode.INVALID_ARGUMENT, bad)
        # the limit refills: bank-b is answered (and audited) again
        time.sleep(1.0)
        self.assertEqual(code_of(lambda: self.b.scoring.Score(request(c, "VNEID-X", "fl-again"),
                                                              timeout=10)),
                         grpc.StatusCode.PERMISSION_DENIED)


if __name__ == "__main__":
    unittest.main(verbosity=2)
