"""Clients that hold the server's connections without doing their part, while a well-behaved
client keeps scoring: slow PutCitizens streams that send one record and stall, TCP connections
that never start TLS, and a client that sends calls and then never reads a byte of the
replies. None of them may block the worker or the well-behaved client; the server drops the
silent ones on its own (TLS handshake timeout, keepalive). Driven by tests/cli/fault_overload.sh
against a server with one worker, a small max_inflight and keepalive_ms = 2000.

Environment: TC_PORT, TC_PKI, TC_DIR (data/*.csv), TC_MAX_INFLIGHT. Prints one JSON line.
"""
import csv
import datetime
import json
import os
import select
import socket
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, citizen_record, scoring_pb2, scoring_pb2_grpc  # noqa: E402

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
MAX_INFLIGHT = int(os.environ["TC_MAX_INFLIGHT"])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def scorable():
    t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(DIR, "data", "consents.csv"), newline="") as f:
        return [(r["citizen_id"], r["consent_ref"]) for r in csv.DictReader(f)
                if r["institution"] == "bank-a" and r["purpose"] == "loan-origination" and
                not r["revoked_at"] and r["granted_at"] <= t < r["expires_at"]][:200]


CITIZENS = scorable()
_n = [0]


def score_once(client, timeout=5):
    _n[0] += 1
    cid, ref = CITIZENS[_n[0] % len(CITIZENS)]
    t = time.monotonic()
    try:
        client.scoring.Score(scoring_pb2.ScoreRequest(
            request_id="ov-%d-%d" % (os.getpid(), _n[0]), citizen_id=cid, consent_ref=ref,
            purpose="loan-origination", product="unsecured-consumer"), timeout=timeout)
        code = "OK"
    except grpc.RpcError as e:
        code = e.code().name
    return code, time.monotonic() - t


def probe(client, n):
    """n Score calls one after the other: statuses and the 90th percentile latency in ms."""
    codes, lat = {}, []
    for _ in range(n):
        code, dt = score_once(client)
        codes[code] = codes.get(code, 0) + 1
        if code == "OK":
            lat.append(dt)
    lat.sort()
    p90 = lat[int(len(lat) * 0.9)] * 1000 if lat else None
    return codes, p90


def full_record(citizen):
    return citizen_record(os.path.join(DIR, "data", "population.csv"),
                          os.path.join(DIR, "models", "catalog.json"), citizen)


good = Client(PORT, PKI, "bank-a")
base_codes, base_p90 = probe(good, 100)
check(base_codes == {"OK": 100}, "baseline: every call OK, got %s" % base_codes)
result = {"baseline_p90_ms": base_p90}


def bound():
    """Latency a well-behaved client may see while others misbehave: the same order as with
    nobody misbehaving (generous: this machine is shared by the other tests)."""
    return 4 * base_p90 + 50


# 1. TCP connections that never start TLS: closed by the server's handshake timeout (10 s)
t_idle = time.monotonic()
idle = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(50)]
# ... and ones that send half a TLS ClientHello, then nothing
for _ in range(10):
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(bytes.fromhex("160301020001"))  # record header + the start of a handshake
    idle.append(s)
idle_closed = {}  # socket index -> seconds after t_idle when the server closed it


def watch_idle():
    while len(idle_closed) < len(idle) and time.monotonic() - t_idle < 20:
        open_ = [s for i, s in enumerate(idle) if i not in idle_closed]
        r, _, _ = select.select(open_, [], [], 0.2)
        for s in r:
            try:
                gone = s.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                idle_closed[idle.index(s)] = time.monotonic() - t_idle


idle_watcher = threading.Thread(target=watch_idle, daemon=True)
idle_watcher.start()

# 2. slow PutCitizens streams: one record each, then silence until their deadline (each holds
#    a slot and counts against max_inflight, as a call the server is still receiving does)
steward = Client(PORT, PKI, "steward")
record = full_record(CITIZENS[0][0])
n_slow = max(1, MAX_INFLIGHT // 2)


def slow_stream():
    yield record
    time.sleep(5)


slow = [steward.steward.PutCitizens.future(slow_stream(), timeout=3) for _ in range(n_slow)]
time.sleep(0.3)
codes, p90 = probe(good, 100)
result["during_slow_streams"] = {"codes": codes, "p90_ms": p90}
check(codes == {"OK": 100}, "slow streams + idle TCP: well-behaved calls all OK, got %s" % codes)
check(p90 is not None and p90 < bound(), "slow streams: p90 %.1f ms, bound %.1f ms" %
      (p90 or -1, bound()))
for f in slow:
    try:
        f.result()
        check(False, "a stalled PutCitizens stream was answered OK")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
              "stalled stream ended %s" % e.code().name)

