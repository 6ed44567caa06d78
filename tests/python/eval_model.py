#!/usr/bin/python3
"""Independent implementation of the tinchap model format (models/README.md), to check the C
engine against: it reads the same model file and the same CSV and computes, with nothing but
the Python standard library, what `tinchap score --detail` must write.

  eval_model.py gen CATALOG MODEL ROWS SEED OUT.csv   synthetic rows that exercise every bin
  eval_model.py eval CATALOG MODEL IN.csv OUT.csv     expected scores
  eval_model.py compare EXPECTED.csv ACTUAL.csv       points, score, grade and reasons exactly,
                                                      eta, PD and its interval to 1e-12 relative

Sums run in the same order as the engine (characteristics in model order), so points and eta
agree to the last bit; the interval is computed the direct way, x' S x, where the engine uses a
Cholesky factor, which is why it is compared with a relative tolerance.
"""
import csv
import json
import math
import random
import sys

Z95 = 1.959963984540054
INF = float("inf")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def attrs_of(catalog):
    return {a["name"]: a for a in catalog["attributes"]}


# ---- synthetic rows ----

def edges(char):
    """Values a bin boundary puts on either side of: where off-by-one errors live."""
    out = []
    for b in char.get("bins", []):
        for k in ("lower", "upper"):
            if b.get(k) is not None:
                out.append(b[k])
        out.extend(b.get("special", []))
    return out


def gen_value(rng, a, char):
    t = a["type"]
    if a["missing"] and rng.random() < 0.12:
        return ""
    if t == "category":
        return rng.choice(a["levels"])
    if t == "bool":
        return rng.choice(["0", "1", "true", "false"])
    lo, hi = a["min"], a["max"]
    r = rng.random()
    if char is not None and r < 0.25 and edges(char):
        e = rng.choice(edges(char))
        v = e + rng.choice([0, 0, -1, 1]) * (1 if t == "int" else 1e-9)
    elif r < 0.3:
        v = rng.choice([lo, hi])
    elif r < 0.65:
        v = lo + (hi - lo) * rng.random()
    else:
        v = lo + (hi - lo) * rng.random() ** 4  # most real values sit near the bottom
    v = min(max(v, lo), hi)
    if t == "int":
        return str(int(round(v)))
    return repr(round(v, rng.choice([0, 2, 3, 6, 12])))


def gen(catalog_path, model_path, rows, seed, out):
    catalog, model = load(catalog_path), load(model_path)
    chars = {c["attribute"]: c for c in model["characteristics"]}
    rng = random.Random(seed)
    names = [a["name"] for a in catalog["attributes"]]
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names + ["note"])
        for i in range(rows):
            w.writerow([gen_value(rng, a, chars.get(a["name"])) for a in catalog["attributes"]]
                       + ["row %d" % (i + 1)])


# ---- evaluation ----

def parse(a, text):
    """Value as the engine holds it: a float, a level index, 0/1; None when missing."""
    if text == "":
        return None
    t = a["type"]
    if t == "category":
        return a["levels"].index(text)
    if t == "bool":
        return 1 if text in ("1", "true") else 0
    return float(text)


