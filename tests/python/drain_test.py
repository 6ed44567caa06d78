"""SIGTERM while calls are in flight. Clients keep scoring; the server is told to stop half-way.
Every call must end OK (answered, and therefore audited) or UNAVAILABLE (refused before any
work); nothing may be cut off with CANCELLED, INTERNAL or a deadline. Prints "answered N" and the
audit count before the load, for the caller to check against the trail after a restart."""
import os
import signal
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, admin_pb2, scorable  # noqa: E402

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
PID = int(os.environ["TC_SERVER_PID"])

# consents valid now: a refusal is audited too, but refusals beyond the institution's limit
# (audit_denials_per_second) would be turned away, which is not what this test is about
rows = [{"citizen_id": c, "consent_ref": ref}
        for c, ref in scorable(os.path.join(DIR, "data"))][:200]
admin = Client(PORT, PKI, "admin")
audit_before = admin.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5).inquiries
admin.close()

outcomes = {}
lock = threading.Lock()
stop = threading.Event()


def worker(k):
    cl = Client(PORT, PKI, "bank-a")
    i = 0
    while not stop.is_set() and i < 2000:
        r = rows[(k * 13 + i) % len(rows)]
        try:
            cl.score(timeout=10, request_id="drain-%d-%d" % (k, i), citizen_id=r["citizen_id"],
                     consent_ref=r["consent_ref"], purpose="loan-origination",
                     product="unsecured-consumer")
            code = "OK"
        except grpc.RpcError as e:
            code = e.code().name
            if code in ("UNAVAILABLE", "PERMISSION_DENIED"):
                pass
        with lock:
            outcomes[code] = outcomes.get(code, 0) + 1
        if code == "UNAVAILABLE":
            break
        i += 1
    cl.close()


threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
# SIGTERM a second in, once at least 50 calls were answered (a slow machine answers fewer)
deadline = time.monotonic() + 1.0
give_up = time.monotonic() + 60
while time.monotonic() < give_up:
    with lock:
        ok = outcomes.get("OK", 0)
    if ok >= 50 and time.monotonic() >= deadline:
        break
    time.sleep(0.01)
os.kill(PID, signal.SIGTERM)
for t in threads:
    t.join(timeout=30)
stop.set()
print("outcomes", outcomes)
answered = outcomes.get("OK", 0) + outcomes.get("PERMISSION_DENIED", 0)
bad = {k: v for k, v in outcomes.items() if k not in ("OK", "UNAVAILABLE", "PERMISSION_DENIED")}
print("answered %d audit_before %d" % (answered, audit_before))
if bad or outcomes.get("OK", 0) < 50:
    print("FAIL: calls cut off or too few answered:", bad)
    sys.exit(1)
