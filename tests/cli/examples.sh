#!/usr/bin/env bash
# api/examples/: the Python (grpcio), Node.js (@grpc/grpc-js) and curl (REST) clients, each run
# as README shows against a real tinchapd under mutual TLS: a consenting applicant is scored,
# and a refusal is printed with its stable reason and its bad fields.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
BUILD=${TC_BUILD:?}
EX=$SRC/api/examples
P=$WORK/pki
make_pki "$P"
make_data "$WORK" 200
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$SRC/models\", \"catalog\": \"$SRC/models/catalog.json\", \"rest_listen\": \"127.0.0.1:0\""
start_server "$WORK/conf.json" "$WORK/server.log"
read -r CITIZEN REF < <("$PY" - "$WORK/data" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TC_SOURCE"] + "/tests/python")
from service_client import scorable
print(*scorable(sys.argv[1])[0])
PY
)
[ -n "$REF" ] || fail "no scorable citizen"
TLS=(--ca "$P/ca.pem" --cert "$P/bank-a.pem" --key "$P/bank-a.key" --server-name localhost)

check_answer() { # NAME OUTPUT: a score, a grade and reasons, and never the citizen ID
    expect_contains "$1: a score" '"score"' "$2"
    expect_contains "$1: a grade" '"grade"' "$2"
    expect_contains "$1: reasons" '"reasons"' "$2"
    case "$2" in *"$CITIZEN"*) fail "$1: the citizen ID is in the answer" ;; esac
}

# Python, grpcio
run "$PY" "$EX/python/score.py" --target "127.0.0.1:$PORT" "${TLS[@]}" \
    --citizen "$CITIZEN" --consent-ref "$REF" --request-id py-1
expect_eq "python: exit 0" 0 "$status"
check_answer python "$out"
run "$PY" "$EX/python/score.py" --target "127.0.0.1:$PORT" "${TLS[@]}" \
    --citizen "$CITIZEN" --consent-ref "bad ref" --purpose ""
expect_eq "python: a bad request exits 1" 1 "$status"
expect_contains "python: the reason" "INVALID_REQUEST (INVALID_ARGUMENT)" "$out"
expect_contains "python: every bad field" "field consent_ref" "$out"
expect_contains "python: ... both of them" "field purpose" "$out"
run "$PY" "$EX/python/score.py" --target "127.0.0.1:$PORT" "${TLS[@]}" \
    --citizen "$CITIZEN" --consent-ref "$REF" --request-id py-1 --amount 1
expect_contains "python: a reused request ID" "REQUEST_ID_REUSED (ALREADY_EXISTS)" "$out"

# Node.js, @grpc/grpc-js from npm (installed once per build tree)
NODE_DIR=$BUILD/examples/node
mkdir -p "$NODE_DIR"
cp "$EX/node/package.json" "$EX/node/package-lock.json" "$NODE_DIR/"
if ! cmp -s "$EX/node/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.installed"; then
    run bash -c "cd '$NODE_DIR' && npm ci --no-audit --no-fund --ignore-scripts"
    expect_eq "node: npm ci" 0 "$status"
    [ "$status" -eq 0 ] || echo "$out" >&2
    cp "$EX/node/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.installed"
fi
# the example as shipped, its packages from the build tree (the source tree stays clean)
export NODE_PATH=$NODE_DIR/node_modules
run node "$EX/node/score.js" --target "127.0.0.1:$PORT" "${TLS[@]}" \
    --citizen "$CITIZEN" --consent-ref "$REF"
expect_eq "node: exit 0" 0 "$status"
check_answer node "$out"
run node "$EX/node/score.js" --target "127.0.0.1:$PORT" "${TLS[@]}" \
    --citizen "$CITIZEN" --consent-ref "$REF" --purpose "no purpose"
expect_eq "node: a bad request exits 1" 1 "$status"
expect_contains "node: the reason" "INVALID_REQUEST (INVALID_ARGUMENT)" "$out"
expect_contains "node: the bad field" "field purpose" "$out"

# curl, REST
CURL_TLS=("$P/ca.pem" "$P/bank-a.pem" "$P/bank-a.key")
run "$EX/curl/score.sh" "https://localhost:$REST_PORT" "${CURL_TLS[@]}" "$CITIZEN" "$REF"
expect_eq "curl: exit 0" 0 "$status"
expect_contains "curl: serving" '{"status":"SERVING"}' "$out"
check_answer curl "$out"
run "$EX/curl/score.sh" "https://localhost:$REST_PORT" "${CURL_TLS[@]}" "$CITIZEN" "WRONG-REF"
expect_eq "curl: a refusal exits 22" 22 "$status"
expect_contains "curl: the reason" '"CONSENT_NOT_VALID"' "$out"

stop_server || fail "tinchapd did not stop cleanly"
finish
