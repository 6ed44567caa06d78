#!/usr/bin/env bash
# The consent feed on 127.0.0.1 with a real broker: a redis-server started here (its own
# directory, a Unix socket, append-only file fsynced on every write), a steward database and three
# tinchapd replicas started from snapshots of it, all consuming the feed, with Score load on
# every replica throughout. tests/python/feed_test.py drives the cases (its docstring lists
# them): revocations refused everywhere, kill -9 of a replica mid-burst, the broker killed and
# restarted, a replica down while a backlog builds, a replica past the lag bound, and events
# published directly by an upstream producer, in order and out of it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
# the broker's ACL (feed_test.py): the nodes' user may only read and add to the feed's stream
# and the audit stream
feed_cluster 600
for i in 1 2 3; do
    R=$WORK/r$i
    # refusals are what the test polls for: not limited per institution here
    write_config "$R/conf.json" "$R" "\"workers\": 1, \"drain_grace_ms\": 200,
  \"audit_denials_per_second\": 0,
  \"consent_feed\": {\"redis\": \"unix:$WORK/redis/redis.sock\", \"stream\": \"tinchap:consent\",
                   \"origin\": \"replica-$i\", \"user\": \"tinchap\",
                   \"password_file\": \"$WORK/redis/password\"},
  \"consent_max_lag_ms\": 1000, \"rest_listen\": \"127.0.0.1:0\""
done
# a feed misconfigured: refused at start, naming the setting (and never a password)
R=$WORK/r1
bad() { # NAME FEED-JSON EXPECTED
    write_config "$WORK/bad.json" "$R" "\"consent_feed\": $2"
    run timeout 20 "$TINCHAPD" --config "$WORK/bad.json"
    expect_eq "$1: exit 1" 1 "$status"
    expect_contains "$1: message" "$3" "$out"
}
bad "no port" '{"redis": "localhost"}' "consent_feed.redis"
bad "unknown key" '{"redis": "127.0.0.1:6379", "stram": "x"}' "stram"
bad "empty stream" '{"redis": "127.0.0.1:6379", "stream": ""}' "consent_feed.stream"
cp "$WORK/redis/password" "$WORK/open-password"
chmod 644 "$WORK/open-password"
bad "password readable by others" \
    "{\"redis\": \"unix:$WORK/none.sock\", \"password_file\": \"$WORK/open-password\"}" \
    "open to its group or others (mode 0644): chmod 600"
case "$out" in *"$(cat "$WORK/redis/password")"*) fail "the broker password was printed" ;; esac

if [ -n "${TC_FEED_BENCH:-}" ]; then # benchmarks/feed: measure instead of test
    "$PY" "$SRC/tests/python/feed_test.py" --work "$WORK" --tinchapd "$TINCHAPD" --redis "$REDIS" \
        --replicas 3 --bench "$TC_FEED_BENCH" --loadgen "${TC_LOADGEN:-}"
    exit
fi
"$PY" "$SRC/tests/python/feed_test.py" --work "$WORK" --tinchapd "$TINCHAPD" --redis "$REDIS" \
    --replicas 3 || fail "feed_test.py"
# the feed's alert rules: valid, each alert firing when it should, on metrics a node exposes
RULES="$SRC/tools/prometheus/tinchap-feed.rules.yml"
run promtool check rules "$RULES"
expect_eq "promtool check rules (feed)" 0 "$status"
run bash -c "cd '$SRC/tools/prometheus' && promtool test rules tinchap-feed.rules.test.yml"
expect_eq "promtool test rules (feed)" 0 "$status"
run promtool check metrics <"$WORK/metrics.txt"
expect_eq "promtool check metrics (feed): findings" "" "$out"
run "$PY" "$SRC/tests/python/promql_names.py" "$WORK/metrics.txt" "$RULES"
expect_eq "the feed's rules use metrics a node exposes" ok "$out"
finish
