#!/usr/bin/env bash
# Live monitoring on a real tinchapd: a population like the development one and a shifted one
# (tinchap synth --drift 1) are scored over mutual TLS by the load generator until the model
# has counted a fixed number of answers (a count, not a rate: a slow or sanitized build takes
# longer, never fewer); /metrics gives the score and grade distribution per model on its grade
# cut-offs, the window's PSI (stable, then past 0.25) and each characteristic's CSI; the PSI is
# recomputed here with numpy from the scores in the audit trail and must agree to 1e-9; `tinchap
# call monitor` prints the same per grade; the live exposition passes `promtool check metrics`.
# Then reloads under load keep the counters whole (every OK answer counted once), and a model
# rebuilt under its own name (other development shares) starts counting again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
: "${TC_BUILD:?}"
LOADGEN="$TC_BUILD/benchmarks/loadgen"
command -v promtool >/dev/null || { fail "promtool (Debian package prometheus) is not installed"; finish; }
make_pki "$WORK/pki"
today=$(date -u +%F)
TARGET=600 # scores per case: the PSI of 600 scores on ten bins is within ±0.05 of its truth
V2='{name="unsecured-consumer-scorecard",version="2"}'

# the models in service: a copy of the shipped ones, so that a round can rebuild v2
mkdir -p "$WORK/models"
cp "$TC_MODELS"/catalog.json "$TC_MODELS"/reasons.json "$TC_MODELS"/unsecured-consumer-v1.json \
    "$TC_MODELS"/unsecured-consumer-v2.json "$WORK/models/"

# one served population per case: undrifted (seed 21) and the same seed drifted by 1
for p in base drift; do
    mkdir -p "$WORK/$p"
    ln -s "$WORK/pki" "$WORK/$p/pki"
    "$TINCHAP" keygen "$WORK/$p/secret" >/dev/null
    drift=0
    [ $p = drift ] && drift=1
    "$TINCHAP" synth -n 3000 --history 0 --seed 21 --drift $drift --as-of "$today" \
        --out "$WORK/$p/data" >/dev/null
    TINCHAP_KEY=$WORK/$p/secret "$TINCHAP" load --db "$WORK/$p/db" \
        --consents "$WORK/$p/data/consents.csv" "$WORK/$p/data/population.csv" >/dev/null
    # citizens with a bank-a consent valid now and for the next hour, for the load generator
    "$PY" - "$WORK/$p/data/consents.csv" "$WORK/$p/citizens.csv" <<'PYEOF'
import csv, datetime, sys
now = datetime.datetime.now(datetime.timezone.utc)
t = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
with open(sys.argv[2], "w") as out:
    for r in csv.DictReader(open(sys.argv[1])):
        if r["institution"] == "bank-a" and not r["revoked_at"] and \
                r["granted_at"] <= t(now) and t(now + datetime.timedelta(hours=1)) < r["expires_at"]:
            out.write("%s,%s\n" % (r["citizen_id"], r["consent_ref"]))
PYEOF
    write_config "$WORK/$p/conf.json" "$WORK/$p" "\"models\": \"$WORK/models\""
done

