#!/usr/bin/env bash
# The operator's alerting and dashboard: the Prometheus rules pass `promtool check rules` and
# their unit tests (`promtool test rules`: each alert fires when it should, and only then); a
# real tinchapd's /metrics passes `promtool check metrics`; and every query of the rules and of
# the Grafana dashboard names only metrics that tinchapd exposes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
command -v promtool >/dev/null || { fail "promtool (Debian package prometheus) is not installed"; finish; }
RULES="$SRC/tools/prometheus/tinchap.rules.yml"
DASH="$SRC/tools/grafana/tinchap.json"

run promtool check rules "$RULES"
expect_eq "promtool check rules exit" 0 "$status"
expect_contains "rules found" "SUCCESS: 13 rules found" "$out"
run bash -c "cd '$SRC/tools/prometheus' && promtool test rules tinchap.rules.test.yml"
expect_eq "promtool test rules exit" 0 "$status"
# a rule that names a metric tinchapd does not expose is caught by the name check below, and a
# broken rule by promtool: both can fail
sed 's/tinchap_audit_failures_total/tinchap_audit_failure_total/' "$RULES" >"$WORK/typo.rules.yml"
printf 'groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: sum by (x (\n' >"$WORK/broken.rules.yml"
run promtool check rules "$WORK/broken.rules.yml"
expect_eq "a broken rule fails promtool" 1 "$status"

make_pki "$WORK/pki"
make_data "$WORK" 50
write_config "$WORK/conf.json" "$WORK"
start_server "$WORK/conf.json" "$WORK/server.log"
"$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode(), end="")' \
    "$METRICS_PORT" >"$WORK/metrics.txt"
stop_server
run promtool check metrics <"$WORK/metrics.txt"
expect_eq "promtool check metrics exit" 0 "$status"
expect_eq "promtool check metrics findings" "" "$out"
for family in tinchap_model_score_bucket tinchap_model_grades_total tinchap_model_psi \
    tinchap_model_csi tinchap_model_window_scores tinchap_requests_total tinchap_audit_failures_total \
    tinchap_monitor_unmonitored_models; do
    grep -Eq "^$family[{ ]" "$WORK/metrics.txt" || fail "/metrics has no $family"
done
run "$PY" "$SRC/tests/python/promql_names.py" "$WORK/metrics.txt" "$RULES" "$DASH"
expect_eq "rules and dashboard use metrics that exist" ok "$out"
run "$PY" "$SRC/tests/python/promql_names.py" "$WORK/metrics.txt" "$WORK/typo.rules.yml"
expect_eq "a misspelt metric is caught: exit" 1 "$status"
expect_contains "a misspelt metric is named" "uses 'tinchap_audit_failure_total', which tinchapd does not expose" "$out"
run "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
titles = [p["title"] for p in d["panels"]]
need = ["Score PSI against development (window)", "Characteristic CSI (window)", "Audit",
        "Server-side error ratio", "Overload (RESOURCE_EXHAUSTED)"]
problems = ["no panel %r" % t for t in need if t not in titles]
# a name has a champion and shadow challengers: per-model panels keep each version apart
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t.get("expr", "")
        if ("tinchap_model_grades_total" in e or "tinchap_model_score_bucket" in e) and \
                e.count("sum by (name, version") != e.count("sum"):
            problems.append("%s: %s sums versions together" % (p["title"], e))
print("\n".join(problems) or "ok")' "$DASH"
expect_eq "dashboard panels" ok "$out"
finish
