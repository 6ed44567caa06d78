#!/usr/bin/env bash
# No raw citizen ID through any free-text field (SECURITY.md maps each attack to its test): an
# ID is put in every text field of every method (tests/python/privacy_test.py), request IDs of
# every UUID form are found again with tinchap audit --request-id, and then every file under the
# service's directories, its log, its metrics and everything tinchap audit, get and call print
# are searched for the planted and the loaded IDs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 300
mkdir -p "$WORK/models" "$WORK/out"
cp "$SRC"/models/*.json "$WORK/models/"
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$WORK/models\", \"catalog\": \"$WORK/models/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"
run env TC_PORT="$PORT" TC_PKI="$P" TC_DIR="$WORK" TC_OUT="$WORK/out" \
    "$PY" "$SRC/tests/python/privacy_test.py"
expect_eq "privacy client suite" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
"$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$METRICS_PORT/metrics" > "$WORK/out/metrics.txt"
citizen=$(sed -n 1p "$WORK/out/planted")
outputs=$WORK/out/printed.txt
"$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/steward.pem" \
    --key "$P/steward.key" --server-name localhost inquiries --citizen "$citizen" >> "$outputs"
"$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/steward.pem" \
    --key "$P/steward.key" --server-name localhost consents --citizen "$citizen" >> "$outputs"
stop_server || fail "tinchapd did not stop cleanly"

# a bank finds its inquiry by its own request ID, whatever its form; one with 12 digits in a
# row is found by its keyed hash, so with the secret key only
audit=(env TINCHAP_KEY="$WORK/secret" "$TINCHAP" audit --audit "$WORK/audit")
found=0
while IFS=$'\t' read -r rid inquiry; do
    run "${audit[@]}" --request-id "$rid"
    printf '%s\n' "$out" >> "$outputs"
    # the answer, then its replay
    expect_eq "audit --request-id $rid: its two records" "$inquiry scored replayed" \
        "$(printf '%s\n' "$out" | "$PY" -c 'import json, sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
print(" ".join([r[0]["inquiry_id"]] + [x["outcome"] for x in r]))')"
    found=$((found + 1))
done < "$WORK/out/requests.tsv"
expect_eq "request IDs looked up" 7 "$found"
run "$TINCHAP" audit --audit "$WORK/audit" --request-id "req-$citizen"
expect_eq "a request ID with an ID in it, without the key: usage" 2 "$status"
expect_contains "... says why" "give the secret key" "$out"
plain=$(sed -n 4p "$WORK/out/requests.tsv" | cut -f1)
run "$TINCHAP" audit --audit "$WORK/audit" --request-id "$plain"
expect_eq "a request ID without a digit run, without the key" 0 "$status"
expect_eq "... found" 2 "$(printf '%s\n' "$out" | grep -c inquiry_id)"
"${audit[@]}" >> "$outputs"
"${audit[@]}" --citizen "$citizen" >> "$outputs"
"${audit[@]}" --steward >> "$outputs"
TINCHAP_KEY=$WORK/secret "$TINCHAP" get --db "$WORK/db" "$citizen" >> "$outputs"
expect_contains "the consent reference is shown redacted" '"CCCD-############"' "$(cat "$outputs")"

# every planted and loaded ID, searched in every file the service wrote and everything printed
tail -n +2 "$WORK/data/population.csv" | cut -d, -f1 > "$WORK/ids"
cat "$WORK/out/planted" >> "$WORK/ids"
searched=0
while IFS= read -r f; do
    searched=$((searched + 1))
    n=$(grep -a -c -F -f "$WORK/ids" "$f" || true)
    [ "$n" -eq 0 ] || fail "raw citizen IDs found in $f ($n lines)"
done < <(find "$WORK/db" "$WORK/audit" -type f; echo "$WORK/server.log"; echo "$outputs";
         echo "$WORK/out/metrics.txt")
# data.mdb and lock.mdb of the database, the audit trail and its citizen index; the log, the
# outputs, the metrics
expect_eq "files searched (the audit journal among them)" 10 "$searched"
grep -q -F -f "$WORK/ids" "$WORK/out/planted" || fail "the ID search finds nothing"
finish
