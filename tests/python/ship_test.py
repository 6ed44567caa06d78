""""Who scored me?" across replicas (run by tests/cli/audit_ship.sh, which makes the PKI, the
steward database, a snapshot and a configuration per replica: replica 1 collects every node's
audit records into its consolidated trail; replica 2's trail is relaxed, the others durable).

  1. A citizen scored once on each replica: the steward's ListInquiries on replica 1 lists the
     three inquiries, each once, with the inquiry IDs the three answers carried.
  2. Score load on every replica while, in turn, a shipping replica is killed with SIGKILL and
     restarted, the collecting replica is killed and restarted, and another shipping replica is
     killed: once the load stops and shipping has caught up, the consolidated trail holds every
     record of every replica's own trail exactly once (none lost, none twice, by inquiry ID and
     by origin), and every answer a client received is in it.
  3. Records shipped twice (what a shipper killed between the broker's acknowledgement and
     recording how far it shipped does) are dropped; a malformed entry is logged and skipped.
  4. tinchap audit on the consolidated trail names each record's origin node; no raw citizen ID
     is in the broker's stream, the consolidated trail's files or any log.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(__file__))
import feed_test  # noqa: E402
from feed_test import AUDIT_STREAM, Cluster, check, wait_for, rid  # noqa: E402
from service_client import scorable, steward_pb2, metric  # noqa: E402



def score(client, citizen, ref):
    """The inquiry ID of an answer, or None for a refusal."""
    try:
        r = client.score(request_id=rid(), citizen_id=citizen, consent_ref=ref,
                         purpose="loan-origination", product="unsecured-consumer",
                         loan_amount_vnd=20000000, loan_term_months=12, timeout=5)
        return r.inquiry_id
    except grpc.RpcError:
        return None


def inquiries(cl, citizen):
    c = cl.client(1, "steward")
    r = c.steward.ListInquiries(steward_pb2.ListInquiriesRequest(citizen_id=citizen, limit=1000),
                                timeout=10)
    return [q.inquiry_id for q in r.inquiries]


def trail(tinchap, path, secret):
    """Every record of the trail in path, as JSON objects (read-only, beside a running node)."""
    out = subprocess.run([tinchap, "audit", "--audit", path, "--key", secret],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


class Load(feed_test.Load):
    """bank-a scoring on every replica without pause; the inquiry IDs of the answers."""

    def __init__(self, cl, pairs):
        self.answered, self.lock = [], threading.Lock()
        super().__init__(cl, pairs)

    def score(self, client, citizen, ref):
        inquiry = score(client, citizen, ref)
        if inquiry is None:  # the replica is down or restarting
            return grpc.StatusCode.UNAVAILABLE
        with self.lock:
            self.answered.append(inquiry)
        return grpc.StatusCode.OK


def caught_up(cl, a):
    """The consolidated trail holds as many records as the replicas' trails together."""
    local = sum(len(trail(a.tinchap, os.path.join(a.work, "r%d" % i, "audit"), a.secret))
                for i in range(1, cl.n + 1))
    return len(trail(a.tinchap, a.consolidated, a.secret)) >= local


