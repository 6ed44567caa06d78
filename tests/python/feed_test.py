"""The consent feed with a real broker and three replicas (run by tests/cli/consent_feed.sh,
which makes the PKI, the steward database, one snapshot and configuration per replica).

While bank-a scores on every replica without pause:
  1. a revocation through one replica's Steward API is refused on every replica;
  2. a burst of revocations, with one replica killed with SIGKILL in the middle of it: on
     restart it applies every event it missed — its consents then equal the others', none lost
     and none out of order — and its feed position is the stream's last entry;
  3. events from an upstream producer, published straight to the stream: a grant, its
     revocation, then a late older grant and a duplicate — the older grant never undoes the
     revocation, on any replica; a newer grant does;
  4. the broker killed with SIGKILL and restarted: while it is down, replicas go past their lag
     bound and refuse to score (UNAVAILABLE with ErrorInfo CONSENT_FEED_BEHIND, health
     NOT_SERVING, tinchap_consent_lag_seconds past the bound), steward writes are refused with
     nothing written; it comes back slowly (about 2 s LOADING its append-only file, which
     is no gap); once it is back, nothing it had acknowledged is lost and replicas serve
     again by themselves;
  5. a replica stopped while a backlog of thousands of events builds up: restarted, it refuses
     to score until it has applied all of them (never an answer for a consent revoked in the
     backlog), then serves.
A malformed entry in the stream is logged and skipped, and no raw citizen ID reaches a log.

--bench N measures instead: revocation-to-refusal on each replica over N revocations under
Score load, and events applied per second (benchmarks/RESULTS.md).
"""
import argparse
import hashlib
import hmac
import importlib.util
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
import requests

sys.path.insert(0, os.path.dirname(__file__))
from service_client import (Client, API, scorable, steward_pb2, metric,  # noqa: E402
                            error_details)

STREAM = "tinchap:consent"
AUDIT_STREAM = "tinchap:audit"  # where every node ships its audit records
NOW = lambda: time.time()  # noqa: E731


