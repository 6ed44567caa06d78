#!/usr/bin/python3
"""The comparison peer: the same Score service written the common Python way.

A grpcio server (Debian python3-grpcio) with stubs generated from tinchap's own protos, so
the load generator drives both servers with the same messages. It keeps the citizens and
consents in dicts loaded from the CSV files — or, with --lmdb DIR, in an LMDB database (Debian
python3-lmdb) built from them on first use and reused after, looked up and parsed per request
as a Python service over a key-value store would — evaluates the same scorecard file with numpy
(bins by searchsorted, the PD interval as x' S x) and answers the same ScoreResponse. It does
less than tinchapd — no audit trail, no pseudonymisation, no TLS (bearer token only) — which
favours it in the comparison.

  peer_server.py --port P --population population.csv --consents consents.csv
                 --model MODEL.json --catalog catalog.json [--lmdb DIR] [--workers N]
                 [--token T]
"""
import argparse
import csv
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import uuid
from concurrent import futures

import grpc
import numpy as np
from google.protobuf import timestamp_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
API = os.path.join(HERE, "..", "..", "api")
Z95 = 1.959963984540054


def stubs():
    out = tempfile.mkdtemp(prefix="tinchap-peer-")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + API, "--python_out=" + out,
                    "--grpc_python_out=" + out, "tinchap/v1/scoring.proto"], check=True)
    sys.path.insert(0, out)


stubs()
from tinchap.v1 import scoring_pb2, scoring_pb2_grpc  # noqa: E402


def parse_value(a, text):
    if text == "":
        return None
    if a["type"] == "category":
        return float(a["levels"].index(text))
    if a["type"] == "bool":
        return 1.0 if text in ("1", "true") else 0.0
    return float(text)


class Scorecard:
    """A scorecard model file compiled to numpy arrays, one set per characteristic."""

    def __init__(self, model, catalog):
        attrs = {a["name"]: a for a in catalog["attributes"]}
        s = model["scaling"]
        self.model = model
        self.factor = s["pdo"] / math.log(2)
        self.lo, self.hi = model["score_bounds"]["min"], model["score_bounds"]["max"]
        self.intercept = model["intercept"]
        self.cov = np.array(model["covariance"]["matrix"], dtype=float)
        self.grades = model["grades"]
        self.count = model["reasons"].get("count", 4)
        self.codes = []
        self.chars = []
        for c in model["characteristics"]:
            a = attrs[c["attribute"]]
            if c["reason_code"] not in self.codes:
                self.codes.append(c["reason_code"])
            bins = c["bins"]
            points = np.array([b["points"] for b in bins], dtype=float)
            woe = np.array([b["woe"] for b in bins], dtype=float)
            intervals = [(b.get("lower"), i) for i, b in enumerate(bins)
                         if "levels" not in b and "special" not in b and not b.get("missing")]
            intervals.sort(key=lambda t: -math.inf if t[0] is None else t[0])
            levels = {}
            for i, b in enumerate(bins):
                for lv in b.get("levels", []):
                    levels[float(int(lv)) if a["type"] == "bool" else
                           float(a["levels"].index(lv))] = i
            self.chars.append({
                "attr": c["attribute"], "coef": c["coefficient"], "points": points, "woe": woe,
                "max": points.max(), "group": self.codes.index(c["reason_code"]),
                "lowers": np.array([-math.inf if lo is None else lo for lo, _ in intervals]),
                "interval_bins": np.array([i for _, i in intervals], dtype=int),
                "levels": levels,
                "specials": {float(v): i for i, b in enumerate(bins) for v in b.get("special", [])},
                "missing": next((i for i, b in enumerate(bins) if b.get("missing")), None),
            })

    def evaluate(self, values, max_reasons):
        n = len(self.chars)
        pts = np.empty(n)
        x = np.empty(n + 1)
        x[0] = 1.0
        lost = np.zeros(len(self.codes))
        coefs = np.empty(n)
        for k, c in enumerate(self.chars):
            v = values[c["attr"]]
            if v is None:
                b = c["missing"]
            elif v in c["specials"]:
                b = c["specials"][v]
            elif c["levels"]:
                b = c["levels"][v]
            else:
                b = c["interval_bins"][np.searchsorted(c["lowers"], v, side="right") - 1]
            pts[k] = c["points"][b]
            x[k + 1] = c["woe"][b]
            coefs[k] = c["coef"]
            lost[c["group"]] += c["max"] - pts[k]
        eta = self.intercept + float(np.dot(coefs, x[1:]))
        se = math.sqrt(float(x @ self.cov @ x))
        score = float(np.clip(pts.sum(), self.lo, self.hi))
        grade = next((g for g in self.grades if score >= g["min_score"]), self.grades[-1])
        order = [g for g in np.argsort(-lost, kind="stable") if lost[g] > 0]
        order = order[: max_reasons or self.count]
        return score, eta, se, grade, [(self.codes[g], float(lost[g])) for g in order]


SEP = "\x1f"