def run(cl, a):
    cl.start_broker()
    for i in range(1, cl.n + 1):
        cl.start(i)
    for i in range(1, cl.n + 1):
        wait_for("replica %d serves" % i, 20, lambda i=i: cl.serving(i))
    pairs = scorable(os.path.join(a.work, "data"))

    # 1: one citizen, one inquiry on each replica, all three seen on the steward node
    citizen, ref = pairs[0]
    answers = [score(cl.client(i, "bank-a"), citizen, ref) for i in range(1, cl.n + 1)]
    check("the citizen is scored on every replica", None not in answers, str(answers))
    wait_for("ListInquiries on the collecting replica lists all three", 10,
             lambda: len(inquiries(cl, citizen)) >= 3)
    listed = inquiries(cl, citizen)
    check("ListInquiries lists each replica's inquiry once", sorted(listed) == sorted(answers),
          "listed %s, answered %s" % (listed, answers))

    # 2: kill -9 of a shipper, the collector, another shipper, under load
    load = Load(cl, pairs[1:])
    for victim in (2, 1, 3):
        time.sleep(1.5)
        cl.kill(victim)
        time.sleep(0.3)
        cl.start(victim)
        wait_for("replica %d serves again" % victim, 20, lambda v=victim: cl.serving(v))
    time.sleep(1.0)
    load.close()
    check("the load was answered throughout", len(load.answered) > 100, str(len(load.answered)))
    wait_for("the consolidated trail catches up with every replica", 30, lambda: caught_up(cl, a))
    cons = trail(a.tinchap, a.consolidated, a.secret)
    local = {}
    for i in range(1, cl.n + 1):
        for r in trail(a.tinchap, os.path.join(a.work, "r%d" % i, "audit"), a.secret):
            local[r["inquiry_id"]] = "replica-%d" % i
    ids = [r["inquiry_id"] for r in cons]
    check("no record is in the consolidated trail twice", len(ids) == len(set(ids)),
          "%d records, %d distinct" % (len(ids), len(set(ids))))
    origins = [(r["origin"]["trail"], r["origin"]["seq"]) for r in cons]
    check("no origin (trail, sequence number) twice", len(origins) == len(set(origins)))
    check("every replica's record is in the consolidated trail", set(ids) == set(local),
          "missing %d, extra %d" % (len(set(local) - set(ids)), len(set(ids) - set(local))))
    check("every answer a client received is in it", set(load.answered) <= set(ids),
          "%d answers missing" % len(set(load.answered) - set(ids)))
    check("each record names the replica it was made on",
          all(r["origin"]["node"] == local.get(r["inquiry_id"]) for r in cons))
    # 3: records shipped twice (as a shipper killed between the broker's acknowledgement and
    # recording how far it shipped does) and a malformed entry: dropped, logged, skipped
    op = feed_test.Redis(cl.sock, "operator", cl.password)
    again = op.cmd("XRANGE", AUDIT_STREAM, "-", "+", "COUNT", 50)
    for _, fields in again:
        op.cmd("XADD", AUDIT_STREAM, "*", *fields)
    op.cmd("XADD", AUDIT_STREAM, "*", "record", b"\x07not a record")
    wait_for("the collector reads past them", 10,
             lambda: metric(cl.mports[1], 'tinchap_audit_collected_total{outcome="rejected"}')
             >= 1)
    wait_for("the copies are counted as duplicates", 10,
             lambda: metric(cl.mports[1],
                            'tinchap_audit_collected_total{outcome="duplicate"}') >= len(again))
    after = [r["inquiry_id"] for r in trail(a.tinchap, a.consolidated, a.secret)]
    check("records shipped twice are kept once", sorted(after) == sorted(ids),
          "%d records before, %d after" % (len(ids), len(after)))
    op.close()
    # the collecting replica's metrics, for promtool (audit_ship.sh)
    with open(os.path.join(a.work, "metrics.txt"), "w") as f:
        f.write(urllib.request.urlopen("http://127.0.0.1:%d/metrics" % cl.mports[1],
                                       timeout=5).read().decode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--tinchapd", required=True)
    ap.add_argument("--tinchap", required=True)
    ap.add_argument("--redis", required=True)
    a = ap.parse_args()
    a.secret = os.path.join(a.work, "secret")
    a.consolidated = os.path.join(a.work, "r1", "audit", "consolidated")
    cl = Cluster(a.work, a.tinchapd, a.redis, 3)
    try:
        run(cl, a)
    finally:
        codes = cl.stop_all()
    check("every replica exits 0 on SIGTERM", all(c == 0 for c in codes.values()), str(codes))
    print("audit shipping: %s" % ("ok" if not feed_test.failures else
                                  "%d failures" % len(feed_test.failures)))
    return 1 if feed_test.failures else 0


if __name__ == "__main__":
    sys.exit(main())