def _load_protos():
    out = tempfile.mkdtemp(prefix="tinchap-feed-py-")
    protos = ["tinchap/v1/consent_event.proto"]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + API,
                    "--python_out=" + out] + protos, check=True)
    spec = importlib.util.spec_from_file_location(
        "tc_consent_event_pb2", os.path.join(out, "tinchap/v1/consent_event_pb2.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


event_pb2 = _load_protos()
failures = []


def check(what, ok, detail=""):
    if not ok:
        failures.append(what)
        print("FAIL: %s %s" % (what, detail), file=sys.stderr, flush=True)


class Redis:
    """The few commands the test needs, in RESP over the broker's Unix socket."""

    def __init__(self, path, user, password):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")
        self.cmd("AUTH", user, password)

    def cmd(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def pipeline(self, commands):
        buf = []
        for args in commands:
            buf.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                buf.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(buf))
        return [self._read() for _ in commands]

    def _read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def close(self):
        self.sock.close()


class Cluster:
    def __init__(self, work, tinchapd, redis_server, n):
        self.work, self.tinchapd, self.redis_server = work, tinchapd, redis_server
        self.pki = os.path.join(work, "pki")
        self.secret = open(os.path.join(work, "secret"), "rb").read()
        self.sock = os.path.join(work, "redis", "redis.sock")
        self.password = open(os.path.join(work, "redis", "password")).read().strip()
        self.n = n
        self.procs, self.ports, self.mports, self.rports, self.logs = {}, {}, {}, {}, {}
        self.redis = None
        self.restarts = 0

    # ---- the broker ----
    def start_broker(self, load_delay_us=0):
        """Start the broker and wait until it answers. load_delay_us slows the reading back of
        its append-only file per command (Redis' key-load-delay), so that replicas reconnect
        while it is still LOADING, as they do to a real broker with a large file."""
        d = os.path.join(self.work, "redis")
        conf = os.path.join(d, "redis.conf")
        # durability: every write is in the append-only file, fsynced, before it is
        # acknowledged; access: no default user, the nodes' user reads and adds to the
        # feed's stream and the audit stream
        with open(conf, "w") as f:
            f.write("port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\nappendonly yes\n"
                    "appendfsync always\nsave \"\"\ndaemonize no\nlogfile %s\n"
                    "user default off\n"
                    "user tinchap on >%s ~%s ~%s +ping +xadd +xread +xinfo +xlen +auth\n"
                    "user operator on >%s ~* +@all\nkey-load-delay %d\n"
                    % (self.sock, d, os.path.join(d, "redis.log"), self.password, STREAM,
                       AUDIT_STREAM, self.password, load_delay_us))
        # The broker keeps the real clock when CI moves ours years ahead (.ci/run): it is not
        # ours to test, and its allocator does not start under libfaketime. Nodes never compare
        # their clock with its stream IDs, so the suite still runs the nodes years ahead.
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
        self.redis = subprocess.Popen([self.redis_server, conf], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=env)
        for _ in range(600):
            try:
                r = Redis(self.sock, "tinchap", self.password)
                r.cmd("PING")
                return r
            except OSError:
                time.sleep(0.05)
            except RuntimeError as e:  # an error reply: LOADING, until the file is read back
                if not str(e).startswith("LOADING"):
                    raise
                r.close()
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill_broker(self):
        self.redis.send_signal(signal.SIGKILL)
        self.redis.wait()

    # ---- replicas ----
    def start(self, i, port=0):
        r = os.path.join(self.work, "r%d" % i)
        pf = os.path.join(r, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.restarts += 1
        log = os.path.join(r, "server.%d.log" % self.restarts)
        self.logs.setdefault(i, []).append(log)
        self.procs[i] = subprocess.Popen(
            [self.tinchapd, "--config", os.path.join(r, "conf.json"), "--port-file", pf,
             "--listen", "127.0.0.1:%d" % port], stderr=open(log, "w"))
        for _ in range(200):
            if os.path.exists(pf) and open(pf).read().strip():
                break
            if self.procs[i].poll() is not None:
                raise RuntimeError("replica %d exited: %s" % (i, open(log).read()))
            time.sleep(0.05)
        self.ports[i] = int(open(pf).read())
        for line in open(log):
            if '"metrics_port"' in line:
                self.mports[i] = json.loads(line)["metrics_port"]
                self.rports[i] = json.loads(line).get("rest_port")
        return self.ports[i]

    def kill(self, i, sig=signal.SIGKILL):
        self.procs[i].send_signal(sig)
        self.procs[i].wait()

    def client(self, i, who):
        return Client(self.ports[i], pki=self.pki, who=who, own_connection=True)

    def serving(self, i):
        try:
            return self.client(i, "bank-a").health("tinchap.v1.Scoring", timeout=2).status == 1
        except grpc.RpcError:
            return False

    def stop_all(self):
        """SIGTERM every replica still running; {replica: exit status} of those."""
        running = {i: p for i, p in self.procs.items() if p.poll() is None}
        for p in running.values():
            p.send_signal(signal.SIGTERM)
        codes = {}
        for i, p in running.items():
            try:
                codes[i] = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[i] = "hung"
        if self.redis is not None and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()
        return codes

    def key(self, citizen):
        return hmac.new(self.secret, citizen.encode(), hashlib.sha256).digest()[:16]


def wait_for(what, secs, fn):
    end = NOW() + secs
    while NOW() < end:
        if fn():
            return True
        time.sleep(0.02)
    check(what + " (waited %d s)" % secs, False)
    return False


_RID = iter(range(1 << 62))


def rid():
    return "feed-%d-%d" % (os.getpid(), next(_RID))


def score_code(client, citizen, ref):
    try:
        client.score(request_id=rid(), citizen_id=citizen, consent_ref=ref, purpose="loan-origination",
                     product="unsecured-consumer", loan_amount_vnd=20000000,
                     loan_term_months=12, timeout=5)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def rest_refusal_behind(cl, i, applicant):
    """Score over REST on replica i, past the lag bound: the same refusal as over gRPC, as
    HTTP 503 with the google.rpc.Status as its body."""
    s = requests.Session()
    s.trust_env = False
    s.verify = os.path.join(cl.pki, "ca.pem")
    s.cert = (os.path.join(cl.pki, "bank-a.pem"), os.path.join(cl.pki, "bank-a.key"))
    body = {"citizenId": applicant[0], "consentRef": applicant[1], "requestId": rid(),
            "purpose": "loan-origination", "product": "unsecured-consumer",
            "loanAmountVnd": "20000000", "loanTermMonths": 12}
    r = s.post("https://localhost:%d/v1/score" % cl.rports[i], json=body, timeout=10)
    answer = r.json()
    infos = [d for d in answer.get("details", []) if d["@type"].endswith("google.rpc.ErrorInfo")]
    check("past the lag bound: REST Score 503 on replica %d" % i, r.status_code == 503,
          str(r.status_code))
    check("past the lag bound: REST ErrorInfo CONSENT_FEED_BEHIND on replica %d" % i,
          len(infos) == 1 and infos[0]["reason"] == "CONSENT_FEED_BEHIND" and
          int(infos[0]["metadata"]["lag_ms"]) > 1000, str(answer))
    check("past the lag bound: no citizen ID in the REST answer on replica %d" % i,
          applicant[0] not in r.text)
    s.close()


class Load:
    """bank-a scoring on every replica without pause, on citizens nobody revokes."""

    def __init__(self, cluster, pairs):
        self.cluster, self.pairs = cluster, pairs
        self.stop = threading.Event()
        self.counts = {}
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(1, cluster.n + 1)]
        for t in self.threads:
            t.start()

    def run(self, i):
        k, client, port = 0, None, None
        while not self.stop.is_set():
            if port != self.cluster.ports.get(i):
                port = self.cluster.ports.get(i)
                client = self.cluster.client(i, "bank-a")
            c, r = self.pairs[k % len(self.pairs)]
            k += 1
            code = self.score(client, c, r)
            key = (i, code.name)
            self.counts[key] = self.counts.get(key, 0) + 1
            if code != grpc.StatusCode.OK:
                time.sleep(0.01)

    def score(self, client, citizen, ref):
        return score_code(client, citizen, ref)

    def ok(self, i):
        return self.counts.get((i, "OK"), 0)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


def consents_of(client, citizen):
    r = client.steward.ListConsents(steward_pb2.ListConsentsRequest(citizen_id=citizen),
                                    timeout=10)
    return sorted(str(c).replace("\n", " ") for c in r.consents)


def stream_last(redis):
    info = redis.cmd("XINFO", "STREAM", STREAM)
    d = dict(zip(info[::2], info[1::2]))
    return d[b"last-generated-id"].decode(), d[b"length"]


def position_of(cluster, i):
    """The last stream entry replica i applied, "<ms>-<seq>", from its metrics."""
    try:
        return "%d-%d" % (round(1000 * metric(cluster.mports[i],
                                              "tinchap_consent_feed_position_timestamp_seconds")),
                          metric(cluster.mports[i], "tinchap_consent_feed_position_seq"))
    except OSError:
        return None


def publish(redis, cluster, kind, citizen, version, **fields):
    e = event_pb2.ConsentEvent(kind=kind, citizen_key=cluster.key(citizen), version=version,
                               origin="population-data-platform", **fields)
    return redis.cmd("XADD", STREAM, "*", "event", e.SerializeToString()).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--tinchapd", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--bench", type=int, default=0)
    ap.add_argument("--loadgen", default="")
    a = ap.parse_args()
    cl = Cluster(a.work, a.tinchapd, a.redis, a.replicas)
    try:
        run(cl, a)
    finally:
        codes = cl.stop_all()
    if not a.bench:  # a clean drain, and (under ASan) no leak, with the consumer running
        check("every replica exits 0 on SIGTERM", all(c == 0 for c in codes.values()),
              str(codes))
    print("consent feed: %s" % ("ok" if not failures else "%d failures" % len(failures)))
    return 1 if failures else 0


def wrong_password(cl, a):
    """A node with the wrong broker password: never current, so never serving, and its log
    says why without the password."""
    conf = json.load(open(os.path.join(a.work, "r1", "conf.json")))
    bad = os.path.join(a.work, "wrong-password")
    with open(bad, "w") as f:
        f.write("not-the-password\n")
    os.chmod(bad, 0o600)
    conf["consent_feed"]["password_file"] = bad
    conf["database"] = os.path.join(a.work, "db")
    conf["audit"] = os.path.join(a.work, "audit-r0")
    os.makedirs(os.path.join(a.work, "r0"), exist_ok=True)
    json.dump(conf, open(os.path.join(a.work, "r0", "conf.json"), "w"))
    cl.start(0)
    time.sleep(1.5)
    check("a node with the wrong broker password is NOT_SERVING", not cl.serving(0))
    cl.kill(0, signal.SIGTERM)
    text = open(cl.logs[0][-1]).read()
    check("its log says the broker refused it", "authentication refused" in text, text[-400:])
    check("its log never shows a password", "not-the-password" not in text and
          cl.password not in text)
    del cl.procs[0]


def run(cl, a):
    redis = cl.start_broker()
    for i in range(1, cl.n + 1):
        cl.start(i)
    for i in range(1, cl.n + 1):
        wait_for("replica %d serves once it has read the feed" % i, 20, lambda i=i: cl.serving(i))
    if not a.bench:
        wrong_password(cl, a)
    pairs = scorable(os.path.join(a.work, "data"))
    victims, steady = pairs[:len(pairs) // 2], pairs[len(pairs) // 2:]
    if a.bench:
        return bench(cl, a, redis, victims, steady, a.bench)
    load = Load(cl, steady)
    steward = cl.client(1, "steward")
    wait_for("Score load on every replica", 30,
             lambda: all(load.ok(i) > 20 for i in range(1, cl.n + 1)))
    revoked = []

    # 1. one revocation through replica 1's Steward API: refused on every replica
    c, r = victims.pop()
    for i in range(1, cl.n + 1):
        check("victim scorable on replica %d first" % i,
              score_code(cl.client(i, "bank-a"), c, r) == grpc.StatusCode.OK)
    steward.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
        citizen_id=c, institution="bank-a", purpose="loan-origination"), timeout=10)
    revoked.append((c, r))
    for i in range(1, cl.n + 1):
        wait_for("the revocation is refused on replica %d" % i, 10,
                 lambda i=i: score_code(cl.client(i, "bank-a"), c, r) ==
                 grpc.StatusCode.PERMISSION_DENIED)

    # 2. a burst of revocations; replica 3 killed with SIGKILL in the middle of it
    burst = [victims.pop() for _ in range(120)]
    for k, (c, r) in enumerate(burst):
        if k == 40:
            cl.kill(3)
        steward.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
            citizen_id=c, institution="bank-a", purpose="loan-origination"), timeout=10)
        revoked.append((c, r))
    cl.start(3, cl.ports[3])
    wait_for("replica 3 serves again after kill -9", 20, lambda: cl.serving(3))
    last, _ = stream_last(redis)
    check("replica 3 resumed to the stream's last entry", position_of(cl, 3) == last,
          "%s != %s" % (position_of(cl, 3), last))
    c3, c1 = cl.client(3, "steward"), cl.client(1, "steward")
    for c, r in burst:
        if consents_of(c3, c) != consents_of(c1, c):
            check("replica 3's consents equal replica 1's after its restart", False)
            break
    refused = sum(score_code(cl.client(3, "bank-a"), c, r) == grpc.StatusCode.PERMISSION_DENIED
                  for c, r in burst)
    check("every revocation of the burst is refused on replica 3", refused == len(burst),
          "%d of %d" % (refused, len(burst)))

    # 3. an upstream producer publishes directly: grant, revoke, a late older grant, a duplicate
    c, _ = victims.pop()
    t0 = int(NOW())
    ref = "UPSTREAM-%d" % t0
    grant = dict(institution="bank-a", purpose="loan-origination", consent_ref=ref,
                 granted_at=t0 - 60, expires_at=t0 + 86400 * 30)
    v = int(NOW() * 1e6)
    publish(redis, cl, event_pb2.ConsentEvent.GRANT, c, v, **grant)
    publish(redis, cl, event_pb2.ConsentEvent.REVOKE, c, v + 2, institution="bank-a",
            purpose="loan-origination", revoked_at=t0)
    publish(redis, cl, event_pb2.ConsentEvent.GRANT, c, v + 1, **grant)  # late, older
    publish(redis, cl, event_pb2.ConsentEvent.REVOKE, c, v + 2, institution="bank-a",
            purpose="loan-origination", revoked_at=t0)  # duplicate
    redis.cmd("XADD", STREAM, "*", "event", b"\xff\xfe not a ConsentEvent")
    marker = publish(redis, cl, event_pb2.ConsentEvent.GRANT, victims[-1][0], 1,
                     **dict(grant, consent_ref="OLD"))  # older than the loaded consent: stale
    for i in range(1, cl.n + 1):
        wait_for("replica %d applied the upstream events" % i, 10,
                 lambda i=i: position_of(cl, i) == marker)
        check("a late older grant does not undo a revocation on replica %d" % i,
              score_code(cl.client(i, "bank-a"), c, ref) == grpc.StatusCode.PERMISSION_DENIED)
        check("a stale grant leaves the loaded consent on replica %d" % i,
              score_code(cl.client(i, "bank-a"), *victims[-1]) == grpc.StatusCode.OK)
    publish(redis, cl, event_pb2.ConsentEvent.GRANT, c, v + 3, **dict(grant, granted_at=t0 + 1))
    for i in range(1, cl.n + 1):
        wait_for("a newer grant is scored again on replica %d" % i, 10,
                 lambda i=i: score_code(cl.client(i, "bank-a"), c, ref) == grpc.StatusCode.OK)
        check("replica %d counted the stale and rejected events" % i,
              metric(cl.mports[i], 'tinchap_consent_events_total{outcome="stale"}') >= 3 and
              metric(cl.mports[i], 'tinchap_consent_events_total{outcome="rejected"}') == 1)
    revoked.append((c, ref))  # revoked again below, with the broker's restart

    # 4. the broker killed with SIGKILL: replicas past the lag bound refuse; restarted, nothing
    #    acknowledged is lost and replicas serve again by themselves
    _, length_before = stream_last(redis)
    before_down = consents_of(cl.client(1, "steward"), c)
    redis.close()
    cl.kill_broker()
    time.sleep(1.6)  # past consent_max_lag_ms (1000)
    for i in range(1, cl.n + 1):
        cli = cl.client(i, "bank-a")
        try:
            cli.score(request_id=rid(), citizen_id=steady[0][0], consent_ref=steady[0][1], purpose="loan-origination",
                      product="unsecured-consumer", loan_amount_vnd=20000000,
                     loan_term_months=12, timeout=5)
            check("replica %d past the lag bound refuses to score" % i, False)
        except grpc.RpcError as e:
            check("past the lag bound: UNAVAILABLE on replica %d" % i,
                  e.code() == grpc.StatusCode.UNAVAILABLE, str(e.code()))
            info = error_details(e)
            check("past the lag bound: ErrorInfo CONSENT_FEED_BEHIND on replica %d" % i,
                  info is not None and info["reason"] == "CONSENT_FEED_BEHIND" and
                  info["domain"] == "tinchap.v1" and int(info["metadata"]["lag_ms"]) > 1000 and
                  info["metadata"]["max_lag_ms"] == "1000" and info["retry_s"] is not None,
                  str(info))
        rest_refusal_behind(cl, i, steady[0])
        check("past the lag bound: health NOT_SERVING on replica %d" % i, not cl.serving(i))
        check("tinchap_consent_lag_seconds past the bound on replica %d" % i,
              metric(cl.mports[i], "tinchap_consent_lag_seconds") > 1.0)
    try:
        steward.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
            citizen_id=c, institution="bank-a", purpose="loan-origination"), timeout=10)
        check("a steward write without a broker is refused", False)
    except grpc.RpcError as e:
        check("a steward write without a broker: UNAVAILABLE, nothing written",
              e.code() == grpc.StatusCode.UNAVAILABLE and "nothing was written" in e.details(),
              e.details())
        info = error_details(e)
        check("a steward write without a broker: ErrorInfo CONSENT_FEED_UNAVAILABLE",
              info is not None and info["reason"] == "CONSENT_FEED_UNAVAILABLE" and
              info["retry_s"] is not None, str(info))
    check("nothing written on replica 1 while the broker is down",
          consents_of(cl.client(1, "steward"), c) == before_down, str(consents_of(
              cl.client(1, "steward"), c)))
    # restarted slowly: about 2 s of LOADING, in which every replica reconnects (every 200 ms)
    # and must take the broker's refusals for what they are, not for a lost stream
    aof = os.path.join(cl.work, "redis", "appendonlydir")
    commands = sum(open(os.path.join(aof, n), "rb").read().count(b"\r\nXADD\r\n")
                   for n in os.listdir(aof) if n.endswith(".aof"))
    t_restart = NOW()
    redis = cl.start_broker(load_delay_us=max(1, 2000000 // max(commands, 1)))
    check("the restarted broker was LOADING for a while (%d commands, %.1f s)" %
          (commands, NOW() - t_restart), NOW() - t_restart > 1.0)
    _, length_after = stream_last(redis)
    check("the restarted broker kept every entry", length_after == length_before,
          "%d != %d" % (length_after, length_before))
    for i in range(1, cl.n + 1):
        wait_for("replica %d serves again by itself" % i, 20, lambda i=i: cl.serving(i))
        logged = "".join(open(cl.logs[i][-1]).readlines())
        check("replica %d met the broker LOADING and found no gap" % i,
              "LOADING" in logged and "consent_feed_gap" not in logged)
    steward.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
        citizen_id=c, institution="bank-a", purpose="loan-origination"), timeout=10)
    for i in range(1, cl.n + 1):
        wait_for("after the broker's restart a revocation is refused on replica %d" % i, 10,
                 lambda i=i: score_code(cl.client(i, "bank-a"), c, ref) ==
                 grpc.StatusCode.PERMISSION_DENIED)

    # 5. replica 2 down while a backlog builds: restarted, it serves only once caught up
    cl.kill(2, signal.SIGTERM)
    backlog = victims[:200]
    del victims[:200]
    cmds = []
    v = int(NOW() * 1e6)
    for k in range(30000):  # grants of other purposes, then the revocations last
        c, _ = steady[k % len(steady)]
        e = event_pb2.ConsentEvent(
            kind=event_pb2.ConsentEvent.GRANT, citizen_key=cl.key(c), version=v + k,
            institution="bank-b", purpose="backlog-%d" % (k % 7), consent_ref="B-%d" % k,
            granted_at=t0 - 60, expires_at=t0 + 86400)
        cmds.append(("XADD", STREAM, "*", "event", e.SerializeToString()))
    for k, (c, r) in enumerate(backlog):
        e = event_pb2.ConsentEvent(kind=event_pb2.ConsentEvent.REVOKE, citizen_key=cl.key(c),
                                   version=v + 10000 + k, institution="bank-a",
                                   purpose="loan-origination", revoked_at=t0)
        cmds.append(("XADD", STREAM, "*", "event", e.SerializeToString()))
    for k in range(0, len(cmds), 5000):
        redis.pipeline(cmds[k:k + 5000])
    revoked += backlog
    last_c, last_r = backlog[-1]
    cl.start(2, cl.ports[2])
    early = cl.client(2, "bank-a")
    answers = {}
    end = NOW() + 60
    while not cl.serving(2) and NOW() < end:
        code = score_code(early, last_c, last_r)
        answers[code.name] = answers.get(code.name, 0) + 1
        check("a catching-up replica never scores a revoked consent",
              code != grpc.StatusCode.OK)
    print("replica 2 while catching up: %s" % answers)
    # and from its own log: no Score answered OK before it caught up with the feed
    seen_current, early_ok, early_refused = False, 0, 0
    for line in open(cl.logs[2][-1]):
        ev = json.loads(line)
        if ev.get("event") == "consent_feed_current":
            seen_current = True
            break
        if ev.get("event") == "call" and ev.get("method") == "Score":
            early_ok += ev.get("status") == "OK"
            early_refused += ev.get("status") == "UNAVAILABLE"
    print("replica 2 before it caught up: %d Score refused, %d answered" % (early_refused,
                                                                             early_ok))
    check("replica 2 logged that it caught up", seen_current)
    check("replica 2 answered no Score before it caught up", early_ok == 0, str(early_ok))
    # no backlog revocation is ever scored, wherever a replica is in applying it; once it has
    # applied it all (the others applied it while replica 2 was down, slowly under a sanitizer),
    # every one is refused as revoked (until then a refusal may be UNAVAILABLE, fail closed)
    end_of_backlog, _ = stream_last(redis)
    for i in range(1, cl.n + 1):
        scored = [c for c, r in backlog
                  if score_code(cl.client(i, "bank-a"), c, r) == grpc.StatusCode.OK]
        check("no backlog revocation scored on replica %d" % i, not scored, str(len(scored)))
        wait_for("replica %d applied the backlog" % i, 120,
                 lambda i=i: position_of(cl, i) == end_of_backlog and cl.serving(i))
        bad = {}
        for c, r in backlog:
            code = score_code(cl.client(i, "bank-a"), c, r)
            if code != grpc.StatusCode.PERMISSION_DENIED:
                bad[code.name] = bad.get(code.name, 0) + 1
        check("every backlog revocation refused on replica %d" % i, not bad, str(bad))

    with open(os.path.join(a.work, "metrics.txt"), "w") as f:
        f.write(urllib.request.urlopen("http://127.0.0.1:%d/metrics" % cl.mports[1],
                                       timeout=10).read().decode())
    load.close()
    print("Score load: %s" % json.dumps({"%d %s" % k: v for k, v in sorted(load.counts.items())}))
    for i in range(1, cl.n + 1):
        check("replica %d scored under load" % i, load.ok(i) > 100, str(load.ok(i)))
    # no raw citizen ID in any log
    ids = {c for c, _ in pairs}
    for i, logs in cl.logs.items():
        for log in logs:
            text = open(log).read()
            leaked = [c for c in ids if c in text]
            check("no citizen ID in %s" % log, not leaked)
            if "consent_event_rejected" not in text and i == 1 and log == logs[0]:
                check("the malformed entry is logged on replica 1", False)


