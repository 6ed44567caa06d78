#!/usr/bin/env bash
# Model governance against a real tinchapd: model check --dir accepts what the service serves;
# promote and retire change only the "status" line of the files, are refused when the service
# would refuse the directory, leave a record (who, when, why, SHA-256 before and after) in the
# service's own audit trail while it serves, and reach Score after one reload.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 200
M=$WORK/models
mkdir -p "$M"
cp "$SRC"/models/*.json "$M/"
cp "$M/unsecured-consumer-v1.json" "$WORK/v1.orig"
cp "$M/unsecured-consumer-v2.json" "$WORK/v2.orig"
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$M\", \"catalog\": \"$M/catalog.json\", \"audit\": \"$WORK/audit\""
start_server "$WORK/conf.json" "$WORK/server.log"

callas() {
    local who=$1
    shift
    set +e
    out=$("$TINCHAP" call --target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/$who.pem" \
        --key "$P/$who.key" --compact "$@" 2>&1)
    status=$?
    set -e
}
champion() { # the champion of unsecured-consumer the service reports
    callas bank-a models --product unsecured-consumer
    "$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
print(" ".join("%s:%s" % (m["name"], m["version"]) for m in d["models"] if m["status"] == "MODEL_STATUS_CHAMPION"))' "$out"
}

# 1. the served directory passes model check --dir, by the registry's own code
run "$TINCHAP" model check --dir "$M" --quiet
expect_eq "model check --dir exit" 0 "$status"
expect_contains "model check --dir lists the champion" \
    "champion   unsecured-consumer-scorecard version 2 (unsecured-consumer-v2.json)" "$out"
expect_eq "served champion before" "unsecured-consumer-scorecard:2" "$(champion)"

# 2. a dry run writes nothing
run "$TINCHAP" model promote unsecured-consumer-expert:1 --config "$WORK/conf.json" --dry-run
expect_eq "dry run exit" 0 "$status"
expect_contains "dry run says what" "would change unsecured-consumer-expert version 1" "$out"
cmp -s "$M/unsecured-consumer-v1.json" "$WORK/v1.orig" || fail "dry run changed a file"

# 3. promote the retired expert model back to champion, as alice, while the service serves
sha_v1_before=$(sha256sum < "$M/unsecured-consumer-v1.json" | cut -d' ' -f1)
run env SUDO_USER=alice "$TINCHAP" model promote unsecured-consumer-expert:1 \
    --config "$WORK/conf.json" --reason "MRC-2026-11 item 4"
expect_eq "promote exit" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
expect_contains "promote reports the old champion" \
    "unsecured-consumer-scorecard version 2 (unsecured-consumer-v2.json): champion -> challenger" "$out"
# only the status line changed, every other byte kept
for v in v1 v2; do
    d=$(diff "$WORK/$v.orig" "$M/unsecured-consumer-$v.json" | grep -c '^[<>]' || true)
    expect_eq "$v: one line changed" 2 "$d"
    { diff "$WORK/$v.orig" "$M/unsecured-consumer-$v.json" || true; } |
        grep -q '^> *"status": "' || fail "$v: the changed line is not the status"
done
# no temporary file left behind for the registry to trip on
leftover=$(find "$M" -name '.*' ! -name .governance.lock | wc -l)
expect_eq "no temporary files left" 0 "$leftover"
# the service still serves the old set until it reloads
expect_eq "served champion before reload" "unsecured-consumer-scorecard:2" "$(champion)"
callas admin reload
expect_eq "reload exit" 0 "$status"
expect_eq "served champion after reload" "unsecured-consumer-expert:1" "$(champion)"

# 4. the record, in the service's trail, read beside the running service
run "$TINCHAP" audit --audit "$WORK/audit" --governance
expect_eq "audit --governance exit" 0 "$status"
sha_v1_after=$(sha256sum < "$M/unsecured-consumer-v1.json" | cut -d' ' -f1)
"$PY" - "$out" "$sha_v1_before" "$sha_v1_after" "$M" <<'PY' || fail "governance record"
import json, os, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines() if l.startswith("{")]
assert len(lines) == 1, lines
r = lines[0]
assert r["seq"] == 1 and r["action"] == "promote" and r["by"] == "alice", r
assert r["reason"] == "MRC-2026-11 item 4", r
assert r["models_dir"] == os.path.realpath(sys.argv[4]), r
assert r["model"] == {"name": "unsecured-consumer-expert", "version": 1,
                      "product": "unsecured-consumer"}, r
c = r["changes"][0]
assert (c["file"], c["from"], c["to"]) == ("unsecured-consumer-v1.json", "retired", "champion")
assert c["sha256_before"] == sys.argv[2] and c["sha256_after"] == sys.argv[3], c
assert r["changes"][1]["to"] == "challenger", r
assert r["time"].endswith("Z"), r
PY

# 5. refusals leave every file as it was
cp "$M/unsecured-consumer-v1.json" "$WORK/v1.now"
run "$TINCHAP" model retire unsecured-consumer-expert:1 --config "$WORK/conf.json" --by bob
expect_eq "retiring a champion with a challenger: refused" 1 "$status"
expect_contains "says why" "promote one of them instead" "$out"
run "$TINCHAP" model promote unsecured-consumer-scorecard:9 --config "$WORK/conf.json" --by bob
expect_eq "unknown version: refused" 1 "$status"
mkdir -p "$WORK/elsewhere"
cp "$WORK/v2.orig" "$WORK/elsewhere/unsecured-consumer-v2.json"
run "$TINCHAP" model promote "$WORK/elsewhere/unsecured-consumer-v2.json" \
    --config "$WORK/conf.json" --by bob
expect_contains "a file outside the directory: refused" "is not in the models directory" "$out"
run "$TINCHAP" model promote unsecured-consumer-expert:1 --config "$WORK/conf.json" --by 'a"b'
expect_eq "a bad --by: usage" 2 "$status"
cmp -s "$M/unsecured-consumer-v1.json" "$WORK/v1.now" || fail "a refusal changed a file"

# 6. back to the trained champion, retiring the expert model; reload; Score uses it
run "$TINCHAP" model promote "$M/unsecured-consumer-v2.json" --retire-previous \
    --config "$WORK/conf.json" --by bob --reason "back to v2"
expect_eq "promote back exit" 0 "$status"
cmp -s "$M/unsecured-consumer-v1.json" "$WORK/v1.orig" || fail "v1 is not back as shipped"
cmp -s "$M/unsecured-consumer-v2.json" "$WORK/v2.orig" || fail "v2 is not back as shipped"
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do
    [ "$(champion)" = "unsecured-consumer-scorecard:2" ] && break
    sleep 0.1
done
expect_eq "SIGHUP reload serves v2 again" "unsecured-consumer-scorecard:2" "$(champion)"
run "$TINCHAP" audit --audit "$WORK/audit" --governance
expect_eq "two records" 2 "$(grep -c '^{' <<<"$out")"
expect_contains "second record by bob" '"seq":2,' "$out"

# 7. a directory the service would not load is refused before any change
cp "$M/unsecured-consumer-v1.json" "$M/copy-of-v1.json"
run "$TINCHAP" model promote unsecured-consumer-expert:1 --config "$WORK/conf.json" --by bob
expect_eq "broken directory: refused" 1 "$status"
expect_contains "names the registry's reason" "is also in" "$out"
rm -f "$M/copy-of-v1.json"

stop_server || fail "tinchapd did not stop cleanly"
finish
