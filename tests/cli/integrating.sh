#!/usr/bin/env bash
# README's "Integrating" section, run exactly as printed (the lines between its "integrating"
# markers) from a clean directory laid out as tools/demo leaves it, against a real tinchapd:
# the REST contract fetched, health, a score over REST, the same inquiry replayed over gRPC by
# the Python example. Also: the section's table names every error reason of errors.proto.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
README="$SRC/README.md"
commands=$(sed -n '/<!-- integrating: begin -->/,/<!-- integrating: end -->/p' "$README" |
    grep -v -e '^<!--' -e '^```')
[ -n "$commands" ] || { echo "no integrating flow in $README" >&2; exit 1; }

make_pki "$WORK/pki"
make_data "$WORK" 200
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$SRC/models\", \"catalog\": \"$SRC/models/catalog.json\", \"rest_listen\": \"127.0.0.1:0\""
start_server "$WORK/conf.json" "$WORK/server.log"

# the clean directory: the repository's api/ and what tools/demo leaves under var/demo
R=$WORK/repo
mkdir -p "$R/var/demo"
ln -s "$SRC/api" "$R/api"
ln -s "$WORK/pki" "$R/var/demo/pki"
read -r CITIZEN REF < <(TC_DIR="$WORK/data" "$PY" -c '
import os, sys
sys.path.insert(0, os.environ["TC_SOURCE"] + "/tests/python")
from service_client import scorable
print(*scorable(os.environ["TC_DIR"])[0])')
printf 'CITIZEN=%s\nCONSENT_REF=%s\n' "$CITIZEN" "$REF" > "$R/var/demo/applicant.env"

run env TINCHAP_GRPC="localhost:$PORT" TINCHAP_REST="https://localhost:$REST_PORT" \
    bash -c "cd '$R' && set -eo pipefail && $commands"
expect_eq "the section's commands exit 0" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" | tail -20 >&2
case "$out" in *"$CITIZEN"*) fail "an answer holds the citizen ID" ;; esac
"$PY" - "$out" "$R/tinchap-openapi.json" "$SRC/api/openapi.json" <<'PY' ||
import json, sys
assert json.load(open(sys.argv[2])) == json.load(open(sys.argv[3])), "not api/openapi.json"
text, docs, dec, i = sys.argv[1], [], json.JSONDecoder(), 0
while (j := text.find("{", i)) >= 0:
    try:
        d, i = dec.raw_decode(text, j)
        docs.append(d)
    except ValueError:
        i = j + 1
assert docs[0] == {"status": "SERVING"}, docs[0]
rest, grpc = docs[1], docs[2]
assert rest["grade"] in "ABCDEF" and rest["pdLow"] < rest["pd"] < rest["pdHigh"], rest
assert not rest["replayed"] and grpc["replayed"], (rest, grpc)
assert grpc["inquiryId"] == rest["inquiryId"] and grpc["score"] == rest["score"], (rest, grpc)
PY
    fail "the contract, health, a REST score, and its replay over gRPC"

# every reason of errors.proto is in the section's table
section=$(sed -n '/^## Integrating/,/^## Layout/p' "$README")
for reason in $(grep -oE '^  [A-Z_]+ = [1-9][0-9]*;' "$SRC/api/tinchap/v1/errors.proto" |
                awk '{print $1}'); do
    case "$section" in *"| \`$reason\` |"*) ;; *) fail "README's error table lacks $reason" ;; esac
done
stop_server || fail "tinchapd did not stop cleanly"
finish
