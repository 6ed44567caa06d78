"""A bank's client over several tinchapd replicas: one grpcio channel to every address with
gRPC's own round_robin load balancing and a retry policy for UNAVAILABLE in the service config,
scoring in a loop on a few threads until told to stop. It is what README.md ("Operating
tinchap", load balancing) recommends, run by tests/cli/replicas.sh while replicas are killed,
restarted and refreshed.

usage: replica_client.py --targets P1,P2,P3 --pki DIR --consents CSV --status FILE --stop FILE
Writes {"ok": N, "failed": {CODE: N}, "errors": [...], "max_ms": M} to --status about five times
a second and once more at the end; exits 0 once --stop exists.
"""
import argparse
import csv
import datetime
import json
import os
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import scoring_pb2, scoring_pb2_grpc  # noqa: E402

# The client side of scale-out, in gRPC's service config (grpc/doc/service_config.md):
# spread calls over every address; watch each replica's health (grpc.health.v1 Watch) and stop
# picking one the moment it turns NOT_SERVING, which tinchapd does first thing when it drains;
# and retry a call answered UNAVAILABLE (a replica down, unreachable or refusing) on another
# one. Score is safe to retry: a replica that already answered remembers the request_id,
# another one scores it again (same inputs, same answer) and audits it in its own trail.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": "tinchap.v1.Scoring"},
    "methodConfig": [{
        "name": [{"service": "tinchap.v1.Scoring"}],
        "retryPolicy": {
            "maxAttempts": 5,
            "initialBackoff": "0.05s",
            "maxBackoff": "0.5s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
}

# Reconnect to a replica that comes back within a second, not gRPC's default of up to 2 min.
CHANNEL_OPTIONS = [
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ("grpc.ssl_target_name_override", "localhost"),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(ports, pki, who="bank-a"):
    target = "ipv4:" + ",".join("127.0.0.1:%d" % p for p in ports)
    creds = grpc.ssl_channel_credentials(read(os.path.join(pki, "ca.pem")),
                                         read(os.path.join(pki, who + ".key")),
                                         read(os.path.join(pki, who + ".pem")))
    return grpc.secure_channel(target, creds, options=CHANNEL_OPTIONS)


def scorable(consents_csv, institution="bank-a"):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(consents_csv, newline="") as f:
        return [(r["citizen_id"], r["consent_ref"]) for r in csv.DictReader(f)
                if r["institution"] == institution and r["purpose"] == "loan-origination"
                and not r["revoked_at"] and r["granted_at"] <= now < r["expires_at"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--consents", required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    ports = [int(p) for p in a.targets.split(",")]
    people = scorable(a.consents)[:200]
    assert people, "no scorable citizen"
    ch = channel(ports, a.pki)
    stub = scoring_pb2_grpc.ScoringStub(ch)
    lock = threading.Lock()
    state = {"ok": 0, "failed": {}, "errors": [], "max_ms": 0.0}
    done = threading.Event()

    def worker(k):
        i = 0
        while not done.is_set():
            cid, ref = people[(k * 31 + i) % len(people)]
            t0 = time.monotonic()
            try:
                stub.Score(scoring_pb2.ScoreRequest(
                    request_id="rr-%d-%d-%d" % (os.getpid(), k, i), citizen_id=cid,
                    consent_ref=ref, purpose="loan-origination", product="unsecured-consumer",
                    loan_amount_vnd=20000000, loan_term_months=12), timeout=10)
                code = None
            except grpc.RpcError as e:
                code, detail = e.code().name, e.details()
            ms = (time.monotonic() - t0) * 1000
            with lock:
                state["max_ms"] = max(state["max_ms"], ms)
                if code is None:
                    state["ok"] += 1
                else:
                    state["failed"][code] = state["failed"].get(code, 0) + 1
                    if len(state["errors"]) < 10:
                        state["errors"].append("%s: %s" % (code, detail))
            i += 1

    def publish():
        with lock:
            text = json.dumps(state)
        with open(a.status + ".tmp", "w") as f:
            f.write(text)
        os.replace(a.status + ".tmp", a.status)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.threads)]
    for t in threads:
        t.start()
    while not os.path.exists(a.stop):
        publish()
        time.sleep(0.2)
    done.set()
    for t in threads:
        t.join(timeout=15)
    publish()
    ch.close()
    print(json.dumps(state))


if __name__ == "__main__":
    main()