def loadgen(cl, a, i, steady, label, seconds=8):
    """benchmarks/loadgen against one node: closed loop, 4 calls in flight, bank-a."""
    citizens = os.path.join(a.work, "citizens.csv")
    with open(citizens, "w") as f:
        f.writelines("%s,%s\n" % p for p in steady)
    out = subprocess.run(
        [a.loadgen, "--target", "127.0.0.1:%d" % cl.ports[i], "--server-pid", str(cl.procs[i].pid), "--ca", os.path.join(cl.pki, "ca.pem"),
         "--cert", os.path.join(cl.pki, "bank-a.pem"), "--key", os.path.join(cl.pki, "bank-a.key"),
         "--server-name", "localhost", "--concurrency", "4", "--duration", str(seconds),
         "--warmup", "2", "--citizens", citizens, "--label", label],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def publisher(cl, rate, stop, counter):
    """An upstream producer adding grants of another bank at about rate events a second."""
    r = Redis(cl.sock, "tinchap", cl.password)
    t0, k = int(NOW()), 0
    start = time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - start) * rate)
        cmds = []
        while k < due:
            e = event_pb2.ConsentEvent(
                kind=event_pb2.ConsentEvent.GRANT, citizen_key=cl.key("%012d" % (k % 100000)),
                version=int(NOW() * 1e6) + k, institution="bank-b", purpose="p%d" % (k % 9),
                consent_ref="LOAD-%d" % k, granted_at=t0 - 60, expires_at=t0 + 86400)
            cmds.append(("XADD", STREAM, "*", "event", e.SerializeToString()))
            k += 1
        if cmds:
            r.pipeline(cmds)
        counter[0] = k
        time.sleep(0.005)
    r.close()


