"""A relaxed audit trail whose disk refuses to sync (tests/cli/fault_sync.sh puts the trail on
an ext2 filesystem on a loop device, backed by a file on a small tmpfs: when the tmpfs fills up,
the kernel's writes to the loop device fail, and fdatasync reports EIO, as a thin-provisioned
volume does when it runs out of space). While syncs fail: calls are still answered (committed,
not synced), health turns NOT_SERVING on Check and on an open Watch stream, the failures are
counted and logged; once space is back the sync is retried with success and health returns.

Environment: TC_PORT, TC_PKI, TC_DIR (data/consents.csv), TC_METRICS_PORT, TC_BACKING (the
tmpfs that backs the loop device).
"""
import os
import subprocess
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, metric as scrape, scorable, scoring_pb2  # noqa: E402

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
FILLER = os.path.join(os.environ["TC_BACKING"], "filler")
SERVING, NOT_SERVING = 1, 2


def metric(name):
    return scrape(os.environ["TC_METRICS_PORT"], name)

def main():
    cl, pool, problems = Client(PORT, PKI, "bank-a"), scorable(os.path.join(DIR, "data")), []
    n = [0]

    def score():
        c, ref = pool[n[0] % len(pool)]
        n[0] += 1
        r = cl.scoring.Score(scoring_pb2.ScoreRequest(
            request_id="sync-%d" % n[0], citizen_id=c, consent_ref=ref,
            purpose="loan-origination", product="unsecured-consumer"), timeout=10)
        return r.grade != ""

    def until(cond, what, seconds=30):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not score():
                problems.append("a Score without a grade")
            if cond():
                return True
            time.sleep(0.01)
        problems.append("not within %d s: %s" % (seconds, what))
        return False

    statuses = []
    stream = cl.watch("tinchap.v1.Scoring", timeout=120)

    def follow():
        try:
            for m in stream:
                statuses.append(m.status)
        except grpc.RpcError:
            pass  # cancelled at the end

    threading.Thread(target=follow, daemon=True).start()
    for _ in range(50):
        score()
    if cl.health().status != SERVING or metric("tinchap_audit_sync_failures_total") != 0:
        problems.append("not SERVING, or sync failures, before the disk filled")
    # the volume runs out of space underneath the filesystem
    subprocess.run(["dd", "if=/dev/zero", "of=" + FILLER, "bs=64k"], stderr=subprocess.DEVNULL)
    until(lambda: cl.health().status == NOT_SERVING, "health NOT_SERVING while syncs fail")
    until(lambda: NOT_SERVING in statuses, "NOT_SERVING pushed on the Watch stream")
    failing = metric("tinchap_audit_sync_failures_total")
    if failing < 1 or metric("tinchap_audit_sync_failing") != 1:
        problems.append("sync failures not counted: %s" % failing)
    until(lambda: metric("tinchap_audit_sync_failures_total") > failing, "failed syncs retried")
    answered_while_failing = n[0]
    # space comes back: the next sync succeeds
    os.remove(FILLER)
    until(lambda: cl.health().status == SERVING, "health SERVING again")
    until(lambda: statuses and statuses[-1] == SERVING, "SERVING pushed on the Watch stream")
    if metric("tinchap_audit_sync_failing") != 0:
        problems.append("still failing after space came back")
    stream.cancel()
    print("%d calls answered, %d syncs failed meanwhile; stream saw %s" % (
        answered_while_failing, metric("tinchap_audit_sync_failures_total"), statuses))
    for p in problems:
        print("FAIL:", p)
    sys.exit(1 if problems else 0)


main()