def build_lmdb(path, population, consents):
    """The CSV rows as LMDB entries: citizen_id -> the row's attribute fields; citizen_id NUL
    institution NUL purpose -> the consent's fields. Built under a temporary name, then
    renamed, so an interrupted build is never used."""
    import lmdb
    tmp = path + ".tmp"
    subprocess.run(["rm", "-rf", tmp], check=True)
    env = lmdb.open(tmp, map_size=1 << 36, subdir=True, sync=False, writemap=False)
    with open(population, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        with env.begin(write=True) as txn:
            txn.put(b"\x00header", SEP.join(header[1:]).encode())
            for row in rows:
                txn.put(row[0].encode(), SEP.join(row[1:]).encode())
    with open(consents, newline="") as f:
        rows = csv.DictReader(f)
        with env.begin(write=True) as txn:
            for r in rows:
                key = "\0".join((r["citizen_id"], r["institution"], r["purpose"])).encode()
                txn.put(key, SEP.join((r["consent_ref"], r["granted_at"], r["expires_at"],
                                       r["revoked_at"])).encode())
    env.sync(True)
    env.close()
    os.rename(tmp, path)


class DictData:
    def __init__(self, args, attrs):
        self.citizens = {}
        with open(args.population, newline="") as f:
            for row in csv.DictReader(f):
                self.citizens[row["citizen_id"]] = {a["name"]: parse_value(a, row[a["name"]])
                                                    for a in attrs}
        self.consents = {}
        with open(args.consents, newline="") as f:
            for row in csv.DictReader(f):
                self.consents[(row["citizen_id"], row["institution"], row["purpose"])] = row

    def consent(self, citizen, institution, purpose):
        return self.consents.get((citizen, institution, purpose))

    def values(self, citizen):
        return self.citizens.get(citizen)


class LmdbData:
    def __init__(self, args, attrs):
        import lmdb
        if not os.path.isdir(args.lmdb):
            build_lmdb(args.lmdb, args.population, args.consents)
        self.env = lmdb.open(args.lmdb, readonly=True, lock=False, max_readers=256)
        with self.env.begin() as txn:
            names = txn.get(b"\x00header").decode().split(SEP)
        by_name = {a["name"]: a for a in attrs}
        self.columns = [by_name.get(n) for n in names]

    def consent(self, citizen, institution, purpose):
        with self.env.begin() as txn:
            v = txn.get("\0".join((citizen, institution, purpose)).encode())
        if v is None:
            return None
        ref, granted, expires, revoked = v.decode().split(SEP)
        return {"consent_ref": ref, "granted_at": granted, "expires_at": expires,
                "revoked_at": revoked}

    def values(self, citizen):
        with self.env.begin() as txn:
            v = txn.get(citizen.encode())
        if v is None:
            return None
        return {a["name"]: parse_value(a, text)
                for a, text in zip(self.columns, v.decode().split(SEP)) if a is not None}


def now_timestamp():
    """scored_at is a google.protobuf.Timestamp, as tinchapd answers it."""
    t = timestamp_pb2.Timestamp()
    t.GetCurrentTime()
    return t


class Peer(scoring_pb2_grpc.ScoringServicer):
    def __init__(self, args):
        with open(args.catalog) as f:
            catalog = json.load(f)
        with open(args.model) as f:
            self.model = json.load(f)
        with open(os.path.join(os.path.dirname(args.catalog), "reasons.json")) as f:
            doc = json.load(f)
        self.texts = {r["code"]: r for r in doc["codes"]}
        self.card = Scorecard(self.model, catalog)
        attrs = catalog["attributes"]
        self.data = LmdbData(args, attrs) if args.lmdb else DictData(args, attrs)
        self.token = args.token

    def Score(self, request, context):
        md = dict(context.invocation_metadata())
        if self.token and md.get("authorization") != "Bearer " + self.token:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown token")
        if len(request.citizen_id) != 12 or not request.citizen_id.isdigit():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "field 'citizen_id'")
        c = self.data.consent(request.citizen_id, "bank-a", request.purpose)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if (c is None or c["consent_ref"] != request.consent_ref or not
                (c["granted_at"] <= now < c["expires_at"]) or (c["revoked_at"] and
                                                               c["revoked_at"] <= now)):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "no consent")
        values = self.data.values(request.citizen_id)
        if values is None:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "no consent")
        score, eta, se, grade, reasons = self.card.evaluate(values, request.max_reasons)
        r = scoring_pb2.ScoreResponse(
            request_id=request.request_id, inquiry_id=uuid.uuid4().hex[:24], score=score,
            pd=1 / (1 + math.exp(-eta)), pd_low=1 / (1 + math.exp(-(eta - Z95 * se))),
            pd_high=1 / (1 + math.exp(-(eta + Z95 * se))), grade=grade["grade"],
            grade_label_vi=grade["vi"], grade_label_en=grade["en"],
            model_name=self.model["name"], model_version=self.model["version"],
            scored_at=now_timestamp())
        for code, lost in reasons:
            t = self.texts.get(code, {})
            r.reasons.add(code=code, text_vi=t.get("vi", ""), text_en=t.get("en", ""),
                          points_lost=lost)
        return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--population", required=True)
    p.add_argument("--consents", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--catalog", required=True)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--token", default="")
    p.add_argument("--lmdb", default="", help="serve from this LMDB directory (built if absent)")
    args = p.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    scoring_pb2_grpc.add_ScoringServicer_to_server(Peer(args), server)
    server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    print("peer serving on %d" % args.port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
