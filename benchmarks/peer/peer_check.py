#!/usr/bin/python3
"""The peer must do the same job as tinchapd for the comparison to mean anything: ask both the
same Score questions and compare the answers field by field — score, PD and its interval,
grade, reasons (codes, order, points lost), model. Prints one JSON object; exits 1 on any
difference.

  peer_check.py --tinchapd HOST:PORT --peer HOST:PORT --token T --citizens FILE [--count N]
"""
import argparse
import json
import math
import os
import random
import sys

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_server import scoring_pb2, scoring_pb2_grpc  # noqa: E402  (generates the stubs)

REL = 1e-9  # both evaluate the same model file in double precision


def close(a, b):
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


def differences(a, b):
    out = []
    for f in ("score", "pd", "pd_low", "pd_high"):
        if not close(getattr(a, f), getattr(b, f)):
            out.append("%s %r != %r" % (f, getattr(a, f), getattr(b, f)))
    for f in ("grade", "grade_label_en", "model_name", "model_version", "request_id"):
        if getattr(a, f) != getattr(b, f):
            out.append("%s %r != %r" % (f, getattr(a, f), getattr(b, f)))
    ra = [(r.code, r.points_lost) for r in a.reasons]
    rb = [(r.code, r.points_lost) for r in b.reasons]
    if [c for c, _ in ra] != [c for c, _ in rb] or not all(
            close(x, y) for (_, x), (_, y) in zip(ra, rb)):
        out.append("reasons %r != %r" % (ra, rb))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tinchapd", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--citizens", required=True)
    p.add_argument("--count", type=int, default=200)
    args = p.parse_args()
    with open(args.citizens) as f:
        pairs = [line.strip().split(",")[:2] for line in f if line[:12].isdigit()]
    rng = random.Random(7)
    md = (("authorization", "Bearer " + args.token),)
    stubs = [scoring_pb2_grpc.ScoringStub(grpc.insecure_channel(t))
             for t in (args.tinchapd, args.peer)]
    tag = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
    checked, bad, first = 0, 0, ""
    for i in range(args.count):
        cid, ref = rng.choice(pairs)
        req = scoring_pb2.ScoreRequest(
            request_id="pc%s-%d" % (tag + "".join(rng.choice("xyz") for _ in range(4)), i),
            citizen_id=cid, consent_ref=ref, purpose="loan-origination",
            product="unsecured-consumer", loan_amount_vnd=50000000, loan_term_months=24)
        a = stubs[0].Score(req, metadata=md, timeout=10)
        b = stubs[1].Score(req, metadata=md, timeout=10)
        d = differences(a, b)
        checked += 1
        if d:
            bad += 1
            first = first or "; ".join(d)
    print(json.dumps({"checked": checked, "mismatches": bad, "first_mismatch": first}))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