scrape() { "$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode(), end="")' "$METRICS_PORT"; }
metric() { scrape | awk -v k="$1" '$1 == k { print $2 }'; } # NAME{labels}: its value
loadgen() { # CASE SECONDS SEED: Score calls over mutual TLS, every answer checked
    "$LOADGEN" --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" --cert "$WORK/pki/bank-a.pem" \
        --key "$WORK/pki/bank-a.key" --server-name localhost --concurrency 8 --duration "$2" \
        --warmup 0 --citizens "$WORK/$1/citizens.csv" --seed "$3" --fail-on-error
}
# drive CASE N: score until the model has counted at least N answers (at most 5 minutes)
drive() {
    local p=$1 n=$2 count=0 round
    for round in $(seq 1 300); do
        run loadgen "$p" 1 "$round"
        expect_eq "$p: load generator exit (round $round)" 0 "$status"
        [ "$status" = 0 ] || return
        count=$(metric "tinchap_model_score_count$V2")
        [ "${count:-0}" -ge "$n" ] && return
    done
    fail "$p: $count scores counted after $round rounds, wanted $n"
}
call() { "$TINCHAP" call "$@" --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" \
    --cert "$WORK/pki/admin.pem" --key "$WORK/pki/admin.key" --server-name localhost; }

# check CASE: score through the server, then read /metrics, the audit trail and call monitor
check() {
    local p=$1
    start_server "$WORK/$p/conf.json" "$WORK/$p.log"
    drive "$p" "$TARGET"
    scrape >"$WORK/$p.metrics"
    "$TINCHAP" audit --db "$WORK/$p/db" >"$WORK/$p.audit.jsonl"
    run promtool check metrics <"$WORK/$p.metrics"
    expect_eq "$p: promtool check metrics exit" 0 "$status"
    expect_eq "$p: promtool check metrics findings" "" "$out"
    run call monitor
    expect_eq "$p: call monitor exit" 0 "$status"
    echo "$out" >"$WORK/$p.monitor"
    run call monitor --json
    echo "$out" >"$WORK/$p.monitor.json"
    run "$TINCHAP" call monitor --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" \
        --cert "$WORK/pki/bank-a.pem" --key "$WORK/pki/bank-a.key" --server-name localhost
    expect_eq "$p: monitor needs the admin role" 17 "$status"
}
check base
reloads() { # reload the models every 0.2 s until the load generator ($1) is done
    local n=0
    while kill -0 "$1" 2>/dev/null; do
        kill -HUP "$SERVER_PID"
        n=$((n + 1))
        sleep 0.2
    done
    echo "$n"
}

# reloads while scoring: the same files, so the same counters; every OK answer counted once
gen0=$(metric tinchap_models_generation)
loadgen base 3 900 >"$WORK/reload.loadgen.json" 2>"$WORK/reload.loadgen.err" &
lg=$!
TC_PIDS+=("$lg")
n_reloads=$(reloads "$lg")
st=0
wait "$lg" || st=$?
expect_eq "reload round: load generator exit" 0 "$st"
sleep 0.5 # the last SIGHUP's reload
scrape >"$WORK/reload.metrics"
# v2 rebuilt under its own name: other development shares, so a new layout and new counters
"$PY" - "$WORK/models/unsecured-consumer-v2.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
s = m["development"]["score"]["shares"]
s[0], s[1] = s[1], s[0]
json.dump(m, open(sys.argv[1], "w"), ensure_ascii=False, indent=1)
PYEOF
run call reload
expect_eq "rebuild: reload exit" 0 "$status"
scrape >"$WORK/rebuilt0.metrics"
st=0
loadgen base 1 901 >"$WORK/rebuilt.loadgen.json" 2>"$WORK/rebuilt.loadgen.err" || st=$?
expect_eq "rebuild: load generator exit" 0 "$st"
scrape >"$WORK/rebuilt.metrics"
stop_server
cp "$TC_MODELS/unsecured-consumer-v2.json" "$WORK/models/" # the shipped v2 again
check drift
stop_server

run "$PY" - "$WORK" "$TC_MODELS/unsecured-consumer-v2.json" "$TARGET" "$gen0" "$n_reloads" <<'PYEOF'
import json, math, re, sys
import numpy as np
work, v2_path = sys.argv[1:3]
target, gen0, n_reloads = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
v2 = json.load(open(v2_path))
bounds = sorted(g["min_score"] for g in v2["grades"] if g["min_score"] > v2["score_bounds"]["min"])
p = []
def metrics(name):
    out = {}
    for line in open("%s/%s.metrics" % (work, name)):
        if line.startswith("#") or not line.strip():
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out
M = '{name="unsecured-consumer-scorecard",version="2"'
OK = 'tinchap_requests_total{method="Score",status="OK"}'
def psi_of(scores, dev):
    """PSI of scores against dev's score bins, as models/README.md defines it."""
    cuts, shares = np.array(dev["cuts"]), np.array(dev["shares"])
    live = np.bincount(np.searchsorted(cuts, np.array(scores), side="right"),
                       minlength=len(shares)).astype(float)
    e = np.maximum(shares / shares.sum(), 1e-4)
    a = np.maximum(live / live.sum(), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))
for case in ("base", "drift"):
    m = metrics(case)
    ok = m[OK]
    count = m["tinchap_model_score_count" + M + "}"]
    if count != ok or count < target:
        p.append("%s: %g scores counted, %g Score calls answered OK" % (case, count, ok))
    # the histogram is on the model's own grade cut-offs: each le just below one (le is "at
    # most", and a score at a cut-off has the higher grade), so buckets hold whole grades
    les = [float(x) for x in re.findall(r'tinchap_model_score_bucket\{name="unsecured-consumer-scorecard",version="2",le="([0-9.]+)"\}',
                                        open("%s/%s.metrics" % (work, case)).read())]
    if les != [math.nextafter(b, -math.inf) for b in bounds]:
        p.append("%s: buckets %r, grade bounds %r" % (case, les, bounds))
    if m["tinchap_model_score_bucket" + M + ',le="+Inf"}'] != count:
        p.append(case + ": +Inf bucket")
    below = 0
    for b, le in zip(bounds, les):
        below = sum(m["tinchap_model_grades_total" + M + ',grade="%s"}' % g["grade"]]
                    for g in v2["grades"] if g["min_score"] < b)
        if m["tinchap_model_score_bucket" + M + ',le="%.17g"}' % le] != below:
            p.append("%s: bucket le %r holds %g, the grades below %g hold %g" % (
                case, le, m["tinchap_model_score_bucket" + M + ',le="%.17g"}' % le], b, below))
    grades = sum(v for k, v in m.items() if k.startswith("tinchap_model_grades_total" + M))
    if grades != count or m["tinchap_model_window_scores" + M + "}"] != count:
        p.append("%s: grades %g, window %g, count %g" % (case, grades, m["tinchap_model_window_scores" + M + "}"], count))
    # a model without a development distribution and never scored: counted, no PSI
    v1 = '{name="unsecured-consumer-expert",version="1"}'
    if m.get("tinchap_model_score_count" + v1) != 0 or "tinchap_model_psi" + v1 in m:
        p.append(case + ": the retired expert model's series")
    if m.get("tinchap_monitor_unmonitored_models") != 0:
        p.append(case + ": unmonitored models")
    # the PSI, recomputed from the scores the audit trail kept
    scores = [r["score"] for r in map(json.loads, open("%s/%s.audit.jsonl" % (work, case)))
              if r["outcome"] == "scored" and r["model"] == "unsecured-consumer-scorecard"]
    psi = m["tinchap_model_psi" + M + "}"]
    mine = psi_of(scores, v2["development"]["score"])
    if len(scores) != count or abs(psi - mine) > 1e-9:
        p.append("%s: PSI %.17g over %g scores; numpy over the %d audited scores: %.17g" % (
            case, psi, count, len(scores), mine))
    csi = {k.split('characteristic="')[1].rstrip('"}'): v for k, v in m.items()
           if k.startswith("tinchap_model_csi" + M)}
    if len(csi) != 15:
        p.append("%s: %d CSI series" % (case, len(csi)))
    if case == "base" and not psi < 0.1:
        p.append("undrifted population: PSI %g, expected below 0.1" % psi)
    if case == "drift":
        if not psi > 0.25:
            p.append("drifted population: PSI %g, expected above 0.25" % psi)
        for a in ("electricity_ontime_ratio_12m", "si_salary_base"):
            if not csi[a] > 0.1:
                p.append("drifted %s: CSI %g" % (a, csi[a]))
    # call monitor: the same figures, per grade against development
    j = json.loads(open("%s/%s.monitor.json" % (work, case)).read())
    mm = [x for x in j["models"] if x["name"] == "unsecured-consumer-scorecard"][0]
    if abs(mm["psi"] - psi) > 1e-12 or int(mm["window_scores"]) != count:
        p.append("%s: call monitor psi %r window %r" % (case, mm["psi"], mm["window_scores"]))
    dev = v2["development"]["grades"]
    for g, row in zip(v2["grades"], mm["grades"]):
        if row["grade"] != g["grade"] or abs(row.get("development_share", 0) - dev[v2["grades"].index(g)]) > 1e-12:
            p.append("%s: grade row %r" % (case, row))
        want = m["tinchap_model_grades_total" + M + ',grade="%s"}' % g["grade"]]
        if int(row.get("window_scores", 0)) != want:
            p.append("%s: grade %s window %r, metrics %g" % (case, g["grade"], row.get("window_scores"), want))
    text = open("%s/%s.monitor" % (work, case)).read()
    if "unsecured-consumer-scorecard version 2 (unsecured-consumer, champion)" not in text or \
            "  PSI         %.4f  %s" % (psi, "act" if psi > 0.25 else "watch" if psi > 0.1 else "stable") not in text:
        p.append("%s: call monitor table:\n%s" % (case, text))
    if "unsecured-consumer-expert version 1" not in text or "no development distribution" not in text:
        p.append(case + ": the expert model in the table")

# reloads under load: each OK answer counted once, the window still all of them
m = metrics("reload")
count = m["tinchap_model_score_count" + M + "}"]
lg = json.load(open(work + "/reload.loadgen.json"))
if n_reloads < 3 or m["tinchap_models_generation"] < gen0 + 3:
    p.append("reload round: %d SIGHUPs, generation %g -> %g" % (n_reloads, gen0, m["tinchap_models_generation"]))
if count != m[OK] or m["tinchap_model_window_scores" + M + "}"] != count or lg["ok"] < 1:
    p.append("reload round: %g counted, %g answered OK (%d by the load generator), window %g" % (
        count, m[OK], lg["ok"], m["tinchap_model_window_scores" + M + "}"]))
# the rebuilt v2: counted from zero after its reload, its PSI against its own (new) shares
m0, m1 = metrics("rebuilt0"), metrics("rebuilt")
after = json.load(open(work + "/rebuilt.loadgen.json"))["ok"]
got = m1["tinchap_model_score_count" + M + "}"]
# every answer the generator got is counted, and exactly the server's OK answers: one more than
# the generator's when a call was answered just after its window closed
if m0["tinchap_model_score_count" + M + "}"] != 0 or got < after or got != m1[OK] - m0[OK] or after < 1:
    p.append("rebuilt v2: %g counted at its reload, %g after %d answers (OK %g -> %g)" % (
        m0["tinchap_model_score_count" + M + "}"], got, after, m0[OK], m1[OK]))
print("\n".join(p) or "ok")
PYEOF
expect_eq "live monitoring figures" ok "$out"
finish
