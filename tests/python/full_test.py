"""Scoring while the audit trail cannot grow, and after it can again (tests/cli/fault_full.sh).

  full_test.py warm   TC_PORT TC_PKI TC_DIR TC_STATE
      100 calls, all scored (while the trail has room).
  full_test.py full   TC_PORT TC_PKI TC_DIR TC_STATE
      Score until the service refuses for want of audit space (at most 20 000 calls), then 50
      more: every call is answered OK or refused UNAVAILABLE with the audit message, never
      anything else; reads (Health, ListModels, GetModel, ListInquiries, GetStatus) keep working.
  full_test.py after  TC_PORT TC_PKI TC_DIR TC_STATE
      Space is back: every refused request, retried with its request ID, is scored (fresh: a
      refused call left nothing behind), and scoring goes on.
  full_test.py check  TC_STATE TC_AUDIT (the `tinchap audit` JSON lines)
      Every answered request is in the trail exactly once with its inquiry ID; no refused
      attempt left a record.
"""
import csv
import datetime
import json
import os
import sys

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import (Client, admin_pb2, health_pb2, scoring_pb2,  # noqa: E402
                            steward_pb2)

MODE = sys.argv[1]
STATE = os.environ["TC_STATE"]
REFUSAL = "the audit trail cannot be written (it is full): no answer is given without it"


def pool():
    t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(os.environ["TC_DIR"], "data", "consents.csv"), newline="") as f:
        return [(r["citizen_id"], r["consent_ref"]) for r in csv.DictReader(f)
                if r["institution"] == "bank-a" and r["purpose"] == "loan-origination" and
                not r["revoked_at"] and r["granted_at"] <= t < r["expires_at"]][:500]


def score(cl, citizens, n, rid):
    cid, ref = citizens[n % len(citizens)]
    try:
        r = cl.scoring.Score(scoring_pb2.ScoreRequest(
            request_id=rid, citizen_id=cid, consent_ref=ref, purpose="loan-origination",
            product="unsecured-consumer"), timeout=10)
        return "OK", r.inquiry_id, r.replayed
    except grpc.RpcError as e:
        return e.code().name, e.details(), False


def load_state():
    if os.path.exists(STATE):
        with open(STATE) as f:
            return json.load(f)
    return {"ok": [], "refused": [], "calls": 0}


def full():
    port, pki = int(os.environ["TC_PORT"]), os.environ["TC_PKI"]
    cl, citizens, st = Client(port, pki, "bank-a"), pool(), load_state()
    failures, first_refusal, n = [], None, 0
    while n < 20000 and (first_refusal is None or n < first_refusal + 50):
        rid = "full-%d" % (st["calls"] + n)
        code, text, _ = score(cl, citizens, st["calls"] + n, rid)
        if code == "OK":
            st["ok"].append([rid, text])
        elif code == "UNAVAILABLE" and text == REFUSAL:
            st["refused"].append([rid, st["calls"] + n])
            if first_refusal is None:
                first_refusal = n
        else:
            failures.append("%s: %s %s" % (rid, code, text))
        n += 1
    st["calls"] += n
    answered = len(st["ok"])
    if first_refusal is None:
        failures.append("20 000 calls and the audit trail never filled up")
    # what only reads keeps working
    adm, stw = Client(port, pki, "admin"), Client(port, pki, "steward")
    reads = {
        "Health": lambda: cl.health().status == health_pb2.HealthCheckResponse.SERVING,
        "ListModels": lambda: len(cl.scoring.ListModels(
            scoring_pb2.ListModelsRequest(), timeout=5).models) > 0,
        "GetModel": lambda: cl.scoring.GetModel(scoring_pb2.GetModelRequest(
            name=cl.scoring.ListModels(scoring_pb2.ListModelsRequest(), timeout=5)
            .models[-1].name), timeout=5).summary.name != "",
        "ListInquiries": lambda: len(stw.steward.ListInquiries(steward_pb2.ListInquiriesRequest(
            citizen_id=citizens[0][0]), timeout=5).inquiries) > 0,
        "GetStatus": lambda: adm.admin.GetStatus(admin_pb2.GetStatusRequest(),
                                                 timeout=5).serving,
    }
    for name, fn in reads.items():
        try:
            if not fn():
                failures.append("%s answered, but not as expected" % name)
        except grpc.RpcError as e:
            failures.append("%s while the disk is full: %s %s" % (name, e.code().name,
                                                                   e.details()))
    with open(STATE, "w") as f:
        json.dump(st, f)
    print("%d answered in all; on the full disk, refused %d of %d calls (the first after %s "
          "answered)" % (answered, len(st["refused"]), n, first_refusal))
    for m in failures[:10]:
        print("FAIL:", m)
    sys.exit(1 if failures else 0)


def warm():
    port, pki = int(os.environ["TC_PORT"]), os.environ["TC_PKI"]
    cl, citizens, st = Client(port, pki, "bank-a"), pool(), load_state()
    failures = []
    for n in range(st["calls"], st["calls"] + 100):
        rid = "full-%d" % n
        code, text, _ = score(cl, citizens, n, rid)
        if code != "OK":
            failures.append("%s: %s %s" % (rid, code, text))
        else:
            st["ok"].append([rid, text])
    st["calls"] += 100
    with open(STATE, "w") as f:
        json.dump(st, f)
    print("100 scored")
    for m in failures[:10]:
        print("FAIL:", m)
    sys.exit(1 if failures else 0)


def after():
    port, pki = int(os.environ["TC_PORT"]), os.environ["TC_PKI"]
    cl, citizens, st = Client(port, pki, "bank-a"), pool(), load_state()
    failures = []
    for rid, n in st["refused"]:
        code, text, replayed = score(cl, citizens, n, rid)
        if code != "OK" or replayed:
            failures.append("retry of refused %s: %s %s replayed=%s" % (rid, code, text, replayed))
        else:
            st["ok"].append([rid, text])
    for n in range(st["calls"], st["calls"] + 200):
        rid = "full-%d" % n
        code, text, _ = score(cl, citizens, n, rid)
        if code != "OK":
            failures.append("%s after space came back: %s %s" % (rid, code, text))
        else:
            st["ok"].append([rid, text])
    st["calls"] += 200
    st["refused"] = []
    with open(STATE, "w") as f:
        json.dump(st, f)
    print("space back: refused calls retried and scored, 200 more scored")
    for m in failures[:10]:
        print("FAIL:", m)
    sys.exit(1 if failures else 0)


def check():
    st = load_state()
    by_rid = {}
    with open(os.environ["TC_AUDIT"]) as f:
        for line in f:
            rec = json.loads(line)
            if rec["request_id"].startswith("full-"):
                by_rid.setdefault(rec["request_id"], []).append(rec)
    failures = []
    for rid, inquiry in st["ok"]:
        recs = by_rid.pop(rid, [])
        if len(recs) != 1 or recs[0]["outcome"] != "scored" or recs[0]["inquiry_id"] != inquiry:
            failures.append("%s: %s" % (rid, [(r["outcome"], r["inquiry_id"]) for r in recs]))
    if by_rid:
        failures.append("records of requests never answered: %s" % sorted(by_rid)[:5])
    print("%d answered requests, each in the trail once; no other record" % len(st["ok"]))
    for m in failures[:10]:
        print("FAIL:", m)
    sys.exit(1 if failures else 0)


{"warm": warm, "full": full, "after": after, "check": check}[MODE]()