def bench(cl, a, redis, victims, steady, n):
    """Revocation-to-refusal per replica, events applied per second, and the consumer's cost on
    Score's latency. Prints one JSON object."""
    out = {"revocations": n, "replicas": {}}
    load = Load(cl, steady)
    steward = cl.client(1, "steward")
    clients = {i: cl.client(i, "bank-a") for i in range(1, cl.n + 1)}
    delays = {i: [] for i in range(1, cl.n + 1)}
    t0 = int(NOW())
    done = 0
    while done < n:
        for c, r in victims:
            if done >= n:
                break
            # grant (upstream), wait until every replica scores it, then revoke through the API
            publish(redis, cl, event_pb2.ConsentEvent.GRANT, c, int(NOW() * 1e6),
                    institution="bank-a", purpose="loan-origination", consent_ref=r,
                    granted_at=t0 - 60, expires_at=t0 + 86400 * 30)
            for i in clients:
                while score_code(clients[i], c, r) != grpc.StatusCode.OK:
                    time.sleep(0.001)
            start = time.monotonic()
            steward.steward.RevokeConsent(steward_pb2.RevokeConsentRequest(
                citizen_id=c, institution="bank-a", purpose="loan-origination"), timeout=10)
            pending = set(clients)
            while pending:
                for i in list(pending):
                    if score_code(clients[i], c, r) == grpc.StatusCode.PERMISSION_DENIED:
                        delays[i].append(time.monotonic() - start)
                        pending.discard(i)
            done += 1
    load.close()
    for i, d in delays.items():
        d.sort()
        out["replicas"][i] = {"p50_ms": round(d[len(d) // 2] * 1e3, 2),
                              "p99_ms": round(d[max(0, int(len(d) * 0.99) - 1)] * 1e3, 2),
                              "max_ms": round(d[-1] * 1e3, 2),
                              "mean_ms": round(statistics.mean(d) * 1e3, 2)}
    out["score_ok_during"] = {i: load.ok(i) for i in clients}
    print(json.dumps(out), flush=True)

    # Score's latency on replica 1: feed idle; feed applying 2 000 events/s; and a node on the
    # same data without a feed
    if a.loadgen:
        lat = {"feed idle": loadgen(cl, a, 1, steady, "feed idle")}
        stop, counter = threading.Event(), [0]
        t = threading.Thread(target=publisher, args=(cl, 2000, stop, counter))
        t.start()
        lat["feed applying 2000 events/s"] = loadgen(cl, a, 1, steady, "feed busy")
        stop.set()
        t.join()
        lat["feed applying 2000 events/s"]["events_published"] = counter[0]
        conf = json.load(open(os.path.join(a.work, "r1", "conf.json")))
        for k in ("consent_feed", "consent_max_lag_ms"):
            conf.pop(k)
        conf["database"] = os.path.join(a.work, "db")
        conf["audit"] = os.path.join(a.work, "audit-nofeed")
        os.makedirs(os.path.join(a.work, "r0"), exist_ok=True)
        json.dump(conf, open(os.path.join(a.work, "r0", "conf.json"), "w"))
        cl.start(0)
        lat["no feed"] = loadgen(cl, a, 0, steady, "no feed")
        out["score_latency"] = {k: {"calls_per_s": v["throughput_rps"],
                                    "p50_us": v["latency_us"]["p50"],
                                    "p99_us": v["latency_us"]["p99"],
                                    "server_cpu_us_per_call": v.get("server_cpu_us_per_call"),
                                    "errors": v["errors"]} for k, v in lat.items()}
        out["score_latency_raw"] = lat
        print(json.dumps(out["score_latency"]), flush=True)

    # events applied per second: replica 2 stopped, 50 000 events queued, restarted
    cl.kill(2, signal.SIGTERM)
    v = int(NOW() * 1e6)
    cmds = []
    for k in range(50000):
        c, _ = steady[k % len(steady)]
        e = event_pb2.ConsentEvent(
            kind=event_pb2.ConsentEvent.GRANT if k % 2 == 0 else event_pb2.ConsentEvent.REVOKE,
            citizen_key=cl.key(c), version=v + k, institution="bank-b",
            purpose="bench-%d" % (k % 50), consent_ref="BENCH-%d" % k, granted_at=t0 - 60,
            expires_at=t0 + 86400, revoked_at=t0 if k % 2 else 0)
        cmds.append(("XADD", STREAM, "*", "event", e.SerializeToString()))
    for k in range(0, len(cmds), 5000):
        redis.pipeline(cmds[k:k + 5000])
    start = time.monotonic()
    cl.start(2, cl.ports[2])
    while not cl.serving(2):
        time.sleep(0.005)
    secs = time.monotonic() - start
    applied = metric(cl.mports[2], 'tinchap_consent_events_total{outcome="applied"}')
    out["catch_up"] = {"events_queued": 50000, "applied_on_restart": applied,
                       "seconds_start_to_serving": round(secs, 3),
                       "events_per_second": round(applied / secs)}
    op = Redis(cl.sock, "operator", cl.password)
    length = op.cmd("XLEN", STREAM)
    mem = op.cmd("MEMORY", "USAGE", STREAM, "SAMPLES", "0")
    out["broker"] = {"entries": length, "stream_bytes": mem,
                     "bytes_per_entry": round(mem / length, 1)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
