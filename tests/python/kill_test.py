"""Score load while tinchapd is killed with SIGKILL, then the check after its restart.

  kill_test.py load    TC_PORT TC_PKI TC_DIR TC_SERVER_PID TC_KILL_AFTER TC_ROUND TC_STATE
      8 clients score (one request in ten is refused: no consent) with request IDs
      kill-ROUND-CLIENT-N; after TC_KILL_AFTER seconds the server gets SIGKILL. Every reply a
      client received (OK with its inquiry ID, or PERMISSION_DENIED) is "acknowledged"; every
      call that ended otherwise is "in doubt". Both lists go to TC_STATE (JSON).
  kill_test.py verify  TC_PORT TC_PKI TC_DIR TC_STATE TC_AUDIT (the `tinchap audit` JSON lines,
      written after the retries below, which come first: TC_AUDIT is read at the end)
      First the in-doubt scoring calls are retried with the same request: each must be
      answered, as a replay of the original if its record was committed before the kill.
  kill_test.py check   TC_STATE TC_AUDIT
      Every acknowledged request is in the trail exactly once, with its inquiry ID and
      outcome; every retried one is scored exactly once, replay or not.
"""
import csv
import datetime
import json
import os
import signal
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, scoring_pb2  # noqa: E402

MODE = sys.argv[1]
DIR = os.environ.get("TC_DIR", "")
STATE = os.environ["TC_STATE"]


def requests_pool():
    """(citizen, consent_ref, expect_ok): bank-a consents valid now, and requests with a
    consent reference that is not the citizen's (refused PERMISSION_DENIED)."""
    t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = []
    with open(os.path.join(DIR, "data", "consents.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if (r["institution"] == "bank-a" and r["purpose"] == "loan-origination" and
                    not r["revoked_at"] and r["granted_at"] <= t < r["expires_at"]):
                ok.append((r["citizen_id"], r["consent_ref"], True))
    # a consent reference the citizen never gave: refused like no consent at all
    denied = [(c, "VNEID-NOT-GIVEN", False) for c, _, _ in ok[300:330]]
    return ok[:300], denied


def request(entry, rid):
    cid, ref, _ = entry
    return scoring_pb2.ScoreRequest(request_id=rid, citizen_id=cid, consent_ref=ref,
                                    purpose="loan-origination", product="unsecured-consumer",
                                    loan_amount_vnd=30000000, loan_term_months=12)


def load():
    port, pki = int(os.environ["TC_PORT"]), os.environ["TC_PKI"]
    pid, rnd = int(os.environ["TC_SERVER_PID"]), os.environ["TC_ROUND"]
    ok, denied = requests_pool()
    pool = []
    for i in range(len(ok)):
        pool.append(ok[i])
        if i % 9 == 8 and denied:
            pool.append(denied[(i // 9) % len(denied)])
    acked, doubt = [], []
    lock = threading.Lock()
    killed = threading.Event()

    def client(k):
        cl = Client(port, pki, "bank-a")
        i, errors_after_kill = 0, 0
        while errors_after_kill < 2 and i < 100000:
            n = (k * 31 + i) % len(pool)
            rid = "kill-%s-%d-%d" % (rnd, k, i)
            i += 1
            try:
                r = cl.scoring.Score(request(pool[n], rid), timeout=5)
                with lock:
                    acked.append([rid, "OK", r.inquiry_id, n])
            except grpc.RpcError as e:
                code = e.code().name
                with lock:
                    if code == "PERMISSION_DENIED":
                        acked.append([rid, code, "", n])
                    else:
                        doubt.append([rid, code, "", n])
                if killed.is_set() and code not in ("PERMISSION_DENIED",):
                    errors_after_kill += 1
                    time.sleep(0.05)
        cl.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    # the kill comes TC_KILL_AFTER seconds in, but never before 100 calls were answered: on a
    # slow machine (sanitizers, a loaded CI runner) a fixed time may hold too few to check
    deadline = time.monotonic() + float(os.environ["TC_KILL_AFTER"])
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        with lock:
            oks = sum(1 for a in acked if a[1] == "OK")
        if oks >= 100 and time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    killed.set()
    for t in threads:
        t.join(60)
    with open(STATE, "w") as f:
        json.dump({"acked": acked, "doubt": doubt, "pool": pool}, f)
    oks = sum(1 for a in acked if a[1] == "OK")
    print("acknowledged %d (OK %d), in doubt %d" % (len(acked), oks, len(doubt)))
    if oks < 100:
        print("FAIL: too few calls answered before the kill")
        sys.exit(1)


def verify():
    port, pki = int(os.environ["TC_PORT"]), os.environ["TC_PKI"]
    with open(STATE) as f:
        st = json.load(f)
    pool = [tuple(p) for p in st["pool"]]
    cl = Client(port, pki, "bank-a")
    retried, failures = [], []
    for rid, _, _, n in st["doubt"]:
        if not pool[n][2]:
            continue  # a refusal is not remembered: retrying it is a new inquiry attempt
        try:
            r = cl.scoring.Score(request(pool[n], rid), timeout=10)
            retried.append([rid, r.inquiry_id, r.replayed])
        except grpc.RpcError as e:
            failures.append("retry of %s: %s %s" % (rid, e.code().name, e.details()))
    st["retried"] = retried
    with open(STATE, "w") as f:
        json.dump(st, f)
    replays = sum(1 for r in retried if r[2])
    print("retried %d in-doubt calls: %d were already answered (replayed), %d scored now" %
          (len(retried), replays, len(retried) - replays))
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


def check():
    with open(STATE) as f:
        st = json.load(f)
    by_rid = {}
    with open(os.environ["TC_AUDIT"]) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("request_id", "").startswith("kill-"):
                by_rid.setdefault(rec["request_id"], []).append(rec)
    failures = []
    for rid, code, inquiry, _ in st["acked"]:
        recs = [r for r in by_rid.get(rid, []) if r["outcome"] != "replayed"]
        want = "scored" if code == "OK" else "denied"
        if len(recs) != 1:
            failures.append("%s (%s, acknowledged): %d records in the trail" %
                            (rid, code, len(recs)))
        elif recs[0]["outcome"] != want:
            failures.append("%s: outcome %s, the client got %s" % (rid, recs[0]["outcome"], code))
        elif code == "OK" and recs[0]["inquiry_id"] != inquiry:
            failures.append("%s: inquiry %s in the trail, %s in the reply" %
                            (rid, recs[0]["inquiry_id"], inquiry))
    for rid, inquiry, replayed in st.get("retried", []):
        recs = [r for r in by_rid.get(rid, []) if r["outcome"] == "scored"]
        if len(recs) != 1 or recs[0]["inquiry_id"] != inquiry:
            failures.append("%s (retried, replayed=%s): %s" %
                            (rid, replayed, [(r["outcome"], r["inquiry_id"]) for r in recs]))
    n_ok = sum(1 for a in st["acked"] if a[1] == "OK")
    print("checked %d acknowledged (%d scored) and %d retried requests against %d trail "
          "records" % (len(st["acked"]), n_ok, len(st.get("retried", [])),
                       sum(len(v) for v in by_rid.values())))
    for msg in failures[:20]:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


{"load": load, "verify": verify, "check": check}[MODE]()
