#!/usr/bin/env bash
# Attacks on a real tinchapd that the service tests do not already make (SECURITY.md maps each
# attack to its test): answers carry only their documented fields, no error echoes a citizen ID
# whatever field it was put in, and afterwards nothing the server wrote — logs, database,
# audit trail, metrics — holds any loaded or planted ID. Then the start-up refusals: plaintext
# with bearer tokens, or metrics, anywhere but on a literal loopback address.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
make_pki "$WORK/pki"
make_data "$WORK" 300
mkdir -p "$WORK/models"
cp "$SRC"/models/*.json "$WORK/models/"
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"

# 1. what clients get back (tests/python/security_test.py)
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" TC_PLANTED="$WORK/planted" \
    "$PY" "$SRC/tests/python/security_test.py"
expect_eq "security client suite" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
"$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$METRICS_PORT/metrics" \
    > "$WORK/metrics.txt" || true
expect_contains "metrics scraped" "tinchap_requests_total" "$(cat "$WORK/metrics.txt")"
stop_server || fail "tinchapd did not stop cleanly"

# 2. every loaded ID and every ID the client planted, searched in everything the server wrote
tail -n +2 "$WORK/data/population.csv" | cut -d, -f1 > "$WORK/ids"
cat "$WORK/planted" >> "$WORK/ids"
# the loaded ones and the unknown one (the other planted ID is a loaded one)
expect_eq "IDs to search for" "$(wc -l < "$WORK/data/population.csv")" \
    "$(sort -u "$WORK/ids" | wc -l)"
searched=0
for f in "$WORK/server.log" "$WORK/metrics.txt" "$WORK"/db/* "$WORK"/audit/* "$WORK"/audit/*/*; do
    [ -f "$f" ] || continue
    searched=$((searched + 1))
    n=$(grep -a -c -F -f "$WORK/ids" "$f" || true)
    [ "$n" -eq 0 ] || fail "raw citizen IDs found in $f ($n lines)"
done
expect_eq "files searched (log, metrics, data.mdb and lock.mdb of database, audit and its index, the audit journal)" \
    9 "$searched"
# the search itself finds an ID where there is one
grep -q -F -f "$WORK/ids" "$WORK/data/population.csv" || fail "the ID search finds nothing"

# 3. plaintext with bearer tokens only on a literal loopback address
token_sha=$(printf %s insecure-test-token | sha256sum | cut -d' ' -f1)
cat > "$WORK/insecure.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "database": "$WORK/db",
  "secret": "$WORK/secret",
  "models": "$WORK/models",
  "catalog": "$WORK/models/catalog.json",
  "insecure": true,
  "tokens": [{"sha256": "$token_sha", "institution": "bank-a", "roles": ["scorer"]}]
}
JSON
for addr in 0.0.0.0:0 "[::]:0" 192.0.2.1:50051 127.evil.example:0 localhost.example:0; do
    run timeout 10 "$TINCHAPD" --config "$WORK/insecure.json" --listen "$addr"
    expect_eq "--insecure on $addr: refused" 1 "$status"
    expect_contains "--insecure on $addr: says why" \
        "--insecure serves without TLS and accepts bearer tokens: it is refused on $addr" "$out"
done
# ... and the same file on loopback serves, answering only a known token
start_server "$WORK/insecure.json" "$WORK/insecure.log"
run "$TINCHAP" call --target "127.0.0.1:$PORT" --insecure --token insecure-test-token health
expect_eq "insecure on loopback: known token" 0 "$status"
run "$TINCHAP" call --target "127.0.0.1:$PORT" --insecure --token wrong-token models
expect_eq "insecure on loopback: unknown token (UNAUTHENTICATED)" 26 "$status"
stop_server || fail "insecure tinchapd did not stop cleanly"
# metrics: loopback only, whatever the gRPC side does
run timeout 10 "$TINCHAPD" --config "$WORK/conf.json" --metrics 0.0.0.0:0
expect_eq "metrics on 0.0.0.0: refused" 1 "$status"
expect_contains "metrics on 0.0.0.0: says why" "listens on loopback (127.x.x.x) only" "$out"
finish
