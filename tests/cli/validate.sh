#!/usr/bin/env bash
# tinchap validate: PSI and CSI between two samples with the usual bands, exit 0 when stable
# and 3 past 0.25, its JSON, and the fairness figures (approval rates by gender and province,
# adverse-impact ratio) recomputed here from `tinchap score`'s scores.
source "$(dirname "$0")/lib.sh"
SRC=${TC_SOURCE:?}
MODEL="$SRC/models/unsecured-consumer-v2.json"
"$TINCHAP" synth -n 10 --history 40000 --seed 11 --as-of 2026-11-01 --out "$WORK/syn" >/dev/null
"$PY" - "$WORK/syn/history.csv" "$WORK" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
fields = list(rows[0].keys())
def write(name, part):
    with open(sys.argv[2] + "/" + name, "w", newline="") as f:
        w = csv.DictWriter(f, fields, lineterminator="\n")
        w.writeheader()
        w.writerows(part)
write("baseline.csv", [r for r in rows if r["application_date"] < "2026-03-01"])
current = [r for r in rows if r["application_date"] >= "2026-03-01"]
write("current.csv", current)
# a drifted population: half the credit files turn delinquent, a third lose their insurance
drift = []
for i, r in enumerate(current):
    r = dict(r)
    if r["cic_max_dpd_12m"] != "" and i % 2 == 0:
        r["cic_max_dpd_12m"] = "95"
    if i % 3 == 0:
        r["health_insurance_active"] = "0"
    drift.append(r)
write("drifted.csv", drift)
PYEOF

# 1 the same population a few months on: stable, exit 0
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/baseline.csv" \
    --current "$WORK/current.csv" --json "$WORK/stable.json"
expect_eq "stable exit" 0 "$status"
expect_contains "score line" "score                            PSI" "$out"
expect_contains "verdict" "drift: stable" "$out"
expect_contains "fairness header" "fairness on the current rows: information for the risk team, not a verdict" "$out"
run "$PY" - "$WORK/stable.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
p = []
if d["status"] != "stable" or d["exit"] != 0: p.append("status %s exit %s" % (d["status"], d["exit"]))
if d["model"]["name"] != "unsecured-consumer-scorecard": p.append("model " + d["model"]["name"])
if not d["score"]["psi"] < 0.1 or d["score"]["band"] != "stable": p.append("score %r" % d["score"])
if len(d["characteristics"]) != 15: p.append("%d characteristics" % len(d["characteristics"]))
if d["bands"] != {"watch": 0.1, "act": 0.25}: p.append("bands %r" % d["bands"])
by = {f["attribute"]: f["groups"] for f in d["fairness"]["by"]}
if sorted(by) != ["gender", "province_code"]: p.append("fairness by %r" % sorted(by))
if d["fairness"]["cutoff"] != 530: p.append("cutoff %r" % d["fairness"]["cutoff"])
print("\n".join(p) or "ok")
PYEOF
expect_eq "stable JSON" ok "$out"

# 2 the fairness figures, recomputed from the engine's scores of the current rows
"$TINCHAP" score --model "$MODEL" --input "$WORK/current.csv" --out "$WORK/scores.csv"
run "$PY" - "$WORK/current.csv" "$WORK/scores.csv" "$WORK/stable.json" <<'PYEOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
scores = [float(r["score"]) for r in csv.DictReader(open(sys.argv[2]))]
d = json.load(open(sys.argv[3]))
p = []
for f in d["fairness"]["by"]:
    attr, groups = f["attribute"], {g["group"]: g for g in f["groups"]}
    stats = {}
    for r, s in zip(rows, scores):
        g = stats.setdefault(r[attr], [0, 0, 0.0, 0])
        g[0] += 1; g[1] += s >= 530; g[2] += s; g[3] += int(r["default_12m"])
    best = max(a / n for n, a, _, _ in stats.values() if n >= 100)
    for name, (n, a, total, bad) in stats.items():
        g = groups[name]
        want = {"rows": n, "approval_rate": a / n, "mean_score": total / n, "default_rate": bad / n}
        for k, v in want.items():
            if abs(g[k] - v) > 1e-12 * max(1, abs(v)):
                p.append("%s=%s %s %r, expected %r" % (attr, name, k, g[k], v))
        air = a / n / best if n >= 100 else None
        if (air is None) != (g["adverse_impact_ratio"] is None) or \
                (air is not None and abs(g["adverse_impact_ratio"] - air) > 1e-12):
            p.append("%s=%s AIR %r, expected %r" % (attr, name, g["adverse_impact_ratio"], air))
        if g["below_four_fifths"] != (air is not None and air < 0.8):
            p.append("%s=%s four-fifths flag" % (attr, name))
