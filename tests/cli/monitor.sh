#!/usr/bin/env bash
# Live monitoring on a real tinchapd: a population like the development one and a shifted one
# (tinchap synth --drift 1) are scored over mutual TLS by the load generator; /metrics gives the
# score and grade distribution per model on its grade bounds, the window's PSI (stable, then
# past 0.25) and each characteristic's CSI; `tinchap call monitor` prints the same per grade;
# and the live exposition passes `promtool check metrics`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
: "${TC_BUILD:?}"
LOADGEN="$TC_BUILD/benchmarks/loadgen"
command -v promtool >/dev/null || { fail "promtool (Debian package prometheus) is not installed"; finish; }
make_pki "$WORK/pki"
today=$(date -u +%F)

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
    # citizens with a bank-a consent valid now, for the load generator
    "$PY" - "$WORK/$p/data/consents.csv" "$WORK/$p/citizens.csv" <<'PYEOF'
import csv, datetime, sys
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
with open(sys.argv[2], "w") as out:
    for r in csv.DictReader(open(sys.argv[1])):
        if r["institution"] == "bank-a" and not r["revoked_at"] and r["granted_at"] <= now < r["expires_at"]:
            out.write("%s,%s\n" % (r["citizen_id"], r["consent_ref"]))
PYEOF
    write_config "$WORK/$p/conf.json" "$WORK/$p"
done

scrape() { "$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode(), end="")' "$1"; }

# check CASE: score through the server, then read /metrics and call monitor
check() {
    local p=$1
    start_server "$WORK/$p/conf.json" "$WORK/$p.log"
    run "$LOADGEN" --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" --cert "$WORK/pki/bank-a.pem" \
        --key "$WORK/pki/bank-a.key" --server-name localhost --concurrency 8 --duration 2 \
        --warmup 0 --citizens "$WORK/$p/citizens.csv" --seed 3 --fail-on-error
    expect_eq "$p: load generator exit" 0 "$status"
    scrape "$METRICS_PORT" >"$WORK/$p.metrics"
    run promtool check metrics <"$WORK/$p.metrics"
    expect_eq "$p: promtool check metrics exit" 0 "$status"
    expect_eq "$p: promtool check metrics findings" "" "$out"
    run "$TINCHAP" call monitor --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" \
        --cert "$WORK/pki/admin.pem" --key "$WORK/pki/admin.key" --server-name localhost
    expect_eq "$p: call monitor exit" 0 "$status"
    echo "$out" >"$WORK/$p.monitor"
    run "$TINCHAP" call monitor --json --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" \
        --cert "$WORK/pki/admin.pem" --key "$WORK/pki/admin.key" --server-name localhost
    echo "$out" >"$WORK/$p.monitor.json"
    run "$TINCHAP" call monitor --target "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" \
        --cert "$WORK/pki/bank-a.pem" --key "$WORK/pki/bank-a.key" --server-name localhost
    expect_eq "$p: monitor needs the admin role" 17 "$status"
    stop_server
}
check base
check drift

run "$PY" - "$WORK" "${TC_MODELS:?}" <<'PYEOF'
import json, math, re, sys
work = sys.argv[1]
v2 = json.load(open(sys.argv[2] + "/unsecured-consumer-v2.json"))
bounds = sorted(g["min_score"] for g in v2["grades"] if g["min_score"] > v2["score_bounds"]["min"])
p = []
def metrics(case):
    out = {}
    for line in open("%s/%s.metrics" % (work, case)):
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out
M = '{name="unsecured-consumer-scorecard",version="2"'
for case in ("base", "drift"):
    m = metrics(case)
    ok = m['tinchap_requests_total{method="Score",status="OK"}']
    count = m["tinchap_model_score_count" + M + "}"]
    if count != ok or count < 500:
        p.append("%s: %g scores counted, %g Score calls answered OK" % (case, count, ok))
    # the histogram is on the model's own grade cut-offs: each le just below one (le is "at
    # most", and a score at a cut-off has the higher grade)
    les = [float(x) for x in re.findall(r'tinchap_model_score_bucket\{name="unsecured-consumer-scorecard",version="2",le="([0-9.]+)"\}',
                                        open("%s/%s.metrics" % (work, case)).read())]
    if les != [math.nextafter(b, -math.inf) for b in bounds]:
        p.append("%s: buckets %r, grade bounds %r" % (case, les, bounds))
    if m["tinchap_model_score_bucket" + M + ',le="+Inf"}'] != count:
        p.append(case + ": +Inf bucket")
    grades = sum(v for k, v in m.items() if k.startswith("tinchap_model_grades_total" + M))
    if grades != count or m["tinchap_model_window_scores" + M + "}"] != count:
        p.append("%s: grades %g, window %g, count %g" % (case, grades, m["tinchap_model_window_scores" + M + "}"], count))
    # a model without a development distribution and never scored: counted, no PSI
    v1 = '{name="unsecured-consumer-expert",version="1"}'
    if m.get("tinchap_model_score_count" + v1) != 0 or "tinchap_model_psi" + v1 in m:
        p.append(case + ": the retired expert model's series")
    psi = m["tinchap_model_psi" + M + "}"]
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
    if abs(mm["psi"] - psi) > 1e-5 * max(1, psi) or int(mm["window_scores"]) != count:
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
print("\n".join(p) or "ok")
PYEOF
expect_eq "live monitoring figures" ok "$out"
finish