class Model:
    def __init__(self, catalog, doc):
        self.doc = doc
        self.attrs = attrs_of(catalog)
        s = doc["scaling"]
        self.factor = s["pdo"] / math.log(2)
        self.offset = s["points"] - self.factor * math.log(s["odds"])
        self.kind = doc["kind"]
        self.chars = doc["characteristics"]
        self.groups = []
        for c in self.chars:
            if c["reason_code"] not in self.groups:
                self.groups.append(c["reason_code"])
        cov = doc["covariance"]["matrix"]
        self.cov = [[float(v) for v in row] for row in cov]
        self.max_points = [self.char_max(c) for c in self.chars]
        self.method = doc["reasons"].get("method", "max")
        self.count = doc["reasons"].get("count", 4)

    # scorecard
    def bin_of(self, c, v):
        a = self.attrs[c["attribute"]]
        bins = c["bins"]
        if v is None:
            return next(i for i, b in enumerate(bins) if b.get("missing"))
        for i, b in enumerate(bins):
            if "special" in b and v in [float(x) for x in b["special"]]:
                return i
        for i, b in enumerate(bins):
            if "levels" in b:
                levels = b["levels"]
                idx = [int(l) if a["type"] == "bool" else a["levels"].index(l) for l in levels]
                if v in idx:
                    return i
            elif "special" not in b and not b.get("missing"):
                lo = b.get("lower")
                hi = b.get("upper")
                lo = -INF if lo is None else lo
                hi = INF if hi is None else hi
                if lo <= v < hi:
                    return i
        raise ValueError("no bin for %r in %s" % (v, c["attribute"]))

    # logistic: design entries and contribution, in parameter order
    def terms(self, c, v):
        missing = c.get("missing")
        n_main = len(c["levels"]) if c["transform"] == "indicator" else 1
        coefs = ([t["coefficient"] for t in c["levels"]] if c["transform"] == "indicator"
                 else [c["coefficient"]])
        a = self.attrs[c["attribute"]]
        if v is None and missing is not None and "indicator" in missing:
            x = [0.0] * n_main + [1.0]
            coefs = coefs + [missing["indicator"]]
        else:
            if v is None:
                imp = missing["impute"]
                v = (a["levels"].index(imp) if a["type"] == "category"
                     else (1.0 if imp is True else 0.0 if imp is False else float(imp)))
            tr = c["transform"]
            if tr == "indicator":
                x = [1.0 if v == a["levels"].index(t["level"]) else 0.0 for t in c["levels"]]
            elif tr == "log1p":
                x = [math.log1p(v)]
            elif tr == "clip":
                x = [min(max(v, c["clip"]["min"]), c["clip"]["max"])]
            else:
                x = [float(v)]
            if missing is not None and "indicator" in missing:
                x.append(0.0)
                coefs = coefs + [missing["indicator"]]
        eta = 0.0
        for b, xi in zip(coefs, x):
            eta += b * xi
        return x, eta

    def char_max(self, c):
        if self.kind == "scorecard":
            return max(b["points"] for b in c["bins"])
        a = self.attrs[c["attribute"]]
        if a["type"] in ("category", "bool"):
            n = 2 if a["type"] == "bool" else len(a["levels"])
            cands = [self.terms(c, float(l))[1] for l in range(n)]
        else:
            cands = [self.terms(c, float(a["min"]))[1], self.terms(c, float(a["max"]))[1]]
        if c.get("missing") is not None:
            cands.append(self.terms(c, None)[1])
        return max(-x for x in cands) * self.factor

    def evaluate(self, values):
        d = self.doc
        x = [1.0]
        points = []
        eta = d["intercept"]
        total = 0.0 if self.kind == "scorecard" else self.offset - self.factor * d["intercept"]
        for c in self.chars:
            v = values[c["attribute"]]
            if self.kind == "scorecard":
                b = c["bins"][self.bin_of(c, v)]
                p = b["points"]
                eta += c["coefficient"] * b["woe"]
                x.append(b["woe"])
            else:
                xs, contrib = self.terms(c, v)
                p = -self.factor * contrib
                eta += contrib
                x.extend(xs)
            points.append(p)
            total += p
        lost = [0.0] * len(self.groups)
        for c, p, mx in zip(self.chars, points, self.max_points):
            ref = c["baseline"] if self.method == "baseline" else mx
            l = ref - p
            lost[self.groups.index(c["reason_code"])] += l if l > 0 else 0
        ranked = sorted((g for g in range(len(self.groups)) if lost[g] > 0),
                        key=lambda g: (-lost[g], g))[: self.count]
        var = 0.0
        for i in range(len(x)):
            for j in range(len(x)):
                var += x[i] * self.cov[i][j] * x[j]
        se = math.sqrt(var)
        lo, hi = d["score_bounds"]["min"], d["score_bounds"]["max"]
        score = min(max(total, lo), hi)
        grade = next(g["grade"] for g in d["grades"] if score >= g["min_score"]
                     or g is d["grades"][-1])
        pd = 1.0 / (1.0 + math.exp(-eta))
        return {
            "score": score, "pd": pd,
            "pd_low": 1.0 / (1.0 + math.exp(-(eta - Z95 * se))),
            "pd_high": 1.0 / (1.0 + math.exp(-(eta + Z95 * se))),
            "grade": grade, "reasons": ";".join(self.groups[g] for g in ranked),
            "eta": eta, "eta_se": se, "score_raw": total, "points": points,
        }


def evaluate(catalog_path, model_path, inp, out):
    catalog, doc = load(catalog_path), load(model_path)
    m = Model(catalog, doc)
    attrs = m.attrs
    with open(inp, newline="", encoding="utf-8") as f, \
            open(out, "w", newline="", encoding="utf-8") as g:
        r = csv.DictReader(f)
        w = csv.writer(g, lineterminator="\n")
        w.writerow(["row", "score", "pd", "pd_low", "pd_high", "grade", "reasons", "eta",
                    "eta_se", "score_raw"] + ["points_" + c["attribute"] for c in m.chars])
        for n, row in enumerate(r, 1):
            values = {c["attribute"]: parse(attrs[c["attribute"]], row[c["attribute"]])
                      for c in m.chars}
            e = m.evaluate(values)
            w.writerow([n] + [repr(float(e[k])) if isinstance(e[k], (int, float)) else e[k]
                              for k in ("score", "pd", "pd_low", "pd_high", "grade", "reasons",
                                        "eta", "eta_se", "score_raw")]
                       + [repr(float(p)) for p in e["points"]])


def compare(expected, actual):
    exact = {"row", "score", "grade", "reasons", "score_raw"}
    close = {"pd", "pd_low", "pd_high", "eta", "eta_se"}
    with open(expected, newline="") as f, open(actual, newline="") as g:
        e_rows, a_rows = list(csv.DictReader(f)), list(csv.DictReader(g))
    if len(e_rows) != len(a_rows):
        sys.exit("row counts differ: expected %d, got %d" % (len(e_rows), len(a_rows)))
    worst, bad = 0.0, 0
    for e, a in zip(e_rows, a_rows):
        if set(e) != set(a):
            sys.exit("columns differ: %s vs %s" % (sorted(e), sorted(a)))
        for k in e:
            if k in close:
                x, y = float(e[k]), float(a[k])
                rel = abs(x - y) / abs(x) if x != 0 else abs(y)
                worst = max(worst, rel)
                ok = rel <= 1e-12
            elif k in ("grade", "reasons"):
                ok = e[k] == a[k]
            else:  # row, score, score_raw, points_*: the same double
                ok = float(e[k]) == float(a[k])
            if not ok:
                bad += 1
                if bad <= 10:
                    print("row %s %s: expected %s, engine %s" % (e["row"], k, e[k], a[k]))
    print("%d rows compared, %d mismatches, worst relative difference %.3g on eta/PD/interval"
          % (len(e_rows), bad, worst))
    sys.exit(1 if bad else 0)


def main():
    a = sys.argv[1:]
    if a[:1] == ["gen"] and len(a) == 6:
        gen(a[1], a[2], int(a[3]), int(a[4]), a[5])
    elif a[:1] == ["eval"] and len(a) == 5:
        evaluate(a[1], a[2], a[3], a[4])
    elif a[:1] == ["compare"] and len(a) == 3:
        compare(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