print("\n".join(p) or "ok")
PYEOF
expect_eq "fairness recomputed" ok "$out"

# 3 a shifted population on demand (synth --drift): the score's PSI is past 0.25, exit 3; the
# same seed without drift is the same population and stays stable
"$TINCHAP" synth -n 10 --history 20000 --seed 12 --as-of 2026-11-01 --out "$WORK/later" >/dev/null
"$TINCHAP" synth -n 10 --history 20000 --seed 12 --as-of 2026-11-01 --drift 1 \
    --out "$WORK/shifted" >/dev/null
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/syn/history.csv" \
    --current "$WORK/later/history.csv"
expect_eq "undrifted synth: stable exit" 0 "$status"
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/syn/history.csv" \
    --current "$WORK/shifted/history.csv" --json -
expect_eq "synth --drift 1: drift exit" 3 "$status"
run "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
c = {x["attribute"]: x for x in d["characteristics"]}
p = []
if d["status"] != "act" or not d["score"]["psi"] > 0.25: p.append("score %r" % d["score"])
# the latent factor moves what follows it: salary and electricity punctuality most
for a in ("si_salary_base", "electricity_ontime_ratio_12m"):
    if c[a]["band"] != "act": p.append("%s %r" % (a, c[a]))
print("\n".join(p) or "ok")' <<<"$out"
expect_eq "synth --drift JSON" ok "$out"

# 3b a targeted drift made by hand: the characteristics it touched move, the others not;
# JSON on stdout alone
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/baseline.csv" \
    --current "$WORK/drifted.csv" --json - --cutoff 600
expect_eq "drift exit" 3 "$status"
run "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
c = {x["attribute"]: x for x in d["characteristics"]}
p = []
if d["status"] != "act" or d["exit"] != 3: p.append("status %s exit %s" % (d["status"], d["exit"]))
if c["cic_max_dpd_12m"]["band"] != "act": p.append("dpd %r" % c["cic_max_dpd_12m"])
if c["health_insurance_active"]["band"] == "stable": p.append("insurance %r" % c["health_insurance_active"])
if c["mobile_postpaid"]["band"] != "stable": p.append("postpaid %r" % c["mobile_postpaid"])
if d["fairness"]["cutoff"] != 600: p.append("cutoff %r" % d["fairness"]["cutoff"])
print("\n".join(p) or "ok")' <<<"$out"
expect_eq "drift JSON" ok "$out"

# 4 bad usage and bad input
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/baseline.csv" \
    --current "$WORK/current.csv" --fairness birth_year
expect_eq "fairness on an int: usage exit" 2 "$status"
expect_contains "fairness on an int" "'birth_year' is an int; groups need a category or a bool" "$out"
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/baseline.csv"
expect_eq "missing --current: usage exit" 2 "$status"
printf 'cic_max_dpd_12m\n5\n' >"$WORK/short.csv"
run "$TINCHAP" validate --model "$MODEL" --baseline "$WORK/short.csv" --current "$WORK/current.csv"
expect_eq "missing column exit" 1 "$status"
expect_contains "missing column named" "short.csv:1: no column 'cic_inquiries_6m'" "$out"
finish
