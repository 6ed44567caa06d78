#!/usr/bin/env bash
# "Who scored me?" across replicas, with a real broker: a redis-server started here (its own
# directory, a Unix socket, append-only file fsynced on every write) and three tinchapd
# replicas from snapshots of one steward database. Every replica ships its audit records to the
# broker; replica 1 also collects them all into its consolidated trail, which its ListInquiries
# reads. tests/python/ship_test.py drives the cases (its docstring lists them), kill -9 of
# either side included.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
feed_cluster 300
for i in 1 2 3; do
    R=$WORK/r$i
    collect=false sync=durable
    [ $i = 1 ] && collect=true
    [ $i = 2 ] && sync=relaxed
    write_config "$R/conf.json" "$R" "\"workers\": 1, \"drain_grace_ms\": 200,
  \"audit_sync\": \"$sync\",
  \"consent_feed\": {\"redis\": \"unix:$WORK/redis/redis.sock\", \"origin\": \"replica-$i\",
                   \"user\": \"tinchap\", \"password_file\": \"$WORK/redis/password\",
                   \"collect_audit\": $collect}"
done
# collecting needs a stream to collect from: refused at start, naming the setting
write_config "$WORK/bad.json" "$WORK/r1" "\"consent_feed\": {\"redis\": \"127.0.0.1:6379\",
  \"audit_stream\": \"\", \"collect_audit\": true}"
run timeout 20 "$TINCHAPD" --config "$WORK/bad.json"
expect_eq "collect_audit without audit_stream: exit 1" 1 "$status"
expect_contains "collect_audit without audit_stream: message" \
    "consent_feed.collect_audit: needs an audit_stream" "$out"

"$PY" "$SRC/tests/python/ship_test.py" --work "$WORK" --tinchapd "$TINCHAPD" \
    --tinchap "$TINCHAP" --redis "$REDIS" || fail "ship_test.py"
# the shipping alert rules: valid, each alert firing when it should, on metrics a node exposes
RULES="$SRC/tools/prometheus/tinchap-audit-ship.rules.yml"
run promtool check rules "$RULES"
expect_eq "promtool check rules (audit shipping)" 0 "$status"
run bash -c "cd '$SRC/tools/prometheus' && promtool test rules tinchap-audit-ship.rules.test.yml"
expect_eq "promtool test rules (audit shipping)" 0 "$status"
run "$PY" "$SRC/tests/python/promql_names.py" "$WORK/metrics.txt" "$RULES"
expect_eq "the shipping rules use metrics a node exposes" ok "$out"
run promtool check metrics <"$WORK/metrics.txt"
expect_eq "promtool check metrics (audit shipping): findings" "" "$out"
expect_contains "the collecting replica counts what it took" \
    'tinchap_audit_collected_total{outcome="appended"}' "$(cat "$WORK/metrics.txt")"
# no raw citizen ID in the broker's files, the consolidated trail or any log
cut -d, -f1 "$WORK/data/population.csv" | grep -E '^[0-9]{12}$' >"$WORK/ids.txt"
found=$(grep -rlaF -f "$WORK/ids.txt" "$WORK/redis" "$WORK/r1/audit/consolidated" \
            "$WORK"/r*/server.*.log 2>/dev/null || true)
expect_eq "no raw citizen ID in the broker, the consolidated trail or a log" "" "$found"
finish