# 3. a client that sends many calls on one connection and then never reads a reply (a TCP
#    proxy that stops reading the server's side once the connection is up)
stall = threading.Event()
upstream = []


def proxy(lsock):
    c, _ = lsock.accept()
    s = socket.socket()
    # a small receive buffer: the kernel must not absorb megabytes of replies on our behalf
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.connect(("127.0.0.1", PORT))
    upstream.append(s)

    def up():
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                s.sendall(d)
        except OSError:
            pass

    def down():
        try:
            while not stall.is_set():
                r, _, _ = select.select([s], [], [], 0.05)
                if r:
                    d = s.recv(65536)
                    if not d:
                        break
                    c.sendall(d)
        except OSError:
            pass

    threading.Thread(target=up, daemon=True).start()
    threading.Thread(target=down, daemon=True).start()


lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(1)
threading.Thread(target=proxy, args=(lsock,), daemon=True).start()
# A small flow-control window per stream (and no probing to grow it): a reply cannot leave the
# server until the client reads, so the calls stay unfinished on the server's side.
with open(os.path.join(PKI, "ca.pem"), "rb") as f:
    ca = f.read()
with open(os.path.join(PKI, "bank-a.key"), "rb") as f:
    key = f.read()
with open(os.path.join(PKI, "bank-a.pem"), "rb") as f:
    cert = f.read()
mute_channel = grpc.secure_channel(
    "127.0.0.1:%d" % lsock.getsockname()[1], grpc.ssl_channel_credentials(ca, key, cert),
    options=[("grpc.ssl_target_name_override", "localhost"),
             ("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)])
mute = scoring_pb2_grpc.ScoringStub(mute_channel)
models = mute.ListModels(scoring_pb2.ListModelsRequest(), timeout=5)
champion = [m.name for m in models.models if m.status == scoring_pb2.MODEL_STATUS_CHAMPION][0]
stall.set()
time.sleep(0.2)
t_stall = time.monotonic()
# Far more calls than max_inflight, each reply several KB, in waves the server accepts: once
# the client's flow-control window is used up, the replies stay in the server, their calls
# unfinished. No deadline: only the server can end them.
unread = []
for _ in range(40):
    unread += [mute.GetModel.future(scoring_pb2.GetModelRequest(name=champion))
               for _ in range(MAX_INFLIGHT)]
    time.sleep(0.01)
codes, p90 = probe(good, 100)
result["during_unread_replies"] = {"codes": codes, "p90_ms": p90}
check(codes == {"OK": 100}, "never-reading client: well-behaved calls all OK, got %s" % codes)
check(p90 is not None and p90 < bound(), "never-reading client: p90 %.1f ms, bound %.1f ms" %
      (p90 or -1, bound()))
# The server gives up on the silent connection: its keepalive ping is not answered (2 s, then
# 2 s more). Its FIN waits behind the replies nobody read, so read them now (the client still
# sees nothing) and look for the end of the stream.
time.sleep(max(0.0, 6.0 - (time.monotonic() - t_stall)))
s = upstream[0]
s.settimeout(3)
dropped = False
try:
    while True:
        if s.recv(65536) == b"":
            dropped = True
            break
except OSError:  # a reset: dropped as well
    dropped = not isinstance(sys.exc_info()[1], socket.timeout)
result["unread_connection_dropped_within_6_s"] = dropped
check(dropped, "the server kept the never-reading connection open")

# the idle TCP connections: closed by the server within its 10 s handshake timeout (+ slack)
idle_watcher.join()
result["idle_tcp_closed"] = len(idle_closed)
result["idle_tcp_closed_after_s"] = round(max(idle_closed.values(), default=-1), 1)
check(len(idle_closed) == len(idle), "idle TCP connections closed by the server: %d of %d" %
      (len(idle_closed), len(idle)))
check(max(idle_closed.values(), default=99) < 15, "idle TCP connections closed after %.1f s" %
      max(idle_closed.values(), default=-1))

# and the server serves on
codes, _ = probe(good, 20)
check(codes == {"OK": 20}, "after it all: %s" % codes)
result["failures"] = failures
print(json.dumps(result), flush=True)
# the never-reading client's calls are still pending on its side: do not wait for them
os._exit(1 if failures else 0)
